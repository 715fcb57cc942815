package interchange

import "time"

// Agency is an entry of an organization's directory of external agencies.
type Agency struct {
	OrgID     string
	OrganId   string
	Name      string
	ParentId  string
	Email     string
	Phone     string
	Address   string
	Edited    bool // changed by an administrator; imports leave it alone
	UpdatedAt time.Time
}

// Recipient is an external recipient of an outgoing document.
type Recipient struct {
	DocumentID string
	OrganId    string
	Name       string
}

// DocumentExchange is what the exchange knows of an outgoing document.
type DocumentExchange struct {
	DocumentID         string
	OrgID              string
	EdxmlDocumentId    string // set when its packages were queued
	BusinessType       int    // 0 new, 2 update, 3 replace
	ReplacesDocumentID string
	Reason             string
	QueuedAt           time.Time
	RecallReason       string
	RecalledAt         time.Time
}

// Outbox message kinds and states.
const (
	KindPackage = "package"
	KindStatus  = "status"

	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxDead    = "dead"
)

// OutboxMessage is one package or status message to send.
type OutboxMessage struct {
	ID            string
	OrgID         string
	Kind          string
	FromOrgan     string
	ToOrgan       string
	DocumentID    string // the outgoing document of a package
	BusinessType  int
	Reason        string
	Body          string // a status message's edXML
	DedupeKey     string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	ClaimToken    string
	LastError     string
	TransportID   string
	CreatedAt     time.Time
	SentAt        time.Time
}

// Inbox item states.
const (
	InboxPending   = "pending"   // chờ tiếp nhận
	InboxAccepting = "accepting" // being registered; see Accept
	InboxAccepted  = "accepted"
	InboxRefused   = "refused"
	InboxInvalid   = "invalid" // malformed or unusable, kept with the problem
	InboxRecalled  = "recalled"
)

// Recall states of an inbox item.
const (
	RecallRequested = "requested"
	RecallAgreed    = "agreed"
	RecallRefused   = "refused"
)

// StoredFile is an attachment kept in blob storage.
type StoredFile struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	BlobKey     string `json:"blob_key"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
}

// InboxItem is a received package.
type InboxItem struct {
	ID              string
	OrgID           string
	OrganId         string // our organ it was addressed to
	FromOrgan       string
	FromName        string
	EdxmlDocumentId string
	BusinessType    int
	TransportID     string
	DedupeKey       string
	State           string
	Problem         string // why it is malformed or its signatures do not verify
	Subject         string
	Symbol          string // the sender's number and notation, "12/SYT-VP"
	HeaderJSON      string
	PackageBlob     string
	PDF             StoredFile
	Attachments     []StoredFile
	Indication      string // the worst signature indication, NO-SIGNATURE, or "" when not checked
	ReportJSON      string
	DocumentID      string // the incoming document once accepted
	Reason          string // refusal reason
	RecallState     string
	RecallReason    string
	ReplacesID      string // the inbox item this one updates or replaces
	Reported        string // last processing status sent back (03..06)
	ReceivedAt      time.Time
	DecidedAt       time.Time
	DecidedBy       string
}

// StatusRecord is a status a recipient reported on an outgoing document.
type StatusRecord struct {
	ID          string
	OrgID       string
	DocumentID  string
	OrganId     string // the recipient that reported
	Code        string
	Description string
	Staff       string
	Department  string
	At          time.Time
	ReceivedAt  time.Time
	DedupeKey   string
}

// OrgOrgan pairs an organization with its identifier code.
type OrgOrgan struct {
	OrgID   string
	OrganId string
}

// InboxNotice is the state of a recall package: a record acted on through
// the item it recalls.
const InboxNotice = "notice"
