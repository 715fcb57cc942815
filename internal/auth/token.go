package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// Token prefixes make leaked tokens recognizable by secret scanners and tell
// the server which table to look in.
const (
	SessionPrefix  = "vbs_"
	APITokenPrefix = "vbt_"
)

// ErrBadToken is returned for a token of the wrong form.
var ErrBadToken = errors.New("auth: malformed token")

// NewToken returns a fresh random token with the given prefix, and the hash
// under which it is stored. Only the hash is kept in the database, so a
// stolen database dump grants no sessions.
func NewToken(prefix string) (token, storedHash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CheckTokenForm validates a presented token's shape before any lookup.
func CheckTokenForm(token, prefix string) error {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok || len(rest) != 43 {
		return ErrBadToken
	}
	if _, err := base64.RawURLEncoding.DecodeString(rest); err != nil {
		return ErrBadToken
	}
	return nil
}

// CSRFToken derives the anti-forgery token of a browser session from the
// server secret and the session's stored hash. Deriving it (rather than
// storing it) means there is nothing more to keep per session, and the
// token changes whenever the session does.
func CSRFToken(secret []byte, sessionHash string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(sessionHash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a presented CSRF token with the expected one in
// constant time.
func CheckCSRF(secret []byte, sessionHash, presented string) bool {
	want := CSRFToken(secret, sessionHash)
	return presented != "" && subtle.ConstantTimeCompare([]byte(want), []byte(presented)) == 1
}
