package keyfile_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"vanban/signing"
	"vanban/signing/keyfile"
)

// pki is a three-level test hierarchy: root CA, intermediate CA, and two
// end-entity keys (RSA and EC) issued by the intermediate.
type pki struct {
	root, inter       *x509.Certificate
	rsaLeaf, ecLeaf   *x509.Certificate
	rsaKey            *rsa.PrivateKey
	ecKey             *ecdsa.PrivateKey
	rootKey, interKey *ecdsa.PrivateKey
}

var (
	pkiOnce sync.Once
	testPKI pki
	pkiErr  error
)

func mustPKI(tb testing.TB) pki {
	tb.Helper()
	pkiOnce.Do(func() { testPKI, pkiErr = makePKI() })
	if pkiErr != nil {
		tb.Fatalf("making test PKI: %v", pkiErr)
	}
	return testPKI
}

func makePKI() (p pki, err error) {
	now := time.Now()
	issue := func(serial int64, cn string, ca bool, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, error) {
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(serial),
			Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"Vanban Test"}, CommonName: cn},
			NotBefore:             now.Add(-time.Hour),
			NotAfter:              now.Add(48 * time.Hour),
			BasicConstraintsValid: true,
			IsCA:                  ca,
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		if ca {
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	if p.rootKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return p, err
	}
	if p.interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return p, err
	}
	if p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return p, err
	}
	if p.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return p, err
	}
	if p.root, err = issue(1, "Test Root", true, p.rootKey.Public(), nil, p.rootKey); err != nil {
		return p, err
	}
	if p.inter, err = issue(2, "Test Issuing CA", true, p.interKey.Public(), p.root, p.rootKey); err != nil {
		return p, err
	}
	if p.rsaLeaf, err = issue(3, "Con dấu Văn phòng", false, p.rsaKey.Public(), p.inter, p.interKey); err != nil {
		return p, err
	}
	p.ecLeaf, err = issue(4, "Nguyễn Văn A", false, p.ecKey.Public(), p.inter, p.interKey)
	return p, err
}

func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func write(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) signing.Env {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// signWith signs a digest through the provider and verifies the result
// against want, the certificate the caller expects to be the leaf.
func signWith(tb testing.TB, p signing.Provider, want *x509.Certificate) {
	tb.Helper()
	ctx := context.Background()
	chain, err := p.Certificates(ctx, "")
	if err != nil {
		tb.Fatal(err)
	}
	if !chain[0].Equal(want) {
		tb.Fatalf("leaf is %q, want %q", chain[0].Subject, want.Subject)
	}
	alg, err := signing.AlgorithmFor(chain[0])
	if err != nil {
		tb.Fatal(err)
	}
	d := sha256.Sum256([]byte("văn bản"))
	sig, err := signing.SignAndWait(ctx, p, chain[0], signing.Request{Digest: d[:], Hash: crypto.SHA256, Algorithm: alg}, signing.WaitOptions{MaxAttempts: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if err := signing.VerifySignature(want, crypto.SHA256, alg, d[:], sig); err != nil {
		tb.Fatal(err)
	}
}

func chainSubjects(tb testing.TB, p signing.Provider) []string {
	tb.Helper()
	chain, err := p.Certificates(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, c := range chain {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(signing.Schemes(), "file") {
		t.Fatalf("scheme file not registered: %v", signing.Schemes())
	}
}

func TestPKCS12MadeInGo(t *testing.T) {
	k := mustPKI(t)
	dir := t.TempDir()
	for name, enc := range map[string]*pkcs12.Encoder{"modern": pkcs12.Modern, "legacy": pkcs12.LegacyDES} {
		t.Run(name, func(t *testing.T) {
			data, err := enc.Encode(k.rsaKey, k.rsaLeaf, []*x509.Certificate{k.root, k.inter}, "mật khẩu")
			if err != nil {
				t.Fatal(err)
			}
			path := write(t, dir, name+".p12", data)
			p, err := signing.Open("file:"+path+"?pass-env=SEAL_PASS", envOf(map[string]string{"SEAL_PASS": "mật khẩu"}))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := p.(*signing.Local); !ok {
				t.Fatalf("provider is %T, want *signing.Local", p)
			}
			signWith(t, p, k.rsaLeaf)
			// The bundle listed root before intermediate; the chain must
			// still read leaf to root.
			if got, want := chainSubjects(t, p), []string{"Con dấu Văn phòng", "Test Issuing CA", "Test Root"}; !slices.Equal(got, want) {
				t.Fatalf("chain %q, want %q", got, want)
			}
		})
	}
}

func TestPKCS12PassFileAndRelativePath(t *testing.T) {
	k := mustPKI(t)
	dir := t.TempDir()
	data, err := pkcs12.Modern.Encode(k.ecKey, k.ecLeaf, []*x509.Certificate{k.inter}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "seal.p12", data)
	write(t, dir, "pass.txt", []byte("pw\n"))
	t.Chdir(dir)
	p, err := signing.Open("file:seal.p12?pass-file=pass.txt", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	signWith(t, p, k.ecLeaf)
	if got := chainSubjects(t, p); len(got) != 2 {
		t.Fatalf("chain %q", got)
	}
}

func TestPKCS12ExtraChainFromCertParam(t *testing.T) {
	k := mustPKI(t)
	dir := t.TempDir()
	// A bundle with only the leaf, and the CA chain in a separate file.
	data, err := pkcs12.Modern.Encode(k.ecKey, k.ecLeaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	p12 := write(t, dir, "leaf.p12", data)
	chain := write(t, dir, "chain.pem", certPEM(k.root, k.inter))
	p, err := keyfile.Open(mustParse(t, "file:"+p12+"?pass-env=P&cert="+chain), envOf(map[string]string{"P": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := chainSubjects(t, p), []string{"Nguyễn Văn A", "Test Issuing CA", "Test Root"}; !slices.Equal(got, want) {
		t.Fatalf("chain %q, want %q", got, want)
	}
}

func TestRepositoryTestPKI(t *testing.T) {
	// The committed test PKI was made by openssl (testdata/gen/make-pki.sh).
	p12 := filepath.Join("..", "..", "testdata", "corpus", "pki", "signer.p12")
	p, err := signing.Open("file:"+p12+"?pass-env=P", envOf(map[string]string{"P": "test"}))
	if err != nil {
		t.Fatal(err)
	}
	leafPEM, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", "pki", "signer.pem"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := keyfile.ParseCertificatesPEM(leafPEM)
	if err != nil {
		t.Fatal(err)
	}
	signWith(t, p, leaf[0])
}

func TestPEMKeyForms(t *testing.T) {
	k := mustPKI(t)
	dir := t.TempDir()
	pkcs8RSA, _ := x509.MarshalPKCS8PrivateKey(k.rsaKey)
	pkcs8EC, _ := x509.MarshalPKCS8PrivateKey(k.ecKey)
	sec1, _ := x509.MarshalECPrivateKey(k.ecKey)
	// The chain file lists the CAs before the leaf, as some CAs ship it.
	chain := write(t, dir, "chain.pem", certPEM(k.root, k.ecLeaf, k.inter, k.rsaLeaf))

	for _, tc := range []struct {
		name  string
		block *pem.Block
		leaf  *x509.Certificate
	}{
		{"pkcs8 rsa", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8RSA}, k.rsaLeaf},
		{"pkcs1 rsa", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsaKey)}, k.rsaLeaf},
		{"pkcs8 ec", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8EC}, k.ecLeaf},
		{"sec1 ec", &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}, k.ecLeaf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyPath := write(t, dir, strings.ReplaceAll(tc.name, " ", "-")+".pem", pem.EncodeToMemory(tc.block))
			p, err := signing.Open("file://"+keyPath+"?cert="+chain, envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			signWith(t, p, tc.leaf)
			got := chainSubjects(t, p)
			if len(got) != 4 || got[1] != "Test Issuing CA" || got[2] != "Test Root" {
				t.Fatalf("chain %q: want leaf, issuing CA, root, then the unrelated leaf", got)
			}
		})
	}
}

func TestPEMKeyAndCertInOneFile(t *testing.T) {
	k := mustPKI(t)
	sec1, _ := x509.MarshalECPrivateKey(k.ecKey)
	data := append(certPEM(k.ecLeaf, k.inter), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...)
	path := write(t, t.TempDir(), "seal.pem", data)
	p, err := signing.Open("file:"+path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	signWith(t, p, k.ecLeaf)
}

func TestErrors(t *testing.T) {
	k := mustPKI(t)
	dir := t.TempDir()
	p12data, err := pkcs12.Modern.Encode(k.rsaKey, k.rsaLeaf, nil, "right")
	if err != nil {
		t.Fatal(err)
	}
	p12 := write(t, dir, "seal.p12", p12data)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k.rsaKey)
	keyPEM := write(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	otherCert := write(t, dir, "other.pem", certPEM(k.ecLeaf, k.inter))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edPKCS8, _ := x509.MarshalPKCS8PrivateKey(edKey)
	edPEM := write(t, dir, "ed.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edPKCS8}))
	encPEM := write(t, dir, "enc.pem", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	legacyEnc := write(t, dir, "legacy-enc.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}))
	garbage := write(t, dir, "garbage.p12", []byte("this is not a key"))
	noKey := write(t, dir, "nokey.pem", certPEM(k.rsaLeaf))
	env := envOf(map[string]string{"GOOD": "right", "BAD": "wrong"})

	tests := []struct {
		name string
		uri  string
		kind signing.Kind
		is   error
		msg  string
	}{
		{"wrong password", "file:" + p12 + "?pass-env=BAD", signing.KindUnauthorized, keyfile.ErrWrongPassword, ""},
		{"no password", "file:" + p12, signing.KindUnauthorized, keyfile.ErrWrongPassword, "pass-env"},
		{"pass-env unset", "file:" + p12 + "?pass-env=UNSET", signing.KindBadRequest, nil, "UNSET"},
		{"missing key file", "file:" + filepath.Join(dir, "nope.p12") + "?pass-env=GOOD", signing.KindBadRequest, fs.ErrNotExist, "does not exist"},
		{"missing cert file", "file:" + keyPEM + "?cert=" + filepath.Join(dir, "nope.pem"), signing.KindBadRequest, fs.ErrNotExist, "does not exist"},
		{"key without cert", "file:" + keyPEM, signing.KindNoCertificate, nil, "cert="},
		{"key/cert mismatch", "file:" + keyPEM + "?cert=" + otherCert, signing.KindNoCertificate, nil, "matches"},
		{"cert file without certs", "file:" + keyPEM + "?cert=" + keyPEM, signing.KindNoCertificate, nil, ""},
		{"ed25519", "file:" + edPEM + "?cert=" + otherCert, signing.KindBadRequest, nil, "unsupported private key"},
		{"encrypted pkcs8", "file:" + encPEM, signing.KindBadRequest, nil, "encrypted"},
		{"encrypted legacy pem", "file:" + legacyEnc, signing.KindBadRequest, nil, "encrypted"},
		{"garbage", "file:" + garbage + "?pass-env=GOOD", signing.KindBadRequest, nil, "PKCS#12"},
		{"pem without key", "file:" + noKey, signing.KindBadRequest, nil, "no private key"},
		{"remote host", "file://example.com/seal.p12", signing.KindBadRequest, nil, "example.com"},
		{"empty path", "file:?pass-env=GOOD", signing.KindBadRequest, nil, "no path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := signing.Open(tt.uri, env)
			if err == nil {
				t.Fatalf("Open succeeded: %T", p)
			}
			if p != nil {
				t.Fatalf("Open returned a non-nil provider %T with its error", p)
			}
			var se *signing.Error
			if !errors.As(err, &se) || se.Kind != tt.kind || se.Provider != "file" {
				t.Fatalf("err = %v, want file: %v", err, tt.kind)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, does not wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.msg)
			}
		})
	}
}

// TestOpenSSLPKCS12 reads bundles made by the openssl command line, the way
// offices export keys from their CA's tools: the OpenSSL 3 default (AES-256,
// PBKDF2), the legacy 3DES form older Windows and Java versions write, and
// the -legacy RC2 form where the installed OpenSSL can still make it.
func TestOpenSSLPKCS12(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			t.Fatalf("openssl not found: %v", err)
		}
		t.Skipf("openssl not found (install openssl): %v", err)
	}
	k := mustPKI(t)
	dir := t.TempDir()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k.rsaKey)
	key := write(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	leaf := write(t, dir, "leaf.pem", certPEM(k.rsaLeaf))
	cas := write(t, dir, "cas.pem", certPEM(k.inter, k.root))

	for _, tc := range []struct {
		name     string
		args     []string
		optional bool
	}{
		{"default aes", nil, false},
		{"3des sha1", []string{"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"}, false},
		{"legacy rc2", []string{"-legacy"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".p12")
			args := append([]string{"pkcs12", "-export", "-inkey", key, "-in", leaf, "-certfile", cas, "-name", "seal", "-passout", "pass:Mat-khau 1", "-out", out}, tc.args...)
			if msg, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				if tc.optional {
					t.Skipf("this openssl cannot write %s: %v: %s", tc.name, err, msg)
				}
				t.Fatalf("openssl: %v: %s", err, msg)
			}
			p, err := signing.Open("file:"+out+"?pass-env=P", envOf(map[string]string{"P": "Mat-khau 1"}))
			if err != nil {
				t.Fatal(err)
			}
			signWith(t, p, k.rsaLeaf)
			if got := chainSubjects(t, p); len(got) != 3 || got[2] != "Test Root" {
				t.Fatalf("chain %q", got)
			}
			if _, err := signing.Open("file:"+out+"?pass-env=P", envOf(map[string]string{"P": "wrong"})); !errors.Is(err, keyfile.ErrWrongPassword) {
				t.Fatalf("wrong password: err = %v", err)
			}
		})
	}
}

func mustParse(tb testing.TB, raw string) *url.URL {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
