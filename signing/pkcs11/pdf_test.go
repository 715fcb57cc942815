//go:build cgo

package pkcs11_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"vanban/signing"
	"vanban/signing/pades"
	"vanban/signing/signtest"
	"vanban/signing/verify"
)

// TestSignPDFWithSoftHSM signs a real PDF with keys that never leave
// SoftHSM2 (an office seal on a token), through the provider registry and
// the PAdES engine, and checks the result with our validator, pdfsig and
// openssl against the fixture's CA.
func TestSignPDFWithSoftHSM(t *testing.T) {
	f := softHSM(t)
	signtest.RequireTool(t, "pdfsig")
	orig, err := os.ReadFile(signtest.CorpusFileNamed(t, "libreoffice-form.pdf").Path)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(f.ca)
	for _, tc := range []struct {
		object string
		cn     string
		pss    bool
	}{
		{"seal-rsa", "Con dấu UBND Thử", false},
		{"seal-rsa", "Con dấu UBND Thử", true},
		{"seal-ec", "Chữ ký EC", false},
	} {
		name := tc.object
		if tc.pss {
			name += "-pss"
		}
		t.Run(name, func(t *testing.T) {
			t.Setenv("VANBAN_TEST_PIN", "1234")
			p, err := signing.Open(f.uri("vanban;object="+tc.object, "pin-env=VANBAN_TEST_PIN&cert="+f.caPEM), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.(signing.Closer).Close()
			var out bytes.Buffer
			err = pades.SignWith(context.Background(), bytes.NewReader(orig), int64(len(orig)), &out, p, "",
				pades.Options{Reason: "Đóng dấu", PSS: tc.pss}, signing.WaitOptions{MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}

			rep, err := verify.Verify(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()), verify.Options{Roots: roots})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Signatures) != 1 {
				t.Fatalf("%d signatures", len(rep.Signatures))
			}
			s := rep.Signatures[0]
			if s.Indication != verify.TotalPassed || s.Signer == nil || s.Signer.CommonName != tc.cn || s.Level != "B-B" {
				t.Fatalf("report: %s/%s level %q signer %+v errors %v", s.Indication, s.SubIndication, s.Level, s.Signer, s.Errors)
			}

			path := filepath.Join(t.TempDir(), "sealed.pdf")
			if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			res := signtest.PDFSig(t, path, f.caPEM)
			if len(res) != 1 || !res[0].SignatureValid() || !res[0].CertificateTrusted() || !res[0].TotalDocumentSigned {
				t.Fatalf("pdfsig: %+v", res)
			}
			if err := signtest.OpenSSLVerifyLastSignature(t, path, f.caPEM); err != nil {
				t.Error(err)
			}
		})
	}
}
