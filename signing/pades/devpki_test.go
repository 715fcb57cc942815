package pades

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http/httptest"
	"testing"

	"vanban/signing/devpki"
	"vanban/signing/signtest"
	"vanban/signing/tsa"
)

// startDevPKI serves a fresh development PKI (CA, OCSP responder, CRLs,
// TSA) on an httptest server.
func startDevPKI(t *testing.T) (*devpki.PKI, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().(*net.TCPAddr).String()
	p, err := devpki.New(base, "")
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return p, srv
}

// TestDevPKIBLTA signs at B-LTA against the development PKI: real OCSP and
// CRL fetched over HTTP by signing/revocation, real TSA, then checks the
// result with pdfsig (trusting the dev root), qpdf, openssl, and the DSS
// content; and refuses B-LT for a revoked signer.
func TestDevPKIBLTA(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	ctx := context.Background()
	p, srv := startDevPKI(t)
	rootPEM := writeTemp(t, "devroot.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root().Raw}))
	key, chain, err := p.IssueSigner("Lê Văn Lãnh Đạo", "UBND tỉnh Thành Long", devpki.KeyRSA2048, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	client := &tsa.Client{URL: p.TSAURL(), HTTPClient: srv.Client()}
	collect := CollectRevocation(p.Roots(), srv.Client())
	orig := readFile(t, signtest.CorpusFileNamed(t, "libreoffice-form.pdf").Path)

	var out bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &out, key, chain, Options{Level: LevelBLTA, TSA: client, Revocation: collect}); err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "devpki-lta.pdf", out.Bytes())
	res := signtest.PDFSig(t, path, rootPEM)
	// pdfsig's certificate verdict is not asserted: NSS follows the dev
	// certificates' AIA to the delegated OCSP responder and reports an
	// "Unknown issue" it does not explain. openssl checks the chain below.
	if len(res) < 2 || !res[0].SignatureValid() || len(res[0].Ranges) != 2 {
		t.Fatalf("pdfsig: %+v", res)
	}
	// The signed revision (up to the end of the signature's byte range)
	// verifies with openssl against the dev root.
	end := res[0].Ranges[1][1]
	signedRev := writeTemp(t, "devpki-signed-revision.pdf", out.Bytes()[:end])
	if err := signtest.OpenSSLVerifyLastSignature(t, signedRev, rootPEM); err != nil {
		t.Error(err)
	}
	if err := signtest.QPDFCheck(t, path); err != nil {
		t.Error(err)
	}
	checkDocTimestamp(t, path, rootPEM)
	dss := readDSS(t, out.Bytes())
	// Signer and TSA: leaf + issuing + root, OCSP responder certificate;
	// OCSP for both leaves; CRL or OCSP for the issuing CA.
	if dss.certs < 4 || dss.ocsps < 2 {
		t.Errorf("DSS has %d certs, %d OCSPs, %d CRLs", dss.certs, dss.ocsps, dss.crls)
	}
	if !dss.vri[dss.sigKeys[0]] {
		t.Errorf("no VRI for the signature")
	}

	// A revoked signer cannot reach B-LT.
	if err := p.Revoke(chain[0].SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &out, key, chain, Options{Level: LevelBLT, TSA: client, Revocation: collect})
	if !errors.Is(err, ErrRevocation) {
		t.Errorf("revoked signer: err = %v, want ErrRevocation", err)
	}
	if out.Len() != 0 {
		t.Error("output written for a revoked signer")
	}
}
