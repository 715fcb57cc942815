package signing

import (
	"errors"
	"fmt"
)

// Kind classifies why a signature could not be had. The workflow decides
// from the kind alone what the user sees and whether to retry.
type Kind int

const (
	// KindDeclined: the signer refused on the device.
	KindDeclined Kind = iota + 1
	// KindExpired: no answer within the request's timeout.
	KindExpired
	// KindUnreachable: the device could not be reached (no signal, SIM error).
	KindUnreachable
	// KindPINBlocked: PIN or card blocked; only the CA can help.
	KindPINBlocked
	// KindNoCertificate: the signer has no valid signing certificate.
	KindNoCertificate
	// KindBusy: another request is pending on the signer's device.
	KindBusy
	// KindBadRequest: our request was malformed or not acceptable
	// (misconfiguration on our side).
	KindBadRequest
	// KindUnauthorized: the provider rejected our credentials.
	KindUnauthorized
	// KindUnavailable: the provider is down or answered with a server error.
	KindUnavailable
	// KindBadSignature: the provider returned a signature that does not
	// verify against the pinned certificate and our digest. Fail closed.
	KindBadSignature
)

var kindNames = map[Kind]string{
	KindDeclined:      "declined",
	KindExpired:       "expired",
	KindUnreachable:   "unreachable",
	KindPINBlocked:    "pin_blocked",
	KindNoCertificate: "no_certificate",
	KindBusy:          "busy",
	KindBadRequest:    "bad_request",
	KindUnauthorized:  "unauthorized",
	KindUnavailable:   "unavailable",
	KindBadSignature:  "bad_signature",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ParseKind is the inverse of Kind.String, for outcomes read back from storage.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return k, true
		}
	}
	return 0, false
}

// Retryable tells whether sending the same request again (with the same
// idempotency key, after a backoff) may succeed without anyone acting.
// Busy is retryable too, but only after the pending request ends.
func (k Kind) Retryable() bool {
	switch k {
	case KindUnreachable, KindUnavailable, KindBusy:
		return true
	}
	return false
}

// Error is a typed provider error.
type Error struct {
	Kind Kind
	// Provider names the provider scheme ("etsi204", "pkcs11", ...).
	Provider string
	// Code is the provider's own status or fault code, for operators.
	Code string
	// Message is a human-readable detail, safe to log.
	Message string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	msg := e.Kind.String()
	if e.Provider != "" {
		msg = e.Provider + ": " + msg
	}
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports e.Kind.Retryable.
func (e *Error) Retryable() bool { return e.Kind.Retryable() }

// Is matches another *Error by kind, so errors.Is(err, &signing.Error{Kind: signing.KindBusy}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && (t.Provider == "" || t.Provider == e.Provider)
}

// KindOf returns the Kind of err, or 0 if err is not (and does not wrap) an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsRetryable reports whether err is a typed error whose kind is retryable.
func IsRetryable(err error) bool {
	return KindOf(err).Retryable()
}
