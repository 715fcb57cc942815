package etsi204_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/etsi204"
	"vanban/signing/etsi204/wire"
	"vanban/signing/mssp"
)

const (
	testAPID  = "http://ap.vanban.test/"
	testAPPwd = "ap-secret"
)

// simulator starts an MSSP simulator over plain loopback HTTP.
func simulator(t testing.TB, opts mssp.Options) (*mssp.Server, *httptest.Server) {
	t.Helper()
	if opts.APs == nil {
		opts.APs = map[string]string{testAPID: testAPPwd}
	}
	srv, err := mssp.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return srv, ts
}

// baseConfig points a client at the simulator at base.
func baseConfig(base string) etsi204.Config {
	return etsi204.Config{
		Endpoint:      base + "/soap",
		CertLookupURL: base + "/certificates",
		APID:          testAPID,
		APPassword:    testAPPwd,
		MSSPID:        "http://mssp.vanban.invalid/",
		PollInterval:  20 * time.Millisecond,
		Backoff:       10 * time.Millisecond,
	}
}

func newClient(t testing.TB, cfg etsi204.Config) *etsi204.Client {
	t.Helper()
	c, err := etsi204.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func randomDigest(t testing.TB) []byte {
	var b [64]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(b[:])
	return d[:]
}

// request pins msisdn's certificate, as the PAdES layer does, and builds a
// request over a fresh digest.
func request(t testing.TB, p signing.Provider, msisdn string) (signing.Request, *x509.Certificate) {
	t.Helper()
	chain, err := p.Certificates(context.Background(), msisdn)
	if err != nil {
		t.Fatalf("Certificates(%s): %v", msisdn, err)
	}
	alg, err := signing.AlgorithmFor(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	return signing.Request{
		SignerID: msisdn, Digest: randomDigest(t), Hash: crypto.SHA256, Algorithm: alg,
		DisplayText: "Ký Quyết định 12/QĐ-UBND",
	}, chain[0]
}

// await polls until the request is final and returns the outcome as an
// error (nil when signed).
func await(t testing.TB, p signing.Provider, sess *signing.Session) (*signing.Result, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := p.Poll(context.Background(), sess.TxID, 100*time.Millisecond)
		if err != nil {
			return nil, err
		}
		switch res.Status {
		case signing.StatusSigned:
			return res, nil
		case signing.StatusFailed:
			if res.Err == nil {
				t.Fatal("failed result without an error")
			}
			return res, res.Err
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("request still pending after 20 s")
	return nil, nil
}

// signOnce runs one request to the end: Start's error or the outcome.
func signOnce(t testing.TB, p signing.Provider, req signing.Request) (*signing.Result, error) {
	t.Helper()
	sess, err := p.Start(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return await(t, p, sess)
}

func wantKind(t *testing.T, err error, kind signing.Kind) {
	t.Helper()
	if got := signing.KindOf(err); got != kind {
		t.Fatalf("error = %v (kind %v), want kind %v", err, got, kind)
	}
	var e *signing.Error
	if errors.As(err, &e) && e.Provider != etsi204.Scheme {
		t.Errorf("error provider = %q, want %q", e.Provider, etsi204.Scheme)
	}
}

// staticLookup pins a given chain for every number, so that a request goes
// out to the MSSP even for numbers the MSSP has no certificate for.
type staticLookup []*x509.Certificate

func (l staticLookup) Lookup(context.Context, string) ([]*x509.Certificate, error) { return l, nil }

func TestScenarios(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{Latency: 5 * time.Millisecond})
	cases := []struct {
		scenario mssp.Scenario
		kind     signing.Kind // 0: signed
	}{
		{mssp.ScenarioApprove, 0},
		{mssp.ScenarioDecline, signing.KindDeclined},
		{mssp.ScenarioTimeout, signing.KindExpired},
		{mssp.ScenarioAbsent, signing.KindUnreachable},
		{mssp.ScenarioPINBlocked, signing.KindPINBlocked},
		{mssp.ScenarioBusy, signing.KindBusy},
		{mssp.ScenarioWrongKey, signing.KindBadSignature},
		{mssp.ScenarioOtherDigest, signing.KindBadSignature},
	}
	for _, mode := range []etsi204.Mode{etsi204.ModeAsync, etsi204.ModeSync} {
		cfg := baseConfig(ts.URL)
		cfg.Mode = mode
		c := newClient(t, cfg)
		for _, tc := range cases {
			for _, ec := range []bool{true, false} {
				if !ec && tc.scenario != mssp.ScenarioApprove && tc.scenario != mssp.ScenarioWrongKey {
					continue // RSA keys are slow to make; the mapping does not depend on them
				}
				msisdn := mssp.ScenarioMSISDN(tc.scenario, ec)
				t.Run(modeName(mode)+"/"+tc.scenario.String()+"/"+msisdn, func(t *testing.T) {
					req, cert := request(t, c, msisdn)
					res, err := signOnce(t, c, req)
					if tc.kind != 0 {
						wantKind(t, err, tc.kind)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if err := signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
						t.Fatalf("signature does not verify: %v", err)
					}
				})
			}
		}
	}

	// Numbers without a certificate fail at the lookup...
	c := newClient(t, baseConfig(ts.URL))
	for _, s := range []mssp.Scenario{mssp.ScenarioNoCertificate, mssp.ScenarioNoKey} {
		_, err := c.Certificates(context.Background(), mssp.ScenarioMSISDN(s, true))
		wantKind(t, err, signing.KindNoCertificate)
	}
	// ...and, should a stale certificate be pinned, at the MSSP (422, 404).
	other, err := srv.Certificates(mssp.ScenarioMSISDN(mssp.ScenarioApprove, true))
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(ts.URL)
	cfg.Lookup = staticLookup(other)
	stale := newClient(t, cfg)
	for _, s := range []mssp.Scenario{mssp.ScenarioNoCertificate, mssp.ScenarioNoKey} {
		req, _ := request(t, stale, mssp.ScenarioMSISDN(s, true))
		_, err := signOnce(t, stale, req)
		wantKind(t, err, signing.KindNoCertificate)
	}
}

func modeName(m etsi204.Mode) string {
	if m == etsi204.ModeSync {
		return "sync"
	}
	return "async"
}

func TestVirtualPhoneApproveAndVerificationCode(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{Phones: map[string]mssp.PhoneConfig{"84912345671": {PIN: "2468"}}})
	for _, mode := range []etsi204.Mode{etsi204.ModeAsync, etsi204.ModeSync} {
		t.Run(modeName(mode), func(t *testing.T) {
			cfg := baseConfig(ts.URL)
			cfg.Mode = mode
			c := newClient(t, cfg)
			req, cert := request(t, c, "84912345671")
			sess, err := c.Start(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if sess.VerificationCode != wire.VerificationCode(req.Digest) || len(sess.VerificationCode) != 4 {
				t.Fatalf("session code %q, want %q", sess.VerificationCode, wire.VerificationCode(req.Digest))
			}
			pending := waitPending(t, srv, "84912345671")
			if pending.VerificationCode != sess.VerificationCode {
				t.Fatalf("phone shows code %q, our UI %q", pending.VerificationCode, sess.VerificationCode)
			}
			if pending.DisplayText != req.DisplayText || pending.APTransID == "" {
				t.Fatalf("phone shows %+v", pending)
			}
			res, err := c.Poll(context.Background(), sess.TxID, 0)
			if err != nil || res.Status != signing.StatusPending {
				t.Fatalf("Poll before the PIN = %+v, %v; want pending", res, err)
			}
			if err := srv.Phone().Approve("84912345671", "1234"); !errors.Is(err, mssp.ErrWrongPIN) {
				t.Fatalf("default PIN on a phone with its own PIN: %v", err)
			}
			if err := srv.Phone().Approve("84912345671", "2468"); err != nil {
				t.Fatal(err)
			}
			res, err = await(t, c, sess)
			if err != nil {
				t.Fatal(err)
			}
			if err := signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
				t.Fatal(err)
			}
			if _, ok := srv.Phone().Pending("84912345671"); ok {
				t.Fatal("phone still shows a pending request after signing")
			}
		})
	}
}

func waitPending(t testing.TB, srv *mssp.Server, msisdn string) mssp.PendingRequest {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p, ok := srv.Phone().Pending(msisdn); ok {
			return p
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no request reached phone %s", msisdn)
	return mssp.PendingRequest{}
}

func TestDeclineAndPINBlockOnPhone(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{})
	c := newClient(t, baseConfig(ts.URL))
	const msisdn = "84987654323"

	req, _ := request(t, c, msisdn)
	sess, err := c.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	waitPending(t, srv, msisdn)
	if err := srv.Phone().Decline(msisdn); err != nil {
		t.Fatal(err)
	}
	_, err = await(t, c, sess)
	wantKind(t, err, signing.KindDeclined)

	req, _ = request(t, c, msisdn)
	sess, err = c.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	waitPending(t, srv, msisdn)
	for i := 0; i < 2; i++ {
		if err := srv.Phone().Approve(msisdn, "0000"); !errors.Is(err, mssp.ErrWrongPIN) {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	if err := srv.Phone().Approve(msisdn, "0000"); !errors.Is(err, mssp.ErrPINBlocked) {
		t.Fatalf("third wrong PIN: %v", err)
	}
	_, err = await(t, c, sess)
	wantKind(t, err, signing.KindPINBlocked)

	// Afterwards the SIM refuses new requests.
	req, _ = request(t, c, msisdn)
	_, err = signOnce(t, c, req)
	wantKind(t, err, signing.KindPINBlocked)
}

func TestBusyWhileAnotherRequestIsPending(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{})
	c := newClient(t, baseConfig(ts.URL))
	const msisdn = "84911111111"
	first, _ := request(t, c, msisdn)
	first.IdempotencyKey = "first"
	sess, err := c.Start(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := request(t, c, msisdn)
	second.IdempotencyKey = "second"
	_, err = c.Start(context.Background(), second)
	wantKind(t, err, signing.KindBusy)
	if !signing.IsRetryable(err) {
		t.Error("busy must be retryable once the pending request ends")
	}
	// The first request is untouched.
	if err := srv.Phone().Approve(msisdn, "1234"); err != nil {
		t.Fatal(err)
	}
	if _, err := await(t, c, sess); err != nil {
		t.Fatal(err)
	}
}

func TestIdempotentStart(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{})
	c := newClient(t, baseConfig(ts.URL))
	const msisdn = "84933333333"
	req, _ := request(t, c, msisdn)
	req.IdempotencyKey = "VB-doc-42-v3"
	s1, err := c.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.Start(context.Background(), req)
	if err != nil {
		t.Fatalf("second Start with the same key: %v", err)
	}
	if s1.TxID != s2.TxID {
		t.Fatalf("same idempotency key gave two transactions: %s, %s", s1.TxID, s2.TxID)
	}
	pending := waitPending(t, srv, msisdn)
	if pending.APTransID != req.IdempotencyKey {
		t.Fatalf("AP_TransID = %q, want our idempotency key", pending.APTransID)
	}

	// A restarted process retries with the same key: the MSSP recognises
	// the AP_TransID and no second prompt reaches the phone.
	restarted := newClient(t, baseConfig(ts.URL))
	s3, err := restarted.Start(context.Background(), req)
	if err != nil {
		t.Fatalf("Start after restart: %v", err)
	}
	if s3.TxID != s1.TxID {
		t.Fatalf("retry after restart made a new transaction: %s vs %s", s3.TxID, s1.TxID)
	}
	if p, _ := srv.Phone().Pending(msisdn); p.MSSPTransID != pending.MSSPTransID {
		t.Fatalf("phone shows transaction %s, want still %s", p.MSSPTransID, pending.MSSPTransID)
	}

	// The same key for another digest is a programming error, not a retry.
	other := req
	other.Digest = randomDigest(t)
	if _, err := newClient(t, baseConfig(ts.URL)).Start(context.Background(), other); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("reused key for another digest: %v, want bad_request", err)
	}

	if err := srv.Phone().Approve(msisdn, "1234"); err != nil {
		t.Fatal(err)
	}
	// A process that never saw the Start (after a restart) can still poll
	// the async TxID and verifies the signature against the certificate.
	poller := newClient(t, baseConfig(ts.URL))
	res, err := await(t, poller, s1)
	if err != nil {
		t.Fatal(err)
	}
	if res.TxID != s1.TxID || len(res.Signature) == 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestPollAfterExpiry(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{})
	for _, mode := range []etsi204.Mode{etsi204.ModeAsync, etsi204.ModeSync} {
		t.Run(modeName(mode), func(t *testing.T) {
			cfg := baseConfig(ts.URL)
			cfg.Mode = mode
			c := newClient(t, cfg)
			msisdn := "8494444444" + map[etsi204.Mode]string{etsi204.ModeAsync: "1", etsi204.ModeSync: "3"}[mode]
			req, _ := request(t, c, msisdn)
			req.Timeout = time.Second
			sess, err := c.Start(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Until(sess.ExpiresAt); d <= 0 || d > 2*time.Second {
				t.Fatalf("session expires in %v, want about 1s", d)
			}
			waitPending(t, srv, msisdn)
			time.Sleep(1500 * time.Millisecond)
			_, err = await(t, c, sess)
			wantKind(t, err, signing.KindExpired)
			// The phone no longer accepts a PIN for it.
			if err := srv.Phone().Approve(msisdn, "1234"); !errors.Is(err, mssp.ErrNoPending) {
				t.Fatalf("Approve after expiry: %v", err)
			}
		})
	}
}

func TestFormatsAndSOAPVersions(t *testing.T) {
	_, ts := simulator(t, mssp.Options{Latency: time.Millisecond})
	for _, f := range []etsi204.Format{etsi204.FormatPKCS1, etsi204.FormatCMS} {
		for _, v := range []wire.SOAPVersion{wire.SOAP11, wire.SOAP12} {
			for _, ec := range []bool{true, false} {
				name := map[etsi204.Format]string{etsi204.FormatPKCS1: "pkcs1", etsi204.FormatCMS: "cms"}[f] + "/soap" + v.String()
				if ec {
					name += "/p256"
				} else {
					name += "/rsa"
				}
				t.Run(name, func(t *testing.T) {
					cfg := baseConfig(ts.URL)
					cfg.Format, cfg.SOAP = f, v
					c := newClient(t, cfg)
					req, cert := request(t, c, mssp.ScenarioMSISDN(mssp.ScenarioApprove, ec))
					res, err := signOnce(t, c, req)
					if err != nil {
						t.Fatal(err)
					}
					if err := signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
						t.Fatal(err)
					}
					if ec && res.Signature[0] != 0x30 {
						t.Errorf("ECDSA signature is not DER: %x", res.Signature)
					}
					if f == etsi204.FormatCMS && (len(res.Certificates) == 0 || !res.Certificates[0].Equal(cert)) {
						t.Errorf("CMS result does not carry the signer's chain")
					}
				})
			}
		}
	}
}

func TestDTBSMismatchFailsClosed(t *testing.T) {
	// An RSA SIM given a bare digest signs it without a DigestInfo; the
	// result must not pass as a PKCS#1 v1.5 signature over our digest.
	_, ts := simulator(t, mssp.Options{Latency: time.Millisecond})
	cfg := baseConfig(ts.URL)
	cfg.DTBS = etsi204.DTBSDigest
	c := newClient(t, cfg)
	req, _ := request(t, c, mssp.ScenarioMSISDN(mssp.ScenarioApprove, false))
	_, err := signOnce(t, c, req)
	wantKind(t, err, signing.KindBadSignature)
}

func TestAPCredentials(t *testing.T) {
	_, ts := simulator(t, mssp.Options{Latency: time.Millisecond})
	cfg := baseConfig(ts.URL)
	cfg.APPassword = "wrong"
	cfg.Lookup = nil
	c := newClient(t, cfg)
	_, err := c.Certificates(context.Background(), "84955555551")
	wantKind(t, err, signing.KindUnauthorized)

	// With a certificate pinned some other way, the SOAP call is refused
	// with fault 104.
	_, good := simulator(t, mssp.Options{})
	chain, err := newClient(t, baseConfig(good.URL)).Certificates(context.Background(), "84955555551")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Lookup = staticLookup(chain)
	c = newClient(t, cfg)
	req, _ := request(t, c, "84955555551")
	_, err = c.Start(context.Background(), req)
	wantKind(t, err, signing.KindUnauthorized)
	var e *signing.Error
	if errors.As(err, &e); e.Code != "_104" {
		t.Errorf("code = %q, want _104", e.Code)
	}
}

func TestBadRequests(t *testing.T) {
	_, ts := simulator(t, mssp.Options{})
	c := newClient(t, baseConfig(ts.URL))
	req, _ := request(t, c, "84966666661")
	cases := map[string]func(r *signing.Request){
		"short digest":     func(r *signing.Request) { r.Digest = r.Digest[:10] },
		"SHA-1":            func(r *signing.Request) { r.Hash = crypto.SHA1; r.Digest = r.Digest[:20] },
		"PSS":              func(r *signing.Request) { r.Algorithm = signing.RSAPSS },
		"algorithm vs key": func(r *signing.Request) { r.Algorithm = signing.RSAPKCS1v15 },
		"long display":     func(r *signing.Request) { r.DisplayText = strings.Repeat("Văn bản ", 10) },
		"bad number":       func(r *signing.Request) { r.SignerID = "09x1234567" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := req
			mutate(&r)
			_, err := c.Start(context.Background(), r)
			wantKind(t, err, signing.KindBadRequest)
		})
	}
	if _, err := c.Poll(context.Background(), "not-a-tx", 0); signing.KindOf(err) != signing.KindBadRequest {
		t.Errorf("Poll of garbage: %v", err)
	}
}

func TestProviderDown(t *testing.T) {
	_, ts := simulator(t, mssp.Options{})
	chain, err := newClient(t, baseConfig(ts.URL)).Certificates(context.Background(), "84977777771")
	if err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	cfg := baseConfig(deadURL)
	cfg.Lookup = staticLookup(chain)
	c := newClient(t, cfg)
	req, _ := request(t, c, "84977777771")
	_, err = c.Start(context.Background(), req)
	wantKind(t, err, signing.KindUnavailable)
	if !signing.IsRetryable(err) {
		t.Error("provider down must be retryable")
	}
}

// A front that fails the first attempts with 503, like a load balancer
// during a deploy: the client retries with the same AP_TransID and the
// request goes through once.
func TestTransientFailureIsRetried(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{})
	var calls atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && calls.Add(1) <= 2 {
			http.Error(w, "upstream restarting", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := newClient(t, baseConfig(front.URL))
	_ = ts
	req, _ := request(t, c, "84988888881")
	sess, err := c.Start(context.Background(), req)
	if err != nil {
		t.Fatalf("Start through a flaky front: %v", err)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("%d POSTs, want 3 (two failures, one success)", got)
	}
	if p := waitPending(t, srv, "84988888881"); p.APTransID == "" {
		t.Fatal("no pending request")
	}
	if err := srv.Phone().Approve("84988888881", "1234"); err != nil {
		t.Fatal(err)
	}
	if _, err := await(t, c, sess); err != nil {
		t.Fatal(err)
	}
}

func TestSignAndWait(t *testing.T) {
	_, ts := simulator(t, mssp.Options{Latency: 10 * time.Millisecond})
	for _, mode := range []etsi204.Mode{etsi204.ModeAsync, etsi204.ModeSync} {
		cfg := baseConfig(ts.URL)
		cfg.Mode = mode
		c := newClient(t, cfg)
		req, cert := request(t, c, mssp.ScenarioMSISDN(mssp.ScenarioApprove, true))
		var code string
		sig, err := signing.SignAndWait(context.Background(), c, cert, req, signing.WaitOptions{
			OnSession: func(s *signing.Session) { code = s.VerificationCode },
		})
		if err != nil {
			t.Fatalf("%s: %v", modeName(mode), err)
		}
		if code == "" || len(sig) == 0 {
			t.Fatalf("%s: code %q, sig %x", modeName(mode), code, sig)
		}
	}
}

func TestCircuitBreaker(t *testing.T) {
	srv, _ := simulator(t, mssp.Options{})
	var down atomic.Bool
	var posts atomic.Int32
	down.Store(true)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			if down.Load() {
				http.Error(w, "maintenance", http.StatusBadGateway)
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	defer front.Close()
	cfg := baseConfig(front.URL)
	cfg.MaxAttempts = 1
	cfg.BreakerThreshold = 2
	cfg.BreakerCooldown = time.Second
	c := newClient(t, cfg)
	req, _ := request(t, c, "84999000001")

	for i := 0; i < 2; i++ {
		if _, err := c.Start(context.Background(), req); signing.KindOf(err) != signing.KindUnavailable {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	// Open: refused without reaching the MSSP.
	_, err := c.Start(context.Background(), req)
	wantKind(t, err, signing.KindUnavailable)
	if !strings.Contains(err.Error(), "circuit open") || posts.Load() != 2 {
		t.Fatalf("open breaker: %v after %d POSTs", err, posts.Load())
	}
	// After the cooldown one probe goes through; the MSSP is back.
	down.Store(false)
	time.Sleep(1100 * time.Millisecond)
	sess, err := c.Start(context.Background(), req)
	if err != nil {
		t.Fatalf("probe after cooldown: %v", err)
	}
	if err := srv.Phone().Approve("84999000001", "1234"); err != nil {
		t.Fatal(err)
	}
	if _, err := await(t, c, sess); err != nil {
		t.Fatal(err)
	}
}

// A retry under the same idempotency key is a new attempt only when the
// previous one failed in a retryable way (phone out of reach); otherwise it
// is the same transaction with the same outcome.
func TestRetryWithSameKey(t *testing.T) {
	_, ts := simulator(t, mssp.Options{Latency: time.Millisecond})
	for _, mode := range []etsi204.Mode{etsi204.ModeAsync, etsi204.ModeSync} {
		t.Run(modeName(mode), func(t *testing.T) {
			cfg := baseConfig(ts.URL)
			cfg.Mode = mode
			c := newClient(t, cfg)

			absent, _ := request(t, c, mssp.ScenarioMSISDN(mssp.ScenarioAbsent, true))
			absent.IdempotencyKey = "retry-absent-" + modeName(mode)
			s1, err := c.Start(context.Background(), absent)
			if err != nil {
				t.Fatal(err)
			}
			_, err = await(t, c, s1)
			wantKind(t, err, signing.KindUnreachable)
			s2, err := c.Start(context.Background(), absent)
			if err != nil {
				t.Fatal(err)
			}
			if mode == etsi204.ModeAsync && s2.TxID == s1.TxID {
				t.Fatal("retry after an unreachable phone did not reach the MSSP again")
			}
			_, err = await(t, c, s2)
			wantKind(t, err, signing.KindUnreachable)

			declined, _ := request(t, c, mssp.ScenarioMSISDN(mssp.ScenarioDecline, true))
			declined.IdempotencyKey = "retry-declined-" + modeName(mode)
			d1, err := c.Start(context.Background(), declined)
			if err != nil {
				t.Fatal(err)
			}
			_, err = await(t, c, d1)
			wantKind(t, err, signing.KindDeclined)
			d2, err := c.Start(context.Background(), declined)
			if err != nil || d2.TxID != d1.TxID {
				t.Fatalf("same key after a decline: %v, %v; want the same transaction", d2, err)
			}

			other := declined
			other.Digest = randomDigest(t)
			_, err = c.Start(context.Background(), other)
			wantKind(t, err, signing.KindBadRequest)
		})
	}
}

func TestSlowMSSPTimesOut(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{ResponseDelay: 300 * time.Millisecond})
	chain, err := srv.Certificates("84922000001")
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(ts.URL)
	cfg.RequestTimeout = 50 * time.Millisecond
	cfg.MaxAttempts = 2
	cfg.Lookup = staticLookup(chain)
	c := newClient(t, cfg)
	req, _ := request(t, c, "84922000001")
	began := time.Now()
	_, err = c.Start(context.Background(), req)
	wantKind(t, err, signing.KindUnavailable)
	if !strings.Contains(err.Error(), "did not answer in time") {
		t.Errorf("error does not say it timed out: %v", err)
	}
	if d := time.Since(began); d > 550*time.Millisecond { // two full answers would take 600 ms
		t.Errorf("two attempts of 50 ms took %v", d)
	}
}

func TestNationalNumbers(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{})
	c := newClient(t, baseConfig(ts.URL))
	for _, n := range []string{"0912345673", "+84912345673", "0084912345673"} {
		chain, err := c.Certificates(context.Background(), n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		want, _ := srv.Certificates("84912345673")
		if !chain[0].Equal(want[0]) {
			t.Fatalf("%s: not the certificate of 84912345673", n)
		}
	}
	req, _ := request(t, c, "0912345673")
	if _, err := c.Start(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Phone().Pending("84912345673"); !ok {
		t.Fatal("the request did not reach 84912345673")
	}
}
