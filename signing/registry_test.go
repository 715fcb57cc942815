package signing_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/signing"
)

func TestRegisterPanicsOnDuplicate(t *testing.T) {
	open := func(*url.URL, signing.Env) (signing.Provider, error) { return nil, errors.New("unused") }
	signing.Register("test-dup", open)
	defer func() {
		if recover() == nil {
			t.Fatal("second Register for the same scheme did not panic")
		}
	}()
	signing.Register("test-dup", open)
}

func TestRegisterPanicsOnEmpty(t *testing.T) {
	open := func(*url.URL, signing.Env) (signing.Provider, error) { return nil, errors.New("unused") }
	for name, f := range map[string]func(){
		"empty scheme": func() { signing.Register("", open) },
		"nil opener":   func() { signing.Register("test-nil-opener", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Register did not panic")
				}
			}()
			f()
		})
	}
}

func TestOpen(t *testing.T) {
	var gotURI *url.URL
	var gotEnv signing.Env
	signing.Register("test-open", func(u *url.URL, env signing.Env) (signing.Provider, error) {
		gotURI, gotEnv = u, env
		return nil, &signing.Error{Kind: signing.KindNoCertificate, Message: "reached opener"}
	})

	t.Run("dispatches by scheme", func(t *testing.T) {
		env := func(string) (string, bool) { return "x", true }
		_, err := signing.Open("test-open:token=a;object=b?pin-env=PIN", env)
		if signing.KindOf(err) != signing.KindNoCertificate {
			t.Fatalf("err = %v, want the opener's error", err)
		}
		if gotURI.Opaque != "token=a;object=b" || gotURI.Query().Get("pin-env") != "PIN" {
			t.Fatalf("opener got %#v", gotURI)
		}
		if v, _ := gotEnv("anything"); v != "x" {
			t.Fatal("opener did not receive the caller's env")
		}
	})
	t.Run("nil env means OSEnv", func(t *testing.T) {
		t.Setenv("VANBAN_TEST_OPEN_ENV", "from-os")
		_, _ = signing.Open("test-open:x", nil)
		if v, ok := gotEnv("VANBAN_TEST_OPEN_ENV"); !ok || v != "from-os" {
			t.Fatalf("env = %q, %v", v, ok)
		}
	})
	t.Run("unknown scheme names registered ones", func(t *testing.T) {
		_, err := signing.Open("nosuch:thing", nil)
		if signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("err = %v, want bad_request", err)
		}
		for _, want := range []string{`"nosuch"`, "test-open"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	})
	t.Run("no scheme", func(t *testing.T) {
		_, err := signing.Open("seal.p12", nil)
		if signing.KindOf(err) != signing.KindBadRequest || !strings.Contains(err.Error(), "test-open") {
			t.Fatalf("err = %v, want bad_request listing schemes", err)
		}
	})
	t.Run("unparsable", func(t *testing.T) {
		_, err := signing.Open("file:%zz?pass-value=s3cret", nil)
		if signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("err = %v, want bad_request", err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error %q repeats the URI's secret", err)
		}
	})
	t.Run("no scheme does not echo the URI", func(t *testing.T) {
		_, err := signing.Open("seal.p12?pin-value=s3cret", nil)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSchemesSorted(t *testing.T) {
	noop := func(*url.URL, signing.Env) (signing.Provider, error) { return nil, nil }
	signing.Register("test-zz", noop)
	signing.Register("test-aa", noop)
	s := signing.Schemes()
	ia, iz := -1, -1
	for i, n := range s {
		if i > 0 && s[i-1] >= n {
			t.Fatalf("Schemes not sorted: %v", s)
		}
		switch n {
		case "test-aa":
			ia = i
		case "test-zz":
			iz = i
		}
	}
	if ia < 0 || iz < 0 {
		t.Fatalf("Schemes = %v, missing registered test schemes", s)
	}
}

func TestSecret(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "SEAL_PASS" {
			return "s3cret", true
		}
		return "", false
	}
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		query   url.Values
		want    string
		wantOK  bool
		wantErr bool
	}{
		{"env", url.Values{"pass-env": {"SEAL_PASS"}}, "s3cret", true, false},
		{"env unset", url.Values{"pass-env": {"MISSING"}}, "", false, true},
		{"file trims newline", url.Values{"pass-file": {passFile}}, "from-file", true, false},
		{"file missing", url.Values{"pass-file": {filepath.Join(dir, "nope")}}, "", false, true},
		{"env wins over file", url.Values{"pass-env": {"SEAL_PASS"}, "pass-file": {passFile}}, "s3cret", true, false},
		{"neither", url.Values{"pin-env": {"SEAL_PASS"}}, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok, err := signing.Secret(tt.query, env, "pass")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && signing.KindOf(err) != signing.KindBadRequest {
				t.Fatalf("err kind = %v, want bad_request", signing.KindOf(err))
			}
			if v != tt.want || ok != tt.wantOK {
				t.Fatalf("Secret = %q, %v; want %q, %v", v, ok, tt.want, tt.wantOK)
			}
		})
	}
	t.Run("error names the variable", func(t *testing.T) {
		_, _, err := signing.Secret(url.Values{"pin-env": {"VANBAN_NOPE"}}, env, "pin")
		if err == nil || !strings.Contains(err.Error(), "VANBAN_NOPE") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOSEnv(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret")
	if err := os.WriteFile(p, []byte("mounted\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VANBAN_TEST_DIRECT", "direct")
	t.Setenv("VANBAN_TEST_MOUNTED_FILE", p)
	t.Setenv("VANBAN_TEST_BROKEN_FILE", filepath.Join(dir, "missing"))

	if v, ok := signing.OSEnv("VANBAN_TEST_DIRECT"); !ok || v != "direct" {
		t.Errorf("direct = %q, %v", v, ok)
	}
	if v, ok := signing.OSEnv("VANBAN_TEST_MOUNTED"); !ok || v != "mounted" {
		t.Errorf("_FILE = %q, %v", v, ok)
	}
	if _, ok := signing.OSEnv("VANBAN_TEST_BROKEN"); ok {
		t.Error("unreadable _FILE reported as set")
	}
	if _, ok := signing.OSEnv("VANBAN_TEST_NEVER_SET"); ok {
		t.Error("unset variable reported as set")
	}
}

func TestErrorIsAndKind(t *testing.T) {
	cause := errors.New("connection refused")
	err := error(&signing.Error{Kind: signing.KindUnavailable, Provider: "csc", Code: "503", Message: "down", Err: cause})
	wrapped := errors.Join(errors.New("context"), err)

	if !errors.Is(wrapped, &signing.Error{Kind: signing.KindUnavailable}) {
		t.Error("errors.Is by kind failed")
	}
	if !errors.Is(wrapped, &signing.Error{Kind: signing.KindUnavailable, Provider: "csc"}) {
		t.Error("errors.Is by kind and provider failed")
	}
	if errors.Is(wrapped, &signing.Error{Kind: signing.KindUnavailable, Provider: "pkcs11"}) {
		t.Error("errors.Is matched another provider")
	}
	if errors.Is(wrapped, &signing.Error{Kind: signing.KindDeclined}) {
		t.Error("errors.Is matched another kind")
	}
	if !errors.Is(err, cause) {
		t.Error("Unwrap does not reach the cause")
	}
	if !signing.IsRetryable(wrapped) || signing.IsRetryable(cause) {
		t.Error("IsRetryable wrong")
	}
	if got, want := err.Error(), "csc: unavailable (503): down: connection refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	for k := signing.KindDeclined; k <= signing.KindBadSignature; k++ {
		back, ok := signing.ParseKind(k.String())
		if !ok || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), back, ok)
		}
	}
	if _, ok := signing.ParseKind("kind(99)"); ok {
		t.Error("ParseKind accepted an unknown name")
	}
}
