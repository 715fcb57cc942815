package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/audit"
	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
)

// SessionCookie holds a browser session token; CSRFHeader must carry the
// session's CSRF token on every unsafe request made with it.
const (
	SessionCookie = "vanban_session"
	CSRFHeader    = "X-CSRF-Token"
)

// principal is the signed-in user of a request.
type principal struct {
	user   *document.User
	grants document.Grants
	// sessionHash is set for browser sessions (cookie), empty for API
	// tokens.
	sessionHash string
	// token is the API token of the request, nil for browser sessions.
	token *store.APIToken
}

const principalKey = "vanban.principal"

func current(c *gin.Context) *principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(*principal)
	return pr
}

func actor(c *gin.Context) workflow.Actor {
	p := current(c)
	if p == nil {
		return workflow.Actor{ClientAddr: c.ClientIP()}
	}
	return workflow.Actor{UserID: p.user.ID, ClientAddr: c.ClientIP()}
}

// authenticate accepts a bearer API token or the session cookie. A cookie
// session must also present its CSRF token on unsafe methods: the cookie is
// sent by the browser on cross-site requests, the header is not.
func (api *API) authenticate(c *gin.Context) {
	ctx := c.Request.Context()
	now := api.now()
	var userID, sessionHash string
	var apiToken *store.APIToken
	if h := c.GetHeader("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || auth.CheckTokenForm(token, auth.APITokenPrefix) != nil {
			unauthorized(c, "malformed Authorization header; use Bearer vbt_...")
			return
		}
		t, err := api.Directory.UseAPIToken(ctx, auth.HashToken(token), now)
		if err != nil {
			api.authFailure(c, err, "API token is unknown, expired or revoked")
			return
		}
		userID, apiToken = t.UserID, t
	} else if ck, err := c.Cookie(SessionCookie); err == nil && ck != "" {
		if auth.CheckTokenForm(ck, auth.SessionPrefix) != nil {
			unauthorized(c, "malformed session cookie")
			return
		}
		sessionHash = auth.HashToken(ck)
		s, err := api.Directory.Session(ctx, sessionHash, now)
		if err != nil {
			api.authFailure(c, err, "session expired; sign in again")
			return
		}
		if !safeMethod(c.Request.Method) && !auth.CheckCSRF(api.Secret, sessionHash, c.GetHeader(CSRFHeader)) {
			Problem(c, http.StatusForbidden, "csrf", "Yêu cầu không hợp lệ / CSRF check failed",
				"unsafe requests with the session cookie need the "+CSRFHeader+" header from the login answer")
			return
		}
		// Sliding expiry, written at most once a minute per session.
		if now.Sub(s.LastSeenAt) > time.Minute {
			if err := api.Directory.TouchSession(ctx, sessionHash, now, now.Add(api.SessionTTL)); err != nil {
				api.Logger.Warn("touch session", "err", err)
			}
		}
		userID = s.UserID
	} else {
		unauthorized(c, "sign in first")
		return
	}
	user, err := api.Directory.User(ctx, userID)
	if err != nil || user.Disabled {
		unauthorized(c, "the account is disabled")
		return
	}
	grants, err := api.Directory.Grants(ctx, userID)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Set(principalKey, &principal{user: user, grants: grants, sessionHash: sessionHash, token: apiToken})
	c.Next()
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func unauthorized(c *gin.Context, detail string) {
	c.Header("WWW-Authenticate", `Bearer realm="vanban"`)
	Problem(c, http.StatusUnauthorized, "unauthorized", "Chưa đăng nhập / Not signed in", detail)
}

// authFailure answers 401 for an unknown credential and 503 when the
// database could not be asked.
func (api *API) authFailure(c *gin.Context, err error, detail string) {
	if document.ErrorCode(err) == document.ENOTFOUND {
		unauthorized(c, detail)
		return
	}
	api.fail(c, err)
}

// LoginRequest is the body of POST /auth/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResult answers a successful login. CSRFToken goes in the
// X-CSRF-Token header of every later unsafe request.
type LoginResult struct {
	User      UserJSON  `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// dummyHash is checked against when the username is unknown, so that the
// answer takes as long as for a wrong password and does not reveal which
// usernames exist. It is made on first use, with the API's own parameters
// (the cost must match the real hashes), not at program start: commands
// that never serve a login should not pay for it.
func (api *API) dummyHash() string {
	api.dummyOnce.Do(func() {
		h, err := auth.HashPassword("vanban-no-such-user-padding", api.Passwords)
		if err != nil {
			panic(err) // only for a password shorter than the minimum
		}
		api.dummy = h
	})
	return api.dummy
}

func (api *API) login(c *gin.Context) {
	var req LoginRequest
	if !bindJSON(c, &req) {
		return
	}
	ws, err := api.PasswordLogin(c, req.Username, req.Password)
	var tooMany *TooManyAttemptsError
	switch {
	case errors.As(err, &tooMany):
		c.Header("Retry-After", retryAfter(tooMany.Wait))
		Problem(c, http.StatusTooManyRequests, "too-many-attempts", "Quá nhiều lần thử / Too many attempts",
			"too many failed sign-ins; try again later")
		return
	case errors.Is(err, ErrBadCredentials):
		unauthorized(c, "wrong username or password")
		return
	case err != nil:
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, LoginResult{User: userJSON(ws.User), CSRFToken: ws.CSRFToken, ExpiresAt: ws.ExpiresAt})
}

// WebSession is a signed-in browser session as the web pages see it: the
// same cookie session the API accepts.
type WebSession struct {
	User   *document.User
	Grants document.Grants
	// CSRFToken must come back with every unsafe request of this session.
	CSRFToken string
	ExpiresAt time.Time
	// SessionHash identifies the session in the database (never the token).
	SessionHash string
}

// ErrBadCredentials answers a wrong username or password (or a disabled
// account), without saying which.
var ErrBadCredentials = errors.New("wrong username or password")

// TooManyAttemptsError answers a login refused by the rate limiter.
type TooManyAttemptsError struct{ Wait time.Duration }

func (e *TooManyAttemptsError) Error() string {
	return "too many failed sign-ins; try again in " + retryAfter(e.Wait) + " s"
}

// PasswordLogin checks a password under the login rate limiter and, when
// it is right, creates a browser session and sets its cookie. The web
// pages and POST /auth/login share it, so a person signed in on either is
// signed in on both. Errors: ErrBadCredentials, *TooManyAttemptsError, or a
// storage error.
func (api *API) PasswordLogin(c *gin.Context, username, password string) (*WebSession, error) {
	username = strings.TrimSpace(username)
	ctx := c.Request.Context()
	attempt := auth.Attempt{Addr: c.ClientIP(), User: username}
	user, hash, err := api.Directory.Credentials(ctx, username)
	if err != nil && document.ErrorCode(err) != document.ENOTFOUND {
		return nil, err
	}
	if user != nil {
		if ck, err := c.Cookie(auth.DeviceCookieName); err == nil {
			attempt.Device = auth.KnownDevice(api.Secret, user.ID, ck)
		}
	}
	wait, err := api.Logins.Check(ctx, attempt)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, &TooManyAttemptsError{Wait: wait}
	}
	failed := func(reason string) (*WebSession, error) {
		if err := api.Logins.Failed(ctx, attempt); err != nil {
			api.Logger.Error("recording a failed sign-in", "err", err)
		}
		api.auditSignIn(c, user, "auth.signin_failed", reason)
		return nil, ErrBadCredentials
	}
	if user == nil || hash == "" {
		_, _ = auth.CheckPassword(api.dummyHash(), password, api.Passwords)
		return failed("unknown account")
	}
	rehash, err := auth.CheckPassword(hash, password, api.Passwords)
	if err != nil {
		return failed("wrong password")
	}
	if user.Disabled {
		return failed("account disabled")
	}
	if err := api.Logins.Succeeded(ctx, attempt); err != nil {
		api.Logger.Error("clearing sign-in failures", "err", err)
	}
	if attempt.Device == "" {
		if v, _, err := auth.NewDeviceCookie(api.Secret, user.ID); err == nil {
			http.SetCookie(c.Writer, &http.Cookie{Name: auth.DeviceCookieName, Value: v, Path: "/", HttpOnly: true,
				Secure: api.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 400 * 24 * 3600})
		}
	}
	api.auditSignIn(c, user, "auth.signin", "")
	if rehash {
		if h, err := auth.HashPassword(password, api.Passwords); err == nil {
			if err := api.Directory.RehashPassword(ctx, user.ID, hash, h); err != nil {
				api.Logger.Warn("rehash password", "user", user.ID, "err", err)
			}
		}
	}
	token, tokenHash, err := auth.NewToken(auth.SessionPrefix)
	if err != nil {
		return nil, err
	}
	now := api.now()
	s := &store.Session{TokenHash: tokenHash, UserID: user.ID, CreatedAt: now, ExpiresAt: now.Add(api.SessionTTL),
		ClientAddr: c.ClientIP(), UserAgent: c.Request.UserAgent()}
	if err := api.Directory.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: api.SecureCookies, SameSite: http.SameSiteLaxMode, Expires: s.ExpiresAt})
	grants, err := api.Directory.Grants(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	return &WebSession{User: user, Grants: grants, CSRFToken: auth.CSRFToken(api.Secret, tokenHash),
		ExpiresAt: s.ExpiresAt, SessionHash: tokenHash}, nil
}

// auditSignIn records a sign-in or a failed one in the audit log: who (the
// account when it exists), from where, and for a failure why. The password
// and the typed username of an unknown account are not recorded (people
// type passwords into the username field).
func (api *API) auditSignIn(c *gin.Context, user *document.User, action, reason string) {
	actor, object := "anonymous", ""
	if user != nil {
		actor, object = user.ID, user.ID
	}
	change, _ := json.Marshal(map[string]string{"reason": reason, "user_agent": truncateRunes(c.Request.UserAgent(), 200)})
	if reason == "" {
		change, _ = json.Marshal(map[string]string{"user_agent": truncateRunes(c.Request.UserAgent(), 200)})
	}
	if _, err := api.Directory.AppendAudit(c.Request.Context(), audit.Entry{
		Time: api.now(), Actor: actor, ClientAddr: c.ClientIP(), Action: action,
		ObjectType: "user", ObjectID: object, Change: change,
	}); err != nil {
		api.Logger.Error("audit entry for a sign-in", "action", action, "err", err)
	}
}

func truncateRunes(s string, n int) string {
	r := []rune(strings.ToValidUTF8(s, "?"))
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

// BrowserSession loads the session of the request's cookie, with the same
// checks and sliding expiry as the API, but checks no CSRF token: the
// caller does, from a header or a form field (CheckCSRF). It returns an
// ENOTFOUND error when there is no valid session or the account is
// disabled.
func (api *API) BrowserSession(c *gin.Context) (*WebSession, error) {
	ck, err := c.Cookie(SessionCookie)
	if err != nil || ck == "" || auth.CheckTokenForm(ck, auth.SessionPrefix) != nil {
		return nil, document.Errorf(document.ENOTFOUND, "no session")
	}
	ctx := c.Request.Context()
	now := api.now()
	sessionHash := auth.HashToken(ck)
	s, err := api.Directory.Session(ctx, sessionHash, now)
	if err != nil {
		return nil, err
	}
	if now.Sub(s.LastSeenAt) > time.Minute {
		if err := api.Directory.TouchSession(ctx, sessionHash, now, now.Add(api.SessionTTL)); err != nil {
			api.Logger.Warn("touch session", "err", err)
		}
	}
	user, err := api.Directory.User(ctx, s.UserID)
	if err != nil {
		return nil, err
	}
	if user.Disabled {
		return nil, document.Errorf(document.ENOTFOUND, "the account is disabled")
	}
	grants, err := api.Directory.Grants(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	return &WebSession{User: user, Grants: grants, CSRFToken: auth.CSRFToken(api.Secret, sessionHash),
		ExpiresAt: s.ExpiresAt, SessionHash: sessionHash}, nil
}

// CheckCSRF reports whether token is the CSRF token of the session.
func (api *API) CheckCSRF(s *WebSession, token string) bool {
	return s != nil && auth.CheckCSRF(api.Secret, s.SessionHash, token)
}

// EndSession deletes the session and clears its cookie.
func (api *API) EndSession(c *gin.Context, s *WebSession) error {
	if s != nil && s.SessionHash != "" {
		if err := api.Directory.DeleteSession(c.Request.Context(), s.SessionHash); err != nil && document.ErrorCode(err) != document.ENOTFOUND {
			return err
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: api.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

func retryAfter(d time.Duration) string {
	secs := int(d.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return itoa(secs)
}

func (api *API) logout(c *gin.Context) {
	p := current(c)
	if p.sessionHash != "" {
		if err := api.Directory.DeleteSession(c.Request.Context(), p.sessionHash); err != nil && document.ErrorCode(err) != document.ENOTFOUND {
			api.fail(c, err)
			return
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: api.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c.Status(http.StatusNoContent)
}

// Me is the signed-in user with their roles, and the CSRF token of their
// browser session (empty for API tokens).
type Me struct {
	User      UserJSON    `json:"user"`
	Roles     []GrantJSON `json:"roles"`
	CSRFToken string      `json:"csrf_token,omitempty"`
}

func (api *API) me(c *gin.Context) {
	p := current(c)
	out := Me{User: userJSON(p.user), Roles: grantsJSON(p.grants)}
	if p.sessionHash != "" {
		out.CSRFToken = auth.CSRFToken(api.Secret, p.sessionHash)
	}
	c.JSON(http.StatusOK, out)
}

// PasswordChange is the body of POST /me/password.
type PasswordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (api *API) changePassword(c *gin.Context) {
	var req PasswordChange
	if !bindJSON(c, &req) {
		return
	}
	p := current(c)
	ctx := c.Request.Context()
	_, hash, err := api.Directory.Credentials(ctx, p.user.Username)
	if err != nil {
		api.fail(c, err)
		return
	}
	if _, err := auth.CheckPassword(hash, req.Current, api.Passwords); err != nil {
		Problem(c, http.StatusForbidden, "forbidden", "Mật khẩu hiện tại không đúng / Current password is wrong", "")
		return
	}
	if !api.storePassword(c, p.user.ID, req.New) {
		return
	}
	// Other browsers signed in as this user lose their sessions; this one
	// signs in again.
	if _, err := api.Directory.DeleteUserSessions(ctx, p.user.ID); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) storePassword(c *gin.Context, userID, password string) bool {
	h, err := auth.HashPassword(password, api.Passwords)
	if err != nil {
		invalid(c, map[string]string{"password": err.Error()})
		return false
	}
	if err := api.Directory.SetPasswordHash(c.Request.Context(), userID, h); err != nil {
		api.fail(c, err)
		return false
	}
	return true
}

// TokenCreate is the body of POST /tokens.
type TokenCreate struct {
	Name string `json:"name"`
	// ExpiresInDays is the token's lifetime; 0 means the policy's maximum
	// (VANBAN_TOKEN_MAX_TTL, default 90 days), never more.
	ExpiresInDays int `json:"expires_in_days"`
	// Scopes: "tokens:create" lets the new token mint tokens itself. Only
	// a signed-in session grants it.
	Scopes []string `json:"scopes,omitempty"`
}

// ScopeTokensCreate lets an API token mint other tokens.
const ScopeTokensCreate = "tokens:create"

// TokenJSON describes an API token; Token is set only in the answer that
// creates it.
type TokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Scopes     []string   `json:"scopes,omitempty"`
}

func tokenJSON(t *store.APIToken) TokenJSON {
	return TokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: timePtr(t.ExpiresAt),
		LastUsedAt: timePtr(t.LastUsedAt), RevokedAt: timePtr(t.RevokedAt), Scopes: t.Scopes}
}

func (api *API) createToken(c *gin.Context) {
	var req TokenCreate
	if !bindJSON(c, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" || len(req.Name) > 100 {
		invalid(c, map[string]string{"name": "a name of 1 to 100 characters is required"})
		return
	}
	p := current(c)
	// A token mints tokens only when scoped to: a stolen token must not
	// turn into a fresh one outliving its revocation. What it mints has no
	// such scope and expires no later than itself.
	if p.token != nil && !slices.Contains(p.token.Scopes, ScopeTokensCreate) {
		Problem(c, http.StatusForbidden, "forbidden", "Không được phép / Forbidden",
			"an API token cannot create tokens unless it has the "+ScopeTokensCreate+" scope; sign in to create one")
		return
	}
	for _, sc := range req.Scopes {
		if sc != ScopeTokensCreate {
			invalid(c, map[string]string{"scopes": "unknown scope " + strconv.Quote(sc) + "; the only scope is " + ScopeTokensCreate})
			return
		}
		if p.token != nil {
			Problem(c, http.StatusForbidden, "forbidden", "Không được phép / Forbidden", "only a signed-in session grants the "+ScopeTokensCreate+" scope")
			return
		}
	}
	maxTTL := api.TokenMaxTTL
	life := maxTTL
	if req.ExpiresInDays != 0 {
		life = time.Duration(req.ExpiresInDays) * 24 * time.Hour
	}
	if req.ExpiresInDays < 0 || life > maxTTL {
		invalid(c, map[string]string{"expires_in_days": fmt.Sprintf("between 1 and %d (the policy's maximum, VANBAN_TOKEN_MAX_TTL)", int(maxTTL.Hours()/24))})
		return
	}
	expires := api.now().Add(life)
	if p.token != nil && !p.token.ExpiresAt.IsZero() && p.token.ExpiresAt.Before(expires) {
		expires = p.token.ExpiresAt
	}
	token, hash, err := auth.NewToken(auth.APITokenPrefix)
	if err != nil {
		api.fail(c, err)
		return
	}
	t := &store.APIToken{TokenHash: hash, UserID: p.user.ID, Name: strings.TrimSpace(req.Name), ExpiresAt: expires, Scopes: req.Scopes}
	if err := api.Directory.CreateAPIToken(c.Request.Context(), t); err != nil {
		api.fail(c, err)
		return
	}
	out := tokenJSON(t)
	out.Token = token
	c.Set(AuditKeyObject, t.ID)
	c.JSON(http.StatusCreated, out)
}

func (api *API) listTokens(c *gin.Context) {
	ts, err := api.Directory.APITokens(c.Request.Context(), current(c).user.ID)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]TokenJSON, len(ts))
	for i, t := range ts {
		out[i] = tokenJSON(t)
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) revokeToken(c *gin.Context) {
	if err := api.Directory.RevokeAPIToken(c.Request.Context(), current(c).user.ID, c.Param("id"), api.now()); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// requireAdmin answers 403 unless the user administers unit (the root unit,
// whose id is the organization's, for organization-wide changes).
func (api *API) requireAdmin(c *gin.Context, unitID string) (*document.Unit, bool) {
	p := current(c)
	u, err := api.Directory.Unit(c.Request.Context(), unitID)
	if err != nil {
		api.fail(c, err)
		return nil, false
	}
	if u.OrgID != p.user.OrgID {
		// Units of other organizations do not exist for this user.
		api.fail(c, document.Errorf(document.ENOTFOUND, "unit %s not found", unitID))
		return nil, false
	}
	if !p.grants.Allows(document.RoleAdmin, *u) {
		api.fail(c, document.Errorf(document.EFORBIDDEN, "administering unit %s needs the admin role there", u.Abbrev))
		return nil, false
	}
	return u, true
}

var errNoSigning = errors.New("signing is not configured on this server")
