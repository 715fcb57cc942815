package csc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"vanban/signing"
)

// txState is what a transaction id carries, so that Poll can continue a
// transaction this process did not start (after a restart).
type txState struct {
	Credential string            `json:"c"`
	ResponseID string            `json:"r,omitempty"`
	Hash       crypto.Hash       `json:"h"`
	Alg        signing.Algorithm `json:"a"`
	Digest     []byte            `json:"d"`
	Expires    int64             `json:"e"`
	// Nonce keeps ids of identical requests apart.
	Nonce []byte `json:"n"`
}

const txPrefix = "csc1."

type tx struct {
	id string
	st txState

	// mu serialises work on one transaction: a SAD is good for one
	// signature, so two pollers must not both spend it.
	mu      sync.Mutex
	sad     string
	sadExp  time.Time
	result  *signing.Result
	expires time.Time
}

func (t *tx) async() bool { return t.st.ResponseID != "" }

// defaultSADLifetime is the CSC default for expiresIn.
const defaultSADLifetime = time.Hour

// pendingGrace is how long after its expiry a pending authorization is
// still polled, in case the service's clock or answer lags ours.
const pendingGrace = time.Minute

// Start authorizes the credential for req.Digest. A service that signs
// right away gets signatures/signHash at once and Poll returns the result;
// a service that waits for the signer's approval leaves the transaction
// pending. Errors: KindBadRequest, KindNoCertificate, KindUnauthorized
// (our client credentials, PIN or OTP), KindUnavailable, KindBusy (a Start
// with the same idempotency key is in progress).
func (c *Client) Start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	if err := signing.CheckRequest(Scheme, req); err != nil {
		return nil, err
	}
	if _, ok := hashOIDs[req.Hash]; !ok {
		return nil, badRequest(req.Hash.String()+" is not supported", nil)
	}
	if key := req.IdempotencyKey; key != "" {
		c.txMu.Lock()
		id, seen := c.byKey[key]
		if seen && id == "" {
			c.txMu.Unlock()
			return nil, &signing.Error{Kind: signing.KindBusy, Provider: Scheme, Message: "a request with this idempotency key is being started"}
		}
		if t := c.txs[id]; seen && id != "" && t == nil {
			seen = false // forgotten after expiry; start afresh
		}
		if seen {
			t := c.txs[id]
			c.txMu.Unlock()
			if !bytes.Equal(t.st.Digest, req.Digest) || t.st.Credential != c.credentialID(req.SignerID) {
				return nil, badRequest("idempotency key "+key+" was used for another digest or credential", nil)
			}
			return c.session(t), nil
		}
		c.byKey[key] = "" // claim the key while we talk to the service
		c.txMu.Unlock()
		started := false
		defer func() {
			if !started {
				c.txMu.Lock()
				delete(c.byKey, key)
				c.txMu.Unlock()
			}
		}()
		sess, err := c.start(ctx, req)
		started = err == nil
		return sess, err
	}
	return c.start(ctx, req)
}

func (c *Client) start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	credID := c.credentialID(req.SignerID)
	info, err := c.credentialInfo(ctx, credID, false)
	if err != nil {
		return nil, err
	}
	if _, _, err := info.signAlgo(req.Algorithm, req.Hash); err != nil {
		return nil, err
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	t := &tx{st: txState{Credential: credID, Hash: req.Hash, Alg: req.Algorithm, Digest: append([]byte(nil), req.Digest...), Nonce: nonce}}
	if err := c.authorize(ctx, t, req.DisplayText); err != nil {
		return nil, err
	}
	if t.async() && req.Timeout > 0 && time.Now().Add(req.Timeout).Before(t.expires) {
		t.expires = time.Now().Add(req.Timeout)
	}
	t.st.Expires = t.expires.Unix()
	t.id = encodeTxID(t.st)

	now := time.Now()
	c.txMu.Lock()
	for id, old := range c.txs {
		// Forget transactions long past their expiry; their outcome was
		// either read or is no longer wanted.
		if now.After(old.expires.Add(time.Hour)) {
			delete(c.txs, id)
		}
	}
	for key, id := range c.byKey {
		if _, ok := c.txs[id]; !ok && id != "" {
			delete(c.byKey, key)
		}
	}
	c.txs[t.id] = t
	if req.IdempotencyKey != "" {
		c.byKey[req.IdempotencyKey] = t.id
	}
	c.txMu.Unlock()

	if !t.async() {
		t.mu.Lock()
		// A failure that is worth retrying leaves the transaction for Poll.
		_, _ = c.advance(ctx, t)
		t.mu.Unlock()
	}
	return c.session(t), nil
}

func (c *Client) session(t *tx) *signing.Session {
	return &signing.Session{TxID: t.id, ExpiresAt: t.expires, PollInterval: c.cfg.PollInterval}
}

// authorize calls credentials/authorize for the transaction's hash and
// records the SAD, or the responseID of an approval to wait for.
func (c *Client) authorize(ctx context.Context, t *tx, description string) error {
	body := map[string]any{
		"credentialID":     t.st.Credential,
		"numSignatures":    1,
		"hashes":           []string{b64(t.st.Digest)},
		"hashAlgorithmOID": hashOIDs[t.st.Hash].String(),
	}
	if description != "" {
		body["description"] = truncate(description, maxDisplayText)
	}
	if c.cfg.PIN != "" {
		body["authData"] = []map[string]string{{"id": "PIN", "value": c.cfg.PIN}}
	}
	var out struct {
		SAD        string `json:"SAD"`
		ExpiresIn  int    `json:"expiresIn"`
		ResponseID string `json:"responseID"`
	}
	if _, err := c.call(ctx, "credentials/authorize", body, &out); err != nil {
		return err
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	switch {
	case out.SAD != "":
		if life <= 0 {
			life = defaultSADLifetime
		}
		t.sad, t.sadExp = out.SAD, time.Now().Add(life)
		if t.expires.IsZero() {
			t.expires = t.sadExp
		}
	case out.ResponseID != "":
		if life <= 0 {
			life = 5 * time.Minute
		}
		t.st.ResponseID = out.ResponseID
		t.expires = time.Now().Add(life)
	default:
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "credentials/authorize answered with neither SAD nor responseID"}
	}
	return nil
}

// Poll advances the transaction: it checks a pending approval, spends the
// SAD on signatures/signHash and verifies the signature. A transaction id
// from before a restart is continued from what the id records.
func (c *Client) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	c.txMu.Lock()
	t, ok := c.txs[txID]
	if !ok {
		st, err := decodeTxID(txID)
		if err != nil {
			c.txMu.Unlock()
			return nil, err
		}
		t = &tx{id: txID, st: st, expires: time.Unix(st.Expires, 0)}
		c.txs[txID] = t
	}
	c.txMu.Unlock()

	t.mu.Lock()
	defer t.mu.Unlock()
	return c.advance(ctx, t)
}

// advance moves t as far as it can go now. Caller holds t.mu. A returned
// error means this attempt failed transiently; a final failure is a Result.
func (c *Client) advance(ctx context.Context, t *tx) (*signing.Result, error) {
	if t.result != nil {
		out := *t.result
		return &out, nil
	}
	for attempt := 0; ; attempt++ {
		if t.sad != "" && !time.Now().Before(t.sadExp) {
			t.sad = ""
			if t.async() {
				return c.fail(t, &signing.Error{Kind: signing.KindExpired, Provider: Scheme, Message: "the authorization expired before the signature was made; start again"}), nil
			}
		}
		if t.sad == "" {
			if done, res, err := c.obtainSAD(ctx, t); done {
				return res, err
			}
		}
		sig, err := c.signHash(ctx, t)
		if err == nil {
			return c.verify(t, sig), nil
		}
		if signing.KindOf(err) == signing.KindExpired && !t.async() && attempt == 0 {
			// The service found the SAD stale. A synchronous credential
			// needs nobody to authorize again, so try once more.
			t.sad = ""
			continue
		}
		return c.settle(t, err)
	}
}

// obtainSAD gets a SAD for t: from the pending approval for an
// asynchronous credential, or by authorizing again for a synchronous one
// (after a restart, or when the SAD expired). done reports that res and
// err are the answer to give now.
func (c *Client) obtainSAD(ctx context.Context, t *tx) (done bool, res *signing.Result, err error) {
	if !t.async() {
		if err := c.authorize(ctx, t, ""); err != nil {
			res, err := c.settle(t, err)
			return true, res, err
		}
		if t.async() {
			// The service now wants the signer's approval after all.
			return c.stillPending(t)
		}
		return false, nil, nil
	}
	var out struct {
		SAD       string `json:"SAD"`
		ExpiresIn int    `json:"expiresIn"`
	}
	status, err := c.call(ctx, "credentials/authorizeCheck", map[string]any{"credentialID": t.st.Credential, "responseID": t.st.ResponseID}, &out)
	if err != nil {
		var se *signing.Error
		if errors.As(err, &se) && (se.Code == "authorization_pending" || se.Code == "slow_down") {
			return c.stillPending(t)
		}
		res, err := c.settle(t, err)
		return true, res, err
	}
	if status == http.StatusAccepted || out.SAD == "" {
		return c.stillPending(t)
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	if life <= 0 {
		life = defaultSADLifetime
	}
	t.sad, t.sadExp = out.SAD, time.Now().Add(life)
	return false, nil, nil
}

func (c *Client) stillPending(t *tx) (bool, *signing.Result, error) {
	if !t.expires.IsZero() && time.Now().After(t.expires.Add(pendingGrace)) {
		return true, c.fail(t, &signing.Error{Kind: signing.KindExpired, Provider: Scheme, Message: "the signer did not answer in time"}), nil
	}
	return true, &signing.Result{TxID: t.id, Status: signing.StatusPending}, nil
}

func (c *Client) signHash(ctx context.Context, t *tx) ([]byte, error) {
	info, err := c.credentialInfo(ctx, t.st.Credential, false)
	if err != nil {
		return nil, err
	}
	algo, params, err := info.signAlgo(t.st.Alg, t.st.Hash)
	if err != nil {
		return nil, err
	}
	body := map[string]any{
		"credentialID":     t.st.Credential,
		"SAD":              t.sad,
		"hashes":           []string{b64(t.st.Digest)},
		"hashAlgorithmOID": hashOIDs[t.st.Hash].String(),
		"signAlgo":         algo,
		"operationMode":    "S",
	}
	if params != "" {
		body["signAlgoParams"] = params
	}
	var out struct {
		Signatures []string `json:"signatures"`
	}
	if _, err := c.call(ctx, "signatures/signHash", body, &out); err != nil {
		return nil, err
	}
	// The SAD allowed one signature and it is spent, whatever follows.
	t.sad = ""
	if len(out.Signatures) != 1 {
		return nil, &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "signatures/signHash returned " + strconv.Itoa(len(out.Signatures)) + " signatures for one hash"}
	}
	sig, err := base64.StdEncoding.DecodeString(out.Signatures[0])
	if err != nil {
		return nil, &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "signature is not Base64", Err: err}
	}
	return sig, nil
}

// verify checks sig against the credential's certificate and our digest,
// and converts ECDSA signatures to DER, the form Result promises.
func (c *Client) verify(t *tx, sig []byte) *signing.Result {
	c.infoMu.Lock()
	ci := c.infos[t.st.Credential]
	c.infoMu.Unlock()
	if ci.info == nil {
		return c.fail(t, &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "no certificate to verify the signature against"})
	}
	leaf := ci.info.Chain[0]
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); ok && t.st.Alg == signing.ECDSA {
		der, err := signing.ECDSAToDER(sig, pub)
		if err != nil {
			return c.fail(t, &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "malformed ECDSA signature", Err: err})
		}
		sig = der
	}
	if err := signing.VerifySignature(leaf, t.st.Hash, t.st.Alg, t.st.Digest, sig); err != nil {
		return c.fail(t, &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "the service returned a signature that does not verify against the credential's certificate and our digest", Err: err})
	}
	t.result = &signing.Result{TxID: t.id, Status: signing.StatusSigned, Signature: sig, Certificates: ci.info.Chain}
	out := *t.result
	return &out
}

// settle turns an error into the right answer: transient errors (and our
// own credentials being refused, which says nothing of the request) are
// Poll errors; anything else ends the transaction.
func (c *Client) settle(t *tx, err error) (*signing.Result, error) {
	var se *signing.Error
	if !errors.As(err, &se) {
		return nil, err
	}
	if se.Retryable() || (se.Kind == signing.KindUnauthorized && se.Code != "invalid_pin" && se.Code != "invalid_otp") {
		return nil, err
	}
	return c.fail(t, se), nil
}

func (c *Client) fail(t *tx, e *signing.Error) *signing.Result {
	t.result = &signing.Result{TxID: t.id, Status: signing.StatusFailed, Err: e}
	out := *t.result
	return &out
}

func encodeTxID(st txState) string {
	b, _ := json.Marshal(st) // plain fields; cannot fail
	return txPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeTxID(id string) (txState, error) {
	var st txState
	bad := func(err error) (txState, error) {
		return st, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "unknown transaction id", Err: err}
	}
	rest, ok := strings.CutPrefix(id, txPrefix)
	if !ok {
		return bad(nil)
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return bad(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return bad(err)
	}
	if _, ok := hashOIDs[st.Hash]; !ok || st.Credential == "" || len(st.Digest) != st.Hash.Size() || st.Alg < signing.RSAPKCS1v15 || st.Alg > signing.ECDSA {
		return bad(errors.New("transaction id does not describe a request"))
	}
	return st, nil
}
