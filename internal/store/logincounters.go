package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The sign-in throttle's counters (auth.CounterStore), in a table so that
// several server nodes share them.

// loginCounterMaxAge: a counter untouched this long has drained under any
// sane limit and is deleted when another is written.
const loginCounterMaxAge = 24 * time.Hour

// LoginCounter returns the failures and last failure time at key; zero
// values when there is none.
func (db *DB) LoginCounter(ctx context.Context, key string) (float64, time.Time, error) {
	type row struct {
		Failures float64 `db:"failures"`
		Last     int64   `db:"last_failure"`
	}
	r, err := read(db, ctx, func(tx *Tx) (row, error) {
		var r row
		err := tx.get(ctx, &r, `SELECT failures, last_failure FROM login_counters WHERE counter_key = ?`, key)
		if errors.Is(err, sql.ErrNoRows) {
			return row{}, nil
		}
		return r, dbError("read login counter", err, "login counter")
	})
	if err != nil || r.Last == 0 {
		return 0, time.Time{}, err
	}
	return r.Failures, fromMicros(r.Last), nil
}

// SetLoginCounter writes the counter at key and deletes counters untouched
// for a day.
func (db *DB) SetLoginCounter(ctx context.Context, key string, failures float64, last time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO login_counters (counter_key, failures, last_failure) VALUES (?, ?, ?)
			ON CONFLICT (counter_key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure`,
			key, failures, micros(last)); err != nil {
			return dbError("write login counter", err, "login counter")
		}
		_, err := tx.exec(ctx, `DELETE FROM login_counters WHERE last_failure < ?`, micros(last.Add(-loginCounterMaxAge)))
		return dbError("prune login counters", err, "login counters")
	})
}

// DeleteLoginCounter forgets the counter at key.
func (db *DB) DeleteLoginCounter(ctx context.Context, key string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM login_counters WHERE counter_key = ?`, key)
		return dbError("delete login counter", err, "login counter")
	})
}
