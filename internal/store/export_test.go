package store

import (
	"context"
	"testing"
)

// MigrationVersionsForTest lists schema_migrations in order.
func MigrationVersionsForTest(ctx context.Context, tb testing.TB, db *DB) []string {
	tb.Helper()
	var v []string
	if err := db.db.SelectContext(ctx, &v, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		tb.Fatal(err)
	}
	return v
}
