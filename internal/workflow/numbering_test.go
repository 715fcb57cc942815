package workflow_test

import (
	"sort"
	"sync"
	"testing"

	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// TestNumber200InParallel: 200 signed documents are numbered at once by
// 200 goroutines from one register. The numbers are exactly 1..200: no gap,
// no duplicate, and the register's next number is 201.
func TestNumber200InParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("200 documents through the flow")
	}
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const n = 200
		docs := make([]*document.Document, n)
		for i := range docs {
			docs[i] = w.draft(document.TypeQuyetDinh, "")
			w.toSigned(docs[i])
		}
		var wg sync.WaitGroup
		numbers := make([]int, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i, d := range docs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got, err := w.svc.Number(ctx, as(w.clerk), d.ID)
				errs[i] = err
				if err == nil {
					numbers[i] = got.Number
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			w.must(err)
		}
		sort.Ints(numbers)
		for i, got := range numbers {
			if got != i+1 {
				t.Fatalf("numbers are not 1..%d: position %d holds %d", n, i, got)
			}
		}
		d, err := db.Document(ctx, docs[0].ID)
		w.must(err)
		reg, err := db.Register(ctx, d.RegisterID)
		w.must(err)
		if reg.NextNumber != n+1 {
			t.Errorf("register next number %d, want %d", reg.NextNumber, n+1)
		}
		entries, err := db.RegisterEntries(ctx, reg.ID)
		w.must(err)
		if len(entries) != n {
			t.Errorf("register lists %d entries", len(entries))
		}
		r, err := audit.Verify(ctx, db)
		w.must(err)
		if !r.OK {
			t.Errorf("audit %+v", r)
		}
	})
}
