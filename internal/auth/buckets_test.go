package auth

import (
	"strings"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewRateLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("addr:10.0.0.1", "all"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
		l.Fail("addr:10.0.0.1", "all")
	}
	ok, wait := l.Allow("addr:10.0.0.1")
	if ok || wait != time.Minute {
		t.Fatalf("fourth attempt should wait a minute: %v %v", ok, wait)
	}
	if ok, _ := l.Allow("addr:10.0.0.9"); !ok {
		t.Fatal("another address is not affected")
	}
	now = now.Add(time.Minute)
	if ok, _ := l.Allow("addr:10.0.0.1"); !ok {
		t.Fatal("bucket should refill")
	}
	l.Succeed("addr:10.0.0.1")
	if ok, _ := l.Allow("addr:10.0.0.1"); !ok {
		t.Fatal("Succeed forgets the key")
	}
	l.MaxKeys = 10
	for i := 0; i < 50; i++ {
		l.Fail(strings.Repeat("k", i+1))
	}
	if len(l.buckets) > 10 {
		t.Fatalf("limiter holds %d keys, max 10", len(l.buckets))
	}
}
