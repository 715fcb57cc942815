package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"vanban/internal/document"
)

// newID returns a random 128-bit identifier in hex. IDs are made here rather
// than by the database so the same SQL works on both engines.
func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// Timestamps are stored as BIGINT microseconds since the Unix epoch, UTC.

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// now is the clock for created_at columns, truncated to what the database
// keeps so a value read back equals the value written.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// dbError turns driver errors into domain errors where they have a meaning
// for the caller, and wraps the rest with the operation.
func dbError(op string, err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return document.Errorf(document.ENOTFOUND, "%s not found", what)
	case isUniqueViolation(err):
		return document.Errorf(document.ECONFLICT, "%s already exists", what)
	case isForeignKeyViolation(err):
		return document.Errorf(document.EINVALID, "%s refers to something that does not exist", what)
	}
	var derr *document.Error
	if errors.As(err, &derr) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// read runs fn in its own read-only transaction and returns its result.
func read[T any](db *DB, ctx context.Context, fn func(tx *Tx) (T, error)) (T, error) {
	return inTx(db, ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

// single runs fn, which makes exactly one statement (a SELECT), on the
// pool without a transaction: one statement sees one snapshot by itself on
// PostgreSQL and SQLite, and BEGIN READ ONLY and COMMIT would cost two more
// round trips. The hot reads of every request (the session, the user, the
// grants) use it.
func single[T any](db *DB, ctx context.Context, fn func(tx *Tx) (T, error)) (T, error) {
	return fn(&Tx{tx: db.db, dialect: db.dialect, auditKey: db.auditKey})
}

// write runs fn in its own read-write transaction and returns its result.
func write[T any](db *DB, ctx context.Context, fn func(tx *Tx) (T, error)) (T, error) {
	return inTx(db, ctx, nil, fn)
}

func inTx[T any](db *DB, ctx context.Context, opts *sql.TxOptions, fn func(tx *Tx) (T, error)) (T, error) {
	var out T
	err := db.withTx(ctx, opts, func(tx *Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}
