// Package providertest is the conformance suite every signing.Provider must
// pass, whatever holds the key: a key file, a PKCS#11 token, a SIM behind an
// MSSP, a CSC service or a vendor's remote-signing API. It checks the
// contract the signing sessions rely on:
//
//   - the certificate is pinned before the digest (Certificates, then a
//     signature that verifies against that leaf and our digest);
//   - Start with a reused idempotency key is the same transaction, and the
//     same key over another digest is refused;
//   - a digest that does not fit its hash, an unknown hash or algorithm is
//     refused with KindBadRequest before anything reaches the signer;
//   - an unknown transaction id is a typed error, never a pending result;
//   - cancellation, where the provider claims it, ends the request;
//   - Capabilities tell the truth (Cancel and Callback match the optional
//     interfaces, the algorithms fit the signer's key);
//   - forged signatures (another key, another hash) never come out signed;
//   - a batch (signing.BatchStarter) is one prompt on the device and one
//     verified signature per digest, and a retried batch is the same;
//   - every error is a *signing.Error with a kind.
//
// A provider's test file describes how to drive it with a Harness (which
// signer approves, how to approve on its device, which signers give forged
// answers) and calls Run.
package providertest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"

	"vanban/signing"
)

// Signer names a signer of some provider; a nil Provider means the
// harness's own.
type Signer struct {
	Provider signing.Provider
	ID       string
}

// Harness describes how the suite drives one provider.
type Harness struct {
	// Provider under test.
	Provider signing.Provider
	// Signer approves requests (by itself or through Approve).
	Signer string
	// Approve acts on the signer's device for a started request, as the
	// person would (typing the PIN on the virtual phone). Nil when the
	// provider completes requests by itself (a key file, a token, an
	// auto-approving scenario signer).
	Approve func(t *testing.T, signer string, sess *signing.Session)
	// DeviceRequests counts the requests the signer's device has been
	// shown, so the suite can check that a retried Start is not a second
	// prompt. Nil when the provider has no device (key file, token).
	DeviceRequests func(signer string) int

	// WrongKey signs with a key other than its certificate's; OtherHash
	// signs another digest than asked. Every provider must refuse what
	// they return. For a provider that signs in process, the harness
	// builds a provider over a lying crypto.Signer.
	WrongKey, OtherHash Signer
	// Decline refuses a started request on the device; nil when the
	// Declines signer refuses by itself.
	Decline func(t *testing.T, signer string, sess *signing.Session)
	// Declines refuses on the device (KindDeclined); NoCertificate has no
	// valid certificate (KindNoCertificate from Certificates or Start).
	// Empty when the provider has no such signer (a key file cannot
	// decline).
	Declines, NoCertificate string

	// Timeout bounds how long the suite waits for one outcome; default 30 s.
	Timeout time.Duration
}

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Provider == nil {
		t.Fatal("providertest: Harness.Provider is nil")
	}
	if h.Timeout <= 0 {
		h.Timeout = 30 * time.Second
	}
	tests := []struct {
		name string
		fn   func(*testing.T, *Harness)
	}{
		{"Capabilities", testCapabilities},
		{"PinnedCertificateSignature", testPinnedSignature},
		{"OtherHashes", testOtherHashes},
		{"IdempotencyKeyReuse", testIdempotencyReuse},
		{"IdempotencyKeyOtherDigest", testIdempotencyOtherDigest},
		{"DigestHashMismatch", testDigestMismatch},
		{"UnknownTransaction", testUnknownTransaction},
		{"Cancellation", testCancellation},
		{"ForgedWrongKey", func(t *testing.T, h *Harness) { testForged(t, h, h.WrongKey) }},
		{"ForgedOtherHash", func(t *testing.T, h *Harness) { testForged(t, h, h.OtherHash) }},
		{"Batch", testBatch},
		{"Declined", testDeclined},
		{"NoCertificate", testNoCertificate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, &h) })
	}
}

// Digest returns a fresh random digest for hash.
func Digest(t testing.TB, hash crypto.Hash) []byte {
	t.Helper()
	var b [64]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	switch hash {
	case crypto.SHA384:
		d := sha512.Sum384(b[:])
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(b[:])
		return d[:]
	}
	d := sha256.Sum256(b[:])
	return d[:]
}

// NewKey returns a fresh idempotency key.
func NewKey(t testing.TB) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "pt-" + hexString(b[:])
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func (h *Harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// pin reads the signer's chain as the PAdES layer does before computing
// the digest, and builds a request over a fresh digest.
func pin(t *testing.T, ctx context.Context, p signing.Provider, signer string, hash crypto.Hash) (signing.Request, []*x509.Certificate) {
	t.Helper()
	chain, err := p.Certificates(ctx, signer)
	if err != nil {
		t.Fatalf("Certificates(%q): %v", signer, err)
	}
	if len(chain) == 0 || chain[0] == nil {
		t.Fatalf("Certificates(%q) returned no leaf", signer)
	}
	alg, err := signing.AlgorithmFor(chain[0])
	if err != nil {
		t.Fatalf("AlgorithmFor(%s): %v", chain[0].Subject, err)
	}
	return signing.Request{
		IdempotencyKey: NewKey(t), SignerID: signer, Digest: Digest(t, hash), Hash: hash, Algorithm: alg,
		DisplayText: "Ký Quyết định 12/QĐ-UBND (kiểm thử)", Timeout: 2 * time.Minute,
	}, chain
}

// checkTyped fails the test unless err is a *signing.Error with a kind.
func checkTyped(t *testing.T, what string, err error) *signing.Error {
	t.Helper()
	var se *signing.Error
	if !errors.As(err, &se) || se.Kind == 0 {
		t.Fatalf("%s: error %v (%T) is not a typed *signing.Error", what, err, err)
	}
	return se
}

// await polls until the request is final, approving it on the device
// first when approve is set. A poll error must be typed and retryable to
// be tolerated.
func (h *Harness) await(t *testing.T, ctx context.Context, p signing.Provider, signer string, sess *signing.Session, approve bool) *signing.Result {
	t.Helper()
	if approve && h.Approve != nil {
		h.Approve(t, signer, sess)
	}
	wait := time.Duration(0)
	if p.Capabilities().LongPoll {
		wait = 200 * time.Millisecond
	}
	for {
		res, err := p.Poll(ctx, sess.TxID, wait)
		switch {
		case err != nil:
			se := checkTyped(t, "Poll", err)
			if !se.Retryable() || ctx.Err() != nil {
				t.Fatalf("Poll(%s): %v", sess.TxID, err)
			}
		case res == nil:
			t.Fatalf("Poll(%s) returned neither a result nor an error", sess.TxID)
		case res.Status == signing.StatusSigned || res.Status == signing.StatusFailed:
			if res.TxID != "" && res.TxID != sess.TxID {
				t.Fatalf("Poll(%s) answered for transaction %s", sess.TxID, res.TxID)
			}
			if res.Status == signing.StatusFailed && res.Err == nil {
				t.Fatalf("Poll(%s): failed result without a typed error", sess.TxID)
			}
			return res
		case res.Status != signing.StatusPending:
			t.Fatalf("Poll(%s): status %v", sess.TxID, res.Status)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("request %s still pending after %v", sess.TxID, h.Timeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// signed checks a signed result against the pinned chain and our digest.
func signed(t *testing.T, req signing.Request, chain []*x509.Certificate, res *signing.Result) {
	t.Helper()
	if res.Status != signing.StatusSigned {
		t.Fatalf("outcome %v: %v", res.Status, res.Err)
	}
	if err := signing.VerifySignature(chain[0], req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
		t.Fatalf("signature does not verify against the pinned certificate: %v", err)
	}
	if pub, ok := chain[0].PublicKey.(*ecdsa.PublicKey); ok && !ecdsa.VerifyASN1(pub, req.Digest, res.Signature) {
		t.Fatal("ECDSA signature is not ASN.1 DER, as Result promises")
	}
	if len(res.Certificates) > 0 && !res.Certificates[0].Equal(chain[0]) {
		t.Fatalf("the result names certificate %s, not the pinned %s", res.Certificates[0].Subject, chain[0].Subject)
	}
}

func testCapabilities(t *testing.T, h *Harness) {
	caps := h.Provider.Capabilities()
	if len(caps.Algorithms) == 0 || len(caps.Hashes) == 0 {
		t.Fatalf("capabilities name no algorithm or hash: %+v", caps)
	}
	if !slices.Contains(caps.Hashes, crypto.SHA256) {
		t.Fatalf("SHA-256 (what PAdES uses by default) is not among %v", caps.Hashes)
	}
	if _, ok := h.Provider.(signing.Canceler); caps.Cancel && !ok {
		t.Fatal("Capabilities.Cancel is set but the provider does not implement signing.Canceler")
	}
	if _, ok := h.Provider.(signing.CallbackParser); caps.Callback != ok {
		t.Fatalf("Capabilities.Callback is %v but implementing signing.CallbackParser is %v", caps.Callback, ok)
	}
	if _, ok := h.Provider.(signing.BatchStarter); caps.Batch != ok {
		t.Fatalf("Capabilities.Batch is %v but implementing signing.BatchStarter is %v", caps.Batch, ok)
	}
	if caps.MaxDisplayText < 0 {
		t.Fatalf("MaxDisplayText %d", caps.MaxDisplayText)
	}
	ctx := h.ctx(t)
	chain, err := h.Provider.Certificates(ctx, h.Signer)
	if err != nil {
		t.Fatalf("Certificates: %v", err)
	}
	alg, err := signing.AlgorithmFor(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(h.Provider.Capabilities().Algorithms, alg) {
		t.Fatalf("the signer's key wants %v, capabilities offer %v", alg, h.Provider.Capabilities().Algorithms)
	}
}

func testPinnedSignature(t *testing.T, h *Harness) {
	ctx := h.ctx(t)
	req, chain := pin(t, ctx, h.Provider, h.Signer, crypto.SHA256)
	sess, err := h.Provider.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if sess == nil || sess.TxID == "" {
		t.Fatal("Start returned no transaction id")
	}
	res := h.await(t, ctx, h.Provider, h.Signer, sess, true)
	signed(t, req, chain, res)
	// Polling a finished transaction again gives the same outcome.
	again, err := h.Provider.Poll(ctx, sess.TxID, 0)
	if err != nil {
		t.Fatalf("second Poll: %v", err)
	}
	if again.Status != signing.StatusSigned {
		t.Fatalf("second Poll: %v", again.Status)
	}
	signed(t, req, chain, again)
}

// testOtherHashes signs with every other hash the provider claims.
func testOtherHashes(t *testing.T, h *Harness) {
	for _, hash := range h.Provider.Capabilities().Hashes {
		if hash == crypto.SHA256 {
			continue
		}
		t.Run(hash.String(), func(t *testing.T) {
			ctx := h.ctx(t)
			req, chain := pin(t, ctx, h.Provider, h.Signer, hash)
			sess, err := h.Provider.Start(ctx, req)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			signed(t, req, chain, h.await(t, ctx, h.Provider, h.Signer, sess, true))
		})
	}
}

func testIdempotencyReuse(t *testing.T, h *Harness) {
	ctx := h.ctx(t)
	req, chain := pin(t, ctx, h.Provider, h.Signer, crypto.SHA256)
	before := 0
	if h.DeviceRequests != nil {
		before = h.DeviceRequests(h.Signer)
	}
	first, err := h.Provider.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	second, err := h.Provider.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start again with the same idempotency key: %v", err)
	}
	if second.TxID != first.TxID {
		t.Fatalf("the same idempotency key gave transactions %s and %s", first.TxID, second.TxID)
	}
	if h.DeviceRequests != nil {
		if n := h.DeviceRequests(h.Signer) - before; n != 1 {
			t.Fatalf("the signer's device was shown %d requests for one idempotency key", n)
		}
	}
	res := h.await(t, ctx, h.Provider, h.Signer, first, true)
	signed(t, req, chain, res)
	// A retry after the outcome is known is still the same transaction.
	third, err := h.Provider.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start after the outcome: %v", err)
	}
	if third.TxID != first.TxID {
		t.Fatalf("a retry after the outcome started transaction %s, not %s", third.TxID, first.TxID)
	}
	signed(t, req, chain, h.await(t, ctx, h.Provider, h.Signer, third, false))
}

func testIdempotencyOtherDigest(t *testing.T, h *Harness) {
	ctx := h.ctx(t)
	req, chain := pin(t, ctx, h.Provider, h.Signer, crypto.SHA256)
	sess, err := h.Provider.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	other := req
	other.Digest = Digest(t, crypto.SHA256)
	_, err = h.Provider.Start(ctx, other)
	if err == nil {
		t.Fatal("the same idempotency key over another digest was accepted: a signature could be paired with the wrong data")
	}
	if se := checkTyped(t, "Start with a reused key", err); se.Kind != signing.KindBadRequest {
		t.Fatalf("reused key over another digest: kind %v, want bad_request", se.Kind)
	}
	// The first request is unharmed.
	signed(t, req, chain, h.await(t, ctx, h.Provider, h.Signer, sess, true))
}

func testDigestMismatch(t *testing.T, h *Harness) {
	ctx := h.ctx(t)
	base, _ := pin(t, ctx, h.Provider, h.Signer, crypto.SHA256)
	cases := map[string]func(r *signing.Request){
		"short digest":         func(r *signing.Request) { r.Digest = r.Digest[:20] },
		"SHA-512 digest":       func(r *signing.Request) { r.Digest = Digest(t, crypto.SHA512) },
		"no hash":              func(r *signing.Request) { r.Hash = 0 },
		"unknown hash":         func(r *signing.Request) { r.Hash = crypto.Hash(99) },
		"empty digest":         func(r *signing.Request) { r.Digest = nil },
		"unknown algorithm":    func(r *signing.Request) { r.Algorithm = signing.Algorithm(42) },
		"algorithm of the key": func(r *signing.Request) { r.Algorithm = otherAlgorithm(r.Algorithm) },
	}
	before := 0
	if h.DeviceRequests != nil {
		before = h.DeviceRequests(h.Signer)
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			req := base
			req.IdempotencyKey = NewKey(t)
			mutate(&req)
			sess, err := h.Provider.Start(ctx, req)
			if err == nil {
				// A provider may accept and fail the request; it must
				// never come out signed.
				res := h.await(t, ctx, h.Provider, h.Signer, sess, false)
				if res.Status == signing.StatusSigned {
					t.Fatalf("a request with %s was signed", name)
				}
				err = res.Err
			}
			se := checkTyped(t, "Start", err)
			if se.Kind != signing.KindBadRequest {
				t.Fatalf("%s: kind %v, want bad_request", name, se.Kind)
			}
		})
	}
	if h.DeviceRequests != nil {
		if n := h.DeviceRequests(h.Signer) - before; n != 0 {
			t.Fatalf("%d malformed requests reached the signer's device", n)
		}
	}
}

// otherAlgorithm returns an algorithm that does not fit the key of alg.
func otherAlgorithm(alg signing.Algorithm) signing.Algorithm {
	if alg == signing.ECDSA {
		return signing.RSAPKCS1v15
	}
	return signing.ECDSA
}

func testUnknownTransaction(t *testing.T, h *Harness) {
	ctx := h.ctx(t)
	for _, id := range []string{"", "no-such-transaction", NewKey(t), "\x00\xff<>&", string(make([]byte, 4096))} {
		res, err := h.Provider.Poll(ctx, id, 0)
		if err == nil {
			if res != nil && res.Status == signing.StatusSigned {
				t.Fatalf("Poll(%q) of an unknown transaction came out signed", id)
			}
			if res != nil && res.Status == signing.StatusPending {
				t.Fatalf("Poll(%.20q) of an unknown transaction is pending: a session would wait for nothing", id)
			}
			if res == nil || res.Err == nil {
				t.Fatalf("Poll(%.20q): no error for an unknown transaction", id)
			}
			err = res.Err
		}
		se := checkTyped(t, "Poll of an unknown transaction", err)
		if se.Kind != signing.KindBadRequest {
			t.Fatalf("Poll(%.20q): kind %v, want bad_request", id, se.Kind)
		}
	}
	if c, ok := h.Provider.(signing.Canceler); ok {
		if err := c.Cancel(ctx, "no-such-transaction"); err != nil {
			checkTyped(t, "Cancel of an unknown transaction", err)
		}
	}
}

func testCancellation(t *testing.T, h *Harness) {
	c, ok := h.Provider.(signing.Canceler)
	if !ok {
		if h.Provider.Capabilities().Cancel {
			t.Fatal("Capabilities.Cancel without signing.Canceler")
		}
		return // nothing to cancel: the contract is only that none is claimed
	}
	ctx := h.ctx(t)
	req, chain := pin(t, ctx, h.Provider, h.Signer, crypto.SHA256)
	sess, err := h.Provider.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := c.Cancel(ctx, sess.TxID); err != nil {
		checkTyped(t, "Cancel", err)
		t.Fatalf("Cancel: %v", err)
	}
	res, err := h.Provider.Poll(ctx, sess.TxID, 0)
	if err != nil {
		checkTyped(t, "Poll after Cancel", err)
		return
	}
	switch res.Status {
	case signing.StatusPending:
		t.Fatal("the request is still pending after Cancel")
	case signing.StatusSigned:
		// A synchronous provider signed inside Start, before Cancel:
		// the signature is still good.
		if !h.Provider.Capabilities().Synchronous {
			t.Fatal("a cancelled request came out signed")
		}
		signed(t, req, chain, res)
	case signing.StatusFailed:
		checkTyped(t, "cancelled outcome", res.Err)
	}
	// Cancelling twice is harmless.
	if err := c.Cancel(ctx, sess.TxID); err != nil {
		checkTyped(t, "second Cancel", err)
	}
}

func testForged(t *testing.T, h *Harness, s Signer) {
	p := s.Provider
	if p == nil {
		p = h.Provider
	}
	if s.ID == "" && s.Provider == nil {
		t.Fatal("providertest: the harness names no forging signer; every provider must show it refuses forged signatures")
	}
	ctx := h.ctx(t)
	req, chain := pin(t, ctx, p, s.ID, crypto.SHA256)
	sess, err := p.Start(ctx, req)
	if err != nil {
		if se := checkTyped(t, "Start", err); se.Kind != signing.KindBadSignature {
			t.Fatalf("forged signature: Start kind %v, want bad_signature", se.Kind)
		}
		return
	}
	res := h.await(t, ctx, p, s.ID, sess, true)
	if res.Status == signing.StatusSigned {
		// The provider let it through; the shared check must still
		// catch it, but the provider broke its contract.
		t.Fatalf("a forged signature came out signed (verifies against the pinned certificate: %v)",
			signing.VerifySignature(chain[0], req.Hash, req.Algorithm, req.Digest, res.Signature) == nil)
	}
	if res.Err.Kind != signing.KindBadSignature {
		t.Fatalf("forged signature: kind %v, want bad_signature (%v)", res.Err.Kind, res.Err)
	}
}

func testDeclined(t *testing.T, h *Harness) {
	if h.Declines == "" {
		if !h.Provider.Capabilities().Synchronous {
			t.Fatal("providertest: an asynchronous provider's harness must name a signer who declines")
		}
		return // a key that needs no one cannot decline
	}
	ctx := h.ctx(t)
	req, _ := pin(t, ctx, h.Provider, h.Declines, crypto.SHA256)
	sess, err := h.Provider.Start(ctx, req)
	if err != nil {
		if se := checkTyped(t, "Start", err); se.Kind != signing.KindDeclined {
			t.Fatalf("decline: Start kind %v", se.Kind)
		}
		return
	}
	if h.Decline != nil {
		h.Decline(t, h.Declines, sess)
	}
	res := h.await(t, ctx, h.Provider, h.Declines, sess, false)
	if res.Status != signing.StatusFailed || res.Err.Kind != signing.KindDeclined {
		t.Fatalf("decline: %v %v, want failed declined", res.Status, res.Err)
	}
	if res.Err.Kind.Retryable() {
		t.Fatal("a declined request is retryable")
	}
}

func testNoCertificate(t *testing.T, h *Harness) {
	if h.NoCertificate == "" {
		if !h.Provider.Capabilities().Synchronous {
			t.Fatal("providertest: an asynchronous provider's harness must name a signer without a certificate")
		}
		return // a key file or token is opened with its certificate
	}
	ctx := h.ctx(t)
	_, err := h.Provider.Certificates(ctx, h.NoCertificate)
	if err == nil {
		t.Fatalf("Certificates(%q) of a signer without a valid certificate succeeded", h.NoCertificate)
	}
	if se := checkTyped(t, "Certificates", err); se.Kind != signing.KindNoCertificate {
		t.Fatalf("Certificates(%q): kind %v, want no_certificate", h.NoCertificate, se.Kind)
	}
}

// testBatch checks a BatchStarter: three digests are one request on the
// device, a retry of the batch is the same transactions, and each digest
// gets its own signature.
func testBatch(t *testing.T, h *Harness) {
	bs, ok := h.Provider.(signing.BatchStarter)
	if !ok {
		return // the contract is only that Capabilities.Batch says so
	}
	ctx := h.ctx(t)
	var reqs []signing.Request
	var chain []*x509.Certificate
	for range 3 {
		var r signing.Request
		r, chain = pin(t, ctx, h.Provider, h.Signer, crypto.SHA256)
		reqs = append(reqs, r)
	}
	before := 0
	if h.DeviceRequests != nil {
		before = h.DeviceRequests(h.Signer)
	}
	ss, err := bs.StartBatch(ctx, reqs)
	if err != nil {
		t.Fatalf("StartBatch: %v", err)
	}
	if len(ss) != len(reqs) {
		t.Fatalf("StartBatch returned %d sessions for %d requests", len(ss), len(reqs))
	}
	again, err := bs.StartBatch(ctx, reqs)
	if err != nil {
		t.Fatalf("StartBatch again: %v", err)
	}
	ids := map[string]bool{}
	for i := range ss {
		if again[i].TxID != ss[i].TxID {
			t.Fatalf("a retried batch changed transaction %d", i)
		}
		ids[ss[i].TxID] = true
	}
	if len(ids) != len(ss) {
		t.Fatal("two requests of a batch share a transaction id")
	}
	if h.DeviceRequests != nil {
		if n := h.DeviceRequests(h.Signer) - before; n != 1 {
			t.Fatalf("a batch put %d requests on the device, want 1", n)
		}
	}
	for i, s := range ss {
		signed(t, reqs[i], chain, h.await(t, ctx, h.Provider, h.Signer, s, i == 0))
	}
	// Another user's request, or the same key twice, cannot join a batch.
	dup := []signing.Request{reqs[0], reqs[0]}
	dup[1].Digest = Digest(t, crypto.SHA256)
	if _, err := bs.StartBatch(ctx, dup); err == nil {
		t.Fatal("a batch with one idempotency key twice was accepted")
	} else if se := checkTyped(t, "StartBatch", err); se.Kind != signing.KindBadRequest {
		t.Fatalf("duplicate key in a batch: kind %v", se.Kind)
	}
}
