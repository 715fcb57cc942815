package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"vanban/internal/document"
	"vanban/internal/store"
)

// fixture is a small organization: UBND with an office (VP) and a finance
// unit (TC), a drafter in VP and a clerk for the whole organization.
type fixture struct {
	org             *document.Organization
	office, finance *document.Unit
	drafter, clerk  *document.User
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{org: &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}}
	must(t, db.CreateOrganization(ctx, f.org))
	f.office = &document.Unit{ParentID: f.org.ID, Abbrev: "VP", Name: "Văn phòng"}
	must(t, db.CreateUnit(ctx, f.office))
	f.finance = &document.Unit{ParentID: f.org.ID, Abbrev: "TC", Name: "Tài chính"}
	must(t, db.CreateUnit(ctx, f.finance))
	f.drafter = &document.User{OrgID: f.org.ID, Username: "an." + f.org.ID[:6], FullName: "Nguyễn Văn An"}
	must(t, db.CreateUser(ctx, f.drafter))
	f.clerk = &document.User{OrgID: f.org.ID, Username: "binh." + f.org.ID[:6], FullName: "Trần Thị Bình"}
	must(t, db.CreateUser(ctx, f.clerk))
	must(t, db.GrantRole(ctx, f.drafter.ID, f.office.ID, document.RoleDrafter))
	must(t, db.GrantRole(ctx, f.clerk.ID, f.org.ID, document.RoleClerk))
	return f
}

func (f *fixture) draft(t *testing.T, db *store.DB, subject string) *document.Document {
	t.Helper()
	d := &document.Document{
		OrgID: f.org.ID, UnitID: f.office.ID, Direction: document.Outgoing, TypeCode: document.TypeQuyetDinh,
		Subject: subject, Urgency: document.UrgencyNormal, Confidentiality: document.ConfidentialityNormal,
		CreatedBy: f.drafter.ID,
	}
	must(t, db.CreateDocument(context.Background(), d))
	return d
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := document.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}
