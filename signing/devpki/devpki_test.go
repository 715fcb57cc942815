package devpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"vanban/signing/tsa"
)

// serve starts the PKI's handler on a test server whose URL the
// certificates carry.
func serve(t *testing.T, dir string) (*PKI, *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New("http://"+ln.Addr().String(), dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: p.Handler()}}
	srv.Start()
	t.Cleanup(srv.Close)
	return p, srv
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s not found and VANBAN_REQUIRE_SERVICES=1: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

func writePEM(t *testing.T, path string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIssueSigner(t *testing.T) {
	p, err := New("http://pki.example:8080/", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cn, org, keyType string
		usage            Usage
	}{
		{"Nguyễn Văn Quyết", "Ủy ban nhân dân tỉnh Thừa Thiên Huế", KeyRSA2048, Person},
		{"Sở Tài chính tỉnh Đắk Lắk", "Sở Tài chính tỉnh Đắk Lắk", KeyP256, Organization},
	}
	for _, c := range cases {
		key, chain, err := p.IssueSigner(c.cn, c.org, c.keyType, c.usage)
		if err != nil {
			t.Fatal(err)
		}
		cert := chain[0]
		if len(chain) != 2 || !chain[1].Equal(p.Issuing()) {
			t.Fatal("chain is not [signer, issuing]")
		}
		if cert.Subject.CommonName != c.cn || cert.Subject.Organization[0] != c.org {
			t.Fatalf("subject did not round-trip: %q / %q", cert.Subject.CommonName, cert.Subject.Organization)
		}
		// The CN is a UTF8String (tag 12) holding the UTF-8 bytes.
		if !bytes.Contains(cert.RawSubject, append([]byte{0x0c, byte(len(c.cn))}, c.cn...)) {
			t.Fatal("common name is not encoded as UTF8String")
		}
		type equaler interface{ Equal(crypto.PublicKey) bool }
		if !key.Public().(equaler).Equal(cert.PublicKey) {
			t.Fatal("key does not match certificate")
		}
		switch c.keyType {
		case KeyRSA2048:
			if k, ok := key.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
				t.Fatal("not an RSA-2048 key")
			}
		case KeyP256:
			if _, ok := key.(*ecdsa.PrivateKey); !ok {
				t.Fatal("not an EC key")
			}
		}
		if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
			t.Fatalf("key usage %v", cert.KeyUsage)
		}
		if cert.OCSPServer[0] != "http://pki.example:8080/pki/ocsp" || cert.CRLDistributionPoints[0] != "http://pki.example:8080/pki/crl/issuing.crl" {
			t.Fatalf("AIA/CRL DP: %v %v", cert.OCSPServer, cert.CRLDistributionPoints)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: p.Roots(), Intermediates: pool(chain[1:]...),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}); err != nil {
			t.Fatalf("chain: %v", err)
		}
	}
	if _, _, err := p.IssueSigner("x", "y", "rsa1024", Person); err == nil {
		t.Fatal("rsa1024 accepted")
	}
	if _, _, err := p.IssueSigner(" ", "y", KeyP256, Person); err == nil {
		t.Fatal("empty name accepted")
	}
	if _, _, err := p.IssueSigner("x", "y", KeyP256, 0); err == nil {
		t.Fatal("zero usage accepted")
	}
	if _, err := New("pki.example", ""); err == nil {
		t.Fatal("relative base URL accepted")
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func TestInfrastructureCertificates(t *testing.T) {
	p, err := New("http://localhost:8080", "")
	if err != nil {
		t.Fatal(err)
	}
	tsaCert := p.TSAChain()[0]
	var ekuCritical bool
	for _, e := range tsaCert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			ekuCritical = e.Critical
		}
	}
	if !ekuCritical || len(tsaCert.ExtKeyUsage) != 1 || tsaCert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
		t.Fatal("TSA certificate needs a critical timeStamping-only EKU")
	}
	oc := p.OCSPCertificate()
	var noCheck bool
	for _, e := range oc.Extensions {
		noCheck = noCheck || e.Id.Equal(oidOCSPNoCheck)
	}
	if !noCheck || len(oc.ExtKeyUsage) != 1 || oc.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
		t.Fatal("OCSP certificate needs OCSPSigning and ocsp-nocheck")
	}
	if !p.Issuing().IsCA || p.Issuing().MaxPathLen != 0 || !p.Issuing().MaxPathLenZero {
		t.Fatal("issuing CA constraints")
	}
	if err := p.Issuing().CheckSignatureFrom(p.Root()); err != nil {
		t.Fatal(err)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	p1, err := New("http://a.example", dir)
	if err != nil {
		t.Fatal(err)
	}
	_, chain, err := p1.IssueSigner("Phạm Thị Lan", "Văn phòng", KeyP256, Person)
	if err != nil {
		t.Fatal(err)
	}
	if err := p1.Revoke(chain[0].SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, stateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	p2, err := New("http://a.example", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Root().Equal(p1.Root()) || !p2.Issuing().Equal(p1.Issuing()) || !p2.TSAChain()[0].Equal(p1.TSAChain()[0]) {
		t.Fatal("reload changed the CA")
	}
	crlDER, err := p2.CRL("issuing")
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(chain[0].SerialNumber) != 0 ||
		crl.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Fatal("revocation lost on reload")
	}
	if err := crl.CheckSignatureFrom(p2.Issuing()); err != nil {
		t.Fatal(err)
	}
	// A new base URL keeps the root and keys but re-issues the URLs.
	p3, err := New("http://b.example", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !p3.Root().Equal(p1.Root()) || p3.Issuing().Equal(p1.Issuing()) || p3.Issuing().OCSPServer[0] != "http://b.example/pki/ocsp" {
		t.Fatal("base URL change not handled")
	}
	// The old signer still chains through the re-issued CA (same name and key).
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: p3.Roots(), Intermediates: pool(p3.Issuing()), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatal(err)
	}
	if err := p3.Revoke(chain[0].SerialNumber, 7); err == nil {
		t.Fatal("reason 7 accepted")
	}
	if err := p3.Revoke(new(big.Int).Add(p3.Root().SerialNumber, chain[0].SerialNumber), 0); err != ErrUnknownSerial {
		t.Fatalf("unknown serial: %v", err)
	}
	// A damaged state file is an error, not a fresh CA.
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New("http://b.example", dir); err == nil {
		t.Fatal("damaged state accepted")
	}
}

func ocspQuery(t *testing.T, srv *httptest.Server, cert, issuer *x509.Certificate, get bool) *ocsp.Response {
	t.Helper()
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	if get {
		resp, err = http.Get(srv.URL + "/pki/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
	} else {
		resp, err = http.Post(srv.URL+"/pki/ocsp", "application/ocsp-request", bytes.NewReader(req))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOCSPAndCRLOverHTTP(t *testing.T) {
	p, srv := serve(t, "")
	_, chain, err := p.IssueSigner("Hoàng Văn Nam", "UBND", KeyP256, Person)
	if err != nil {
		t.Fatal(err)
	}
	for _, get := range []bool{false, true} {
		if r := ocspQuery(t, srv, chain[0], p.Issuing(), get); r.Status != ocsp.Good || !r.Certificate.Equal(p.OCSPCertificate()) {
			t.Fatalf("status %d", r.Status)
		}
	}
	// The root answers for the issuing CA itself.
	if r := ocspQuery(t, srv, p.Issuing(), p.Root(), false); r.Status != ocsp.Good {
		t.Fatalf("issuing CA status %d", r.Status)
	}
	if err := p.Revoke(chain[0].SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	r := ocspQuery(t, srv, chain[0], p.Issuing(), true)
	if r.Status != ocsp.Revoked || r.RevocationReason != 1 {
		t.Fatalf("after revoke: status %d reason %d", r.Status, r.RevocationReason)
	}
	// A serial this CA never issued is unknown, not good.
	_, other, _ := p.IssueSigner("Khác", "", KeyP256, Person)
	other0 := *other[0]
	other0.SerialNumber = new(big.Int).Lsh(other0.SerialNumber, 1)
	if r := ocspQuery(t, srv, &other0, p.Issuing(), false); r.Status != ocsp.Unknown {
		t.Fatalf("unknown serial: status %d", r.Status)
	}
	// Malformed request.
	resp, err := http.Post(srv.URL+"/pki/ocsp", "application/ocsp-request", strings.NewReader("junk"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, ocsp.MalformedRequestErrorResponse) {
		t.Fatalf("junk request: %x", body)
	}
	// CRL over HTTP.
	resp, err = http.Get(srv.URL + "/pki/crl/issuing.crl")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	crl, err := x509.ParseRevocationList(body)
	if err != nil || crl.CheckSignatureFrom(p.Issuing()) != nil || len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("CRL: %v", err)
	}
	// Root PEM.
	resp, err = http.Get(srv.URL + "/pki/root.pem")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if blk, _ := pem.Decode(body); blk == nil || !bytes.Equal(blk.Bytes, p.Root().Raw) {
		t.Fatal("root.pem")
	}
}

func TestTSAOverHTTP(t *testing.T) {
	p, srv := serve(t, "")
	sum := sha256.Sum256([]byte("chữ ký"))
	c := &tsa.Client{URL: p.TSAURL(), HTTPClient: srv.Client()}
	token, err := c.Timestamp(context.Background(), sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tsa.Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.VerifyChain(p.Roots()); err != nil {
		t.Fatal(err)
	}
	if !tok.Policy.Equal(TSAPolicy) {
		t.Fatal("policy")
	}
}

func TestOpenSSLOCSPAndCRL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	p, srv := serve(t, "")
	_, chain, err := p.IssueSigner("Đỗ Minh Tuấn", "Sở Nội vụ", KeyRSA2048, Person)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root := writePEM(t, filepath.Join(dir, "root.pem"), p.Root())
	issuing := writePEM(t, filepath.Join(dir, "issuing.pem"), p.Issuing())
	signer := writePEM(t, filepath.Join(dir, "signer.pem"), chain[0])
	ocspCmd := func() (string, error) {
		out, err := exec.Command(openssl, "ocsp", "-issuer", issuing, "-cert", signer, "-url", srv.URL+"/pki/ocsp",
			"-CAfile", root, "-verify_other", issuing).CombinedOutput()
		return string(out), err
	}
	out, err := ocspCmd()
	if err != nil || !strings.Contains(out, "Response verify OK") || !strings.Contains(out, signer+": good") {
		t.Fatalf("openssl ocsp: %v\n%s", err, out)
	}
	crlPath := filepath.Join(dir, "issuing.crl")
	fetchCRL := func() {
		resp, err := http.Get(srv.URL + "/pki/crl/issuing.crl")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if err := os.WriteFile(crlPath, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verify := func() (string, error) {
		out, err := exec.Command(openssl, "verify", "-crl_check", "-CRLfile", crlPath, "-CAfile", root, "-untrusted", issuing, "-purpose", "any", signer).CombinedOutput()
		return string(out), err
	}
	fetchCRL()
	if out, err := verify(); err != nil {
		t.Fatalf("openssl verify -crl_check: %v\n%s", err, out)
	}
	if err := p.Revoke(chain[0].SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	out, err = ocspCmd()
	if err != nil || !strings.Contains(out, "Response verify OK") || !strings.Contains(out, signer+": revoked") {
		t.Fatalf("openssl ocsp after revoke: %v\n%s", err, out)
	}
	fetchCRL()
	if out, err := verify(); err == nil || !strings.Contains(out, "revoked") {
		t.Fatalf("openssl verify accepted a revoked certificate: %v\n%s", err, out)
	}
}

func TestConcurrentIssueKeepsState(t *testing.T) {
	dir := t.TempDir()
	p, err := New("http://c.example", dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	serials := make(chan *big.Int, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, chain, err := p.IssueSigner("Người ký", "", KeyP256, Person)
			if err != nil {
				errs <- err
				return
			}
			serials <- chain[0].SerialNumber
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(serials)
	p2, err := New("http://c.example", dir)
	if err != nil {
		t.Fatal(err)
	}
	for s := range serials {
		if err := p2.Revoke(s, 0); err != nil {
			t.Fatalf("serial %x lost from the saved state: %v", s, err)
		}
	}
}
