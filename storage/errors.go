package storage

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// Error kinds. Match them with errors.Is; every error a Store returns for one
// of these reasons is an *Error whose Kind is the sentinel.
var (
	// ErrNotExist is fs.ErrNotExist, so callers that already handle
	// missing files handle missing objects too.
	ErrNotExist = fs.ErrNotExist
	// ErrInvalidKey: the key is empty, too long, absolute, contains "." or
	// ".." segments, control characters or backslashes.
	ErrInvalidKey = errors.New("invalid key")
	// ErrIntegrity: stored bytes do not match their content key or recorded
	// SHA-256. The object is corrupted; never serve it as genuine.
	ErrIntegrity = errors.New("content does not match its SHA-256")
	// ErrDigestMismatch: the bytes given to Put do not match
	// PutOptions.ExpectedSHA256. Nothing was stored.
	ErrDigestMismatch = errors.New("content does not match the expected SHA-256")
	// ErrRetained: the object is under retention and cannot be deleted or
	// replaced yet.
	ErrRetained = errors.New("object is under retention")
	// ErrRetentionUnsupported: the store cannot enforce a retention date
	// (e.g. an S3 bucket created without Object Lock).
	ErrRetentionUnsupported = errors.New("retention is not supported by this store")
	// ErrInvalidRange: a ranged read starts past the end or is negative.
	ErrInvalidRange = errors.New("invalid range")
	// ErrInvalidURL: Open was given a store URL it cannot use.
	ErrInvalidURL = errors.New("invalid store URL")
)

// Error is the error type of this package and its backends, in the manner of
// upspin's errors.E: what was done, to which key, why (Kind) and the
// underlying cause (Err), either of which may be nil.
type Error struct {
	Op   string
	Key  string
	Kind error
	Err  error
}

// E builds an *Error.
func E(op, key string, kind, err error) *Error {
	return &Error{Op: op, Key: key, Kind: kind, Err: err}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("storage: ")
	b.WriteString(e.Op)
	if e.Key != "" {
		b.WriteString(" ")
		b.WriteString(quoteKey(e.Key))
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// quoteKey keeps log lines readable and safe when a rejected key contains
// control characters or is very long.
func quoteKey(k string) string {
	const max = 200
	if len(k) > max {
		k = k[:max] + "..."
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return strconv.Quote(k)
		}
	}
	return k
}
