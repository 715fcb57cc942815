package document

import (
	"strings"
	"time"
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
	// Text matches subject, symbol and sender without regard to case or
	// Vietnamese diacritics ("quyet dinh" finds "Quyết định").
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
		if base, ok := vietnameseBase[r]; ok {
			r = base
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// vietnameseBase maps each precomposed Vietnamese letter to its base letter.
var vietnameseBase = func() map[rune]rune {
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
}()
