package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// MigrationError reports a migration that failed; the database keeps every
// migration before it, and this one was rolled back.
type MigrationError struct {
	Version string
	Err     error
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("store: migration %s: %v", e.Version, e.Err)
}

func (e *MigrationError) Unwrap() error { return e.Err }

type migration struct {
	version string
	sql     string
}

// migrations returns the ordered list for dialect d: the portable files in
// migrations/ merged with the per-dialect ones from dialect.go.
func migrations(d Dialect) ([]migration, error) {
	var list []migration
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		body, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: strings.TrimSuffix(e.Name(), ".sql"), sql: string(body)})
	}
	for version, byDialect := range dialectMigrations {
		body, ok := byDialect[d]
		if !ok {
			return nil, fmt.Errorf("store: migration %s has no %s variant", version, d)
		}
		list = append(list, migration{version: version, sql: body})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	for i := 1; i < len(list); i++ {
		if list[i].version[:4] == list[i-1].version[:4] {
			return nil, fmt.Errorf("store: migrations %s and %s share a number", list[i-1].version, list[i].version)
		}
	}
	return list, nil
}

// Migrate applies every migration not yet recorded in schema_migrations, in
// order, each in its own transaction, and returns the versions it applied.
// Two processes may call it at once: on PostgreSQL an advisory lock makes the
// second wait, and each migration re-checks whether it was already applied.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	list, err := migrations(db.dialect)
	if err != nil {
		return nil, err
	}
	conn, err := db.db.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	unlock, err := db.dialect.lockMigrations(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: lock: %w", err)
	}
	defer unlock()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}

	for _, m := range list {
		done, err := db.applyOne(ctx, conn, m)
		if err != nil {
			return applied, &MigrationError{Version: m.version, Err: err}
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// applyOne runs m in its own transaction unless it is already recorded.
func (db *DB) applyOne(ctx context.Context, conn *sqlx.Conn, m migration) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, db.dialect.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, db.dialect.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		m.version, time.Now().UnixMicro()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
