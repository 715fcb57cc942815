package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// CounterStore keeps failure counters where every server node sees them
// (*store.DB: a table on SQLite and PostgreSQL). A counter is a leaky
// bucket: failures, and when the last one happened; LoginThrottle lets it
// drain with time. A missing key reads as zero failures.
type CounterStore interface {
	LoginCounter(ctx context.Context, key string) (failures float64, last time.Time, err error)
	SetLoginCounter(ctx context.Context, key string, failures float64, last time.Time) error
	DeleteLoginCounter(ctx context.Context, key string) error
}

// Limit is a leaky bucket: Burst failures, one forgiven every Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// LoginThrottle slows password guessing with two separate counters:
//
//   - per client address, so one machine cannot try many passwords (nor
//     many accounts); a successful sign-in from the address does not clear
//     it, else an attacker with one account of their own could reset it
//     between guesses;
//   - per account, so many machines cannot try many passwords on one
//     account; a successful sign-in clears it.
//
// An attacker can still fill an account's counter from anywhere, so the
// account counter does not apply on a known device: a browser holding a
// device cookie from an earlier sign-in of that account (DeviceCookie). The
// account's owner signs in from their usual browser while strangers are
// held back; the device has its own counter so a stolen cookie buys
// nothing but the per-address limit.
type LoginThrottle struct {
	Store   CounterStore // nil: in memory, for one process
	PerAddr Limit        // default 30 failures, one forgiven a minute
	PerUser Limit        // default 10 failures, one forgiven a minute
	Now     func() time.Time

	memOnce sync.Once
	mem     *memCounters
}

// NewLoginThrottle returns a throttle with the default limits keeping its
// counters in s (nil: in memory).
func NewLoginThrottle(s CounterStore) *LoginThrottle {
	return &LoginThrottle{Store: s, PerAddr: Limit{30, time.Minute}, PerUser: Limit{10, time.Minute}}
}

// Attempt names one sign-in attempt's counters.
type Attempt struct {
	Addr   string // the client address (after trusted-proxy handling)
	User   string // the username as typed, case-folded here
	Device string // the known device's id, "" when none
}

func (a Attempt) keys() (addr, user, device string) {
	addr = "addr:" + a.Addr
	user = "user:" + strings.ToLower(strings.TrimSpace(a.User))
	if a.Device != "" {
		device = "device:" + a.Device
	}
	return
}

func (t *LoginThrottle) store() CounterStore {
	if t.Store != nil {
		return t.Store
	}
	t.memOnce.Do(func() { t.mem = &memCounters{m: map[string]memCounter{}} })
	return t.mem
}

func (t *LoginThrottle) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *LoginThrottle) limits() (addr, user Limit) {
	addr, user = t.PerAddr, t.PerUser
	if addr.Burst <= 0 || addr.Every <= 0 {
		addr = Limit{30, time.Minute}
	}
	if user.Burst <= 0 || user.Every <= 0 {
		user = Limit{10, time.Minute}
	}
	return addr, user
}

// level is the counter's failures after draining since last.
func level(failures float64, last, now time.Time, l Limit) float64 {
	f := failures - float64(now.Sub(last))/float64(l.Every)
	if f < 0 {
		return 0
	}
	return f
}

// wait returns how long until the counter at key allows one more failure.
func (t *LoginThrottle) wait(ctx context.Context, key string, l Limit, now time.Time) (time.Duration, error) {
	f, last, err := t.store().LoginCounter(ctx, key)
	if err != nil {
		return 0, err
	}
	// One more failure must fit: after Burst quick failures the bucket
	// has drained only a hair, which must not let another one in.
	over := level(f, last, now, l) + 1 - float64(l.Burst)
	if over <= 1e-9 {
		return 0, nil
	}
	return time.Duration(over * float64(l.Every)), nil
}

// Check returns how long the attempt must wait (0: go ahead). The account
// counter is skipped for a known device, whose own counter applies
// instead.
func (t *LoginThrottle) Check(ctx context.Context, a Attempt) (time.Duration, error) {
	now := t.now()
	addrL, userL := t.limits()
	addr, user, device := a.keys()
	w, err := t.wait(ctx, addr, addrL, now)
	if err != nil || w > 0 {
		return w, err
	}
	if device != "" {
		return t.wait(ctx, device, userL, now)
	}
	return t.wait(ctx, user, userL, now)
}

// Failed records a failed attempt on the address, the account and the
// device.
func (t *LoginThrottle) Failed(ctx context.Context, a Attempt) error {
	now := t.now()
	addrL, userL := t.limits()
	addr, user, device := a.keys()
	for _, k := range []struct {
		key string
		l   Limit
	}{{addr, addrL}, {user, userL}, {device, userL}} {
		if k.key == "" {
			continue
		}
		f, last, err := t.store().LoginCounter(ctx, k.key)
		if err != nil {
			return err
		}
		if err := t.store().SetLoginCounter(ctx, k.key, level(f, last, now, k.l)+1, now); err != nil {
			return err
		}
	}
	return nil
}

// Succeeded clears the account's (and the device's) counter, never the
// address's.
func (t *LoginThrottle) Succeeded(ctx context.Context, a Attempt) error {
	_, user, device := a.keys()
	if err := t.store().DeleteLoginCounter(ctx, user); err != nil {
		return err
	}
	if device != "" {
		return t.store().DeleteLoginCounter(ctx, device)
	}
	return nil
}

// memCounters is the in-memory CounterStore, bounded so a flood of
// distinct usernames cannot exhaust memory (drained entries go first).
type memCounters struct {
	mu sync.Mutex
	m  map[string]memCounter
}

type memCounter struct {
	failures float64
	last     time.Time
}

const memMaxKeys = 100_000

func (m *memCounters) LoginCounter(_ context.Context, key string) (float64, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.m[key]
	return c.failures, c.last, nil
}

func (m *memCounters) SetLoginCounter(_ context.Context, key string, f float64, last time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = memCounter{f, last}
	if len(m.m) > memMaxKeys {
		var oldestKey string
		var oldest time.Time
		for k, c := range m.m {
			if oldestKey == "" || c.last.Before(oldest) {
				oldestKey, oldest = k, c.last
			}
		}
		delete(m.m, oldestKey)
	}
	return nil
}

func (m *memCounters) DeleteLoginCounter(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}

// DeviceCookieName is the cookie that marks a browser where an account
// signed in before.
const DeviceCookieName = "vanban_device"

// NewDeviceCookie returns the cookie value that marks this browser as a
// known device of userID: a random device id and its MAC.
func NewDeviceCookie(secret []byte, userID string) (value, deviceID string, err error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	deviceID = hex.EncodeToString(raw)
	return deviceID + "." + deviceMAC(secret, userID, deviceID), deviceID, nil
}

// KnownDevice returns the device id of a device cookie issued for userID,
// or "" when the cookie is missing, forged or another account's.
func KnownDevice(secret []byte, userID, cookie string) string {
	id, mac, ok := strings.Cut(cookie, ".")
	if !ok || len(id) != 32 || userID == "" {
		return ""
	}
	if !hmac.Equal([]byte(mac), []byte(deviceMAC(secret, userID, id))) {
		return ""
	}
	return id
}

func deviceMAC(secret []byte, userID, deviceID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("vanban device\x00" + userID + "\x00" + deviceID))
	return hex.EncodeToString(m.Sum(nil))
}
