package document

import (
	"strings"
	"unicode"
)

// Bounds of the recipients named as text (Nơi nhận): agencies outside
// the system, printed on the document and kept with it.
const (
	MaxRecipientNames    = 50
	MaxRecipientNameRune = 300
)

// CleanRecipientNames trims the names of external recipients, drops empty
// lines and repeats, and refuses control or bidirectional characters (a
// name is shown to every reader) and lists or names over the bounds.
// Returns EINVALID with field "recipient_names".
func CleanRecipientNames(names []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.Join(strings.Fields(n), " ")
		if n == "" {
			continue
		}
		for _, r := range n {
			if unicode.IsControl(r) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c {
				return nil, FieldErrorf("recipient_names", EINVALID, "a recipient's name may not contain control characters")
			}
		}
		if len([]rune(n)) > MaxRecipientNameRune {
			return nil, FieldErrorf("recipient_names", EINVALID, "a recipient's name is at most %d characters", MaxRecipientNameRune)
		}
		if key := strings.ToLower(n); !seen[key] {
			seen[key] = true
			out = append(out, n)
		}
	}
	if len(out) > MaxRecipientNames {
		return nil, FieldErrorf("recipient_names", EINVALID, "at most %d recipients by name", MaxRecipientNames)
	}
	return out, nil
}
