package store

import (
	"context"
	"database/sql"
	"time"

	"vanban/internal/document"
)

type delegationRow struct {
	ID          string        `db:"id"`
	OrgID       string        `db:"org_id"`
	PrincipalID string        `db:"principal_id"`
	DelegateID  string        `db:"delegate_id"`
	Capacity    string        `db:"capacity"`
	ValidFrom   int64         `db:"valid_from"`
	ValidUntil  sql.NullInt64 `db:"valid_until"`
	Reference   string        `db:"reference"`
	CreatedBy   string        `db:"created_by"`
	CreatedAt   int64         `db:"created_at"`
	RevokedAt   sql.NullInt64 `db:"revoked_at"`
}

func (r delegationRow) domain() *document.Delegation {
	return &document.Delegation{ID: r.ID, OrgID: r.OrgID, PrincipalID: r.PrincipalID, DelegateID: r.DelegateID,
		Capacity: document.Capacity(r.Capacity), ValidFrom: fromMicros(r.ValidFrom), ValidUntil: fromNullMicros(r.ValidUntil),
		Reference: r.Reference, CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt), RevokedAt: fromNullMicros(r.RevokedAt)}
}

const delegationColumns = `id, org_id, principal_id, delegate_id, capacity, valid_from, valid_until, reference, created_by, created_at, revoked_at`

// CreateDelegation stores a delegation with a new ID. Returns EINVALID.
func (tx *Tx) CreateDelegation(ctx context.Context, d *document.Delegation) error {
	if err := d.Validate(); err != nil {
		return err
	}
	d.ID, d.CreatedAt = newID(), now()
	_, err := tx.exec(ctx, `INSERT INTO delegations (`+delegationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
		d.ID, d.OrgID, d.PrincipalID, d.DelegateID, string(d.Capacity), micros(d.ValidFrom), nullMicros(d.ValidUntil),
		d.Reference, d.CreatedBy, micros(d.CreatedAt))
	return dbError("create delegation", err, "delegation")
}

// Delegation returns the delegation with id. Returns ENOTFOUND.
func (tx *Tx) Delegation(ctx context.Context, id string) (*document.Delegation, error) {
	var r delegationRow
	if err := tx.get(ctx, &r, `SELECT `+delegationColumns+` FROM delegations WHERE id = ?`, id); err != nil {
		return nil, dbError("get delegation", err, "delegation "+id)
	}
	return r.domain(), nil
}

// ActiveDelegation returns a delegation from principal to delegate in
// capacity that is valid at t. Returns ENOTFOUND when there is none.
func (tx *Tx) ActiveDelegation(ctx context.Context, principalID, delegateID string, c document.Capacity, t time.Time) (*document.Delegation, error) {
	at := micros(t)
	var r delegationRow
	err := tx.get(ctx, &r, `SELECT `+delegationColumns+` FROM delegations
		WHERE principal_id = ? AND delegate_id = ? AND capacity = ? AND valid_from <= ?
		AND (valid_until IS NULL OR valid_until > ?) AND (revoked_at IS NULL OR revoked_at > ?)
		ORDER BY valid_from DESC, id LIMIT 1`, principalID, delegateID, string(c), at, at, at)
	if err != nil {
		return nil, dbError("active delegation", err, "a valid "+string(c)+". delegation")
	}
	return r.domain(), nil
}

// RevokeDelegation ends a delegation at t. Returns ENOTFOUND, ECONFLICT when
// already revoked.
func (tx *Tx) RevokeDelegation(ctx context.Context, id string, t time.Time) error {
	res, err := tx.exec(ctx, `UPDATE delegations SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(t), id)
	if err != nil {
		return dbError("revoke delegation", err, "delegation")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.Delegation(ctx, id); err != nil {
			return err
		}
		return document.Errorf(document.ECONFLICT, "delegation %s is already revoked", id)
	}
	return nil
}

// Delegations lists an organization's delegations, newest first.
func (db *DB) Delegations(ctx context.Context, orgID string) ([]*document.Delegation, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Delegation, error) {
		var rows []delegationRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+delegationColumns+` FROM delegations WHERE org_id = ?
			ORDER BY created_at DESC, id`, orgID); err != nil {
			return nil, dbError("list delegations", err, "delegations")
		}
		out := make([]*document.Delegation, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}
