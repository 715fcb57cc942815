package keyfile_test

import (
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"vanban/signing"
	"vanban/signing/keyfile"
)

// FuzzParse feeds arbitrary bytes to both parsers: a corrupt key file must
// give a typed error, never a panic.
func FuzzParse(f *testing.F) {
	k := mustPKI(f)
	p12, err := pkcs12.Modern.Encode(k.ecKey, k.ecLeaf, nil, "pw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p12)
	f.Add(certPEM(k.ecLeaf))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := keyfile.FromPKCS12(data, "pw", nil); err != nil && signing.KindOf(err) == 0 {
			t.Fatalf("untyped error from FromPKCS12: %v", err)
		}
		if _, err := keyfile.FromPEM(data, nil); err != nil && signing.KindOf(err) == 0 {
			t.Fatalf("untyped error from FromPEM: %v", err)
		}
	})
}
