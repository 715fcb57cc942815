package document

import (
	"encoding/hex"
	"strings"
	"time"
)

// Direction separates outgoing documents (văn bản đi) from incoming ones
// (văn bản đến).
type Direction string

const (
	Outgoing Direction = "out"
	Incoming Direction = "in"
)

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return d == Outgoing || d == Incoming }

// Urgency is the độ khẩn mark. Urgent documents are handled at once.
type Urgency string

const (
	UrgencyNormal Urgency = "thuong"      // thường
	UrgencyUrgent Urgency = "khan"        // khẩn
	UrgencyVery   Urgency = "thuong-khan" // thượng khẩn
	UrgencyFlash  Urgency = "hoa-toc"     // hỏa tốc
)

// Valid reports whether u is a known urgency.
func (u Urgency) Valid() bool {
	return u == UrgencyNormal || u == UrgencyUrgent || u == UrgencyVery || u == UrgencyFlash
}

// Urgent reports whether documents so marked go out or are registered at once.
func (u Urgency) Urgent() bool { return u == UrgencyUrgent || u == UrgencyVery || u == UrgencyFlash }

// Label is the Vietnamese mark printed on the document.
func (u Urgency) Label() string {
	return map[Urgency]string{UrgencyNormal: "Thường", UrgencyUrgent: "Khẩn", UrgencyVery: "Thượng khẩn", UrgencyFlash: "Hỏa tốc"}[u]
}

// Confidentiality is the độ mật mark.
type Confidentiality string

const (
	ConfidentialityNormal Confidentiality = "thuong"    // thường
	ConfidentialitySecret Confidentiality = "mat"       // mật
	ConfidentialityTop    Confidentiality = "toi-mat"   // tối mật
	ConfidentialityMax    Confidentiality = "tuyet-mat" // tuyệt mật
)

// Valid reports whether c is a known mark.
func (c Confidentiality) Valid() bool {
	return c == ConfidentialityNormal || c == ConfidentialitySecret || c == ConfidentialityTop || c == ConfidentialityMax
}

// Secret reports whether the document is a văn bản mật, which has its own
// number series and must not leave through ordinary channels.
func (c Confidentiality) Secret() bool { return c.Valid() && c != ConfidentialityNormal }

// Label is the Vietnamese mark printed on the document.
func (c Confidentiality) Label() string {
	return map[Confidentiality]string{ConfidentialityNormal: "Thường", ConfidentialitySecret: "Mật", ConfidentialityTop: "Tối mật", ConfidentialityMax: "Tuyệt mật"}[c]
}

// Document is an outgoing or incoming document. Fields in the second and
// third groups are empty until the flow reaches the step that sets them.
type Document struct {
	ID              string
	OrgID           string
	UnitID          string // drafting unit (out) or receiving unit (in)
	Direction       Direction
	TypeCode        string
	Subject         string // trích yếu nội dung
	Urgency         Urgency
	Confidentiality Confidentiality
	State           State
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	RowVersion      int64 // bumped by every update; guards lost updates

	// Outgoing.
	SignerID     string
	SignCapacity Capacity // how SignerID signs
	PrincipalID  string   // whom SignerID signs for (KT., TL., TUQ., Q.)
	RegisterID   string
	Number       int    // sequence number in the register (arrival number for incoming)
	Symbol       string // "05/QĐ-UBND"; for incoming, the sender's number and symbol
	NumberedAt   time.Time
	IssuedAt     time.Time

	// Incoming.
	SourceID       string // the outgoing document this copy was delivered from
	SenderName     string
	SenderDate     time.Time
	ReceivedAt     time.Time
	LeaderID       string // the leader the document was routed to
	HandlerID      string
	HandlingUnitID string
	Deadline       time.Time
	Instruction    string // ý kiến chỉ đạo
	CompletedAt    time.Time
}

// Validate checks the fields a new document must have.
func (d *Document) Validate() error {
	switch {
	case !d.Direction.Valid():
		return Errorf(EINVALID, "direction %q is not %q or %q", d.Direction, Outgoing, Incoming)
	case d.OrgID == "" || d.UnitID == "":
		return Errorf(EINVALID, "document needs an organization and a unit")
	case d.TypeCode == "":
		return FieldErrorf("type", EINVALID, "document type is required")
	case strings.TrimSpace(d.Subject) == "":
		return FieldErrorf("subject", EINVALID, "subject (trích yếu) is required")
	case len(d.Subject) > 2000:
		return FieldErrorf("subject", EINVALID, "subject is %d bytes, longer than 2000", len(d.Subject))
	case !d.Urgency.Valid():
		return FieldErrorf("urgency", EINVALID, "urgency %q is not one of thuong, khan, thuong-khan, hoa-toc", d.Urgency)
	case !d.Confidentiality.Valid():
		return FieldErrorf("confidentiality", EINVALID, "confidentiality %q is not one of thuong, mat, toi-mat, tuyet-mat", d.Confidentiality)
	case d.CreatedBy == "":
		return Errorf(EINVALID, "document has no creator")
	}
	return nil
}

// VersionKind says which step of the flow produced a PDF version.
type VersionKind string

const (
	VersionDraft        VersionKind = "draft"
	VersionLeaderSigned VersionKind = "leader-signed"
	VersionNumbered     VersionKind = "numbered"
	VersionSealed       VersionKind = "sealed"
	VersionReceived     VersionKind = "received"
	// VersionArchived is the PDF raised to PAdES B-LTA when archived;
	// VersionRenewed adds a later document time-stamp to it.
	VersionArchived VersionKind = "archived"
	VersionRenewed  VersionKind = "renewed"
)

// Valid reports whether k is a known kind.
func (k VersionKind) Valid() bool {
	switch k {
	case VersionDraft, VersionLeaderSigned, VersionNumbered, VersionSealed, VersionReceived, VersionArchived, VersionRenewed:
		return true
	}
	return false
}

// Version is one immutable PDF of a document. A new step adds a version; no
// version is ever overwritten, so every signature stays checkable.
type Version struct {
	ID         string
	DocumentID string
	Seq        int // 1, 2, ... per document
	Kind       VersionKind
	BlobKey    string
	SHA256     string // lowercase hex
	Size       int64
	CreatedBy  string
	CreatedAt  time.Time
}

// Validate checks a version before it is stored.
func (v *Version) Validate() error {
	switch {
	case !v.Kind.Valid():
		return Errorf(EINVALID, "version kind %q is unknown", v.Kind)
	case v.BlobKey == "":
		return Errorf(EINVALID, "version has no blob key")
	case !validSHA256(v.SHA256):
		return Errorf(EINVALID, "version SHA-256 %q is not 64 lowercase hex digits", v.SHA256)
	case v.Size <= 0:
		return Errorf(EINVALID, "version size %d must be positive", v.Size)
	case v.CreatedBy == "":
		return Errorf(EINVALID, "version has no creator")
	}
	return nil
}

func validSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Attachment is a file that goes with a document (phụ lục, tài liệu kèm theo).
type Attachment struct {
	ID          string
	DocumentID  string
	Name        string
	ContentType string
	BlobKey     string
	SHA256      string
	Size        int64
	CreatedBy   string
	CreatedAt   time.Time
}

// Validate checks an attachment before it is stored.
func (a *Attachment) Validate() error {
	switch {
	case strings.TrimSpace(a.Name) == "":
		return Errorf(EINVALID, "attachment name is required")
	case a.BlobKey == "":
		return Errorf(EINVALID, "attachment has no blob key")
	case !validSHA256(a.SHA256):
		return Errorf(EINVALID, "attachment SHA-256 %q is not 64 lowercase hex digits", a.SHA256)
	case a.Size <= 0:
		return Errorf(EINVALID, "attachment size %d must be positive", a.Size)
	case a.CreatedBy == "":
		return Errorf(EINVALID, "attachment has no creator")
	}
	return nil
}

// Recipient is a unit an outgoing document is sent to (nơi nhận).
type Recipient struct {
	DocumentID  string
	UnitID      string
	DeliveredID string // the incoming document created at issuance
}

// ReviewDecision is a reviewer's answer.
type ReviewDecision string

const (
	ReviewPending  ReviewDecision = ""
	ReviewApproved ReviewDecision = "approved"
	ReviewReturned ReviewDecision = "returned"
)

// ReviewStep is one reviewer in the ordered list of a review round.
type ReviewStep struct {
	DocumentID string
	Round      int
	Seq        int
	ReviewerID string
	Decision   ReviewDecision
	Comment    string
	DecidedAt  time.Time
}

// Register is a sổ đăng ký: the numbering sequence of an organization for one
// direction, year and series. Numbers run from 1 and are never reused.
type Register struct {
	ID         string
	OrgID      string
	Direction  Direction
	Year       int
	Series     string
	Name       string
	NextNumber int
	CreatedAt  time.Time
}

// Series names. A per-type scheme uses "type:<code>".
const (
	SeriesGeneral   = "chung" // all administrative documents
	SeriesSecret    = "mat"   // văn bản mật (Article 15.2)
	SeriesNormative = "qppl"  // văn bản quy phạm pháp luật
	SeriesIncoming  = "den"   // văn bản đến
)

// SeriesFor picks the register series of a document under scheme.
func SeriesFor(scheme NumberingScheme, dir Direction, t DocumentType, c Confidentiality) string {
	switch {
	case dir == Incoming && c.Secret():
		return SeriesSecret
	case dir == Incoming:
		return SeriesIncoming
	case c.Secret():
		return SeriesSecret
	case t.Normative:
		return SeriesNormative
	case scheme == NumberingPerType:
		return "type:" + t.Code
	default:
		return SeriesGeneral
	}
}

// RegisterName is the human title of a register, e.g. "Sổ văn bản đi 2026".
func RegisterName(dir Direction, year int, series string) string {
	base := "Sổ văn bản đi"
	if dir == Incoming {
		base = "Sổ văn bản đến"
	}
	switch {
	case series == SeriesSecret:
		base += " mật"
	case series == SeriesNormative:
		base += " quy phạm pháp luật"
	case strings.HasPrefix(series, "type:"):
		base += " (" + strings.TrimPrefix(series, "type:") + ")"
	}
	return base + " năm " + itoa(year)
}
