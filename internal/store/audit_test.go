package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/internal/audit"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func appendN(t *testing.T, db *store.DB, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := 1; i <= n; i++ {
		e, err := db.AppendAudit(context.Background(), audit.Entry{
			Actor: "user-1", ClientAddr: "10.0.0.1", Action: "document.submit", ObjectType: "document",
			ObjectID: fmt.Sprintf("doc-%d", i%2), Change: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i)),
		})
		must(t, err)
		out = append(out, e)
	}
	return out
}

func TestAuditChain(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r, err := audit.Verify(ctx, db)
		must(t, err)
		if !r.OK || r.Entries != 0 || r.HeadHash != audit.GenesisHash {
			t.Errorf("empty chain report %+v", r)
		}
		entries := appendN(t, db, 3)
		if entries[0].Seq != 1 || entries[0].PrevHash != audit.GenesisHash || entries[1].PrevHash != entries[0].Hash {
			t.Errorf("chain links %+v", entries)
		}
		if string(entries[0].Change) != `{"n":1}` {
			t.Errorf("change not compacted: %s", entries[0].Change)
		}
		forDoc, err := db.AuditEntriesFor(ctx, "document", "doc-1")
		must(t, err)
		if len(forDoc) != 2 || forDoc[0].Seq != 1 || forDoc[1].Seq != 3 {
			t.Errorf("entries for doc-1: %+v", forDoc)
		}
		got, err := db.AuditEntries(ctx, 0, 10)
		must(t, err)
		for i := range got {
			if got[i].Hash != entries[i].Hash || !got[i].Time.Equal(entries[i].Time) {
				t.Errorf("entry %d read back differs: %+v vs %+v", i, got[i], entries[i])
			}
		}
		if _, err := db.AppendAudit(ctx, audit.Entry{Actor: "u", Action: "a", ObjectType: "o", Change: json.RawMessage(`{bad`)}); err == nil {
			t.Error("invalid change JSON accepted")
		}
		if _, err := db.AppendAudit(ctx, audit.Entry{Action: "a", ObjectType: "o"}); err == nil {
			t.Error("entry without actor accepted")
		}
		r, err = audit.Verify(ctx, db)
		must(t, err)
		if !r.OK || r.Entries != 3 || r.HeadSeq != 3 || r.HeadHash != entries[2].Hash {
			t.Errorf("report %+v", r)
		}
	})
}

func TestAuditConcurrentAppendsStayLinear(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 40
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.AppendAudit(ctx, audit.Entry{Actor: "u", Action: "x", ObjectType: "doc", ObjectID: fmt.Sprint(i), Time: time.Now()})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		r, err := audit.Verify(ctx, db)
		must(t, err)
		if !r.OK || r.Entries != n {
			t.Fatalf("report %+v", r)
		}
	})
}

func TestAuditAppendOnlyGuard(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		appendN(t, db, 2)
		if err := store.ExecForTest(ctx, t, db, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("UPDATE on audit_log: %v", err)
		}
		if err := store.ExecForTest(ctx, t, db, `DELETE FROM audit_log WHERE seq = 2`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("DELETE on audit_log: %v", err)
		}
		r, err := audit.Verify(ctx, db)
		must(t, err)
		if !r.OK {
			t.Errorf("chain broken after rejected tampering: %+v", r)
		}
	})
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name    string
		tamper  []string
		badSeq  int64
		problem string
	}{
		{"edited change", []string{`UPDATE audit_log SET change = '{"n":99}' WHERE seq = 3`}, 3, "does not match its hash"},
		{"edited actor", []string{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 1`}, 1, "does not match its hash"},
		{"deleted middle", []string{`DELETE FROM audit_log WHERE seq = 3`}, 3, "missing"},
		{"deleted newest", []string{`DELETE FROM audit_log WHERE seq = 5`}, 5, "missing"},
		{"reordered", []string{
			`UPDATE audit_log SET seq = 100 WHERE seq = 2`,
			`UPDATE audit_log SET seq = 2 WHERE seq = 4`,
			`UPDATE audit_log SET seq = 4 WHERE seq = 100`,
		}, 2, "does not link"},
		{"forged head", []string{`UPDATE audit_head SET hash = 'ff' WHERE id = 1`}, 5, "head hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pgtest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				appendN(t, db, 5)
				store.DropAuditGuardForTest(ctx, t, db)
				for _, q := range c.tamper {
					must(t, store.ExecForTest(ctx, t, db, q))
				}
				r, err := audit.Verify(ctx, db)
				must(t, err)
				if r.OK || r.FirstBadSeq != c.badSeq || !strings.Contains(r.Problem, c.problem) {
					t.Errorf("report %+v; want first bad %d with %q", r, c.badSeq, c.problem)
				}
			})
		})
	}
}

func TestAuditVerifyWhileAppending(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		appendN(t, db, 3)
		done := make(chan error)
		go func() {
			for i := 0; i < 30; i++ {
				if _, err := db.AppendAudit(ctx, audit.Entry{Actor: "u", Action: "x", ObjectType: "doc"}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for i := 0; i < 5; i++ {
			r, err := audit.Verify(ctx, db)
			must(t, err)
			if !r.OK {
				t.Fatalf("concurrent appends reported as tampering: %+v", r)
			}
		}
		must(t, <-done)
	})
}
