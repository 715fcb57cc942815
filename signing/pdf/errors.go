package pdf

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers branch with errors.Is and read details with errors.As(*Error).
var (
	// ErrMalformed: the file does not follow the PDF syntax where it matters
	// (cross-reference data, object headers, structure the caller asked for).
	ErrMalformed = errors.New("pdf: malformed file")
	// ErrLimit: a configured resource limit was hit (decompressed size,
	// nesting depth, objects per object stream, xref sections, reference
	// chains). Such files are rejected rather than risk memory exhaustion.
	ErrLimit = errors.New("pdf: limit exceeded")
	// ErrUnsupported: a feature is valid PDF but not implemented (a filter,
	// a security handler), reported only when it is actually needed.
	ErrUnsupported = errors.New("pdf: unsupported feature")
	// ErrUserPasswordRequired: the document is encrypted and cannot be opened
	// with the empty user password.
	ErrUserPasswordRequired = errors.New("pdf: user password required")
	// ErrPublicKeySecurity accompanies ErrUnsupported for documents
	// encrypted for certificate recipients (the public-key security
	// handler, /Adobe.PubSec): they open only with a recipient's private
	// key, which this package does not take.
	ErrPublicKeySecurity = errors.New("pdf: public-key security handler")
	// ErrNotFound: an object, page or dictionary entry the caller asked for
	// does not exist.
	ErrNotFound = errors.New("pdf: not found")
	// ErrPlaceholder: a placeholder cannot be patched (unknown name, value
	// does not fit the reserved width).
	ErrPlaceholder = errors.New("pdf: placeholder")
	// ErrInvalidObject: an object given to the writer cannot be serialized
	// (NaN real, NUL byte in a name, unknown Object implementation, ...).
	ErrInvalidObject = errors.New("pdf: invalid object")
)

// Error carries the kind of failure (one of the sentinels above), where in the
// file it happened (Offset, -1 when not applicable) and a human reason.
type Error struct {
	Kind   error
	Offset int64
	Reason string
	Err    error // optional underlying cause (I/O, zlib, ...)
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes both the kind (for errors.Is(err, ErrMalformed)) and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func malformed(off int64, format string, args ...any) error {
	return &Error{Kind: ErrMalformed, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func limitErr(off int64, format string, args ...any) error {
	return &Error{Kind: ErrLimit, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func unsupported(off int64, format string, args ...any) error {
	return &Error{Kind: ErrUnsupported, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func invalidObject(format string, args ...any) error {
	return &Error{Kind: ErrInvalidObject, Offset: -1, Reason: fmt.Sprintf(format, args...)}
}

// wrapIO turns an I/O failure while reading the file into a typed error. A
// short read means the file ends where structure was promised: malformed.
func wrapIO(off int64, what string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	return &Error{Kind: ErrMalformed, Offset: off, Reason: what, Err: err}
}
