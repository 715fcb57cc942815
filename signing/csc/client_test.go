package csc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/csc"
	"vanban/signing/csc/cscsim"
)

// clock is a settable clock for the simulator, so tests can let approvals,
// SADs and tokens expire without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	sim   *cscsim.Server
	srv   *httptest.Server
	clock *clock
	uri   string
}

// testKeys makes the shared keys once.
func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		rsaKey, keysErr = rsa.GenerateKey(rand.Reader, 2048)
		if keysErr == nil {
			ecKey, keysErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
}

var (
	keysErr  error
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

// newEnv starts the simulator behind a real HTTP server under /csc/v2. The
// default credentials reuse one RSA and one EC key for the whole run, since
// RSA key generation dominates the test time otherwise.
func newEnv(t *testing.T, opts cscsim.Options) *env {
	t.Helper()
	testKeys(t)
	if opts.Credentials == nil {
		opts.Credentials = []cscsim.CredentialSpec{
			{ID: "seal-rsa", Key: "rsa", Signer: rsaKey, Subject: "Con dấu Văn phòng"},
			{ID: "leader-ec", Key: "ec", Signer: ecKey, Async: true, Subject: "Nguyễn Văn Lãnh Đạo"},
		}
	}
	clk := &clock{now: time.Now()}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	sim, err := cscsim.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/csc/v2/", sim)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Setenv("VANBAN_TEST_CSC_SECRET", "vanban-secret")
	return &env{sim: sim, srv: srv, clock: clk, uri: "csc:" + srv.URL + "/csc/v2?client-id=vanban&client-secret-env=VANBAN_TEST_CSC_SECRET&poll-interval=5ms"}
}

func (e *env) open(t *testing.T, extra string) *csc.Client {
	t.Helper()
	p, err := signing.Open(e.uri+extra, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := p.(*csc.Client)
	if !ok {
		t.Fatalf("provider is %T", p)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func request(key, text string, alg signing.Algorithm) signing.Request {
	return signing.Request{IdempotencyKey: key, Digest: digest(text), Hash: crypto.SHA256, Algorithm: alg, DisplayText: text}
}

var quick = signing.WaitOptions{MaxAttempts: 1}

func TestRegistered(t *testing.T) {
	if !slices.Contains(signing.Schemes(), "csc") {
		t.Fatalf("schemes %v", signing.Schemes())
	}
}

func TestSynchronousCredential(t *testing.T) {
	e := newEnv(t, cscsim.Options{})
	c := e.open(t, "&credential=seal-rsa")
	ctx := context.Background()

	chain, err := c.Certificates(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || !chain[0].Equal(e.sim.Certificate("seal-rsa")) || !chain[1].Equal(e.sim.CA()) {
		t.Fatalf("chain of %d, leaf %q", len(chain), chain[0].Subject)
	}
	caps := c.Capabilities()
	if caps.Synchronous || !slices.Contains(caps.Algorithms, signing.RSAPSS) || slices.Contains(caps.Algorithms, signing.ECDSA) {
		t.Fatalf("capabilities %+v", caps)
	}
	for _, alg := range []signing.Algorithm{signing.RSAPKCS1v15, signing.RSAPSS} {
		t.Run(alg.String(), func(t *testing.T) {
			req := request("", "Quyết định 12/QĐ-UBND "+alg.String(), alg)
			sig, err := signing.SignAndWait(ctx, c, chain[0], req, quick)
			if err != nil {
				t.Fatal(err)
			}
			if err := signing.VerifySignature(chain[0], crypto.SHA256, alg, req.Digest, sig); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("SHA-384", func(t *testing.T) {
		d := sha512.Sum384([]byte("x"))
		req := signing.Request{Digest: d[:], Hash: crypto.SHA384, Algorithm: signing.RSAPKCS1v15}
		if _, err := signing.SignAndWait(ctx, c, chain[0], req, quick); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ECDSA refused for an RSA key", func(t *testing.T) {
		_, err := c.Start(ctx, request("", "x", signing.ECDSA))
		if signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAsynchronousApproval(t *testing.T) {
	e := newEnv(t, cscsim.Options{})
	c := e.open(t, "&credential=leader-ec")
	ctx := context.Background()
	chain, err := c.Certificates(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	req := request("our-tx-1", "Ký Quyết định 12/QĐ-UBND", signing.ECDSA)
	sess, err := c.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if sess.ExpiresAt.Before(time.Now()) || sess.PollInterval != 5*time.Millisecond {
		t.Fatalf("session %+v", sess)
	}
	res, err := c.Poll(ctx, sess.TxID, 0)
	if err != nil || res.Status != signing.StatusPending {
		t.Fatalf("before approval: %+v, %v", res, err)
	}
	pending := e.sim.Pending()
	if len(pending) != 1 || pending[0].Description != req.DisplayText || string(pending[0].Hashes[0]) != string(req.Digest) {
		t.Fatalf("the phone shows %+v", pending)
	}
	if err := e.sim.Approve(pending[0].ResponseID); err != nil {
		t.Fatal(err)
	}
	res, err = c.Poll(ctx, sess.TxID, 0)
	if err != nil || res.Status != signing.StatusSigned {
		t.Fatalf("after approval: %+v, %v", res, err)
	}
	if !ecdsa.VerifyASN1(chain[0].PublicKey.(*ecdsa.PublicKey), req.Digest, res.Signature) {
		t.Fatal("signature is not a DER ECDSA signature over our digest")
	}
	// The outcome is stable: polling again neither signs again nor fails.
	again, err := c.Poll(ctx, sess.TxID, 0)
	if err != nil || string(again.Signature) != string(res.Signature) {
		t.Fatalf("second poll: %+v, %v", again, err)
	}
	if n := e.sim.Calls("signatures/signHash"); n != 1 {
		t.Fatalf("signHash called %d times", n)
	}
}

func TestApprovalDelayWithSignAndWait(t *testing.T) {
	e := newEnv(t, cscsim.Options{ApprovalDelay: 30 * time.Millisecond, Now: time.Now})
	c := e.open(t, "&credential=leader-ec")
	chain, _ := c.Certificates(context.Background(), "")
	var sessions int
	opts := signing.WaitOptions{MaxAttempts: 1, OnSession: func(*signing.Session) { sessions++ }}
	req := request("k", "Văn bản", signing.ECDSA)
	sig, err := signing.SignAndWait(context.Background(), c, chain[0], req, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.VerifySignature(chain[0], crypto.SHA256, signing.ECDSA, req.Digest, sig); err != nil {
		t.Fatal(err)
	}
	if sessions != 1 || e.sim.Calls("credentials/authorizeCheck") < 2 {
		t.Fatalf("sessions %d, checks %d: want one session polled until approved", sessions, e.sim.Calls("credentials/authorizeCheck"))
	}
}

func TestDecline(t *testing.T) {
	e := newEnv(t, cscsim.Options{})
	c := e.open(t, "&credential=leader-ec")
	ctx := context.Background()
	sess, err := c.Start(ctx, request("k", "x", signing.ECDSA))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Decline(e.sim.Pending()[0].ResponseID); err != nil {
		t.Fatal(err)
	}
	res, err := c.Poll(ctx, sess.TxID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != signing.StatusFailed || res.Err.Kind != signing.KindDeclined || res.Err.Code != "access_denied" {
		t.Fatalf("result %+v (%v)", res, res.Err)
	}
	if e.sim.Calls("signatures/signHash") != 0 {
		t.Fatal("signHash called for a declined request")
	}
}

func TestApprovalTimesOut(t *testing.T) {
	e := newEnv(t, cscsim.Options{ApprovalTimeout: time.Minute})
	c := e.open(t, "&credential=leader-ec")
	ctx := context.Background()
	sess, err := c.Start(ctx, request("k", "x", signing.ECDSA))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	res, err := c.Poll(ctx, sess.TxID, 0)
	if err != nil || res.Status != signing.StatusFailed || res.Err.Kind != signing.KindExpired {
		t.Fatalf("result %+v, %v", res, err)
	}
}

func TestExpiredSAD(t *testing.T) {
	t.Run("async: the approval is lost", func(t *testing.T) {
		e := newEnv(t, cscsim.Options{})
		c := e.open(t, "&credential=leader-ec")
		ctx := context.Background()
		sess, err := c.Start(ctx, request("k", "x", signing.ECDSA))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sim.Approve(e.sim.Pending()[0].ResponseID); err != nil {
			t.Fatal(err)
		}
		e.sim.ExpireSADs()
		res, err := c.Poll(ctx, sess.TxID, 0)
		if err != nil || res.Status != signing.StatusFailed || res.Err.Kind != signing.KindExpired {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
	t.Run("sync: authorize again", func(t *testing.T) {
		e := newEnv(t, cscsim.Options{})
		c := e.open(t, "&credential=seal-rsa")
		chain, _ := c.Certificates(context.Background(), "")
		e.sim.Fail("signatures/signHash", cscsim.Fault{Status: 400, Error: "invalid_request", Description: "SAD expired"})
		if _, err := signing.SignAndWait(context.Background(), c, chain[0], request("k", "x", signing.RSAPKCS1v15), quick); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.Calls("credentials/authorize"); n != 2 {
			t.Fatalf("authorize called %d times, want 2", n)
		}
	})
}

func TestWrongClientCredentials(t *testing.T) {
	e := newEnv(t, cscsim.Options{})
	t.Setenv("WRONG_SECRET", "guess")
	p, err := signing.Open(strings.Replace(e.uri, "VANBAN_TEST_CSC_SECRET", "WRONG_SECRET", 1)+"&credential=seal-rsa", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Certificates(context.Background(), "")
	var se *signing.Error
	if !errors.As(err, &se) || se.Kind != signing.KindUnauthorized || se.Code != "invalid_client" || se.Provider != "csc" {
		t.Fatalf("err = %v", err)
	}
	if _, err := p.Start(context.Background(), request("", "x", signing.RSAPKCS1v15)); signing.KindOf(err) != signing.KindUnauthorized {
		t.Fatalf("Start: err = %v", err)
	}
}

func TestServerDown(t *testing.T) {
	t.Run("503", func(t *testing.T) {
		e := newEnv(t, cscsim.Options{})
		c := e.open(t, "&credential=seal-rsa")
		e.sim.SetDown(true)
		_, err := c.Certificates(context.Background(), "")
		if signing.KindOf(err) != signing.KindUnavailable || !signing.IsRetryable(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		e := newEnv(t, cscsim.Options{})
		c := e.open(t, "&credential=seal-rsa")
		e.srv.Close()
		_, err := c.Start(context.Background(), request("", "x", signing.RSAPKCS1v15))
		if signing.KindOf(err) != signing.KindUnavailable {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("signHash fails once, the retry uses the same SAD", func(t *testing.T) {
		e := newEnv(t, cscsim.Options{})
		c := e.open(t, "&credential=seal-rsa")
		chain, _ := c.Certificates(context.Background(), "")
		e.sim.Fail("signatures/signHash", cscsim.Fault{Status: 503, Error: "temporarily_unavailable"})
		sess, err := c.Start(context.Background(), request("k", "x", signing.RSAPKCS1v15))
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Poll(context.Background(), sess.TxID, 0)
		if err != nil || res.Status != signing.StatusSigned {
			t.Fatalf("result %+v, %v", res, err)
		}
		if err := signing.VerifySignature(chain[0], crypto.SHA256, signing.RSAPKCS1v15, digest("x"), res.Signature); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.Calls("credentials/authorize"); n != 1 {
			t.Fatalf("authorize called %d times", n)
		}
	})
	t.Run("poll while down is a poll error, not a failure", func(t *testing.T) {
		e := newEnv(t, cscsim.Options{})
		c := e.open(t, "&credential=leader-ec")
		sess, err := c.Start(context.Background(), request("k", "x", signing.ECDSA))
		if err != nil {
			t.Fatal(err)
		}
		e.sim.SetDown(true)
		if _, err := c.Poll(context.Background(), sess.TxID, 0); signing.KindOf(err) != signing.KindUnavailable {
			t.Fatalf("err = %v", err)
		}
		e.sim.SetDown(false)
		if err := e.sim.Approve(e.sim.Pending()[0].ResponseID); err != nil {
			t.Fatal(err)
		}
		if res, err := c.Poll(context.Background(), sess.TxID, 0); err != nil || res.Status != signing.StatusSigned {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
}

func TestSignatureOverAnotherHash(t *testing.T) {
	for _, cred := range []string{"seal-rsa", "leader-ec"} {
		t.Run(cred, func(t *testing.T) {
			e := newEnv(t, cscsim.Options{ApprovalDelay: time.Nanosecond, Now: time.Now})
			c := e.open(t, "&credential="+cred)
			chain, _ := c.Certificates(context.Background(), "")
			alg, _ := signing.AlgorithmFor(chain[0])
			e.sim.SignOtherHash(cred, true)
			sess, err := c.Start(context.Background(), request("k", "x", alg))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Poll(context.Background(), sess.TxID, 0)
			if err != nil || res.Status != signing.StatusFailed || res.Err.Kind != signing.KindBadSignature || res.Signature != nil {
				t.Fatalf("result %+v, %v", res, err)
			}
		})
	}
}

func TestIdempotentStart(t *testing.T) {
	e := newEnv(t, cscsim.Options{})
	c := e.open(t, "&credential=leader-ec")
	ctx := context.Background()
	s1, err := c.Start(ctx, request("same", "x", signing.ECDSA))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.Start(ctx, request("same", "x", signing.ECDSA))
	if err != nil {
		t.Fatal(err)
	}
	if s1.TxID != s2.TxID {
		t.Fatal("same idempotency key gave two transactions")
	}
	if n := e.sim.Calls("credentials/authorize"); n != 1 || len(e.sim.Pending()) != 1 {
		t.Fatalf("authorize called %d times; the phone shows %d requests", n, len(e.sim.Pending()))
	}
	if _, err := c.Start(ctx, request("same", "another document", signing.ECDSA)); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("same key, other digest: err = %v", err)
	}
	s3, err := c.Start(ctx, request("other", "x", signing.ECDSA))
	if err != nil || s3.TxID == s1.TxID {
		t.Fatalf("a different key must start a new transaction: %v", err)
	}
}

func TestPollAfterRestart(t *testing.T) {
	e := newEnv(t, cscsim.Options{})
	ctx := context.Background()
	before := e.open(t, "&credential=leader-ec")
	sess, err := before.Start(ctx, request("k", "x", signing.ECDSA))
	if err != nil {
		t.Fatal(err)
	}
	// A new process knows only the transaction id it stored.
	after := e.open(t, "&credential=leader-ec")
	res, err := after.Poll(ctx, sess.TxID, 0)
	if err != nil || res.Status != signing.StatusPending {
		t.Fatalf("pending: %+v, %v", res, err)
	}
	if err := e.sim.Approve(e.sim.Pending()[0].ResponseID); err != nil {
		t.Fatal(err)
	}
	res, err = after.Poll(ctx, sess.TxID, 0)
	if err != nil || res.Status != signing.StatusSigned {
		t.Fatalf("signed: %+v, %v", res, err)
	}
	leaf := e.sim.Certificate("leader-ec")
	if err := signing.VerifySignature(leaf, crypto.SHA256, signing.ECDSA, digest("x"), res.Signature); err != nil {
		t.Fatal(err)
	}

	t.Run("synchronous credential", func(t *testing.T) {
		// signHash fails inside Start, so the first process ends with
		// nothing but the id; the next one authorizes again by itself.
		e.sim.Fail("signatures/signHash", cscsim.Fault{Status: 502, Error: "server_error"})
		rsaBefore := e.open(t, "&credential=seal-rsa")
		sess, err := rsaBefore.Start(ctx, request("k2", "y", signing.RSAPKCS1v15))
		if err != nil {
			t.Fatal(err)
		}
		rsaAfter := e.open(t, "&credential=seal-rsa")
		res, err := rsaAfter.Poll(ctx, sess.TxID, 0)
		if err != nil || res.Status != signing.StatusSigned {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
	t.Run("garbage id", func(t *testing.T) {
		for _, id := range []string{"nope", "csc1.!!", "csc1.e30"} {
			if _, err := after.Poll(ctx, id, 0); signing.KindOf(err) != signing.KindBadRequest {
				t.Errorf("Poll(%q): err = %v", id, err)
			}
		}
	})
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		method string
		fault  cscsim.Fault
		kind   signing.Kind
	}{
		{"credentials/info", cscsim.Fault{Status: 429, Error: "too_many_requests"}, signing.KindUnavailable},
		{"credentials/info", cscsim.Fault{Status: 500}, signing.KindUnavailable},
		{"credentials/info", cscsim.Fault{Status: 401, Error: "invalid_token", Times: 2}, signing.KindUnauthorized},
		{"credentials/info", cscsim.Fault{Status: 403}, signing.KindUnauthorized},
		{"credentials/info", cscsim.Fault{Status: 400, Error: "invalid_request", Description: "Invalid parameter credentialID"}, signing.KindNoCertificate},
		{"credentials/authorize", cscsim.Fault{Status: 400, Error: "invalid_otp", Description: "The OTP is invalid"}, signing.KindUnauthorized},
		{"credentials/authorize", cscsim.Fault{Status: 400, Error: "access_denied"}, signing.KindDeclined},
		{"credentials/authorize", cscsim.Fault{Status: 400, Error: "invalid_request", Description: "Missing hashes"}, signing.KindBadRequest},
		{"oauth2/token", cscsim.Fault{Status: 400, Error: "invalid_client"}, signing.KindUnauthorized},
		{"oauth2/token", cscsim.Fault{Status: 503}, signing.KindUnavailable},
	} {
		t.Run(tc.method+" "+tc.fault.Error+" "+http.StatusText(tc.fault.Status), func(t *testing.T) {
			e := newEnv(t, cscsim.Options{})
			c := e.open(t, "&credential=seal-rsa")
			e.sim.Fail(tc.method, tc.fault)
			_, err := c.Start(context.Background(), request("", "x", signing.RSAPKCS1v15))
			var se *signing.Error
			if !errors.As(err, &se) || se.Kind != tc.kind || se.Provider != "csc" {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if tc.fault.Error != "" && se.Code != tc.fault.Error {
				t.Errorf("code = %q, want %q", se.Code, tc.fault.Error)
			}
		})
	}
}

func TestTokenRenewal(t *testing.T) {
	e := newEnv(t, cscsim.Options{TokenLifetime: 2 * time.Minute})
	c := e.open(t, "&credential=seal-rsa")
	ctx := context.Background()
	if _, err := c.Credentials(ctx); err != nil {
		t.Fatal(err)
	}
	// The service's clock moves past the token's life while our cached
	// token still looks valid to us: the 401 must trigger one renewal.
	e.clock.Advance(3 * time.Minute)
	ids, err := c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"leader-ec", "seal-rsa"}) {
		t.Fatalf("credentials %v", ids)
	}
	if n := e.sim.Calls("oauth2/token"); n != 2 {
		t.Fatalf("token fetched %d times, want 2", n)
	}
}

func TestCredentialStates(t *testing.T) {
	testKeys(t)
	e := newEnv(t, cscsim.Options{Credentials: []cscsim.CredentialSpec{
		{ID: "pin", Key: "rsa", Signer: rsaKey, PIN: "246810"},
		{ID: "off", Key: "ec", Disabled: true},
		{ID: "raw", Key: "ec", RawECDSA: true},
		{ID: "scal1", Key: "ec", SCAL: 1},
	}})
	ctx := context.Background()
	t.Run("PIN missing", func(t *testing.T) {
		c := e.open(t, "&credential=pin")
		_, err := c.Start(ctx, request("", "x", signing.RSAPKCS1v15))
		var se *signing.Error
		if !errors.As(err, &se) || se.Kind != signing.KindUnauthorized || se.Code != "invalid_pin" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("PIN given", func(t *testing.T) {
		t.Setenv("CSC_PIN", "246810")
		c := e.open(t, "&credential=pin&pin-env=CSC_PIN")
		chain, _ := c.Certificates(ctx, "")
		if _, err := signing.SignAndWait(ctx, c, chain[0], request("", "x", signing.RSAPKCS1v15), quick); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("disabled key", func(t *testing.T) {
		c := e.open(t, "")
		if _, err := c.Certificates(ctx, "off"); signing.KindOf(err) != signing.KindNoCertificate {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown credential", func(t *testing.T) {
		c := e.open(t, "")
		if _, err := c.Certificates(ctx, "nosuch"); signing.KindOf(err) != signing.KindNoCertificate {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no credential at all", func(t *testing.T) {
		c := e.open(t, "")
		if _, err := c.Start(ctx, request("", "x", signing.ECDSA)); signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("err = %v", err)
		}
	})
	for _, id := range []string{"raw", "scal1"} {
		t.Run(id+" via SignerID", func(t *testing.T) {
			c := e.open(t, "")
			chain, err := c.Certificates(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			req := request("", "x", signing.ECDSA)
			req.SignerID = id
			sig, err := signing.SignAndWait(ctx, c, chain[0], req, quick)
			if err != nil {
				t.Fatal(err)
			}
			// Raw r||s from the service comes back as DER.
			if !ecdsa.VerifyASN1(chain[0].PublicKey.(*ecdsa.PublicKey), req.Digest, sig) {
				t.Fatal("not a DER signature over our digest")
			}
		})
	}
	t.Run("info", func(t *testing.T) {
		c := e.open(t, "")
		info, err := c.Info(ctx, "scal1")
		if err != nil {
			t.Fatal(err)
		}
		if info.SCAL != 1 || info.KeyStatus != "enabled" || info.CertStatus != "valid" || len(info.Chain) != 2 || info.AuthMode != "explicit" {
			t.Fatalf("info %+v", info)
		}
	})
}

func TestTLS(t *testing.T) {
	sim, err := cscsim.NewServer(cscsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim)
	// The untrusted case below makes the server log a handshake error.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("S", "vanban-secret")
	base := "csc:" + srv.URL + "?client-id=vanban&client-secret-env=S&credential=seal-rsa"

	p, err := signing.Open(base+"&ca-file="+url.QueryEscape(caFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := p.Certificates(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.SignAndWait(context.Background(), p, chain[0], request("", "x", signing.RSAPKCS1v15), quick); err != nil {
		t.Fatal(err)
	}
	// Without our CA the service's certificate is not trusted.
	p2, err := signing.Open(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Certificates(context.Background(), ""); signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("untrusted TLS: err = %v", err)
	}
}

func TestParseURIErrors(t *testing.T) {
	envFn := func(name string) (string, bool) { return "s", name == "SECRET" }
	for name, tc := range map[string]struct{ uri, msg string }{
		"plain http to a remote host": {"csc:http://signing.example.vn/csc/v2?client-id=a&client-secret-env=SECRET", "https"},
		"no client id":                {"csc:https://signing.example.vn/csc/v2?client-secret-env=SECRET", "client-id"},
		"no secret":                   {"csc:https://signing.example.vn/csc/v2?client-id=a", "client-secret"},
		"secret env unset":            {"csc:https://signing.example.vn/csc/v2?client-id=a&client-secret-env=NOPE", "NOPE"},
		"bad timeout":                 {"csc:https://signing.example.vn/csc/v2?client-id=a&client-secret-env=SECRET&timeout=soon", "timeout"},
		"bad poll interval":           {"csc:https://signing.example.vn/csc/v2?client-id=a&client-secret-env=SECRET&poll-interval=-1s", "poll-interval"},
		"missing ca file":             {"csc:https://signing.example.vn/csc/v2?client-id=a&client-secret-env=SECRET&ca-file=/nonexistent.pem", "ca-file"},
		"no service URL":              {"csc:?client-id=a&client-secret-env=SECRET", "service URL"},
		"relative service URL":        {"csc:signing/csc/v2?client-id=a&client-secret-env=SECRET", "absolute"},
		"ftp":                         {"csc:ftp://signing.example.vn/?client-id=a&client-secret-env=SECRET", "https"},
		"plain http token URL":        {"csc:https://signing.example.vn/csc/v2?client-id=a&client-secret-env=SECRET&token-url=http://idp.example.vn/token", "https"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := signing.Open(tc.uri, envFn)
			if p != nil {
				t.Fatalf("provider %T returned with the error", p)
			}
			if signing.KindOf(err) != signing.KindBadRequest || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want bad_request mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, cscsim.Options{ApprovalDelay: 20 * time.Millisecond, Now: time.Now})
	c := e.open(t, "")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		cred, alg := "seal-rsa", signing.RSAPKCS1v15
		if i%2 == 1 {
			cred, alg = "leader-ec", signing.ECDSA
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			chain, err := c.Certificates(ctx, cred)
			if err != nil {
				errs <- err
				return
			}
			req := request("tx-"+strings.Repeat("x", i), "văn bản "+strings.Repeat("x", i), alg)
			req.SignerID = cred
			_, err = signing.SignAndWait(ctx, c, chain[0], req, quick)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
