package web

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
)

// The administration pages make the same changes as the API's directory
// routes, with the same checks: the admin role on the unit concerned, the
// organization's root unit (whose id is the organization's) for
// organization-wide changes; users and units of another organization do
// not exist.

// requireAdmin loads unitID and answers 403 unless the signed-in person
// administers it, 404 when it is not of their organization.
func (s *Server) requireAdmin(c *gin.Context, unitID string) (*document.Unit, bool) {
	ws := session(c)
	u, err := s.opt.Directory.Unit(c.Request.Context(), unitID)
	if err == nil && u.OrgID != ws.User.OrgID {
		err = document.Errorf(document.ENOTFOUND, "unit %s not found", unitID)
	}
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	if !ws.Grants.Allows(document.RoleAdmin, *u) {
		s.fail(c, document.Errorf(document.EFORBIDDEN, "administering unit %s needs the admin role there", u.Abbrev))
		return nil, false
	}
	return u, true
}

// requireOrgAdmin: organization-wide pages and changes.
func (s *Server) requireOrgAdmin(c *gin.Context) bool {
	_, ok := s.requireAdmin(c, session(c).User.OrgID)
	return ok
}

// targetUser loads the user of the path; people of other organizations are
// not found.
func (s *Server) targetUser(c *gin.Context) (*document.User, bool) {
	u, err := s.opt.Directory.User(c.Request.Context(), c.Param("id"))
	if err == nil && u.OrgID != session(c).User.OrgID {
		err = document.Errorf(document.ENOTFOUND, "user %s not found", c.Param("id"))
	}
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	return u, true
}

// invalidForm answers 422 with a message the administrator can act on.
func (s *Server) invalidForm(c *gin.Context, key string, detail string) {
	s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T(key), detail)
}

// usernameRE: what a person types at the sign-in page, without spaces or
// diacritics that keyboards enter differently.
var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

func (s *Server) passwordHash(password string) (string, error) {
	p := s.opt.Passwords
	if p == (auth.Params{}) {
		p = auth.DefaultParams
	}
	return auth.HashPassword(password, p)
}

// adminUnit is a unit of the tree with its depth below the root.
type adminUnit struct {
	*document.Unit
	Depth int
}

// adminGrant is one role of a person, named.
type adminGrant struct {
	UnitID, UnitName string
	Role             string
}

// adminPerson is a row of the people list.
type adminPerson struct {
	*document.User
	Grants []adminGrant
}

// unitTree orders the units as a tree: each unit after its parent,
// siblings by name.
func unitTree(units []*document.Unit) []adminUnit {
	children := map[string][]*document.Unit{}
	ids := map[string]bool{}
	for _, u := range units {
		ids[u.ID] = true
	}
	var roots []*document.Unit
	for _, u := range units {
		if u.ParentID == "" || !ids[u.ParentID] {
			roots = append(roots, u)
		} else {
			children[u.ParentID] = append(children[u.ParentID], u)
		}
	}
	byName := func(us []*document.Unit) {
		sort.SliceStable(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	}
	var out []adminUnit
	var walk func(us []*document.Unit, depth int)
	walk = func(us []*document.Unit, depth int) {
		byName(us)
		for _, u := range us {
			out = append(out, adminUnit{Unit: u, Depth: min(depth, 5)})
			walk(children[u.ID], depth+1)
		}
	}
	walk(roots, 0)
	return out
}

func (s *Server) adminGrants(c *gin.Context, dir *directory, userID string) ([]adminGrant, error) {
	gs, err := s.opt.Directory.Grants(c.Request.Context(), userID)
	if err != nil {
		return nil, err
	}
	out := make([]adminGrant, 0, len(gs))
	for _, g := range gs {
		out = append(out, adminGrant{UnitID: g.UnitID, UnitName: dir.UnitName(g.UnitID), Role: string(g.Role)})
	}
	return out, nil
}

func roleNames() []string {
	out := make([]string, len(document.Roles))
	for i, r := range document.Roles {
		out[i] = string(r)
	}
	return out
}

// adminHome lists the people with their roles and the units, with the
// forms to add either and to set the seal signer.
func (s *Server) adminHome(c *gin.Context) {
	if !s.requireOrgAdmin(c) {
		return
	}
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var people []adminPerson
	for _, u := range dir.UserList {
		gs, err := s.adminGrants(c, dir, u.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		people = append(people, adminPerson{User: u, Grants: gs})
	}
	var seal *store.SealSigner
	if ss, err := s.opt.Directory.SealSigner(c.Request.Context(), session(c).User.OrgID); err == nil {
		seal = ss
	} else if document.ErrorCode(err) != document.ENOTFOUND {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "admin", map[string]any{"People": people, "Units": unitTree(dir.UnitList),
		"Roles": roleNames(), "Providers": s.opt.Providers, "Seal": seal})
}

// adminUserPage shows one person: roles, password, account, signing
// identity.
func (s *Server) adminUserPage(c *gin.Context) {
	if !s.requireOrgAdmin(c) {
		return
	}
	u, ok := s.targetUser(c)
	if !ok {
		return
	}
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	gs, err := s.adminGrants(c, dir, u.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	var ident *store.SigningIdentity
	if id, err := s.opt.Directory.SigningIdentity(c.Request.Context(), u.ID); err == nil {
		ident = id
	} else if document.ErrorCode(err) != document.ENOTFOUND {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "admin_user", map[string]any{"User": u, "Grants": gs, "Units": unitTree(dir.UnitList),
		"Roles": roleNames(), "Providers": s.opt.Providers, "Identity": ident, "Self": u.ID == session(c).User.ID})
}

// adminCreateUnit adds a unit under a parent the person administers.
func (s *Server) adminCreateUnit(c *gin.Context) {
	parent := c.PostForm("parent_id")
	if parent == "" {
		s.invalidForm(c, "admin.err.parent", "")
		return
	}
	if _, ok := s.requireAdmin(c, parent); !ok {
		return
	}
	abbrev, name := strings.TrimSpace(c.PostForm("abbrev")), strings.TrimSpace(c.PostForm("name"))
	if abbrev == "" || name == "" || utf8.RuneCountInString(abbrev) > 20 || utf8.RuneCountInString(name) > 200 || strings.ContainsAny(abbrev, " \t/") {
		s.invalidForm(c, "admin.err.unit", "")
		return
	}
	u := &document.Unit{ParentID: parent, Abbrev: abbrev, Name: name}
	if err := s.opt.Directory.CreateUnit(c.Request.Context(), u); err != nil {
		s.fail(c, err)
		return
	}
	c.Set(httpapi.AuditKeyObject, u.ID)
	c.Redirect(http.StatusSeeOther, "/admin")
}

// adminCreateUser adds a person of the organization with a password and
// at most one role; everything is checked before anything is stored.
func (s *Server) adminCreateUser(c *gin.Context) {
	if !s.requireOrgAdmin(c) {
		return
	}
	ctx := c.Request.Context()
	org := session(c).User.OrgID
	username := strings.TrimSpace(c.PostForm("username"))
	fullName := strings.TrimSpace(c.PostForm("full_name"))
	title := strings.TrimSpace(c.PostForm("title"))
	password := c.PostForm("password")
	role := document.Role(c.PostForm("role"))
	unitID := c.PostForm("unit_id")
	switch {
	case !usernameRE.MatchString(username):
		s.invalidForm(c, "admin.err.username", "")
		return
	case fullName == "" || utf8.RuneCountInString(fullName) > 200 || utf8.RuneCountInString(title) > 200:
		s.invalidForm(c, "admin.err.fullname", "")
		return
	case len(password) < auth.MinPasswordLength:
		s.invalidForm(c, "admin.err.password", "")
		return
	case role != "" && !role.Valid():
		s.invalidForm(c, "admin.err.role", "")
		return
	}
	if role != "" {
		if u, err := s.opt.Directory.Unit(ctx, unitID); err != nil || u.OrgID != org {
			s.invalidForm(c, "admin.err.unitpick", "")
			return
		}
	}
	hash, err := s.passwordHash(password)
	if err != nil {
		s.invalidForm(c, "admin.err.password", "")
		return
	}
	u := &document.User{OrgID: org, Username: username, FullName: fullName, Title: title}
	if err := s.opt.Directory.CreateUser(ctx, u); err != nil {
		if document.ErrorCode(err) == document.ECONFLICT {
			s.errorPage(c, http.StatusConflict, s.lang(c).T("admin.err.taken"), "")
			return
		}
		s.fail(c, err)
		return
	}
	c.Set(httpapi.AuditKeyObject, u.ID)
	if role != "" {
		// A role that opens secret documents waits for a second
		// administrator (store.GrantRoleBy), even on a new account.
		if _, err := s.opt.Directory.GrantRoleBy(ctx, session(c).User.ID, u.ID, unitID, role); err != nil {
			s.fail(c, err)
			return
		}
	}
	if err := s.opt.Directory.SetPasswordHash(ctx, u.ID, hash); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/users/"+u.ID)
}

// adminUserAction makes one change to a person: grant, revoke, password,
// disable, enable, signing.
func (s *Server) adminUserAction(c *gin.Context) {
	u, ok := s.targetUser(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	back := "/admin/users/" + u.ID
	switch c.Param("action") {
	case "grant", "revoke":
		role := document.Role(c.PostForm("role"))
		if !role.Valid() {
			s.invalidForm(c, "admin.err.role", "")
			return
		}
		unitID := c.PostForm("unit_id")
		if unitID == "" {
			s.invalidForm(c, "admin.err.unitpick", "")
			return
		}
		if _, ok := s.requireAdmin(c, unitID); !ok {
			return
		}
		var err error
		if c.Param("action") == "grant" {
			// Refused for oneself; pending a second administrator
			// for a role that opens secret documents.
			_, err = s.opt.Directory.GrantRoleBy(ctx, session(c).User.ID, u.ID, unitID, role)
		} else {
			err = s.opt.Directory.RevokeRole(ctx, u.ID, unitID, role)
		}
		if err != nil {
			s.fail(c, err)
			return
		}
	case "password":
		if _, ok := s.requireAdmin(c, u.OrgID); !ok {
			return
		}
		hash, err := s.passwordHash(c.PostForm("password"))
		if err != nil {
			s.invalidForm(c, "admin.err.password", "")
			return
		}
		if err := s.opt.Directory.SetPasswordHash(ctx, u.ID, hash); err != nil {
			s.fail(c, err)
			return
		}
		if _, err := s.opt.Directory.DeleteUserSessions(ctx, u.ID); err != nil {
			s.fail(c, err)
			return
		}
		if u.ID == session(c).User.ID {
			// This session has just ended too.
			back = "/login"
		}
	case "disable", "enable":
		if _, ok := s.requireAdmin(c, u.OrgID); !ok {
			return
		}
		disable := c.Param("action") == "disable"
		if disable && u.ID == session(c).User.ID {
			s.errorPage(c, http.StatusConflict, s.lang(c).T("admin.err.self"), "")
			return
		}
		if err := s.opt.Directory.SetUserDisabled(ctx, u.ID, disable); err != nil {
			s.fail(c, err)
			return
		}
		if disable {
			if _, err := s.opt.Directory.DeleteUserSessions(ctx, u.ID); err != nil {
				s.fail(c, err)
				return
			}
		}
	case "signing":
		if _, ok := s.requireAdmin(c, u.OrgID); !ok {
			return
		}
		provider, signer, ok := s.signerForm(c)
		if !ok {
			return
		}
		id := &store.SigningIdentity{UserID: u.ID, Provider: provider, ProviderSigner: signer}
		if err := s.opt.Directory.SetSigningIdentity(ctx, id); err != nil {
			s.fail(c, err)
			return
		}
	default:
		s.fail(c, document.Errorf(document.ENOTFOUND, "no such action"))
		return
	}
	c.Redirect(http.StatusSeeOther, back)
}

// signerForm reads a configured provider and the signer within it (a
// phone number for a SIM).
func (s *Server) signerForm(c *gin.Context) (provider, signer string, ok bool) {
	provider = c.PostForm("provider")
	known := false
	for _, p := range s.opt.Providers {
		known = known || p == provider
	}
	if !known {
		s.invalidForm(c, "admin.err.provider", strings.Join(s.opt.Providers, ", "))
		return "", "", false
	}
	signer = strings.TrimSpace(c.PostForm("signer"))
	if utf8.RuneCountInString(signer) > 200 {
		s.invalidForm(c, "admin.err.signer", "")
		return "", "", false
	}
	return provider, signer, true
}

// adminSetSeal sets how the organization applies its seal signature.
func (s *Server) adminSetSeal(c *gin.Context) {
	if !s.requireOrgAdmin(c) {
		return
	}
	provider, signer, ok := s.signerForm(c)
	if !ok {
		return
	}
	ss := &store.SealSigner{OrgID: session(c).User.OrgID, Provider: provider, ProviderSigner: signer}
	if err := s.opt.Directory.SetSealSigner(c.Request.Context(), ss); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin")
}
