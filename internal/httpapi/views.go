package httpapi

import (
	"encoding/json"
	"time"

	"vanban/internal/document"
	"vanban/internal/workflow"
)

// The JSON shapes of the API. They are separate from the domain types so
// that a field added to the domain (or a blob key) never leaks by accident.

// UserJSON is a person.
type UserJSON struct {
	ID       string `json:"id"`
	OrgID    string `json:"org_id"`
	Username string `json:"username"`
	FullName string `json:"full_name"`
	Title    string `json:"title,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

func userJSON(u *document.User) UserJSON {
	return UserJSON{ID: u.ID, OrgID: u.OrgID, Username: u.Username, FullName: u.FullName, Title: u.Title, Disabled: u.Disabled}
}

// GrantJSON is one role in one unit.
type GrantJSON struct {
	UnitID string        `json:"unit_id"`
	Role   document.Role `json:"role"`
}

func grantsJSON(gs document.Grants) []GrantJSON {
	out := make([]GrantJSON, len(gs))
	for i, g := range gs {
		out[i] = GrantJSON{UnitID: g.UnitID, Role: g.Role}
	}
	return out
}

// UnitJSON is a unit of an organization.
type UnitJSON struct {
	ID       string `json:"id"`
	ParentID string `json:"parent_id,omitempty"`
	Abbrev   string `json:"abbrev"`
	Name     string `json:"name"`
}

func unitJSON(u *document.Unit) UnitJSON {
	return UnitJSON{ID: u.ID, ParentID: u.ParentID, Abbrev: u.Abbrev, Name: u.Name}
}

// DocumentJSON is a document's metadata.
type DocumentJSON struct {
	ID              string                   `json:"id"`
	Direction       document.Direction       `json:"direction"`
	UnitID          string                   `json:"unit_id"`
	Type            string                   `json:"type"`
	Subject         string                   `json:"subject"`
	Urgency         document.Urgency         `json:"urgency"`
	Confidentiality document.Confidentiality `json:"confidentiality"`
	State           document.State           `json:"state"`
	CreatedBy       string                   `json:"created_by"`
	CreatedAt       time.Time                `json:"created_at"`
	UpdatedAt       time.Time                `json:"updated_at"`

	SignerID     string            `json:"signer_id,omitempty"`
	SignCapacity document.Capacity `json:"sign_capacity,omitempty"`
	PrincipalID  string            `json:"principal_id,omitempty"`
	RegisterID   string            `json:"register_id,omitempty"`
	Number       int               `json:"number,omitempty"`
	Symbol       string            `json:"symbol,omitempty"`
	NumberedAt   *time.Time        `json:"numbered_at,omitempty"`
	IssuedAt     *time.Time        `json:"issued_at,omitempty"`

	SourceID       string     `json:"source_id,omitempty"`
	SenderName     string     `json:"sender_name,omitempty"`
	SenderDate     *time.Time `json:"sender_date,omitempty"`
	ReceivedAt     *time.Time `json:"received_at,omitempty"`
	LeaderID       string     `json:"leader_id,omitempty"`
	HandlerID      string     `json:"handler_id,omitempty"`
	HandlingUnitID string     `json:"handling_unit_id,omitempty"`
	Deadline       *time.Time `json:"deadline,omitempty"`
	Instruction    string     `json:"instruction,omitempty"`
	CompletedAt    *time.Time `json:"completed_at,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func documentJSON(d *document.Document) DocumentJSON {
	return DocumentJSON{
		ID: d.ID, Direction: d.Direction, UnitID: d.UnitID, Type: d.TypeCode, Subject: d.Subject, Urgency: d.Urgency,
		Confidentiality: d.Confidentiality, State: d.State, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		SignerID: d.SignerID, SignCapacity: d.SignCapacity, PrincipalID: d.PrincipalID, RegisterID: d.RegisterID,
		Number: d.Number, Symbol: d.Symbol, NumberedAt: timePtr(d.NumberedAt), IssuedAt: timePtr(d.IssuedAt),
		SourceID: d.SourceID, SenderName: d.SenderName, SenderDate: timePtr(d.SenderDate), ReceivedAt: timePtr(d.ReceivedAt),
		LeaderID: d.LeaderID, HandlerID: d.HandlerID, HandlingUnitID: d.HandlingUnitID, Deadline: timePtr(d.Deadline),
		Instruction: d.Instruction, CompletedAt: timePtr(d.CompletedAt),
	}
}

func documentsJSON(ds []*document.Document) []DocumentJSON {
	out := make([]DocumentJSON, len(ds))
	for i, d := range ds {
		out[i] = documentJSON(d)
	}
	return out
}

// VersionJSON is one immutable PDF of a document.
type VersionJSON struct {
	Seq       int                  `json:"seq"`
	Kind      document.VersionKind `json:"kind"`
	SHA256    string               `json:"sha256"`
	Size      int64                `json:"size"`
	CreatedBy string               `json:"created_by"`
	CreatedAt time.Time            `json:"created_at"`
}

func versionJSON(v *document.Version) VersionJSON {
	return VersionJSON{Seq: v.Seq, Kind: v.Kind, SHA256: v.SHA256, Size: v.Size, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
}

// AttachmentJSON is a file attached to a document.
type AttachmentJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

func attachmentJSON(a *document.Attachment) AttachmentJSON {
	return AttachmentJSON{ID: a.ID, Name: a.Name, ContentType: a.ContentType, SHA256: a.SHA256, Size: a.Size, CreatedAt: a.CreatedAt}
}

// ReviewStepJSON is one reviewer's step in the current round.
type ReviewStepJSON struct {
	Round      int                     `json:"round"`
	Seq        int                     `json:"seq"`
	ReviewerID string                  `json:"reviewer_id"`
	Decision   document.ReviewDecision `json:"decision,omitempty"`
	Comment    string                  `json:"comment,omitempty"`
	DecidedAt  *time.Time              `json:"decided_at,omitempty"`
}

// RecipientJSON is a recipient unit and, once issued, the incoming copy.
type RecipientJSON struct {
	UnitID      string `json:"unit_id"`
	DeliveredID string `json:"delivered_id,omitempty"`
}

// DocumentView is a document as GET /documents/:id shows it.
type DocumentView struct {
	Document    DocumentJSON     `json:"document"`
	Versions    []VersionJSON    `json:"versions"`
	Attachments []AttachmentJSON `json:"attachments"`
	Recipients  []RecipientJSON  `json:"recipients"`
	// RecipientNames are recipients outside the system, as text.
	RecipientNames []string         `json:"recipient_names"`
	Review         []ReviewStepJSON `json:"review"`
	// Retention is set once the document is archived (records.go).
	Retention *RetentionJSON `json:"retention,omitempty"`
}

func documentView(v *workflow.View, atts []*document.Attachment) DocumentView {
	out := DocumentView{Document: documentJSON(v.Document), Versions: []VersionJSON{}, Attachments: []AttachmentJSON{},
		Recipients: []RecipientJSON{}, RecipientNames: []string{}, Review: []ReviewStepJSON{}}
	out.RecipientNames = append(out.RecipientNames, v.RecipientNames...)
	for _, ver := range v.Versions {
		out.Versions = append(out.Versions, versionJSON(ver))
	}
	for _, a := range atts {
		out.Attachments = append(out.Attachments, attachmentJSON(a))
	}
	for _, r := range v.Recipients {
		out.Recipients = append(out.Recipients, RecipientJSON{UnitID: r.UnitID, DeliveredID: r.DeliveredID})
	}
	for _, s := range v.Review {
		out.Review = append(out.Review, ReviewStepJSON{Round: s.Round, Seq: s.Seq, ReviewerID: s.ReviewerID,
			Decision: s.Decision, Comment: s.Comment, DecidedAt: timePtr(s.DecidedAt)})
	}
	return out
}

// StepJSON is one entry of a document's timeline.
type StepJSON struct {
	Seq             int64           `json:"seq"`
	At              time.Time       `json:"at"`
	ActorID         string          `json:"actor_id"`
	ActorName       string          `json:"actor_name"`
	Action          string          `json:"action"`
	From            document.State  `json:"from,omitempty"`
	To              document.State  `json:"to,omitempty"`
	Comment         string          `json:"comment,omitempty"`
	Change          json.RawMessage `json:"change,omitempty"`
	DurationSeconds float64         `json:"duration_seconds"`
}

// RegisterJSON is a register (sổ văn bản).
type RegisterJSON struct {
	ID         string             `json:"id"`
	Direction  document.Direction `json:"direction"`
	Year       int                `json:"year"`
	Series     string             `json:"series"`
	Name       string             `json:"name"`
	NextNumber int                `json:"next_number"`
}

// DelegationJSON is a signing delegation.
type DelegationJSON struct {
	ID          string            `json:"id"`
	PrincipalID string            `json:"principal_id"`
	DelegateID  string            `json:"delegate_id"`
	Capacity    document.Capacity `json:"capacity"`
	ValidFrom   time.Time         `json:"valid_from"`
	ValidUntil  *time.Time        `json:"valid_until,omitempty"`
	Reference   string            `json:"reference,omitempty"`
	RevokedAt   *time.Time        `json:"revoked_at,omitempty"`
}

func delegationJSON(d *document.Delegation) DelegationJSON {
	return DelegationJSON{ID: d.ID, PrincipalID: d.PrincipalID, DelegateID: d.DelegateID, Capacity: d.Capacity,
		ValidFrom: d.ValidFrom, ValidUntil: timePtr(d.ValidUntil), Reference: d.Reference, RevokedAt: timePtr(d.RevokedAt)}
}
