package etsi204

import (
	"sync"
	"time"

	"vanban/signing"
)

// breaker stops a client from hammering an MSSP that is down (and from
// making every signer wait for timeouts): after threshold consecutive
// failed exchanges it refuses calls at once for cooldown, then lets a single
// probe through; the probe's success closes it again.
type breaker struct {
	threshold int // <= 0 disables the breaker
	cooldown  time.Duration

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
}

// allow returns a KindUnavailable error while the breaker is open.
func (b *breaker) allow() error {
	if b.threshold <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return nil
	}
	if time.Now().Before(b.openUntil) || b.probing {
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme,
			Message: "MSSP circuit open after repeated failures; not calling it until " + b.openUntil.Format(time.RFC3339)}
	}
	b.probing = true
	return nil
}

// record notes the outcome of an exchange. Only KindUnavailable (network,
// HTTP 5xx, fault 900) counts as the MSSP failing; any other answer,
// including a fault about the request, proves it alive.
func (b *breaker) record(err error) {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if err == nil || signing.KindOf(err) != signing.KindUnavailable {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openUntil = time.Now().Add(b.cooldown)
	}
}
