package document

import (
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// NumberingScheme says how an organization splits its outgoing numbers
// across registers. Secret documents and legal normative documents always
// get series of their own (Decree 30/2020, Article 15).
type NumberingScheme string

const (
	// NumberingShared: all administrative documents share one sequence.
	NumberingShared NumberingScheme = "shared"
	// NumberingPerType: each document type has its own sequence.
	NumberingPerType NumberingScheme = "per_type"
)

// Organization is an issuing body (cơ quan, tổ chức).
type Organization struct {
	ID        string
	Abbrev    string // in number symbols, e.g. "UBND"
	Name      string
	Place     string // địa danh, e.g. "Thành Long"
	Numbering NumberingScheme
	CreatedAt time.Time
}

// Validate reports an ErrInvalid error for a malformed organization.
func (o *Organization) Validate() error {
	switch {
	case strings.TrimSpace(o.Name) == "":
		return Errorf(EINVALID, "organization name is required")
	case !validAbbrev(o.Abbrev):
		return Errorf(EINVALID, "organization abbreviation %q must be non-empty with no spaces, '/' or '-'", o.Abbrev)
	case o.Numbering != NumberingShared && o.Numbering != NumberingPerType:
		return Errorf(EINVALID, "numbering scheme %q is not %q or %q", o.Numbering, NumberingShared, NumberingPerType)
	}
	return nil
}

func validAbbrev(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n/-")
}

// Unit is a node in an organization's tree (phòng, ban, văn phòng). Each
// organization has one root unit standing for the whole organization.
type Unit struct {
	ID        string
	OrgID     string
	ParentID  string // "" for the root unit
	Path      string // "/rootID/.../ID/": ancestors first
	Abbrev    string // e.g. "VP", used in công văn symbols
	Name      string
	CreatedAt time.Time
}

// Contains reports whether other is u or lies below u in the tree.
func (u Unit) Contains(other Unit) bool {
	return u.Path != "" && strings.HasPrefix(other.Path, u.Path)
}

// Validate reports an ErrInvalid error for a malformed unit.
func (u *Unit) Validate() error {
	switch {
	case strings.TrimSpace(u.Name) == "":
		return Errorf(EINVALID, "unit name is required")
	case !validAbbrev(u.Abbrev):
		return Errorf(EINVALID, "unit abbreviation %q must be non-empty with no spaces, '/' or '-'", u.Abbrev)
	case u.OrgID == "":
		return Errorf(EINVALID, "unit has no organization")
	}
	return nil
}

// User is a person who works in vanban.
type User struct {
	ID        string
	OrgID     string
	Username  string
	FullName  string
	Title     string // chức vụ, e.g. "Chủ tịch"
	Disabled  bool
	CreatedAt time.Time
}

// Validate reports an ErrInvalid error for a malformed user.
func (u *User) Validate() error {
	switch {
	case !ValidUsername(u.Username):
		return FieldErrorf("username", EINVALID, "username %q: 1 to 64 letters, digits and . _ @ -, starting with a letter or digit, without spaces or diacritics", u.Username)
	case strings.TrimSpace(u.FullName) == "" || utf8.RuneCountInString(u.FullName) > 200:
		return FieldErrorf("full_name", EINVALID, "a full name of 1 to 200 characters is required")
	case utf8.RuneCountInString(u.Title) > 200:
		return FieldErrorf("title", EINVALID, "the title is at most 200 characters")
	case u.OrgID == "":
		return Errorf(EINVALID, "user has no organization")
	}
	return nil
}

// usernameRE is what a person types at the sign-in page: no spaces, and no
// diacritics, which keyboards enter in different forms.
var usernameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`) })

// ValidUsername reports whether name is an acceptable login name. Every way
// of creating a person (the API, the pages, vanban init) goes through it.
func ValidUsername(name string) bool { return usernameRE().MatchString(name) }

// Role is what a user may do in a unit. A user may hold several.
type Role string

const (
	RoleDrafter   Role = "drafter"   // chuyên viên soạn thảo
	RoleReviewer  Role = "reviewer"  // người kiểm tra, thẩm định
	RoleSigner    Role = "signer"    // lãnh đạo có thẩm quyền ký
	RoleClerk     Role = "clerk"     // văn thư: numbers, seals, issues, registers
	RoleArchivist Role = "archivist" // lưu trữ
	RoleAdmin     Role = "admin"
)

// Roles lists every role, for validation and administration screens.
var Roles = []Role{RoleDrafter, RoleReviewer, RoleSigner, RoleClerk, RoleArchivist, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// Grant gives a user a role in a unit and every unit below it.
type Grant struct {
	UserID   string
	UnitID   string
	UnitPath string // copied from the unit so coverage is a prefix test
	Role     Role
}

// Grants is everything one user holds.
type Grants []Grant

// Covers reports whether the grants give any role in unit u (a grant on u or
// on a unit above it).
func (gs Grants) Covers(u Unit) bool {
	for _, g := range gs {
		if g.UnitPath != "" && strings.HasPrefix(u.Path, g.UnitPath) {
			return true
		}
	}
	return false
}

// Allows reports whether the grants give role in unit u.
func (gs Grants) Allows(role Role, u Unit) bool {
	for _, g := range gs {
		if g.Role == role && g.UnitPath != "" && strings.HasPrefix(u.Path, g.UnitPath) {
			return true
		}
	}
	return false
}
