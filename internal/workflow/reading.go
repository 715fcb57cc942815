package workflow

import (
	"context"

	"vanban/internal/document"
)

// The read-only use cases the pages and the API share beyond a document's
// own view: the registers and a version's extracted text. Each checks the
// actor here, so neither layer holds the rule.

// KeepsRegisters returns nil when the actor may read the organization's
// registers: they list every document, secret ones included, so only the
// clerks, archivists and administrators of the whole organization read
// them. EFORBIDDEN otherwise.
func (s *Service[T]) KeepsRegisters(ctx context.Context, a Actor) error {
	return s.db.WithTx(ctx, func(tx T) error {
		_, err := keeper(ctx, tx, a)
		return err
	})
}

// Registers lists the actor's organization's registers for a year.
// EFORBIDDEN unless the actor keeps registers.
func (s *Service[T]) Registers(ctx context.Context, a Actor, year int) ([]*document.Register, error) {
	var out []*document.Register
	err := s.db.WithTx(ctx, func(tx T) error {
		user, err := keeper(ctx, tx, a)
		if err != nil {
			return err
		}
		out, err = tx.Registers(ctx, user.OrgID, year)
		return err
	})
	return out, err
}

func keeper[T Tx](ctx context.Context, tx T, a Actor) (*document.User, error) {
	user, grants, err := loadActor(ctx, tx, a)
	if err != nil {
		return nil, err
	}
	root, err := tx.Unit(ctx, user.OrgID)
	if err != nil {
		return nil, err
	}
	for _, r := range []document.Role{document.RoleClerk, document.RoleArchivist, document.RoleAdmin} {
		if grants.Allows(r, *root) {
			return user, nil
		}
	}
	return nil, document.Errorf(document.EFORBIDDEN, "registers are kept by the organization's clerks and archivists")
}

// LatestText returns the text extracted from the latest version of a
// document the actor may see; ok is false while it is not extracted yet.
func (s *Service[T]) LatestText(ctx context.Context, a Actor, docID string) (t document.VersionText, ok bool, err error) {
	if _, err := s.Get(ctx, a, docID); err != nil {
		return t, false, err
	}
	err = s.db.WithTx(ctx, func(tx T) error {
		t, ok, err = tx.LatestVersionText(ctx, docID)
		return err
	})
	return t, ok, err
}
