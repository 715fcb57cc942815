package pades

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them (and,
// where there is one, the underlying cause), so callers branch with
// errors.Is and show Error's message to people.
var (
	// ErrNotPDF: the input is empty, truncated or not a PDF we can read.
	ErrNotPDF = errors.New("pades: not a readable PDF")
	// ErrUserPassword: the PDF is encrypted with a user (open) password.
	// We never sign what we cannot read without a secret.
	ErrUserPassword = errors.New("pades: PDF requires a user password")
	// ErrUnsupported: valid PDF, but a feature we do not handle.
	ErrUnsupported = errors.New("pades: unsupported PDF feature")
	// ErrOptions: the caller's options are invalid (unknown hash, page out
	// of range, field name clash, ...).
	ErrOptions = errors.New("pades: invalid options")
	// ErrField: a named form field is missing, of the wrong type, or
	// already signed.
	ErrField = errors.New("pades: form field")
	// ErrNotPermitted: the document's DocMDP permissions forbid the change
	// (P=1 forbids any change; P=2 forbids new signature fields).
	ErrNotPermitted = errors.New("pades: change not permitted by the certification signature")
	// ErrContentsTooSmall: the CMS does not fit the /Contents placeholder.
	// Prepare again with a larger Options.ContentsSize (the error says how
	// large the CMS was).
	ErrContentsTooSmall = errors.New("pades: signature does not fit the reserved /Contents")
	// ErrState: the state does not belong to the prepared file (the file
	// changed, or the state is corrupt).
	ErrState = errors.New("pades: signing state does not match the prepared file")
	// ErrBadSignature: the signature value does not verify against the
	// pinned certificate and the digest. Fail closed.
	ErrBadSignature = errors.New("pades: signature value does not verify")
	// ErrTimestamp: no time-stamp could be obtained or the token is not
	// usable (needed for B-T and above).
	ErrTimestamp = errors.New("pades: time-stamp")
	// ErrRevocation: revocation evidence could not be collected (B-LT).
	ErrRevocation = errors.New("pades: revocation data")
	// ErrNoSignature: an operation needs a signed document (AddDSS,
	// Extend) and found no signature.
	ErrNoSignature = errors.New("pades: document has no signature")
)

// Error carries the sentinel kind, a human detail and the cause.
type Error struct {
	Kind   error
	Detail string
	Err    error
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

func wrapErr(kind error, err error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...), Err: err}
}
