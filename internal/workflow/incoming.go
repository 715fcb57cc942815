package workflow

import (
	"context"
	"strings"
	"time"

	"vanban/internal/document"
)

// IncomingInput describes a document received from outside vanban.
type IncomingInput struct {
	UnitID          string // receiving unit; usually the organization's root unit
	TypeCode        string
	Subject         string
	Urgency         document.Urgency
	Confidentiality document.Confidentiality
	SenderName      string    // issuing organization
	SenderSymbol    string    // its number and symbol, e.g. "12/SYT-VP"
	SenderDate      time.Time // date on the document
	File            File      // the received PDF
}

// registerArrival gives an incoming document its arrival number (số đến)
// from the organization's incoming register of the year: consecutive by time
// of receipt (Article 22.2).
func registerArrival[T Tx](ctx context.Context, tx T, in *document.Document, now time.Time) error {
	typ, err := tx.DocumentType(ctx, in.TypeCode)
	if err != nil {
		return err
	}
	series := document.SeriesFor(document.NumberingShared, document.Incoming, *typ, in.Confidentiality)
	reg, err := tx.EnsureRegister(ctx, in.OrgID, document.Incoming, now.In(document.VietnamTime).Year(), series)
	if err != nil {
		return err
	}
	n, err := tx.NextNumber(ctx, reg.ID)
	if err != nil {
		return err
	}
	in.RegisterID, in.Number, in.NumberedAt = reg.ID, n, now
	return nil
}

// routeBy is when a document received at now must have been presented to a
// leader: urgent ones the same day, others by the end of the next working
// day (Decree 30/2020, Article 24). Until assignment it is the document's
// deadline, so late routing shows in the overdue list.
func (s *Service[T]) routeBy(now time.Time, u document.Urgency) time.Time {
	days := 1
	if u.Urgent() {
		days = 0
	}
	return s.calendar.Deadline(now, days).UTC()
}

// RegisterIncoming records a received document with its arrival number. The
// clerk of the receiving unit does it. Documents already registered with the
// same sender and number/symbol are returned as a warning (they may be a
// resend, or a copy from another channel); registration still happens. With
// a Validator the file's signatures are then validated and the report kept
// (Verifications), whatever it says.
func (s *Service[T]) RegisterIncoming(ctx context.Context, a Actor, in IncomingInput) (doc *document.Document, duplicates []*document.Document, err error) {
	err = s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		unit, err := clerkUnit(ctx, tx, user, grants, in.UnitID)
		if err != nil {
			return err
		}
		if strings.TrimSpace(in.SenderName) == "" {
			return document.FieldErrorf("sender", document.EINVALID, "the sender is required")
		}
		now := s.now()
		d := &document.Document{
			OrgID: unit.OrgID, UnitID: unit.ID, Direction: document.Incoming, TypeCode: in.TypeCode,
			Subject: strings.TrimSpace(in.Subject), Urgency: orDefault(in.Urgency, document.UrgencyNormal),
			Confidentiality: orDefault(in.Confidentiality, document.ConfidentialityNormal), CreatedBy: user.ID,
			SenderName: strings.TrimSpace(in.SenderName), Symbol: strings.TrimSpace(in.SenderSymbol),
			SenderDate: in.SenderDate, ReceivedAt: now,
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if err := in.File.version("pending", document.VersionReceived, user.ID).Validate(); err != nil {
			return err
		}
		d.Deadline = s.routeBy(now, d.Urgency)
		if duplicates, err = tx.IncomingDuplicates(ctx, d.OrgID, d.SenderName, d.Symbol); err != nil {
			return err
		}
		if err := registerArrival(ctx, tx, d, now); err != nil {
			return err
		}
		if err := tx.CreateDocument(ctx, d); err != nil {
			return err
		}
		c := &call[T]{ctx: ctx, tx: tx, user: user, grants: grants, doc: d, unit: unit, now: now, addr: a.ClientAddr,
			change: map[string]any{"to": d.State, "sender": d.SenderName, "symbol": d.Symbol, "arrival_number": d.Number,
				"register": d.RegisterID, "duplicates": len(duplicates)}}
		v, err := c.addVersion(in.File, document.VersionReceived)
		if err != nil {
			return err
		}
		if err := publish(ctx, tx, d, EventDocumentReceived, receivedEvent(d, v)); err != nil {
			return err
		}
		doc = d
		return c.audit("register", d.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	s.verifyOnReceipt(ctx, a.UserID, in.File.BlobKey, doc.ID)
	return doc, duplicates, nil
}

// Route presents an incoming document to a leader (someone with the signer
// role in its unit). The clerk does it.
func (s *Service[T]) Route(ctx context.Context, a Actor, docID, leaderID string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionRoute); err != nil {
			return err
		}
		if err := c.requireRole(document.RoleClerk, "routing"); err != nil {
			return err
		}
		if err := c.requireUserRole(leaderID, document.RoleSigner); err != nil {
			return err
		}
		c.doc.LeaderID = leaderID
		c.change["leader"] = leaderID
		return c.save(string(document.ActionRoute))
	})
}

// Assignment is the leader's instruction on an incoming document.
type Assignment struct {
	HandlerID      string
	HandlingUnitID string // the handler needs the drafter role there
	// The deadline: WorkingDays after today (end of that day, Vietnam time)
	// when > 0, else Deadline.
	WorkingDays int
	Deadline    time.Time
	Instruction string // ý kiến chỉ đạo
}

// Assign names the handling unit, handler and deadline. Only the leader the
// document was routed to may do it; assigning again replaces the handler.
func (s *Service[T]) Assign(ctx context.Context, a Actor, docID string, as Assignment) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionAssign); err != nil {
			return err
		}
		if c.user.ID != c.doc.LeaderID {
			return document.Errorf(document.EFORBIDDEN, "only the leader the document was routed to may assign it")
		}
		if err := c.requireRole(document.RoleSigner, "assigning"); err != nil {
			return err
		}
		unit, err := c.tx.Unit(c.ctx, as.HandlingUnitID)
		if err != nil {
			return err
		}
		if unit.OrgID != c.doc.OrgID {
			return document.FieldErrorf("unit", document.EINVALID, "handling unit %s belongs to another organization", unit.Abbrev)
		}
		if strings.TrimSpace(as.HandlerID) == "" {
			return document.FieldErrorf("handler", document.EINVALID, "choose who handles the document")
		}
		if err := c.requireUserRoleIn(as.HandlerID, document.RoleDrafter, unit); err != nil {
			return err
		}
		deadline := as.Deadline
		if as.WorkingDays > 0 {
			deadline = s.calendar.Deadline(c.now, as.WorkingDays)
		}
		if deadline.IsZero() || !deadline.After(c.now) {
			return document.FieldErrorf("deadline", document.EINVALID, "the deadline must be in the future")
		}
		c.change["previous_handler"] = c.doc.HandlerID
		c.doc.HandlerID, c.doc.HandlingUnitID, c.doc.Instruction = as.HandlerID, unit.ID, as.Instruction
		c.doc.Deadline = deadline.UTC().Truncate(time.Microsecond)
		c.change["handler"], c.change["unit"], c.change["deadline"], c.change["instruction"] =
			as.HandlerID, unit.ID, c.doc.Deadline, as.Instruction
		return c.save(string(document.ActionAssign))
	})
}

func (c *call[T]) requireHandler() error {
	if c.user.ID != c.doc.HandlerID {
		return document.Errorf(document.EFORBIDDEN, "only the assigned handler may work on document %s", c.doc.ID)
	}
	return nil
}

// StartHandling records that the handler started work.
func (s *Service[T]) StartHandling(ctx context.Context, a Actor, docID string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionStart); err != nil {
			return err
		}
		if err := c.requireHandler(); err != nil {
			return err
		}
		return c.save(string(document.ActionStart))
	})
}

// Complete records that the handler finished, with a note on the result.
func (s *Service[T]) Complete(ctx context.Context, a Actor, docID, note string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionComplete); err != nil {
			return err
		}
		if err := c.requireHandler(); err != nil {
			return err
		}
		c.doc.CompletedAt = c.now
		c.change["note"] = note
		if !c.doc.Deadline.IsZero() && c.now.After(c.doc.Deadline) {
			c.change["late"] = true
		}
		return c.save(string(document.ActionComplete))
	})
}

// Overdue lists the organization's incoming documents past their deadline
// and not completed, for the clerk to follow up. The actor needs the clerk
// or signer role on the organization's root unit.
func (s *Service[T]) Overdue(ctx context.Context, a Actor, orgID string) ([]*document.Document, error) {
	var out []*document.Document
	err := s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		root, err := tx.Unit(ctx, orgID)
		if err != nil {
			return err
		}
		if user.OrgID != orgID || !(grants.Allows(document.RoleClerk, *root) || grants.Allows(document.RoleSigner, *root)) {
			return document.Errorf(document.EFORBIDDEN, "the overdue list needs the clerk or signer role for the organization")
		}
		out, err = tx.OverdueDocuments(ctx, orgID, s.now())
		return err
	})
	return out, err
}

// ReceivedEvent is the payload of document.received, for a document
// registered by a clerk or delivered by another organization through vanban
// (then SourceDocumentID names the outgoing original). Times are in Vietnam
// time; SenderDate is omitted when unknown.
type ReceivedEvent struct {
	DocumentID       string     `json:"document_id"`
	OrgID            string     `json:"org_id"`
	ArrivalNumber    int        `json:"arrival_number"`
	Sender           string     `json:"sender"`
	SenderSymbol     string     `json:"sender_symbol"`
	SenderDate       *time.Time `json:"sender_date,omitempty"`
	Subject          string     `json:"subject"`
	Type             string     `json:"type"`
	Urgency          string     `json:"urgency"`
	ReceivedAt       time.Time  `json:"received_at"`
	RouteBy          time.Time  `json:"route_by"` // when it must have been presented to a leader
	SHA256           string     `json:"sha256"`   // of the received PDF
	SourceDocumentID string     `json:"source_document_id,omitempty"`
}

func receivedEvent(d *document.Document, v *document.Version) ReceivedEvent {
	e := ReceivedEvent{
		DocumentID: d.ID, OrgID: d.OrgID, ArrivalNumber: d.Number, Sender: d.SenderName, SenderSymbol: d.Symbol,
		Subject: d.Subject, Type: d.TypeCode, Urgency: string(d.Urgency), ReceivedAt: d.ReceivedAt.In(document.VietnamTime),
		RouteBy: d.Deadline.In(document.VietnamTime), SHA256: v.SHA256, SourceDocumentID: d.SourceID,
	}
	if !d.SenderDate.IsZero() {
		t := d.SenderDate.In(document.VietnamTime)
		e.SenderDate = &t
	}
	return e
}
