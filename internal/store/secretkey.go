package store

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// ErrSecretKeyMismatch: the secret key's fingerprint differs from the one
// the first node stored in this database.
var ErrSecretKeyMismatch = errors.New("store: the secret key differs from the one stored for this database")

// SecretKeyMismatchError says since when the other fingerprint is stored;
// it matches ErrSecretKeyMismatch.
type SecretKeyMismatchError struct {
	StoredAt time.Time
}

func (e *SecretKeyMismatchError) Error() string {
	return fmt.Sprintf("%v (its fingerprint was stored %s)", ErrSecretKeyMismatch, e.StoredAt.UTC().Format(time.RFC3339))
}

func (e *SecretKeyMismatchError) Is(target error) bool { return target == ErrSecretKeyMismatch }

// CheckSecretKeyFingerprint stores fingerprint (a keyed hash of the server's
// secret key, never the key) if the database has none yet and otherwise
// compares it with the stored one. It reports whether this call stored it,
// and a *SecretKeyMismatchError (ErrSecretKeyMismatch) when the two differ.
// Nodes starting at once are safe: one insert wins and the others compare
// against it.
func (db *DB) CheckSecretKeyFingerprint(ctx context.Context, fingerprint string) (stored bool, err error) {
	if fingerprint == "" {
		return false, errors.New("store: empty secret key fingerprint")
	}
	err = db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `INSERT INTO secret_key_fingerprint (id, fingerprint, created_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`, fingerprint, micros(time.Now()))
		if err != nil {
			return dbError("store secret key fingerprint", err, "secret key fingerprint")
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			stored = true
			return nil
		}
		var row struct {
			Fingerprint string `db:"fingerprint"`
			CreatedAt   int64  `db:"created_at"`
		}
		if err := tx.get(ctx, &row, `SELECT fingerprint, created_at FROM secret_key_fingerprint WHERE id = 1`); err != nil {
			return dbError("read secret key fingerprint", err, "secret key fingerprint")
		}
		if subtle.ConstantTimeCompare([]byte(row.Fingerprint), []byte(fingerprint)) != 1 {
			return &SecretKeyMismatchError{StoredAt: fromMicros(row.CreatedAt)}
		}
		return nil
	})
	return stored, err
}
