package providertest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"testing"
	"time"
)

// WrongKeySigner claims the public key of Claimed but signs with Real, as a
// token with a mixed-up certificate would. Harnesses of in-process
// providers build their WrongKey signer over it.
type WrongKeySigner struct {
	Claimed crypto.Signer
	Real    crypto.Signer
}

func (s WrongKeySigner) Public() crypto.PublicKey { return s.Claimed.Public() }

func (s WrongKeySigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.Real.Sign(r, digest, opts)
}

// OtherHashSigner signs another digest than it is given, with the right key.
type OtherHashSigner struct{ Key crypto.Signer }

func (s OtherHashSigner) Public() crypto.PublicKey { return s.Key.Public() }

func (s OtherHashSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	other := append([]byte(nil), digest...)
	other[0] ^= 0xff
	return s.Key.Sign(r, other, opts)
}

// SelfSigned returns a self-signed signing certificate for key, for
// harnesses that need a certificate and have no CA at hand.
func SelfSigned(t testing.TB, key crypto.Signer, cn string) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{Country: []string{"VN"}, Organization: []string{"vanban providertest"}, CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
