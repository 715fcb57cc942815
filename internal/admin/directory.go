package admin

import (
	"context"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
)

// Directory is what anyone of an organization knows of it: its people
// (with their roles, for choosing reviewers, signers and handlers), units
// and the document types.
type Directory struct {
	Users []*document.User
	Units []*document.Unit
	Types []*document.DocumentType
	// Grants are each person's roles, by user id.
	Grants map[string]document.Grants
}

// UsersWithRole lists the enabled people holding role somewhere, in
// directory order.
func (d *Directory) UsersWithRole(role document.Role) []*document.User {
	var out []*document.User
	for _, u := range d.Users {
		if u.Disabled {
			continue
		}
		for _, g := range d.Grants[u.ID] {
			if g.Role == role {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

// Directory returns the actor's organization's directory.
func (s *Service) Directory(ctx context.Context, a workflow.Actor) (*Directory, error) {
	d := &Directory{Grants: map[string]document.Grants{}}
	err := s.read(ctx, a, func(c *call) error {
		var err error
		if d.Users, err = c.tx.Users(ctx, c.user.OrgID); err != nil {
			return err
		}
		if d.Units, err = c.tx.Units(ctx, c.user.OrgID); err != nil {
			return err
		}
		for _, u := range d.Users {
			if d.Grants[u.ID], err = c.tx.Grants(ctx, u.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d.Types, err = s.DB.DocumentTypes(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// SetUserImage records a leader's handwritten signature image (already
// stored and checked as a PNG), by the leader or an administrator.
func (s *Service) SetUserImage(ctx context.Context, a workflow.Actor, userID string, f workflow.File) error {
	if err := s.CheckUserImage(ctx, a, userID); err != nil {
		return err
	}
	return s.DB.SetSignatureImage(ctx, store.ImageOfUser, userID, f.BlobKey, f.SHA256, a.UserID)
}

// CheckUserImage answers, before the image is stored, whether the actor may
// set userID's signature image (the leader or an administrator).
// Returns EFORBIDDEN, ENOTFOUND.
func (s *Service) CheckUserImage(ctx context.Context, a workflow.Actor, userID string) error {
	return s.read(ctx, a, func(c *call) error {
		u, err := c.target(userID)
		if err != nil {
			return err
		}
		if u.ID != c.user.ID {
			return c.requireOrgAdmin()
		}
		return nil
	})
}

// CheckSealImage answers, before the image is stored, whether the actor
// may set the organization's seal image (an administrator). Returns
// EFORBIDDEN.
func (s *Service) CheckSealImage(ctx context.Context, a workflow.Actor) error {
	return s.read(ctx, a, func(c *call) error { return c.requireOrgAdmin() })
}

// SetSealImage records the organization's seal image, by an administrator.
func (s *Service) SetSealImage(ctx context.Context, a workflow.Actor, f workflow.File) error {
	var org string
	err := s.read(ctx, a, func(c *call) error {
		org = c.user.OrgID
		return c.requireOrgAdmin()
	})
	if err != nil {
		return err
	}
	return s.DB.SetSignatureImage(ctx, store.ImageOfOrg, org, f.BlobKey, f.SHA256, a.UserID)
}

// UserImage returns the blob key of a leader's signature image, for the
// leader or an administrator. Returns ENOTFOUND when none is on file.
func (s *Service) UserImage(ctx context.Context, a workflow.Actor, userID string) (string, error) {
	err := s.read(ctx, a, func(c *call) error {
		u, err := c.target(userID)
		if err != nil {
			return err
		}
		if u.ID != c.user.ID {
			return c.requireOrgAdmin()
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return s.DB.SignatureImage(ctx, store.ImageOfUser, userID)
}

// SealImage returns the blob key of the actor's organization's seal image.
// Returns ENOTFOUND when none is on file.
func (s *Service) SealImage(ctx context.Context, a workflow.Actor) (string, error) {
	var org string
	if err := s.read(ctx, a, func(c *call) error { org = c.user.OrgID; return nil }); err != nil {
		return "", err
	}
	return s.DB.SignatureImage(ctx, store.ImageOfOrg, org)
}
