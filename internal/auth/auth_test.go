package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fastParams keep the tests quick; production uses DefaultParams.
var fastParams = Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("mật khẩu đủ dài", fastParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash form %q", h)
	}
	if _, err := CheckPassword(h, "mật khẩu đủ dài", fastParams); err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if _, err := CheckPassword(h, "mật khẩu đủ dàI", fastParams); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	h2, _ := HashPassword("mật khẩu đủ dài", fastParams)
	if h2 == h {
		t.Fatal("two hashes of one password must differ (salt)")
	}
}

func TestPasswordRehashAndLimits(t *testing.T) {
	if _, err := HashPassword("short", fastParams); err == nil {
		t.Fatal("short password accepted")
	}
	h, _ := HashPassword("correct horse battery", fastParams)
	rehash, err := CheckPassword(h, "correct horse battery", DefaultParams)
	if err != nil || !rehash {
		t.Fatalf("weaker stored params should ask for a rehash: %v %v", rehash, err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=8192,t=1,p=1$!!$!!"} {
		if _, err := CheckPassword(bad, "x", fastParams); !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestTokens(t *testing.T) {
	tok, hash, err := NewToken(SessionPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckTokenForm(tok, SessionPrefix); err != nil {
		t.Fatal(err)
	}
	if CheckTokenForm(tok, APITokenPrefix) == nil || CheckTokenForm(tok+"x", SessionPrefix) == nil || CheckTokenForm("vbs_"+strings.Repeat("!", 43), SessionPrefix) == nil {
		t.Fatal("malformed tokens accepted")
	}
	if HashToken(tok) != hash || strings.Contains(hash, tok) {
		t.Fatal("stored hash")
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	csrf := CSRFToken(secret, hash)
	if !CheckCSRF(secret, hash, csrf) || CheckCSRF(secret, hash, "") || CheckCSRF(secret, HashToken("other"), csrf) || CheckCSRF([]byte("another secret of 32 bytes......"), hash, csrf) {
		t.Fatal("csrf check")
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLoginLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("user:chutich", "ip:10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
		l.Fail("user:chutich", "ip:10.0.0.1")
	}
	ok, wait := l.Allow("user:chutich", "ip:10.0.0.9")
	if ok || wait != time.Minute {
		t.Fatalf("fourth failure should wait a minute: %v %v", ok, wait)
	}
	if ok, _ := l.Allow("user:vanthu", "ip:10.0.0.9"); !ok {
		t.Fatal("another user from another address is not affected")
	}
	now = now.Add(time.Minute)
	if ok, _ := l.Allow("user:chutich"); !ok {
		t.Fatal("bucket should refill")
	}
	l.Succeed("user:chutich")
	if ok, _ := l.Allow("user:chutich"); !ok {
		t.Fatal("success resets the user")
	}
	l.MaxKeys = 10
	for i := 0; i < 50; i++ {
		l.Fail(strings.Repeat("k", i+1))
	}
	if len(l.buckets) > 10 {
		t.Fatalf("limiter holds %d keys, max 10", len(l.buckets))
	}
}
