package keyfile_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"vanban/signing"
	"vanban/signing/keyfile"
	"vanban/signing/providertest"
)

// TestConformance runs the provider suite on a key file opened by URI, RSA
// and EC, with forged signers built over lying keys.
func TestConformance(t *testing.T) {
	p := mustPKI(t)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		leaf *x509.Certificate
	}{{"RSA", p.rsaKey, p.rsaLeaf}, {"EC", p.ecKey, p.ecLeaf}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			der, err := x509.MarshalPKCS8PrivateKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			keyPath := write(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			certPath := write(t, dir, "chain.pem", certPEM(tc.leaf, p.inter, p.root))
			prov, err := signing.Open("file:"+keyPath+"?cert="+certPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			// The RSA certificate's impostor is the EC key: a signature
			// of the wrong kind must fail as surely as one by another key.
			var wrongReal crypto.Signer = other
			if tc.name == "RSA" {
				wrongReal = p.ecKey
			}
			wrong, err := signing.NewLocal(keyfile.Scheme, providertest.WrongKeySigner{Claimed: tc.key, Real: wrongReal}, []*x509.Certificate{tc.leaf})
			if err != nil {
				t.Fatal(err)
			}
			otherHash, err := signing.NewLocal(keyfile.Scheme, providertest.OtherHashSigner{Key: tc.key}, []*x509.Certificate{tc.leaf})
			if err != nil {
				t.Fatal(err)
			}
			providertest.Run(t, providertest.Harness{
				Provider:  prov,
				WrongKey:  providertest.Signer{Provider: wrong},
				OtherHash: providertest.Signer{Provider: otherHash},
			})
		})
	}
}
