package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"time"
)

// Local adapts a key we can use directly (a key file, a PKCS#11 object
// exposed as crypto.Signer) to the asynchronous Provider interface: Start
// signs at once and Poll returns the remembered outcome.
type Local struct {
	scheme string
	signer crypto.Signer
	chain  []*x509.Certificate

	mu      sync.Mutex
	results map[string]localResult
}

type localResult struct {
	res     Result
	digest  []byte
	expires time.Time
}

// localResultTTL bounds how long Poll can read an outcome after Start, so a
// long-running server does not accumulate results.
const localResultTTL = time.Hour

var _ Provider = (*Local)(nil)

// NewLocal returns a Provider that signs with signer. chain is the signer's
// certificate chain, leaf first; the leaf's public key must match the signer.
func NewLocal(scheme string, signer crypto.Signer, chain []*x509.Certificate) (*Local, error) {
	if len(chain) == 0 {
		return nil, &Error{Kind: KindNoCertificate, Provider: scheme, Message: "no certificate for the key"}
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := signer.Public().(equaler)
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, &Error{Kind: KindNoCertificate, Provider: scheme, Message: "certificate does not match the key"}
	}
	return &Local{scheme: scheme, signer: signer, chain: chain, results: map[string]localResult{}}, nil
}

// Signer returns the underlying crypto.Signer, for callers that sign in
// process (the one-shot PDF signer).
func (l *Local) Signer() crypto.Signer { return l.signer }

func (l *Local) Certificates(ctx context.Context, signerID string) ([]*x509.Certificate, error) {
	return append([]*x509.Certificate(nil), l.chain...), nil
}

func (l *Local) Capabilities() Capabilities {
	caps := Capabilities{Synchronous: true, Hashes: []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}}
	switch l.signer.Public().(type) {
	case *rsa.PublicKey:
		caps.Algorithms = []Algorithm{RSAPKCS1v15, RSAPSS}
	case *ecdsa.PublicKey:
		caps.Algorithms = []Algorithm{ECDSA}
	}
	return caps
}

func (l *Local) Start(ctx context.Context, req Request) (*Session, error) {
	txID := req.IdempotencyKey
	if txID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		txID = hex.EncodeToString(b[:])
	}
	l.mu.Lock()
	prev, seen := l.results[txID]
	l.mu.Unlock()
	if seen {
		// A retry is the same request; the same key over another digest is
		// a caller bug that would pair a signature with the wrong data.
		if !bytes.Equal(prev.digest, req.Digest) {
			return nil, &Error{Kind: KindBadRequest, Provider: l.scheme, Message: "idempotency key " + txID + " was used for another digest"}
		}
		return &Session{TxID: txID, ExpiresAt: prev.expires}, nil
	}
	if err := checkRequest(l.scheme, req); err != nil {
		return nil, err
	}
	// An algorithm that does not fit the key is our mistake, not a bad
	// signature: refuse it before the key is used.
	if !slices.Contains(l.Capabilities().Algorithms, req.Algorithm) {
		return nil, &Error{Kind: KindBadRequest, Provider: l.scheme, Message: "algorithm " + req.Algorithm.String() + " does not fit the key"}
	}
	var opts crypto.SignerOpts = req.Hash
	if req.Algorithm == RSAPSS {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: req.Hash}
	}
	res := Result{TxID: txID, Status: StatusSigned, Certificates: l.chain}
	sig, err := l.signer.Sign(rand.Reader, req.Digest, opts)
	if err == nil {
		err = VerifySignature(l.chain[0], req.Hash, req.Algorithm, req.Digest, sig)
	}
	if err != nil {
		var typed *Error
		if !errors.As(err, &typed) {
			typed = &Error{Kind: KindUnavailable, Provider: l.scheme, Message: "signing failed", Err: err}
		}
		if typed.Provider == "" {
			typed.Provider = l.scheme
		}
		res = Result{TxID: txID, Status: StatusFailed, Err: typed}
	} else {
		res.Signature = sig
	}
	now := time.Now()
	l.mu.Lock()
	for id, r := range l.results {
		if now.After(r.expires) {
			delete(l.results, id)
		}
	}
	l.results[txID] = localResult{res: res, digest: append([]byte(nil), req.Digest...), expires: now.Add(localResultTTL)}
	l.mu.Unlock()
	return &Session{TxID: txID, ExpiresAt: now.Add(localResultTTL)}, nil
}

func (l *Local) Poll(ctx context.Context, txID string, wait time.Duration) (*Result, error) {
	l.mu.Lock()
	r, ok := l.results[txID]
	l.mu.Unlock()
	if !ok {
		return nil, &Error{Kind: KindBadRequest, Provider: l.scheme, Message: "unknown transaction " + txID}
	}
	out := r.res
	return &out, nil
}

// checkRequest rejects requests no provider can serve.
func checkRequest(provider string, req Request) error {
	if !req.Hash.Available() {
		return &Error{Kind: KindBadRequest, Provider: provider, Message: "hash not available"}
	}
	if len(req.Digest) != req.Hash.Size() {
		return &Error{Kind: KindBadRequest, Provider: provider, Message: "digest length does not match hash"}
	}
	if req.Algorithm < RSAPKCS1v15 || req.Algorithm > ECDSA {
		return &Error{Kind: KindBadRequest, Provider: provider, Message: "unknown signature algorithm"}
	}
	return nil
}

// CheckRequest validates a request before it is sent to a provider:
// a known hash, a digest of the hash's length and a known algorithm.
func CheckRequest(provider string, req Request) error { return checkRequest(provider, req) }
