package storage

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// MaxKeyLen bounds keys so they fit S3 (1024 bytes) and file systems.
	MaxKeyLen = 1024
	// MaxSegmentLen bounds one slash-separated segment: file systems refuse
	// names over 255 bytes, and the local backend adds no suffix.
	MaxSegmentLen = 255

	contentKeyPrefix = "sha256/"
)

// ValidateKey reports whether key is acceptable to every backend. Keys are
// slash-separated, relative, without empty, "." or dot-prefixed segments
// (dot names are reserved for backends' temporary objects), without control
// characters or backslashes, valid UTF-8, at most MaxKeyLen bytes.
func ValidateKey(key string) error {
	if err := checkKey(key); err != nil {
		return E("validate key", key, ErrInvalidKey, err)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("empty")
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("longer than %d bytes", MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %U", r)
		}
		if r == '\\' {
			return errors.New("backslash")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return errors.New("empty segment (leading, trailing or double slash)")
		case seg == "." || seg == "..":
			return fmt.Errorf("%q segment", seg)
		case seg[0] == '.':
			return fmt.Errorf("segment %q starts with a dot", seg)
		case len(seg) > MaxSegmentLen:
			return fmt.Errorf("segment longer than %d bytes", MaxSegmentLen)
		}
	}
	return nil
}

// ValidatePrefix checks a List prefix: empty, or a string that could start
// a valid key (complete segments follow ValidateKey's rules, the last one may
// be partial or empty).
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	// A prefix ending in "/" becomes a key by adding any segment; one
	// ending in a partial segment is judged as it is, so "." and ".."
	// prefixes (that could only match reserved names) are refused too.
	probe := prefix
	if strings.HasSuffix(prefix, "/") {
		probe += "x"
	}
	if err := checkKey(probe); err != nil {
		return E("validate prefix", prefix, ErrInvalidKey, err)
	}
	return nil
}

// ContentKey is the key under which content with SHA-256 sum is stored:
// sha256/ab/cd/abcd…, lower-case hex. The two directory levels keep any one
// directory of the local backend small.
func ContentKey(sum []byte) string {
	h := hex.EncodeToString(sum)
	return contentKeyPrefix + h[0:2] + "/" + h[2:4] + "/" + h
}

// ParseContentKey returns the SHA-256 a content key names, and false if key
// is not a well-formed content key.
func ParseContentKey(key string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(key, contentKeyPrefix)
	if !ok || len(rest) != 2+1+2+1+64 || rest[2] != '/' || rest[5] != '/' {
		return nil, false
	}
	h := rest[6:]
	if rest[0:2] != h[0:2] || rest[3:5] != h[2:4] || strings.ToLower(h) != h {
		return nil, false
	}
	sum, err := hex.DecodeString(h)
	if err != nil {
		return nil, false
	}
	return sum, true
}
