package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// TestSnapshotSQLiteWhileWriting takes a snapshot while another goroutine
// keeps adding documents: the snapshot opens read-only, passes the
// integrity checks, lists the references it holds and is unchanged by
// being read.
func TestSnapshotSQLiteWhileWriting(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, pgtest.SQLiteURL(t))
	f := newFixture(t, db)
	d := f.draft(t, db, "Quyết định về việc sao lưu")
	v := &document.Version{DocumentID: d.ID, Kind: document.VersionDraft, BlobKey: "sha256/" + hash("draft"), SHA256: hash("draft"), Size: 5, CreatedBy: f.drafter.ID}
	must(t, db.AddVersion(ctx, v))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f.draft(t, db, "Bản nháp đang viết")
		}
	}()
	path := filepath.Join(t.TempDir(), "snap.db")
	err := db.SnapshotSQLite(ctx, path)
	close(stop)
	wg.Wait()
	must(t, err)
	if err := db.SnapshotSQLite(ctx, path); err == nil {
		t.Error("a second snapshot over an existing file was not refused")
	}

	before, err := os.ReadFile(path)
	must(t, err)
	snap, err := store.OpenSnapshot(ctx, path)
	must(t, err)
	must(t, snap.IntegrityCheck(ctx))
	refs, err := snap.BlobRefs(ctx)
	must(t, err)
	if len(refs) != 1 || refs[0].Key != v.BlobKey || refs[0].SHA256 != v.SHA256 || refs[0].Where != "versions.blob_key" {
		t.Errorf("refs = %+v, want the one version", refs)
	}
	recorded, unknown, err := snap.Migrations(ctx)
	must(t, err)
	if len(recorded) < 10 || len(unknown) != 0 {
		t.Errorf("migrations %v, unknown %v", recorded, unknown)
	}
	if _, err := snap.CheckSecretKeyFingerprint(ctx, "x"); err == nil {
		t.Error("a write to a read-only snapshot succeeded")
	}
	must(t, snap.Close())
	after, err := os.ReadFile(path)
	must(t, err)
	if string(before) != string(after) {
		t.Error("reading the snapshot changed its bytes")
	}
	if m, _ := filepath.Glob(path + "-*"); len(m) != 0 {
		t.Errorf("reading the snapshot left %v", m)
	}

	// A damaged page header (of every page after the first) is found.
	damaged := append([]byte(nil), after...)
	for p := 4096; p+16 < len(damaged); p += 4096 {
		for i := p; i < p+16; i++ {
			damaged[i] ^= 0x5a
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.db")
	must(t, os.WriteFile(bad, damaged, 0o600))
	if snap, err := store.OpenSnapshot(ctx, bad); err == nil {
		err = snap.IntegrityCheck(ctx)
		if err == nil {
			_, err = snap.BlobRefs(ctx)
		}
		snap.Close()
		if err == nil {
			t.Error("a damaged database passed the checks")
		}
	}
}

func TestSnapshotRefusedOnPostgres(t *testing.T) {
	db := pgtest.Open(t, pgtest.URL(t))
	if err := db.SnapshotSQLite(context.Background(), filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Error("a PostgreSQL snapshot through VACUUM INTO did not fail")
	}
}

func TestSecretKeyFingerprint(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		stored, err := db.CheckSecretKeyFingerprint(ctx, "fp-one")
		if err != nil || !stored {
			t.Fatalf("first: stored %v, %v", stored, err)
		}
		stored, err = db.CheckSecretKeyFingerprint(ctx, "fp-one")
		if err != nil || stored {
			t.Fatalf("same again: stored %v, %v", stored, err)
		}
		_, err = db.CheckSecretKeyFingerprint(ctx, "fp-two")
		var mm *store.SecretKeyMismatchError
		if !errors.Is(err, store.ErrSecretKeyMismatch) || !errors.As(err, &mm) || mm.StoredAt.IsZero() {
			t.Fatalf("other key: %v", err)
		}
		// Nodes starting at once: exactly one stores, the rest agree.
		db2 := pgtest.Open(t, pgtest.SQLiteURL(t))
		if db.Dialect() == store.Postgres {
			db2 = pgtest.Open(t, pgtest.URL(t))
		}
		var wg sync.WaitGroup
		results := make(chan error, 8)
		storedN := make(chan bool, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := db2.CheckSecretKeyFingerprint(ctx, "fp-race")
				results <- err
				storedN <- s
			}()
		}
		wg.Wait()
		close(results)
		close(storedN)
		for err := range results {
			if err != nil {
				t.Error(err)
			}
		}
		n := 0
		for s := range storedN {
			if s {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d concurrent calls stored the fingerprint, want 1", n)
		}
	})
}
