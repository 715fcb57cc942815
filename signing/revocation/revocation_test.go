package revocation_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"vanban/signing/devpki"
	"vanban/signing/revocation"
)

type env struct {
	pki *devpki.PKI
	srv *httptest.Server
	// ocspDown makes the OCSP endpoint answer 503, to exercise CRL fallback.
	ocspDown atomic.Bool
	ocspHits atomic.Int32
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := devpki.New("http://"+ln.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{pki: p}
	h := p.Handler()
	e.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/pki/ocsp") {
			e.ocspHits.Add(1)
			if e.ocspDown.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
		}
		h.ServeHTTP(w, r)
	})}}
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

func TestCollectAndCheckOCSP(t *testing.T) {
	e := newEnv(t)
	_, chain, err := e.pki.IssueSigner("Nguyễn Thị Hoa", "UBND huyện", devpki.KeyP256, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev, err := revocation.Collect(ctx, chain, e.pki.Roots(), nil)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	// One OCSP response for the signer (delegated responder) and one for the issuing CA (root).
	if len(ev.OCSPs) != 2 || len(ev.CRLs) != 0 {
		t.Fatalf("%d OCSPs, %d CRLs", len(ev.OCSPs), len(ev.CRLs))
	}
	// Certs: signer, issuing, root and the OCSP responder.
	if len(ev.Certs) != 4 {
		t.Fatalf("%d certs", len(ev.Certs))
	}
	now := time.Now()
	st, err := revocation.Check(chain[0], e.pki.Issuing(), ev, now)
	if err != nil || st.State != revocation.Good || st.Source != "ocsp" {
		t.Fatalf("signer: %+v %v", st, err)
	}
	st, err = revocation.Check(e.pki.Issuing(), e.pki.Root(), ev, now)
	if err != nil || st.State != revocation.Good {
		t.Fatalf("issuing: %+v %v", st, err)
	}
	// The responder certificate needs no check.
	st, _ = revocation.Check(e.pki.OCSPCertificate(), e.pki.Issuing(), revocation.Evidence{}, now)
	if st.State != revocation.Good || st.Source != "ocsp-nocheck" {
		t.Fatalf("responder: %+v", st)
	}
	// Evidence produced long before the time of interest proves nothing.
	st, _ = revocation.Check(chain[0], e.pki.Issuing(), ev, now.Add(48*time.Hour))
	if st.State != revocation.Unknown || !strings.Contains(st.Detail, "older") {
		t.Fatalf("stale: %+v", st)
	}
	// Nothing about the certificate at all.
	st, _ = revocation.Check(chain[0], e.pki.Issuing(), revocation.Evidence{}, now)
	if st.State != revocation.Unknown || st.Detail == "" {
		t.Fatalf("no evidence: %+v", st)
	}

	// Revoke: Collect reports it, Check says revoked now but good before.
	if err := e.pki.Revoke(chain[0].SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	ev2, err := revocation.Collect(ctx, chain, e.pki.Roots(), nil)
	if revocation.KindOf(err) != revocation.KindRevoked {
		t.Fatalf("Collect after revoke: %v", err)
	}
	st, _ = revocation.Check(chain[0], e.pki.Issuing(), ev2, time.Now().Add(time.Second))
	if st.State != revocation.Revoked || st.Reason != 1 || st.RevokedAt.IsZero() {
		t.Fatalf("revoked: %+v", st)
	}
	st, _ = revocation.Check(chain[0], e.pki.Issuing(), ev2, st.RevokedAt.Add(-time.Minute))
	if st.State != revocation.Good || st.RevokedAt.IsZero() {
		t.Fatalf("before revocation: %+v", st)
	}
}

func TestCollectFallsBackToCRL(t *testing.T) {
	e := newEnv(t)
	_, chain, err := e.pki.IssueSigner("Văn thư", "Sở Y tế", devpki.KeyRSA2048, devpki.Organization)
	if err != nil {
		t.Fatal(err)
	}
	e.ocspDown.Store(true)
	ev, err := revocation.Collect(context.Background(), chain, e.pki.Roots(), nil)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if e.ocspHits.Load() == 0 || len(ev.OCSPs) != 0 || len(ev.CRLs) != 2 {
		t.Fatalf("hits %d, %d OCSPs, %d CRLs", e.ocspHits.Load(), len(ev.OCSPs), len(ev.CRLs))
	}
	st, _ := revocation.Check(chain[0], e.pki.Issuing(), ev, time.Now())
	if st.State != revocation.Good || st.Source != "crl" {
		t.Fatalf("CRL good: %+v", st)
	}
	if err := e.pki.Revoke(chain[0].SerialNumber, 4); err != nil {
		t.Fatal(err)
	}
	ev, err = revocation.Collect(context.Background(), chain, e.pki.Roots(), nil)
	if revocation.KindOf(err) != revocation.KindRevoked {
		t.Fatalf("Collect after revoke: %v", err)
	}
	st, _ = revocation.Check(chain[0], e.pki.Issuing(), ev, time.Now().Add(time.Second))
	if st.State != revocation.Revoked || st.Source != "crl" || st.Reason != 4 {
		t.Fatalf("CRL revoked: %+v", st)
	}
}

func TestCheckRejectsForeignAndForgedEvidence(t *testing.T) {
	e := newEnv(t)
	other := newEnv(t)
	_, chain, err := e.pki.IssueSigner("Trần Văn Bình", "", devpki.KeyP256, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := revocation.Collect(context.Background(), chain, e.pki.Roots(), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// A flipped byte in the OCSP signature: the response is ignored.
	var forged revocation.Evidence
	for _, o := range ev.OCSPs {
		r, err := ocsp.ParseResponse(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(o, r.Signature)
		if i < 0 {
			t.Fatal("signature not found in response")
		}
		b := bytes.Clone(o)
		b[i+len(r.Signature)/2] ^= 1
		forged.OCSPs = append(forged.OCSPs, b)
	}
	if st, _ := revocation.Check(chain[0], e.pki.Issuing(), forged, now); st.State != revocation.Unknown {
		t.Fatalf("forged OCSP accepted: %+v", st)
	}
	// Evidence checked against the wrong issuer (another PKI with the same names).
	if st, _ := revocation.Check(chain[0], other.pki.Issuing(), ev, now); st.State != revocation.Unknown {
		t.Fatalf("wrong issuer accepted: %+v", st)
	}
	// A "good" response signed by a certificate of the right CA that is not
	// an OCSP responder (a person's signing key) is not authorized.
	key, imposter, err := e.pki.IssueSigner("Kẻ mạo danh", "", devpki.KeyP256, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pki.Revoke(chain[0].SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	fake, err := ocsp.CreateResponse(e.pki.Issuing(), imposter[0], ocsp.Response{
		Status: ocsp.Good, SerialNumber: chain[0].SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour),
		Certificate: imposter[0],
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := revocation.Check(chain[0], e.pki.Issuing(), revocation.Evidence{OCSPs: [][]byte{fake}}, now)
	if st.State != revocation.Unknown || !strings.Contains(st.Detail, "OCSPSigning") {
		t.Fatalf("unauthorized responder accepted: %+v", st)
	}
	// A CRL signed by another CA is ignored.
	crl, err := other.pki.CRL("issuing")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := revocation.Check(chain[0], e.pki.Issuing(), revocation.Evidence{CRLs: [][]byte{crl}}, now); st.State != revocation.Unknown {
		t.Fatalf("foreign CRL accepted: %+v", st)
	}
	if _, err := revocation.Check(nil, e.pki.Issuing(), ev, now); revocation.KindOf(err) != revocation.KindInvalidParams {
		t.Fatalf("nil cert: %v", err)
	}
}

func TestCollectErrors(t *testing.T) {
	e := newEnv(t)
	other := newEnv(t)
	_, chain, err := e.pki.IssueSigner("Lê Thị Mai", "", devpki.KeyP256, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := revocation.Collect(ctx, chain, other.pki.Roots(), nil); revocation.KindOf(err) != revocation.KindNoChain {
		t.Fatalf("unknown root: %v", err)
	}
	if _, err := revocation.Collect(ctx, nil, e.pki.Roots(), nil); revocation.KindOf(err) != revocation.KindInvalidParams {
		t.Fatalf("empty chain: %v", err)
	}
	e.srv.Close() // nothing answers any more
	ev, err := revocation.Collect(ctx, chain, e.pki.Roots(), &http.Client{Timeout: 2 * time.Second})
	if revocation.KindOf(err) != revocation.KindUnavailable || len(ev.OCSPs)+len(ev.CRLs) != 0 || len(ev.Certs) != 3 {
		t.Fatalf("server down: %v (%d certs)", err, len(ev.Certs))
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := revocation.Collect(cctx, chain, e.pki.Roots(), nil); err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestOpenSSLCRL judges the corpus signer with the CRL that openssl made
// for the corpus CA (testdata/corpus/pki/ca.crl).
func TestOpenSSLCRL(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "corpus", "pki")
	read := func(name, typ string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
				t.Fatalf("corpus PKI: %v", err)
			}
			t.Skipf("corpus PKI not present: %v", err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != typ {
			t.Fatalf("%s is not a PEM %s", name, typ)
		}
		return blk.Bytes
	}
	ca, err := x509.ParseCertificate(read("ca.pem", "CERTIFICATE"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := x509.ParseCertificate(read("signer.pem", "CERTIFICATE"))
	if err != nil {
		t.Fatal(err)
	}
	crl := read("ca.crl", "X509 CRL")
	st, err := revocation.Check(signer, ca, revocation.Evidence{CRLs: [][]byte{crl}}, time.Now())
	if err != nil || st.State != revocation.Good || st.Source != "crl" {
		t.Fatalf("%+v %v", st, err)
	}
	// The same CRL checked against another issuer proves nothing.
	st, _ = revocation.Check(signer, signer, revocation.Evidence{CRLs: [][]byte{crl}}, time.Now())
	if st.State != revocation.Unknown {
		t.Fatalf("wrong issuer: %+v", st)
	}
}
