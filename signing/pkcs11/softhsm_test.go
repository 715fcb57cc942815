//go:build cgo

package pkcs11_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The SoftHSM2 fixture: one token directory per test binary, made in
// TestMain before the module is first loaded, because SoftHSM reads its
// configuration and token list at C_Initialize.
//
// Token "vanban" (user PIN 1234) holds:
//
//	seal-rsa  id 01  RSA-2048 key + certificate
//	seal-ec   id 02  P-256 key + certificate
//	nocert    id 03  RSA-2048 key, no certificate (its cert is in fx.nocertPEM)
//
// Token "other" (PIN 9999) holds seal-ec2 (id 02, P-256) with certificate,
// so token selection matters.
type fixture struct {
	module    string
	dir       string
	caPEM     string // the test CA, for cert=
	nocertPEM string // the leaf for "nocert" plus the CA
	rsaKey    *rsa.PrivateKey
	ecKey     *ecdsa.PrivateKey
	nocertKey *rsa.PrivateKey
	rsaCert   *x509.Certificate
	ecCert    *x509.Certificate
	ca        *x509.Certificate
}

var (
	fx    *fixture
	fxErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vanban-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fx, fxErr = setupSoftHSM(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// softHSM returns the fixture, or skips the test with the reason it could
// not be made; with VANBAN_REQUIRE_SERVICES=1 it fails instead.
func softHSM(tb testing.TB) *fixture {
	tb.Helper()
	if fxErr != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("SoftHSM2 fixture: %v", fxErr)
		}
		tb.Skipf("SoftHSM2 fixture unavailable (install softhsm2 and opensc): %v", fxErr)
	}
	return fx
}

func (f *fixture) uri(token, query string) string {
	return "pkcs11:token=" + token + "?module-path=" + f.module + "&" + query
}

func setupSoftHSM(dir string) (*fixture, error) {
	f := &fixture{dir: dir}
	f.module = os.Getenv("VANBAN_PKCS11_MODULE")
	if f.module == "" {
		for _, p := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so", "/usr/lib64/pkcs11/libsofthsm2.so"} {
			if _, err := os.Stat(p); err == nil {
				f.module = p
				break
			}
		}
	}
	if f.module == "" {
		return nil, errors.New("libsofthsm2.so not found (set VANBAN_PKCS11_MODULE)")
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		return nil, err
	}
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"), 0o600); err != nil {
		return nil, err
	}
	// The module in this process reads the same variable on C_Initialize.
	os.Setenv("SOFTHSM2_CONF", conf)

	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return nil
	}
	writeFile := func(name string, data []byte) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, data, 0o600)
	}
	importKey := func(token, pin, label, id string, key crypto.Signer, cert *x509.Certificate) error {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		keyFile, err := writeFile(label+"-"+token+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if err != nil {
			return err
		}
		if err := run(util, "--import", keyFile, "--token", token, "--label", label, "--id", id, "--pin", pin); err != nil {
			return err
		}
		if cert == nil {
			return nil
		}
		certFile, err := writeFile(label+"-"+token+".der", cert.Raw)
		if err != nil {
			return err
		}
		return run(tool, "--module", f.module, "--token-label", token, "--login", "--pin", pin,
			"--write-object", certFile, "--type", "cert", "--id", id, "--label", label)
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if f.ca, err = issue(1, "Vanban SoftHSM Test CA", true, caKey.Public(), nil, caKey); err != nil {
		return nil, err
	}
	if f.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if f.nocertKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if f.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	ec2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if f.rsaCert, err = issue(2, "Con dấu UBND Thử", false, f.rsaKey.Public(), f.ca, caKey); err != nil {
		return nil, err
	}
	if f.ecCert, err = issue(3, "Chữ ký EC", false, f.ecKey.Public(), f.ca, caKey); err != nil {
		return nil, err
	}
	nocertCert, err := issue(4, "Không có trên thẻ", false, f.nocertKey.Public(), f.ca, caKey)
	if err != nil {
		return nil, err
	}
	ec2Cert, err := issue(5, "Other token", false, ec2.Public(), f.ca, caKey)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.ca.Raw})
	if f.caPEM, err = writeFile("ca.pem", caPEM); err != nil {
		return nil, err
	}
	if f.nocertPEM, err = writeFile("nocert-chain.pem", append(caPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: nocertCert.Raw})...)); err != nil {
		return nil, err
	}

	if err := run(util, "--init-token", "--free", "--label", "vanban", "--pin", "1234", "--so-pin", "12345678"); err != nil {
		return nil, err
	}
	if err := run(util, "--init-token", "--free", "--label", "other", "--pin", "9999", "--so-pin", "12345678"); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		token, pin, label, id string
		key                   crypto.Signer
		cert                  *x509.Certificate
	}{
		{"vanban", "1234", "seal-rsa", "01", f.rsaKey, f.rsaCert},
		{"vanban", "1234", "seal-ec", "02", f.ecKey, f.ecCert},
		{"vanban", "1234", "nocert", "03", f.nocertKey, nil},
		{"other", "9999", "seal-ec2", "02", ec2, ec2Cert},
	} {
		if err := importKey(k.token, k.pin, k.label, k.id, k.key, k.cert); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func issue(serial int64, cn string, ca bool, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"Vanban Test"}, CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
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
