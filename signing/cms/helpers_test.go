package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testPKI is a root, an intermediate and leaves for each key type,
// generated once per test binary (RSA key generation is slow).
type testPKI struct {
	root, inter       *x509.Certificate
	rootKey, interKey crypto.Signer
	rsaLeaf, ecLeaf   *x509.Certificate
	rsaKey, ecKey     crypto.Signer
	otherRSAKey       crypto.Signer
	otherRSALeaf      *x509.Certificate
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

func mustPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newTestPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

func newTestPKI() (*testPKI, error) {
	p := &testPKI{}
	var err error
	now := time.Now()
	issue := func(tmpl *x509.Certificate, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, error) {
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	ca := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"Vanban CMS Test"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
	}
	leaf := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"Ủy ban nhân dân"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
	}
	if p.rootKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.root, err = issue(ca(1, "CMS Test Root"), p.rootKey, nil, nil); err != nil {
		return nil, err
	}
	if p.interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.inter, err = issue(ca(2, "CMS Test Issuing CA"), p.interKey, p.root, p.rootKey); err != nil {
		return nil, err
	}
	if p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if p.rsaLeaf, err = issue(leaf(10, "Nguyễn Văn Á"), p.rsaKey, p.inter, p.interKey); err != nil {
		return nil, err
	}
	if p.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.ecLeaf, err = issue(leaf(11, "Trần Thị Bích"), p.ecKey, p.inter, p.interKey); err != nil {
		return nil, err
	}
	if p.otherRSAKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if p.otherRSALeaf, err = issue(leaf(12, "Lê Văn Khác"), p.otherRSAKey, p.inter, p.interKey); err != nil {
		return nil, err
	}
	return p, nil
}

func writePEM(t *testing.T, path string, certs ...*x509.Certificate) {
	t.Helper()
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// requireTool returns the path of an external tool, skipping the test
// when it is missing unless VANBAN_REQUIRE_SERVICES=1.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s not found and VANBAN_REQUIRE_SERVICES=1: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// opensslVerify runs `openssl cms -verify` on a detached signature and
// returns its combined output and error.
func opensslVerify(t *testing.T, sig, content []byte, roots ...*x509.Certificate) ([]byte, error) {
	t.Helper()
	bin := requireTool(t, "openssl")
	dir := t.TempDir()
	sigPath, dataPath, caPath := filepath.Join(dir, "sig.der"), filepath.Join(dir, "data.bin"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(sigPath, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dataPath, content, 0o600); err != nil {
		t.Fatal(err)
	}
	writePEM(t, caPath, roots...)
	cmd := exec.Command(bin, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigPath,
		"-content", dataPath, "-CAfile", caPath, "-purpose", "any", "-out", os.DevNull)
	return cmd.CombinedOutput()
}
