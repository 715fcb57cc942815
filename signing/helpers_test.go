package signing_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"
)

// testKey is a key with a self-signed certificate for it.
type testKey struct {
	signer crypto.Signer
	cert   *x509.Certificate
}

var (
	keysOnce sync.Once
	rsaKey   testKey
	rsaKey2  testKey
	ecKey    testKey
	ecKey2   testKey
	keysErr  error
)

// keys generates the test keys once per test binary: RSA key generation is
// slow under -race and the tests need only a few keys.
func keys(tb testing.TB) (rsa1, rsa2, ec1, ec2 testKey) {
	tb.Helper()
	keysOnce.Do(func() {
		mk := func(s crypto.Signer, cn string) testKey {
			if keysErr != nil {
				return testKey{}
			}
			c, err := selfSigned(s, cn)
			if err != nil {
				keysErr = err
			}
			return testKey{signer: s, cert: c}
		}
		r1, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			keysErr = err
			return
		}
		r2, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			keysErr = err
			return
		}
		e1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		e2, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		rsaKey, rsaKey2 = mk(r1, "rsa one"), mk(r2, "rsa two")
		ecKey, ecKey2 = mk(e1, "ec one"), mk(e2, "ec two")
	})
	if keysErr != nil {
		tb.Fatalf("making test keys: %v", keysErr)
	}
	return rsaKey, rsaKey2, ecKey, ecKey2
}

func selfSigned(s crypto.Signer, cn string) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}
