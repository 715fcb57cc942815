package smartca_test

import (
	"bytes"
	"context"
	"crypto"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/providertest"
	"vanban/signing/smartca"
	"vanban/signing/smartca/smartcasim"
)

const (
	spPassword     = "sp-secret"
	callbackSecret = "callback-secret"
	leader         = "001088012345"
)

type env struct {
	sim *smartcasim.Server
	srv *httptest.Server
	c   *smartca.Client

	mu        sync.Mutex
	callbacks []*http.Request
	bodies    [][]byte
	got       chan struct{}
}

// newEnv starts the simulator under /smartca over loopback HTTP, with its
// callbacks going to a recording endpoint of the same server.
func newEnv(t *testing.T, opts smartcasim.Options) *env {
	t.Helper()
	e := &env{got: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	opts.SPID, opts.SPPassword = "vanban-test", spPassword
	if opts.CallbackURL == "" {
		opts.CallbackURL = e.srv.URL + "/callback"
	}
	opts.CallbackSecret = callbackSecret
	sim, err := smartcasim.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	e.sim = sim
	mux.Handle("/smartca/", sim)
	mux.HandleFunc("POST /callback", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		e.mu.Lock()
		e.callbacks = append(e.callbacks, r)
		e.bodies = append(e.bodies, b.Bytes())
		e.mu.Unlock()
		e.got <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	})
	env := map[string]string{"SP_PW": spPassword, "CB": callbackSecret}
	p, err := signing.Open("smartca:"+e.srv.URL+"/smartca?sp-id=vanban-test&sp-password-env=SP_PW&callback-secret-env=CB&poll-interval=10ms&user="+leader,
		func(n string) (string, bool) { v, ok := env[n]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	e.c = p.(*smartca.Client)
	return e
}

func (e *env) confirm(t *testing.T, user string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := e.sim.Pending(user); ok {
			if err := e.sim.Confirm(user); err != nil {
				t.Fatal(err)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("nothing pending on %s's phone", user)
}

// lastCallback waits for the next callback and replays it as a request
// to ParseBatchCallback would see.
func (e *env) nextCallback(t *testing.T) (http.Header, []byte) {
	t.Helper()
	select {
	case <-e.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.callbacks[len(e.callbacks)-1].Header, e.bodies[len(e.bodies)-1]
}

func callbackRequest(h http.Header, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/signing/callback/smartca", bytes.NewReader(body))
	r.Header = h.Clone()
	return r
}

func TestConformance(t *testing.T) {
	e := newEnv(t, smartcasim.Options{})
	providertest.Run(t, providertest.Harness{
		Provider: e.c,
		Signer:   leader,
		Approve: func(t *testing.T, user string, _ *signing.Session) {
			if user == leader {
				e.confirm(t, user)
			}
		},
		DeviceRequests: e.sim.Prompts,
		WrongKey:       providertest.Signer{ID: smartcasim.ScenarioUser(smartcasim.ScenarioWrongKey)},
		OtherHash:      providertest.Signer{ID: smartcasim.ScenarioUser(smartcasim.ScenarioOtherDigest)},
		Declines:       smartcasim.ScenarioUser(smartcasim.ScenarioDecline),
		NoCertificate:  smartcasim.ScenarioUser(smartcasim.ScenarioNoCertificate),
	})
}

func request(t *testing.T, c *smartca.Client, user string) (signing.Request, []byte) {
	t.Helper()
	d := providertest.Digest(t, crypto.SHA256)
	return signing.Request{IdempotencyKey: providertest.NewKey(t), SignerID: user, Digest: d, Hash: crypto.SHA256,
		Algorithm: signing.RSAPKCS1v15, DisplayText: "Ký Công văn 7/UBND-VP"}, d
}

func await(t *testing.T, c *smartca.Client, txID string) *signing.Result {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res, err := c.Poll(context.Background(), txID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != signing.StatusPending {
			return res
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("still pending")
	return nil
}

func TestScenarios(t *testing.T) {
	e := newEnv(t, smartcasim.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		sc   smartcasim.Scenario
		kind signing.Kind // 0 signed
		at   string       // certificates | start | poll
	}{
		{smartcasim.ScenarioApprove, 0, "poll"},
		{smartcasim.ScenarioDecline, signing.KindDeclined, "poll"},
		{smartcasim.ScenarioExpire, signing.KindExpired, "poll"},
		{smartcasim.ScenarioWrongKey, signing.KindBadSignature, "poll"},
		{smartcasim.ScenarioOtherDigest, signing.KindBadSignature, "poll"},
		{smartcasim.ScenarioRevoked, signing.KindNoCertificate, "certificates"},
		{smartcasim.ScenarioNoCertificate, signing.KindNoCertificate, "certificates"},
		{smartcasim.ScenarioServiceError, signing.KindUnavailable, "start"},
		{smartcasim.ScenarioBusy, signing.KindBusy, "start"},
	} {
		t.Run(tc.sc.String(), func(t *testing.T) {
			user := smartcasim.ScenarioUser(tc.sc)
			_, err := e.c.Certificates(ctx, user)
			if tc.at == "certificates" {
				if signing.KindOf(err) != tc.kind {
					t.Fatalf("Certificates: %v, want %v", err, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req, _ := request(t, e.c, user)
			before := e.sim.Calls("sign")
			sess, err := e.c.Start(ctx, req)
			if tc.at == "start" {
				if signing.KindOf(err) != tc.kind {
					t.Fatalf("Start: %v, want %v", err, tc.kind)
				}
				// A server error is retried (same transaction id) with
				// backoff; busy is not.
				want := 1
				if tc.kind == signing.KindUnavailable {
					want = 3
				}
				if n := e.sim.Calls("sign") - before; n != want {
					t.Fatalf("%d sign calls, want %d", n, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res := await(t, e.c, sess.TxID)
			if tc.kind == 0 {
				if res.Status != signing.StatusSigned {
					t.Fatalf("%v %v", res.Status, res.Err)
				}
				return
			}
			if res.Status != signing.StatusFailed || res.Err.Kind != tc.kind {
				t.Fatalf("%v %v, want %v", res.Status, res.Err, tc.kind)
			}
		})
	}
}

// TestBatchOneConfirmation signs ten digests in one transaction: one prompt
// on the phone, ten signatures, each verified against its own digest.
func TestBatchOneConfirmation(t *testing.T) {
	e := newEnv(t, smartcasim.Options{})
	ctx := context.Background()
	chain, err := e.c.Certificates(ctx, leader)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []signing.Request
	for range 10 {
		r, _ := request(t, e.c, leader)
		reqs = append(reqs, r)
	}
	ss, err := e.c.StartBatch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	// A retry of the whole batch (a crash before the ids were saved) is
	// the same transaction: no second prompt.
	again, err := e.c.StartBatch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ss {
		if ss[i].TxID != again[i].TxID {
			t.Fatalf("retry of the batch changed transaction %d", i)
		}
	}
	p, ok := e.sim.Pending(leader)
	if !ok || len(p.Documents) != 10 {
		t.Fatalf("phone shows %+v", p)
	}
	e.confirm(t, leader)
	if n := e.sim.Prompts(leader); n != 1 {
		t.Fatalf("%d prompts for one batch", n)
	}
	// A restarted process (a new client) polls and verifies each.
	fresh := newClientLike(t, e)
	for i, s := range ss {
		res := await(t, fresh, s.TxID)
		if res.Status != signing.StatusSigned {
			t.Fatalf("document %d: %v %v", i, res.Status, res.Err)
		}
		if err := signing.VerifySignature(chain[0], crypto.SHA256, signing.RSAPKCS1v15, reqs[i].Digest, res.Signature); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
	}
	// The callback carries the same ten outcomes under the same ids.
	h, body := e.nextCallback(t)
	rs, err := e.c.ParseBatchCallback(callbackRequest(h, body))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 10 {
		t.Fatalf("%d results in the callback", len(rs))
	}
	for i, r := range rs {
		if r.TxID != ss[i].TxID || r.Status != signing.StatusSigned {
			t.Fatalf("callback result %d: %s %v %v", i, r.TxID, r.Status, r.Err)
		}
	}
	// Mixed users, too large or duplicate keys are refused.
	other, _ := request(t, e.c, smartcasim.ScenarioUser(smartcasim.ScenarioApprove))
	if _, err := e.c.StartBatch(ctx, []signing.Request{reqs[0], other}); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("mixed users: %v", err)
	}
	if _, err := e.c.StartBatch(ctx, []signing.Request{reqs[0], reqs[0]}); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("duplicate keys: %v", err)
	}
}

func newClientLike(t *testing.T, e *env) *smartca.Client {
	t.Helper()
	c, err := smartca.New(smartca.Config{BaseURL: e.srv.URL + "/smartca", SPID: "vanban-test", SPPassword: spPassword, CallbackSecret: callbackSecret})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCallbackAuthentication(t *testing.T) {
	e := newEnv(t, smartcasim.Options{})
	ctx := context.Background()
	req, _ := request(t, e.c, smartcasim.ScenarioUser(smartcasim.ScenarioApprove))
	sess, err := e.c.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	h, body := e.nextCallback(t)
	res, err := e.c.ParseCallback(callbackRequest(h, body))
	if err != nil {
		t.Fatal(err)
	}
	if res.TxID != sess.TxID || res.Status != signing.StatusSigned {
		t.Fatalf("callback: %s %v %v", res.TxID, res.Status, res.Err)
	}
	wantUnauthorized := func(name string, h http.Header, body []byte) {
		t.Helper()
		_, err := e.c.ParseCallback(callbackRequest(h, body))
		if signing.KindOf(err) != signing.KindUnauthorized {
			t.Fatalf("%s: %v, want unauthorized", name, err)
		}
	}
	tampered := bytes.Replace(body, []byte(`"SUCCESS"`), []byte(`"REJECTED"`), 1)
	wantUnauthorized("tampered body", h, tampered)
	none := h.Clone()
	none.Del(smartca.SignatureHeader)
	wantUnauthorized("no header", none, body)
	forged := h.Clone()
	forged.Set(smartca.SignatureHeader, smartcasim.SignCallback("not-the-secret", time.Now(), body))
	wantUnauthorized("other secret", forged, body)
	stale := h.Clone()
	stale.Set(smartca.SignatureHeader, smartcasim.SignCallback(callbackSecret, time.Now().Add(-time.Hour), body))
	wantUnauthorized("replayed an hour later", stale, body)
	// A correctly signed callback whose signature is by another key is
	// authenticated but reports a bad signature, never signed.
	wrong, _ := request(t, e.c, smartcasim.ScenarioUser(smartcasim.ScenarioWrongKey))
	if _, err := e.c.Start(ctx, wrong); err != nil {
		t.Fatal(err)
	}
	h, body = e.nextCallback(t)
	res, err = e.c.ParseCallback(callbackRequest(h, body))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != signing.StatusFailed || res.Err.Kind != signing.KindBadSignature {
		t.Fatalf("wrong-key callback: %v %v", res.Status, res.Err)
	}
	// A declined transaction's callback ends its document's request.
	dec, _ := request(t, e.c, smartcasim.ScenarioUser(smartcasim.ScenarioDecline))
	ds, err := e.c.Start(ctx, dec)
	if err != nil {
		t.Fatal(err)
	}
	h, body = e.nextCallback(t)
	res, err = e.c.ParseCallback(callbackRequest(h, body))
	if err != nil || res.TxID != ds.TxID || res.Err == nil || res.Err.Kind != signing.KindDeclined {
		t.Fatalf("declined callback: %+v %v", res, err)
	}
	// Garbage is a bad request once authenticated.
	garbage := []byte("{not json")
	gh := http.Header{}
	gh.Set(smartca.SignatureHeader, smartcasim.SignCallback(callbackSecret, time.Now(), garbage))
	if _, err := e.c.ParseCallback(callbackRequest(gh, garbage)); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("garbage: %v", err)
	}
}

func TestUnavailableAndCredentials(t *testing.T) {
	e := newEnv(t, smartcasim.Options{})
	ctx := context.Background()
	e.sim.SetDown(true)
	if _, err := e.c.Certificates(ctx, leader); signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("down: %v", err)
	}
	e.sim.SetDown(false)
	bad, err := smartca.New(smartca.Config{BaseURL: e.srv.URL + "/smartca", SPID: "vanban-test", SPPassword: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Certificates(ctx, leader); signing.KindOf(err) != signing.KindUnauthorized {
		t.Fatalf("wrong password: %v", err)
	}
	for _, raw := range []string{
		"smartca:http://example.com/x?sp-id=a&sp-password-env=P",
		"smartca:https://example.com/x?sp-password-env=P",
		"smartca:https://example.com/x?sp-id=a&sp-password-env=UNSET",
		"smartca:?sp-id=a",
	} {
		u, _ := url.Parse(raw)
		if _, err := smartca.Open(u, func(n string) (string, bool) { return "pw", n == "P" }); signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("%s: %v", raw, err)
		}
	}
}

func TestPhonePage(t *testing.T) {
	e := newEnv(t, smartcasim.Options{})
	req, _ := request(t, e.c, leader)
	sess, err := e.c.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + "/smartca/phone/" + leader)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(page.String(), "Ký Công văn 7/UBND-VP") || !strings.Contains(page.String(), "/confirm") {
		t.Fatalf("phone page: %s", page.String())
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(e.srv.URL+"/smartca/phone/"+leader+"/confirm", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if res := await(t, e.c, sess.TxID); res.Status != signing.StatusSigned {
		t.Fatalf("%v %v", res.Status, res.Err)
	}
	resp, _ = http.Get(e.srv.URL + "/smartca/phone/not-a-user")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bad user: %d", resp.StatusCode)
	}
}
