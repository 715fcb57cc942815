package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"vanban/internal/document"
)

// SetPasswordHash stores a user's new password hash (made by
// auth.HashPassword) and, in the same transaction, revokes every API token
// of the user: a token minted by whoever knew the old password must not
// outlive it (the owner's change, or an administrator's reset after a
// compromise). An empty hash disables password login. Returns ENOTFOUND.
func (db *DB) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.SetPasswordHash(ctx, userID, hash) })
}

// SetPasswordHash is the transactional form of DB.SetPasswordHash.
func (tx *Tx) SetPasswordHash(ctx context.Context, userID, hash string) error {
	res, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	if err != nil {
		return dbError("set password", err, "user")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return document.Errorf(document.ENOTFOUND, "user %s not found", userID)
	}
	_, err = tx.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, micros(now()), userID)
	return dbError("revoke API tokens", err, "API tokens")
}

// RehashPassword replaces the hash of the same password with one made
// with newer parameters, if the stored hash is still old: the password
// did not change, so the user's tokens stay. Returns ENOTFOUND.
func (db *DB) RehashPassword(ctx context.Context, userID, old, hash string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, hash, userID, old)
		return dbError("rehash password", err, "user")
	})
}

// Credentials returns the user with a login name and their password hash,
// for a login attempt. Returns ENOTFOUND for an unknown username; callers
// should answer an unknown user and a wrong password the same way.
func (db *DB) Credentials(ctx context.Context, username string) (*document.User, string, error) {
	var row struct {
		userRow
		PasswordHash string `db:"password_hash"`
	}
	err := db.WithReadTx(ctx, func(tx *Tx) error {
		return tx.get(ctx, &row, `SELECT `+userColumns+`, password_hash FROM users WHERE username = ?`, username)
	})
	if err != nil {
		return nil, "", dbError("credentials", err, "user "+username)
	}
	return row.userRow.domain(), row.PasswordHash, nil
}

// Session is a browser login, stored under the hash of its token.
type Session struct {
	TokenHash  string
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	ClientAddr string
	UserAgent  string
}

type sessionRow struct {
	TokenHash  string `db:"token_hash"`
	UserID     string `db:"user_id"`
	CreatedAt  int64  `db:"created_at"`
	ExpiresAt  int64  `db:"expires_at"`
	LastSeenAt int64  `db:"last_seen_at"`
	ClientAddr string `db:"client_addr"`
	UserAgent  string `db:"user_agent"`
}

// CreateSession stores s. CreatedAt and LastSeenAt default to now. Returns
// EINVALID for a missing hash, user or expiry, ECONFLICT for a reused hash.
func (db *DB) CreateSession(ctx context.Context, s *Session) error {
	if s.TokenHash == "" || s.UserID == "" || s.ExpiresAt.IsZero() {
		return document.Errorf(document.EINVALID, "a session needs a token hash, a user and an expiry")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now()
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, client_addr, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, s.TokenHash, s.UserID, micros(s.CreatedAt), micros(s.ExpiresAt),
			micros(s.LastSeenAt), s.ClientAddr, truncate(s.UserAgent, 500))
		return dbError("create session", err, "session")
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Session returns the session with tokenHash if it has not expired at now
// and its user is enabled. Returns ENOTFOUND otherwise.
func (db *DB) Session(ctx context.Context, tokenHash string, at time.Time) (*Session, error) {
	var r sessionRow
	_, err := single(db, ctx, func(tx *Tx) (struct{}, error) {
		return struct{}{}, tx.get(ctx, &r, `SELECT s.token_hash, s.user_id, s.created_at, s.expires_at, s.last_seen_at, s.client_addr, s.user_agent
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0`, tokenHash, micros(at))
	})
	if err != nil {
		return nil, dbError("get session", err, "session")
	}
	return &Session{TokenHash: r.TokenHash, UserID: r.UserID, CreatedAt: fromMicros(r.CreatedAt), ExpiresAt: fromMicros(r.ExpiresAt),
		LastSeenAt: fromMicros(r.LastSeenAt), ClientAddr: r.ClientAddr, UserAgent: r.UserAgent}, nil
}

// TouchSession records activity and moves the expiry (sliding sessions).
// Returns ENOTFOUND.
func (db *DB) TouchSession(ctx context.Context, tokenHash string, seen, expires time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?`,
			micros(seen), micros(expires), tokenHash)
		if err != nil {
			return dbError("touch session", err, "session")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return document.Errorf(document.ENOTFOUND, "session not found")
		}
		return nil
	})
}

// DeleteSession logs a session out. Deleting a missing session is not an
// error: logging out twice is fine.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return dbError("delete session", err, "session")
	})
}

// DeleteUserSessions logs a user out everywhere (password change, disable)
// and returns how many sessions ended.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	return write(db, ctx, func(tx *Tx) (int64, error) { return tx.DeleteUserSessions(ctx, userID) })
}

// DeleteUserSessions is the transactional form of DB.DeleteUserSessions.
func (tx *Tx) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, dbError("delete sessions", err, "sessions")
	}
	return res.RowsAffected()
}

// DeleteExpiredSessions removes sessions expired before now; run it
// periodically. Returns how many were removed.
func (db *DB) DeleteExpiredSessions(ctx context.Context, at time.Time) (int64, error) {
	return write(db, ctx, func(tx *Tx) (int64, error) {
		res, err := tx.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, micros(at))
		if err != nil {
			return 0, dbError("delete expired sessions", err, "sessions")
		}
		return res.RowsAffected()
	})
}

// APIToken is a long-lived token for programs, stored under its hash.
type APIToken struct {
	ID         string
	TokenHash  string
	UserID     string
	Name       string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: no expiry
	LastUsedAt time.Time
	RevokedAt  time.Time
	// Scopes are what the token may do beyond acting as its user
	// ("tokens:create").
	Scopes []string
}

type apiTokenRow struct {
	ID         string        `db:"id"`
	TokenHash  string        `db:"token_hash"`
	UserID     string        `db:"user_id"`
	Name       string        `db:"name"`
	CreatedAt  int64         `db:"created_at"`
	ExpiresAt  sql.NullInt64 `db:"expires_at"`
	LastUsedAt sql.NullInt64 `db:"last_used_at"`
	RevokedAt  sql.NullInt64 `db:"revoked_at"`
	Scopes     string        `db:"scopes"`
}

func (r apiTokenRow) domain() *APIToken {
	return &APIToken{ID: r.ID, TokenHash: r.TokenHash, UserID: r.UserID, Name: r.Name, CreatedAt: fromMicros(r.CreatedAt),
		ExpiresAt: fromNullMicros(r.ExpiresAt), LastUsedAt: fromNullMicros(r.LastUsedAt), RevokedAt: fromNullMicros(r.RevokedAt),
		Scopes: strings.Fields(r.Scopes)}
}

const apiTokenColumns = `id, token_hash, user_id, name, created_at, expires_at, last_used_at, revoked_at, scopes`

// CreateAPIToken stores t with a new ID. Returns EINVALID, ECONFLICT.
func (db *DB) CreateAPIToken(ctx context.Context, t *APIToken) error {
	if t.TokenHash == "" || t.UserID == "" || strings.TrimSpace(t.Name) == "" {
		return document.Errorf(document.EINVALID, "an API token needs a hash, a user and a name")
	}
	t.ID, t.CreatedAt = newID(), now()
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
			t.ID, t.TokenHash, t.UserID, t.Name, micros(t.CreatedAt), nullMicros(t.ExpiresAt), strings.Join(t.Scopes, " "))
		return dbError("create API token", err, "API token")
	})
}

// UseAPIToken returns the token with tokenHash if it is neither revoked nor
// expired at now and its user is enabled, and records the use. Returns
// ENOTFOUND otherwise.
func (db *DB) UseAPIToken(ctx context.Context, tokenHash string, at time.Time) (*APIToken, error) {
	return write(db, ctx, func(tx *Tx) (*APIToken, error) {
		var r apiTokenRow
		err := tx.get(ctx, &r, `SELECT t.id, t.token_hash, t.user_id, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, t.scopes
			FROM api_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.disabled = 0`,
			tokenHash, micros(at))
		if err != nil {
			return nil, dbError("get API token", err, "API token")
		}
		if _, err := tx.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, micros(at), r.ID); err != nil {
			return nil, dbError("use API token", err, "API token")
		}
		t := r.domain()
		t.LastUsedAt = fromMicros(micros(at))
		return t, nil
	})
}

// APITokens lists a user's tokens, newest first.
func (db *DB) APITokens(ctx context.Context, userID string) ([]*APIToken, error) {
	return read(db, ctx, func(tx *Tx) ([]*APIToken, error) {
		var rows []apiTokenRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE user_id = ?
			ORDER BY created_at DESC, id`, userID); err != nil {
			return nil, dbError("list API tokens", err, "API tokens")
		}
		out := make([]*APIToken, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// RevokeAPIToken revokes a token of a user. Returns ENOTFOUND (also for
// another user's token), ECONFLICT when already revoked.
func (db *DB) RevokeAPIToken(ctx context.Context, userID, id string, at time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
			micros(at), id, userID)
		if err != nil {
			return dbError("revoke API token", err, "API token")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var count int
			if err := tx.get(ctx, &count, `SELECT COUNT(*) FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID); err != nil {
				return dbError("revoke API token", err, "API token")
			}
			if count == 0 {
				return document.Errorf(document.ENOTFOUND, "API token %s not found", id)
			}
			return document.Errorf(document.ECONFLICT, "API token %s is already revoked", id)
		}
		return nil
	})
}
