package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"vanban/internal/audit"
	"vanban/internal/document"
)

// CreateDelegation records that PrincipalID lets DelegateID sign for them
// in a capacity (KT., TL., TUQ., Q.) for a period. The principal, holding
// the signer role in the organization, or an admin of the organization
// records it. Returns EINVALID, EFORBIDDEN.
func (s *Service[T]) CreateDelegation(ctx context.Context, a Actor, d document.Delegation) (*document.Delegation, error) {
	err := s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		root, err := tx.Unit(ctx, user.OrgID)
		if err != nil {
			return err
		}
		if user.ID != d.PrincipalID && !grants.Allows(document.RoleAdmin, *root) {
			return document.Errorf(document.EFORBIDDEN, "only the principal or an administrator of the organization records a delegation")
		}
		for _, id := range []string{d.PrincipalID, d.DelegateID} {
			u, err := tx.User(ctx, id)
			if document.ErrorCode(err) == document.ENOTFOUND || (err == nil && u.OrgID != user.OrgID) {
				return document.Errorf(document.EINVALID, "user %s is not in your organization", id)
			}
			if err != nil {
				return err
			}
		}
		pg, err := tx.Grants(ctx, d.PrincipalID)
		if err != nil {
			return err
		}
		if !hasRole(pg, document.RoleSigner) {
			return document.Errorf(document.EINVALID, "the principal holds no signer role to delegate")
		}
		d.OrgID, d.CreatedBy = user.OrgID, user.ID
		if err := tx.CreateDelegation(ctx, &d); err != nil {
			return err
		}
		return auditDelegation(ctx, tx, a, s.now(), "delegation.create", d.ID, map[string]any{
			"principal": d.PrincipalID, "delegate": d.DelegateID, "capacity": d.Capacity,
			"valid_from": d.ValidFrom, "valid_until": d.ValidUntil, "reference": d.Reference,
		})
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// RevokeDelegation ends a delegation now. The principal or an administrator
// does it. Returns ENOTFOUND, ECONFLICT when already revoked, EFORBIDDEN.
func (s *Service[T]) RevokeDelegation(ctx context.Context, a Actor, id string) error {
	return s.db.WithTx(ctx, func(tx T) error {
		user, grants, err := loadActor(ctx, tx, a)
		if err != nil {
			return err
		}
		d, err := tx.Delegation(ctx, id)
		if err != nil {
			return err
		}
		if d.OrgID != user.OrgID {
			return document.Errorf(document.ENOTFOUND, "delegation %s not found", id)
		}
		root, err := tx.Unit(ctx, user.OrgID)
		if err != nil {
			return err
		}
		if user.ID != d.PrincipalID && !grants.Allows(document.RoleAdmin, *root) {
			return document.Errorf(document.EFORBIDDEN, "only the principal or an administrator may revoke a delegation")
		}
		now := s.now()
		if err := tx.RevokeDelegation(ctx, id, now); err != nil {
			return err
		}
		return auditDelegation(ctx, tx, a, now, "delegation.revoke", id, map[string]any{"principal": d.PrincipalID, "delegate": d.DelegateID})
	})
}

func hasRole(gs document.Grants, role document.Role) bool {
	for _, g := range gs {
		if g.Role == role {
			return true
		}
	}
	return false
}

// auditDelegation records an action on a delegation (documents go through
// call.audit).
func auditDelegation[T Tx](ctx context.Context, tx T, a Actor, now time.Time, action, objectID string, change map[string]any) error {
	body, err := json.Marshal(change)
	if err != nil {
		return fmt.Errorf("workflow: encode audit change: %w", err)
	}
	_, err = tx.AppendAudit(ctx, audit.Entry{Time: now, Actor: a.UserID, ClientAddr: a.ClientAddr, Action: action,
		ObjectType: "delegation", ObjectID: objectID, Change: body})
	return err
}

// SignatureBlock returns the text of the signer's block for the PDF: the
// capacity line, the title line and the name (Appendix I).
func (s *Service[T]) SignatureBlock(ctx context.Context, a Actor, docID string) (document.SignatureBlock, error) {
	var b document.SignatureBlock
	err := s.db.WithTx(ctx, func(tx T) error {
		c, err := s.begin(ctx, tx, a, docID)
		if err != nil {
			return err
		}
		if c.doc.SignerID == "" {
			return document.Errorf(document.ECONFLICT, "no signer is assigned to document %s", docID)
		}
		signer, err := tx.User(ctx, c.doc.SignerID)
		if err != nil {
			return err
		}
		var collective, principalTitle string
		switch {
		case c.doc.SignCapacity == document.CapacityTM:
			org, err := tx.Organization(ctx, c.doc.OrgID)
			if err != nil {
				return err
			}
			collective = org.Name
		case c.doc.SignCapacity.OnBehalfOfPerson():
			p, err := tx.User(ctx, c.doc.PrincipalID)
			if err != nil {
				return err
			}
			principalTitle = p.Title
		}
		b, err = document.NewSignatureBlock(c.doc.SignCapacity, collective, principalTitle, signer.Title, signer.FullName)
		return err
	})
	return b, err
}
