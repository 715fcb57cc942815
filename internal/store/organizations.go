package store

import (
	"context"
	"database/sql"
	"strings"

	"vanban/internal/document"
)

type orgRow struct {
	ID        string `db:"id"`
	Abbrev    string `db:"abbrev"`
	Name      string `db:"name"`
	Place     string `db:"place"`
	Numbering string `db:"numbering"`
	CreatedAt int64  `db:"created_at"`
}

func (r orgRow) domain() *document.Organization {
	return &document.Organization{ID: r.ID, Abbrev: r.Abbrev, Name: r.Name, Place: r.Place,
		Numbering: document.NumberingScheme(r.Numbering), CreatedAt: fromMicros(r.CreatedAt)}
}

type unitRow struct {
	ID        string         `db:"id"`
	OrgID     string         `db:"org_id"`
	ParentID  sql.NullString `db:"parent_id"`
	Path      string         `db:"path"`
	Abbrev    string         `db:"abbrev"`
	Name      string         `db:"name"`
	CreatedAt int64          `db:"created_at"`
}

func (r unitRow) domain() *document.Unit {
	return &document.Unit{ID: r.ID, OrgID: r.OrgID, ParentID: r.ParentID.String, Path: r.Path,
		Abbrev: r.Abbrev, Name: r.Name, CreatedAt: fromMicros(r.CreatedAt)}
}

type userRow struct {
	ID        string `db:"id"`
	OrgID     string `db:"org_id"`
	Username  string `db:"username"`
	FullName  string `db:"full_name"`
	Title     string `db:"title"`
	Disabled  int    `db:"disabled"`
	CreatedAt int64  `db:"created_at"`
}

func (r userRow) domain() *document.User {
	return &document.User{ID: r.ID, OrgID: r.OrgID, Username: r.Username, FullName: r.FullName,
		Title: r.Title, Disabled: r.Disabled != 0, CreatedAt: fromMicros(r.CreatedAt)}
}

// CreateOrganization stores o with a new ID and creates its root unit. The
// root unit has the organization's ID, so a role granted on unit o.ID covers
// the whole organization. Returns EINVALID.
func (db *DB) CreateOrganization(ctx context.Context, o *document.Organization) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.CreateOrganization(ctx, o) })
}

// CreateOrganization is the transactional form of DB.CreateOrganization.
func (tx *Tx) CreateOrganization(ctx context.Context, o *document.Organization) error {
	if o.Numbering == "" {
		o.Numbering = document.NumberingShared
	}
	if err := o.Validate(); err != nil {
		return err
	}
	o.ID, o.CreatedAt = newID(), now()
	if _, err := tx.exec(ctx, `INSERT INTO organizations (id, abbrev, name, place, numbering, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, o.ID, o.Abbrev, o.Name, o.Place, string(o.Numbering), micros(o.CreatedAt)); err != nil {
		return dbError("create organization", err, "organization")
	}
	if _, err := tx.exec(ctx, `INSERT INTO units (id, org_id, parent_id, path, abbrev, name, created_at)
		VALUES (?, ?, NULL, ?, ?, ?, ?)`, o.ID, o.ID, "/"+o.ID+"/", o.Abbrev, o.Name, micros(o.CreatedAt)); err != nil {
		return dbError("create root unit", err, "unit")
	}
	return nil
}

// Organization returns the organization with id. Returns ENOTFOUND.
func (db *DB) Organization(ctx context.Context, id string) (*document.Organization, error) {
	return single(db, ctx, func(tx *Tx) (*document.Organization, error) { return tx.Organization(ctx, id) })
}

// Organization is the transactional form of DB.Organization.
func (tx *Tx) Organization(ctx context.Context, id string) (*document.Organization, error) {
	var r orgRow
	if err := tx.get(ctx, &r, `SELECT id, abbrev, name, place, numbering, created_at FROM organizations WHERE id = ?`, id); err != nil {
		return nil, dbError("get organization", err, "organization "+id)
	}
	return r.domain(), nil
}

// CreateUnit stores u under u.ParentID (required: the root unit is made by
// CreateOrganization) in the parent's organization. Returns EINVALID,
// ENOTFOUND for a missing parent.
func (db *DB) CreateUnit(ctx context.Context, u *document.Unit) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.CreateUnit(ctx, u) })
}

// CreateUnit is the transactional form of DB.CreateUnit.
func (tx *Tx) CreateUnit(ctx context.Context, u *document.Unit) error {
	if u.ParentID == "" {
		return document.Errorf(document.EINVALID, "a unit needs a parent unit")
	}
	parent, err := tx.Unit(ctx, u.ParentID)
	if err != nil {
		return err
	}
	u.OrgID = parent.OrgID
	if err := u.Validate(); err != nil {
		return err
	}
	u.ID, u.CreatedAt = newID(), now()
	u.Path = parent.Path + u.ID + "/"
	if _, err := tx.exec(ctx, `INSERT INTO units (id, org_id, parent_id, path, abbrev, name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, u.ID, u.OrgID, u.ParentID, u.Path, u.Abbrev, u.Name, micros(u.CreatedAt)); err != nil {
		return dbError("create unit", err, "unit")
	}
	return nil
}

const unitColumns = `id, org_id, parent_id, path, abbrev, name, created_at`

// Unit returns the unit with id. Returns ENOTFOUND.
func (db *DB) Unit(ctx context.Context, id string) (*document.Unit, error) {
	return read(db, ctx, func(tx *Tx) (*document.Unit, error) { return tx.Unit(ctx, id) })
}

// Unit is the transactional form of DB.Unit.
func (tx *Tx) Unit(ctx context.Context, id string) (*document.Unit, error) {
	var r unitRow
	if err := tx.get(ctx, &r, `SELECT `+unitColumns+` FROM units WHERE id = ?`, id); err != nil {
		return nil, dbError("get unit", err, "unit "+id)
	}
	return r.domain(), nil
}

// Units lists the units of an organization, parents before children.
func (db *DB) Units(ctx context.Context, orgID string) ([]*document.Unit, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Unit, error) { return tx.Units(ctx, orgID) })
}

// Units is the transactional form of DB.Units.
func (tx *Tx) Units(ctx context.Context, orgID string) ([]*document.Unit, error) {
	var rows []unitRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+unitColumns+` FROM units WHERE org_id = ? ORDER BY path`, orgID); err != nil {
		return nil, dbError("list units", err, "units")
	}
	out := make([]*document.Unit, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// CreateUser stores u with a new ID. Returns EINVALID, ECONFLICT when the
// username is taken.
func (db *DB) CreateUser(ctx context.Context, u *document.User) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.CreateUser(ctx, u) })
}

// CreateUser is the transactional form of DB.CreateUser.
func (tx *Tx) CreateUser(ctx context.Context, u *document.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	u.ID, u.CreatedAt = newID(), now()
	disabled := 0
	if u.Disabled {
		disabled = 1
	}
	if _, err := tx.exec(ctx, `INSERT INTO users (id, org_id, username, full_name, title, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, u.ID, u.OrgID, u.Username, u.FullName, u.Title, disabled, micros(u.CreatedAt)); err != nil {
		return dbError("create user", err, "user "+u.Username)
	}
	return nil
}

const userColumns = `id, org_id, username, full_name, title, disabled, created_at`

// User returns the user with id. Returns ENOTFOUND.
func (db *DB) User(ctx context.Context, id string) (*document.User, error) {
	return single(db, ctx, func(tx *Tx) (*document.User, error) { return tx.User(ctx, id) })
}

// User is the transactional form of DB.User.
func (tx *Tx) User(ctx context.Context, id string) (*document.User, error) {
	var r userRow
	if err := tx.get(ctx, &r, `SELECT `+userColumns+` FROM users WHERE id = ?`, id); err != nil {
		return nil, dbError("get user", err, "user "+id)
	}
	return r.domain(), nil
}

// Users lists the people of an organization, by full name.
func (db *DB) Users(ctx context.Context, orgID string) ([]*document.User, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.User, error) { return tx.Users(ctx, orgID) })
}

// Users is the transactional form of DB.Users.
func (tx *Tx) Users(ctx context.Context, orgID string) ([]*document.User, error) {
	var rows []userRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+userColumns+` FROM users WHERE org_id = ? ORDER BY full_name, id`, orgID); err != nil {
		return nil, dbError("list users", err, "users")
	}
	out := make([]*document.User, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// UserByUsername returns the user with the given login name. Returns ENOTFOUND.
func (db *DB) UserByUsername(ctx context.Context, username string) (*document.User, error) {
	return read(db, ctx, func(tx *Tx) (*document.User, error) {
		var r userRow
		if err := tx.get(ctx, &r, `SELECT `+userColumns+` FROM users WHERE username = ?`, username); err != nil {
			return nil, dbError("get user", err, "user "+username)
		}
		return r.domain(), nil
	})
}

// SetUserDisabled turns a user's access off or back on. Returns ENOTFOUND.
func (db *DB) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.SetUserDisabled(ctx, id, disabled) })
}

// SetUserDisabled is the transactional form of DB.SetUserDisabled.
func (tx *Tx) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	v := 0
	if disabled {
		v = 1
	}
	res, err := tx.exec(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, v, id)
	if err != nil {
		return dbError("disable user", err, "user")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return document.Errorf(document.ENOTFOUND, "user %s not found", id)
	}
	return nil
}

// GrantRole gives user the role in unit (and every unit below it). Granting
// a role the user already holds is not an error. Returns EINVALID, ENOTFOUND.
func (db *DB) GrantRole(ctx context.Context, userID, unitID string, role document.Role) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.GrantRole(ctx, userID, unitID, role) })
}

// GrantRole is the transactional form of DB.GrantRole.
func (tx *Tx) GrantRole(ctx context.Context, userID, unitID string, role document.Role) error {
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
	if _, err := tx.exec(ctx, `INSERT INTO role_grants (user_id, unit_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, unit_id, role) DO NOTHING`, userID, unitID, string(role), micros(now())); err != nil {
		return dbError("grant role", err, "role grant")
	}
	return nil
}

// RevokeRole removes a grant. Returns ENOTFOUND when there was none.
func (db *DB) RevokeRole(ctx context.Context, userID, unitID string, role document.Role) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.RevokeRole(ctx, userID, unitID, role) })
}

// RevokeRole is the transactional form of DB.RevokeRole.
func (tx *Tx) RevokeRole(ctx context.Context, userID, unitID string, role document.Role) error {
	res, err := tx.exec(ctx, `DELETE FROM role_grants WHERE user_id = ? AND unit_id = ? AND role = ?`, userID, unitID, string(role))
	if err != nil {
		return dbError("revoke role", err, "role grant")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return document.Errorf(document.ENOTFOUND, "user %s has no %s role in unit %s", userID, role, unitID)
	}
	return nil
}

// Grants returns every role the user holds, with unit paths for coverage
// checks. A disabled user holds nothing.
func (db *DB) Grants(ctx context.Context, userID string) (document.Grants, error) {
	return single(db, ctx, func(tx *Tx) (document.Grants, error) { return tx.Grants(ctx, userID) })
}

// Grants is the transactional form of DB.Grants.
func (tx *Tx) Grants(ctx context.Context, userID string) (document.Grants, error) {
	var rows []struct {
		UserID string `db:"user_id"`
		UnitID string `db:"unit_id"`
		Path   string `db:"path"`
		Role   string `db:"role"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT g.user_id, g.unit_id, u.path, g.role
		FROM role_grants g
		JOIN units u ON u.id = g.unit_id
		JOIN users us ON us.id = g.user_id
		WHERE g.user_id = ? AND us.disabled = 0
		ORDER BY u.path, g.role`, userID); err != nil {
		return nil, dbError("list grants", err, "grants")
	}
	out := make(document.Grants, len(rows))
	for i, r := range rows {
		out[i] = document.Grant{UserID: r.UserID, UnitID: r.UnitID, UnitPath: r.Path, Role: document.Role(r.Role)}
	}
	return out, nil
}

// UsersWithRole lists enabled users whose grants give role in unit (granted
// on the unit or any unit above it), e.g. the clerks who receive a document.
func (db *DB) UsersWithRole(ctx context.Context, unitID string, role document.Role) ([]*document.User, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.User, error) { return tx.UsersWithRole(ctx, unitID, role) })
}

// UsersWithRole is the transactional form of DB.UsersWithRole.
func (tx *Tx) UsersWithRole(ctx context.Context, unitID string, role document.Role) ([]*document.User, error) {
	unit, err := tx.Unit(ctx, unitID)
	if err != nil {
		return nil, err
	}
	// The ancestors of a unit are the prefixes of its path; list them
	// rather than use a dialect-specific string function in SQL.
	var ancestors []any
	parts := strings.Split(strings.Trim(unit.Path, "/"), "/")
	for i := range parts {
		ancestors = append(ancestors, "/"+strings.Join(parts[:i+1], "/")+"/")
	}
	var rows []userRow
	q := `SELECT DISTINCT us.id, us.org_id, us.username, us.full_name, us.title, us.disabled, us.created_at
		FROM users us
		JOIN role_grants g ON g.user_id = us.id
		JOIN units u ON u.id = g.unit_id
		WHERE us.disabled = 0 AND g.role = ? AND u.path IN (?` + strings.Repeat(", ?", len(ancestors)-1) + `)
		ORDER BY us.username`
	if err := tx.selectRows(ctx, &rows, q, append([]any{string(role)}, ancestors...)...); err != nil {
		return nil, dbError("users with role", err, "users")
	}
	out := make([]*document.User, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// UpdateUser changes a user's full name and title (chức vụ), e.g. after a
// promotion; the title appears in signature blocks. Returns EINVALID,
// ENOTFOUND.
func (db *DB) UpdateUser(ctx context.Context, u *document.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE users SET full_name = ?, title = ? WHERE id = ?`, u.FullName, u.Title, u.ID)
		if err != nil {
			return dbError("update user", err, "user")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return document.Errorf(document.ENOTFOUND, "user %s not found", u.ID)
		}
		return nil
	})
}
