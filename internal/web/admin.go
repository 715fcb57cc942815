package web

import (
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/store"
)

// The administration pages make their changes through the administration
// service (admin.Service), which the API's directory routes call too: the
// same checks (the admin role on the unit concerned, the organization's
// root for organization-wide changes), the same rules, one transaction per
// change.

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
	var out []adminUnit
	var walk func(us []*document.Unit, depth int)
	walk = func(us []*document.Unit, depth int) {
		sort.SliceStable(us, func(i, j int) bool { return us[i].Name < us[j].Name })
		for _, u := range us {
			out = append(out, adminUnit{Unit: u, Depth: min(depth, 5)})
			walk(children[u.ID], depth+1)
		}
	}
	walk(roots, 0)
	return out
}

func namedGrants(dir *directory, gs document.Grants) []adminGrant {
	out := make([]adminGrant, 0, len(gs))
	for _, g := range gs {
		out = append(out, adminGrant{UnitID: g.UnitID, UnitName: dir.UnitName(g.UnitID), Role: string(g.Role)})
	}
	return out
}

func roleNames() []string {
	out := make([]string, len(document.Roles))
	for i, r := range document.Roles {
		out[i] = string(r)
	}
	return out
}

// adminHome lists the people with their roles and the units, with the
// forms to add either, to set the seal signer and the seal image.
func (s *Server) adminHome(c *gin.Context) {
	s.adminHomePage(c, http.StatusOK, nil)
}

// adminHomePage shows the page, with a refused form's error beside its
// field and the input kept.
func (s *Server) adminHomePage(c *gin.Context, status int, fe *formError) {
	ctx := c.Request.Context()
	people, err := s.opt.Admin.People(ctx, actor(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var rows []adminPerson
	for _, p := range people {
		rows = append(rows, adminPerson{User: p.User, Grants: namedGrants(dir, p.Grants)})
	}
	seal, err := s.opt.Admin.SealSigner(ctx, actor(c))
	if err != nil && document.ErrorCode(err) != document.ENOTFOUND {
		s.fail(c, err)
		return
	}
	_, imgErr := s.opt.Admin.SealImage(ctx, actor(c))
	requests, err := s.opt.Admin.RoleRequests(ctx, actor(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	names := map[string]string{}
	for _, p := range people {
		names[p.User.ID] = p.User.FullName
	}
	var pending []adminRoleRequest
	for _, r := range requests {
		unit := r.UnitID
		if u := dir.Units[r.UnitID]; u != nil {
			unit = u.Name
		}
		pending = append(pending, adminRoleRequest{ID: r.ID, Person: names[r.UserID], Unit: unit, Role: string(r.Role),
			RequestedBy: names[r.RequestedBy], RequestedAt: r.RequestedAt, Mine: r.RequestedBy == session(c).User.ID})
	}
	s.render(c, status, "admin", map[string]any{"People": rows, "Units": unitTree(dir.UnitList),
		"Roles": roleNames(), "Providers": s.opt.Admin.ProviderNames(), "Seal": seal, "SealImage": imgErr == nil,
		"RoleRequests": pending, "Form": fe.orEmpty()})
}

// adminRoleRequest is a grant waiting for a second administrator, as the
// admin page lists it.
type adminRoleRequest struct {
	ID, Person, Unit, Role, RequestedBy string
	RequestedAt                         time.Time
	// Mine: the viewer asked for it, so another administrator approves.
	Mine bool
}

// adminApproveRole approves a grant another administrator asked for.
func (s *Server) adminApproveRole(c *gin.Context) {
	if _, err := s.opt.Admin.ApproveRoleRequest(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		s.adminRefused(c, err, "rolerequest", func(fe *formError) { s.adminHomePage(c, fe.status, fe) })
		return
	}
	s.flash(c, "flash.roleapproved")
	c.Redirect(http.StatusSeeOther, "/admin#role-requests")
}

// adminUserPage shows one person: roles, password, account, signing
// identity and signature image.
func (s *Server) adminUserPage(c *gin.Context) {
	s.adminUserPageWith(c, http.StatusOK, nil)
}

func (s *Server) adminUserPageWith(c *gin.Context, status int, fe *formError) {
	ctx := c.Request.Context()
	p, ident, err := s.opt.Admin.Person(ctx, actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if p.ID == session(c).User.ID {
		// One's own page is for administrators; the person's own settings
		// are on the API (and their signature image below).
		if _, err := s.opt.Admin.People(ctx, actor(c)); err != nil {
			s.fail(c, err)
			return
		}
	}
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	seal, err := s.opt.Admin.SealSigner(ctx, actor(c))
	if err != nil && document.ErrorCode(err) != document.ENOTFOUND {
		s.fail(c, err)
		return
	}
	_, imgErr := s.opt.Admin.UserImage(ctx, actor(c), p.ID)
	s.render(c, status, "admin_user", map[string]any{"User": p.User, "Grants": namedGrants(dir, p.Grants), "Units": unitTree(dir.UnitList),
		"Roles": roleNames(), "Providers": s.opt.Admin.LeaderProviders(seal), "Identity": ident,
		"Self": p.ID == session(c).User.ID, "Image": imgErr == nil, "Form": fe.orEmpty()})
}

// adminCreateUnit adds a unit under a parent the person administers.
func (s *Server) adminCreateUnit(c *gin.Context) {
	u, err := s.opt.Admin.CreateUnit(c.Request.Context(), actor(c), admin.UnitInput{ParentID: c.PostForm("parent_id"),
		Abbrev: c.PostForm("abbrev"), Name: c.PostForm("name")})
	if err != nil {
		s.adminRefused(c, err, "unit", func(fe *formError) { s.adminHomePage(c, fe.status, fe) })
		return
	}
	c.Set(auditObjectKey, u.ID)
	s.flash(c, "flash.unit")
	c.Redirect(http.StatusSeeOther, "/admin")
}

// adminCreateUser adds a person of the organization with a password and
// at most one role, in one transaction.
func (s *Server) adminCreateUser(c *gin.Context) {
	in := admin.PersonInput{Username: c.PostForm("username"), FullName: c.PostForm("full_name"),
		Title: c.PostForm("title"), Password: c.PostForm("password")}
	if r := c.PostForm("role"); r != "" {
		in.Roles = []admin.Grant{{UnitID: c.PostForm("unit_id"), Role: document.Role(r)}}
	}
	if in.Password == "" {
		s.adminRefused(c, document.FieldErrorf("password", document.EINVALID, "an initial password is required"), "user",
			func(fe *formError) { s.adminHomePage(c, fe.status, fe) })
		return
	}
	u, err := s.opt.Admin.CreatePerson(c.Request.Context(), actor(c), in)
	if err != nil {
		s.adminRefused(c, err, "user", func(fe *formError) { s.adminHomePage(c, fe.status, fe) })
		return
	}
	c.Set(auditObjectKey, u.ID)
	s.flash(c, "flash.user")
	c.Redirect(http.StatusSeeOther, "/admin/users/"+u.ID)
}

// adminRefused shows a refused administration form again with the error
// beside its field (show renders the page), or an error page when the
// refusal is not about the form (no right, nothing there, ours).
func (s *Server) adminRefused(c *gin.Context, err error, form string, show func(*formError)) {
	status, msg, detail := s.failure(c, err)
	if status == 499 || status >= 500 || status == http.StatusForbidden || status == http.StatusNotFound {
		s.fail(c, err)
		return
	}
	field := document.ErrorField(err)
	if key, ok := adminFieldKeys[field]; ok {
		msg = s.lang(c).T(key)
	}
	if field == "username" && document.ErrorCode(err) == document.ECONFLICT {
		msg = s.lang(c).T("admin.err.taken")
	}
	fe := newFormError(c, form, status, field, msg, detail)
	show(fe)
	c.Abort()
}

// adminFieldKeys name the message shown beside a refused field.
var adminFieldKeys = map[string]string{
	"username": "admin.err.username", "full_name": "admin.err.fullname", "title": "admin.err.fullname",
	"password": "admin.err.password", "role": "admin.err.role", "unit_id": "admin.err.unitpick",
	"abbrev": "admin.err.unit", "name": "admin.err.unit", "parent_id": "admin.err.parent",
	"provider": "admin.err.provider", "signer": "admin.err.signer",
}

// adminUserAction makes one change to a person: grant, revoke, password,
// disable, enable, signing.
func (s *Server) adminUserAction(c *gin.Context) {
	ctx := c.Request.Context()
	a := actor(c)
	id := c.Param("id")
	back := "/admin/users/" + id
	var err error
	notice := "flash.saved"
	action := c.Param("action")
	switch action {
	case "grant", "revoke":
		var pending *store.RoleRequest
		pending, err = s.opt.Admin.ChangeRole(ctx, a, id, c.PostForm("unit_id"), document.Role(c.PostForm("role")), action == "grant")
		if pending != nil {
			// A role that opens secret documents waits for a second
			// administrator.
			notice = "flash.rolepending"
		}
	case "password":
		err = s.opt.Admin.SetPassword(ctx, a, id, c.PostForm("password"))
		if err == nil && id == session(c).User.ID {
			// This session has just ended too.
			back = "/login"
		}
		notice = "flash.password"
	case "disable", "enable":
		if action == "disable" && id == session(c).User.ID {
			s.errorPage(c, http.StatusConflict, s.lang(c).T("admin.err.self"), "")
			return
		}
		if action == "disable" && c.PostForm("confirm") != "yes" {
			// Only someone who may disable the person is asked.
			if _, _, err := s.opt.Admin.Person(ctx, a, id); err != nil {
				s.fail(c, err)
				return
			}
			s.confirmPage(c, "confirm.disable", c.Request.URL.Path, nil)
			return
		}
		err = s.opt.Admin.SetDisabled(ctx, a, id, action == "disable")
		notice = "flash." + action
	case "signing":
		_, err = s.opt.Admin.SetSigningIdentity(ctx, a, id, c.PostForm("provider"), c.PostForm("signer"))
	default:
		s.fail(c, document.Errorf(document.ENOTFOUND, "no such action"))
		return
	}
	if err != nil {
		if document.ErrorCode(err) == document.ECONFLICT && action == "disable" {
			s.errorPage(c, http.StatusConflict, s.lang(c).T("admin.err.self"), "")
			return
		}
		s.adminRefused(c, err, action, func(fe *formError) { s.adminUserPageWith(c, fe.status, fe) })
		return
	}
	if back != "/login" {
		s.flash(c, notice)
	}
	c.Redirect(http.StatusSeeOther, back)
}

// adminSetSeal sets how the organization applies its seal signature.
func (s *Server) adminSetSeal(c *gin.Context) {
	if _, err := s.opt.Admin.SetSealSigner(c.Request.Context(), actor(c), c.PostForm("provider"), c.PostForm("signer")); err != nil {
		s.adminRefused(c, err, "seal", func(fe *formError) { s.adminHomePage(c, fe.status, fe) })
		return
	}
	s.flash(c, "flash.saved")
	c.Redirect(http.StatusSeeOther, "/admin")
}

// adminSealImage takes the organization's seal image (a PNG).
func (s *Server) adminSealImage(c *gin.Context) {
	ctx, a := c.Request.Context(), actor(c)
	s.imageUpload(c, "/admin", func() error { return s.opt.Admin.CheckSealImage(ctx, a) },
		func(f *form) error { return s.opt.Admin.SetSealImage(ctx, a, *f.file) })
}

// adminUserImage takes a leader's handwritten signature image (a PNG).
func (s *Server) adminUserImage(c *gin.Context) {
	id := c.Param("id")
	ctx, a := c.Request.Context(), actor(c)
	s.imageUpload(c, "/admin/users/"+id, func() error { return s.opt.Admin.CheckUserImage(ctx, a, id) },
		func(f *form) error { return s.opt.Admin.SetUserImage(ctx, a, id, *f.file) })
}

// imageUpload checks the permission before the image is stored, bounds it
// at the size of a signature image, and removes it again when refused.
func (s *Server) imageUpload(c *gin.Context, back string, check func() error, set func(*form) error) {
	f, err := s.readMultipart(c, false, files.MaxImageBytes, func(*form) error { return check() })
	if err == nil {
		if err = s.opt.Files.CheckPNG(c.Request.Context(), *f.file); err == nil {
			err = set(f)
		}
		if err != nil {
			s.opt.Files.Discard(c.Request.Context(), *f.file)
		}
	}
	if err != nil {
		s.formFail(c, err)
		return
	}
	s.flash(c, "flash.image")
	c.Redirect(http.StatusSeeOther, back)
}
