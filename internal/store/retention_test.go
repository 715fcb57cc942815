package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestArchiveRecordRoundTrip(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		d := f.draft(t, db, "Quyết định lưu trữ")
		now := time.Now().UTC().Truncate(time.Microsecond)
		r := &document.ArchiveRecord{DocumentID: d.ID, OrgID: f.org.ID, ArchivedBy: f.clerk.ID, ArchivedAt: now, Permanent: true,
			RetainUntil: now.AddDate(100, 0, 0), ProofVersion: 4, ProofUntil: now.AddDate(2, 0, 0), ProofHashBits: 256, ProofKeyBits: 128,
			NextCheck: now.AddDate(1, 6, 0)}
		must(t, db.SaveArchiveRecord(ctx, r))
		got, err := db.ArchiveRecord(ctx, d.ID)
		must(t, err)
		if *got != *r {
			t.Fatalf("read back %+v, want %+v", got, r)
		}
		r.Renewals, r.RenewedAt, r.ProofVersion = 1, now, 5
		must(t, db.SaveArchiveRecord(ctx, r)) // update, not a second row
		if got, _ := db.ArchiveRecord(ctx, d.ID); got.Renewals != 1 || got.ProofVersion != 5 || !got.RenewedAt.Equal(now) {
			t.Fatalf("updated: %+v", got)
		}
		until, permanent, err := db.RetentionOf(ctx, d.ID)
		if err != nil || !permanent || !until.Equal(r.RetainUntil) {
			t.Fatalf("RetentionOf = %v %v %v", until, permanent, err)
		}
		if until, _, err := db.RetentionOf(ctx, f.draft(t, db, "chưa lưu").ID); err != nil || !until.IsZero() {
			t.Fatalf("RetentionOf a document never archived = %v, %v", until, err)
		}
		if _, err := db.ArchiveRecord(ctx, "missing"); document.ErrorCode(err) != document.ENOTFOUND {
			t.Fatalf("missing record: %v", err)
		}
	})
}

// TestRenewalClaimsAreDisjointAndLeased: several nodes claiming at once
// take each due record once; a record whose lease expired (its node died)
// is claimed again; a failure moves the next check.
func TestRenewalClaimsAreDisjointAndLeased(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		now := time.Now().UTC().Truncate(time.Microsecond)
		const n = 40
		for i := range n {
			d := f.draft(t, db, fmt.Sprintf("Văn bản %d", i))
			next := now.Add(-time.Minute) // due
			if i%4 == 0 {
				next = now.Add(time.Hour) // not yet
			}
			must(t, db.SaveArchiveRecord(ctx, &document.ArchiveRecord{DocumentID: d.ID, OrgID: f.org.ID, ArchivedBy: f.clerk.ID,
				ArchivedAt: now, RetainUntil: now.AddDate(10, 0, 0), NextCheck: next}))
		}
		var (
			mu      sync.Mutex
			claimed = map[string]int{}
			owners  = map[string]string{}
			wg      sync.WaitGroup
			errs    = make(chan error, 5)
			start   = make(chan struct{})
		)
		for w := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				owner := fmt.Sprintf("node-%d", w)
				for {
					recs, err := db.ClaimRenewals(ctx, owner, now, now.Add(time.Hour), 3)
					if err != nil {
						errs <- err
						return
					}
					if len(recs) == 0 {
						return
					}
					mu.Lock()
					for _, r := range recs {
						claimed[r.DocumentID]++
						owners[r.DocumentID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		if len(claimed) != n-n/4 {
			t.Errorf("claimed %d records, want the %d due", len(claimed), n-n/4)
		}
		for id, c := range claimed {
			if c != 1 {
				t.Errorf("record %s claimed %d times", id, c)
			}
		}
		// Leased: nothing more to claim now; after the lease ends (the
		// node died without releasing) every one is claimable again.
		if recs, err := db.ClaimRenewals(ctx, "other", now, now.Add(time.Hour), 100); err != nil || len(recs) != 0 {
			t.Fatalf("claim while leased: %d, %v", len(recs), err)
		}
		later := now.Add(2 * time.Hour)
		recs, err := db.ClaimRenewals(ctx, "rescuer", later, later.Add(time.Hour), 100)
		if err != nil || len(recs) != n {
			t.Fatalf("claim after the leases expired: %d, %v", len(recs), err)
		}
		// Releasing with a failure moves the next check; another owner's
		// release does nothing.
		id := recs[0].DocumentID
		must(t, db.ReleaseRenewal(ctx, "not-the-owner", id, "boom", later.Add(time.Hour)))
		must(t, db.ReleaseRenewal(ctx, "rescuer", id, "OCSP responder down", later.Add(24*time.Hour)))
		r, err := db.ArchiveRecord(ctx, id)
		must(t, err)
		if r.LastError != "OCSP responder down" || !r.NextCheck.Equal(later.Add(24*time.Hour)) {
			t.Fatalf("after a failed renewal: %+v", r)
		}
	})
}
