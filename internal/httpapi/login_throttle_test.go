package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"vanban/internal/auth"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// throttleEnv is the API behind a router that trusts 127.0.0.1 as its
// reverse proxy, so a test can speak from many client addresses, with
// small limits: 5 failures per address, 3 per account.
type throttleEnv struct {
	*env
	proxied *httptest.Server
}

func newThrottleEnv(t *testing.T, db *store.DB) *throttleEnv {
	e := newEnv(t, db)
	e.api.Logins = &auth.LoginThrottle{Store: db, PerAddr: auth.Limit{Burst: 5, Every: time.Hour}, PerUser: auth.Limit{Burst: 3, Every: time.Hour}}
	r := httpapi.NewRouter(httpapi.Options{Logger: quiet(), TrustedProxies: []string{"127.0.0.1/32", "::1"}})
	e.api.Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &throttleEnv{env: e, proxied: srv}
}

func newJar() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// login posts a sign-in to base as client (nil: no cookies) with the
// forwarding header xff ("" for none).
func login(t *testing.T, client *http.Client, base, xff, username, password string) int {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	b, _ := json.Marshal(httpapi.LoginRequest{Username: username, Password: password})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/auth/login", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The probe: any client's X-Forwarded-For was trusted, so every guess
// came from a fresh address. Without configured proxies the header is
// ignored and the guesses count against the real address.
func TestLoginForwardedForIgnoredWithoutTrustedProxy(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newThrottleEnv(t, db)
		codes := []int{}
		for i := range 6 {
			codes = append(codes, login(t, nil, e.srv.URL, "198.51.100."+itoa(i), "no-such-"+itoa(i), "wrong-password"))
		}
		if codes[4] != http.StatusUnauthorized || codes[5] != http.StatusTooManyRequests {
			t.Fatalf("six guesses with spoofed X-Forwarded-For from one address: %v, want the sixth refused", codes)
		}
		// Behind a trusted proxy the header names the client: another
		// client is not held back by the first one's failures.
		if code := login(t, nil, e.proxied.URL, "203.0.113.50", "no-such-x", "wrong-password"); code != http.StatusUnauthorized {
			t.Errorf("another client behind the trusted proxy: %d, want 401", code)
		}
	})
}

// The probe: a successful sign-in cleared the address's counter, so an
// attacker with an account of their own guessed without limit.
func TestLoginSuccessDoesNotClearAddress(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newThrottleEnv(t, db)
		own := e.users["A.clerk"].Username
		victims := []string{e.users["A.signer"].Username, e.users["A.admin"].Username}
		const addr = "203.0.113.9"
		var codes []int
		for i := range 8 {
			if i%2 == 1 {
				if code := login(t, nil, e.proxied.URL, addr, own, testPassword); code != http.StatusOK && code != http.StatusTooManyRequests {
					t.Fatalf("own sign-in: %d", code)
				}
			}
			codes = append(codes, login(t, nil, e.proxied.URL, addr, victims[i%2], "guess-"+itoa(i)))
		}
		if codes[len(codes)-1] != http.StatusTooManyRequests {
			t.Fatalf("guesses interleaved with own sign-ins: %v, want refused after 5", codes)
		}
	})
}

// The probe: the per-user limit let anyone lock any account from
// anywhere. The owner's known device still signs in; a new device is held
// back; the failures are in the database, so every node sees them.
func TestLoginLockedAccountKnownDevice(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newThrottleEnv(t, db)
		leader := e.users["A.signer"]
		owner := newJar()
		if code := login(t, owner, e.proxied.URL, "10.1.1.1", leader.Username, testPassword); code != http.StatusOK {
			t.Fatalf("the owner's first sign-in: %d", code)
		}
		// Attackers from many addresses fill the account's counter.
		for i := range 4 {
			login(t, nil, e.proxied.URL, "198.51.100."+itoa(10+i), leader.Username, "guess-"+itoa(i))
		}
		// Another node sharing the database sees the counter.
		other := &auth.LoginThrottle{Store: db, PerAddr: auth.Limit{Burst: 5, Every: time.Hour}, PerUser: auth.Limit{Burst: 3, Every: time.Hour}}
		if w, err := other.Check(context.Background(), auth.Attempt{Addr: "10.9.9.9", User: leader.Username}); err != nil || w == 0 {
			t.Errorf("another node does not see the account's failures: wait %v err %v", w, err)
		}
		if code := login(t, newJar(), e.proxied.URL, "10.1.1.2", leader.Username, testPassword); code != http.StatusTooManyRequests {
			t.Errorf("a new device on the attacked account: %d, want 429", code)
		}
		if code := login(t, owner, e.proxied.URL, "10.1.1.1", leader.Username, testPassword); code != http.StatusOK {
			t.Errorf("the owner's known device on the attacked account: %d, want 200", code)
		}
		// A forged device cookie is no known device.
		forged := newJar()
		forged.Jar.SetCookies(mustURL(t, e.proxied.URL), []*http.Cookie{{Name: auth.DeviceCookieName, Value: "00112233445566778899aabbccddeeff.beef"}})
		for range 4 {
			login(t, nil, e.proxied.URL, "198.51.100.99", leader.Username, "guess-again")
		}
		if code := login(t, forged, e.proxied.URL, "10.1.1.3", leader.Username, testPassword); code != http.StatusTooManyRequests {
			t.Errorf("a forged device cookie: %d, want 429", code)
		}
	})
}

// Sign-ins and failed ones are in the audit log, with the address and
// without the password.
func TestLoginAudited(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newThrottleEnv(t, db)
		u := e.users["A.clerk"]
		login(t, nil, e.proxied.URL, "203.0.113.77", u.Username, "wrong-password-123")
		login(t, nil, e.proxied.URL, "203.0.113.77", u.Username, testPassword)
		login(t, nil, e.proxied.URL, "203.0.113.78", "no-such-person", "hunter2-password")
		entries, err := db.AuditEntries(context.Background(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, en := range entries {
			if en.ObjectType != "user" || (en.Action != "auth.signin" && en.Action != "auth.signin_failed") {
				continue
			}
			got = append(got, en.Action+" "+en.Actor+" "+en.ClientAddr)
			if bytes.Contains(en.Change, []byte("wrong-password-123")) || bytes.Contains(en.Change, []byte("hunter2")) || bytes.Contains(en.Change, []byte("no-such-person")) {
				t.Errorf("the audit entry keeps what was typed: %s", en.Change)
			}
		}
		want := []string{"auth.signin_failed " + u.ID + " 203.0.113.77", "auth.signin " + u.ID + " 203.0.113.77", "auth.signin_failed anonymous 203.0.113.78"}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("audit entries %q, want %q", got, want)
		}
	})
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
