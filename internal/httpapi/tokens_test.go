package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// session signs key's user in with a browser and returns a function making
// CSRF-protected JSON requests with that session.
func (e *env) session(key string) func(method, path string, body any) (int, []byte) {
	e.t.Helper()
	hc := e.browser()
	b, _ := json.Marshal(httpapi.LoginRequest{Username: e.users[key].Username, Password: testPassword})
	resp, err := hc.Post(e.srv.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	e.must(err)
	var res httpapi.LoginResult
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("login %s: %d", key, resp.StatusCode)
	}
	return func(method, path string, body any) (int, []byte) {
		e.t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, e.srv.URL+path, rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(httpapi.CSRFHeader, res.CSRFToken)
		resp, err := hc.Do(req)
		e.must(err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
}

// bearer calls with a raw API token.
func (e *env) bearer(token, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return e.send(req)
}

// The probe: API tokens outlived a password change, own or by an
// administrator.
func TestTokensRevokedWithPassword(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		if code, _ := e.call("A.clerk", "GET", "/api/v1/me", nil); code != 200 {
			t.Fatalf("token before: %d", code)
		}
		// Own change, from a session.
		sess := e.session("A.clerk")
		if code, b := sess("POST", "/api/v1/me/password", httpapi.PasswordChange{Current: testPassword, New: "a new long password 2026"}); code != http.StatusNoContent {
			t.Fatalf("change password: %d %s", code, b)
		}
		if code, _ := e.call("A.clerk", "GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
			t.Errorf("the token after its owner changed the password: %d, want 401", code)
		}
		// An administrator's reset.
		if code, _ := e.call("A.drafter", "GET", "/api/v1/me", nil); code != 200 {
			t.Fatal("drafter token")
		}
		if code, b := e.call("A.admin", "PUT", "/api/v1/users/"+e.users["A.drafter"].ID+"/password", httpapi.PasswordSet{Password: "reset by the admin 2026"}); code != http.StatusNoContent {
			t.Fatalf("admin reset: %d %s", code, b)
		}
		if code, _ := e.call("A.drafter", "GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
			t.Errorf("the token after an administrator reset the password: %d, want 401", code)
		}
		// Other users' tokens are untouched.
		if code, _ := e.call("A.reviewer", "GET", "/api/v1/me", nil); code != 200 {
			t.Errorf("another user's token: %d", code)
		}
	})
}

// The probe: a token could mint tokens valid for a year.
func TestTokenMintingAndLifetime(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		if code, b := e.call("A.clerk", "POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "minted by a token", ExpiresInDays: 30}); code != http.StatusForbidden {
			t.Errorf("a token without scope minting a token: %d %s, want 403", code, b)
		}
		sess := e.session("A.clerk")
		if code, _ := sess("POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "a year", ExpiresInDays: 366}); code != http.StatusUnprocessableEntity {
			t.Errorf("a year-long token: %d, want 422 (policy max 90 days)", code)
		}
		var def httpapi.TokenJSON
		code, b := sess("POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "default"})
		if code != 201 || json.Unmarshal(b, &def) != nil || def.ExpiresAt == nil || def.ExpiresAt.After(time.Now().Add(90*24*time.Hour+time.Minute)) {
			t.Fatalf("default token: %d %s", code, b)
		}
		e.api.TokenMaxTTL = 7 * 24 * time.Hour
		if code, _ := sess("POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "month", ExpiresInDays: 30}); code != http.StatusUnprocessableEntity {
			t.Errorf("30 days under a 7-day policy: %d, want 422", code)
		}
		e.api.TokenMaxTTL = 90 * 24 * time.Hour
		if code, _ := sess("POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "x", Scopes: []string{"admin"}}); code != http.StatusUnprocessableEntity {
			t.Errorf("an unknown scope: %d, want 422", code)
		}

		// A token scoped to mint does; what it mints is not scoped and
		// dies no later than it.
		var minter httpapi.TokenJSON
		code, b = sess("POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "deploy", ExpiresInDays: 10, Scopes: []string{httpapi.ScopeTokensCreate}})
		if code != 201 || json.Unmarshal(b, &minter) != nil {
			t.Fatalf("scoped token: %d %s", code, b)
		}
		var child httpapi.TokenJSON
		code, b = e.bearer(minter.Token, "POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "child", ExpiresInDays: 60})
		if code != 201 || json.Unmarshal(b, &child) != nil {
			t.Fatalf("minting with the scoped token: %d %s", code, b)
		}
		if len(child.Scopes) != 0 || child.ExpiresAt.After(*minter.ExpiresAt) {
			t.Errorf("child token %+v outlives or out-scopes its parent %+v", child, minter)
		}
		if code, _ := e.bearer(child.Token, "POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "grandchild"}); code != http.StatusForbidden {
			t.Errorf("the child minting: %d, want 403", code)
		}
		if code, _ := e.bearer(minter.Token, "POST", "/api/v1/tokens", httpapi.TokenCreate{Name: "scoped child", Scopes: []string{httpapi.ScopeTokensCreate}}); code != http.StatusForbidden {
			t.Errorf("a token granting the mint scope: %d, want 403", code)
		}
	})
}
