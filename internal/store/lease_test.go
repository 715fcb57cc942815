package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestLeases(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		ttl := 10 * time.Second
		got, err := db.ClaimLeases(ctx, "job", "a", []string{"1", "2"}, t0, ttl)
		must(t, err)
		slices.Sort(got)
		if !slices.Equal(got, []string{"1", "2"}) {
			t.Fatalf("a claimed %v", got)
		}
		// b gets only what a does not hold.
		got, err = db.ClaimLeases(ctx, "job", "b", []string{"1", "2", "3"}, t0.Add(time.Second), ttl)
		must(t, err)
		if !slices.Equal(got, []string{"3"}) {
			t.Fatalf("b claimed %v, want [3]", got)
		}
		// Another kind is another job.
		if got, err = db.ClaimLeases(ctx, "other", "b", []string{"1"}, t0, ttl); err != nil || len(got) != 1 {
			t.Fatalf("other kind: %v %v", got, err)
		}
		// a claims its own again (a renewal), and renews.
		if got, err = db.ClaimLeases(ctx, "job", "a", []string{"1"}, t0.Add(2*time.Second), ttl); err != nil || len(got) != 1 {
			t.Fatalf("own claim: %v %v", got, err)
		}
		got, err = db.RenewLeases(ctx, "job", "a", []string{"1", "2", "3"}, t0.Add(5*time.Second), ttl)
		must(t, err)
		slices.Sort(got)
		if !slices.Equal(got, []string{"1", "2"}) {
			t.Fatalf("a renewed %v", got)
		}
		counts, err := db.LeaseCounts(ctx, "a", t0.Add(6*time.Second))
		must(t, err)
		if len(counts) != 2 || counts[0] != (store.LeaseCount{Kind: "job", Held: 2, Others: 1}) {
			t.Fatalf("counts %+v", counts)
		}
		// a stops renewing: after the TTL b takes its jobs over, and a's
		// renewal no longer returns them.
		later := t0.Add(5*time.Second + ttl + time.Millisecond)
		counts, err = db.LeaseCounts(ctx, "b", later)
		must(t, err)
		if counts[0].Expired != 3 || !counts[0].OldestExpired.Equal(t0.Add(time.Second+ttl)) {
			t.Fatalf("expired counts %+v", counts[0])
		}
		got, err = db.ClaimLeases(ctx, "job", "b", []string{"1", "2"}, later, ttl)
		must(t, err)
		if len(got) != 2 {
			t.Fatalf("b took over %v", got)
		}
		if got, err = db.RenewLeases(ctx, "job", "a", []string{"1", "2"}, later, ttl); err != nil || len(got) != 0 {
			t.Fatalf("a renewed %v after the takeover (%v)", got, err)
		}
		// Release: by holder, then by anyone.
		must(t, db.ReleaseLeases(ctx, "job", "a", "1"))
		if got, _ := db.ClaimLeases(ctx, "job", "c", []string{"1"}, later, ttl); len(got) != 0 {
			t.Fatal("a released b's lease")
		}
		must(t, db.ReleaseLeases(ctx, "job", "", "1"))
		if got, _ := db.ClaimLeases(ctx, "job", "c", []string{"1"}, later, ttl); len(got) != 1 {
			t.Fatal("a released lease was not free")
		}
		must(t, db.ReleaseHolder(ctx, "b"))
		if got, _ := db.ClaimLeases(ctx, "job", "c", []string{"2", "3"}, later, ttl); len(got) != 2 {
			t.Fatalf("b's leases after ReleaseHolder: %v", got)
		}
	})
}

// TestLeaseRace: many claimers on the same jobs at once; every job goes to
// exactly one.
func TestLeaseRace(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ids []string
		for i := range 50 {
			ids = append(ids, string(rune('A'+i%26))+string(rune('a'+i/26)))
		}
		now := time.Now()
		var mu sync.Mutex
		owner := map[string]string{}
		var wg sync.WaitGroup
		for _, h := range []string{"n1", "n2", "n3", "n4"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := db.ClaimLeases(ctx, "race", h, ids, now, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, id := range got {
					if prev, ok := owner[id]; ok {
						t.Errorf("%s claimed by %s and %s", id, prev, h)
					}
					owner[id] = h
				}
			}()
		}
		wg.Wait()
		if len(owner) != len(ids) {
			t.Errorf("%d of %d jobs claimed", len(owner), len(ids))
		}
	})
}

// TestWorkNotifications: a notification sent in a committed transaction
// reaches a listener (another connection on PostgreSQL, this process on
// SQLite); one in a rolled back transaction does not.
func TestWorkNotifications(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 100)
		done := make(chan error, 1)
		go func() { done <- db.ListenWork(ctx, nil, func(kind string) { got <- kind }) }()
		deadline := time.After(10 * time.Second)
		// The listener starts asynchronously: send until one arrives.
		for {
			_ = db.WithTx(ctx, func(tx *store.Tx) error {
				if err := tx.NotifyWork(ctx, "lost"); err != nil {
					return err
				}
				return context.Canceled // rolled back
			})
			must(t, db.NotifyWork(ctx, "signing"))
			select {
			case k := <-got:
				if k != "signing" {
					t.Fatalf("got %q", k)
				}
				cancel()
				<-done
				return
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatal("no notification")
			}
		}
	})
}
