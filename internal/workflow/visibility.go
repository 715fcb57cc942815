package workflow

import (
	"context"

	"vanban/internal/document"
)

// RedactedSubject replaces the subject of a secret document shown to
// someone who may not open it.
const RedactedSubject = "(văn bản mật / secret document)"

// CanView tells whether the actor may open the document: the rule every
// use case applies (see canView). A missing document is false, not an
// error.
func (s *Service[T]) CanView(ctx context.Context, a Actor, docID string) (bool, error) {
	ok := false
	err := s.db.WithTx(ctx, func(tx T) error {
		_, err := s.begin(ctx, tx, a, docID)
		if document.ErrorCode(err) == document.ENOTFOUND {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

// RedactEntries applies the visibility rule to the rows of a register: a
// secret document the actor may not open keeps its row, since the register
// must show that its number was taken (number, date, symbol,
// confidentiality, sender), but not its subject or instruction, which say
// what it is about. Ordinary documents are left as they are: the register's
// keepers see every ordinary row. The documents are copied, not changed.
func (s *Service[T]) RedactEntries(ctx context.Context, a Actor, docs []*document.Document) ([]*document.Document, error) {
	out := make([]*document.Document, len(docs))
	err := s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		units := map[string]*document.Unit{}
		for i, d := range docs {
			out[i] = d
			if !d.Confidentiality.Secret() {
				continue
			}
			unit, ok := units[d.UnitID]
			if !ok {
				if unit, err = tx.Unit(ctx, d.UnitID); err != nil {
					return err
				}
				units[d.UnitID] = unit
			}
			c := &call[T]{ctx: ctx, tx: tx, user: user, grants: grants, doc: d, unit: unit}
			if c.canView() {
				continue
			}
			cp := *d
			cp.Subject, cp.Instruction = RedactedSubject, ""
			out[i] = &cp
		}
		return nil
	})
	return out, err
}
