// Package notify tells people when something awaits them: a document to
// review, to sign, to number and seal, an incoming document to route or
// handle, a deadline tomorrow, a document overdue today, a signing request
// on their phone.
//
// Notices are derived from the hash-chained audit log, which every use case
// appends to in its own transaction: the worker reads the entries after its
// cursor and records the notices and their deliveries in one transaction
// with the new cursor, so nothing in the workflow changes to feed it, a
// committed step is never missed and a rolled-back one is never announced.
// (Appends to the log are serialized until commit, so sequence order is
// commit order.)
//
// Each notice goes through the channels the person chose (Channel: in the
// page at once over server-sent events, e-mail over SMTP, a chat connector
// in the style of a Zalo Official Account), instantly or in a daily digest.
// Deliveries are rows of an outbox, retried with backoff and logged. What
// leaves the system about a secret document is only "you have a document".
package notify

import (
	"context"
	"strings"
	"time"

	"vanban/internal/audit"
	"vanban/internal/document"
)

// Kind says what awaits the person.
type Kind string

const (
	KindReview        Kind = "review"         // a draft waits for their review
	KindSign          Kind = "sign"           // a document waits for their signature
	KindReturned      Kind = "returned"       // their draft came back with a comment
	KindNumberSeal    Kind = "number_seal"    // a signed document waits for number, date and seal
	KindSigningPhone  Kind = "signing_phone"  // a signing request waits on their phone
	KindIncoming      Kind = "incoming"       // an incoming document arrived for registration
	KindRoute         Kind = "route"          // an incoming document was presented to them
	KindAssigned      Kind = "assigned"       // an incoming document was assigned to them
	KindDueTomorrow   Kind = "due_tomorrow"   // a deadline tomorrow
	KindOverdueToday  Kind = "overdue_today"  // the deadline passed today
	KindDocumentReady Kind = "document_ready" // issued: for the drafter
)

// label is the Vietnamese heading of a notice of kind k.
func (k Kind) label() string {
	switch k {
	case KindReview:
		return "Văn bản chờ bạn cho ý kiến"
	case KindSign:
		return "Văn bản chờ bạn ký"
	case KindReturned:
		return "Văn bản được trả lại"
	case KindNumberSeal:
		return "Văn bản chờ cấp số và đóng dấu"
	case KindSigningPhone:
		return "Yêu cầu ký đang chờ trên điện thoại"
	case KindIncoming:
		return "Văn bản đến chờ vào sổ"
	case KindRoute:
		return "Văn bản đến chờ bạn phân công"
	case KindAssigned:
		return "Văn bản đến giao bạn xử lý"
	case KindDueTomorrow:
		return "Văn bản đến hạn vào ngày mai"
	case KindOverdueToday:
		return "Văn bản quá hạn xử lý"
	case KindDocumentReady:
		return "Văn bản đã ban hành"
	}
	return "Thông báo"
}

// Channel names.
const (
	ChannelPage  = "page"  // in the open page, at once (server-sent events)
	ChannelEmail = "email" // SMTP
	ChannelChat  = "chat"  // chat connector (Zalo Official Account style)
)

// Channels lists the channel names.
var Channels = []string{ChannelPage, ChannelEmail, ChannelChat}

// Mode is how a person takes a channel.
type Mode string

const (
	ModeInstant Mode = "instant"
	ModeDigest  Mode = "digest" // once a day, all together
	ModeOff     Mode = "off"
)

// Preference is a person's choice for one channel.
type Preference struct {
	UserID  string
	Channel string
	Mode    Mode
	Address string // e-mail address or chat user id; unused for the page
}

// DefaultPreference is what applies without a stored choice: the page at
// once, nothing outside until the person gives an address.
func DefaultPreference(userID, channel string) Preference {
	if channel == ChannelPage {
		return Preference{UserID: userID, Channel: channel, Mode: ModeInstant}
	}
	return Preference{UserID: userID, Channel: channel, Mode: ModeOff}
}

// Validate checks a preference before it is stored. Returns EINVALID.
func (p Preference) Validate() error {
	switch {
	case p.Channel != ChannelPage && p.Channel != ChannelEmail && p.Channel != ChannelChat:
		return document.Errorf(document.EINVALID, "channel %q is not page, email or chat", p.Channel)
	case p.Mode != ModeInstant && p.Mode != ModeDigest && p.Mode != ModeOff:
		return document.Errorf(document.EINVALID, "mode %q is not instant, digest or off", p.Mode)
	case len(p.Address) > 254:
		return document.Errorf(document.EINVALID, "address is longer than 254 bytes")
	case p.Mode != ModeOff && p.Channel == ChannelEmail && !validEmail(p.Address):
		return document.Errorf(document.EINVALID, "e-mail address %q is not name@domain", p.Address)
	case p.Mode != ModeOff && p.Channel == ChannelChat && !validChatID(p.Address):
		return document.Errorf(document.EINVALID, "chat user id %q must be 1 to 64 letters, digits, '-' or '_'", p.Address)
	}
	return nil
}

// validEmail accepts one plain address: no display name, no line breaks or
// characters that would let it add SMTP commands or headers.
func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>,;:\"()[]\\") {
		return false
	}
	return strings.Contains(s[at+1:], ".") && !strings.HasPrefix(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

func validChatID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Notification is one notice to one person.
type Notification struct {
	ID         string
	UserID     string
	Kind       Kind
	DocumentID string
	Title      string // shown in the page
	Body       string // shown in the page
	Link       string // path in the application, e.g. /documents/ID
	Secret     bool   // about a secret document: outside, only "you have a document"
	DedupKey   string
	CreatedAt  time.Time
	ReadAt     time.Time

	// Deliveries are the outbox rows to create with the notice.
	Deliveries []Delivery
}

// Delivery is one channel a new notice goes through.
type Delivery struct {
	Channel string
	Address string
	Digest  bool
	DueAt   time.Time
}

// Message is what a channel sends: a subject line, a short text and the
// link, already stripped of anything secret.
type Message struct {
	Subject string
	Text    string
	Link    string // absolute URL
	// Items are the notices a digest gathers; one for an instant message.
	Items []MessageItem
}

// MessageItem is one notice within a message.
type MessageItem struct {
	Title string
	Text  string
	Link  string
}

// Channel sends a message to one address. Implementations must be safe for
// concurrent use and must not retry: the outbox does.
type Channel interface {
	Send(ctx context.Context, address string, m Message) error
}

// Job is an outbox row claimed for sending, with its notice.
type Job struct {
	ID           string
	Channel      string
	Address      string
	Digest       bool
	Attempt      int // counted at claim time
	ClaimToken   string
	Notification Notification
}

// Store is what the worker needs of the database; *store.DB is one.
type Store interface {
	NotifyCursor(ctx context.Context) (int64, error)
	AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]audit.Entry, error)
	Document(ctx context.Context, id string) (*document.Document, error)
	ReviewRound(ctx context.Context, documentID string) ([]document.ReviewStep, error)
	// RoleHolders lists the enabled users holding role in the unit or a
	// unit above it.
	RoleHolders(ctx context.Context, unitID string, role document.Role) ([]string, error)
	NotifyPreferences(ctx context.Context, userID string) ([]Preference, error)
	// RecordNotifications stores the notices not already recorded (by
	// DedupKey) with their deliveries and, when toSeq > fromSeq, moves the
	// cursor from fromSeq to toSeq; ECONFLICT when another worker moved it
	// first (nothing is stored). Returns the notices newly stored.
	RecordNotifications(ctx context.Context, fromSeq, toSeq int64, ns []Notification) ([]Notification, error)
	// OpenIncomingByDeadline lists open incoming documents of every
	// organization with a deadline in [from, to).
	OpenIncomingByDeadline(ctx context.Context, from, to time.Time) ([]*document.Document, error)
	ClaimNotifyJobs(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error)
	// FinishNotifyJob records the attempt and moves the row: delivered when
	// errMsg is "" , dead when dead, else pending again at next.
	FinishNotifyJob(ctx context.Context, j Job, errMsg string, dead bool, next time.Time) error
}
