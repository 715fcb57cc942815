package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/internal/files"
	"vanban/internal/httpapi"
	"vanban/internal/store/pgtest"
	"vanban/storage"
	"vanban/storage/local"
)

// TestLoginRefusesCrossSiteBodies is the login-CSRF regression: a
// cross-site page can make a browser post text/plain or a form without a
// preflight, so valid credentials sent that way do not sign in and set no
// cookie; only application/json does.
func TestLoginRefusesCrossSiteBodies(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	u := e.users["A.clerk"]
	creds, _ := json.Marshal(httpapi.LoginRequest{Username: u.Username, Password: testPassword})
	for _, tc := range []struct{ ctype, body string }{
		{"text/plain", string(creds)},
		{"text/plain;charset=UTF-8", string(creds)},
		{"application/x-www-form-urlencoded", url.Values{"username": {u.Username}, "password": {testPassword}}.Encode()},
		{"", string(creds)},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/auth/login", strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		req.Header.Set("Origin", "https://evil.example")
		resp, err := http.DefaultClient.Do(req)
		e.must(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("login as %q: %d %s, want 415", tc.ctype, resp.StatusCode, b)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("login as %q set cookies %v", tc.ctype, resp.Cookies())
		}
	}
	resp, err := http.Post(e.srv.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(creds))
	e.must(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login as JSON: %d", resp.StatusCode)
	}
}

// TestSignedLinkTypeAndCSP is the regression for a blob served with the
// type of whichever upload came first: an object first stored as
// text/javascript is sent through a signed link with the type derived from
// the link's file name (a PDF as application/pdf, anything else as bytes to
// save), never as script, always with the sandboxing CSP and nosniff; a
// link whose file name was changed is refused.
func TestSignedLinkTypeAndCSP(t *testing.T) {
	secret := bytes.Repeat([]byte("l"), 32)
	srv := httptest.NewUnstartedServer(nil)
	blobs, err := local.New(filepath.Join(t.TempDir(), "blobs"), local.Options{LinkSecret: secret, LinkBaseURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	r := httpapi.NewRouter(httpapi.Options{Logger: quiet()})
	httpapi.MountBlobLinks(r, local.LinkPrefix, func(path string, q map[string][]string, now time.Time) (string, error) {
		return local.VerifyLink(secret, path, q, now)
	}, blobs)
	srv.Config.Handler = r
	srv.Start()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	obj, err := blobs.PutContentAddressed(ctx, strings.NewReader("%PDF-1.7\nalert(document.cookie)//"), storage.PutOptions{ContentType: "text/javascript"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"van-ban.pdf": "application/pdf", "chu-ky.png": "image/png", "x.js": "application/octet-stream",
		"trang.html": "application/octet-stream", "": "application/octet-stream"} {
		link, err := blobs.PresignGet(ctx, obj.Key, time.Minute, name)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != want || h.Get("Content-Security-Policy") != files.DownloadCSP ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
			t.Errorf("link named %q: %d type %q CSP %q nosniff %q disposition %q, want type %s", name, resp.StatusCode, h.Get("Content-Type"),
				h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"), h.Get("Content-Disposition"), want)
		}
		if name == "van-ban.pdf" {
			u, _ := url.Parse(link)
			q := u.Query()
			q.Set("filename", "van-ban.html")
			u.RawQuery = q.Encode()
			resp, err := http.Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("a link with its file name changed: %d, want 403", resp.StatusCode)
			}
		}
	}
}
