package cms

import "fmt"

// Kind classifies a CMS error so that callers (the PAdES engine, the
// verifier) can map it to a user-facing outcome without string matching.
type Kind int

const (
	// KindMalformed: the input is not a well-formed CMS structure.
	KindMalformed Kind = iota + 1
	// KindUnsupported: well-formed, but uses an algorithm or a feature we do
	// not handle (several signers, an unknown digest, ...).
	KindUnsupported
	// KindInvalidParams: the caller asked for something impossible
	// (missing certificate, digest of the wrong length, ...).
	KindInvalidParams
	// KindDigestMismatch: the message-digest attribute does not match the
	// content (the signed bytes were changed).
	KindDigestMismatch
	// KindBadSignature: the signature value does not verify with the
	// signer's public key over the signed attributes.
	KindBadSignature
	// KindSignerNotFound: no certificate in the structure matches the
	// signer identifier.
	KindSignerNotFound
	// KindCertificateMismatch: the signing-certificate(-v2) attribute names
	// another certificate than the one that verifies the signature.
	KindCertificateMismatch
	// KindTimestampMismatch: a signature time-stamp token does not cover
	// this signature value.
	KindTimestampMismatch
)

var kindNames = map[Kind]string{
	KindMalformed:           "malformed",
	KindUnsupported:         "unsupported",
	KindInvalidParams:       "invalid parameters",
	KindDigestMismatch:      "message digest mismatch",
	KindBadSignature:        "bad signature",
	KindSignerNotFound:      "signer certificate not found",
	KindCertificateMismatch: "signing certificate mismatch",
	KindTimestampMismatch:   "time-stamp does not cover the signature",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error type of this package.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	msg := "cms: " + e.Kind.String()
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by kind, so errors.Is(err, &cms.Error{Kind: cms.KindBadSignature}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// KindOf returns the Kind of err, or 0 if err is not (and does not wrap) an *Error.
func KindOf(err error) Kind {
	for err != nil {
		if e, ok := err.(*Error); ok {
			return e.Kind
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return 0
		}
		err = u.Unwrap()
	}
	return 0
}

func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func wrap(kind Kind, msg string, err error) *Error {
	return &Error{Kind: kind, Message: msg, Err: err}
}
