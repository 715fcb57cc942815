package storage_test

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"vanban/storage"
)

// FuzzValidateKey checks the property the backends rely on: an accepted key
// is a clean relative path that stays inside any root it is joined to.
func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{"a/b.pdf", "../x", "a/./b", "sha256/ab/cd/ef", "a\x00", "/abs", "a//b", ".x", "quyết định.pdf"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if storage.ValidateKey(key) != nil {
			return
		}
		if path.Clean(key) != key || path.IsAbs(key) || !utf8.ValidString(key) || strings.ContainsAny(key, "\x00\\") {
			t.Fatalf("accepted unclean key %q", key)
		}
		root := "/srv/blobs"
		if p := filepath.Join(root, filepath.FromSlash(key)); !strings.HasPrefix(p, root+"/") {
			t.Fatalf("key %q escapes the root: %s", key, p)
		}
		if storage.ValidatePrefix(key) != nil {
			t.Fatalf("valid key %q rejected as a prefix", key)
		}
	})
}

// FuzzParseContentKey: whatever parses must round-trip through ContentKey.
func FuzzParseContentKey(f *testing.F) {
	f.Add("sha256/ba/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
	f.Add("sha256/00/00/x")
	f.Fuzz(func(t *testing.T, key string) {
		sum, ok := storage.ParseContentKey(key)
		if !ok {
			return
		}
		if storage.ContentKey(sum) != key {
			t.Fatalf("ParseContentKey(%q) = %x, which maps back to %q", key, sum, storage.ContentKey(sum))
		}
	})
}
