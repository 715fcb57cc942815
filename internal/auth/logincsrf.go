package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

// Login CSRF: without a session there is no session token to check, so a
// forged cross-site form could sign a victim in to the attacker's account.
// The sign-in form therefore carries a token bound to a random cookie set
// when the form is shown (a signed double-submit): a cross-site page can
// neither read the cookie nor compute the token.
const loginCookie = "vanban_login"

// LoginToken returns the token for a sign-in form, setting the cookie it is
// bound to when r has none yet.
func (s *Sessions) LoginToken(w http.ResponseWriter, r *http.Request) string {
	nonce := ""
	if ck, err := r.Cookie(loginCookie); err == nil && len(ck.Value) == 43 {
		nonce = ck.Value
	} else {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			panic(err) // crypto/rand does not fail on supported systems
		}
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: nonce, Path: "/", HttpOnly: true,
			Secure: s.Secure, SameSite: http.SameSiteStrictMode, MaxAge: 24 * 3600})
	}
	return s.loginMAC(nonce)
}

// CheckLoginToken reports whether token came from a sign-in form shown to
// this browser.
func (s *Sessions) CheckLoginToken(r *http.Request, token string) bool {
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(s.loginMAC(ck.Value)), []byte(token)) == 1
}

func (s *Sessions) loginMAC(nonce string) string {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("login\x00"))
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
