package workflow

import (
	"context"
	"strings"

	"vanban/internal/document"
)

// UploadKind is what an uploaded file is going to become.
type UploadKind int

const (
	// UploadDraft is the first version of a new outgoing document.
	UploadDraft UploadKind = iota + 1
	// UploadVersion is a revised draft of an existing document.
	UploadVersion
	// UploadAttachment is a file attached to a draft (phụ lục).
	UploadAttachment
	// UploadIncoming is a received document being registered.
	UploadIncoming
)

// UploadTarget names where an upload is going: a unit for a new draft or
// an incoming registration, a document for a version or an attachment.
type UploadTarget struct {
	Kind   UploadKind
	UnitID string
	DocID  string
}

// CheckUpload answers, before a single byte of the file is stored, whether
// the actor could complete the use case the upload is for: the same role,
// unit and state rules CreateDraft, UploadDraftVersion, AddAttachment and
// RegisterIncoming apply (the use case checks again in its own
// transaction, so nothing changes between the two). Without it anyone
// signed in could fill the blob store one refused upload at a time.
// Returns EINVALID (no unit chosen), EFORBIDDEN, ENOTFOUND, ECONFLICT.
func (s *Service[T]) CheckUpload(ctx context.Context, a Actor, t UploadTarget) error {
	return s.db.WithTx(ctx, func(tx T) error {
		switch t.Kind {
		case UploadDraft, UploadIncoming:
			user, grants, err := loadActor(ctx, tx, a)
			if err != nil {
				return err
			}
			if t.Kind == UploadDraft {
				_, err = drafterUnit(ctx, tx, user, grants, t.UnitID)
			} else {
				_, err = clerkUnit(ctx, tx, user, grants, t.UnitID)
			}
			return err
		case UploadVersion, UploadAttachment:
			c, err := s.begin(ctx, tx, a, t.DocID)
			if err != nil {
				return err
			}
			if t.Kind == UploadVersion {
				return c.requireDraftRevision()
			}
			return c.requireAttachable()
		}
		return document.Errorf(document.EINVALID, "unknown upload kind %d", t.Kind)
	})
}

// drafterUnit is the unit a new draft goes to, when the user may draft
// there.
func drafterUnit[T Tx](ctx context.Context, tx T, user *document.User, grants document.Grants, unitID string) (*document.Unit, error) {
	if strings.TrimSpace(unitID) == "" {
		return nil, document.FieldErrorf("unit", document.EINVALID, "choose the drafting unit")
	}
	unit, err := tx.Unit(ctx, unitID)
	if err != nil {
		return nil, err
	}
	if user.OrgID != unit.OrgID || !grants.Allows(document.RoleDrafter, *unit) {
		return nil, document.Errorf(document.EFORBIDDEN, "drafting in unit %s needs the drafter role there", unit.Abbrev)
	}
	return unit, nil
}

// clerkUnit is the unit an incoming document is registered in, when the
// user keeps its registers.
func clerkUnit[T Tx](ctx context.Context, tx T, user *document.User, grants document.Grants, unitID string) (*document.Unit, error) {
	if strings.TrimSpace(unitID) == "" {
		return nil, document.FieldErrorf("unit", document.EINVALID, "choose the receiving unit")
	}
	unit, err := tx.Unit(ctx, unitID)
	if err != nil {
		return nil, err
	}
	if user.OrgID != unit.OrgID || !grants.Allows(document.RoleClerk, *unit) {
		return nil, document.Errorf(document.EFORBIDDEN, "registering incoming documents in unit %s needs the clerk role", unit.Abbrev)
	}
	return unit, nil
}

// requireDraftRevision: a drafter of the unit revises a document in state
// draft (a returned one included).
func (c *call[T]) requireDraftRevision() error {
	if err := c.requireDrafter("revising a draft"); err != nil {
		return err
	}
	if c.doc.State != document.StateDraft {
		return document.Errorf(document.ECONFLICT, "only a draft can get a new draft version; the document is %s", c.doc.State)
	}
	return nil
}

// requireAttachable: a drafter of the unit attaches files to a draft.
func (c *call[T]) requireAttachable() error {
	if err := c.requireDrafter("attaching files"); err != nil {
		return err
	}
	if c.doc.State != document.StateDraft {
		return document.Errorf(document.ECONFLICT, "attachments can be added to a draft only; the document is %s", c.doc.State)
	}
	return nil
}
