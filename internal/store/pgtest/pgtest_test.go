package pgtest

import (
	"context"
	"testing"

	"vanban/internal/store"
)

// TestStartCluster exercises the initdb/pg_ctl path even when
// VANBAN_TEST_POSTGRES points at a running server.
func TestStartCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starting a PostgreSQL cluster takes seconds; skipped with -short")
	}
	admin, stop, err := startCluster()
	if err != nil {
		unavailable(t, "start cluster: %v", err)
	}
	t.Cleanup(stop) // registered first, so it runs after URL drops its database
	t.Setenv(EnvServer, admin)
	u := URL(t)
	db := Open(t, u)
	if db.Dialect() != store.Postgres {
		t.Fatalf("dialect %q", db.Dialect())
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEachRunsBoth(t *testing.T) {
	var seen []store.Dialect
	Each(t, func(t *testing.T, db *store.DB) { seen = append(seen, db.Dialect()) })
	if len(seen) == 0 || seen[0] != store.SQLite {
		t.Fatalf("Each ran %v, want sqlite first", seen)
	}
}
