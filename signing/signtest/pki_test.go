package signtest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestPKIChains checks the committed test PKI with Go's own X.509 code: every end-entity
// certificate chains to the CA for its purpose, and the CRL is signed by the CA and current.
func TestPKIChains(t *testing.T) {
	pki := TestPKI(t)
	ca := readCert(t, pki.CAPEM)
	if !ca.IsCA || ca.Subject.CommonName != "Vanban Test Root CA" {
		t.Fatalf("CA: %v", ca.Subject)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	now := time.Now()
	for _, tc := range []struct {
		path string
		cn   string
		eku  x509.ExtKeyUsage
	}{
		{pki.SignerPEM, "Nguyễn Văn Thử", x509.ExtKeyUsageEmailProtection},
		{pki.TSAPEM, "Vanban Test TSA", x509.ExtKeyUsageTimeStamping},
		{pki.OCSPPEM, "Vanban Test OCSP Responder", x509.ExtKeyUsageOCSPSigning},
	} {
		cert := readCert(t, tc.path)
		if cert.Subject.CommonName != tc.cn {
			t.Errorf("%s: CN %q, want %q", tc.path, cert.Subject.CommonName, tc.cn)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{tc.eku}}); err != nil {
			t.Errorf("%s: %v", tc.path, err)
		}
		if cert.NotAfter.Before(now.AddDate(10, 0, 0)) {
			t.Errorf("%s expires %v: committed signed files need a long-lived PKI", tc.path, cert.NotAfter)
		}
	}
	data, err := os.ReadFile(pki.CACRL)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("ca.crl is not PEM")
	}
	crl, err := x509.ParseRevocationList(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 0 || crl.NextUpdate.Before(now.AddDate(10, 0, 0)) {
		t.Errorf("CRL: %d revoked, next update %v", len(crl.RevokedCertificateEntries), crl.NextUpdate)
	}
}
