package workflow

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"vanban/internal/document"
)

// DraftInput describes a new outgoing document.
type DraftInput struct {
	UnitID          string // drafting unit
	TypeCode        string
	Subject         string
	Urgency         document.Urgency         // default thường
	Confidentiality document.Confidentiality // default thường
	Recipients      []string                 // recipient unit IDs (nơi nhận)
	RecipientNames  []string                 // recipients outside the system, as text
	File            File                     // the draft PDF
}

// CreateDraft starts an outgoing document with its first (draft) version.
// The actor needs the drafter role in the unit. Returns EINVALID, EFORBIDDEN,
// ENOTFOUND for an unknown unit.
func (s *Service[T]) CreateDraft(ctx context.Context, a Actor, in DraftInput) (*document.Document, error) {
	var out *document.Document
	proposal := s.proposeLayout(ctx, a, in.File)
	err := s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		unit, err := drafterUnit(ctx, tx, user, grants, in.UnitID)
		if err != nil {
			return err
		}
		if _, err := tx.DocumentType(ctx, in.TypeCode); err != nil {
			return err
		}
		d := &document.Document{
			OrgID: unit.OrgID, UnitID: unit.ID, Direction: document.Outgoing, TypeCode: in.TypeCode,
			Subject: strings.TrimSpace(in.Subject), Urgency: orDefault(in.Urgency, document.UrgencyNormal),
			Confidentiality: orDefault(in.Confidentiality, document.ConfidentialityNormal), CreatedBy: user.ID,
		}
		if err := in.File.version("pending", document.VersionDraft, user.ID).Validate(); err != nil {
			return err
		}
		if err := tx.CreateDocument(ctx, d); err != nil {
			return err
		}
		c := &call[T]{ctx: ctx, tx: tx, user: user, grants: grants, doc: d, unit: unit, now: s.now(), addr: a.ClientAddr,
			change: map[string]any{"to": d.State, "type": d.TypeCode, "subject": d.Subject, "urgency": d.Urgency, "confidentiality": d.Confidentiality}}
		if len(in.Recipients) > 0 {
			if err := tx.SetRecipients(ctx, d.ID, in.Recipients); err != nil {
				return err
			}
			c.change["recipients"] = in.Recipients
		}
		if names, err := document.CleanRecipientNames(in.RecipientNames); err != nil {
			return err
		} else if len(names) > 0 {
			if err := tx.SetRecipientNames(ctx, d.ID, names); err != nil {
				return err
			}
			c.change["recipient_names"] = names
		}
		if _, err := c.addVersion(in.File, document.VersionDraft); err != nil {
			return err
		}
		if err := c.applyProposal(proposal); err != nil {
			return err
		}
		out = d
		return c.audit("create", d.ID)
	})
	return out, err
}

func orDefault[V ~string](v, def V) V {
	if v == "" {
		return def
	}
	return v
}

// requireDrafter: drafters of the document's unit work on its drafts
// together; the creator too must still hold the role (it may have been
// revoked when they moved to another unit).
func (c *call[T]) requireDrafter(what string) error {
	return c.requireRole(document.RoleDrafter, what)
}

// UploadDraftVersion adds a revised draft PDF. Only in state draft, by the
// creator or a drafter of the unit. Returns ECONFLICT, EFORBIDDEN, EINVALID.
func (s *Service[T]) UploadDraftVersion(ctx context.Context, a Actor, docID string, f File) (*document.Version, error) {
	var v *document.Version
	proposal := s.proposeLayout(ctx, a, f)
	_, err := s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.requireDraftRevision(); err != nil {
			return err
		}
		var err error
		if v, err = c.addVersion(f, document.VersionDraft); err != nil {
			return err
		}
		if err := c.applyProposal(proposal); err != nil {
			return err
		}
		return c.save("upload_draft")
	})
	return v, err
}

// AddAttachment stores a file that goes with a draft (phụ lục).
func (s *Service[T]) AddAttachment(ctx context.Context, a Actor, docID, name, contentType string, f File) (*document.Attachment, error) {
	// The name is shown to every reader: no bidirectional tricks.
	if name = document.CleanFileName(name); name == "" {
		name = "phu-luc"
	}
	att := &document.Attachment{DocumentID: docID, Name: name, ContentType: contentType, BlobKey: f.BlobKey, SHA256: f.SHA256, Size: f.Size}
	_, err := s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.requireAttachable(); err != nil {
			return err
		}
		att.CreatedBy = c.user.ID
		if err := c.tx.AddAttachment(c.ctx, att); err != nil {
			return err
		}
		c.change["attachment"] = map[string]any{"name": att.Name, "sha256": att.SHA256, "size": att.Size}
		return c.save("attach")
	})
	return att, err
}

// SetRecipients replaces the recipient units of a document not yet issued;
// the recipients named as text stay.
func (s *Service[T]) SetRecipients(ctx context.Context, a Actor, docID string, unitIDs []string) error {
	return s.setRecipients(ctx, a, docID, unitIDs, nil, false)
}

// RecipientList is the whole Nơi nhận of a document: units in the system
// (of this organization or another), which receive it when it is issued,
// and agencies outside it named as text.
type RecipientList struct {
	UnitIDs []string
	Names   []string
}

// SetRecipientList replaces both the recipient units and the recipients
// named as text, by the drafter, a drafter of the unit or a clerk, until
// the document is issued. Returns EINVALID, EFORBIDDEN, ECONFLICT.
func (s *Service[T]) SetRecipientList(ctx context.Context, a Actor, docID string, r RecipientList) error {
	return s.setRecipients(ctx, a, docID, r.UnitIDs, r.Names, true)
}

func (s *Service[T]) setRecipients(ctx context.Context, a Actor, docID string, unitIDs, names []string, withNames bool) error {
	if withNames {
		var err error
		if names, err = document.CleanRecipientNames(names); err != nil {
			return err
		}
	}
	_, err := s.run(ctx, a, docID, func(c *call[T]) error {
		if c.user.ID != c.doc.CreatedBy && !c.grants.Allows(document.RoleClerk, *c.unit) {
			if err := c.requireRole(document.RoleDrafter, "changing recipients"); err != nil {
				return err
			}
		}
		switch c.doc.State {
		case document.StateIssued, document.StateArchived, document.StateWithdrawn:
			return document.Errorf(document.ECONFLICT, "recipients cannot change once the document is %s", c.doc.State)
		}
		if err := c.tx.SetRecipients(c.ctx, c.doc.ID, unitIDs); err != nil {
			return err
		}
		c.change["recipients"] = unitIDs
		if withNames {
			if err := c.tx.SetRecipientNames(c.ctx, c.doc.ID, names); err != nil {
				return err
			}
			c.change["recipient_names"] = names
		}
		return c.save("set_recipients")
	})
	return err
}

// SubmitForReview sends a draft to reviewers, who decide in the given order.
// Each reviewer needs the reviewer role in the document's unit. Returns
// EINVALID for no reviewers, EFORBIDDEN, ECONFLICT.
func (s *Service[T]) SubmitForReview(ctx context.Context, a Actor, docID string, reviewerIDs []string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.requireDrafter("submitting for review"); err != nil {
			return err
		}
		if err := c.move(document.ActionSubmit); err != nil {
			return err
		}
		if len(reviewerIDs) == 0 {
			return document.Errorf(document.EINVALID, "name at least one reviewer")
		}
		for i, id := range reviewerIDs {
			if slices.Index(reviewerIDs, id) != i {
				return document.Errorf(document.EINVALID, "reviewer %s is listed twice", id)
			}
			if err := c.requireUserRole(id, document.RoleReviewer); err != nil {
				return err
			}
		}
		steps, err := c.tx.StartReviewRound(c.ctx, c.doc.ID, reviewerIDs)
		if err != nil {
			return err
		}
		c.change["round"] = steps[0].Round
		c.change["reviewers"] = reviewerIDs
		return c.save(string(document.ActionSubmit))
	})
}

// requireUserRole checks that another user (a reviewer, signer, leader or
// handler being named) holds role in the document's unit.
func (c *call[T]) requireUserRole(userID string, role document.Role) error {
	return c.requireUserRoleIn(userID, role, c.unit)
}

func (c *call[T]) requireUserRoleIn(userID string, role document.Role, unit *document.Unit) error {
	u, err := c.tx.User(c.ctx, userID)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return document.Errorf(document.EINVALID, "user %s does not exist", userID)
	}
	if err != nil {
		return err
	}
	gs, err := c.tx.Grants(c.ctx, u.ID)
	if err != nil {
		return err
	}
	if u.Disabled || !gs.Allows(role, *unit) {
		return document.Errorf(document.EINVALID, "%s (%s) does not hold the %s role in unit %s", u.FullName, u.Username, role, unit.Abbrev)
	}
	return nil
}

// pendingStep returns the review step waiting for a decision.
func (c *call[T]) pendingStep() (steps []document.ReviewStep, i int, err error) {
	steps, err = c.tx.ReviewRound(c.ctx, c.doc.ID)
	if err != nil {
		return nil, 0, err
	}
	for i, st := range steps {
		if st.Decision == document.ReviewPending {
			return steps, i, nil
		}
	}
	return nil, 0, document.Errorf(document.ECONFLICT, "the review of document %s has no pending step", c.doc.ID)
}

// Approve records the current reviewer's approval. After the last reviewer
// the document awaits the signer. Only the reviewer whose turn it is may
// approve. Returns EFORBIDDEN, ECONFLICT.
func (s *Service[T]) Approve(ctx context.Context, a Actor, docID, comment string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if c.doc.State != document.StateInReview {
			return document.Errorf(document.ECONFLICT, "cannot approve a document in state %q (allowed from: in_review)", c.doc.State)
		}
		steps, i, err := c.pendingStep()
		if err != nil {
			return err
		}
		st := steps[i]
		if st.ReviewerID != c.user.ID {
			return document.Errorf(document.EFORBIDDEN, "it is reviewer %d's turn (user %s), not yours", st.Seq, st.ReviewerID)
		}
		if err := c.requireRole(document.RoleReviewer, "approving"); err != nil {
			return err
		}
		if err := c.tx.DecideReview(c.ctx, c.doc.ID, st.Round, st.Seq, document.ReviewApproved, comment, c.now); err != nil {
			return err
		}
		c.change["round"], c.change["step"], c.change["comment"] = st.Round, st.Seq, comment
		if i == len(steps)-1 {
			if err := c.move(document.ActionApprove); err != nil {
				return err
			}
		}
		return c.save(string(document.ActionApprove))
	})
}

// Return sends the document back to its drafter with a comment: by the
// current reviewer during review, or by the signer before signing. Returns
// EINVALID without a comment, EFORBIDDEN, ECONFLICT.
func (s *Service[T]) Return(ctx context.Context, a Actor, docID, comment string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if strings.TrimSpace(comment) == "" {
			return document.Errorf(document.EINVALID, "say why the document is returned")
		}
		switch c.doc.State {
		case document.StateInReview:
			steps, i, err := c.pendingStep()
			if err != nil {
				return err
			}
			st := steps[i]
			if st.ReviewerID != c.user.ID {
				return document.Errorf(document.EFORBIDDEN, "it is reviewer %d's turn (user %s), not yours", st.Seq, st.ReviewerID)
			}
			if err := c.tx.DecideReview(c.ctx, c.doc.ID, st.Round, st.Seq, document.ReviewReturned, comment, c.now); err != nil {
				return err
			}
			c.change["round"], c.change["step"] = st.Round, st.Seq
		case document.StateAwaitingSignature:
			if c.user.ID != c.doc.SignerID {
				return document.Errorf(document.EFORBIDDEN, "only the assigned signer may return a document awaiting signature")
			}
		}
		if err := c.move(document.ActionReturn); err != nil {
			return err
		}
		c.change["comment"] = comment
		return c.save(string(document.ActionReturn))
	})
}

// AssignSigner names the leader who will sign in person. The signer needs
// the signer role in the document's unit (usually granted on the
// organization). Allowed until signing starts, by a drafter of the unit.
func (s *Service[T]) AssignSigner(ctx context.Context, a Actor, docID, signerID string) (*document.Document, error) {
	return s.AssignSignerAs(ctx, a, docID, signerID, document.CapacityInPerson, "")
}

// AssignSignerAs names the signer and the capacity they sign in. For TM.
// the signer holds the signer role like an in-person signer; for KT., TL.,
// TUQ. and Q. the principal holds the signer role and a delegation from the
// principal to the signer in that capacity must be valid now (it is checked
// again when signing). Returns EINVALID, EFORBIDDEN, ECONFLICT.
func (s *Service[T]) AssignSignerAs(ctx context.Context, a Actor, docID, signerID string, capacity document.Capacity, principalID string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.requireDrafter("assigning the signer"); err != nil {
			return err
		}
		switch c.doc.State {
		case document.StateDraft, document.StateInReview, document.StateAwaitingSignature:
		default:
			return document.Errorf(document.ECONFLICT, "the signer cannot change once the document is %s", c.doc.State)
		}
		if !capacity.Valid() {
			return document.Errorf(document.EINVALID, "signing capacity %q is unknown", capacity)
		}
		if capacity.OnBehalfOfPerson() {
			if principalID == "" || principalID == signerID {
				return document.Errorf(document.EINVALID, "%s. signs for someone else: name the principal", capacity)
			}
			if err := c.requireUserRole(principalID, document.RoleSigner); err != nil {
				return err
			}
			if _, err := c.tx.ActiveDelegation(c.ctx, principalID, signerID, capacity, c.now); err != nil {
				if document.ErrorCode(err) == document.ENOTFOUND {
					return document.Errorf(document.EINVALID, "no %s. delegation from %s to %s is valid now", capacity, principalID, signerID)
				}
				return err
			}
		} else {
			principalID = ""
			if err := c.requireUserRole(signerID, document.RoleSigner); err != nil {
				return err
			}
		}
		c.change["signer"], c.change["previous_signer"] = signerID, c.doc.SignerID
		c.change["capacity"], c.change["principal"] = capacity, principalID
		c.doc.SignerID, c.doc.SignCapacity, c.doc.PrincipalID = signerID, capacity, principalID
		return c.save("assign_signer")
	})
}

// requireSigner: only the assigned signer, still holding the signer role,
// or for KT./TL./TUQ./Q. a delegation valid at this moment.
func (c *call[T]) requireSigner() error {
	if c.doc.SignerID == "" {
		return document.Errorf(document.ECONFLICT, "no signer is assigned to document %s", c.doc.ID)
	}
	if c.user.ID != c.doc.SignerID {
		return document.Errorf(document.EFORBIDDEN, "only the assigned signer may sign document %s", c.doc.ID)
	}
	if !c.doc.SignCapacity.OnBehalfOfPerson() {
		return c.requireRole(document.RoleSigner, "signing")
	}
	_, err := c.tx.ActiveDelegation(c.ctx, c.doc.PrincipalID, c.user.ID, c.doc.SignCapacity, c.now)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return document.Errorf(document.EFORBIDDEN, "your %s. delegation from %s is not valid now (expired or revoked)", c.doc.SignCapacity, c.doc.PrincipalID)
	}
	return err
}

// StartSigning marks the document as being signed and returns the version
// to sign (the latest). The signing session service calls it for the signer.
func (s *Service[T]) StartSigning(ctx context.Context, a Actor, docID string) (*document.Version, error) {
	var v *document.Version
	_, err := s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionStartSigning); err != nil {
			return err
		}
		if err := c.requireSigner(); err != nil {
			return err
		}
		var err error
		if v, err = c.tx.LatestVersion(c.ctx, c.doc.ID); err != nil {
			return err
		}
		c.change["version"] = v.Seq
		return c.save(string(document.ActionStartSigning))
	})
	return v, err
}

// SigningFailed puts the document back to awaiting signature after a
// signing session failed, was refused on the phone or expired.
func (s *Service[T]) SigningFailed(ctx context.Context, a Actor, docID, reason string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionSigningFailed); err != nil {
			return err
		}
		if c.user.ID != c.doc.SignerID {
			return document.Errorf(document.EFORBIDDEN, "only the signing session of the assigned signer may report its failure")
		}
		c.change["reason"] = reason
		return c.save(string(document.ActionSigningFailed))
	})
}

// RecordSignature stores the leader-signed PDF as a new version and marks
// the document signed.
func (s *Service[T]) RecordSignature(ctx context.Context, a Actor, docID string, signed File) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionSign); err != nil {
			return err
		}
		if err := c.requireSigner(); err != nil {
			return err
		}
		if _, err := c.addVersion(signed, document.VersionLeaderSigned); err != nil {
			return err
		}
		return c.save(string(document.ActionSign))
	})
}

// Number gives a signed document its number and symbol from the register of
// its organization for the current year and its series, in the same
// transaction as the state change, so numbers are gapless. The clerk does
// it. The returned document carries Number, Symbol and NumberedAt for the
// PDF's number and date fields.
func (s *Service[T]) Number(ctx context.Context, a Actor, docID string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionNumber); err != nil {
			return err
		}
		if err := c.requireRole(document.RoleClerk, "numbering"); err != nil {
			return err
		}
		org, err := c.tx.Organization(c.ctx, c.doc.OrgID)
		if err != nil {
			return err
		}
		typ, err := c.tx.DocumentType(c.ctx, c.doc.TypeCode)
		if err != nil {
			return err
		}
		year := c.now.In(document.VietnamTime).Year()
		series := document.SeriesFor(org.Numbering, document.Outgoing, *typ, c.doc.Confidentiality)
		reg, err := c.tx.EnsureRegister(c.ctx, org.ID, document.Outgoing, year, series)
		if err != nil {
			return err
		}
		n, err := c.tx.NextNumber(c.ctx, reg.ID)
		if err != nil {
			return err
		}
		symbol, err := document.Symbol(n, *typ, org.Abbrev, c.unit.Abbrev)
		if err != nil {
			return err
		}
		c.doc.RegisterID, c.doc.Number, c.doc.Symbol, c.doc.NumberedAt = reg.ID, n, symbol, c.now
		c.change["register"], c.change["number"], c.change["symbol"] = reg.ID, n, symbol
		return c.save(string(document.ActionNumber))
	})
}

// RecordNumberedVersion stores the PDF with number and date filled in.
func (s *Service[T]) RecordNumberedVersion(ctx context.Context, a Actor, docID string, f File) (*document.Version, error) {
	var v *document.Version
	_, err := s.run(ctx, a, docID, func(c *call[T]) error {
		if c.doc.State != document.StateNumbered {
			return document.Errorf(document.ECONFLICT, "the numbered PDF belongs to a numbered document; this one is %s", c.doc.State)
		}
		if err := c.requireRole(document.RoleClerk, "recording the numbered PDF"); err != nil {
			return err
		}
		var err error
		if v, err = c.addVersion(f, document.VersionNumbered); err != nil {
			return err
		}
		return c.save("record_numbered")
	})
	return v, err
}

// Seal stores the PDF carrying the organization's signature (the seal) and
// marks the document sealed. The clerk does it.
func (s *Service[T]) Seal(ctx context.Context, a Actor, docID string, sealed File) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionSeal); err != nil {
			return err
		}
		if err := c.requireRole(document.RoleClerk, "sealing"); err != nil {
			return err
		}
		if _, err := c.addVersion(sealed, document.VersionSealed); err != nil {
			return err
		}
		return c.save(string(document.ActionSeal))
	})
}

// Issue releases a sealed document and delivers it: for each recipient unit
// an incoming document is registered in that unit's organization, with its
// arrival number and the sealed PDF as its received version. Returns the
// issued document; the deliveries are in Recipients. With a Validator the
// sealed file is validated once and the report kept for every delivery.
func (s *Service[T]) Issue(ctx context.Context, a Actor, docID string) (*document.Document, error) {
	var sealedKey string
	var delivered []string
	d, err := s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionIssue); err != nil {
			return err
		}
		if err := c.requireRole(document.RoleClerk, "issuing"); err != nil {
			return err
		}
		sealed, err := c.tx.LatestVersion(c.ctx, c.doc.ID)
		if err != nil {
			return err
		}
		if sealed.Kind != document.VersionSealed {
			return document.Errorf(document.ECONFLICT, "the latest version is %s, not sealed", sealed.Kind)
		}
		org, err := c.tx.Organization(c.ctx, c.doc.OrgID)
		if err != nil {
			return err
		}
		recipients, err := c.tx.Recipients(c.ctx, c.doc.ID)
		if err != nil {
			return err
		}
		c.doc.IssuedAt = c.now
		// Deliver in organization order: each delivery locks the incoming
		// register of the recipient's organization, and two issues locking
		// the same registers in different orders could deadlock.
		units := make([]*document.Unit, 0, len(recipients))
		for _, r := range recipients {
			u, err := c.tx.Unit(c.ctx, r.UnitID)
			if err != nil {
				return err
			}
			units = append(units, u)
		}
		slices.SortFunc(units, func(a, b *document.Unit) int {
			return cmp.Or(cmp.Compare(a.OrgID, b.OrgID), cmp.Compare(a.ID, b.ID))
		})
		sealedKey, delivered = sealed.BlobKey, nil
		for _, u := range units {
			in, err := c.deliver(org, sealed, u, s.routeBy(c.now, c.doc.Urgency))
			if err != nil {
				return err
			}
			delivered = append(delivered, in.ID)
		}
		c.change["delivered"] = delivered
		if err := publish(c.ctx, c.tx, c.doc, EventDocumentIssued, issuedEvent(c.doc, org, sealed)); err != nil {
			return err
		}
		return c.save(string(document.ActionIssue))
	})
	if err != nil {
		return nil, err
	}
	// The recipients verify what they received, as for a registration.
	s.verifyOnReceipt(ctx, a.UserID, sealedKey, delivered...)
	return d, nil
}

// deliver registers the incoming copy of c.doc at a recipient unit.
func (c *call[T]) deliver(from *document.Organization, sealed *document.Version, unit *document.Unit, routeBy time.Time) (*document.Document, error) {
	in := &document.Document{
		OrgID: unit.OrgID, UnitID: unit.ID, Direction: document.Incoming, TypeCode: c.doc.TypeCode,
		Subject: c.doc.Subject, Urgency: c.doc.Urgency, Confidentiality: c.doc.Confidentiality,
		CreatedBy: c.user.ID, SourceID: c.doc.ID, SenderName: from.Name, Symbol: c.doc.Symbol,
		SenderDate: c.doc.NumberedAt, ReceivedAt: c.now, Deadline: routeBy,
	}
	if err := registerArrival(c.ctx, c.tx, in, c.now); err != nil {
		return nil, err
	}
	if err := c.tx.CreateDocument(c.ctx, in); err != nil {
		return nil, err
	}
	v := &document.Version{DocumentID: in.ID, Kind: document.VersionReceived, BlobKey: sealed.BlobKey,
		SHA256: sealed.SHA256, Size: sealed.Size, CreatedBy: c.user.ID}
	if err := c.tx.AddVersion(c.ctx, v); err != nil {
		return nil, err
	}
	if err := c.tx.MarkDelivered(c.ctx, c.doc.ID, unit.ID, in.ID); err != nil {
		return nil, err
	}
	if err := publish(c.ctx, c.tx, in, EventDocumentReceived, receivedEvent(in, v)); err != nil {
		return nil, err
	}
	saved := c.change
	c.change = map[string]any{"to": in.State, "source": c.doc.ID, "sender": in.SenderName, "symbol": in.Symbol,
		"arrival_number": in.Number, "register": in.RegisterID}
	err := c.audit("receive", in.ID)
	c.change = saved
	return in, err
}

// Archive hands an issued outgoing, or a completed incoming, document to the
// archive. The archivist does it.
func (s *Service[T]) Archive(ctx context.Context, a Actor, docID string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionArchive); err != nil {
			return err
		}
		if err := c.requireRole(document.RoleArchivist, "archiving"); err != nil {
			return err
		}
		return c.save(string(document.ActionArchive))
	})
}

// Withdraw abandons a document before it is signed. The creator, or an
// admin of the unit, may withdraw it.
func (s *Service[T]) Withdraw(ctx context.Context, a Actor, docID, reason string) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionWithdraw); err != nil {
			return err
		}
		if c.user.ID != c.doc.CreatedBy || !c.grants.Allows(document.RoleDrafter, *c.unit) {
			if err := c.requireRole(document.RoleAdmin, "withdrawing a document you did not draft"); err != nil {
				return err
			}
		}
		c.change["reason"] = reason
		return c.save(string(document.ActionWithdraw))
	})
}

// Webhook event types the use cases emit.
const (
	EventDocumentIssued   = "document.issued"
	EventDocumentReceived = "document.received"
)

// publish queues a webhook event about d for d's organization, in the use
// case's transaction, so the event is sent exactly when the change commits.
// Only documents marked thường go out: a secret document (mật, tối mật,
// tuyệt mật) must not leave through an ordinary channel, and not even the
// fact that one was issued is announced. The test is "is normal" rather
// than "is not secret" so that an unknown mark stays inside too.
func publish[T Tx](ctx context.Context, tx T, d *document.Document, event string, payload any) error {
	if d.Confidentiality != document.ConfidentialityNormal {
		return nil
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("workflow: encode %s event: %w", event, err)
	}
	return tx.EnqueueWebhookEvent(ctx, d.OrgID, event, b)
}

// EventOrg names an organization in an event.
type EventOrg struct {
	ID     string `json:"id"`
	Abbrev string `json:"abbrev"`
	Name   string `json:"name"`
}

// IssuedEvent is the payload of document.issued. Times are in Vietnam time.
type IssuedEvent struct {
	DocumentID   string    `json:"document_id"`
	Number       int       `json:"number"`
	Symbol       string    `json:"symbol"`
	Subject      string    `json:"subject"`
	Type         string    `json:"type"`
	Urgency      string    `json:"urgency"`
	IssuingOrg   EventOrg  `json:"issuing_org"`
	IssuedAt     time.Time `json:"issued_at"`
	SealedSHA256 string    `json:"sealed_sha256"` // of the sealed PDF, so a receiver can check the file it fetches
}

func issuedEvent(d *document.Document, org *document.Organization, sealed *document.Version) IssuedEvent {
	return IssuedEvent{
		DocumentID: d.ID, Number: d.Number, Symbol: d.Symbol, Subject: d.Subject, Type: d.TypeCode, Urgency: string(d.Urgency),
		IssuingOrg: EventOrg{ID: org.ID, Abbrev: org.Abbrev, Name: org.Name},
		IssuedAt:   d.IssuedAt.In(document.VietnamTime), SealedSHA256: sealed.SHA256,
	}
}
