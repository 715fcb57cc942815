package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/audit"
	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/httperr"
	"vanban/internal/store"
	"vanban/internal/workflow"
)

// SessionCookie holds a browser session token; CSRFHeader must carry the
// session's CSRF token on every unsafe request made with it.
const (
	SessionCookie = auth.SessionCookie
	CSRFHeader    = auth.CSRFHeader
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
	// A browser session comes with its user and grants (FromRequest
	// read them); an API token names only the user.
	var user *document.User
	var grants document.Grants
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
	} else if auth.HasCookie(c.Request) {
		s, err := api.Sessions.FromRequest(ctx, c.Request)
		if err != nil {
			api.authFailure(c, err, "session expired; sign in again")
			return
		}
		if !safeMethod(c.Request.Method) && !api.Sessions.CheckCSRF(s, c.GetHeader(CSRFHeader)) {
			Problem(c, http.StatusForbidden, "csrf", "Yêu cầu không hợp lệ / CSRF check failed",
				"unsafe requests with the session cookie need the "+CSRFHeader+" header from the login answer")
			return
		}
		userID, sessionHash, user, grants = s.User.ID, s.SessionHash, s.User, s.Grants
	} else {
		unauthorized(c, "sign in first")
		return
	}
	if user == nil {
		var err error
		user, err = api.Directory.User(ctx, userID)
		if err != nil || user.Disabled {
			unauthorized(c, "the account is disabled")
			return
		}
		if grants, err = api.Directory.Grants(ctx, userID); err != nil {
			api.fail(c, err)
			return
		}
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

func (api *API) login(c *gin.Context) {
	// Login CSRF: a cross-site page can post a form, or text/plain, without
	// asking; it cannot send application/json without a preflight we never
	// allow. So only JSON signs in here.
	if ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); ct != "application/json" {
		Problem(c, http.StatusUnsupportedMediaType, "json-required", "Cần gửi JSON / JSON required",
			"send the credentials as application/json")
		return
	}
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

// WebSession is a signed-in browser session: the same cookie session the
// pages use (auth.Session).
type WebSession = auth.Session

// ErrBadCredentials answers a wrong username or password (or a disabled
// account), without saying which.
var ErrBadCredentials = auth.ErrBadCredentials

// TooManyAttemptsError answers a login refused by the rate limiter.
type TooManyAttemptsError = auth.TooManyAttemptsError

// PasswordLogin checks a password under the login rate limiter and, when
// it is right, creates a browser session and sets its cookie. The web
// pages and POST /auth/login share it, so a person signed in on either is
// signed in on both. Errors: ErrBadCredentials, *TooManyAttemptsError, or a
// storage error.
func (api *API) PasswordLogin(c *gin.Context, username, password string) (*WebSession, error) {
	username = strings.TrimSpace(username)
	ctx := c.Request.Context()
	attempt := auth.Attempt{Addr: c.ClientIP(), User: username}
	known, err := api.Sessions.Account(ctx, username)
	if err != nil && document.ErrorCode(err) != document.ENOTFOUND {
		return nil, err
	}
	if known != nil {
		if ck, err := c.Cookie(auth.DeviceCookieName); err == nil {
			attempt.Device = auth.KnownDevice(api.Secret, known.ID, ck)
		}
	}
	wait, err := api.Logins.Check(ctx, attempt)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, &TooManyAttemptsError{Wait: wait}
	}
	user, err := api.Sessions.CheckPassword(ctx, username, password)
	if errors.Is(err, ErrBadCredentials) {
		if err := api.Logins.Failed(ctx, attempt); err != nil {
			api.Logger.Error("recording a failed sign-in", "err", err)
		}
		reason := "wrong password"
		switch {
		case known == nil:
			reason = "unknown account"
		case known.Disabled:
			reason = "account disabled"
		}
		api.auditSignIn(c, known, "auth.signin_failed", reason)
		return nil, err
	}
	if err != nil {
		return nil, err
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
	return api.Sessions.Start(ctx, c.Writer, user, c.ClientIP(), c.Request.UserAgent())
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

// BrowserSession loads the session of the request's cookie (auth.Sessions);
// the caller checks the CSRF token.
func (api *API) BrowserSession(c *gin.Context) (*WebSession, error) {
	return api.Sessions.FromRequest(c.Request.Context(), c.Request)
}

// CheckCSRF reports whether token is the CSRF token of the session.
func (api *API) CheckCSRF(s *WebSession, token string) bool {
	return api.Sessions.CheckCSRF(s, token)
}

// EndSession deletes the session and clears its cookie.
func (api *API) EndSession(c *gin.Context, s *WebSession) error {
	return api.Sessions.End(c.Request.Context(), c.Writer, s)
}

// LoginToken and CheckLoginToken guard the pages' sign-in form against
// login CSRF (auth.Sessions.LoginToken).
func (api *API) LoginToken(c *gin.Context) string {
	return api.Sessions.LoginToken(c.Writer, c.Request)
}

func (api *API) CheckLoginToken(c *gin.Context, token string) bool {
	return api.Sessions.CheckLoginToken(c.Request, token)
}

func retryAfter(d time.Duration) string { return auth.RetryAfter(d) }

func (api *API) logout(c *gin.Context) {
	p := current(c)
	if p.sessionHash != "" {
		if err := api.Directory.DeleteSession(c.Request.Context(), p.sessionHash); err != nil && document.ErrorCode(err) != document.ENOTFOUND {
			api.fail(c, err)
			return
		}
	}
	api.Sessions.ClearCookie(c.Writer)
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
		out.CSRFToken = auth.CSRFToken(api.Sessions.Secret, p.sessionHash)
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

var errNoSigning = httperr.ErrSigningUnavailable
