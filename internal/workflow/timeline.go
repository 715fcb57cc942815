package workflow

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"
	"time"

	"vanban/internal/document"
)

// Step is one entry of a document's timeline.
type Step struct {
	Seq        int64 // audit sequence number
	At         time.Time
	ActorID    string
	ActorName  string
	ClientAddr string
	Action     string         // e.g. "submit", "approve", "number"
	From, To   document.State // empty when the step did not change the state
	Comment    string
	Change     json.RawMessage
	// Duration is how long the document stayed after this step: until the
	// next step, or until now for the last step of a document still moving.
	Duration time.Duration
}

// Timeline returns who did what and when on a document, read from the audit
// log, with the time spent after each step. Anyone who may see the document
// may see its timeline.
func (s *Service[T]) Timeline(ctx context.Context, a Actor, docID string) ([]Step, error) {
	var steps []Step
	err := s.db.WithTx(ctx, func(tx T) error {
		c, err := s.begin(ctx, tx, a, docID)
		if err != nil {
			return err
		}
		entries, err := tx.AuditEntriesFor(ctx, "document", docID)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, e := range entries {
			var ch struct {
				From, To                           document.State
				Comment, Reason, Note, Instruction string
			}
			_ = json.Unmarshal(e.Change, &ch) // entries we wrote; unknown shapes just lack these fields
			if _, ok := names[e.Actor]; !ok {
				if u, err := tx.User(ctx, e.Actor); err == nil {
					names[e.Actor] = u.FullName
				}
			}
			// Whatever free text the step carried, in this order.
			comment := cmp.Or(ch.Comment, ch.Reason, ch.Note, ch.Instruction)
			steps = append(steps, Step{
				Seq: e.Seq, At: e.Time, ActorID: e.Actor, ActorName: names[e.Actor], ClientAddr: e.ClientAddr,
				Action: strings.TrimPrefix(e.Action, "document."), From: ch.From, To: ch.To, Comment: comment, Change: e.Change,
			})
		}
		for i := range steps {
			switch {
			case i+1 < len(steps):
				steps[i].Duration = steps[i+1].At.Sub(steps[i].At)
			case !document.Terminal(c.doc.Direction, c.doc.State):
				steps[i].Duration = c.now.Sub(steps[i].At)
			}
		}
		return nil
	})
	return steps, err
}

// View is a document as its reader sees it.
type View struct {
	Document   *document.Document
	Versions   []*document.Version
	Recipients []document.Recipient
	// RecipientNames are the recipients outside the system, as text.
	RecipientNames []string
	Review         []document.ReviewStep
	// Attachments are the files that go with the document (phụ lục).
	Attachments []*document.Attachment
}

// Get returns a document with its versions, recipients and current review
// round. Returns ENOTFOUND also when the actor may not see it.
func (s *Service[T]) Get(ctx context.Context, a Actor, docID string) (*View, error) {
	var v *View
	err := s.db.WithTx(ctx, func(tx T) error {
		c, err := s.begin(ctx, tx, a, docID)
		if err != nil {
			return err
		}
		v = &View{Document: c.doc}
		if v.Versions, err = tx.Versions(ctx, docID); err != nil {
			return err
		}
		if v.Recipients, err = tx.Recipients(ctx, docID); err != nil {
			return err
		}
		if v.RecipientNames, err = tx.RecipientNames(ctx, docID); err != nil {
			return err
		}
		if v.Attachments, err = tx.Attachments(ctx, docID); err != nil {
			return err
		}
		v.Review, err = tx.ReviewRound(ctx, docID)
		return err
	})
	return v, err
}
