package store_test

import (
	"context"
	"testing"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestOrganizationsUnitsUsersRoles(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)

		org, err := db.Organization(ctx, f.org.ID)
		must(t, err)
		if org.Name != f.org.Name || org.Numbering != document.NumberingShared || !org.CreatedAt.Equal(f.org.CreatedAt) {
			t.Errorf("Organization = %+v, want %+v", org, f.org)
		}
		root, err := db.Unit(ctx, f.org.ID)
		must(t, err)
		if root.ParentID != "" || root.Path != "/"+f.org.ID+"/" || !root.Contains(*f.office) {
			t.Errorf("root unit %+v", root)
		}
		team := &document.Unit{ParentID: f.office.ID, Abbrev: "TH", Name: "Tổng hợp"}
		must(t, db.CreateUnit(ctx, team))
		if team.OrgID != f.org.ID || team.Path != f.office.Path+team.ID+"/" {
			t.Errorf("child unit %+v", team)
		}
		units, err := db.Units(ctx, f.org.ID)
		must(t, err)
		if len(units) != 4 || units[0].ID != f.org.ID {
			t.Errorf("Units = %d units, first %v", len(units), units[0].ID)
		}

		wantCode(t, db.CreateUnit(ctx, &document.Unit{ParentID: "nope", Abbrev: "X", Name: "X"}), document.ENOTFOUND)
		wantCode(t, db.CreateUnit(ctx, &document.Unit{Abbrev: "X", Name: "X"}), document.EINVALID)
		wantCode(t, db.CreateUser(ctx, &document.User{OrgID: f.org.ID, Username: f.drafter.Username, FullName: "Dup"}), document.ECONFLICT)
		wantCode(t, db.CreateUser(ctx, &document.User{OrgID: "nope", Username: "ghost", FullName: "Ghost"}), document.EINVALID)
		_, err = db.User(ctx, "nope")
		wantCode(t, err, document.ENOTFOUND)

		u, err := db.UserByUsername(ctx, f.drafter.Username)
		must(t, err)
		if u.ID != f.drafter.ID || u.FullName != "Nguyễn Văn An" {
			t.Errorf("UserByUsername = %+v", u)
		}
		u.Title = "Chuyên viên chính"
		must(t, db.UpdateUser(ctx, u))
		if u2, err := db.User(ctx, u.ID); err != nil || u2.Title != "Chuyên viên chính" {
			t.Errorf("UpdateUser: %+v, %v", u2, err)
		}
		ghost := *u
		ghost.ID = "nope"
		wantCode(t, db.UpdateUser(ctx, &ghost), document.ENOTFOUND)

		// Roles: granting twice is fine; the clerk's org-wide grant covers
		// the sub-unit, the drafter's covers only the office subtree.
		must(t, db.GrantRole(ctx, f.drafter.ID, f.office.ID, document.RoleDrafter))
		must(t, db.GrantRole(ctx, f.drafter.ID, f.finance.ID, document.RoleReviewer))
		wantCode(t, db.GrantRole(ctx, f.drafter.ID, f.office.ID, "king"), document.EINVALID)
		gs, err := db.Grants(ctx, f.drafter.ID)
		must(t, err)
		if len(gs) != 2 || !gs.Allows(document.RoleDrafter, *team) || gs.Allows(document.RoleDrafter, *f.finance) ||
			!gs.Allows(document.RoleReviewer, *f.finance) {
			t.Errorf("drafter grants %+v", gs)
		}
		clerks, err := db.UsersWithRole(ctx, team.ID, document.RoleClerk)
		must(t, err)
		if len(clerks) != 1 || clerks[0].ID != f.clerk.ID {
			t.Errorf("UsersWithRole(clerk) = %v", clerks)
		}

		other := &document.Organization{Abbrev: "SYT", Name: "Sở Y tế"}
		must(t, db.CreateOrganization(ctx, other))
		wantCode(t, db.GrantRole(ctx, f.drafter.ID, other.ID, document.RoleSigner), document.EINVALID)

		must(t, db.RevokeRole(ctx, f.drafter.ID, f.finance.ID, document.RoleReviewer))
		wantCode(t, db.RevokeRole(ctx, f.drafter.ID, f.finance.ID, document.RoleReviewer), document.ENOTFOUND)

		// A disabled user holds no roles.
		must(t, db.SetUserDisabled(ctx, f.clerk.ID, true))
		gs, err = db.Grants(ctx, f.clerk.ID)
		must(t, err)
		if len(gs) != 0 {
			t.Errorf("disabled user grants %v", gs)
		}
		clerks, err = db.UsersWithRole(ctx, team.ID, document.RoleClerk)
		must(t, err)
		if len(clerks) != 0 {
			t.Errorf("disabled clerk still listed")
		}
	})
}

func TestDocumentTypesMatchDomain(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		types, err := db.DocumentTypes(ctx)
		must(t, err)
		byCode := map[string]*document.DocumentType{}
		for _, ty := range types {
			byCode[ty.Code] = ty
		}
		if len(byCode) != len(document.DefaultTypes) {
			t.Errorf("database has %d types, domain %d", len(byCode), len(document.DefaultTypes))
		}
		for _, want := range document.DefaultTypes {
			got := byCode[want.Code]
			if got == nil || *got != want {
				t.Errorf("type %s: database %+v, domain %+v", want.Code, got, want)
			}
		}
		cv, err := db.DocumentType(ctx, document.TypeCongVan)
		must(t, err)
		if cv.Abbrev != "" {
			t.Errorf("công văn abbreviation %q", cv.Abbrev)
		}
		must(t, db.CreateDocumentType(ctx, &document.DocumentType{Code: "luat", Abbrev: "L", Name: "Luật", Normative: true}))
		l, err := db.DocumentType(ctx, "luat")
		must(t, err)
		if !l.Normative {
			t.Error("normative flag lost")
		}
		wantCode(t, db.CreateDocumentType(ctx, &document.DocumentType{Code: "luat", Name: "Luật"}), document.ECONFLICT)
		wantCode(t, db.CreateDocumentType(ctx, &document.DocumentType{Code: "bad code", Name: "x"}), document.EINVALID)
	})
}
