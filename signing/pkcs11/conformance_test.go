//go:build cgo

package pkcs11_test

import (
	"context"
	"crypto/x509"
	"testing"

	"vanban/signing"
	"vanban/signing/pkcs11"
	"vanban/signing/providertest"
)

// TestConformance runs the provider suite on SoftHSM2 keys, RSA and EC. The
// forged signers use the token's own keys: the RSA object's certificate
// over the EC object's key, and the right key signing another digest.
func TestConformance(t *testing.T) {
	f := softHSM(t)
	rsaP := openProvider(t, f.uri("vanban;object=seal-rsa", "pin-value=1234&cert="+f.caPEM))
	ecP := openProvider(t, f.uri("vanban;object=seal-ec", "pin-value=1234&cert="+f.caPEM))
	for _, tc := range []struct {
		name        string
		p, impostor *pkcs11.Provider
	}{{"RSA", rsaP, ecP}, {"EC", ecP, rsaP}} {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := tc.p.Certificates(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			leaf := []*x509.Certificate{chain[0]}
			wrong, err := signing.NewLocal(pkcs11.Scheme, providertest.WrongKeySigner{Claimed: tc.p.Key(), Real: tc.impostor.Key()}, leaf)
			if err != nil {
				t.Fatal(err)
			}
			otherHash, err := signing.NewLocal(pkcs11.Scheme, providertest.OtherHashSigner{Key: tc.p.Key()}, leaf)
			if err != nil {
				t.Fatal(err)
			}
			providertest.Run(t, providertest.Harness{
				Provider:  tc.p,
				WrongKey:  providertest.Signer{Provider: wrong},
				OtherHash: providertest.Signer{Provider: otherHash},
			})
		})
	}
}
