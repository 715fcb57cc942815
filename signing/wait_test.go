package signing_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"vanban/signing"
)

// asyncProvider behaves like a remote signer: Start only accepts the request
// and the outcome shows up in Poll after a few pending answers. Its script
// fields choose the outcome.
type asyncProvider struct {
	key testKey

	pendingPolls int            // Poll answers pending this many times first
	startFails   []error        // Start returns these errors first, one per call
	pollFails    []error        // Poll returns these errors first, one per call
	outcome      *signing.Error // final failure instead of a signature
	signOther    bool           // sign another digest than asked
	longPoll     bool
	expired      bool          // sessions expire in the past
	interval     time.Duration // Session.PollInterval; default 1ms

	mu        sync.Mutex
	keys      []string // idempotency key of every Start
	waits     []time.Duration
	txs       map[string]*asyncTx
	cancelled []string
}

type asyncTx struct {
	req   signing.Request
	polls int
}

func (p *asyncProvider) Certificates(context.Context, string) ([]*x509.Certificate, error) {
	return []*x509.Certificate{p.key.cert}, nil
}

func (p *asyncProvider) Capabilities() signing.Capabilities {
	return signing.Capabilities{LongPoll: p.longPoll, Cancel: true}
}

func (p *asyncProvider) Start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, req.IdempotencyKey)
	if len(p.startFails) > 0 {
		err := p.startFails[0]
		p.startFails = p.startFails[1:]
		return nil, err
	}
	if p.txs == nil {
		p.txs = map[string]*asyncTx{}
	}
	id := fmt.Sprintf("mssp-%d", len(p.keys))
	p.txs[id] = &asyncTx{req: req}
	exp := time.Now().Add(time.Minute)
	if p.expired {
		exp = time.Now().Add(-time.Hour)
	}
	interval := p.interval
	if interval == 0 {
		interval = time.Millisecond
	}
	return &signing.Session{TxID: id, PollInterval: interval, ExpiresAt: exp, VerificationCode: "0042"}, nil
}

func (p *asyncProvider) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits = append(p.waits, wait)
	if len(p.pollFails) > 0 {
		err := p.pollFails[0]
		p.pollFails = p.pollFails[1:]
		return nil, err
	}
	tx, ok := p.txs[txID]
	if !ok {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Message: "unknown tx"}
	}
	tx.polls++
	if tx.polls <= p.pendingPolls {
		return &signing.Result{TxID: txID, Status: signing.StatusPending}, nil
	}
	if p.outcome != nil {
		return &signing.Result{TxID: txID, Status: signing.StatusFailed, Err: p.outcome}, nil
	}
	d := tx.req.Digest
	if p.signOther {
		d = digest("something else")
	}
	sig, err := p.key.signer.Sign(rand.Reader, d, tx.req.Hash)
	if err != nil {
		return nil, err
	}
	return &signing.Result{TxID: txID, Status: signing.StatusSigned, Signature: sig}, nil
}

func (p *asyncProvider) Cancel(ctx context.Context, txID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancelled = append(p.cancelled, txID)
	return nil
}

func waitReq(alg signing.Algorithm) signing.Request {
	return signing.Request{IdempotencyKey: "our-tx-7", Digest: digest("quyet dinh"), Hash: crypto.SHA256, Algorithm: alg}
}

var fast = signing.WaitOptions{Backoff: time.Millisecond}

func TestSignAndWaitPendingThenSigned(t *testing.T) {
	_, _, ec1, _ := keys(t)
	p := &asyncProvider{key: ec1, pendingPolls: 3}
	var sessions []*signing.Session
	opts := fast
	opts.OnSession = func(s *signing.Session) { sessions = append(sessions, s) }

	sig, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.VerifySignature(ec1.cert, crypto.SHA256, signing.ECDSA, digest("quyet dinh"), sig); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || sessions[0].VerificationCode != "0042" {
		t.Fatalf("OnSession calls: %+v", sessions)
	}
	if len(p.waits) != 4 {
		t.Errorf("polled %d times, want 4 (3 pending + signed)", len(p.waits))
	}
	for _, w := range p.waits {
		if w != 0 {
			t.Errorf("Poll got wait %v from a provider without long poll", w)
		}
	}
}

// A provider that claims long polling but answers at once must still be
// polled at its interval, not in a tight loop.
func TestSignAndWaitLongPollAnsweringAtOnce(t *testing.T) {
	_, _, ec1, _ := keys(t)
	p := &asyncProvider{key: ec1, pendingPolls: 3, longPoll: true, interval: 20 * time.Millisecond}
	start := time.Now()
	if _, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), fast); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 60*time.Millisecond {
		t.Fatalf("3 pending answers took %v; want at least 3 poll intervals of 20ms", elapsed)
	}
}

func TestSignAndWaitNilResult(t *testing.T) {
	_, _, ec1, _ := keys(t)
	p := &nilResultProvider{asyncProvider{key: ec1}}
	_, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), signing.WaitOptions{Backoff: time.Millisecond, MaxAttempts: 1})
	if signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

type nilResultProvider struct{ asyncProvider }

func (p *nilResultProvider) Poll(context.Context, string, time.Duration) (*signing.Result, error) {
	return nil, nil
}

func TestSignAndWaitLongPoll(t *testing.T) {
	rsa1, _, _, _ := keys(t)
	p := &asyncProvider{key: rsa1, pendingPolls: 2, longPoll: true}
	if _, err := signing.SignAndWait(context.Background(), p, rsa1.cert, waitReq(signing.RSAPKCS1v15), fast); err != nil {
		t.Fatal(err)
	}
	for _, w := range p.waits {
		if w <= 0 {
			t.Fatalf("long-poll provider polled with wait %v", w)
		}
	}
}

func TestSignAndWaitDeclined(t *testing.T) {
	_, _, ec1, _ := keys(t)
	p := &asyncProvider{key: ec1, pendingPolls: 2, outcome: &signing.Error{Kind: signing.KindDeclined, Code: "401"}}
	_, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), fast)
	if signing.KindOf(err) != signing.KindDeclined {
		t.Fatalf("err = %v, want declined", err)
	}
	if len(p.keys) != 1 {
		t.Fatalf("declined request was sent %d times; a decline must not be retried", len(p.keys))
	}
}

func TestSignAndWaitRetriesWithSameKey(t *testing.T) {
	_, _, ec1, _ := keys(t)
	down := &signing.Error{Kind: signing.KindUnavailable, Code: "503"}
	p := &asyncProvider{key: ec1, pendingPolls: 1, startFails: []error{down, down}}
	sig, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) == 0 {
		t.Fatal("no signature")
	}
	if len(p.keys) != 3 {
		t.Fatalf("Start called %d times, want 3", len(p.keys))
	}
	for _, k := range p.keys {
		if k != "our-tx-7" {
			t.Fatalf("retry used idempotency key %q, want our-tx-7", k)
		}
	}
}

func TestSignAndWaitGivesUpAfterMaxAttempts(t *testing.T) {
	_, _, ec1, _ := keys(t)
	down := &signing.Error{Kind: signing.KindUnreachable, Code: "209"}
	p := &asyncProvider{key: ec1, startFails: []error{down, down, down, down}}
	opts := fast
	opts.MaxAttempts = 2
	_, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), opts)
	if signing.KindOf(err) != signing.KindUnreachable {
		t.Fatalf("err = %v, want unreachable", err)
	}
	if len(p.keys) != 2 {
		t.Fatalf("Start called %d times, want MaxAttempts=2", len(p.keys))
	}
}

func TestSignAndWaitToleratesTransientPollErrors(t *testing.T) {
	_, _, ec1, _ := keys(t)
	blip := &signing.Error{Kind: signing.KindUnavailable}
	p := &asyncProvider{key: ec1, pendingPolls: 1, pollFails: []error{blip, blip}}
	if _, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), fast); err != nil {
		t.Fatal(err)
	}
	if len(p.keys) != 1 {
		t.Fatalf("a failed poll restarted the request (%d Starts)", len(p.keys))
	}

	// A poll error that is not retryable ends the wait at once.
	p = &asyncProvider{key: ec1, pollFails: []error{&signing.Error{Kind: signing.KindUnauthorized}}}
	opts := fast
	opts.MaxAttempts = 1
	if _, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), opts); signing.KindOf(err) != signing.KindUnauthorized {
		t.Fatalf("err = %v, want unauthorized", err)
	}
}

func TestSignAndWaitRejectsSignatureOverOtherDigest(t *testing.T) {
	rsa1, _, _, _ := keys(t)
	p := &asyncProvider{key: rsa1, pendingPolls: 1, signOther: true}
	sig, err := signing.SignAndWait(context.Background(), p, rsa1.cert, waitReq(signing.RSAPKCS1v15), fast)
	if signing.KindOf(err) != signing.KindBadSignature {
		t.Fatalf("err = %v, want bad_signature", err)
	}
	if sig != nil {
		t.Fatal("a bad signature was returned alongside the error")
	}
}

func TestSignAndWaitRejectsOtherKey(t *testing.T) {
	rsa1, rsa2, _, _ := keys(t)
	// The provider signs with rsa2 while we pinned rsa1's certificate.
	p := &asyncProvider{key: rsa2}
	_, err := signing.SignAndWait(context.Background(), p, rsa1.cert, waitReq(signing.RSAPKCS1v15), fast)
	if signing.KindOf(err) != signing.KindBadSignature {
		t.Fatalf("err = %v, want bad_signature", err)
	}
}

func TestSignAndWaitFailedWithoutReason(t *testing.T) {
	_, _, ec1, _ := keys(t)
	p := &nilErrProvider{asyncProvider{key: ec1}}
	_, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), signing.WaitOptions{Backoff: time.Millisecond, MaxAttempts: 1})
	if signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

type nilErrProvider struct{ asyncProvider }

func (p *nilErrProvider) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	return &signing.Result{TxID: txID, Status: signing.StatusFailed}, nil
}

func TestSignAndWaitExpired(t *testing.T) {
	_, _, ec1, _ := keys(t)
	p := &asyncProvider{key: ec1, pendingPolls: 1 << 30, expired: true}
	_, err := signing.SignAndWait(context.Background(), p, ec1.cert, waitReq(signing.ECDSA), signing.WaitOptions{MaxAttempts: 1})
	if signing.KindOf(err) != signing.KindExpired {
		t.Fatalf("err = %v, want expired", err)
	}
}

func TestSignAndWaitCancelledContextCancelsRequest(t *testing.T) {
	_, _, ec1, _ := keys(t)
	p := &asyncProvider{key: ec1, pendingPolls: 1 << 30}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := signing.SignAndWait(ctx, p, ec1.cert, waitReq(signing.ECDSA), fast)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cancelled) != 1 || p.cancelled[0] != "mssp-1" {
		t.Fatalf("cancelled %v, want [mssp-1]", p.cancelled)
	}
}
