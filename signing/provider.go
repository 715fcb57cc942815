// Package signing defines how vanban asks for a signature over a digest it
// computed, from keys it does not hold: a leader's mobile SIM (ETSI TS 102 204),
// a cloud signing service (CSC API v2), an HSM or token (PKCS#11), or a key file.
//
// Signing by SIM takes minutes and may outlive the process that started it,
// so the interface is asynchronous: Start hands the digest to the provider and
// returns a Session; the outcome arrives by Poll (or a provider callback). A
// synchronous key (file, PKCS#11) fits the same shape: its Start signs at
// once and Poll returns the result.
//
// This package knows nothing of HTTP servers, databases or PDF. Providers live
// in subpackages and register themselves by URI scheme (see Register).
package signing

import (
	"context"
	"crypto"
	"crypto/x509"
	"net/http"
	"time"
)

// Provider is a source of signatures for one kind of key custody.
type Provider interface {
	// Certificates returns the certificate chain of the signer, leaf first.
	// The caller pins the leaf before computing the digest, because the
	// signing-certificate-v2 attribute inside the signed data names it.
	// signerID identifies the signer within the provider (a phone number, a
	// CSC credential id); empty means the provider's default signer, from its
	// URI. Errors: KindNoCertificate, KindUnreachable, KindUnavailable,
	// KindUnauthorized, KindBadRequest.
	Certificates(ctx context.Context, signerID string) ([]*x509.Certificate, error)

	// Start asks for a signature over req.Digest. It returns once the provider
	// has accepted the request, not when the signature is ready. Starting
	// twice with the same IdempotencyKey must not produce two requests on the
	// signer's device where the provider can prevent it.
	Start(ctx context.Context, req Request) (*Session, error)

	// Poll returns the current outcome of a started request. When wait is
	// positive and the provider supports long polling, Poll may block up to
	// wait for a final outcome. A pending request returns a Result with
	// Status Pending and a nil error; a failed request returns a Result with
	// Status Failed and Err set. A non-nil error means the poll itself failed
	// (e.g. the provider is unreachable) and says nothing of the request.
	Poll(ctx context.Context, txID string, wait time.Duration) (*Result, error)

	// Capabilities tells the caller what this provider can do.
	Capabilities() Capabilities
}

// Canceler is implemented by providers that can withdraw a pending request.
type Canceler interface {
	Cancel(ctx context.Context, txID string) error
}

// CallbackParser is implemented by providers that notify completion by an
// HTTP callback. ParseCallback authenticates the request (signature, shared
// secret or mutual TLS, as the provider defines) and returns the outcome it
// reports. It must not trust the callback's signature bytes: the caller
// verifies them like any other result (see VerifySignature).
type CallbackParser interface {
	ParseCallback(r *http.Request) (*Result, error)
}

// BatchStarter is implemented by providers whose signer can confirm several
// digests at once (VNPT SmartCA's several sign_files in one transaction): a
// leader signing ten documents confirms once on the phone and each document
// still gets its own signature. All requests name the same signer; each
// keeps its own IdempotencyKey, and the returned Sessions (one per request,
// in order) have their own TxIDs, polled like any other. Starting the same
// batch again with the same keys must be the same provider transaction.
type BatchStarter interface {
	StartBatch(ctx context.Context, reqs []Request) ([]*Session, error)
}

// BatchCallbackParser is implemented by CallbackParsers whose callbacks
// carry the outcomes of several requests (one per digest of a batch).
type BatchCallbackParser interface {
	ParseBatchCallback(r *http.Request) ([]*Result, error)
}

// OutcomeNotifier is implemented by providers that learn an outcome on
// their own, between polls (ETSI TS 102 204's synchronous mode: the call
// returns on a goroutine of its own when the signer answers). fn is called
// with the TxID once its outcome is final, after which Poll returns it at
// once; a later call replaces fn. fn must not block.
type OutcomeNotifier interface {
	NotifyOutcomes(fn func(txID string))
}

// Closer is implemented by providers that hold resources (PKCS#11 sessions,
// HTTP connection pools, background goroutines).
type Closer interface {
	Close() error
}

// Request is one signature request.
type Request struct {
	// IdempotencyKey is our transaction id. It is reused on every retry of
	// the same request so that a provider can detect a duplicate.
	IdempotencyKey string
	// SignerID identifies the signer within the provider; empty means the
	// provider's default signer.
	SignerID string
	// Digest is the hash of the data to be signed (for CMS, the DER signed
	// attributes), computed with Hash.
	Digest    []byte
	Hash      crypto.Hash
	Algorithm Algorithm
	// DisplayText is shown to the signer on the device. Keep it short: a SIM
	// shows about 50 characters of Vietnamese.
	DisplayText string
	// Timeout is how long the signer has to answer. Zero means the
	// provider's default.
	Timeout time.Duration
}

// Session describes an accepted request.
type Session struct {
	TxID string
	// VerificationCode is shown in our UI next to the pending request so the
	// user can match it with the code on the phone. Empty if the provider has
	// no such notion.
	VerificationCode string
	ExpiresAt        time.Time
	// PollInterval is the provider's suggested interval between polls.
	PollInterval time.Duration
}

// Status is the state of a request.
type Status int

const (
	StatusPending Status = iota + 1
	StatusSigned
	StatusFailed
)

func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusSigned:
		return "signed"
	case StatusFailed:
		return "failed"
	}
	return "unknown"
}

// Result is the outcome of a request as far as it is known.
type Result struct {
	TxID   string
	Status Status
	// Signature is the raw signature value: PKCS#1 v1.5 or PSS bytes for RSA,
	// ASN.1 DER for ECDSA (providers convert raw r||s with ECDSARawToDER).
	Signature []byte
	// Certificates, when the provider returns them with the signature, leaf
	// first. Callers still verify against the certificate they pinned.
	Certificates []*x509.Certificate
	// Err is set when Status is StatusFailed.
	Err *Error
}

// Capabilities describes what a provider supports.
type Capabilities struct {
	// Synchronous providers sign inside Start (key files, PKCS#11).
	Synchronous bool
	// Batch tells that the provider implements BatchStarter; MaxBatch is
	// the most requests one batch may carry.
	Batch    bool
	MaxBatch int
	LongPoll bool
	Callback bool
	Cancel   bool
	// VerificationCode tells whether Sessions carry a code to show the user.
	VerificationCode bool
	// MaxDisplayText is the longest display text the device shows, in
	// characters; 0 means no display.
	MaxDisplayText int
	// Algorithms the provider's keys can produce.
	Algorithms []Algorithm
	// Hashes the provider accepts.
	Hashes []crypto.Hash
}

// Algorithm is a signature scheme.
type Algorithm int

const (
	RSAPKCS1v15 Algorithm = iota + 1
	RSAPSS
	ECDSA
)

func (a Algorithm) String() string {
	switch a {
	case RSAPKCS1v15:
		return "RSA-PKCS1v15"
	case RSAPSS:
		return "RSA-PSS"
	case ECDSA:
		return "ECDSA"
	}
	return "unknown"
}

// AlgorithmFor returns the natural algorithm for a certificate's public key:
// RSA PKCS#1 v1.5 for RSA keys (what SIMs and most HSMs produce), ECDSA for
// EC keys.
func AlgorithmFor(cert *x509.Certificate) (Algorithm, error) {
	switch cert.PublicKeyAlgorithm {
	case x509.RSA:
		return RSAPKCS1v15, nil
	case x509.ECDSA:
		return ECDSA, nil
	}
	return 0, &Error{Kind: KindBadRequest, Message: "unsupported public key algorithm " + cert.PublicKeyAlgorithm.String()}
}
