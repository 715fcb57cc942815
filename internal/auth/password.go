// Package auth holds the authentication primitives of vanban: password
// hashing with argon2id, opaque session and API tokens, CSRF tokens for the
// browser, and the login rate limiter. It stores nothing itself: callers keep
// password hashes and token hashes in the database.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. They are stored in every hash, so
// they can be raised later without invalidating existing passwords.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams follow the RFC 9106 second recommended option (64 MiB, 3
// passes), sized so that a login costs tens of milliseconds on a small server.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("auth: password does not match")

// ErrBadHash is returned for a stored hash that cannot be parsed.
var ErrBadHash = errors.New("auth: malformed password hash")

// MinPasswordLength is the shortest password SetPassword accepts.
const MinPasswordLength = 10

// HashPassword returns the PHC string form of an argon2id hash:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>.
func HashPassword(password string, p Params) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("auth: password must have at least %d characters", MinPasswordLength)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword compares password with a hash made by HashPassword, in
// constant time. needsRehash tells the caller to store a new hash because
// the stored one used weaker parameters than p.
func CheckPassword(hash, password string, p Params) (needsRehash bool, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	var stored Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &stored.Memory, &stored.Time, &stored.Threads); err != nil {
		return false, ErrBadHash
	}
	// Refuse absurd parameters from a tampered row rather than allocate them.
	if stored.Memory == 0 || stored.Memory > 1<<22 || stored.Time == 0 || stored.Time > 64 || stored.Threads == 0 {
		return false, ErrBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, ErrBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, stored.Time, stored.Memory, stored.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, ErrMismatch
	}
	return stored.Memory < p.Memory || stored.Time < p.Time || uint32(len(want)) < p.KeyLen, nil
}
