// Package signsession makes signing durable and asynchronous. A leader's SIM
// answers minutes later, maybe after vanban restarted, so every signature
// request is a row in signing_sessions holding what is needed to finish it:
// the prepared PDF (a blob), the PAdES state, the digest, the verification
// code shown to the signer, the provider's transaction id and the expiry.
//
// The flow of an outgoing document through this package:
//
//	StartLeader (or StartBatch)   the leader's certification signature (DocMDP P=2), with
//	                              empty number, date and seal fields, sent to their SIM
//	Run / RunOnce / HandleCallback  poll or receive the outcome; verify; Finish; new version
//	NumberAndDate                 the clerk numbers the document and the fields are filled
//	Seal                          the organization's signature on the seal field
//
// Every outcome goes through one compare-and-set of the session's state
// (store.UpdateSigningSession), inside the same database transaction as the
// workflow use case that records it (RecordSignature, SigningFailed, Seal):
// a poll racing a callback, a duplicate callback or two replicas finishing
// the same session produce exactly one version and one transition. A crash
// before that transaction commits leaves the session pending, and the next
// pass polls again and finishes it.
//
// Every signature a provider returns is verified against the certificate
// pinned in the PAdES state and the session's digest before it is used, and
// again by pades.Finish: a wrong key or another digest fails the session
// closed and adds no version. Retries reuse the session id as the
// provider's idempotency key.
//
// Wiring (cmd): build the providers by name from configuration with
// signing.Open, then
//
//	svc := signsession.New(db, wf, blobs, providers, signsession.Options{...})
//	go svc.Run(ctx)                       // the worker
//	http: POST /callbacks/{provider} -> svc.HandleCallback(ctx, provider, r)
package signsession

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing"
	"vanban/signing/pades"
	"vanban/storage"
)

// Names of the form fields the leader's certification creates. The number
// and date are text fields filled by NumberAndDate; the seal field is the
// empty signature field Seal signs (a DocMDP P=2 document permits signing
// existing fields only).
const (
	FieldLeader = "ChuKyLanhDao"
	FieldNumber = "SoKyHieu"
	FieldDate   = "NgayBanHanh"
	FieldSeal   = "DauCoQuan"
)

// Layout places the leader's signature, the number and date fields and the
// seal on the page, in PDF points (A4 is 595 x 842). It is kept with each
// session so that a session prepared again after a restart gets the same
// layout.
type Layout struct {
	// SignaturePage holds the leader's signature block and the seal
	// field; 0 means the last page.
	SignaturePage int        `json:"signature_page,omitempty"`
	Signature     pades.Rect `json:"signature"`
	Seal          pades.Rect `json:"seal"`
	// NumberPage and DatePage hold "Số: ..." and the place-date line; 0
	// means the first page.
	NumberPage int        `json:"number_page,omitempty"`
	Number     pades.Rect `json:"number"`
	DatePage   int        `json:"date_page,omitempty"`
	Date       pades.Rect `json:"date"`
	// FontSize of the number and date text (13 pt per Decree 30).
	FontSize float64 `json:"font_size,omitempty"`
	// Cover paints the number and date fields white once filled, hiding
	// the template's own blank line beneath ("Số:    /QĐ-UBND", "...,
	// ngày  tháng  năm"): place them over those lines.
	Cover bool `json:"cover,omitempty"`
	// NumberAlign and DateAlign place the text in its rectangle: left
	// (default), center or right, as the template's line was.
	NumberAlign string `json:"number_align,omitempty"`
	DateAlign   string `json:"date_align,omitempty"`
	// DateItalic draws the place-and-date line in italics (Decree 30).
	DateItalic bool `json:"date_italic,omitempty"`
	// Block says what of the signature block the template prints:
	// "" nothing (the signature draws the capacity and position in bold,
	// the handwritten image and the name), "printed" all of it (the
	// signature rectangle is the gap between the position and the name,
	// and holds the handwritten image only).
	Block string `json:"block,omitempty"`
	// AttachmentPages are the first pages of attachments in the same
	// file (PHỤ LỤC); each gets the number, time and organization at its
	// top right.
	AttachmentPages []int `json:"attachment_pages,omitempty"`
	// Proposed marks a layout placement found in the draft, which a
	// revised upload may replace; a layout a person set is kept.
	Proposed bool `json:"proposed,omitempty"`
}

// IsZero reports a layout with nothing set.
func (l Layout) IsZero() bool {
	return l.Signature == (pades.Rect{}) && l.Seal == (pades.Rect{}) && l.Number == (pades.Rect{}) && l.Date == (pades.Rect{})
}

// DefaultLayout fits the usual A4 administrative document: number on the
// left and date on the right under the header, the signature block at the
// lower right, and the seal overlapping the left third of the signature.
func DefaultLayout() Layout {
	return Layout{
		Signature: pades.Rect{LLX: 340, LLY: 110, URX: 550, URY: 210},
		// The seal's real size (about 110 pt) at the right of its
		// rectangle, over the signature's left third; its text on the
		// left.
		Seal:     pades.Rect{LLX: 155, LLY: 105, URX: 410, URY: 215},
		Number:   pades.Rect{LLX: 60, LLY: 730, URX: 280, URY: 750},
		Date:     pades.Rect{LLX: 290, LLY: 730, URX: 560, URY: 750},
		FontSize: 13,
	}
}

// Options configure a Service. Zero values have the defaults given.
type Options struct {
	// PAdES: hash (SHA-256), level (B-B, or B-T with a TSA), and the
	// services Finish needs at B-T and above.
	Hash       crypto.Hash
	Level      pades.Level
	TSA        pades.Timestamper
	Revocation pades.RevocationCollector
	// SealLevel is the PAdES level of the organization's seal signature.
	// Zero means at least B-LT when a TSA and a revocation collector are
	// configured (the seal then embeds the validation data of the
	// leader's, the seal's and the time-stamps' chains, so an issued PDF
	// validates offline), else Level.
	SealLevel pades.Level

	Layout Layout // default DefaultLayout()
	// Covers checks what a layout's covers hide when one is set
	// (SetLayout); without it a layout with cover is refused.
	Covers CoverChecker
	// SealImage is the organization's seal, a red transparent PNG; nil
	// draws the text (organization and signing time) only.
	SealImage []byte

	// SignTimeout is how long a signer has to answer on the phone, sent
	// as the request's timeout; default 5 minutes.
	SignTimeout time.Duration
	// ExpiryGrace is how long after its expiry a session is still polled
	// before it is expired (the provider's answer may be late); default
	// 30 s.
	ExpiryGrace time.Duration
	// PollInterval between polls of a pending session when the provider
	// suggests none; default 2 s.
	PollInterval time.Duration
	// TickInterval is the longest Run waits between passes; it wakes
	// earlier when a poll is due, on Wake and on another node's
	// notification. Default 5 s.
	TickInterval time.Duration
	// Node names this process in the leases it holds on sessions
	// (lease.go); default host, process id and a random suffix.
	Node string
	// LeaseTTL is how long a lease outlives its last renewal (Run renews
	// every LeaseTTL/3): how soon another node takes over the sessions of
	// a node that died. Default 15 s.
	LeaseTTL time.Duration
	// MaxAttempts bounds how often a request whose failure a retry may
	// cure (phone unreachable, provider down) is sent again with the same
	// idempotency key; default 3.
	MaxAttempts int
	// SealWait bounds how long Seal waits for the seal provider before
	// returning the pending session to the worker; default 60 s.
	SealWait time.Duration

	Logger *slog.Logger // default slog.Default()
}

func (o *Options) setDefaults() {
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if o.Layout.IsZero() {
		o.Layout = DefaultLayout()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SignTimeout, 5*time.Minute)
	def(&o.ExpiryGrace, 30*time.Second)
	def(&o.PollInterval, 2*time.Second)
	def(&o.TickInterval, 5*time.Second)
	def(&o.LeaseTTL, 15*time.Second)
	if o.Node == "" {
		o.Node = defaultNode()
	}
	def(&o.SealWait, 60*time.Second)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Service runs signing sessions. Its methods are safe for concurrent use,
// and several processes may run Service over the same database.
type Service struct {
	db        *store.DB
	wf        *workflow.Service[*store.Tx]
	blobs     storage.Store
	providers map[string]signing.Provider
	opts      Options
	log       *slog.Logger

	// Now is the clock for expiries and poll times; tests replace it.
	Now func() time.Time

	// inflight holds the sessions this process is working on, so that the
	// worker does not resume a session StartLeader is still preparing.
	inflight sync.Map
	// leases are the sessions this node holds a lease on (lease.go).
	leases leaseBook
	// wake makes Run pass at once (Wake).
	wake chan struct{}
}

// New returns a Service. providers maps the provider names used in signing
// identities and seal signers to configured providers. wf is the workflow
// service over the same database; its clock is used for the use cases.
func New(db *store.DB, wf *workflow.Service[*store.Tx], blobs storage.Store, providers map[string]signing.Provider, opts Options) *Service {
	opts.setDefaults()
	ps := make(map[string]signing.Provider, len(providers))
	for k, v := range providers {
		ps[k] = v
	}
	return &Service{db: db, wf: wf, blobs: blobs, providers: ps, opts: opts, log: opts.Logger, Now: time.Now,
		wake: make(chan struct{}, 1)}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Session is what the UI and API show of a signing session.
type Session struct {
	ID               string             `json:"id"`
	DocumentID       string             `json:"document_id"`
	SignerUserID     string             `json:"signer_user_id"`
	Purpose          string             `json:"purpose"` // leader | seal
	Provider         string             `json:"provider"`
	State            store.SigningState `json:"state"`
	BatchID          string             `json:"batch_id,omitempty"`
	BatchSeq         int                `json:"batch_seq,omitempty"`
	DisplayText      string             `json:"display_text,omitempty"`
	VerificationCode string             `json:"verification_code,omitempty"`
	ExpiresAt        time.Time          `json:"expires_at,omitzero"`
	ResultVersionID  string             `json:"result_version_id,omitempty"`
	// FailureKind is a signing.Kind name ("declined", "expired", "busy",
	// "bad_signature", ...), or "cancelled" or "rejected" (the workflow
	// refused the signed file); FailureMessage says what the user can do.
	FailureKind    string    `json:"failure_kind,omitempty"`
	FailureMessage string    `json:"failure_message,omitempty"`
	Retryable      bool      `json:"retryable,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	// ProviderTxID is the provider's transaction, for the development
	// phone link (its per-request secret); never sent to clients.
	ProviderTxID string `json:"-"`
}

func view(s *store.SigningSession) *Session {
	return &Session{
		ID: s.ID, DocumentID: s.DocumentID, SignerUserID: s.SignerUserID, Purpose: s.Purpose, Provider: s.Provider,
		State: s.State, BatchID: s.BatchID, BatchSeq: s.BatchSeq, DisplayText: s.DisplayText,
		VerificationCode: s.VerificationCode, ExpiresAt: s.ExpiresAt, ResultVersionID: s.ResultVersionID,
		FailureKind: s.FailureKind, FailureMessage: s.FailureMessage, Retryable: s.Retryable,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, ProviderTxID: s.ProviderTxID,
	}
}

// txDB runs every workflow transaction inside one already open store
// transaction, so that a use case and the session's compare-and-set commit
// or roll back together.
type txDB struct{ tx *store.Tx }

func (d txDB) WithTx(_ context.Context, fn func(*store.Tx) error) error { return fn(d.tx) }

// inTx runs fn in one transaction with a workflow service bound to it. The
// bound service has no holiday calendar: the signing use cases count no
// working days.
func (s *Service) inTx(ctx context.Context, fn func(tx *store.Tx, wf *workflow.Service[*store.Tx]) error) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		wf := workflow.New[*store.Tx](txDB{tx}, nil)
		wf.Now = s.wf.Now
		return fn(tx, wf)
	})
}

// claim marks a session as worked on by this process; release undoes it.
func (s *Service) claim(id string) bool {
	_, taken := s.inflight.LoadOrStore(id, struct{}{})
	return !taken
}

func (s *Service) release(id string) { s.inflight.Delete(id) }

// busy reports whether a goroutine of this process works on the session.
func (s *Service) busy(id string) bool {
	_, taken := s.inflight.Load(id)
	return taken
}

func (s *Service) provider(name string) (signing.Provider, error) {
	p, ok := s.providers[name]
	if !ok {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: name,
			Message: fmt.Sprintf("signing provider %q is not configured", name)}
	}
	return p, nil
}

// Get returns a session. Only its signer and administrators of the
// document's organization see it. Returns ENOTFOUND (also when hidden),
// EFORBIDDEN for an unknown or disabled actor.
func (s *Service) Get(ctx context.Context, a workflow.Actor, sessionID string) (*Session, error) {
	sess, err := s.authorized(ctx, a, sessionID)
	if err != nil {
		return nil, err
	}
	return s.viewFor(ctx, a, sess)
}

// viewFor is the session as the actor may see it: an administrator who
// may not open the document (a secret one) sees the session's state but
// not the text sent to the phone ("Ký: <subject>").
func (s *Service) viewFor(ctx context.Context, a workflow.Actor, sess *store.SigningSession) (*Session, error) {
	v := view(sess)
	if sess.SignerUserID == a.UserID {
		return v, nil
	}
	ok, err := s.wf.CanView(ctx, a, sess.DocumentID)
	if err != nil {
		return nil, err
	}
	if !ok {
		v.DisplayText = ""
	}
	return v, nil
}

// ListForSigner returns the actor's active sessions (queued, preparing,
// pending), oldest first and in batch order, with their verification codes.
func (s *Service) ListForSigner(ctx context.Context, a workflow.Actor) ([]*Session, error) {
	if _, err := s.actor(ctx, a); err != nil {
		return nil, err
	}
	list, err := s.db.SigningSessions(ctx, store.SigningSessionFilter{SignerUserID: a.UserID,
		States: []store.SigningState{store.SigningQueued, store.SigningPreparing, store.SigningPending}})
	if err != nil {
		return nil, err
	}
	out := make([]*Session, len(list))
	for i, x := range list {
		out[i] = view(x)
	}
	return out, nil
}

// actor loads the acting user; unknown and disabled users are forbidden.
func (s *Service) actor(ctx context.Context, a workflow.Actor) (*document.User, error) {
	if a.UserID == "" {
		return nil, document.Errorf(document.EFORBIDDEN, "no user is signed in")
	}
	u, err := s.db.User(ctx, a.UserID)
	if document.ErrorCode(err) == document.ENOTFOUND || (err == nil && u.Disabled) {
		return nil, document.Errorf(document.EFORBIDDEN, "user %s is unknown or disabled", a.UserID)
	}
	return u, err
}

// hasRole reports whether user holds role over the document's unit.
func (s *Service) hasRole(ctx context.Context, u *document.User, doc *document.Document, role document.Role) (bool, error) {
	if u.OrgID != doc.OrgID {
		return false, nil
	}
	unit, err := s.db.Unit(ctx, doc.UnitID)
	if err != nil {
		return false, err
	}
	gs, err := s.db.Grants(ctx, u.ID)
	if err != nil {
		return false, err
	}
	return gs.Allows(role, *unit), nil
}

// authorized loads a session the actor may see: their own, or any of their
// organization's when they are an administrator over the document.
func (s *Service) authorized(ctx context.Context, a workflow.Actor, sessionID string) (*store.SigningSession, error) {
	u, err := s.actor(ctx, a)
	if err != nil {
		return nil, err
	}
	sess, err := s.db.SigningSession(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if sess.SignerUserID == u.ID {
		return sess, nil
	}
	doc, err := s.db.Document(ctx, sess.DocumentID)
	if err != nil {
		return nil, err
	}
	if ok, err := s.hasRole(ctx, u, doc, document.RoleAdmin); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, document.Errorf(document.ENOTFOUND, "signing session %s not found", sessionID)
	}
	return sess, nil
}

// Cancel withdraws an active session: the request on the phone is
// cancelled where the provider can, and a leader's document returns to
// awaiting signature. The signer or an administrator may cancel. Returns
// ENOTFOUND, ECONFLICT when the session already ended.
func (s *Service) Cancel(ctx context.Context, a workflow.Actor, sessionID string) (*Session, error) {
	sess, err := s.authorized(ctx, a, sessionID)
	if err != nil {
		return nil, err
	}
	if !sess.State.Active() {
		return nil, document.Errorf(document.ECONFLICT, "signing session %s already ended (%s)", sess.ID, sess.State)
	}
	from := sess.State
	if from == store.SigningPending && sess.ProviderTxID != "" {
		if p, err := s.provider(sess.Provider); err == nil {
			if c, ok := p.(signing.Canceler); ok {
				// Best effort: the session ends here whatever the
				// provider says, and a late signature is ignored.
				if err := c.Cancel(ctx, sess.ProviderTxID); err != nil {
					s.log.Warn("signsession: provider cancel failed", "session", sess.ID, "err", err)
				}
			}
		}
	}
	msg := "cancelled by the signer"
	if a.UserID != sess.SignerUserID {
		msg = "cancelled by administrator " + a.UserID
	}
	out, err := s.finalize(ctx, sess, from, store.SigningCancelled, "cancelled", msg, false)
	if err != nil {
		return nil, err
	}
	if out.State != store.SigningCancelled {
		return nil, document.Errorf(document.ECONFLICT, "signing session %s ended (%s) before it could be cancelled", sess.ID, out.State)
	}
	s.startNextQueued(ctx, sess.SignerUserID)
	return s.viewFor(ctx, a, out)
}

// reload returns the stored session after a lost compare-and-set.
func (s *Service) reload(ctx context.Context, id string) (*store.SigningSession, error) {
	return s.db.SigningSession(ctx, id)
}

// isConflict reports a lost compare-and-set (or a refused second active
// session).
func isConflict(err error) bool { return errors.Is(err, document.ErrConflict) }
