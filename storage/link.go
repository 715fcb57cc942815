package storage

import (
	"fmt"
	"mime"
	"strings"
	"time"
)

const (
	// DefaultLinkTTL is used when PresignGet gets ttl <= 0.
	DefaultLinkTTL = 5 * time.Minute
	// MaxLinkTTL caps PresignGet: a leaked link to an official document
	// should stop working soon.
	MaxLinkTTL = 15 * time.Minute
)

// ClampTTL applies DefaultLinkTTL and MaxLinkTTL.
func ClampTTL(ttl time.Duration) time.Duration {
	switch {
	case ttl <= 0:
		return DefaultLinkTTL
	case ttl > MaxLinkTTL:
		return MaxLinkTTL
	}
	return ttl
}

// ContentDisposition is the attachment header value for filename, encoded so
// Vietnamese names survive (RFC 6266 / RFC 5987 via mime.FormatMediaType).
// Path separators are dropped so a name can never be taken for a path.
func ContentDisposition(filename string) string {
	filename = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, filename)
	if filename == "" {
		return "attachment"
	}
	return mime.FormatMediaType("attachment", map[string]string{"filename": filename})
}

// ClipRange checks a ranged read of an object of the given size and returns
// how many bytes it covers: length < 0 means to the end, and a range past the
// end is cut there. An offset past the end is an error, as in HTTP (416).
func ClipRange(size, offset, length int64) (int64, error) {
	if offset < 0 {
		return 0, fmt.Errorf("negative offset %d", offset)
	}
	if offset > size || (offset == size && size > 0) {
		return 0, fmt.Errorf("offset %d past the end (size %d)", offset, size)
	}
	if length < 0 || length > size-offset {
		length = size - offset
	}
	return length, nil
}
