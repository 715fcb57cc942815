// Package workflow holds vanban's use cases: the outgoing flow from draft to
// archive and the incoming flow from registration to completion.
//
// Each use case runs in one database transaction: it loads the document,
// checks that the actor holds the role in the document's unit (and is the
// assigned reviewer, signer, leader or handler where that matters), moves the
// state through the document package's transition table, writes the change
// and appends an audit entry, all or nothing.
//
// The package declares the small interfaces it needs (Tx, DB) and imports no
// adapter; *store.DB and *store.Tx satisfy them:
//
//	svc := workflow.New[*store.Tx](db, calendar)
//
// Signing is not done here: the signing session service calls StartSigning,
// SigningFailed and RecordSignature with the signed PDF's blob reference.
package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"vanban/internal/audit"
	"vanban/internal/document"
)

// Tx is the part of a database transaction the use cases use.
type Tx interface {
	Organization(ctx context.Context, id string) (*document.Organization, error)
	Unit(ctx context.Context, id string) (*document.Unit, error)
	User(ctx context.Context, id string) (*document.User, error)
	Grants(ctx context.Context, userID string) (document.Grants, error)
	DocumentType(ctx context.Context, code string) (*document.DocumentType, error)

	CreateDocument(ctx context.Context, d *document.Document) error
	Document(ctx context.Context, id string) (*document.Document, error)
	UpdateDocument(ctx context.Context, d *document.Document) error
	OverdueDocuments(ctx context.Context, orgID string, now time.Time) ([]*document.Document, error)
	IncomingDuplicates(ctx context.Context, orgID, senderName, senderSymbol string) ([]*document.Document, error)

	AddVersion(ctx context.Context, v *document.Version) error
	Versions(ctx context.Context, documentID string) ([]*document.Version, error)
	LatestVersion(ctx context.Context, documentID string) (*document.Version, error)
	AddAttachment(ctx context.Context, a *document.Attachment) error
	Attachments(ctx context.Context, documentID string) ([]*document.Attachment, error)

	SetRecipients(ctx context.Context, documentID string, unitIDs []string) error
	Recipients(ctx context.Context, documentID string) ([]document.Recipient, error)
	SetRecipientNames(ctx context.Context, documentID string, names []string) error
	RecipientNames(ctx context.Context, documentID string) ([]string, error)
	MarkDelivered(ctx context.Context, documentID, unitID, deliveredID string) error

	StartReviewRound(ctx context.Context, documentID string, reviewerIDs []string) ([]document.ReviewStep, error)
	ReviewRound(ctx context.Context, documentID string) ([]document.ReviewStep, error)
	DecideReview(ctx context.Context, documentID string, round, seq int, decision document.ReviewDecision, comment string, at time.Time) error

	EnsureRegister(ctx context.Context, orgID string, dir document.Direction, year int, series string) (*document.Register, error)
	NextNumber(ctx context.Context, registerID string) (int, error)
	Registers(ctx context.Context, orgID string, year int) ([]*document.Register, error)

	CreateDelegation(ctx context.Context, d *document.Delegation) error
	Delegation(ctx context.Context, id string) (*document.Delegation, error)
	ActiveDelegation(ctx context.Context, principalID, delegateID string, c document.Capacity, t time.Time) (*document.Delegation, error)
	RevokeDelegation(ctx context.Context, id string, t time.Time) error

	AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error)
	AuditEntriesFor(ctx context.Context, objectType, objectID string) ([]audit.Entry, error)

	SearchDocuments(ctx context.Context, q document.Query) ([]*document.Document, error)
	SetDocumentLayout(ctx context.Context, documentID, layoutJSON, userID string) error
	DocumentLayout(ctx context.Context, documentID string) (string, error)

	EnqueueWebhookEvent(ctx context.Context, orgID, eventType string, payload []byte) error

	SaveVerification(ctx context.Context, r *document.Verification) error
	Verifications(ctx context.Context, documentID string) ([]*document.Verification, error)

	LatestVersionText(ctx context.Context, documentID string) (document.VersionText, bool, error)
}

// DB runs a function in a transaction, committing when it returns nil.
type DB[T Tx] interface {
	WithTx(ctx context.Context, fn func(tx T) error) error
}

// Actor is who performs a use case and from where (for the audit log).
type Actor struct {
	UserID     string
	ClientAddr string
}

// File is a PDF or attachment already stored in blob storage.
type File struct {
	BlobKey string
	SHA256  string // lowercase hex
	Size    int64
}

// Service runs the use cases.
type Service[T Tx] struct {
	db       DB[T]
	calendar *document.Calendar
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Proposer, when set, proposes the signing layout of every draft
	// version uploaded (see layout.go).
	Proposer LayoutProposer
	// Validator, when set, validates the signatures of every received
	// document on registration and delivery (see verification.go).
	Validator Validator
	// Logger hears about validations on receipt that could not be made.
	Logger *slog.Logger
}

// New returns a Service. calendar counts working days for deadlines; nil
// means weekends only.
func New[T Tx](db DB[T], calendar *document.Calendar) *Service[T] {
	if calendar == nil {
		calendar, _ = document.NewCalendar(nil)
	}
	return &Service[T]{db: db, calendar: calendar, Now: time.Now}
}

func (s *Service[T]) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// call is the state one use case works on inside its transaction.
type call[T Tx] struct {
	ctx    context.Context
	tx     T
	user   *document.User
	grants document.Grants
	doc    *document.Document
	unit   *document.Unit // the document's unit
	now    time.Time
	addr   string         // client address, for the audit entry
	change map[string]any // goes into the audit entry
}

// loadActor returns the acting user and their grants. A missing or disabled
// user is forbidden rather than not found, so probing reveals nothing.
func loadActor[T Tx](ctx context.Context, tx T, a Actor) (*document.User, document.Grants, error) {
	if a.UserID == "" {
		return nil, nil, document.Errorf(document.EFORBIDDEN, "no user is signed in")
	}
	u, err := tx.User(ctx, a.UserID)
	if document.ErrorCode(err) == document.ENOTFOUND || (err == nil && u.Disabled) {
		return nil, nil, document.Errorf(document.EFORBIDDEN, "user %s is unknown or disabled", a.UserID)
	}
	if err != nil {
		return nil, nil, err
	}
	gs, err := tx.Grants(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	return u, gs, nil
}

// begin loads actor and document for a use case on an existing document and
// checks that the actor may see the document at all.
func (s *Service[T]) begin(ctx context.Context, tx T, a Actor, docID string) (*call[T], error) {
	user, grants, err := loadActor(ctx, tx, a)
	if err != nil {
		return nil, err
	}
	doc, err := tx.Document(ctx, docID)
	if err != nil {
		return nil, err
	}
	unit, err := tx.Unit(ctx, doc.UnitID)
	if err != nil {
		return nil, err
	}
	c := &call[T]{ctx: ctx, tx: tx, user: user, grants: grants, doc: doc, unit: unit, now: s.now(), addr: a.ClientAddr, change: map[string]any{}}
	if !c.canView() {
		// Same answer as a missing document: do not confirm that a
		// document of another organization, or a secret one, exists.
		return nil, document.Errorf(document.ENOTFOUND, "document %s not found", docID)
	}
	return c, nil
}

// canView: for an ordinary document, the people of its unit (any role
// there or above: the leaders, clerks and archivists of the organization
// hold theirs at the root) or of its handling unit, and the people named on
// it; for a secret document only the people named on it, its reviewers and
// the clerks who keep the registers. Another unit's people do not see a
// unit's documents.
func (c *call[T]) canView() bool {
	if c.user.OrgID != c.doc.OrgID {
		return false
	}
	if c.isParticipant() {
		return true
	}
	if !c.doc.Confidentiality.Secret() {
		if c.grants.Covers(*c.unit) {
			return true
		}
		if c.doc.HandlingUnitID != "" {
			if hu, err := c.tx.Unit(c.ctx, c.doc.HandlingUnitID); err == nil && c.grants.Covers(*hu) {
				return true
			}
		}
		return false
	}
	if c.grants.Allows(document.RoleClerk, *c.unit) {
		return true
	}
	steps, err := c.tx.ReviewRound(c.ctx, c.doc.ID)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(steps, func(st document.ReviewStep) bool { return st.ReviewerID == c.user.ID })
}

func (c *call[T]) isParticipant() bool {
	id := c.user.ID
	d := c.doc
	return id == d.CreatedBy || id == d.SignerID || id == d.LeaderID || id == d.HandlerID
}

// requireRole fails with EFORBIDDEN unless the actor holds role in the
// document's unit.
func (c *call[T]) requireRole(role document.Role, what string) error {
	if !c.grants.Allows(role, *c.unit) {
		return document.Errorf(document.EFORBIDDEN, "%s needs the %s role in unit %s (%s)", what, role, c.unit.Abbrev, c.unit.Name)
	}
	return nil
}

// move applies action's transition to the document, or returns ECONFLICT.
func (c *call[T]) move(action document.Action) error {
	to, err := document.Next(c.doc.Direction, c.doc.State, action)
	if err != nil {
		return err
	}
	c.change["from"], c.change["to"] = c.doc.State, to
	c.doc.State = to
	return nil
}

// save writes the document and appends the audit entry for action.
func (c *call[T]) save(action string) error {
	if err := c.tx.UpdateDocument(c.ctx, c.doc); err != nil {
		return err
	}
	return c.audit(action, c.doc.ID)
}

func (c *call[T]) audit(action, docID string) error {
	change, err := json.Marshal(c.change)
	if err != nil {
		return fmt.Errorf("workflow: encode audit change: %w", err)
	}
	_, err = c.tx.AppendAudit(c.ctx, audit.Entry{
		Time: c.now, Actor: c.user.ID, ClientAddr: c.addr, Action: "document." + action,
		ObjectType: "document", ObjectID: docID, Change: change,
	})
	return err
}

// run executes fn on document docID in one transaction and returns the
// document as saved.
func (s *Service[T]) run(ctx context.Context, a Actor, docID string, fn func(c *call[T]) error) (*document.Document, error) {
	var out *document.Document
	err := s.db.WithTx(ctx, func(tx T) error {
		c, err := s.begin(ctx, tx, a, docID)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		out = c.doc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (f File) version(docID string, kind document.VersionKind, by string) *document.Version {
	return &document.Version{DocumentID: docID, Kind: kind, BlobKey: f.BlobKey, SHA256: f.SHA256, Size: f.Size, CreatedBy: by}
}

// addVersion stores f as a new version and records it in the audit change.
func (c *call[T]) addVersion(f File, kind document.VersionKind) (*document.Version, error) {
	v := f.version(c.doc.ID, kind, c.user.ID)
	if err := c.tx.AddVersion(c.ctx, v); err != nil {
		return nil, err
	}
	c.change["version"] = map[string]any{"seq": v.Seq, "kind": v.Kind, "sha256": v.SHA256, "size": v.Size}
	return v, nil
}
