//go:build cgo

package pkcs11

import (
	"errors"
	"strings"

	p11 "github.com/miekg/pkcs11"

	"vanban/signing"
)

const kindBadRequest = signing.KindBadRequest

// p11Error is an intermediate form so helpers can return a kind without
// building the full signing.Error each time.
type p11Error struct {
	kind signing.Kind
	msg  string
	err  error
}

func (e *p11Error) Error() string { return e.msg }

// mapError turns a PKCS#11 return value into a typed signing error. The
// CKR_ name goes into Code so operators can look it up.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *signing.Error
	if errors.As(err, &se) {
		return err
	}
	var pe *p11Error
	if errors.As(err, &pe) {
		return &signing.Error{Kind: pe.kind, Provider: Scheme, Message: pe.msg, Err: pe.err}
	}
	var rv p11.Error
	if !errors.As(err, &rv) {
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: op, Err: err}
	}
	kind := signing.KindUnavailable
	switch uint(rv) {
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE, p11.CKR_USER_NOT_LOGGED_IN,
		p11.CKR_USER_PIN_NOT_INITIALIZED, p11.CKR_USER_TYPE_INVALID:
		kind = signing.KindUnauthorized
	case p11.CKR_PIN_LOCKED, p11.CKR_PIN_EXPIRED:
		kind = signing.KindPINBlocked
	case p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_TOKEN_NOT_RECOGNIZED, p11.CKR_DEVICE_REMOVED, p11.CKR_DEVICE_ERROR,
		p11.CKR_SLOT_ID_INVALID, p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_SESSION_COUNT:
		kind = signing.KindUnreachable
	case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID, p11.CKR_KEY_TYPE_INCONSISTENT,
		p11.CKR_KEY_FUNCTION_NOT_PERMITTED, p11.CKR_DATA_LEN_RANGE, p11.CKR_DATA_INVALID, p11.CKR_KEY_SIZE_RANGE,
		p11.CKR_ARGUMENTS_BAD, p11.CKR_ATTRIBUTE_VALUE_INVALID, p11.CKR_FUNCTION_NOT_SUPPORTED:
		kind = signing.KindBadRequest
	}
	code := rv.Error()
	if i := strings.LastIndex(code, ": "); i >= 0 && i+2 < len(code) {
		code = code[i+2:] // "pkcs11: 0xA0: CKR_PIN_INCORRECT" -> "CKR_PIN_INCORRECT"
	}
	return &signing.Error{Kind: kind, Provider: Scheme, Code: code, Message: op, Err: err}
}

// sessionBroken tells whether a session must be thrown away rather than
// returned to the pool.
func sessionBroken(err error) bool {
	var rv p11.Error
	if !errors.As(err, &rv) {
		return false
	}
	switch uint(rv) {
	case p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_DEVICE_REMOVED,
		p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_ERROR:
		return true
	}
	return false
}

func isCode(err error, code uint) bool {
	var rv p11.Error
	return errors.As(err, &rv) && uint(rv) == code
}
