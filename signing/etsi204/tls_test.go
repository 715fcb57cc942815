package etsi204_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/etsi204"
	"vanban/signing/mssp"
)

// testCA is a throwaway CA for the TLS tests.
type testCA struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{key: key, cert: cert}
}

func (ca *testCA) issue(t testing.TB, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// mtlsSimulator runs the simulator over HTTPS requiring AP client
// certificates issued by apCA.
func mtlsSimulator(t *testing.T) (srv *mssp.Server, ts *httptest.Server, serverCA, apCA *testCA) {
	serverCA, apCA = newTestCA(t, "MSSP server CA"), newTestCA(t, "AP client CA")
	srv, err := mssp.NewServer(mssp.Options{
		APs:               map[string]string{testAPID: testAPPwd},
		RequireClientCert: true, ClientCAs: apCA.pool(), Latency: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts = httptest.NewUnstartedServer(srv)
	ts.TLS = srv.TLSConfig(serverCA.issue(t, "mssp", true))
	ts.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return srv, ts, serverCA, apCA
}

func TestMutualTLS(t *testing.T) {
	srv, ts, serverCA, apCA := mtlsSimulator(t)
	msisdn := mssp.ScenarioMSISDN(mssp.ScenarioApprove, true)
	chain, err := srv.Certificates(msisdn)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("with AP certificate", func(t *testing.T) {
		cfg := baseConfig(ts.URL)
		cfg.TLS = &tls.Config{RootCAs: serverCA.pool(), Certificates: []tls.Certificate{apCA.issue(t, "ap", false)}}
		c := newClient(t, cfg)
		req, cert := request(t, c, msisdn)
		res, err := signOnce(t, c, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("without client certificate", func(t *testing.T) {
		cfg := baseConfig(ts.URL)
		cfg.TLS = &tls.Config{RootCAs: serverCA.pool()}
		c := newClient(t, cfg)
		_, err := c.Certificates(context.Background(), msisdn)
		wantKind(t, err, signing.KindUnauthorized)
		cfg.Lookup = staticLookup(chain)
		c = newClient(t, cfg)
		req, _ := request(t, c, msisdn)
		_, err = c.Start(context.Background(), req)
		wantKind(t, err, signing.KindUnauthorized)
	})

	t.Run("client certificate from another CA", func(t *testing.T) {
		cfg := baseConfig(ts.URL)
		cfg.TLS = &tls.Config{RootCAs: serverCA.pool(), Certificates: []tls.Certificate{newTestCA(t, "rogue").issue(t, "ap", false)}}
		cfg.Lookup = staticLookup(chain)
		c := newClient(t, cfg)
		req, _ := request(t, c, msisdn)
		_, err := c.Start(context.Background(), req)
		wantKind(t, err, signing.KindUnauthorized)
	})

	t.Run("untrusted MSSP certificate", func(t *testing.T) {
		cfg := baseConfig(ts.URL)
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{apCA.issue(t, "ap", false)}}
		cfg.Lookup = staticLookup(chain)
		c := newClient(t, cfg)
		req, _ := request(t, c, msisdn)
		_, err := c.Start(context.Background(), req)
		wantKind(t, err, signing.KindUnauthorized)
	})
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The URI form, as an operator configures it, with TLS files on disk and
// the AP password from the environment.
func TestOpenURI(t *testing.T) {
	_, ts, serverCA, apCA := mtlsSimulator(t)
	dir := t.TempDir()
	ap := apCA.issue(t, "ap", false)
	keyDER, err := x509.MarshalPKCS8PrivateKey(ap.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writePEM(t, dir, "ap.crt", "CERTIFICATE", ap.Certificate[0])
	keyFile := writePEM(t, dir, "ap.key", "PRIVATE KEY", keyDER)
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", serverCA.cert.Raw)

	msisdn := mssp.ScenarioMSISDN(mssp.ScenarioApprove, true)
	q := url.Values{
		"msisdn": {msisdn}, "ap-id": {testAPID}, "ap-pwd-env": {"TEST_AP_PWD"},
		"mssp-id": {"http://mssp.vanban.invalid/"}, "profile": {"http://mssp.vanban.invalid/profile/sign"},
		"mode": {"sync"}, "format": {"cms"}, "dtbs": {"auto"}, "soap": {"1.2"}, "timeout": {"60s"}, "poll": {"50ms"},
		"cert-lookup": {ts.URL + "/certificates"},
		"client-cert": {certFile}, "client-key": {keyFile}, "ca": {caFile},
	}
	uri := "etsi204:" + ts.URL + "/soap?" + q.Encode()
	env := func(name string) (string, bool) {
		if name == "TEST_AP_PWD" {
			return testAPPwd, true
		}
		return "", false
	}
	p, err := signing.Open(uri, env)
	if err != nil {
		t.Fatal(err)
	}
	defer p.(signing.Closer).Close()
	if caps := p.Capabilities(); !caps.LongPoll || !caps.VerificationCode || caps.MaxDisplayText != 50 {
		t.Errorf("capabilities %+v", caps)
	}
	chain, err := p.Certificates(context.Background(), "") // the URI's msisdn
	if err != nil {
		t.Fatal(err)
	}
	req, _ := request(t, p, msisdn)
	req.SignerID = ""
	sig, err := signing.SignAndWait(context.Background(), p, chain[0], req, signing.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) == 0 {
		t.Fatal("empty signature")
	}

	bad := map[string]string{
		"no endpoint":     "etsi204:?ap-id=x",
		"unknown param":   "etsi204:https://m.example/soap?ap-id=x&colour=red",
		"bad mode":        "etsi204:https://m.example/soap?ap-id=x&mode=later",
		"bad format":      "etsi204:https://m.example/soap?ap-id=x&format=xml",
		"bad dtbs":        "etsi204:https://m.example/soap?ap-id=x&dtbs=all",
		"bad soap":        "etsi204:https://m.example/soap?ap-id=x&soap=2",
		"bad timeout":     "etsi204:https://m.example/soap?ap-id=x&timeout=soon",
		"missing pwd env": "etsi204:https://m.example/soap?ap-id=x&ap-pwd-env=NOPE",
		"no ap-id":        "etsi204:https://m.example/soap",
		"ftp endpoint":    "etsi204:ftp://m.example/soap?ap-id=x",
		"bad msisdn":      "etsi204:https://m.example/soap?ap-id=x&msisdn=abc",
		"cert no key":     "etsi204:https://m.example/soap?ap-id=x&client-cert=" + certFile,
		"missing ca":      "etsi204:https://m.example/soap?ap-id=x&ca=" + filepath.Join(dir, "nope.pem"),
	}
	for name, uri := range bad {
		if _, err := signing.Open(uri, env); signing.KindOf(err) != signing.KindBadRequest {
			t.Errorf("%s: Open(%q) = %v, want bad_request", name, uri, err)
		}
	}
}

func TestKindForStatus(t *testing.T) {
	// The failure table of the operator notes.
	want := map[int]signing.Kind{
		401: signing.KindDeclined,
		208: signing.KindExpired,
		209: signing.KindUnreachable,
		402: signing.KindPINBlocked, 403: signing.KindPINBlocked,
		105: signing.KindNoCertificate, 404: signing.KindNoCertificate, 422: signing.KindNoCertificate, 501: signing.KindNoCertificate,
		503: signing.KindBadSignature,
		406: signing.KindBusy,
		101: signing.KindBadRequest, 102: signing.KindBadRequest, 103: signing.KindBadRequest,
		107: signing.KindBadRequest, 108: signing.KindBadRequest, 109: signing.KindBadRequest,
		104: signing.KindUnauthorized,
		900: signing.KindUnavailable, 999: signing.KindUnavailable,
	}
	for code, kind := range want {
		if got := etsi204.KindForStatus(code); got != kind {
			t.Errorf("KindForStatus(%d) = %v, want %v", code, got, kind)
		}
	}
}

func TestTLSToPlainHTTPEndpoint(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{})
	chain, err := srv.Certificates("84921000001")
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig("https://" + strings.TrimPrefix(ts.URL, "http://"))
	cfg.Lookup = staticLookup(chain)
	c := newClient(t, cfg)
	req, _ := request(t, c, "84921000001")
	_, err = c.Start(context.Background(), req)
	wantKind(t, err, signing.KindBadRequest)
}

// An operator that refuses at the TLS layer (RequireAndVerifyClientCert)
// rather than with fault 104.
func TestClientCertificateRefusedInHandshake(t *testing.T) {
	serverCA, apCA := newTestCA(t, "MSSP server CA"), newTestCA(t, "AP client CA")
	srv, err := mssp.NewServer(mssp.Options{RequireClientCert: true, ClientCAs: apCA.pool()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = srv.TLSConfig(serverCA.issue(t, "mssp", true))
	ts.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	ts.StartTLS()
	defer ts.Close()
	chain, err := srv.Certificates("84921000003")
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(ts.URL)
	cfg.TLS = &tls.Config{RootCAs: serverCA.pool()}
	cfg.Lookup = staticLookup(chain)
	c := newClient(t, cfg)
	req, _ := request(t, c, "84921000003")
	_, err = c.Start(context.Background(), req)
	wantKind(t, err, signing.KindUnauthorized)
	if !strings.Contains(err.Error(), "refused our TLS client certificate") {
		t.Fatalf("error does not say what happened: %v", err)
	}
}
