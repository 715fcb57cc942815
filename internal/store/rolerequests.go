package store

import (
	"context"
	"database/sql"
	"time"

	"vanban/internal/document"
)

// NeedsSecondAdmin tells whether granting role needs a second
// administrator's approval: the clerk role opens the secret documents of
// its unit, and the admin role grants roles.
func NeedsSecondAdmin(role document.Role) bool {
	return role == document.RoleClerk || role == document.RoleAdmin
}

// RoleRequest is a grant waiting for (or given by) a second administrator.
type RoleRequest struct {
	ID          string
	UserID      string
	UnitID      string
	Role        document.Role
	RequestedBy string
	RequestedAt time.Time
	ApprovedBy  string    // "" while pending
	ApprovedAt  time.Time // zero while pending
}

type roleRequestRow struct {
	ID          string         `db:"id"`
	UserID      string         `db:"user_id"`
	UnitID      string         `db:"unit_id"`
	Role        string         `db:"role"`
	RequestedBy string         `db:"requested_by"`
	RequestedAt int64          `db:"requested_at"`
	ApprovedBy  sql.NullString `db:"approved_by"`
	ApprovedAt  sql.NullInt64  `db:"approved_at"`
}

func (r roleRequestRow) domain() *RoleRequest {
	return &RoleRequest{ID: r.ID, UserID: r.UserID, UnitID: r.UnitID, Role: document.Role(r.Role), RequestedBy: r.RequestedBy,
		RequestedAt: fromMicros(r.RequestedAt), ApprovedBy: r.ApprovedBy.String, ApprovedAt: fromNullMicros(r.ApprovedAt)}
}

const roleRequestColumns = `id, user_id, unit_id, role, requested_by, requested_at, approved_by, approved_at`

// GrantRoleBy is an administrator's grant of role in unit to userID. Nobody
// grants a role to themselves (EFORBIDDEN): an administrator who could
// would make themselves clerk and read every secret draft. A role that
// NeedsSecondAdmin is not granted at once: the request is returned,
// pending, for another administrator to ApproveRoleRequest; other roles
// are granted and nil is returned. Authorization of actorID over the unit
// is the caller's. Returns EFORBIDDEN, EINVALID, ENOTFOUND.
func (db *DB) GrantRoleBy(ctx context.Context, actorID, userID, unitID string, role document.Role) (*RoleRequest, error) {
	return write(db, ctx, func(tx *Tx) (*RoleRequest, error) { return tx.GrantRoleBy(ctx, actorID, userID, unitID, role) })
}

// GrantRoleBy is the transactional form of DB.GrantRoleBy.
func (tx *Tx) GrantRoleBy(ctx context.Context, actorID, userID, unitID string, role document.Role) (*RoleRequest, error) {
	if actorID == userID {
		return nil, document.Errorf(document.EFORBIDDEN, "you cannot grant yourself a role; another administrator must")
	}
	if !NeedsSecondAdmin(role) {
		return nil, tx.GrantRole(ctx, userID, unitID, role)
	}
	if err := tx.checkGrant(ctx, userID, unitID, role); err != nil {
		return nil, err
	}
	var pending []roleRequestRow
	if err := tx.selectRows(ctx, &pending, `SELECT `+roleRequestColumns+` FROM role_requests
		WHERE user_id = ? AND unit_id = ? AND role = ? AND approved_at IS NULL`, userID, unitID, string(role)); err != nil {
		return nil, dbError("role requests", err, "role request")
	}
	if len(pending) > 0 {
		return pending[0].domain(), nil
	}
	r := &RoleRequest{ID: newID(), UserID: userID, UnitID: unitID, Role: role, RequestedBy: actorID, RequestedAt: now()}
	_, err := tx.exec(ctx, `INSERT INTO role_requests (`+roleRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)`,
		r.ID, r.UserID, r.UnitID, string(r.Role), r.RequestedBy, micros(r.RequestedAt))
	return r, dbError("request role", err, "role request")
}

// checkGrant validates a grant as GrantRole does, without making it.
func (tx *Tx) checkGrant(ctx context.Context, userID, unitID string, role document.Role) error {
	if !role.Valid() {
		return document.Errorf(document.EINVALID, "role %q is unknown", role)
	}
	user, err := tx.User(ctx, userID)
	if err != nil {
		return err
	}
	unit, err := tx.Unit(ctx, unitID)
	if err != nil {
		return err
	}
	if user.OrgID != unit.OrgID {
		return document.Errorf(document.EINVALID, "user %s belongs to another organization than unit %s", userID, unitID)
	}
	return nil
}

// RoleRequestByID returns a role request. Returns ENOTFOUND.
func (db *DB) RoleRequestByID(ctx context.Context, id string) (*RoleRequest, error) {
	return read(db, ctx, func(tx *Tx) (*RoleRequest, error) { return tx.RoleRequestByID(ctx, id) })
}

// RoleRequestByID is the transactional form of DB.RoleRequestByID.
func (tx *Tx) RoleRequestByID(ctx context.Context, id string) (*RoleRequest, error) {
	var r roleRequestRow
	if err := tx.get(ctx, &r, `SELECT `+roleRequestColumns+` FROM role_requests WHERE id = ?`, id); err != nil {
		return nil, dbError("role request", err, "role request "+id)
	}
	return r.domain(), nil
}

// PendingRoleRequests lists the requests of an organization waiting for a
// second administrator, oldest first.
func (db *DB) PendingRoleRequests(ctx context.Context, orgID string) ([]*RoleRequest, error) {
	return read(db, ctx, func(tx *Tx) ([]*RoleRequest, error) { return tx.PendingRoleRequests(ctx, orgID) })
}

// PendingRoleRequests is the transactional form of DB.PendingRoleRequests.
func (tx *Tx) PendingRoleRequests(ctx context.Context, orgID string) ([]*RoleRequest, error) {
	var rows []roleRequestRow
	if err := tx.selectRows(ctx, &rows, `SELECT r.id, r.user_id, r.unit_id, r.role, r.requested_by, r.requested_at, r.approved_by, r.approved_at
		FROM role_requests r JOIN units u ON u.id = r.unit_id
		WHERE u.org_id = ? AND r.approved_at IS NULL ORDER BY r.requested_at, r.id`, orgID); err != nil {
		return nil, dbError("role requests", err, "role requests")
	}
	out := make([]*RoleRequest, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// ApproveRoleRequest grants a pending request as the second administrator
// approverID: neither the one who asked nor the one who gets the role
// (EFORBIDDEN). Authorization of approverID over the unit is the caller's.
// Returns ENOTFOUND, ECONFLICT when already approved.
func (db *DB) ApproveRoleRequest(ctx context.Context, approverID, id string) (*RoleRequest, error) {
	return write(db, ctx, func(tx *Tx) (*RoleRequest, error) { return tx.ApproveRoleRequest(ctx, approverID, id) })
}

// ApproveRoleRequest is the transactional form of DB.ApproveRoleRequest.
func (tx *Tx) ApproveRoleRequest(ctx context.Context, approverID, id string) (*RoleRequest, error) {
	r, err := tx.RoleRequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case r.ApprovedBy != "":
		return nil, document.Errorf(document.ECONFLICT, "role request %s was already approved", id)
	case approverID == r.RequestedBy:
		return nil, document.Errorf(document.EFORBIDDEN, "the administrator who asked for a grant cannot approve it; a second administrator must")
	case approverID == r.UserID:
		return nil, document.Errorf(document.EFORBIDDEN, "you cannot approve a role for yourself")
	}
	if err := tx.GrantRole(ctx, r.UserID, r.UnitID, r.Role); err != nil {
		return nil, err
	}
	r.ApprovedBy, r.ApprovedAt = approverID, now()
	res, err := tx.exec(ctx, `UPDATE role_requests SET approved_by = ?, approved_at = ? WHERE id = ? AND approved_at IS NULL`,
		approverID, micros(r.ApprovedAt), id)
	if err != nil {
		return nil, dbError("approve role request", err, "role request")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, document.Errorf(document.ECONFLICT, "role request %s was already approved", id)
	}
	return r, nil
}
