package cscsim_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/signing/csc/cscsim"
)

const sha256OID = "2.16.840.1.101.3.4.2.1"

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	sim   *cscsim.Server
	srv   *httptest.Server
	clock *clock
	token string
}

func start(t *testing.T, opts cscsim.Options) *fixture {
	t.Helper()
	clk := &clock{now: time.Now()}
	opts.Now = clk.Now
	sim, err := cscsim.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	f := &fixture{sim: sim, srv: srv, clock: clk}
	f.token = f.getToken(t, "vanban", "vanban-secret")
	return f
}

func (f *fixture) getToken(t *testing.T, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	resp, err := http.PostForm(f.srv.URL+"/csc/v2/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return out["access_token"].(string)
}

// post calls a CSC method and returns the status and decoded JSON body.
func (f *fixture) post(t *testing.T, method string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/csc/v2/"+method, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func wantError(t *testing.T, status int, body map[string]any, wantStatus int, code, descPart string) {
	t.Helper()
	if status != wantStatus || body["error"] != code || !strings.Contains(body["error_description"].(string), descPart) {
		t.Fatalf("got %d %v, want %d %s (%q)", status, body, wantStatus, code, descPart)
	}
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func (f *fixture) authorize(t *testing.T, cred string, n int, hashes ...[]byte) (int, map[string]any) {
	t.Helper()
	hs := []string{}
	for _, h := range hashes {
		hs = append(hs, b64(h))
	}
	return f.post(t, "credentials/authorize", map[string]any{"credentialID": cred, "numSignatures": n, "hashes": hs, "hashAlgorithmOID": sha256OID})
}

func (f *fixture) signHash(t *testing.T, cred, sad, algo string, h []byte) (int, map[string]any) {
	t.Helper()
	return f.post(t, "signatures/signHash", map[string]any{"credentialID": cred, "SAD": sad, "hashes": []string{b64(h)}, "hashAlgorithmOID": sha256OID, "signAlgo": algo})
}

func signature(t *testing.T, body map[string]any) []byte {
	t.Helper()
	sigs, _ := body["signatures"].([]any)
	if len(sigs) != 1 {
		t.Fatalf("signatures in %v", body)
	}
	b, err := base64.StdEncoding.DecodeString(sigs[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	rsaEncryption = "1.2.840.113549.1.1.1"
	ecdsaSHA256   = "1.2.840.10045.4.3.2"
)

func TestOAuth2(t *testing.T) {
	f := start(t, cscsim.Options{})
	if tok := f.getToken(t, "vanban", "wrong"); tok != "" {
		t.Fatal("token issued for a wrong secret")
	}
	// HTTP Basic client authentication works too.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("vanban", "vanban-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("basic auth: %d", resp.StatusCode)
	}
	resp, err = http.PostForm(f.srv.URL+"/oauth2/token", url.Values{"grant_type": {"password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("password grant: %d", resp.StatusCode)
	}

	// /info needs no token; everything else does, and tokens expire.
	good := f.token
	f.token = ""
	if status, _ := f.post(t, "info", map[string]any{}); status != http.StatusOK {
		t.Fatalf("info: %d", status)
	}
	status, body := f.post(t, "credentials/list", map[string]any{})
	wantError(t, status, body, http.StatusUnauthorized, "invalid_token", "")
	f.token = good
	if status, _ := f.post(t, "credentials/list", map[string]any{}); status != http.StatusOK {
		t.Fatalf("list with token: %d", status)
	}
	f.clock.Advance(2 * time.Hour)
	status, body = f.post(t, "credentials/list", map[string]any{})
	wantError(t, status, body, http.StatusUnauthorized, "invalid_token", "expired")
}

func TestSCAL2HashBinding(t *testing.T) {
	f := start(t, cscsim.Options{})
	a, b := hashOf("a"), hashOf("b")
	status, body := f.authorize(t, "seal-rsa", 1, a)
	if status != http.StatusOK {
		t.Fatalf("authorize: %d %v", status, body)
	}
	sad := body["SAD"].(string)

	status, body = f.signHash(t, "seal-rsa", sad, rsaEncryption, b)
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "not authorized by the SAD")

	status, body = f.signHash(t, "seal-rsa", sad, rsaEncryption, a)
	if status != http.StatusOK {
		t.Fatalf("signHash: %d %v", status, body)
	}
	pub := f.sim.Certificate("seal-rsa").PublicKey.(*rsa.PublicKey)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, a, signature(t, body)); err != nil {
		t.Fatal(err)
	}
	// numSignatures was 1: the SAD is spent.
	status, body = f.signHash(t, "seal-rsa", sad, rsaEncryption, a)
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "SAD")

	status, body = f.authorize(t, "seal-rsa", 2, a)
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "numSignatures hashes")
	status, body = f.signHash(t, "leader-ec", "forged", ecdsaSHA256, a)
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "SAD")
}

func TestSCAL1DoesNotBindHashes(t *testing.T) {
	f := start(t, cscsim.Options{Credentials: []cscsim.CredentialSpec{{ID: "s1", Key: "ec", SCAL: 1}}})
	status, body := f.authorize(t, "s1", 2, hashOf("a"))
	if status != http.StatusOK {
		t.Fatalf("authorize: %d %v", status, body)
	}
	sad := body["SAD"].(string)
	for _, h := range [][]byte{hashOf("b"), hashOf("c")} {
		status, body = f.signHash(t, "s1", sad, ecdsaSHA256, h)
		if status != http.StatusOK {
			t.Fatalf("signHash: %d %v", status, body)
		}
		if !ecdsa.VerifyASN1(f.sim.Certificate("s1").PublicKey.(*ecdsa.PublicKey), h, signature(t, body)) {
			t.Fatal("bad signature")
		}
	}
	status, body = f.signHash(t, "s1", sad, ecdsaSHA256, hashOf("d"))
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "SAD")
}

func TestSADExpiry(t *testing.T) {
	f := start(t, cscsim.Options{SADLifetime: time.Minute})
	h := hashOf("a")
	_, body := f.authorize(t, "seal-rsa", 1, h)
	f.clock.Advance(2 * time.Minute)
	status, body := f.signHash(t, "seal-rsa", body["SAD"].(string), rsaEncryption, h)
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "SAD expired")
}

func TestAsyncApproval(t *testing.T) {
	f := start(t, cscsim.Options{ApprovalTimeout: time.Minute})
	h := hashOf("a")
	check := func(id string) (int, map[string]any) {
		return f.post(t, "credentials/authorizeCheck", map[string]any{"credentialID": "leader-ec", "responseID": id})
	}

	status, body := f.authorize(t, "leader-ec", 1, h)
	if status != http.StatusAccepted || body["responseID"] == nil {
		t.Fatalf("authorize: %d %v", status, body)
	}
	approved := body["responseID"].(string)
	if status, _ := check(approved); status != http.StatusAccepted {
		t.Fatalf("check before approval: %d", status)
	}
	if err := f.sim.Approve(approved); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Approve(approved); err == nil {
		t.Fatal("approving twice succeeded")
	}
	status, body = check(approved)
	if status != http.StatusOK || body["SAD"] == nil {
		t.Fatalf("check after approval: %d %v", status, body)
	}
	status, body = f.signHash(t, "leader-ec", body["SAD"].(string), ecdsaSHA256, h)
	if status != http.StatusOK {
		t.Fatalf("signHash: %d %v", status, body)
	}

	_, body = f.authorize(t, "leader-ec", 1, h)
	declined := body["responseID"].(string)
	if err := f.sim.Decline(declined); err != nil {
		t.Fatal(err)
	}
	status, body = check(declined)
	wantError(t, status, body, http.StatusBadRequest, "access_denied", "declined")

	_, body = f.authorize(t, "leader-ec", 1, h)
	ignored := body["responseID"].(string)
	if p := f.sim.Pending(); len(p) != 1 || p[0].ResponseID != ignored {
		t.Fatalf("pending %+v", p)
	}
	f.clock.Advance(2 * time.Minute)
	status, body = check(ignored)
	wantError(t, status, body, http.StatusBadRequest, "expired_token", "in time")
	if len(f.sim.Pending()) != 0 {
		t.Fatal("an expired authorization is still pending")
	}
	if err := f.sim.Decline("nosuch"); err == nil {
		t.Fatal("declining an unknown authorization succeeded")
	}
	status, body = check("nosuch")
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "responseID")
}

func TestApprovalDelay(t *testing.T) {
	f := start(t, cscsim.Options{ApprovalDelay: 10 * time.Second})
	_, body := f.authorize(t, "leader-ec", 1, hashOf("a"))
	id := body["responseID"].(string)
	check := map[string]any{"credentialID": "leader-ec", "responseID": id}
	if status, _ := f.post(t, "credentials/authorizeCheck", check); status != http.StatusAccepted {
		t.Fatalf("early check: %d", status)
	}
	f.clock.Advance(11 * time.Second)
	if status, body := f.post(t, "credentials/authorizeCheck", check); status != http.StatusOK || body["SAD"] == nil {
		t.Fatalf("late check: %d %v", status, body)
	}
}

func TestSignAlgorithms(t *testing.T) {
	f := start(t, cscsim.Options{})
	h := hashOf("a")
	sadFor := func(cred string) string {
		_, body := f.authorize(t, cred, 1, h)
		return body["SAD"].(string)
	}
	status, body := f.signHash(t, "seal-rsa", sadFor("seal-rsa"), ecdsaSHA256, h)
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "signAlgo")
	status, body = f.signHash(t, "seal-rsa", sadFor("seal-rsa"), "1.2.840.113549.1.1.12", h) // sha384WithRSA
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "another hash")

	// RSASSA-PSS with explicit parameters: SHA-256, MGF1-SHA-256, salt 32.
	hashAlg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, Parameters: asn1.NullRawValue}
	hashDER, _ := asn1.Marshal(hashAlg)
	params, err := asn1.Marshal(struct {
		Hash pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
		MGF  pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
		Salt int                      `asn1:"explicit,tag:2"`
	}{hashAlg, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}, Parameters: asn1.RawValue{FullBytes: hashDER}}, 32})
	if err != nil {
		t.Fatal(err)
	}
	status, body = f.post(t, "signatures/signHash", map[string]any{
		"credentialID": "seal-rsa", "SAD": sadFor("seal-rsa"), "hashes": []string{b64(h)}, "hashAlgorithmOID": sha256OID,
		"signAlgo": "1.2.840.113549.1.1.10", "signAlgoParams": b64(params),
	})
	if status != http.StatusOK {
		t.Fatalf("PSS: %d %v", status, body)
	}
	pub := f.sim.Certificate("seal-rsa").PublicKey.(*rsa.PublicKey)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, h, signature(t, body), &rsa.PSSOptions{SaltLength: 32}); err != nil {
		t.Fatal(err)
	}
	status, body = f.post(t, "signatures/signHash", map[string]any{
		"credentialID": "seal-rsa", "SAD": sadFor("seal-rsa"), "hashes": []string{b64(h)}, "hashAlgorithmOID": sha256OID,
		"signAlgo": "1.2.840.113549.1.1.10", "signAlgoParams": b64([]byte("junk")),
	})
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "RSASSA-PSS-params")
}

func TestFaultsAndRouting(t *testing.T) {
	f := start(t, cscsim.Options{})
	f.sim.Fail("credentials/list", cscsim.Fault{Status: 429, Error: "too_many_requests", Times: 2})
	for i := 0; i < 2; i++ {
		status, body := f.post(t, "credentials/list", map[string]any{})
		wantError(t, status, body, http.StatusTooManyRequests, "too_many_requests", "")
	}
	if status, _ := f.post(t, "credentials/list", map[string]any{}); status != http.StatusOK {
		t.Fatalf("after the fault: %d", status)
	}
	if n := f.sim.Calls("credentials/list"); n != 1 {
		t.Fatalf("calls %d: faulted requests must not count", n)
	}
	f.sim.SetDown(true)
	status, body := f.post(t, "info", map[string]any{})
	wantError(t, status, body, http.StatusServiceUnavailable, "temporarily_unavailable", "")
	f.sim.SetDown(false)

	status, body = f.post(t, "credentials/nosuch", map[string]any{})
	wantError(t, status, body, http.StatusNotFound, "invalid_request", "unknown method")
	resp, err := http.Get(f.srv.URL + "/csc/v2/info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	// credentials/info must not be mistaken for info.
	status, body = f.post(t, "credentials/info", map[string]any{"credentialID": "leader-ec", "certificates": "chain"})
	if status != http.StatusOK || body["SCAL"] != "2" {
		t.Fatalf("credentials/info: %d %v", status, body)
	}
	cert := body["cert"].(map[string]any)
	if certs := cert["certificates"].([]any); len(certs) != 2 {
		t.Fatalf("chain of %d", len(certs))
	}
	status, body = f.post(t, "credentials/info", map[string]any{"credentialID": "nosuch"})
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "credentialID")
	status, body = f.post(t, "credentials/authorize", "not an object")
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "malformed JSON")
}

func ecSigner(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewServerRejectsBadOptions(t *testing.T) {
	for name, creds := range map[string][]cscsim.CredentialSpec{
		"no id":       {{Key: "rsa"}},
		"duplicate":   {{ID: "a", Key: "ec"}, {ID: "a", Key: "ec"}},
		"key type":    {{ID: "a", Key: "dsa"}},
		"SCAL":        {{ID: "a", Key: "ec", SCAL: 3}},
		"signer type": {{ID: "a", Key: "rsa", Signer: ecSigner(t)}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := cscsim.NewServer(cscsim.Options{Credentials: creds}); err == nil {
				t.Fatal("NewServer accepted bad options")
			}
		})
	}
}
