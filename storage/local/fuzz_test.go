package local_test

import (
	"net/url"
	"testing"
	"time"

	"vanban/storage"
	"vanban/storage/local"
)

// FuzzVerifyLink: arbitrary paths and queries never panic, and nothing is
// accepted without the secret's signature.
func FuzzVerifyLink(f *testing.F) {
	f.Add("/blobs/a/b.pdf", "exp=1700000000&sig=AAAA&filename=x.pdf")
	f.Add("/blobs/../etc/passwd", "exp=&sig=")
	f.Add("/blobs/a", "exp=99999999999999999999&sig=%00")
	secret := []byte("fuzz secret of at least 32 bytes")
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		key, err := local.VerifyLink(secret, path, q, now)
		if err == nil {
			t.Fatalf("forged link accepted: path %q query %q -> key %q", path, rawQuery, key)
		}
		if storage.ValidateKey(key) == nil && key != "" {
			t.Fatalf("rejected link still returned key %q", key)
		}
	})
}
