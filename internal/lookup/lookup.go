// Package lookup is the citizen's processing-time lookup (tra cứu hồ sơ):
// an incoming document can carry the one-stop dossier code (mã hồ sơ) of a
// citizen's application, and anyone holding the code and the day the
// dossier was filed sees the processing steps with their dates, the unit
// handling it, the deadline and whether it is late: no names, no content,
// no comments.
//
// Against enumeration: a lookup needs both the code and the filing day (the
// code alone, which one-stop systems number in sequence, is not enough);
// unknown, malformed and mismatched lookups give the same answer; callers
// rate-limit and pad the answer time (Service.Public does not itself know
// the client).
package lookup

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"
	"unicode"

	"vanban/internal/audit"
	"vanban/internal/document"
)

// Dossier is the one-stop dossier an incoming document carries.
type Dossier struct {
	DocumentID string
	OrgID      string
	Code       string // normalized (NormalizeCode)
	FiledOn    string // YYYY-MM-DD
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Step is one public step of the processing.
type Step struct {
	Label string // Vietnamese, e.g. "Phân công xử lý"
	At    time.Time
}

// Status is everything the public may know of a dossier.
type Status struct {
	Code         string
	Organization string
	HandlingUnit string
	ReceivedAt   time.Time
	Deadline     time.Time
	Completed    bool
	CompletedAt  time.Time
	Late         bool // past the deadline (still open), or completed after it
	Steps        []Step
}

// Source is what the lookup reads and writes; *store.DB is one.
type Source interface {
	User(ctx context.Context, id string) (*document.User, error)
	Grants(ctx context.Context, userID string) (document.Grants, error)
	Unit(ctx context.Context, id string) (*document.Unit, error)
	Organization(ctx context.Context, id string) (*document.Organization, error)
	Document(ctx context.Context, id string) (*document.Document, error)
	AuditEntriesFor(ctx context.Context, objectType, objectID string) ([]audit.Entry, error)
	// SetDossier stores d for its document, replacing an earlier code;
	// ECONFLICT when another document has the code.
	SetDossier(ctx context.Context, d *Dossier) error
	// Dossier returns the dossier with the code; ENOTFOUND.
	Dossier(ctx context.Context, code string) (*Dossier, error)
	// DossierOf returns the dossier of a document; ENOTFOUND.
	DossierOf(ctx context.Context, documentID string) (*Dossier, error)
}

// Service answers lookups.
type Service struct {
	src Source
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns a Service over src.
func New(src Source) *Service { return &Service{src: src, Now: time.Now} }

// MaxCodeLen bounds a dossier code.
const MaxCodeLen = 64

// NormalizeCode trims and upper-cases a code and checks its form: 4 to 64
// letters, digits, '.', '-', '_' or '/'. Returns EINVALID.
func NormalizeCode(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) < 4 || len(c) > MaxCodeLen {
		return "", document.Errorf(document.EINVALID, "a dossier code has 4 to %d characters", MaxCodeLen)
	}
	for _, r := range c {
		if r > unicode.MaxASCII || !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_/", r)) {
			return "", document.Errorf(document.EINVALID, "a dossier code has only letters, digits and . - _ /")
		}
	}
	return c, nil
}

// ParseFiledOn reads the filing day as dd/mm/yyyy or yyyy-mm-dd and returns
// it as YYYY-MM-DD. Returns EINVALID.
func ParseFiledOn(s string) (string, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"02/01/2006", "2/1/2006", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 2000 && t.Year() <= 9999 {
			return t.Format(time.DateOnly), nil
		}
	}
	return "", document.Errorf(document.EINVALID, "the filing day %q is not dd/mm/yyyy", s)
}

// Attach gives incoming document docID the dossier code and filing day.
// The clerks of the document's unit attach codes, by hand or as the
// one-stop system's account over the API. Returns ENOTFOUND (also for a
// document of another organization), EFORBIDDEN, EINVALID, ECONFLICT when
// another document has the code.
func (s *Service) Attach(ctx context.Context, userID, docID, code, filedOn string) (*Dossier, error) {
	u, gs, err := s.actor(ctx, userID)
	if err != nil {
		return nil, err
	}
	d, err := s.src.Document(ctx, docID)
	if err == nil && d.OrgID != u.OrgID {
		err = document.Errorf(document.ENOTFOUND, "document %s not found", docID)
	}
	if err != nil {
		return nil, err
	}
	unit, err := s.src.Unit(ctx, d.UnitID)
	if err != nil {
		return nil, err
	}
	if !gs.Allows(document.RoleClerk, *unit) {
		named := u.ID == d.CreatedBy || u.ID == d.LeaderID || u.ID == d.HandlerID || u.ID == d.SignerID
		// Those who could not open the document (a secret one is for the
		// people named on it) learn nothing of it.
		if (!gs.Covers(*unit) || d.Confidentiality != document.ConfidentialityNormal) && !named {
			return nil, document.Errorf(document.ENOTFOUND, "document %s not found", docID)
		}
		return nil, document.Errorf(document.EFORBIDDEN, "dossier codes are attached by the clerks of the receiving unit")
	}
	if d.Direction != document.Incoming {
		return nil, document.Errorf(document.EINVALID, "a dossier code goes on an incoming document")
	}
	if d.Confidentiality != document.ConfidentialityNormal {
		return nil, document.Errorf(document.EINVALID, "a secret document cannot be looked up by the public")
	}
	c, err := NormalizeCode(code)
	if err != nil {
		return nil, err
	}
	f, err := ParseFiledOn(filedOn)
	if err != nil {
		return nil, err
	}
	ds := &Dossier{DocumentID: d.ID, OrgID: d.OrgID, Code: c, FiledOn: f, CreatedBy: u.ID}
	if err := s.src.SetDossier(ctx, ds); err != nil {
		return nil, err
	}
	return ds, nil
}

func (s *Service) actor(ctx context.Context, userID string) (*document.User, document.Grants, error) {
	if userID == "" {
		return nil, nil, document.Errorf(document.EFORBIDDEN, "no user is signed in")
	}
	u, err := s.src.User(ctx, userID)
	if document.ErrorCode(err) == document.ENOTFOUND || (err == nil && u.Disabled) {
		return nil, nil, document.Errorf(document.EFORBIDDEN, "user %s is unknown or disabled", userID)
	}
	if err != nil {
		return nil, nil, err
	}
	gs, err := s.src.Grants(ctx, u.ID)
	return u, gs, err
}

// ErrNoDossier is the one answer to a lookup that finds nothing, whatever
// the reason (no such code, a malformed one, the wrong filing day).
var ErrNoDossier = document.Errorf(document.ENOTFOUND, "no dossier with this code and filing day")

// Public looks a dossier up by code and filing day for anyone. Every
// failure is ErrNoDossier.
func (s *Service) Public(ctx context.Context, code, filedOn string) (*Status, error) {
	c, errCode := NormalizeCode(code)
	f, errDay := ParseFiledOn(filedOn)
	if errCode != nil || errDay != nil {
		// Still query, so a malformed code costs what a wrong one does.
		c, f = "INVALID-CODE-PLACEHOLDER", "0000-00-00"
	}
	d, err := s.src.Dossier(ctx, c)
	if document.ErrorCode(err) == document.ENOTFOUND {
		d, err = &Dossier{FiledOn: "1111-11-11"}, nil // compared below like a real one
	}
	if err != nil {
		return nil, err
	}
	match := subtle.ConstantTimeCompare([]byte(d.FiledOn), []byte(f)) == 1
	if errCode != nil || errDay != nil || d.DocumentID == "" || !match {
		return nil, ErrNoDossier
	}
	return s.status(ctx, d)
}

// Status is the status of a dossier for the one-stop system pulling it
// over the API: the same as the public sees. Returns ENOTFOUND (also for
// another organization's), EFORBIDDEN unless the user is a clerk or
// administrator of the whole organization.
func (s *Service) Status(ctx context.Context, userID, code string) (*Status, error) {
	u, gs, err := s.actor(ctx, userID)
	if err != nil {
		return nil, err
	}
	root, err := s.src.Unit(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	if !gs.Allows(document.RoleClerk, *root) && !gs.Allows(document.RoleAdmin, *root) {
		return nil, document.Errorf(document.EFORBIDDEN, "dossier status is for the organization's clerks and its one-stop account")
	}
	c, err := NormalizeCode(code)
	if err != nil {
		return nil, err
	}
	d, err := s.src.Dossier(ctx, c)
	if err == nil && d.OrgID != u.OrgID {
		err = document.Errorf(document.ENOTFOUND, "dossier %s not found", c)
	}
	if err != nil {
		return nil, err
	}
	return s.status(ctx, d)
}

// publicSteps names the steps of the incoming flow the public sees, by
// audit action; every other entry (layouts, comments, reassignments'
// details) stays inside.
var publicSteps = map[string]string{
	"document.register": "Tiếp nhận, vào sổ văn bản đến",
	"document.receive":  "Tiếp nhận văn bản điện tử",
	"document.route":    "Trình lãnh đạo",
	"document.assign":   "Phân công đơn vị xử lý",
	"document.start":    "Đang xử lý",
	"document.complete": "Hoàn thành xử lý",
	"document.archive":  "Lưu hồ sơ",
}

func (s *Service) status(ctx context.Context, ds *Dossier) (*Status, error) {
	d, err := s.src.Document(ctx, ds.DocumentID)
	if err != nil {
		return nil, err
	}
	org, err := s.src.Organization(ctx, d.OrgID)
	if err != nil {
		return nil, err
	}
	unitID := d.HandlingUnitID
	if unitID == "" {
		unitID = d.UnitID
	}
	unit, err := s.src.Unit(ctx, unitID)
	if err != nil {
		return nil, err
	}
	st := &Status{Code: ds.Code, Organization: org.Name, HandlingUnit: unit.Name, ReceivedAt: d.ReceivedAt, Deadline: d.Deadline,
		CompletedAt: d.CompletedAt}
	if st.ReceivedAt.IsZero() {
		st.ReceivedAt = d.CreatedAt
	}
	st.Completed = d.State == document.StateCompleted || d.State == document.StateArchived
	now := s.Now()
	if !d.Deadline.IsZero() {
		st.Late = (!st.Completed && now.After(d.Deadline)) || (st.Completed && d.CompletedAt.After(d.Deadline))
	}
	entries, err := s.src.AuditEntriesFor(ctx, "document", d.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if label, ok := publicSteps[e.Action]; ok {
			st.Steps = append(st.Steps, Step{Label: label, At: e.Time})
		}
	}
	if len(st.Steps) == 0 {
		st.Steps = []Step{{Label: publicSteps["document.register"], At: st.ReceivedAt}}
	}
	return st, nil
}
