package workflow

import (
	"context"
	"encoding/json"
	"log/slog"

	"vanban/internal/document"
)

// SetSigningLayout records where the signing steps place the leader's
// signature, the seal and the number and date fields on the document's PDF.
// layoutJSON is validated by the caller (the signing session service owns
// its meaning). A drafter or a clerk of the document's unit sets it, before
// the leader signs. Returns ECONFLICT after signing has started, EFORBIDDEN,
// ENOTFOUND. A changed layout after submission returns the document to
// draft (it is reviewed again); setting the same layout again changes
// nothing.
func (s *Service[T]) SetSigningLayout(ctx context.Context, a Actor, docID, layoutJSON string) error {
	_, err := s.run(ctx, a, docID, func(c *call[T]) error {
		if c.doc.Direction != document.Outgoing {
			return document.Errorf(document.ECONFLICT, "only outgoing documents are signed here")
		}
		switch c.doc.State {
		case document.StateDraft, document.StateInReview, document.StateAwaitingSignature:
		default:
			return document.Errorf(document.ECONFLICT, "the layout is fixed once signing has started; the document is %s", c.doc.State)
		}
		if !c.grants.Allows(document.RoleDrafter, *c.unit) && !c.grants.Allows(document.RoleClerk, *c.unit) {
			return document.Errorf(document.EFORBIDDEN, "setting the signing layout needs the drafter or clerk role in unit %s", c.unit.Abbrev)
		}
		old, err := c.tx.DocumentLayout(c.ctx, c.doc.ID)
		if err != nil {
			return err
		}
		if sameJSON(old, layoutJSON) {
			return nil
		}
		if err := c.tx.SetDocumentLayout(c.ctx, c.doc.ID, layoutJSON, c.user.ID); err != nil {
			return err
		}
		c.change["layout"] = layoutJSON
		if c.doc.State == document.StateDraft {
			return c.audit("layout", c.doc.ID)
		}
		// The reviewers approved the page with the old layout (what its
		// covers hide, where the signature goes): a new one goes back to
		// the drafter and through review again.
		if c.doc.State == document.StateInReview {
			steps, i, err := c.pendingStep()
			if err != nil {
				return err
			}
			if err := c.tx.DecideReview(c.ctx, c.doc.ID, steps[i].Round, steps[i].Seq, document.ReviewReturned, layoutChanged, c.now); err != nil {
				return err
			}
		}
		if err := c.move(document.ActionReturn); err != nil {
			return err
		}
		c.change["comment"] = layoutChanged
		return c.save("layout")
	})
	return err
}

// LayoutProposer finds, in an uploaded draft, where its number, date and
// signature block go (internal/placement through the signing session
// service, which owns the layout's meaning) and returns the layout JSON,
// "" when the draft shows none of them. It runs outside the transaction:
// it reads the PDF.
type LayoutProposer interface {
	ProposeLayout(ctx context.Context, userID string, f File) (string, error)
}

// proposeLayout asks the proposer, if any, for the draft's layout. A draft
// the proposer cannot read still uploads (its checks belong to the upload);
// it just gets no proposal.
func (s *Service[T]) proposeLayout(ctx context.Context, a Actor, f File) string {
	if s.Proposer == nil {
		return ""
	}
	js, err := s.Proposer.ProposeLayout(ctx, a.UserID, f)
	if err != nil {
		slog.Default().Warn("proposing the signing layout", "blob", f.BlobKey, "err", err)
		return ""
	}
	return js
}

// applyProposal stores a proposed layout unless a person has set one: a
// layout a drafter adjusted survives a revised upload.
func (c *call[T]) applyProposal(layoutJSON string) error {
	if layoutJSON == "" {
		return nil
	}
	old, err := c.tx.DocumentLayout(c.ctx, c.doc.ID)
	if err != nil {
		return err
	}
	if old != "" {
		var l struct {
			Proposed bool `json:"proposed"`
		}
		if json.Unmarshal([]byte(old), &l) != nil || !l.Proposed {
			return nil
		}
	}
	if err := c.tx.SetDocumentLayout(c.ctx, c.doc.ID, layoutJSON, c.user.ID); err != nil {
		return err
	}
	c.change["layout"] = "proposed"
	return nil
}

// layoutChanged is the comment of a document returned because its layout
// changed after it was submitted.
const layoutChanged = "Bố cục ký (vị trí số, ngày, chữ ký, dấu) đã thay đổi sau khi trình; văn bản cần duyệt lại. / The signing layout changed after submission; the document needs review again."

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
