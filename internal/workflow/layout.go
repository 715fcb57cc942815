package workflow

import (
	"context"

	"vanban/internal/document"
)

// SetSigningLayout records where the signing steps place the leader's
// signature, the seal and the number and date fields on the document's PDF.
// layoutJSON is validated by the caller (the signing session service owns
// its meaning). A drafter or a clerk of the document's unit sets it, before
// the leader signs. Returns ECONFLICT after signing has started, EFORBIDDEN,
// ENOTFOUND.
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
		if err := c.tx.SetDocumentLayout(c.ctx, c.doc.ID, layoutJSON, c.user.ID); err != nil {
			return err
		}
		c.change["layout"] = layoutJSON
		return c.audit("layout", c.doc.ID)
	})
	return err
}
