package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestOpenRejectsBadURL(t *testing.T) {
	for _, raw := range []string{
		"",
		"mysql://root@localhost/vanban",
		"sqlite:",
		"sqlite::memory:",
		"postgres://:5432",
		"/var/lib/vanban/vanban.sqlite3",
		"postgres://user:s3cret@%zz/db",
	} {
		_, err := store.Open(context.Background(), raw)
		var cfg *store.ConfigError
		if !errors.As(err, &cfg) {
			t.Errorf("Open(%q) = %v, want *ConfigError", raw, err)
			continue
		}
		if cfg.Setting != "VANBAN_DATABASE_URL" || !strings.Contains(err.Error(), "VANBAN_DATABASE_URL") {
			t.Errorf("Open(%q) error %q does not name VANBAN_DATABASE_URL", raw, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error leaks the password: %q", raw, err)
		}
	}
}

func TestOpenSQLiteForms(t *testing.T) {
	dir := t.TempDir()
	for _, raw := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"file:" + filepath.Join(dir, "b.db"),
		filepath.Join(dir, "c.db"),
	} {
		db, err := store.Open(context.Background(), raw)
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if db.Dialect() != store.SQLite {
			t.Errorf("Open(%q).Dialect() = %q", raw, db.Dialect())
		}
		if err := db.Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
		db.Close()
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	// Port 1 on localhost refuses connections; Open must fail, not hang.
	_, err := store.Open(context.Background(), "postgres://postgres:pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if strings.Contains(err.Error(), ":pw@") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestPingAfterClose(t *testing.T) {
	db := pgtest.Open(t, pgtest.SQLiteURL(t))
	db.Close()
	if err := db.Ping(context.Background()); err == nil {
		t.Fatal("Ping on a closed DB succeeded")
	}
}

func TestMigrate(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// pgtest.Open already migrated: a second run applies nothing.
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Errorf("second Migrate applied %v", applied)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if got := store.MigrationVersionsForTest(ctx, t, db); len(got) < 4 || got[0] != "0001_organizations" {
			t.Errorf("schema_migrations = %v", got)
		}
	})
}

func TestMigrateConcurrentFreshDatabase(t *testing.T) {
	for name, raw := range map[string]func(testing.TB) string{"sqlite": pgtest.SQLiteURL, "postgres": pgtest.URL} {
		t.Run(name, func(t *testing.T) {
			u := raw(t)
			ctx := context.Background()
			// Two separate pools stand in for two processes starting at once.
			var dbs [2]*store.DB
			for i := range dbs {
				db, err := store.Open(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				dbs[i] = db
			}
			var wg sync.WaitGroup
			var applied [2][]string
			var errs [2]error
			for i := range dbs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					applied[i], errs[i] = dbs[i].Migrate(ctx)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Migrate #%d: %v", i, err)
				}
			}
			total := len(applied[0]) + len(applied[1])
			want := len(store.MigrationVersionsForTest(ctx, t, dbs[0]))
			if total != want {
				t.Errorf("applied %v and %v; want %d migrations applied exactly once in total", applied[0], applied[1], want)
			}
		})
	}
}

func TestMigrateRefusesEditedOrUnknownMigrations(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		must(t, store.ExecForTest(ctx, t, db, `UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0002_documents'`))
		_, err := db.Migrate(ctx)
		var merr *store.MigrationError
		if !errors.As(err, &merr) || merr.Version != "0002_documents" || !errors.Is(err, store.ErrMigrationChanged) {
			t.Fatalf("edited migration: %v", err)
		}
		must(t, store.ExecForTest(ctx, t, db, `INSERT INTO schema_migrations (version, checksum, applied_at) VALUES ('9999_future', 'x', 0)`))
		_, err = db.Migrate(ctx)
		if !errors.As(err, &merr) || merr.Version != "9999_future" || !errors.Is(err, store.ErrSchemaTooNew) {
			t.Fatalf("unknown migration: %v", err)
		}
	})
}
