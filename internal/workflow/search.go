package workflow

import (
	"context"

	"vanban/internal/document"
)

// Search lists the documents of the actor's organization matching q that the
// actor may see, one page at a time. The organization and the viewer are
// always the actor's: a caller cannot widen them.
func (s *Service[T]) Search(ctx context.Context, a Actor, q document.Query) ([]*document.Document, error) {
	var out []*document.Document
	err := s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		q.OrgID, q.Viewer = user.OrgID, document.ViewerOf(user.ID, grants)
		out, err = tx.SearchDocuments(ctx, q)
		return err
	})
	return out, err
}

// Inbox is the work waiting for one user, queue by queue. A queue is empty
// when the user holds no role that fills it.
type Inbox struct {
	Drafts  []*document.Document `json:"drafts"`  // my drafts, including returned ones
	Review  []*document.Document `json:"review"`  // waiting for my review step
	Sign    []*document.Document `json:"sign"`    // assigned to me for signature
	Number  []*document.Document `json:"number"`  // signed, to number and date (clerk)
	Seal    []*document.Document `json:"seal"`    // numbered, to seal (clerk)
	Issue   []*document.Document `json:"issue"`   // sealed, to issue (clerk)
	Route   []*document.Document `json:"route"`   // received, to present to a leader (clerk)
	Assign  []*document.Document `json:"assign"`  // routed to me, to assign (leader)
	Handle  []*document.Document `json:"handle"`  // assigned to me, to handle
	Overdue []*document.Document `json:"overdue"` // open incoming documents past their deadline, that I may see
}

// inboxLimit bounds each queue; a longer queue is worked through Search.
const inboxLimit = 100

// Inbox returns the actor's queues.
func (s *Service[T]) Inbox(ctx context.Context, a Actor) (*Inbox, error) {
	in := &Inbox{}
	err := s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		base := document.Query{OrgID: user.OrgID, Viewer: document.ViewerOf(user.ID, grants), Limit: inboxLimit}
		hasRole := func(r document.Role) bool { return hasRole(grants, r) }
		clerkUnits := func(states ...document.State) ([]*document.Document, error) {
			// Clerks work the documents of the units they keep; a clerk
			// grant at the root covers the whole organization.
			var out []*document.Document
			for _, g := range grants {
				if g.Role != document.RoleClerk {
					continue
				}
				q := base
				q.UnitID, q.States = g.UnitID, states
				docs, err := tx.SearchDocuments(ctx, q)
				if err != nil {
					return nil, err
				}
				out = appendNew(out, docs)
			}
			return out, nil
		}
		queues := []struct {
			dst  *[]*document.Document
			when bool
			run  func() ([]*document.Document, error)
		}{
			{&in.Drafts, hasRole(document.RoleDrafter), func() ([]*document.Document, error) {
				q := base
				q.Direction, q.States, q.CreatedBy = document.Outgoing, []document.State{document.StateDraft}, user.ID
				return tx.SearchDocuments(ctx, q)
			}},
			{&in.Review, hasRole(document.RoleReviewer), func() ([]*document.Document, error) {
				q := base
				q.States, q.ReviewerID = []document.State{document.StateInReview}, user.ID
				return tx.SearchDocuments(ctx, q)
			}},
			{&in.Sign, true, func() ([]*document.Document, error) {
				// Not gated on the signer role: a deputy signing under a
				// delegation (KT., TUQ.) may hold none.
				q := base
				q.States, q.SignerID = []document.State{document.StateAwaitingSignature, document.StateSigning}, user.ID
				return tx.SearchDocuments(ctx, q)
			}},
			{&in.Number, true, func() ([]*document.Document, error) { return clerkUnits(document.StateSigned) }},
			{&in.Seal, true, func() ([]*document.Document, error) { return clerkUnits(document.StateNumbered) }},
			{&in.Issue, true, func() ([]*document.Document, error) { return clerkUnits(document.StateSealed) }},
			{&in.Route, true, func() ([]*document.Document, error) { return clerkUnits(document.StateRegistered) }},
			{&in.Assign, hasRole(document.RoleSigner), func() ([]*document.Document, error) {
				q := base
				q.States, q.LeaderID = []document.State{document.StateRouted}, user.ID
				return tx.SearchDocuments(ctx, q)
			}},
			{&in.Handle, true, func() ([]*document.Document, error) {
				q := base
				q.States, q.HandlerID = []document.State{document.StateAssigned, document.StateInProgress}, user.ID
				return tx.SearchDocuments(ctx, q)
			}},
			{&in.Overdue, true, func() ([]*document.Document, error) {
				q := base
				q.OverdueAt = s.now()
				return tx.SearchDocuments(ctx, q)
			}},
		}
		for _, qu := range queues {
			*qu.dst = []*document.Document{}
			if !qu.when {
				continue
			}
			docs, err := qu.run()
			if err != nil {
				return err
			}
			*qu.dst = docs
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// appendNew appends the documents of more not already in out (clerk grants
// on nested units overlap).
func appendNew(out, more []*document.Document) []*document.Document {
	seen := make(map[string]bool, len(out))
	for _, d := range out {
		seen[d.ID] = true
	}
	for _, d := range more {
		if !seen[d.ID] {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	return out
}
