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

// ExecForTest runs raw SQL ('?' placeholders), bypassing the repositories:
// tests use it to tamper with rows the way an intruder with database access
// would.
func ExecForTest(ctx context.Context, tb testing.TB, db *DB, query string, args ...any) error {
	tb.Helper()
	_, err := db.db.ExecContext(ctx, db.dialect.rebind(query), args...)
	return err
}

// DropAuditGuardForTest removes the append-only triggers.
func DropAuditGuardForTest(ctx context.Context, tb testing.TB, db *DB) {
	tb.Helper()
	if _, err := db.db.ExecContext(ctx, db.dialect.dropAuditGuardSQL()); err != nil {
		tb.Fatal(err)
	}
}
