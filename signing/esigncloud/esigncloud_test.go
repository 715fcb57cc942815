package esigncloud_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"vanban/signing"
	"vanban/signing/esigncloud"
	"vanban/signing/esigncloud/esigncloudsim"
	"vanban/signing/providertest"
)

const leader = "001088012345"

type env struct {
	sim    *esigncloudsim.Server
	ts     *httptest.Server
	p12    string
	rpCert *rsa.PrivateKey
}

// newEnv registers a relying party whose key is in a PKCS#12 file and
// starts the simulator (with the given method names) over loopback HTTP.
func newEnv(t *testing.T, methods esigncloudsim.Methods) *env {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert := providertest.SelfSigned(t, key, "vanban relying party")
	// With a chain, as a CA hands it out (a bare key and certificate
	// decoder would refuse it).
	issuer := providertest.SelfSigned(t, key, "relying party issuer")
	data, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{issuer}, "p12-pass")
	if err != nil {
		t.Fatal(err)
	}
	p12 := filepath.Join(t.TempDir(), "rp.p12")
	if err := os.WriteFile(p12, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := esigncloudsim.NewServer(esigncloudsim.Options{Methods: methods,
		RelyingParties: map[string]esigncloudsim.RelyingParty{"VANBAN": {User: "vanban", Password: "rp-pass", Certificate: cert}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	mux := http.NewServeMux()
	mux.Handle("/esc/", sim)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &env{sim: sim, ts: ts, p12: p12, rpCert: key}
}

func (e *env) open(t *testing.T, scheme, extra string) signing.Provider {
	t.Helper()
	q := url.Values{"relying-party": {"VANBAN"}, "rp-user": {"vanban"}, "rp-password-env": {"RP_PW"}, "rp-key": {e.p12},
		"rp-key-pass-env": {"P12_PW"}, "poll-interval": {"10ms"}, "agreement": {leader}}
	secrets := map[string]string{"RP_PW": "rp-pass", "P12_PW": "p12-pass"}
	p, err := signing.Open(scheme+":"+e.ts.URL+"/esc?"+q.Encode()+extra, func(n string) (string, bool) { v, ok := secrets[n]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func approve(t *testing.T, sim *esigncloudsim.Server, agreement string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := sim.Pending(agreement); ok {
			if err := sim.Approve(agreement); err != nil {
				t.Fatal(err)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("nothing pending for %s", agreement)
}

func harness(e *env, p signing.Provider) providertest.Harness {
	return providertest.Harness{
		Provider: p,
		Signer:   leader,
		Approve: func(t *testing.T, a string, _ *signing.Session) {
			if a == leader {
				approve(t, e.sim, a)
			}
		},
		DeviceRequests: e.sim.Prompts,
		WrongKey:       providertest.Signer{ID: esigncloudsim.ScenarioAgreement(esigncloudsim.ScenarioWrongKey)},
		OtherHash:      providertest.Signer{ID: esigncloudsim.ScenarioAgreement(esigncloudsim.ScenarioOtherDigest)},
		Declines:       esigncloudsim.ScenarioAgreement(esigncloudsim.ScenarioDecline),
		NoCertificate:  esigncloudsim.ScenarioAgreement(esigncloudsim.ScenarioNoCertificate),
	}
}

func TestConformance(t *testing.T) {
	e := newEnv(t, esigncloudsim.Methods{})
	providertest.Run(t, harness(e, e.open(t, esigncloud.Scheme, "")))
}

// TestConformanceGovernmentCA: the Government CA's mobile PKI, the same
// shape under its own scheme and method names.
func TestConformanceGovernmentCA(t *testing.T) {
	m := esigncloudsim.Methods{Certificate: "certificate", Prepare: "prepare-hash", Authorize: "authorize"}
	e := newEnv(t, m)
	p := e.open(t, esigncloud.SchemeVGCA, "&methods=certificate,prepare-hash,authorize")
	providertest.Run(t, harness(e, p))
	if _, err := p.Certificates(context.Background(), esigncloudsim.ScenarioAgreement(esigncloudsim.ScenarioNoCertificate)); err == nil || err.(*signing.Error).Provider != esigncloud.SchemeVGCA {
		t.Fatalf("errors name the provider %v", err)
	}
}

func TestScenarios(t *testing.T) {
	e := newEnv(t, esigncloudsim.Methods{})
	c := e.open(t, esigncloud.Scheme, "")
	ctx := context.Background()
	for _, tc := range []struct {
		sc   esigncloudsim.Scenario
		kind signing.Kind
		at   string
	}{
		{esigncloudsim.ScenarioApprove, 0, "poll"},
		{esigncloudsim.ScenarioDecline, signing.KindDeclined, "poll"},
		{esigncloudsim.ScenarioExpire, signing.KindExpired, "poll"},
		{esigncloudsim.ScenarioWrongKey, signing.KindBadSignature, "poll"},
		{esigncloudsim.ScenarioOtherDigest, signing.KindBadSignature, "poll"},
		{esigncloudsim.ScenarioRevoked, signing.KindNoCertificate, "certificates"},
		{esigncloudsim.ScenarioNoCertificate, signing.KindNoCertificate, "certificates"},
		{esigncloudsim.ScenarioServiceError, signing.KindUnavailable, "start"},
		{esigncloudsim.ScenarioBusy, signing.KindBusy, "start"},
	} {
		t.Run(tc.sc.String(), func(t *testing.T) {
			a := esigncloudsim.ScenarioAgreement(tc.sc)
			_, err := c.Certificates(ctx, a)
			if tc.at == "certificates" {
				if signing.KindOf(err) != tc.kind {
					t.Fatalf("Certificates: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sess, err := c.Start(ctx, signing.Request{IdempotencyKey: providertest.NewKey(t), SignerID: a, Digest: providertest.Digest(t, crypto.SHA256), Hash: crypto.SHA256, Algorithm: signing.RSAPKCS1v15})
			if tc.at == "start" {
				if signing.KindOf(err) != tc.kind {
					t.Fatalf("Start: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				res, err := c.Poll(ctx, sess.TxID, 0)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status == signing.StatusPending {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if tc.kind == 0 && res.Status != signing.StatusSigned || tc.kind != 0 && (res.Err == nil || res.Err.Kind != tc.kind) {
					t.Fatalf("%v %v, want %v", res.Status, res.Err, tc.kind)
				}
				return
			}
			t.Fatal("still pending")
		})
	}
}

// TestRelyingPartyAuthentication: a wrong password or another key is
// refused as unauthorized; a wrong PKCS#12 password too, at Open.
func TestRelyingPartyAuthentication(t *testing.T) {
	e := newEnv(t, esigncloudsim.Methods{})
	ctx := context.Background()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]esigncloud.Config{
		"wrong password": {BaseURL: e.ts.URL + "/esc", RelyingParty: "VANBAN", RPUser: "vanban", Password: "guess", Key: e.rpCert},
		"another key":    {BaseURL: e.ts.URL + "/esc", RelyingParty: "VANBAN", RPUser: "vanban", Password: "rp-pass", Key: other},
		"unknown party":  {BaseURL: e.ts.URL + "/esc", RelyingParty: "OTHER", RPUser: "vanban", Password: "rp-pass", Key: e.rpCert},
	} {
		c, err := esigncloud.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Certificates(ctx, leader); signing.KindOf(err) != signing.KindUnauthorized {
			t.Fatalf("%s: %v", name, err)
		}
	}
	secrets := map[string]string{"RP_PW": "rp-pass", "P12_PW": "wrong"}
	q := url.Values{"relying-party": {"VANBAN"}, "rp-user": {"vanban"}, "rp-password-env": {"RP_PW"}, "rp-key": {e.p12}, "rp-key-pass-env": {"P12_PW"}}
	if _, err := signing.Open("esigncloud:"+e.ts.URL+"/esc?"+q.Encode(), func(n string) (string, bool) { v, ok := secrets[n]; return v, ok }); signing.KindOf(err) != signing.KindUnauthorized {
		t.Fatalf("wrong PKCS#12 password: %v", err)
	}
	for _, raw := range []string{"esigncloud:http://example.com/x?relying-party=a", "esigncloud:?x=1", "vgca:https://example.com/x?methods=a,b"} {
		if _, err := signing.Open(raw, func(string) (string, bool) { return "", false }); signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("%s: %v", raw, err)
		}
	}
	e.sim.SetDown(true)
	c := e.open(t, esigncloud.Scheme, "")
	if _, err := c.Certificates(ctx, leader); signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("down: %v", err)
	}
}
