package store_test

import (
	"context"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestPasswordsAndSessions(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		u, hash, err := db.Credentials(ctx, f.drafter.Username)
		must(t, err)
		if u.ID != f.drafter.ID || hash != "" {
			t.Errorf("fresh user credentials %v %q", u.ID, hash)
		}
		must(t, db.SetPasswordHash(ctx, f.drafter.ID, "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$a2V5"))
		_, hash, err = db.Credentials(ctx, f.drafter.Username)
		must(t, err)
		if hash != "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$a2V5" {
			t.Errorf("hash %q", hash)
		}
		_, _, err = db.Credentials(ctx, "nobody")
		wantCode(t, err, document.ENOTFOUND)
		wantCode(t, db.SetPasswordHash(ctx, "nope", "x"), document.ENOTFOUND)

		t0 := time.Date(2026, 2, 5, 2, 0, 0, 0, time.UTC)
		s := &store.Session{TokenHash: hash32("s1"), UserID: f.drafter.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UserAgent: "Firefox"}
		must(t, db.CreateSession(ctx, s))
		wantCode(t, db.CreateSession(ctx, s), document.ECONFLICT)
		wantCode(t, db.CreateSession(ctx, &store.Session{UserID: f.drafter.ID}), document.EINVALID)
		got, err := db.Session(ctx, s.TokenHash, t0.Add(30*time.Minute))
		must(t, err)
		if got.UserID != f.drafter.ID || got.UserAgent != "Firefox" || !got.ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("session %+v", got)
		}
		_, err = db.Session(ctx, s.TokenHash, t0.Add(time.Hour))
		wantCode(t, err, document.ENOTFOUND)
		must(t, db.TouchSession(ctx, s.TokenHash, t0.Add(50*time.Minute), t0.Add(2*time.Hour)))
		_, err = db.Session(ctx, s.TokenHash, t0.Add(90*time.Minute))
		must(t, err)
		wantCode(t, db.TouchSession(ctx, "nope", t0, t0), document.ENOTFOUND)

		must(t, db.SetUserDisabled(ctx, f.drafter.ID, true))
		_, err = db.Session(ctx, s.TokenHash, t0.Add(time.Minute))
		wantCode(t, err, document.ENOTFOUND)
		must(t, db.SetUserDisabled(ctx, f.drafter.ID, false))

		s2 := &store.Session{TokenHash: hash32("s2"), UserID: f.drafter.ID, ExpiresAt: t0.Add(time.Minute)}
		must(t, db.CreateSession(ctx, s2))
		n, err := db.DeleteExpiredSessions(ctx, t0.Add(time.Minute))
		must(t, err)
		if n != 1 {
			t.Errorf("expired sessions removed: %d", n)
		}
		must(t, db.DeleteSession(ctx, s.TokenHash))
		must(t, db.DeleteSession(ctx, s.TokenHash))
		_, err = db.Session(ctx, s.TokenHash, t0)
		wantCode(t, err, document.ENOTFOUND)
		must(t, db.CreateSession(ctx, &store.Session{TokenHash: hash32("s3"), UserID: f.drafter.ID, ExpiresAt: t0.Add(time.Hour)}))
		n, err = db.DeleteUserSessions(ctx, f.drafter.ID)
		must(t, err)
		if n != 1 {
			t.Errorf("user sessions removed: %d", n)
		}
	})
}

func TestAPITokens(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		t0 := time.Date(2026, 2, 5, 2, 0, 0, 0, time.UTC)
		tok := &store.APIToken{TokenHash: hash32("t1"), UserID: f.clerk.ID, Name: "scanner", ExpiresAt: t0.Add(24 * time.Hour)}
		must(t, db.CreateAPIToken(ctx, tok))
		wantCode(t, db.CreateAPIToken(ctx, &store.APIToken{TokenHash: hash32("t1"), UserID: f.clerk.ID, Name: "dup"}), document.ECONFLICT)
		wantCode(t, db.CreateAPIToken(ctx, &store.APIToken{TokenHash: hash32("t2"), UserID: f.clerk.ID}), document.EINVALID)
		got, err := db.UseAPIToken(ctx, tok.TokenHash, t0.Add(time.Hour))
		must(t, err)
		if got.ID != tok.ID || !got.LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("used token %+v", got)
		}
		_, err = db.UseAPIToken(ctx, tok.TokenHash, t0.Add(24*time.Hour))
		wantCode(t, err, document.ENOTFOUND)
		wantCode(t, db.RevokeAPIToken(ctx, f.drafter.ID, tok.ID, t0), document.ENOTFOUND)
		must(t, db.RevokeAPIToken(ctx, f.clerk.ID, tok.ID, t0.Add(2*time.Hour)))
		wantCode(t, db.RevokeAPIToken(ctx, f.clerk.ID, tok.ID, t0), document.ECONFLICT)
		_, err = db.UseAPIToken(ctx, tok.TokenHash, t0.Add(3*time.Hour))
		wantCode(t, err, document.ENOTFOUND)
		list, err := db.APITokens(ctx, f.clerk.ID)
		must(t, err)
		if len(list) != 1 || list[0].RevokedAt.IsZero() || list[0].LastUsedAt.IsZero() {
			t.Errorf("tokens %+v", list)
		}
	})
}

func hash32(s string) string { return hash(s) }
