package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
)

// The browser session: one cookie, shared by the pages and the REST API, so
// a person signed in on either is signed in on both. Unsafe requests made
// with it must also carry the session's CSRF token (header or form field):
// the browser sends the cookie on cross-site requests, never the token.
const (
	SessionCookie = "vanban_session"
	CSRFHeader    = "X-CSRF-Token"
	CSRFField     = "csrf_token"
)

// SessionStore is what sessions need of the database; *store.DB is one.
type SessionStore interface {
	Credentials(ctx context.Context, username string) (*document.User, string, error)
	// RehashPassword replaces old with hash, the same password under newer
	// parameters; unlike a password change it keeps the user's tokens.
	RehashPassword(ctx context.Context, userID, old, hash string) error
	CreateSession(ctx context.Context, s *store.Session) error
	Session(ctx context.Context, tokenHash string, at time.Time) (*store.Session, error)
	TouchSession(ctx context.Context, tokenHash string, seen, expires time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	User(ctx context.Context, id string) (*document.User, error)
	Grants(ctx context.Context, userID string) (document.Grants, error)
}

// Session is a signed-in browser session.
type Session struct {
	User   *document.User
	Grants document.Grants
	// CSRFToken must come back with every unsafe request of this session.
	CSRFToken string
	ExpiresAt time.Time
	// SessionHash identifies the session in the database (never the token).
	SessionHash string
}

// HasRole reports whether the user holds r anywhere: it chooses menus;
// the use cases decide about a given unit.
func (s *Session) HasRole(r document.Role) bool {
	if s == nil {
		return false
	}
	for _, g := range s.Grants {
		if g.Role == r {
			return true
		}
	}
	return false
}

// ErrBadCredentials answers a wrong username or password (or a disabled
// account), without saying which.
var ErrBadCredentials = errors.New("wrong username or password")

// TooManyAttemptsError answers a login refused by the rate limiter.
type TooManyAttemptsError struct{ Wait time.Duration }

func (e *TooManyAttemptsError) Error() string {
	return "too many failed sign-ins; try again in " + RetryAfter(e.Wait) + " s"
}

// RetryAfter is d in whole seconds, at least 1, for a Retry-After header.
func RetryAfter(d time.Duration) string {
	secs := int(d.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs)
}

// Sessions creates, finds and ends browser sessions.
type Sessions struct {
	Store SessionStore
	// Secret keys the CSRF tokens (at least 32 bytes).
	Secret []byte
	// TTL is how long an idle session lasts; default 12h.
	TTL time.Duration
	// Secure marks the cookie Secure (HTTPS deployments).
	Secure bool
	// Passwords are the argon2id parameters; zero means DefaultParams.
	Passwords Params
	Logger    *slog.Logger
	Now       func() time.Time

	dummyOnce sync.Once
	dummy     string
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sessions) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return 12 * time.Hour
}

func (s *Sessions) params() Params {
	if s.Passwords == (Params{}) {
		return DefaultParams
	}
	return s.Passwords
}

func (s *Sessions) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// dummyHash is checked against when the username is unknown, so that the
// answer takes as long as for a wrong password and does not reveal which
// usernames exist. It is made on first use with the same parameters as the
// real hashes.
func (s *Sessions) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := HashPassword("vanban-no-such-user-padding", s.params())
		if err != nil {
			panic(err) // only for a password shorter than the minimum
		}
		s.dummy = h
	})
	return s.dummy
}

// Account returns the account of a login name: the throttle looks at it
// (its known devices) before any password check. Returns ENOTFOUND.
func (s *Sessions) Account(ctx context.Context, username string) (*document.User, error) {
	user, _, err := s.Store.Credentials(ctx, strings.TrimSpace(username))
	return user, err
}

// CheckPassword returns the user whose password this is, rehashing it when
// the parameters were raised. Errors: ErrBadCredentials (unknown user,
// wrong password, disabled account), or a storage error. Callers throttle.
func (s *Sessions) CheckPassword(ctx context.Context, username, password string) (*document.User, error) {
	user, hash, err := s.Store.Credentials(ctx, strings.TrimSpace(username))
	if err != nil && document.ErrorCode(err) != document.ENOTFOUND {
		return nil, err
	}
	if user == nil || hash == "" {
		_, _ = CheckPassword(s.dummyHash(), password, s.params())
		return nil, ErrBadCredentials
	}
	rehash, err := CheckPassword(hash, password, s.params())
	if err != nil || user.Disabled {
		return nil, ErrBadCredentials
	}
	if rehash {
		if h, err := HashPassword(password, s.params()); err == nil {
			if err := s.Store.RehashPassword(ctx, user.ID, hash, h); err != nil {
				s.logger().Warn("rehash password", "user", user.ID, "err", err)
			}
		}
	}
	return user, nil
}

// Start creates a session for user and sets its cookie on w.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, user *document.User, clientAddr, userAgent string) (*Session, error) {
	token, tokenHash, err := NewToken(SessionPrefix)
	if err != nil {
		return nil, err
	}
	now := s.now()
	row := &store.Session{TokenHash: tokenHash, UserID: user.ID, CreatedAt: now, ExpiresAt: now.Add(s.ttl()),
		ClientAddr: clientAddr, UserAgent: userAgent}
	if err := s.Store.CreateSession(ctx, row); err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode, Expires: row.ExpiresAt})
	grants, err := s.Store.Grants(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	return &Session{User: user, Grants: grants, CSRFToken: CSRFToken(s.Secret, tokenHash), ExpiresAt: row.ExpiresAt, SessionHash: tokenHash}, nil
}

// ErrNoSession is the ENOTFOUND answer of FromRequest without a valid
// session.
var ErrNoSession = document.Errorf(document.ENOTFOUND, "no session; sign in")

// HasCookie reports whether r presents a session cookie at all.
func HasCookie(r *http.Request) bool {
	ck, err := r.Cookie(SessionCookie)
	return err == nil && ck.Value != ""
}

// FromRequest loads the session of r's cookie, sliding its expiry (written
// at most once a minute). It checks no CSRF token: callers do, from the
// header or the form (CheckCSRF). Returns an ENOTFOUND error without a
// valid session or for a disabled account, a storage error otherwise.
func (s *Sessions) FromRequest(ctx context.Context, r *http.Request) (*Session, error) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" || CheckTokenForm(ck.Value, SessionPrefix) != nil {
		return nil, ErrNoSession
	}
	now := s.now()
	sessionHash := HashToken(ck.Value)
	row, err := s.Store.Session(ctx, sessionHash, now)
	if err != nil {
		return nil, err
	}
	if now.Sub(row.LastSeenAt) > time.Minute {
		if err := s.Store.TouchSession(ctx, sessionHash, now, now.Add(s.ttl())); err != nil {
			s.logger().Warn("touch session", "err", err)
		}
	}
	user, err := s.Store.User(ctx, row.UserID)
	if err != nil {
		return nil, err
	}
	if user.Disabled {
		return nil, document.Errorf(document.ENOTFOUND, "the account is disabled")
	}
	grants, err := s.Store.Grants(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	return &Session{User: user, Grants: grants, CSRFToken: CSRFToken(s.Secret, sessionHash),
		ExpiresAt: row.ExpiresAt, SessionHash: sessionHash}, nil
}

// CheckCSRF reports whether token is the CSRF token of the session.
func (s *Sessions) CheckCSRF(sess *Session, token string) bool {
	return sess != nil && CheckCSRF(s.Secret, sess.SessionHash, token)
}

// End deletes the session (nil or already gone is fine) and clears its
// cookie.
func (s *Sessions) End(ctx context.Context, w http.ResponseWriter, sess *Session) error {
	if sess != nil && sess.SessionHash != "" {
		if err := s.Store.DeleteSession(ctx, sess.SessionHash); err != nil && document.ErrorCode(err) != document.ENOTFOUND {
			return err
		}
	}
	s.ClearCookie(w)
	return nil
}

// ClearCookie removes the session cookie from the browser.
func (s *Sessions) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
