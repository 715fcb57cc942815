package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 1}

type tsaPKI struct {
	root    *x509.Certificate
	tsaCert *x509.Certificate
	tsaKey  crypto.Signer
	// noEKU is a certificate for the same key without the time-stamping usage.
	noEKU *x509.Certificate
}

var (
	pkiOnce sync.Once
	pki     *tsaPKI
	pkiErr  error
)

func mustPKI(t testing.TB) *tsaPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

func newPKI() (*tsaPKI, error) {
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TSA Test Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	root, _ := x509.ParseCertificate(der)
	tsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Máy chủ dấu thời gian"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, root, tsaKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	tsaCert, _ := x509.ParseCertificate(der)
	tmpl.ExtraExtensions = nil
	tmpl.SerialNumber = big.NewInt(3)
	der, err = x509.CreateCertificate(rand.Reader, tmpl, root, tsaKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	noEKU, _ := x509.ParseCertificate(der)
	return &tsaPKI{root: root, tsaCert: tsaCert, tsaKey: tsaKey, noEKU: noEKU}, nil
}

func newTestServer(t *testing.T, p *tsaPKI) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewServer(p.tsaKey, []*x509.Certificate{p.tsaCert}, testPolicy))
	t.Cleanup(srv.Close)
	return srv
}

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

func pemFile(t *testing.T, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClientServerRoundTrip(t *testing.T) {
	p := mustPKI(t)
	srv := newTestServer(t, p)
	sig := []byte("chữ ký cần đóng dấu thời gian")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		d := h.New()
		d.Write(sig)
		imprint := d.Sum(nil)
		c := &Client{URL: srv.URL, HTTPClient: srv.Client(), Policy: testPolicy}
		before := time.Now().Add(-time.Second)
		token, err := c.Timestamp(context.Background(), imprint, h)
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		tok, err := Parse(token)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Hash != h || !bytes.Equal(tok.Imprint, imprint) || !tok.Policy.Equal(testPolicy) {
			t.Fatalf("token fields: %+v", tok)
		}
		if tok.Time.Before(before.Truncate(time.Second)) || tok.Time.After(time.Now()) || tok.Accuracy != time.Second {
			t.Fatalf("token time %v accuracy %v", tok.Time, tok.Accuracy)
		}
		if tok.Signer == nil || !tok.Signer.Equal(p.tsaCert) || tok.SerialNumber.Sign() <= 0 || tok.Nonce == nil {
			t.Fatal("signer, serial or nonce missing")
		}
		if err := tok.CoversData(sig); err != nil {
			t.Fatal(err)
		}
		if err := tok.CoversData([]byte("other")); KindOf(err) != KindBadResponse {
			t.Fatalf("CoversData(other) = %v", err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(p.root)
		if _, err := tok.VerifyChain(roots); err != nil {
			t.Fatalf("VerifyChain: %v", err)
		}
		if _, err := tok.VerifyChain(x509.NewCertPool()); KindOf(err) != KindBadToken {
			t.Fatalf("VerifyChain(unknown root) = %v", err)
		}
		// Cross-check with digitorus/timestamp.
		ts, err := timestamp.Parse(token)
		if err != nil {
			t.Fatalf("timestamp.Parse: %v", err)
		}
		if !bytes.Equal(ts.HashedMessage, imprint) || !ts.Time.Equal(tok.Time) {
			t.Fatal("digitorus/timestamp reads other values")
		}
	}
}

func TestOpenSSLInterop(t *testing.T) {
	openssl := requireTool(t, "openssl")
	p := mustPKI(t)
	srv := newTestServer(t, p)
	dir := t.TempDir()
	data := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(data, []byte("văn bản số 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := pemFile(t, dir, "root.pem", p.root)
	untrusted := pemFile(t, dir, "tsa.pem", p.tsaCert)
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		return out
	}
	// openssl's own request, our server's response, openssl verifies.
	query := filepath.Join(dir, "q.tsq")
	run("ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
	q, _ := os.ReadFile(query)
	resp, err := http.Post(srv.URL, "application/timestamp-query", bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	reply := filepath.Join(dir, "r.tsr")
	if err := os.WriteFile(reply, body, 0o600); err != nil {
		t.Fatal(err)
	}
	run("ts", "-verify", "-queryfile", query, "-in", reply, "-CAfile", ca, "-untrusted", untrusted)
	run("ts", "-verify", "-data", data, "-in", reply, "-CAfile", ca)

	// Our client's token, verified by openssl as a bare token.
	sum := sha256.Sum256([]byte("văn bản số 1"))
	c := &Client{URL: srv.URL}
	token, err := c.Timestamp(context.Background(), sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "token.der")
	if err := os.WriteFile(tokPath, token, 0o600); err != nil {
		t.Fatal(err)
	}
	run("ts", "-verify", "-token_in", "-in", tokPath, "-digest", hex.EncodeToString(sum[:]), "-CAfile", ca)
	other := sha256.Sum256([]byte("văn bản khác"))
	if out, err := exec.Command(openssl, "ts", "-verify", "-token_in", "-in", tokPath, "-digest", hex.EncodeToString(other[:]), "-CAfile", ca).CombinedOutput(); err == nil {
		t.Fatalf("openssl accepted a token for another digest:\n%s", out)
	}
}

func rawRequest(t *testing.T, r timestamp.Request) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServerRejections(t *testing.T) {
	p := mustPKI(t)
	s := NewServer(p.tsaKey, []*x509.Certificate{p.tsaCert}, testPolicy)
	sha1Digest := make([]byte, 20)
	sum := make([]byte, 32)
	cases := []struct {
		name string
		req  []byte
		fail int
	}{
		{"garbage", []byte("not asn.1"), FailBadDataFormat},
		{"sha1", rawRequest(t, timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: sha1Digest}), FailBadAlg},
		{"short imprint", rawRequest(t, timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:31]}), FailBadDataFormat},
		{"other policy", rawRequest(t, timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum, TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}), FailUnacceptedPolicy},
		{"extension", rawRequest(t, timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum,
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: []byte{5, 0}}}}), FailUnacceptedExtension},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseResponse(s.Respond(tc.req))
			var e *Error
			if KindOf(err) != KindRejected {
				t.Fatalf("got %v, want rejection", err)
			}
			e = err.(*Error)
			if e.Status != StatusRejection || e.FailureInfo != tc.fail {
				t.Fatalf("status %d failInfo %d, want %d", e.Status, e.FailureInfo, tc.fail)
			}
			// digitorus/timestamp reads our rejection the same way.
			if _, err := timestamp.ParseResponse(s.Respond(tc.req)); err == nil {
				t.Fatal("digitorus/timestamp accepted a rejection")
			}
		})
	}
	// Without certReq the token must not carry certificates (RFC 3161 2.4.1).
	resp := s.Respond(rawRequest(t, timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum}))
	token, err := ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Certificates) != 0 || tok.Signer != nil {
		t.Fatal("certificates included without certReq")
	}
	if err := tok.Verify(); KindOf(err) != KindBadToken {
		t.Fatalf("Verify without TSA certificate = %v", err)
	}
	// A server without a key refuses instead of crashing.
	if _, err := ParseResponse(NewServer(nil, nil, testPolicy).Respond(rawRequest(t, timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum}))); err == nil || err.(*Error).FailureInfo != FailSystemFailure {
		t.Fatalf("keyless server: %v", err)
	}
	// Only POST.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
	}
}

func TestClientRefusesBadAnswers(t *testing.T) {
	p := mustPKI(t)
	good := NewServer(p.tsaKey, []*x509.Certificate{p.tsaCert}, testPolicy)
	imprint := sha256.Sum256([]byte("x"))
	ctx := context.Background()

	serve := func(t *testing.T, h http.HandlerFunc) *Client {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return &Client{URL: srv.URL}
	}
	t.Run("replayed response", func(t *testing.T) {
		// A response for another request (other nonce) must not be accepted.
		old := good.Respond(rawRequest(t, timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Certificates: true, Nonce: big.NewInt(7)}))
		c := serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write(old) })
		if _, err := c.Timestamp(ctx, imprint[:], crypto.SHA256); KindOf(err) != KindBadResponse {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("other imprint", func(t *testing.T) {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			req, _ := timestamp.ParseRequest(body)
			other := sha256.Sum256([]byte("y"))
			req.HashedMessage = other[:]
			req.ExtraExtensions = nil
			w.Write(good.Respond(rawRequest(t, *req)))
		})
		if _, err := c.Timestamp(ctx, imprint[:], crypto.SHA256); KindOf(err) != KindBadResponse {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("tsa certificate without time-stamping usage", func(t *testing.T) {
		bad := NewServer(p.tsaKey, []*x509.Certificate{p.noEKU}, testPolicy)
		c := serve(t, bad.ServeHTTP)
		if _, err := c.Timestamp(ctx, imprint[:], crypto.SHA256); KindOf(err) != KindBadToken {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("http error", func(t *testing.T) {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
		if _, err := c.Timestamp(ctx, imprint[:], crypto.SHA256); KindOf(err) != KindUnavailable {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) })
		if _, err := c.Timestamp(ctx, imprint[:], crypto.SHA256); KindOf(err) != KindBadResponse {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("rejection", func(t *testing.T) {
		c := &Client{URL: serve(t, good.ServeHTTP).URL, Policy: asn1.ObjectIdentifier{1, 2, 3}}
		_, err := c.Timestamp(ctx, imprint[:], crypto.SHA256)
		if e, ok := err.(*Error); !ok || e.Kind != KindRejected || e.FailureInfo != FailUnacceptedPolicy {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("basic auth and unreachable", func(t *testing.T) {
		var user, pass string
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			user, pass, _ = r.BasicAuth()
			good.ServeHTTP(w, r)
		})
		c.Username, c.Password = "vanban", "bí mật"
		if _, err := c.Timestamp(ctx, imprint[:], crypto.SHA256); err != nil || user != "vanban" || pass != "bí mật" {
			t.Fatalf("basic auth: %v %q %q", err, user, pass)
		}
		c.URL = "http://127.0.0.1:1/tsa"
		if _, err := c.Timestamp(ctx, imprint[:], crypto.SHA256); KindOf(err) != KindUnavailable {
			t.Fatalf("unreachable: %v", err)
		}
	})
	t.Run("invalid params", func(t *testing.T) {
		c := &Client{URL: "http://example.invalid"}
		if _, err := c.Timestamp(ctx, imprint[:20], crypto.SHA256); KindOf(err) != KindInvalidParams {
			t.Fatalf("got %v", err)
		}
		if _, err := c.Timestamp(ctx, imprint[:20], crypto.SHA1); KindOf(err) != KindInvalidParams {
			t.Fatalf("got %v", err)
		}
	})
}

func TestParseGeneralizedTime(t *testing.T) {
	cases := map[string]time.Time{
		"20261125081500Z":      time.Date(2026, 11, 25, 8, 15, 0, 0, time.UTC),
		"20261125081500.5Z":    time.Date(2026, 11, 25, 8, 15, 0, 500e6, time.UTC),
		"20261125081500.123Z":  time.Date(2026, 11, 25, 8, 15, 0, 123e6, time.UTC),
		"20261125081500.0001Z": time.Date(2026, 11, 25, 8, 15, 0, 100e3, time.UTC),
	}
	for in, want := range cases {
		got, err := parseGeneralizedTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "20261125081500", "20261125081500.Z", "20261125081500,5Z", "2026112508150aZ", "20261125081500.5x5Z"} {
		if _, err := parseGeneralizedTime(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseBadTokens(t *testing.T) {
	for _, in := range [][]byte{nil, {0x30, 0x00}, []byte("garbage")} {
		if _, err := Parse(in); KindOf(err) != KindBadToken {
			t.Errorf("Parse(%x) = %v", in, err)
		}
	}
	if _, err := ParseResponse([]byte{0x30, 0x03, 0x30, 0x01, 0x00}); KindOf(err) != KindBadResponse {
		t.Errorf("ParseResponse = %v", err)
	}
}
