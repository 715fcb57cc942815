// Package interchange carries vanban's documents to and from other
// agencies over a document interconnection axis (liên thông văn bản,
// QCVN 102:2016 edXML; Decree 30/2020 Appendix VI).
//
// Sending: an outgoing document's external recipients (agencies of the
// organization's directory) get one package each once the document is
// issued, through a durable outbox with retries and backoff; every status
// a recipient reports is kept per recipient and written to the document's
// timeline. Receiving: every organization with an identifier code polls
// the transport; a package becomes an item of the clerk's queue "chờ tiếp
// nhận" with its signatures verified, and 01 goes back at once. Accepting
// registers it as an incoming document (03), refusing sends 02, and the
// incoming document's assignment, progress and completion send 04, 05 and
// 06. Recall (BussinessDocType 1), update (2) and replace (3) are handled on
// both sides. Secret documents never leave.
//
// The package declares the interfaces it needs (Tx, DB, Incoming) and
// imports no adapter; *store.Tx and *workflow.Service satisfy them.
package interchange

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"vanban/exchange"
	"vanban/exchange/edxml"
	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/storage"
)

// Tx is the part of a database transaction the exchange uses.
type Tx interface {
	Organization(ctx context.Context, id string) (*document.Organization, error)
	Unit(ctx context.Context, id string) (*document.Unit, error)
	User(ctx context.Context, id string) (*document.User, error)
	Grants(ctx context.Context, userID string) (document.Grants, error)
	DocumentType(ctx context.Context, code string) (*document.DocumentType, error)
	Document(ctx context.Context, id string) (*document.Document, error)
	UpdateDocument(ctx context.Context, d *document.Document) error
	LatestVersion(ctx context.Context, documentID string) (*document.Version, error)
	Versions(ctx context.Context, documentID string) ([]*document.Version, error)
	AddAttachment(ctx context.Context, a *document.Attachment) error
	IncomingDuplicates(ctx context.Context, orgID, senderName, senderSymbol string) ([]*document.Document, error)
	AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error)

	OrganId(ctx context.Context, orgID string) (string, error)
	SetOrganId(ctx context.Context, orgID, organ string) error
	OrgOfOrgan(ctx context.Context, organ string) (string, error)
	ExchangeOrgans(ctx context.Context) ([]OrgOrgan, error)
	Agencies(ctx context.Context, orgID string) ([]Agency, error)
	Agency(ctx context.Context, orgID, organ string) (Agency, error)
	PutAgency(ctx context.Context, a Agency) (bool, error)
	DeleteAgency(ctx context.Context, orgID, organ string) error
	SetExchangeRecipients(ctx context.Context, documentID string, rs []Recipient) error
	ExchangeRecipients(ctx context.Context, documentID string) ([]Recipient, error)
	ExchangeDocument(ctx context.Context, documentID string) (*DocumentExchange, error)
	ExchangeDocumentByEdxml(ctx context.Context, orgID, edxmlID string) (*DocumentExchange, error)
	PutExchangeDocument(ctx context.Context, d *DocumentExchange) error
	DocumentsToQueue(ctx context.Context, limit int) ([]string, error)
	EnqueueExchange(ctx context.Context, m *OutboxMessage) (bool, error)
	ClaimExchangeOutbox(ctx context.Context, t time.Time, lease time.Duration, limit int, token string) ([]*OutboxMessage, error)
	FinishExchangeOutbox(ctx context.Context, id, token, state, transportID, lastError string, next time.Time) error
	ExchangeOutboxFor(ctx context.Context, documentID string) ([]*OutboxMessage, error)
	InsertInboxItem(ctx context.Context, it *InboxItem) (bool, error)
	InboxItem(ctx context.Context, id string) (*InboxItem, error)
	InboxItemByEdxml(ctx context.Context, orgID, fromOrgan, edxmlID string, businessType int) (*InboxItem, error)
	InboxItemOfDocument(ctx context.Context, documentID string) (*InboxItem, error)
	InboxItems(ctx context.Context, orgID string, states []string, limit int) ([]*InboxItem, error)
	UpdateInboxItem(ctx context.Context, it *InboxItem) error
	InboxToReport(ctx context.Context, limit int) ([]*InboxItem, error)
	InsertExchangeStatus(ctx context.Context, s *StatusRecord) (bool, error)
	ExchangeStatuses(ctx context.Context, documentID string) ([]StatusRecord, error)
	BlobUsedElsewhere(ctx context.Context, key, documentID, inboxID string) (bool, error)
}

// DB runs a function in a transaction, committing when it returns nil.
type DB[T Tx] interface {
	WithTx(ctx context.Context, fn func(tx T) error) error
}

// Incoming registers an accepted package as an incoming document: the
// workflow's own use case, so numbering, permissions and the audit entry
// are the same as for a clerk's upload.
type Incoming interface {
	RegisterIncoming(ctx context.Context, a workflow.Actor, in workflow.IncomingInput) (*document.Document, []*document.Document, error)
}

// Options wire the service.
type Options struct {
	Transport exchange.Transport
	Blobs     storage.Store
	Incoming  Incoming
	// Verify validates the signatures of a stored PDF: the worst
	// indication (TOTAL-PASSED, INDETERMINATE, TOTAL-FAILED, NO-SIGNATURE)
	// and the report as JSON.
	Verify func(ctx context.Context, blobKey string) (indication string, report []byte, err error)
	// SaveReport keeps a validation report for a document version.
	SaveReport func(ctx context.Context, documentID string, seq int, indication string, report []byte) error
	// Attachments lists an outgoing document's attachments, sent with it.
	Attachments func(ctx context.Context, documentID string) ([]*document.Attachment, error)
	// PollInterval is how often Run polls the transport and the outbox;
	// default 5 s.
	PollInterval time.Duration
	// MaxPackage bounds a received package; default 256 MiB.
	MaxPackage int64
	// TempDir spools received packages; default os.TempDir().
	TempDir string
	Logger  *slog.Logger
}

// Service runs the exchange.
type Service[T Tx] struct {
	db   DB[T]
	opt  Options
	log  *slog.Logger
	kick chan struct{}
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns the service.
func New[T Tx](db DB[T], opt Options) *Service[T] {
	if opt.PollInterval <= 0 {
		opt.PollInterval = 5 * time.Second
	}
	if opt.MaxPackage <= 0 {
		opt.MaxPackage = 256 << 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service[T]{db: db, opt: opt, log: opt.Logger, kick: make(chan struct{}, 1), Now: time.Now}
}

func (s *Service[T]) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// systemActor is the audit actor of what the exchange does by itself.
const systemActor = "system:exchange"

// who is the acting user with grants.
type who struct {
	user   *document.User
	grants document.Grants
}

func loadUser[T Tx](ctx context.Context, tx T, a workflow.Actor) (who, error) {
	if a.UserID == "" {
		return who{}, document.Errorf(document.EFORBIDDEN, "no user is signed in")
	}
	u, err := tx.User(ctx, a.UserID)
	if document.ErrorCode(err) == document.ENOTFOUND || (err == nil && u.Disabled) {
		return who{}, document.Errorf(document.EFORBIDDEN, "user %s is unknown or disabled", a.UserID)
	}
	if err != nil {
		return who{}, err
	}
	gs, err := tx.Grants(ctx, u.ID)
	if err != nil {
		return who{}, err
	}
	return who{user: u, grants: gs}, nil
}

// requireOrgRole checks that the actor holds role at the organization's
// root unit (the organization's clerks and administrators hold theirs there).
func requireOrgRole[T Tx](ctx context.Context, tx T, w who, orgID string, role document.Role, what string) error {
	if w.user.OrgID != orgID {
		return document.Errorf(document.EFORBIDDEN, "%s: not your organization", what)
	}
	root, err := tx.Unit(ctx, orgID)
	if err != nil {
		return err
	}
	if !w.grants.Allows(role, *root) {
		return document.Errorf(document.EFORBIDDEN, "%s needs the %s role for the organization", what, role)
	}
	return nil
}

func auditEntry[T Tx](ctx context.Context, tx T, actor, addr, action, objType, objID string, at time.Time, change map[string]any) error {
	b, err := json.Marshal(change)
	if err != nil {
		return fmt.Errorf("interchange: encode audit change: %w", err)
	}
	_, err = tx.AppendAudit(ctx, audit.Entry{Time: at, Actor: actor, ClientAddr: addr, Action: action,
		ObjectType: objType, ObjectID: objID, Change: b})
	return err
}

// SetOrganId gives an organization its identifier code. Administrators of
// the organization do it. Returns EINVALID for a code not in the Decision
// 20/2020 form, ECONFLICT when another organization has it.
func (s *Service[T]) SetOrganId(ctx context.Context, a workflow.Actor, orgID, organ string) error {
	organ = strings.TrimSpace(organ)
	if !edxml.ValidOrganId(organ) {
		return document.Errorf(document.EINVALID, "%q is not an identifier code (dot-separated groups of digits and capital letters, at most %d characters, e.g. 000.00.12.H40)", organ, edxml.MaxOrganIdLen)
	}
	return s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := requireOrgRole(ctx, tx, w, orgID, document.RoleAdmin, "setting the identifier code"); err != nil {
			return err
		}
		if other, err := tx.OrgOfOrgan(ctx, organ); err == nil && other != orgID {
			return document.Errorf(document.ECONFLICT, "identifier code %s belongs to another organization", organ)
		}
		if err := tx.SetOrganId(ctx, orgID, organ); err != nil {
			return err
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "exchange.organ_id", "organization", orgID, s.now(), map[string]any{"organ_id": organ})
	})
}

// OrganIdOf returns an organization's identifier code, "" when it has none.
func (s *Service[T]) OrganIdOf(ctx context.Context, orgID string) (string, error) {
	var id string
	err := s.db.WithTx(ctx, func(tx T) error {
		var err error
		id, err = tx.OrganId(ctx, orgID)
		if document.ErrorCode(err) == document.ENOTFOUND {
			id, err = "", nil
		}
		return err
	})
	return id, err
}

// ImportAgencies fills the organization's directory from the transport's
// agency list; entries an administrator edited stay as they are. Returns
// how many entries were written.
func (s *Service[T]) ImportAgencies(ctx context.Context, a workflow.Actor, orgID string) (int, error) {
	if err := s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		return requireOrgRole(ctx, tx, w, orgID, document.RoleAdmin, "importing agencies")
	}); err != nil {
		return 0, err
	}
	if s.opt.Transport == nil {
		return 0, document.Errorf(document.ECONFLICT, "no exchange transport is configured (VANBAN_EXCHANGE)")
	}
	list, err := s.opt.Transport.Agencies(ctx)
	if err != nil {
		return 0, transportError(err)
	}
	n := 0
	err = s.db.WithTx(ctx, func(tx T) error {
		own, _ := tx.OrganId(ctx, orgID)
		for _, ag := range list {
			if !edxml.ValidOrganId(ag.OrganId) || ag.OrganId == own {
				continue
			}
			name := strings.TrimSpace(ag.Name)
			if name == "" {
				name = ag.OrganId
			}
			wrote, err := tx.PutAgency(ctx, Agency{OrgID: orgID, OrganId: ag.OrganId, Name: name, ParentId: ag.ParentId,
				Email: ag.Email, Phone: ag.Phone, Address: ag.Address})
			if err != nil {
				return err
			}
			if wrote {
				n++
			}
		}
		return auditEntry(ctx, tx, a.UserID, a.ClientAddr, "exchange.agencies_imported", "organization", orgID, s.now(), map[string]any{"count": n})
	})
	return n, err
}

// transportError turns a transport failure into a domain error for the
// HTTP layer: the axis being down is not the user's fault.
func transportError(err error) error {
	switch exchange.KindOf(err) {
	case exchange.KindRejected:
		return document.Errorf(document.EINVALID, "the exchange axis refused: %v", err)
	case exchange.KindNotFound:
		return document.Errorf(document.ENOTFOUND, "%v", err)
	}
	return &UnavailableError{Err: err}
}

// UnavailableError means the exchange axis could not be reached or failed;
// the HTTP layer answers 503 and the caller may try again later.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string {
	return "the exchange axis is not reachable: " + e.Err.Error()
}
func (e *UnavailableError) Unwrap() error { return e.Err }

// Agencies lists the organization's directory; anyone of the organization may read it.
func (s *Service[T]) Agencies(ctx context.Context, a workflow.Actor, orgID string) ([]Agency, error) {
	var out []Agency
	err := s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		if w.user.OrgID != orgID {
			return document.Errorf(document.EFORBIDDEN, "not your organization")
		}
		out, err = tx.Agencies(ctx, orgID)
		return err
	})
	return out, err
}

// SaveAgency adds or edits a directory entry; administrators do it.
func (s *Service[T]) SaveAgency(ctx context.Context, a workflow.Actor, ag Agency) error {
	ag.OrganId, ag.Name = strings.TrimSpace(ag.OrganId), strings.TrimSpace(ag.Name)
	if !edxml.ValidOrganId(ag.OrganId) {
		return document.Errorf(document.EINVALID, "%q is not an identifier code", ag.OrganId)
	}
	if ag.Name == "" || len(ag.Name) > 500 {
		return document.Errorf(document.EINVALID, "an agency needs a name of at most 500 bytes")
	}
	ag.Edited = true
	return s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := requireOrgRole(ctx, tx, w, ag.OrgID, document.RoleAdmin, "editing the agency directory"); err != nil {
			return err
		}
		if _, err := tx.PutAgency(ctx, ag); err != nil {
			return err
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "exchange.agency_saved", "organization", ag.OrgID, s.now(),
			map[string]any{"organ_id": ag.OrganId, "name": ag.Name})
	})
}

// DeleteAgency removes a directory entry; administrators do it.
func (s *Service[T]) DeleteAgency(ctx context.Context, a workflow.Actor, orgID, organ string) error {
	return s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := requireOrgRole(ctx, tx, w, orgID, document.RoleAdmin, "editing the agency directory"); err != nil {
			return err
		}
		if err := tx.DeleteAgency(ctx, orgID, organ); err != nil {
			return err
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "exchange.agency_deleted", "organization", orgID, s.now(), map[string]any{"organ_id": organ})
	})
}
