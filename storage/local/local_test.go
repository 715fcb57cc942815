package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/storage"
	"vanban/storage/local"
	"vanban/storage/storagetest"
)

// harness adds the test-only hooks the suite needs to a real store.
type harness struct{ *local.Store }

// Corrupt flips the first byte of the content file in place, keeping its
// size and the sidecar, as bit rot would.
func (h harness) Corrupt(t testing.TB, key string) {
	t.Helper()
	p := filepath.Join(h.Dir(), "objects", filepath.FromSlash(key))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func newStore(t *testing.T) *local.Store {
	t.Helper()
	s, err := local.New(t.TempDir(), local.Options{LinkSecret: []byte("test secret, 32 bytes or longer!")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Every operation, failed ones included, must leave no temp file.
		if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(entries) > 0 {
			t.Errorf("leftover temp files: %v", entries)
		}
		s.Close()
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return harness{newStore(t)} })
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	for _, raw := range []string{"file://" + dir, "file://localhost" + dir, dir} {
		s, err := storage.Open(t.Context(), raw, storage.OpenOptions{})
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if _, ok := s.(*local.Store); !ok {
			t.Fatalf("Open(%q) = %T", raw, s)
		}
		s.(*local.Store).Close()
	}
	for raw, why := range map[string]string{
		"file://host" + dir:       "host",
		"file:relative":           `"//"`,
		"file://" + dir + "?x=1":  `"x"`,
		"ftp://example.com/blobs": `scheme "ftp"`,
	} {
		_, err := storage.Open(t.Context(), raw, storage.OpenOptions{})
		if !errors.Is(err, storage.ErrInvalidURL) || !strings.Contains(err.Error(), why) {
			t.Errorf("Open(%q) = %v; want ErrInvalidURL naming %s", raw, err, why)
		}
	}
	// A relative plain path is resolved against the working directory.
	t.Chdir(dir)
	s, err := storage.Open(t.Context(), "blobs", storage.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.(*local.Store).Close()
	if got := s.(*local.Store).Dir(); got != filepath.Join(dir, "blobs") {
		t.Fatalf("Dir = %q", got)
	}
}

func TestLayout(t *testing.T) {
	s := newStore(t)
	obj, err := s.Put(t.Context(), "a/b.pdf", strings.NewReader("content"), storage.PutOptions{ContentType: "application/pdf", RetainUntil: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(), "objects", "a", "b.pdf"))
	if err != nil || string(b) != "content" {
		t.Fatalf("content file: %q, %v", b, err)
	}
	m, err := os.ReadFile(filepath.Join(s.Dir(), "meta", "a", "b.pdf"))
	if err != nil || !bytes.Contains(m, []byte(`"sha256":"ed7002b439e9ac845f22357d822bac1444730fbdb6016d3ec9432297b9ec9f73"`)) || !bytes.Contains(m, []byte("retain_until")) {
		t.Fatalf("sidecar: %s, %v", m, err)
	}
	// Retention lives in the sidecar, which survives a reopen.
	s2, err := local.New(s.Dir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Delete(t.Context(), obj.Key); !errors.Is(err, storage.ErrRetained) {
		t.Fatalf("Delete after reopen: %v", err)
	}
}

func TestSymlinkEscape(t *testing.T) {
	s := newStore(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Dir(), "objects", "link")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(t.Context(), "link/secret"); err == nil {
		t.Fatal("Get followed a symlink out of the root")
	}
	if _, err := s.Put(t.Context(), "link/new", strings.NewReader("x"), storage.PutOptions{}); err == nil {
		t.Fatal("Put wrote through a symlink out of the root")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file created outside the root: %v", err)
	}
}

func TestMissingSidecar(t *testing.T) {
	// Content without sidecar (left by a crash between the renames) is
	// served unverified, and a content-addressed re-put records it.
	s := newStore(t)
	data := []byte("orphan")
	obj, err := s.PutContentAddressed(t.Context(), bytes.NewReader(data), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.Dir(), "meta", filepath.FromSlash(obj.Key))); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(t.Context(), obj.Key)
	if err != nil || st.SHA256 != nil || st.ContentType != "application/octet-stream" {
		t.Fatalf("Stat without sidecar: %+v, %v", st, err)
	}
	// The content key still proves the content.
	if err := storage.Verify(t.Context(), s, obj.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutContentAddressed(t.Context(), bytes.NewReader(data), storage.PutOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stat(t.Context(), obj.Key); st.SHA256 == nil || st.ContentType != "text/plain" {
		t.Fatalf("sidecar not restored: %+v", st)
	}
}

func TestVerifyLink(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	s, err := local.New(t.TempDir(), local.Options{LinkSecret: secret, LinkBaseURL: "https://vanban.example/"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), "docs/a b.pdf", strings.NewReader("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	link, err := s.PresignGet(t.Context(), "docs/a b.pdf", time.Minute, "tệp.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "https://vanban.example/blobs/docs/a%20b.pdf?") {
		t.Fatalf("link %q", link)
	}
	u, _ := url.Parse(link)
	now := time.Now()
	key, err := local.VerifyLink(secret, u.Path, u.Query(), now)
	if err != nil || key != "docs/a b.pdf" {
		t.Fatalf("VerifyLink = %q, %v", key, err)
	}
	if _, err := local.VerifyLink(secret, u.Path, u.Query(), now.Add(2*time.Minute)); !errors.Is(err, local.ErrLinkExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := local.VerifyLink([]byte("another secret"), u.Path, u.Query(), now); !errors.Is(err, local.ErrBadLink) {
		t.Fatalf("other secret: %v", err)
	}
	for name, mutate := range map[string]func(p *string, q url.Values){
		"no prefix":   func(p *string, q url.Values) { *p = strings.TrimPrefix(*p, "/blobs") },
		"traversal":   func(p *string, q url.Values) { *p = "/blobs/../etc/passwd" },
		"exp changed": func(p *string, q url.Values) { q.Set("exp", "99999999999") },
		"exp garbage": func(p *string, q url.Values) { q.Set("exp", "soon") },
		"no sig":      func(p *string, q url.Values) { q.Del("sig") },
		"sig garbage": func(p *string, q url.Values) { q.Set("sig", "!!") },
		"repeated":    func(p *string, q url.Values) { q.Add("filename", "evil.exe") },
		"filename":    func(p *string, q url.Values) { q.Set("filename", "evil.exe") },
	} {
		p, q := u.Path, u.Query()
		mutate(&p, q)
		if _, err := local.VerifyLink(secret, p, q, now); !errors.Is(err, local.ErrBadLink) {
			t.Errorf("%s: VerifyLink = %v, want ErrBadLink", name, err)
		}
	}
}

func TestPutIntoObjectPath(t *testing.T) {
	// "a" is an object, so "a/b" cannot be one on a file system; the error
	// must be clean and leave nothing behind.
	s := newStore(t)
	if _, err := s.Put(t.Context(), "a", strings.NewReader("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "a/b", strings.NewReader("y"), storage.PutOptions{}); err == nil {
		t.Fatal("Put under an object succeeded")
	}
	if _, err := s.Stat(t.Context(), "a/b"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat(a/b) = %v", err)
	}
	if _, err := s.Stat(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
}

func TestGetAfterClose(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", strings.NewReader("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := io.ReadAll(rc); err == nil {
		t.Fatal("read after Close succeeded")
	}
}

func TestHealCorrupted(t *testing.T) {
	// Putting the genuine content again repairs a corrupted content key,
	// even under retention: the new bytes are proven by the key.
	s := newStore(t)
	data := []byte("genuine decision")
	obj, err := s.PutContentAddressed(t.Context(), bytes.NewReader(data), storage.PutOptions{RetainUntil: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	harness{s}.Corrupt(t, obj.Key)
	if err := storage.Verify(t.Context(), s, obj.Key); !errors.Is(err, storage.ErrIntegrity) {
		t.Fatalf("Verify after corruption: %v", err)
	}
	again, err := s.PutContentAddressed(t.Context(), bytes.NewReader(data), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Verify(t.Context(), s, obj.Key); err != nil {
		t.Fatalf("after re-put, Verify: %v", err)
	}
	if !again.RetainUntil.Equal(obj.RetainUntil) {
		t.Fatalf("healing changed retention from %v to %v", obj.RetainUntil, again.RetainUntil)
	}
}
