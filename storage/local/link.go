package local

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"vanban/storage"
)

// LinkPrefix is the path under which the HTTP layer serves local links.
const LinkPrefix = "/blobs/"

// Link errors, returned by VerifyLink inside a *storage.Error.
var (
	ErrBadLink     = errors.New("link is malformed or its signature is wrong")
	ErrLinkExpired = errors.New("link has expired")
)

// clockSkew tolerates a link signed by a replica whose clock is slightly
// ahead when checking that its expiry is within MaxLinkTTL.
const clockSkew = time.Minute

// PresignGet implements storage.Store: an HMAC-SHA256-signed
// "/blobs/<key>?exp=<unix>&filename=<name>&sig=<base64url>" link that the
// HTTP layer checks with VerifyLink before serving the object.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	if _, err := s.Stat(ctx, key); err != nil {
		return "", err
	}
	exp := time.Now().Add(storage.ClampTTL(ttl)).Unix()
	q := url.Values{}
	q.Set("exp", strconv.FormatInt(exp, 10))
	if filename != "" {
		q.Set("filename", filename)
	}
	q.Set("sig", base64.RawURLEncoding.EncodeToString(linkMAC(s.secret, key, exp, filename)))
	return s.baseURL + LinkPrefix + escapeKey(key) + "?" + q.Encode(), nil
}

// VerifyLink checks a link made by PresignGet with the same secret: path is
// the request's decoded URL path (starting with LinkPrefix once any mount
// prefix is stripped), query its query parameters. It returns the key to
// serve. The "filename" parameter is covered by the signature, so after
// success the caller may use it for Content-Disposition (see
// storage.ContentDisposition).
func VerifyLink(secret []byte, path string, query url.Values, now time.Time) (string, error) {
	key, ok := strings.CutPrefix(path, LinkPrefix)
	if !ok {
		return "", storage.E("verify link", "", ErrBadLink, fmt.Errorf("path does not start with %s", LinkPrefix))
	}
	if err := storage.ValidateKey(key); err != nil {
		return "", storage.E("verify link", key, ErrBadLink, err)
	}
	for _, p := range []string{"exp", "sig", "filename"} {
		if len(query[p]) > 1 {
			return "", storage.E("verify link", key, ErrBadLink, fmt.Errorf("parameter %q repeated", p))
		}
	}
	exp, err := strconv.ParseInt(query.Get("exp"), 10, 64)
	if err != nil {
		return "", storage.E("verify link", key, ErrBadLink, errors.New("missing or bad exp"))
	}
	sig, err := base64.RawURLEncoding.DecodeString(query.Get("sig"))
	if err != nil || len(sig) != sha256.Size {
		return "", storage.E("verify link", key, ErrBadLink, errors.New("missing or bad sig"))
	}
	if !hmac.Equal(sig, linkMAC(secret, key, exp, query.Get("filename"))) {
		return "", storage.E("verify link", key, ErrBadLink, errors.New("signature mismatch"))
	}
	if now.Unix() > exp {
		return "", storage.E("verify link", key, ErrLinkExpired, fmt.Errorf("at %s", time.Unix(exp, 0).UTC().Format(time.RFC3339)))
	}
	if time.Unix(exp, 0).After(now.Add(storage.MaxLinkTTL + clockSkew)) {
		return "", storage.E("verify link", key, ErrBadLink, errors.New("expiry beyond the maximum link lifetime"))
	}
	return key, nil
}

// VerifyLink checks a link with this store's secret; see the package
// function.
func (s *Store) VerifyLink(path string, query url.Values, now time.Time) (string, error) {
	return VerifyLink(s.secret, path, query, now)
}

// linkMAC binds key, expiry and file name; NUL separators cannot occur in a
// valid key, so no two inputs share a message.
func linkMAC(secret []byte, key string, exp int64, filename string) []byte {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "vanban-blob-link-v1\x00%s\x00%d\x00%s", key, exp, filename)
	return m.Sum(nil)
}

func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
