package admin

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing"
)

// TestSigning is the "Ký thử / Test signing" of a leader's signing
// identity: it signs a dummy digest (SHA-256 of a fixed text with the time)
// through the leader's provider and reports the certificate and whether the
// signature verified against it, so an administrator sees that the identity
// works before a real document waits on it. A test signs no document and
// is kept in memory only (a restart forgets it); its start and its outcome
// are in the audit log.
type TestSigning struct {
	Admin     *Service
	Providers map[string]signing.Provider
	Now       func() time.Time

	mu    sync.Mutex
	tests map[string]*TestSign
}

// TestSign is one test signing as shown.
type TestSign struct {
	ID       string `json:"id"`
	UserID   string `json:"user_id"`
	Provider string `json:"provider"`
	Signer   string `json:"signer,omitempty"`
	// Text is what was hashed; Digest its SHA-256 in hex.
	Text             string    `json:"text"`
	Digest           string    `json:"digest"`
	State            string    `json:"state"` // pending | verified | failed
	VerificationCode string    `json:"verification_code,omitempty"`
	FailureKind      string    `json:"failure_kind,omitempty"`
	Failure          string    `json:"failure,omitempty"`
	Certificate      *CertInfo `json:"certificate,omitempty"`
	StartedAt        time.Time `json:"started_at"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`

	by     string
	txID   string
	digest []byte
	alg    signing.Algorithm
	cert   *x509.Certificate
}

// CertInfo is what the test shows of the signer's certificate.
type CertInfo struct {
	SubjectCN string    `json:"subject_cn"`
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// States of a test signing.
const (
	TestPending  = "pending"
	TestVerified = "verified"
	TestFailed   = "failed"
)

const (
	maxTests    = 200
	testTimeout = 5 * time.Minute
	testKeep    = time.Hour
)

func (t *TestSigning) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Start begins a test signing of userID's identity, as an administrator of
// the organization or the leader. A synchronous provider answers at once;
// for the others the test stays pending until Status finds the outcome.
// Returns ENOTFOUND (no identity), EFORBIDDEN, ECONFLICT (the provider
// is not configured here), or a test in state failed when the provider
// refused (no certificate, unreachable ...).
func (t *TestSigning) Start(ctx context.Context, a workflow.Actor, userID string) (*TestSign, error) {
	ident, err := t.Admin.SigningIdentity(ctx, a, userID)
	if err != nil {
		return nil, err
	}
	p, ok := t.Providers[ident.Provider]
	if !ok {
		return nil, document.Errorf(document.ECONFLICT, "provider %s is not configured on this server", ident.Provider)
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	now := t.now()
	text := fmt.Sprintf("vanban: ký thử / test signing %s %s", userID, now.UTC().Format(time.RFC3339Nano))
	sum := sha256.Sum256([]byte(text))
	ts := &TestSign{ID: hex.EncodeToString(rnd[:]), UserID: userID, Provider: ident.Provider, Signer: ident.ProviderSigner,
		Text: text, Digest: hex.EncodeToString(sum[:]), State: TestPending, StartedAt: now, by: a.UserID, digest: sum[:]}
	if err := t.audit(ctx, a, "signing.test.start", ts); err != nil {
		return nil, err
	}
	// The certificate is pinned before the signature, as for a document.
	chain, err := p.Certificates(ctx, ident.ProviderSigner)
	if err == nil && len(chain) == 0 {
		err = &signing.Error{Kind: signing.KindNoCertificate, Message: "the provider returned no certificate"}
	}
	if err != nil {
		return t.finish(ctx, a, ts, nil, err), nil
	}
	ts.cert = chain[0]
	ts.Certificate = certInfo(chain[0])
	ts.alg = signing.RSAPKCS1v15
	if _, ok := chain[0].PublicKey.(*ecdsa.PublicKey); ok {
		ts.alg = signing.ECDSA
	}
	sess, err := p.Start(ctx, signing.Request{IdempotencyKey: "vanban-test-" + ts.ID, SignerID: ident.ProviderSigner,
		Digest: ts.digest, Hash: crypto.SHA256, Algorithm: ts.alg, DisplayText: "Ký thử vanban / test signing", Timeout: testTimeout})
	if err != nil {
		return t.finish(ctx, a, ts, nil, err), nil
	}
	ts.txID, ts.VerificationCode, ts.ExpiresAt = sess.TxID, sess.VerificationCode, sess.ExpiresAt
	t.keep(ts)
	return t.poll(ctx, a, ts, p)
}

// Status returns a test signing, asking its provider for the outcome while
// it is pending. Only whoever may see the leader's identity sees it.
// Returns ENOTFOUND for an unknown or forgotten test.
func (t *TestSigning) Status(ctx context.Context, a workflow.Actor, userID, id string) (*TestSign, error) {
	t.mu.Lock()
	ts, ok := t.tests[id]
	t.mu.Unlock()
	if !ok || ts.UserID != userID {
		return nil, document.Errorf(document.ENOTFOUND, "test signing %s not found", id)
	}
	if _, err := t.Admin.SigningIdentity(ctx, a, userID); err != nil && document.ErrorCode(err) != document.ENOTFOUND {
		return nil, err
	}
	p, ok := t.Providers[ts.Provider]
	if !ok {
		return nil, document.Errorf(document.ECONFLICT, "provider %s is not configured on this server", ts.Provider)
	}
	return t.poll(ctx, a, ts, p)
}

// poll asks the provider once (no waiting) while ts is pending.
func (t *TestSigning) poll(ctx context.Context, a workflow.Actor, ts *TestSign, p signing.Provider) (*TestSign, error) {
	t.mu.Lock()
	state := ts.State
	t.mu.Unlock()
	if state != TestPending {
		return t.snapshot(ts), nil
	}
	res, err := p.Poll(ctx, ts.txID, 0)
	switch {
	case err != nil:
		// The poll failed, not the request: still pending.
		return t.snapshot(ts), nil
	case res.Status == signing.StatusPending:
		if !ts.ExpiresAt.IsZero() && t.now().After(ts.ExpiresAt.Add(time.Minute)) {
			return t.finish(ctx, a, ts, nil, &signing.Error{Kind: signing.KindExpired, Message: "no answer in time"}), nil
		}
		return t.snapshot(ts), nil
	case res.Status == signing.StatusFailed:
		var perr error = &signing.Error{Kind: signing.KindUnavailable, Message: "failed"}
		if res.Err != nil {
			perr = res.Err
		}
		return t.finish(ctx, a, ts, nil, perr), nil
	default:
		return t.finish(ctx, a, ts, res.Signature, nil), nil
	}
}

// finish records ts's outcome once: the signature is verified against the
// pinned certificate and our digest.
func (t *TestSigning) finish(ctx context.Context, a workflow.Actor, ts *TestSign, sig []byte, perr error) *TestSign {
	if perr == nil {
		perr = signing.VerifySignature(ts.cert, crypto.SHA256, ts.alg, ts.digest, sig)
	}
	t.mu.Lock()
	if ts.State != TestPending {
		t.mu.Unlock()
		return t.snapshot(ts)
	}
	if perr == nil {
		ts.State = TestVerified
	} else {
		ts.State, ts.Failure, ts.FailureKind = TestFailed, perr.Error(), "error"
		var se *signing.Error
		if errors.As(perr, &se) {
			ts.FailureKind = se.Kind.String()
		}
	}
	t.mu.Unlock()
	t.keep(ts)
	if err := t.audit(ctx, a, "signing.test."+ts.State, ts); err != nil && t.Admin.Logger != nil {
		t.Admin.Logger.Error("audit of a test signing", "test", ts.ID, "err", err)
	}
	return t.snapshot(ts)
}

func (t *TestSigning) keep(ts *TestSign) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tests == nil {
		t.tests = map[string]*TestSign{}
	}
	now := t.now()
	for id, old := range t.tests {
		if now.Sub(old.StartedAt) > testKeep || len(t.tests) >= maxTests {
			delete(t.tests, id)
		}
	}
	t.tests[ts.ID] = ts
}

func (t *TestSigning) snapshot(ts *TestSign) *TestSign {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := *ts
	return &c
}

// audit appends one entry about ts, in its own transaction.
func (t *TestSigning) audit(ctx context.Context, a workflow.Actor, action string, ts *TestSign) error {
	change, _ := json.Marshal(map[string]any{"user_id": ts.UserID, "provider": ts.Provider, "signer": ts.Signer,
		"digest": ts.Digest, "state": ts.State, "failure_kind": ts.FailureKind, "certificate": ts.Certificate})
	return t.Admin.DB.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.AppendAudit(ctx, audit.Entry{Time: t.now(), Actor: a.UserID, ClientAddr: a.ClientAddr, Action: action,
			ObjectType: "user", ObjectID: ts.UserID, Change: change})
		return err
	})
}

func certInfo(c *x509.Certificate) *CertInfo {
	return &CertInfo{SubjectCN: c.Subject.CommonName, Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		Serial: hex.EncodeToString(c.SerialNumber.Bytes()), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}
