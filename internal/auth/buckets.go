package auth

import (
	"sync"
	"time"
)

// RateLimiter is an in-memory token bucket per key, for limits that one
// node may keep alone (the public dossier lookup). Each key has a bucket
// of Burst attempts that refills at one attempt per Every; Fail takes one.
// Sign-ins are not limited here but by LoginThrottle, whose counters live
// in the database and are shared by every node.
type RateLimiter struct {
	Burst int
	Every time.Duration
	// MaxKeys bounds memory under a flood of distinct usernames; the oldest
	// idle buckets are dropped first.
	MaxKeys int

	mu      sync.Mutex
	buckets map[string]*tokenBucket
	now     func() time.Time
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter returns a limiter allowing burst attempts per key,
// refilling one every every.
func NewRateLimiter(burst int, every time.Duration) *RateLimiter {
	return &RateLimiter{Burst: burst, Every: every, MaxKeys: 100_000, buckets: map[string]*tokenBucket{}, now: time.Now}
}

// Allow reports whether another attempt is allowed for every key, and if
// not, how long to wait.
func (l *RateLimiter) Allow(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		b := l.refill(k, now)
		if b.tokens < 1 {
			need := time.Duration((1 - b.tokens) * float64(l.Every))
			if need > wait {
				wait = need
			}
		}
	}
	return wait == 0, wait
}

// Fail records a failed attempt against every key.
func (l *RateLimiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		b := l.refill(k, now)
		b.tokens--
	}
	l.evict()
}

// Succeed forgets the failures of keys (the username), not of shared keys
// such as an address; callers pass what to reset.
func (l *RateLimiter) Succeed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.buckets, k)
	}
}

func (l *RateLimiter) refill(k string, now time.Time) *tokenBucket {
	b, ok := l.buckets[k]
	if !ok {
		b = &tokenBucket{tokens: float64(l.Burst), last: now}
		l.buckets[k] = b
		return b
	}
	b.tokens += float64(now.Sub(b.last)) / float64(l.Every)
	if b.tokens > float64(l.Burst) {
		b.tokens = float64(l.Burst)
	}
	b.last = now
	return b
}

func (l *RateLimiter) evict() {
	if len(l.buckets) <= l.MaxKeys {
		return
	}
	// Full buckets carry no information; drop them first, then the oldest.
	for k, b := range l.buckets {
		if b.tokens >= float64(l.Burst) {
			delete(l.buckets, k)
		}
	}
	for len(l.buckets) > l.MaxKeys {
		var oldestKey string
		var oldest time.Time
		for k, b := range l.buckets {
			if oldestKey == "" || b.last.Before(oldest) {
				oldestKey, oldest = k, b.last
			}
		}
		delete(l.buckets, oldestKey)
	}
}
