package document

import (
	"strings"
	"time"
	"unicode"
)

// The rules below are read by every way in (the API, the pages, the
// command line), so that a date, a deadline or a phone number means the
// same thing whichever form it was typed in.

// DefaultPageSize is the length of a search or list page when the caller
// names none; MaxPageSize bounds what a caller may ask for.
const DefaultPageSize = 50

// ParseDay reads a calendar day as people in Vietnam write it (dd/mm/yyyy,
// d/m/yyyy) or in ISO form (yyyy-mm-dd), and returns its start in Vietnam
// time. Returns EINVALID for anything else.
func ParseDay(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{"02/01/2006", "2/1/2006", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, v, VietnamTime); err == nil {
			return t, nil
		}
	}
	return time.Time{}, Errorf(EINVALID, "%q is not a date (dd/mm/yyyy)", v)
}

// EndOfDay is the last second of t's day in Vietnam time: a deadline given
// as a day ("trước ngày 15/12") lasts until that day ends, and a search "to"
// a day includes it.
func EndOfDay(t time.Time) time.Time {
	y, m, d := t.In(VietnamTime).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, VietnamTime).Add(-time.Second)
}

// NextDay is the start of the day after t's, in Vietnam time: the exclusive
// end of a range that includes t's whole day.
func NextDay(t time.Time) time.Time {
	y, m, d := t.In(VietnamTime).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, VietnamTime)
}

// NormalizePhone returns a Vietnamese mobile number in the international
// form providers and the SIM simulator use (84912345678): it drops spaces,
// dots, dashes and parentheses, a leading + or 00, and turns the national
// form's leading 0 (0912345678) into 84. Returns EINVALID for anything that
// is not 9 to 15 digits afterwards.
func NormalizePhone(v string) (string, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(v) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || (r == '+' && b.Len() == 0):
		case unicode.IsSpace(r):
		default:
			return "", FieldErrorf("signer", EINVALID, "%q is not a phone number", v)
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "00"):
		n = n[2:]
	case strings.HasPrefix(n, "0"):
		n = "84" + n[1:]
	}
	if len(n) < 9 || len(n) > 15 {
		return "", FieldErrorf("signer", EINVALID, "%q is not a phone number (0912345678 or 84912345678)", v)
	}
	return n, nil
}

// IsPhoneNumber reports whether v looks like a phone number rather than
// another provider's signer id (a remote-signing credential): digits with
// the usual separators and an optional leading +.
func IsPhoneNumber(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	digits := 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		case r == '+' && i == 0:
		default:
			return false
		}
	}
	return digits >= 9
}

// CleanFileName is an uploaded file's name as it is kept and shown: the
// last path element, without control characters and without the Unicode
// bidirectional controls (U+202A–U+202E, U+2066–U+2069, the marks U+200E,
// U+200F, U+061C) that make "hoadon‮fdp.exe" read as "hoadonexe.pdf", at
// most 255 bytes.
func CleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		case r == unicode.ReplacementChar:
		default:
			if b.Len()+len(string(r)) > 255 {
				return strings.TrimSpace(b.String())
			}
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
