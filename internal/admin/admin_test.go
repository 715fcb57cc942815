package admin_test

import (
	"context"
	"testing"

	"vanban/internal/admin"
	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var cheap = auth.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type office struct {
	svc        *admin.Service
	db         *store.DB
	org        *document.Organization
	unit       *document.Unit
	adm, clerk workflow.Actor
	leader     *document.User
}

// newOffice is an organization with an administrator (granted directly,
// as vanban init does), a unit, a drafter and a leader.
func newOffice(t *testing.T, db *store.DB) *office {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	o := &office{db: db, svc: &admin.Service{DB: db, Passwords: cheap,
		Providers: []admin.Provider{{Name: "sim", PerSigner: true, PhoneNumbers: true}, {Name: "seal"}, {Name: "token"}}}}
	o.org = &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}
	must(db.CreateOrganization(ctx, o.org))
	o.unit = &document.Unit{ParentID: o.org.ID, Abbrev: "VP", Name: "Văn phòng"}
	must(db.CreateUnit(ctx, o.unit))
	person := func(name string, role document.Role, unit string) *document.User {
		u := &document.User{OrgID: o.org.ID, Username: name, FullName: "Người " + name, Title: "Chuyên viên"}
		must(db.CreateUser(ctx, u))
		must(db.GrantRole(ctx, u.ID, unit, role))
		return u
	}
	o.adm = workflow.Actor{UserID: person("quantri", document.RoleAdmin, o.org.ID).ID}
	o.clerk = workflow.Actor{UserID: person("vanthu", document.RoleDrafter, o.unit.ID).ID}
	o.leader = person("chutich", document.RoleSigner, o.org.ID)
	return o
}

// TestCreatePersonIsOneTransaction: a person is made with roles and
// password together, or not at all; one username rule; only an
// administrator.
func TestCreatePersonIsOneTransaction(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		o := newOffice(t, db)
		ctx := context.Background()
		u, err := o.svc.CreatePerson(ctx, o.adm, admin.PersonInput{Username: "soan", FullName: "Nguyễn Văn Soạn", Password: "mat-khau-dai-du",
			Roles: []admin.Grant{{UnitID: o.unit.ID, Role: document.RoleDrafter}}})
		if err != nil {
			t.Fatal(err)
		}
		if gs, err := db.Grants(ctx, u.ID); err != nil || !gs.Allows(document.RoleDrafter, *o.unit) {
			t.Errorf("the new person's grants: %v %v", gs, err)
		}
		other := &document.Organization{Abbrev: "SYT", Name: "Sở Y tế", Place: "Thành Long"}
		if err := db.CreateOrganization(ctx, other); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			in    admin.PersonInput
			code  string
			field string
		}{
			{"a unit of another organization", admin.PersonInput{Username: "nuaroi", FullName: "Nửa Rồi", Password: "mat-khau-dai-du",
				Roles: []admin.Grant{{UnitID: o.unit.ID, Role: document.RoleDrafter}, {UnitID: other.ID, Role: document.RoleReviewer}}}, document.EINVALID, "unit_id"},
			{"a short password", admin.PersonInput{Username: "ngan", FullName: "Mật Khẩu Ngắn", Password: "ngan",
				Roles: []admin.Grant{{UnitID: o.unit.ID, Role: document.RoleDrafter}}}, document.EINVALID, "password"},
			{"a username with spaces", admin.PersonInput{Username: "co dau cach", FullName: "Có Dấu Cách", Password: "mat-khau-dai-du"}, document.EINVALID, "username"},
			{"a username with diacritics", admin.PersonInput{Username: "nguyễn", FullName: "Nguyễn", Password: "mat-khau-dai-du"}, document.EINVALID, "username"},
			{"a taken username", admin.PersonInput{Username: "soan", FullName: "Trùng Tên", Password: "mat-khau-dai-du"}, document.ECONFLICT, "username"},
			{"an unknown role", admin.PersonInput{Username: "vaitro", FullName: "Vai Trò", Roles: []admin.Grant{{UnitID: o.unit.ID, Role: "boss"}}}, document.EINVALID, "role"},
		} {
			_, err := o.svc.CreatePerson(ctx, o.adm, tc.in)
			if document.ErrorCode(err) != tc.code || document.ErrorField(err) != tc.field {
				t.Errorf("%s: %v (field %q), want %s about %s", tc.name, err, document.ErrorField(err), tc.code, tc.field)
			}
			if tc.code != document.ECONFLICT {
				if _, err := db.UserByUsername(ctx, tc.in.Username); document.ErrorCode(err) != document.ENOTFOUND {
					t.Errorf("%s: a half-made person %q remains (%v)", tc.name, tc.in.Username, err)
				}
			}
		}
		if _, err := o.svc.CreatePerson(ctx, o.clerk, admin.PersonInput{Username: "lau", FullName: "Lậu", Password: "mat-khau-dai-du"}); document.ErrorCode(err) != document.EFORBIDDEN {
			t.Errorf("a person made by a non-administrator: %v", err)
		}
	})
}

// TestLeaderNeverSignsWithTheSeal: a leader's signing identity cannot be
// the seal's provider, needs their own number on a SIM provider (stored
// international), and a one-key provider belongs to one person.
func TestLeaderNeverSignsWithTheSeal(t *testing.T) {
	db := pgtest.Open(t, pgtest.SQLiteURL(t))
	o := newOffice(t, db)
	ctx := context.Background()
	if _, err := o.svc.SetSealSigner(ctx, o.adm, "seal", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := o.svc.SetSigningIdentity(ctx, o.adm, o.leader.ID, "seal", ""); document.ErrorField(err) != "provider" {
		t.Errorf("a leader with the seal's provider: %v", err)
	}
	if _, err := o.svc.SetSigningIdentity(ctx, o.adm, o.leader.ID, "sim", ""); document.ErrorField(err) != "signer" {
		t.Errorf("a leader on the SIM provider without a number: %v", err)
	}
	id, err := o.svc.SetSigningIdentity(ctx, o.adm, o.leader.ID, "sim", "0912 345 678")
	if err != nil || id.ProviderSigner != "84912345678" {
		t.Fatalf("a leader's phone in the local format: %+v %v", id, err)
	}
	if _, err := o.svc.SetSigningIdentity(ctx, o.adm, o.leader.ID, "token", ""); err != nil {
		t.Fatalf("a personal token: %v", err)
	}
	second, err := o.svc.CreatePerson(ctx, o.adm, admin.PersonInput{Username: "phochutich", FullName: "Phó Chủ Tịch", Password: "mat-khau-dai-du",
		Roles: []admin.Grant{{UnitID: o.org.ID, Role: document.RoleSigner}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.svc.SetSigningIdentity(ctx, o.adm, second.ID, "token", ""); document.ErrorField(err) != "provider" {
		t.Errorf("a one-key provider given to a second leader: %v", err)
	}
	if _, err := o.svc.SetSealSigner(ctx, o.adm, "token", ""); err == nil {
		t.Errorf("the seal took a leader's provider")
	}
	if _, err := o.svc.SetSigningIdentity(ctx, o.clerk, o.leader.ID, "sim", "0912345678"); document.ErrorCode(err) != document.EFORBIDDEN {
		t.Errorf("a signing identity set by a non-administrator: %v", err)
	}
}

// TestImagePermissionsBeforeUpload: the pre-checks the upload layers call
// before storing a signature image answer as the setters do.
func TestImagePermissionsBeforeUpload(t *testing.T) {
	db := pgtest.Open(t, pgtest.SQLiteURL(t))
	o := newOffice(t, db)
	ctx := context.Background()
	leader := workflow.Actor{UserID: o.leader.ID}
	if err := o.svc.CheckSealImage(ctx, o.adm); err != nil {
		t.Errorf("the administrator may set the seal image: %v", err)
	}
	if err := o.svc.CheckSealImage(ctx, leader); document.ErrorCode(err) != document.EFORBIDDEN {
		t.Errorf("a leader setting the seal image: %v", err)
	}
	if err := o.svc.CheckUserImage(ctx, leader, o.leader.ID); err != nil {
		t.Errorf("a leader setting their own signature image: %v", err)
	}
	if err := o.svc.CheckUserImage(ctx, o.clerk, o.leader.ID); document.ErrorCode(err) != document.EFORBIDDEN {
		t.Errorf("someone else setting the leader's image: %v", err)
	}
	if err := o.svc.CheckUserImage(ctx, o.adm, o.leader.ID); err != nil {
		t.Errorf("the administrator setting the leader's image: %v", err)
	}
	if err := o.svc.CheckUserImage(ctx, o.adm, "khong-co"); document.ErrorCode(err) != document.ENOTFOUND {
		t.Errorf("an unknown person: %v", err)
	}
}
