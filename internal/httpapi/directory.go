package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/document"
	"vanban/internal/store"
)

func (api *API) listUnits(c *gin.Context) {
	us, err := api.Directory.Units(c.Request.Context(), current(c).user.OrgID)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]UnitJSON, len(us))
	for i, u := range us {
		out[i] = unitJSON(u)
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

// UnitCreate is the body of POST /units.
type UnitCreate struct {
	ParentID string `json:"parent_id"`
	Abbrev   string `json:"abbrev"`
	Name     string `json:"name"`
}

func (api *API) createUnit(c *gin.Context) {
	var req UnitCreate
	if !bindJSON(c, &req) {
		return
	}
	u, err := api.Admin.CreateUnit(c.Request.Context(), actor(c), admin.UnitInput{ParentID: req.ParentID, Abbrev: req.Abbrev, Name: req.Name})
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Set(AuditKeyObject, u.ID)
	c.JSON(http.StatusCreated, unitJSON(u))
}

func (api *API) listUsers(c *gin.Context) {
	ctx := c.Request.Context()
	p := current(c)
	role := document.Role(c.Query("role"))
	if role != "" && !role.Valid() {
		invalid(c, map[string]string{"role": "unknown role"})
		return
	}
	users, err := api.Directory.Users(ctx, p.user.OrgID)
	if err != nil {
		api.fail(c, err)
		return
	}
	var unit *document.Unit
	if id := c.Query("unit"); id != "" {
		if unit, err = api.Directory.Unit(ctx, id); err != nil || unit.OrgID != p.user.OrgID {
			api.fail(c, document.Errorf(document.ENOTFOUND, "unit %s not found", id))
			return
		}
	}
	type userWithRoles struct {
		UserJSON
		Roles []GrantJSON `json:"roles"`
	}
	out := []userWithRoles{}
	for _, u := range users {
		gs, err := api.Directory.Grants(ctx, u.ID)
		if err != nil {
			api.fail(c, err)
			return
		}
		if role != "" {
			// With a unit: people holding the role there (by a grant on
			// the unit or above). Without: anywhere.
			if unit != nil && !gs.Allows(role, *unit) {
				continue
			}
			if unit == nil && !hasRole(gs, role) {
				continue
			}
		}
		out = append(out, userWithRoles{UserJSON: userJSON(u), Roles: grantsJSON(gs)})
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func hasRole(gs document.Grants, r document.Role) bool {
	for _, g := range gs {
		if g.Role == r {
			return true
		}
	}
	return false
}

// UserCreate is the body of POST /users. The password is optional: without
// it the user cannot sign in until an administrator sets one.
type UserCreate struct {
	Username string      `json:"username"`
	FullName string      `json:"full_name"`
	Title    string      `json:"title"`
	Password string      `json:"password"`
	Roles    []GrantJSON `json:"roles"`
}

func (api *API) createUser(c *gin.Context) {
	var req UserCreate
	if !bindJSON(c, &req) {
		return
	}
	in := admin.PersonInput{Username: req.Username, FullName: req.FullName, Title: req.Title, Password: req.Password}
	for _, g := range req.Roles {
		in.Roles = append(in.Roles, admin.Grant{UnitID: g.UnitID, Role: g.Role})
	}
	u, err := api.Admin.CreatePerson(c.Request.Context(), actor(c), in)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Set(AuditKeyObject, u.ID)
	c.JSON(http.StatusCreated, userJSON(u))
}

// targetUser loads the user named in the path, answering 404 for users of
// other organizations.
func (api *API) targetUser(c *gin.Context) (*document.User, bool) {
	u, err := api.Directory.User(c.Request.Context(), c.Param("id"))
	if err == nil && u.OrgID != current(c).user.OrgID {
		err = document.Errorf(document.ENOTFOUND, "user %s not found", c.Param("id"))
	}
	if err != nil {
		api.fail(c, err)
		return nil, false
	}
	return u, true
}

// PasswordSet is the body of PUT /users/:id/password.
type PasswordSet struct {
	Password string `json:"password"`
}

func (api *API) setPassword(c *gin.Context) {
	var req PasswordSet
	if !bindJSON(c, &req) {
		return
	}
	if err := api.Admin.SetPassword(c.Request.Context(), actor(c), c.Param("id"), req.Password); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// UserDisabled is the body of PUT /users/:id/disabled.
type UserDisabled struct {
	Disabled bool `json:"disabled"`
}

func (api *API) setDisabled(c *gin.Context) {
	var req UserDisabled
	if !bindJSON(c, &req) {
		return
	}
	if err := api.Admin.SetDisabled(c.Request.Context(), actor(c), c.Param("id"), req.Disabled); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// RoleGrant is the body of POST and DELETE /users/:id/roles.
type RoleGrant struct {
	UnitID string        `json:"unit_id"`
	Role   document.Role `json:"role"`
}

func (api *API) changeRole(c *gin.Context, grant bool) {
	var req RoleGrant
	if !bindJSON(c, &req) {
		return
	}
	pending, err := api.Admin.ChangeRole(c.Request.Context(), actor(c), c.Param("id"), req.UnitID, req.Role, grant)
	if err == nil && pending != nil {
		// A role that opens secret documents waits for a second
		// administrator.
		c.Set(AuditKeyObject, pending.ID)
		c.JSON(http.StatusAccepted, roleRequestJSON(pending))
		return
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) grantRole(c *gin.Context)  { api.changeRole(c, true) }
func (api *API) revokeRole(c *gin.Context) { api.changeRole(c, false) }

func (api *API) listTypes(c *gin.Context) {
	ts, err := api.Directory.DocumentTypes(c.Request.Context())
	if err != nil {
		api.fail(c, err)
		return
	}
	type typeJSON struct {
		Code      string `json:"code"`
		Abbrev    string `json:"abbrev"`
		Name      string `json:"name"`
		Normative bool   `json:"normative,omitempty"`
	}
	out := make([]typeJSON, len(ts))
	for i, t := range ts {
		out[i] = typeJSON{t.Code, t.Abbrev, t.Name, t.Normative}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) listDelegations(c *gin.Context) {
	ds, err := api.Directory.Delegations(c.Request.Context(), current(c).user.OrgID)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]DelegationJSON, len(ds))
	for i, d := range ds {
		out[i] = delegationJSON(d)
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

// DelegationCreate is the body of POST /delegations.
type DelegationCreate struct {
	PrincipalID string            `json:"principal_id"`
	DelegateID  string            `json:"delegate_id"`
	Capacity    document.Capacity `json:"capacity"`
	ValidFrom   time.Time         `json:"valid_from"`
	ValidUntil  *time.Time        `json:"valid_until"`
	Reference   string            `json:"reference"`
}

func (api *API) createDelegation(c *gin.Context) {
	var req DelegationCreate
	if !bindJSON(c, &req) {
		return
	}
	d := document.Delegation{PrincipalID: req.PrincipalID, DelegateID: req.DelegateID, Capacity: req.Capacity,
		ValidFrom: req.ValidFrom, Reference: req.Reference, OrgID: current(c).user.OrgID}
	if req.ValidUntil != nil {
		d.ValidUntil = *req.ValidUntil
	}
	out, err := api.Workflow.CreateDelegation(c.Request.Context(), actor(c), d)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, delegationJSON(out))
}

func (api *API) revokeDelegation(c *gin.Context) {
	if err := api.Workflow.RevokeDelegation(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) listRegisters(c *gin.Context) {
	year := api.now().In(document.VietnamTime).Year()
	if y := c.Query("year"); y != "" {
		n, ok := atoiRange(y, 1900, 9999)
		if !ok {
			invalid(c, map[string]string{"year": "a year such as 2026"})
			return
		}
		year = n
	}
	rs, err := api.Workflow.Registers(c.Request.Context(), actor(c), year)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]RegisterJSON, len(rs))
	for i, r := range rs {
		out[i] = RegisterJSON{ID: r.ID, Direction: r.Direction, Year: r.Year, Series: r.Series, Name: r.Name, NextNumber: r.NextNumber}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

// keepsRegisters asks the use case whether the person keeps registers,
// answering the refusal itself.
func (api *API) keepsRegisters(c *gin.Context) bool {
	if err := api.Workflow.KeepsRegisters(c.Request.Context(), actor(c)); err != nil {
		api.fail(c, err)
		return false
	}
	return true
}

func (api *API) registerEntries(c *gin.Context) {
	ctx := c.Request.Context()
	r, err := api.Directory.Register(ctx, c.Param("id"))
	if err == nil && r.OrgID != current(c).user.OrgID {
		err = document.Errorf(document.ENOTFOUND, "register %s not found", c.Param("id"))
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	if !api.keepsRegisters(c) {
		return
	}
	ds, err := api.Directory.RegisterEntries(ctx, r.ID)
	if err == nil {
		// Secret rows stay (their numbers were taken) without what they
		// are about, for keepers who may not open them.
		ds, err = api.Workflow.RedactEntries(ctx, actor(c), ds)
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": documentsJSON(ds)})
}

// SigningIdentityJSON names a configured signing provider and the signer
// within it (a phone number for a SIM, empty for a seal key's default).
type SigningIdentityJSON struct {
	Provider string `json:"provider"`
	Signer   string `json:"signer"`
}

func (api *API) getSigningIdentity(c *gin.Context) {
	id, err := api.Admin.SigningIdentity(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, SigningIdentityJSON{Provider: id.Provider, Signer: id.ProviderSigner})
}

// setSigningIdentity: a leader's own signer, never the seal (admin.Service).
func (api *API) setSigningIdentity(c *gin.Context) {
	var req SigningIdentityJSON
	if !bindJSON(c, &req) {
		return
	}
	id, err := api.Admin.SetSigningIdentity(c.Request.Context(), actor(c), c.Param("id"), req.Provider, req.Signer)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, SigningIdentityJSON{Provider: id.Provider, Signer: id.ProviderSigner})
}

func (api *API) getSealSigner(c *gin.Context) {
	s, err := api.Admin.SealSigner(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, SigningIdentityJSON{Provider: s.Provider, Signer: s.ProviderSigner})
}

func (api *API) setSealSigner(c *gin.Context) {
	var req SigningIdentityJSON
	if !bindJSON(c, &req) {
		return
	}
	s, err := api.Admin.SetSealSigner(c.Request.Context(), actor(c), req.Provider, req.Signer)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, SigningIdentityJSON{Provider: s.Provider, Signer: s.ProviderSigner})
}

// RoleRequestJSON is a role grant waiting for a second administrator.
type RoleRequestJSON struct {
	ID          string        `json:"id"`
	UserID      string        `json:"user_id"`
	UnitID      string        `json:"unit_id"`
	Role        document.Role `json:"role"`
	RequestedBy string        `json:"requested_by"`
	RequestedAt time.Time     `json:"requested_at"`
	ApprovedBy  string        `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time    `json:"approved_at,omitempty"`
	Status      string        `json:"status"` // pending | approved
}

func roleRequestJSON(r *store.RoleRequest) RoleRequestJSON {
	st := "pending"
	if r.ApprovedBy != "" {
		st = "approved"
	}
	return RoleRequestJSON{ID: r.ID, UserID: r.UserID, UnitID: r.UnitID, Role: r.Role, RequestedBy: r.RequestedBy,
		RequestedAt: r.RequestedAt, ApprovedBy: r.ApprovedBy, ApprovedAt: timePtr(r.ApprovedAt), Status: st}
}

func (api *API) listRoleRequests(c *gin.Context) {
	rs, err := api.Admin.RoleRequests(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]RoleRequestJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, roleRequestJSON(r))
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) approveRoleRequest(c *gin.Context) {
	r, err := api.Admin.ApproveRoleRequest(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, roleRequestJSON(r))
}
