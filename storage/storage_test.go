package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"vanban/storage"
)

func TestValidateKey(t *testing.T) {
	for _, k := range []string{"a", "a/b/c.pdf", "sha256/ab/cd/x", "quyết định/05 QĐ.pdf", "a..b", "a/b.", strings.Repeat("k", storage.MaxSegmentLen)} {
		if err := storage.ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "/a", "a/", "a//b", ".", "..", "a/../b", ".x", "a/.tmp", "a\x00", "a\nb", "a\\b", "\xff", strings.Repeat("k", storage.MaxKeyLen+1), strings.Repeat("s", storage.MaxSegmentLen+1)} {
		err := storage.ValidateKey(k)
		if !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	if err := storage.ValidateKey("a\x00b"); !strings.Contains(err.Error(), `"a\x00b"`) {
		t.Errorf("control characters are not quoted in %q", err)
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b", "sha256/a", "a/b/"} {
		if err := storage.ValidatePrefix(p); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "a//", "../", "a/../", "a\x00", ".", "a/."} {
		if err := storage.ValidatePrefix(p); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ValidatePrefix(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
}

func TestContentKey(t *testing.T) {
	sum := sha256.Sum256([]byte("abc"))
	key := storage.ContentKey(sum[:])
	if key != "sha256/ba/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("ContentKey = %q", key)
	}
	if got, ok := storage.ParseContentKey(key); !ok || !bytes.Equal(got, sum[:]) {
		t.Fatalf("ParseContentKey = %x, %v", got, ok)
	}
	if err := storage.ValidateKey(key); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{
		"sha256/ba/78/BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		"sha256/bb/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"sha256/ba/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",
		"sha256/ba/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015zz",
		"docs/ba/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	} {
		if _, ok := storage.ParseContentKey(k); ok {
			t.Errorf("ParseContentKey(%q) accepted", k)
		}
	}
}

func TestVerifyingReader(t *testing.T) {
	data := []byte("genuine")
	sum := sha256.Sum256(data)
	rc := storage.NewVerifyingReader(io.NopCloser(iotest.OneByteReader(bytes.NewReader(data))), "k", sum[:])
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("genuine: %q, %v", got, err)
	}
	rc = storage.NewVerifyingReader(io.NopCloser(strings.NewReader("forged!")), "k", sum[:])
	_, err := io.ReadAll(rc)
	if !errors.Is(err, storage.ErrIntegrity) {
		t.Fatalf("forged: %v", err)
	}
	// The error sticks: a second read cannot turn it into a clean EOF.
	if _, err2 := rc.Read(make([]byte, 1)); !errors.Is(err2, storage.ErrIntegrity) {
		t.Fatalf("second read: %v", err2)
	}
}

func TestHashingReader(t *testing.T) {
	data := []byte("content")
	sum := sha256.Sum256(data)
	hr := storage.NewHashingReader(t.Context(), bytes.NewReader(data), "k", sum[:])
	if _, err := io.Copy(io.Discard, hr); err != nil || hr.Check() != nil || !bytes.Equal(hr.Sum(), sum[:]) || hr.N() != int64(len(data)) {
		t.Fatalf("match: %v %v %x %d", err, hr.Check(), hr.Sum(), hr.N())
	}
	hr = storage.NewHashingReader(t.Context(), strings.NewReader("other"), "k", sum[:])
	if _, err := io.Copy(io.Discard, hr); !errors.Is(err, storage.ErrDigestMismatch) || !errors.Is(hr.Check(), storage.ErrDigestMismatch) {
		t.Fatalf("mismatch: %v, %v", err, hr.Check())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	hr = storage.NewHashingReader(ctx, bytes.NewReader(data), "k", nil)
	if _, err := io.Copy(io.Discard, hr); !errors.Is(err, context.Canceled) || !errors.Is(hr.Check(), context.Canceled) {
		t.Fatalf("cancelled: %v, %v", err, hr.Check())
	}
	// An upload library that stops early must not be taken for success.
	hr = storage.NewHashingReader(t.Context(), bytes.NewReader(data), "k", nil)
	hr.Read(make([]byte, 2))
	if err := hr.Check(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("partial read: %v", err)
	}
}

func TestErrorKinds(t *testing.T) {
	err := storage.E("get", "a/b", storage.ErrNotExist, &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist})
	if !errors.Is(err, storage.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, os.ErrNotExist) {
		t.Fatal("not-exist error does not match fs.ErrNotExist")
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Fatal("cause not reachable with errors.As")
	}
	if got := err.Error(); got != "storage: get a/b: file does not exist: open x: file does not exist" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestClampTTLAndRange(t *testing.T) {
	if storage.ClampTTL(0) != storage.DefaultLinkTTL || storage.ClampTTL(-1) != storage.DefaultLinkTTL ||
		storage.ClampTTL(storage.MaxLinkTTL*2) != storage.MaxLinkTTL || storage.ClampTTL(storage.MaxLinkTTL/3) != storage.MaxLinkTTL/3 {
		t.Fatal("ClampTTL")
	}
	for _, c := range []struct{ size, off, n, want int64 }{
		{10, 0, -1, 10}, {10, 2, 3, 3}, {10, 8, 5, 2}, {0, 0, -1, 0}, {0, 0, 5, 0},
	} {
		if got, err := storage.ClipRange(c.size, c.off, c.n); err != nil || got != c.want {
			t.Errorf("ClipRange(%d,%d,%d) = %d, %v", c.size, c.off, c.n, got, err)
		}
	}
	for _, c := range [][3]int64{{10, 10, 1}, {10, 11, 1}, {10, -1, 1}, {0, 1, 1}} {
		if _, err := storage.ClipRange(c[0], c[1], c[2]); err == nil {
			t.Errorf("ClipRange%v accepted", c)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "attachment",
		"a.pdf":             "attachment; filename=a.pdf",
		"Quyết định 05.pdf": "attachment; filename*=utf-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%2005.pdf",
		"../../etc/passwd":  "attachment; filename=.._.._etc_passwd",
	} {
		if got := storage.ContentDisposition(in); got != want {
			t.Errorf("ContentDisposition(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegistryAndOpen(t *testing.T) {
	called := false
	storage.Register("test-scheme", func(ctx context.Context, u *url.URL, opts storage.OpenOptions) (storage.Store, error) {
		called = true
		if u.Host != "bucket" || u.Query().Get("x") != "1" {
			t.Errorf("opener got %v", u)
		}
		return nil, nil
	})
	if _, err := storage.Open(t.Context(), "TEST-SCHEME://bucket?x=1", storage.OpenOptions{}); err != nil || !called {
		t.Fatalf("Open: %v, called %v", err, called)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate Register did not panic")
			}
		}()
		storage.Register("test-scheme", func(context.Context, *url.URL, storage.OpenOptions) (storage.Store, error) { return nil, nil })
	}()
	for raw, why := range map[string]string{
		"":                         "empty",
		"nope://x":                 `no backend for scheme "nope"`,
		"test-scheme://u:p@bucket": "credentials in the URL",
		"test-scheme:opaque":       `"//"`,
		"test-scheme://%zz":        "invalid URL escape",
	} {
		_, err := storage.Open(t.Context(), raw, storage.OpenOptions{})
		if !errors.Is(err, storage.ErrInvalidURL) || !strings.Contains(err.Error(), why) {
			t.Errorf("Open(%q) = %v; want ErrInvalidURL naming %s", raw, err, why)
		}
		if err != nil && strings.Contains(err.Error(), ":p@") {
			t.Errorf("error leaks credentials: %v", err)
		}
	}
}

func TestEnv(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("from-file\n"), 0o600)
	env := map[string]string{"A": "direct", "B_FILE": secretFile, "C_FILE": "/nonexistent/secret"}
	o := storage.OpenOptions{Getenv: func(k string) string { return env[k] }}
	if v, err := o.Env("A"); v != "direct" || err != nil {
		t.Errorf("A = %q, %v", v, err)
	}
	if v, err := o.Env("B"); v != "from-file" || err != nil {
		t.Errorf("B = %q, %v", v, err)
	}
	if _, err := o.Env("C"); err == nil || !strings.Contains(err.Error(), "C_FILE") {
		t.Errorf("C: %v", err)
	}
	if v, err := o.Env("D"); v != "" || err != nil {
		t.Errorf("D = %q, %v", v, err)
	}
}

func TestVerifyingReaderCloseEarly(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1<<20)
	sum := sha256.Sum256(data)
	before := runtime.NumGoroutine()
	for range 50 {
		rc := storage.NewVerifyingReader(io.NopCloser(bytes.NewReader(data)), "k", sum[:])
		rc.Read(make([]byte, 100<<10))
		rc.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running after Close (had %d)", n, before)
	}
	// Large single reads are split into chunks and still verified.
	rc := storage.NewVerifyingReader(io.NopCloser(bytes.NewReader(data)), "k", sum[:])
	if got, err := io.ReadAll(rc); err != nil || len(got) != len(data) {
		t.Fatalf("ReadAll: %d, %v", len(got), err)
	}
	bad := append(bytes.Clone(data[:len(data)-1]), 'y')
	rc = storage.NewVerifyingReader(io.NopCloser(bytes.NewReader(bad)), "k", sum[:])
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, storage.ErrIntegrity) {
		t.Fatalf("last byte changed: %v", err)
	}
}

func TestHashingReaderAbandoned(t *testing.T) {
	data := bytes.Repeat([]byte("y"), 1<<20)
	before := runtime.NumGoroutine()
	for range 50 {
		hr := storage.NewHashingReader(t.Context(), bytes.NewReader(data), "k", nil)
		hr.Read(make([]byte, 100<<10))
		hr.Close()
	}
	// A read error stops hashing too.
	hr := storage.NewHashingReader(t.Context(), iotest.TimeoutReader(bytes.NewReader(data)), "k", nil)
	hr.Read(make([]byte, 10))
	if _, err := hr.Read(make([]byte, 10)); !errors.Is(err, iotest.ErrTimeout) || !errors.Is(hr.Check(), iotest.ErrTimeout) {
		t.Fatalf("read error: %v / %v", err, hr.Check())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running (had %d)", n, before)
	}
}
