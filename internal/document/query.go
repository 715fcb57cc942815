package document

import (
	"strings"
	"sync"
	"time"
	"unicode"
)

// Query selects documents for lists and searches. Zero fields match
// everything; OrgID is required. Results come newest first and continue
// after the cursor (CreatedAt, ID) of the last row of the previous page.
type Query struct {
	OrgID     string
	Direction Direction
	States    []State
	UnitID    string // the document's unit or any unit below it
	TypeCode  string
	Number    int
	Symbol    string // exact number and symbol, e.g. "05/QĐ-UBND"
	SignerID  string
	LeaderID  string
	HandlerID string
	CreatedBy string
	// ReviewerID selects documents with a pending review step of that
	// reviewer in their current round.
	ReviewerID string
	// Text matches subject, symbol, sender and the text of the latest
	// PDF without regard to case or Vietnamese diacritics ("quyet dinh"
	// finds "Quyết định", "QD" finds "QĐ"); numbers match whole and without
	// leading zeros ("02" finds "Số: 02/QĐ-UBND" and "ngày 2", not 2026),
	// and separators are ignored ("02/QD-UBND" is 2, qd, ubnd).
	Text string
	// From and To bound the creation time (To exclusive).
	From, To time.Time
	// Overdue selects open incoming documents whose deadline has passed at
	// the given time.
	OverdueAt time.Time
	// DueFrom, with OverdueAt, selects open incoming documents whose
	// deadline falls in [DueFrom, OverdueAt): due this week, not yet late.
	DueFrom time.Time
	// Urgency selects one độ khẩn mark.
	Urgency Urgency
	// HandlingUnitID selects incoming documents handled by that unit
	// exactly (the receiving unit until the leader names one).
	HandlingUnitID string

	Viewer Viewer

	AfterCreated time.Time
	AfterID      string
	Limit        int
}

// Viewer is who is asking. A list shows what Get would: ordinary documents
// to the people of their unit (a role there or above) and to the people
// named on them; secret documents only to the people named on them, their
// reviewers and the clerks of their unit.
type Viewer struct {
	UserID string
	// UnitPaths are the unit paths where the viewer holds any role.
	UnitPaths []string
	// ClerkPaths are the unit paths where the viewer holds the clerk role.
	ClerkPaths []string
}

// ViewerOf returns the Viewer for a user with grants.
func ViewerOf(userID string, gs Grants) Viewer {
	v := Viewer{UserID: userID}
	seen := map[string]bool{}
	for _, g := range gs {
		if g.UnitPath == "" {
			continue
		}
		if !seen[g.UnitPath] {
			seen[g.UnitPath] = true
			v.UnitPaths = append(v.UnitPaths, g.UnitPath)
		}
		if g.Role == RoleClerk {
			v.ClerkPaths = append(v.ClerkPaths, g.UnitPath)
		}
	}
	return v
}

// MaxPageSize bounds one page of a list.
const MaxPageSize = 200

// SearchText is the folded text a document is found by: subject, number and
// symbol, and sender, lower-cased and stripped of diacritics so that a clerk
// typing without Vietnamese input still finds it.
func SearchText(d *Document) string {
	return Fold(strings.Join([]string{d.Subject, d.Symbol, d.SenderName}, " "))
}

// Fold lower-cases s and removes Vietnamese diacritics (đ becomes d), for
// accent-insensitive matching. Input is expected in precomposed form (NFC),
// which is what browsers and Vietnamese keyboards send.
func Fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if base, ok := vietnameseBase()[r]; ok {
			r = base
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// vietnameseBase maps each precomposed Vietnamese letter to its base letter.
// Built on first use: start-up pays only for what a command uses.
var vietnameseBase = sync.OnceValue(func() map[rune]rune {
	groups := map[rune]string{
		'a': "àáảãạăằắẳẵặâầấẩẫậ",
		'e': "èéẻẽẹêềếểễệ",
		'i': "ìíỉĩị",
		'o': "òóỏõọôồốổỗộơờớởỡợ",
		'u': "ùúủũụưừứửữự",
		'y': "ỳýỷỹỵ",
		'd': "đ",
	}
	m := map[rune]rune{}
	for base, letters := range groups {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
})

// SearchToken is one term of a search: a folded word, or a number without
// its leading zeros (Raw keeps what was typed, folded).
type SearchToken struct {
	Text, Raw string
	Number    bool
}

// QueryTokens splits a search text into its terms, as SearchTokens splits
// what is searched: folded, at every character that is neither a letter
// nor a digit, letters and digits apart ("02/QĐ-UBND" is 2, qd, ubnd).
func QueryTokens(q string) []SearchToken {
	var out []SearchToken
	for _, w := range tokens(Fold(q)) {
		t := SearchToken{Text: w, Raw: w}
		if w[0] >= '0' && w[0] <= '9' {
			t.Number = true
			t.Text = trimZeros(w)
		}
		out = append(out, t)
	}
	return out
}

// SearchTokens is the search form of a document's texts: the terms of
// QueryTokens separated by single spaces, with a space at both ends so a
// whole term is found with LIKE '% term %'.
func SearchTokens(parts ...string) string {
	var b strings.Builder
	b.WriteByte(' ')
	for _, p := range parts {
		for _, w := range tokens(Fold(p)) {
			if w[0] >= '0' && w[0] <= '9' {
				w = trimZeros(w)
			}
			b.WriteString(w)
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// tokens splits folded text into runs of letters and runs of digits.
func tokens(s string) []string {
	var out []string
	start, kind := -1, 0 // kind 1 letters, 2 digits
	for i, r := range s {
		k := 0
		switch {
		case r >= '0' && r <= '9':
			k = 2
		case unicode.IsLetter(r):
			k = 1
		}
		if k != kind {
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start, kind = -1, k
			if k != 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func trimZeros(n string) string {
	t := strings.TrimLeft(n, "0")
	if t == "" {
		return "0"
	}
	return t
}

// VersionText is the text extracted from a stored PDF version.
type VersionText struct {
	VersionID  string
	DocumentID string
	Pages      int
	Body       string // pages separated by form feeds
	Failure    string // why the PDF could not be read, "" when it could
}
