package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
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

var (
	// ErrMigrationChanged: a migration already applied to the database has
	// different SQL in this binary. Migrations are never edited; add a new one.
	ErrMigrationChanged = errors.New("applied migration was edited since; add a new migration instead")
	// ErrSchemaTooNew: the database has a migration this binary does not know.
	ErrSchemaTooNew = errors.New("database was migrated by a newer vanban; upgrade this binary")
)

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

	// checksum is the SHA-256 of the SQL that ran, so an edited migration
	// (which would leave databases with different schemas) is caught.
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY,
		checksum TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	var recorded []string
	if err := conn.SelectContext(ctx, &recorded, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	known := map[string]bool{}
	for _, m := range list {
		known[m.version] = true
	}
	for _, v := range recorded {
		if !known[v] {
			// A newer vanban migrated this database; running older code
			// on it could corrupt data written under the newer schema.
			return nil, &MigrationError{Version: v, Err: ErrSchemaTooNew}
		}
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
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	sum := sha256.Sum256([]byte(m.sql))
	checksum := hex.EncodeToString(sum[:])
	var stored []string
	if err := tx.SelectContext(ctx, &stored, db.dialect.rebind(`SELECT checksum FROM schema_migrations WHERE version = ?`), m.version); err != nil {
		return false, err
	}
	if len(stored) > 0 {
		if stored[0] != checksum {
			return false, ErrMigrationChanged
		}
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, db.dialect.rebind(`INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?, ?, ?)`),
		m.version, checksum, time.Now().UnixMicro()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
