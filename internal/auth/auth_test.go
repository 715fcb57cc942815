package auth

import (
	"context"
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

func TestLoginThrottle(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	l := &LoginThrottle{PerAddr: Limit{5, time.Minute}, PerUser: Limit{3, time.Minute}, Now: func() time.Time { return now }}
	wait := func(a Attempt) time.Duration {
		t.Helper()
		w, err := l.Check(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	// Three failures on an account from three addresses lock the account
	// for strangers, not the addresses for other accounts.
	for i, addr := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		a := Attempt{Addr: addr, User: "ChuTich"}
		if w := wait(a); w != 0 {
			t.Fatalf("attempt %d waits %v", i, w)
		}
		l.Failed(ctx, a)
	}
	if w := wait(Attempt{Addr: "10.0.0.9", User: "chutich"}); w != time.Minute {
		t.Fatalf("fourth failure on the account should wait a minute, waits %v", w)
	}
	if w := wait(Attempt{Addr: "10.0.0.1", User: "vanthu"}); w != 0 {
		t.Fatal("another account from the same address is held back")
	}
	// The owner's known device is not held by the account counter.
	if w := wait(Attempt{Addr: "10.0.0.9", User: "chutich", Device: "d1"}); w != 0 {
		t.Fatalf("known device waits %v", w)
	}
	// Success clears the account, not the address.
	for i := 0; i < 5; i++ {
		l.Failed(ctx, Attempt{Addr: "10.9.9.9", User: "u" + string(rune('a'+i))})
	}
	l.Succeeded(ctx, Attempt{Addr: "10.9.9.9", User: "attacker-own-account"})
	if w := wait(Attempt{Addr: "10.9.9.9", User: "someone"}); w == 0 {
		t.Fatal("a success from the address cleared the address's failures")
	}
	l.Succeeded(ctx, Attempt{Addr: "10.0.0.9", User: "chutich"})
	if w := wait(Attempt{Addr: "10.0.0.9", User: "chutich"}); w != 0 {
		t.Fatal("success does not clear the account")
	}
	// Counters drain.
	now = now.Add(5 * time.Minute)
	if w := wait(Attempt{Addr: "10.9.9.9", User: "someone"}); w != 0 {
		t.Fatalf("the address counter did not drain: %v", w)
	}
}

func TestDeviceCookie(t *testing.T) {
	secret := []byte("a secret of at least thirty-two bytes")
	v, id, err := NewDeviceCookie(secret, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if KnownDevice(secret, "u1", v) != id {
		t.Fatal("own cookie not recognised")
	}
	if KnownDevice(secret, "u2", v) != "" || KnownDevice([]byte("another secret of thirty-two bytes!"), "u1", v) != "" ||
		KnownDevice(secret, "u1", id+".00") != "" || KnownDevice(secret, "u1", "") != "" {
		t.Fatal("a forged or foreign cookie was recognised")
	}
}
