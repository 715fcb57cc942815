package mysign_test

import (
	"context"
	"crypto"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/mysign"
	"vanban/signing/mysign/mysignsim"
	"vanban/signing/providertest"
)

const leader = "001088012345"

func newEnv(t *testing.T) (*mysignsim.Server, *httptest.Server, *mysign.Client) {
	t.Helper()
	sim, err := mysignsim.NewServer(mysignsim.Options{ClientID: "vanban-test", ClientSecret: "s3cret", ProfileID: "adss:ras:profile:001"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	mux := http.NewServeMux()
	mux.Handle("/mysign/", sim)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	env := func(n string) (string, bool) { return "s3cret", n == "MYSIGN_SECRET" }
	p, err := signing.Open("mysign:"+ts.URL+"/mysign?client-id=vanban-test&client-secret-env=MYSIGN_SECRET&profile-id=adss:ras:profile:001&poll-interval=10ms&user="+leader, env)
	if err != nil {
		t.Fatal(err)
	}
	return sim, ts, p.(*mysign.Client)
}

func approve(t *testing.T, sim *mysignsim.Server, user string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := sim.Pending(user); ok {
			if err := sim.Approve(user); err != nil {
				t.Fatal(err)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("nothing pending for %s", user)
}

func TestConformance(t *testing.T) {
	sim, _, c := newEnv(t)
	providertest.Run(t, providertest.Harness{
		Provider: c,
		Signer:   leader,
		Approve: func(t *testing.T, user string, _ *signing.Session) {
			if user == leader {
				approve(t, sim, user)
			}
		},
		DeviceRequests: sim.Prompts,
		WrongKey:       providertest.Signer{ID: mysignsim.ScenarioUser(mysignsim.ScenarioWrongKey)},
		OtherHash:      providertest.Signer{ID: mysignsim.ScenarioUser(mysignsim.ScenarioOtherDigest)},
		Declines:       mysignsim.ScenarioUser(mysignsim.ScenarioDecline),
		NoCertificate:  mysignsim.ScenarioUser(mysignsim.ScenarioNoCertificate),
	})
}

func await(t *testing.T, c signing.Provider, txID string) *signing.Result {
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

func request(t *testing.T, user string) signing.Request {
	return signing.Request{IdempotencyKey: providertest.NewKey(t), SignerID: user, Digest: providertest.Digest(t, crypto.SHA256),
		Hash: crypto.SHA256, Algorithm: signing.RSAPKCS1v15, DisplayText: "Ký Tờ trình 3/TTr-UBND"}
}

func TestScenarios(t *testing.T) {
	sim, _, c := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		sc   mysignsim.Scenario
		kind signing.Kind
		at   string
	}{
		{mysignsim.ScenarioApprove, 0, "poll"},
		{mysignsim.ScenarioDecline, signing.KindDeclined, "poll"},
		{mysignsim.ScenarioExpire, signing.KindExpired, "poll"},
		{mysignsim.ScenarioWrongKey, signing.KindBadSignature, "poll"},
		{mysignsim.ScenarioOtherDigest, signing.KindBadSignature, "poll"},
		{mysignsim.ScenarioRevoked, signing.KindNoCertificate, "certificates"},
		{mysignsim.ScenarioNoCertificate, signing.KindNoCertificate, "certificates"},
		{mysignsim.ScenarioServiceError, signing.KindUnavailable, "start"},
		{mysignsim.ScenarioBusy, signing.KindBusy, "start"},
	} {
		t.Run(tc.sc.String(), func(t *testing.T) {
			user := mysignsim.ScenarioUser(tc.sc)
			_, err := c.Certificates(ctx, user)
			if tc.at == "certificates" {
				if signing.KindOf(err) != tc.kind {
					t.Fatalf("Certificates: %v, want %v", err, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			before := sim.Calls("signHash")
			sess, err := c.Start(ctx, request(t, user))
			if tc.at == "start" {
				if signing.KindOf(err) != tc.kind {
					t.Fatalf("Start: %v, want %v", err, tc.kind)
				}
				if n := sim.Calls("signHash") - before; n != 1 {
					t.Fatalf("signHash called %d times: it must not be retried", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res := await(t, c, sess.TxID)
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

// TestBatchAndRestart: ten hashes approved once; a new client (a restarted
// process) polls and verifies each by its transaction id alone.
func TestBatchAndRestart(t *testing.T) {
	sim, ts, c := newEnv(t)
	ctx := context.Background()
	chain, err := c.Certificates(ctx, leader)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []signing.Request
	for range 10 {
		reqs = append(reqs, request(t, leader))
	}
	ss, err := c.StartBatch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.StartBatch(ctx, reqs); err != nil || again[3].TxID != ss[3].TxID {
		t.Fatalf("retry of the batch: %v", err)
	}
	approve(t, sim, leader)
	if n := sim.Prompts(leader); n != 1 {
		t.Fatalf("%d prompts", n)
	}
	fresh, err := mysign.New(mysign.Config{BaseURL: ts.URL + "/mysign", ClientID: "vanban-test", ClientSecret: "s3cret", ProfileID: "adss:ras:profile:001"})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ss {
		res := await(t, fresh, s.TxID)
		if res.Status != signing.StatusSigned {
			t.Fatalf("%d: %v %v", i, res.Status, res.Err)
		}
		if err := signing.VerifySignature(chain[0], crypto.SHA256, signing.RSAPKCS1v15, reqs[i].Digest, res.Signature); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTokensAndCredentials(t *testing.T) {
	sim, ts, c := newEnv(t)
	ctx := context.Background()
	if _, err := c.Certificates(ctx, leader); err != nil {
		t.Fatal(err)
	}
	logins := sim.Calls("login")
	sim.ExpireTokens()
	sess, err := c.Start(ctx, request(t, leader))
	if err != nil {
		t.Fatal(err)
	}
	if sim.Calls("login") != logins+1 {
		t.Fatalf("an expired token was not renewed once (%d logins)", sim.Calls("login")-logins)
	}
	approve(t, sim, leader)
	if res := await(t, c, sess.TxID); res.Status != signing.StatusSigned {
		t.Fatal(res.Err)
	}
	bad, err := mysign.New(mysign.Config{BaseURL: ts.URL + "/mysign", ClientID: "vanban-test", ClientSecret: "wrong", ProfileID: "adss:ras:profile:001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Certificates(ctx, leader); signing.KindOf(err) != signing.KindUnauthorized {
		t.Fatalf("wrong secret: %v", err)
	}
	sim.SetDown(true)
	if _, err := c.Poll(ctx, sess.TxID, 0); signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("down: %v", err)
	}
	sim.SetDown(false)
	for _, raw := range []string{
		"mysign:http://example.com/x?client-id=a&client-secret-env=S&profile-id=p",
		"mysign:https://example.com/x?client-secret-env=S&profile-id=p",
		"mysign:https://example.com/x?client-id=a&client-secret-env=S",
		"mysign:?client-id=a",
	} {
		u, _ := url.Parse(raw)
		if _, err := mysign.Open(u, func(n string) (string, bool) { return "x", n == "S" }); signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("%s: %v", raw, err)
		}
	}
	resp, err := http.Get(ts.URL + "/mysign/phone/" + leader)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("phone page: %v %v", err, resp)
	}
	resp.Body.Close()
}
