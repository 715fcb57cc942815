// Package store keeps vanban's relational data in PostgreSQL or SQLite.
//
// One DB type wraps the database. Each aggregate has its own file with
// readable inline SQL written once for both engines; the few places where the
// engines differ are in dialect.go. Exported DB methods open a transaction
// and call the matching Tx method, so a use case can group several steps
// (number a document, change its state, append an audit entry) in one
// transaction with WithTx.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // registers the "postgres" driver
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// SettingDatabaseURL is the environment variable that holds the database URL.
// Errors about a bad URL name it so an operator knows what to fix.
const SettingDatabaseURL = "VANBAN_DATABASE_URL"

// ConfigError reports an unusable database URL.
type ConfigError struct {
	Setting string // always SettingDatabaseURL
	Value   string // the URL with any password removed
	Reason  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("store: %s=%q: %s", e.Setting, e.Value, e.Reason)
}

// ErrClosed is returned by operations on a closed DB.
var ErrClosed = errors.New("store: database is closed")

// DB is an open vanban database.
type DB struct {
	db      *sqlx.DB
	dialect Dialect
	// sqlitePath is the file of a SQLite database, kept for error messages.
	sqlitePath string
	// dsn is the driver's connection string, for the LISTEN connection
	// (ListenWork).
	dsn string
	// local carries work notifications within the process on SQLite
	// (lease_notify.go).
	local localListeners
	// auditKey seals the audit head on every append (SetAuditKey).
	auditKey []byte
}

// Open connects to the database named by rawURL and checks that it answers.
// Accepted forms:
//
//	postgres://user:pass@host:5432/db?sslmode=disable   (also postgresql://)
//	sqlite:/var/lib/vanban/vanban.db
//	file:/var/lib/vanban/vanban.db
//	/var/lib/vanban/vanban.db                            (a plain path ending in .db)
//
// Open does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	dialect, dsn, path, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	sqldb, err := sqlx.Open(string(dialect), dsn)
	if err != nil {
		return nil, &ConfigError{Setting: SettingDatabaseURL, Value: redact(rawURL), Reason: err.Error()}
	}
	db := &DB{db: sqldb, dialect: dialect, sqlitePath: path, dsn: dsn}
	switch dialect {
	case SQLite:
		// The WAL file and busy_timeout let several connections share the
		// file; a small pool keeps the number of waiting writers bounded.
		sqldb.SetMaxOpenConns(8)
	case Postgres:
		// PostgreSQL refuses clients past max_connections (100 by default)
		// and the server is often shared; queue in the pool instead.
		sqldb.SetMaxOpenConns(16)
		sqldb.SetMaxIdleConns(4)
	}
	if err := db.Ping(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: open %s database %q: %w", dialect, redact(rawURL), err)
	}
	return db, nil
}

func parseURL(raw string) (d Dialect, dsn, path string, err error) {
	bad := func(reason string) (Dialect, string, string, error) {
		return "", "", "", &ConfigError{Setting: SettingDatabaseURL, Value: redact(raw), Reason: reason}
	}
	switch {
	case raw == "":
		return bad("empty; want postgres://... or sqlite:PATH")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, perr := url.Parse(raw)
		if perr != nil {
			// perr repeats the URL, password included; say what is wrong only.
			return bad("not a valid URL (check %-escapes and the host part)")
		}
		if u.Hostname() == "" {
			return bad("postgres URL has no host")
		}
		return Postgres, raw, "", nil
	case strings.HasPrefix(raw, "sqlite:"), strings.HasPrefix(raw, "file:"):
		rest := raw[strings.Index(raw, ":")+1:]
		rest = strings.TrimPrefix(rest, "//")
		p, q, _ := strings.Cut(rest, "?")
		if p == "" {
			return bad("sqlite URL has no file path")
		}
		if p == ":memory:" || strings.Contains(q, "mode=memory") {
			// Every pooled connection would get its own empty database.
			return bad("in-memory SQLite is not supported; use a file path")
		}
		return SQLite, sqliteDSN(p, q), p, nil
	case strings.HasSuffix(raw, ".db") && !strings.Contains(raw, "://"):
		return SQLite, sqliteDSN(raw, ""), raw, nil
	default:
		return bad("unsupported scheme; want postgres://..., sqlite:PATH, file:PATH or a path ending in .db")
	}
}

// redact removes a password from a URL before it appears in a message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Unparsable: blank out anything between "user:" and "@".
		if scheme, rest, ok := strings.Cut(raw, "://"); ok {
			if at := strings.LastIndex(rest, "@"); at >= 0 {
				if colon := strings.Index(rest[:at], ":"); colon >= 0 {
					return scheme + "://" + rest[:colon] + ":xxxxx" + rest[at:]
				}
			}
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Dialect reports which engine the DB runs on.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers a query; /readyz uses it.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
			return ErrClosed
		}
		return fmt.Errorf("store: ping %s: %w", db.dialect, err)
	}
	return nil
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.db.Close() }

// Tx is one database transaction. Its methods are the building blocks that
// the exported DB methods wrap; use cases reach them through WithTx.
type Tx struct {
	tx       conn
	dialect  Dialect
	auditKey []byte
	// work are the kinds NotifyWork announced, sent on commit (SQLite).
	work []string
}

// conn runs statements: a *sqlx.Tx, or the pool itself for a read of one
// statement (single), which is consistent on its own.
type conn interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

var _, _ conn = (*sqlx.Tx)(nil), (*sqlx.DB)(nil)

// WithTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise (also when fn panics, after which the panic continues).
// On SQLite every transaction is BEGIN IMMEDIATE, so writers queue up.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.withTx(ctx, nil, fn)
}

// WithReadTx runs fn in a read-only transaction. On SQLite it does not take
// the write lock, so readers do not queue behind writers.
func (db *DB) WithReadTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.withTx(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

func (db *DB) withTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *Tx) error) (err error) {
	sqltx, err := db.db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: sqltx, dialect: db.dialect, auditKey: db.auditKey}
	defer func() {
		if p := recover(); p != nil {
			_ = sqltx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqltx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqltx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	for _, kind := range tx.work {
		db.local.send(kind)
	}
	return nil
}

// Dialect reports which engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

func (tx *Tx) get(ctx context.Context, dest any, query string, args ...any) error {
	return tx.tx.GetContext(ctx, dest, tx.dialect.rebind(query), args...)
}

func (tx *Tx) selectRows(ctx context.Context, dest any, query string, args ...any) error {
	return tx.tx.SelectContext(ctx, dest, tx.dialect.rebind(query), args...)
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.dialect.rebind(query), args...)
}
