// Package document is vanban's domain: organizations and their units, users
// and roles, document types, documents with their immutable versions,
// registers, the outgoing and incoming state machines, numbering and dates
// as Decree 30/2020/ND-CP prescribes. It depends on the standard library only.
package document

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to one status code.
const (
	ECONFLICT  = "conflict"  // the action clashes with the current state
	EFORBIDDEN = "forbidden" // the actor lacks the role, unit or assignment
	EINTERNAL  = "internal"
	EINVALID   = "invalid"   // the input is malformed
	ENOTFOUND  = "not_found" // the object does not exist (or is hidden)
)

// Error is a domain error: a code for programs and a message for people.
type Error struct {
	Code    string
	Message string
	// Field names the input the error is about ("username", "file"), so a
	// form can show the message beside it; empty for the whole request.
	Field string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "document: " + e.Code
	}
	return fmt.Sprintf("document: %s: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrConflict) true for every conflict error,
// whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels to compare with errors.Is.
var (
	ErrConflict  = &Error{Code: ECONFLICT}
	ErrForbidden = &Error{Code: EFORBIDDEN}
	ErrInvalid   = &Error{Code: EINVALID}
	ErrNotFound  = &Error{Code: ENOTFOUND}
)

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf is Errorf about one input field.
func FieldErrorf(field, code, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorField returns the field a domain error in err's chain is about, or
// "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorCode returns the code of a domain error in err's chain, or EINTERNAL
// for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of a domain error, or a generic
// text for other errors so internals do not leak to users.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
