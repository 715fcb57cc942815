package signing

import (
	"context"
	"crypto/x509"
	"errors"
	"time"
)

// WaitOptions tune SignAndWait.
type WaitOptions struct {
	// OnSession is called once the provider accepted the request, e.g. to
	// show the verification code to the user.
	OnSession func(*Session)
	// MaxAttempts bounds how often a retryable failure (provider down, phone
	// unreachable) is retried with the same idempotency key. Default 3.
	MaxAttempts int
	// Backoff is the first retry delay; it doubles per attempt. Default 1s.
	Backoff time.Duration
}

// SignAndWait starts a request, waits for the outcome and verifies the
// returned signature against pinned (the certificate the digest was built
// for). It is the blocking convenience used by the command line; servers
// keep the session durable instead and poll from a worker.
func SignAndWait(ctx context.Context, p Provider, pinned *x509.Certificate, req Request, opts WaitOptions) ([]byte, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	delay := opts.Backoff
	var lastErr error
	for attempt := 1; attempt <= opts.MaxAttempts; attempt++ {
		sig, err := signOnce(ctx, p, pinned, req, opts.OnSession)
		if err == nil {
			return sig, nil
		}
		lastErr = err
		if !IsRetryable(err) || attempt == opts.MaxAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
	return nil, lastErr
}

func signOnce(ctx context.Context, p Provider, pinned *x509.Certificate, req Request, onSession func(*Session)) ([]byte, error) {
	sess, err := p.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	if onSession != nil {
		onSession(sess)
	}
	interval := sess.PollInterval
	if interval <= 0 {
		interval = time.Second
	}
	wait := time.Duration(0)
	if p.Capabilities().LongPoll {
		wait = 20 * time.Second
	}
	pollErrors := 0
	for {
		polled := time.Now()
		res, err := p.Poll(ctx, sess.TxID, wait)
		if err == nil && res == nil {
			err = &Error{Kind: KindUnavailable, Message: "provider returned neither a result nor an error"}
		}
		switch {
		case err != nil:
			// A failed poll says nothing about the request; tolerate a few
			// transient failures before giving up.
			pollErrors++
			if !IsRetryable(err) || pollErrors >= 5 {
				return nil, err
			}
		case res.Status == StatusSigned:
			if err := VerifySignature(pinned, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
				return nil, err
			}
			return res.Signature, nil
		case res.Status == StatusFailed:
			if res.Err == nil {
				return nil, &Error{Kind: KindUnavailable, Message: "provider reported failure without a reason"}
			}
			return nil, res.Err
		default:
			pollErrors = 0
		}
		if !sess.ExpiresAt.IsZero() && time.Now().After(sess.ExpiresAt.Add(30*time.Second)) {
			return nil, &Error{Kind: KindExpired, Message: "no outcome before the request expired"}
		}
		// A long poll that waited has paced us already; one that answered at
		// once (a provider that only claims long polling) must not make us
		// spin.
		if wait > 0 && err == nil && time.Since(polled) >= interval {
			continue
		}
		select {
		case <-ctx.Done():
			if c, ok := p.(Canceler); ok {
				_ = c.Cancel(context.WithoutCancel(ctx), sess.TxID)
			}
			return nil, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// ErrNotSupported is returned by optional operations a provider lacks.
var ErrNotSupported = errors.New("signing: operation not supported by this provider")
