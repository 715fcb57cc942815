package edxml

import (
	"errors"
	"fmt"
)

// Kind classifies what is wrong with a package, so that a receiver can tell
// a sender's mistake (every kind but KindIO) from its own failure.
type Kind int

const (
	// KindSyntax: not well-formed XML (unclosed tag, bad character, ...).
	KindSyntax Kind = iota + 1
	// KindForbidden: a construct refused on principle: a DTD, an entity
	// other than the five predefined ones, an encoding other than UTF-8.
	KindForbidden
	// KindLimit: a limit of Limits was exceeded (size, depth, count, text).
	KindLimit
	// KindMissing: a required element is absent or empty.
	KindMissing
	// KindInvalid: an element is present but its value is wrong (an OrganId
	// not in the Decision 20/2020 form, an unknown BussinessDocType, bad
	// base64, ...).
	KindInvalid
	// KindIO: reading the input or writing an attachment failed; not the
	// sender's fault.
	KindIO
)

func (k Kind) String() string {
	switch k {
	case KindSyntax:
		return "syntax"
	case KindForbidden:
		return "forbidden"
	case KindLimit:
		return "limit"
	case KindMissing:
		return "missing"
	case KindInvalid:
		return "invalid"
	case KindIO:
		return "io"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is every error the package returns for a bad package. Element is
// the path of the element concerned, e.g.
// "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId"; Offset is
// the byte offset in the input where the problem was seen (decoding only).
type Error struct {
	Kind    Kind
	Element string
	Offset  int64
	Msg     string
	Err     error
}

func (e *Error) Error() string {
	s := "edxml"
	if e.Element != "" {
		s += ": <" + e.Element + ">"
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Offset > 0 {
		s += fmt.Sprintf(" (at byte %d)", e.Offset)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

func errf(kind Kind, element string, format string, args ...any) *Error {
	return &Error{Kind: kind, Element: element, Msg: fmt.Sprintf(format, args...)}
}
