package lookup_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/lookup"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestAttachAndLookUp on both engines: who may attach a code, one document
// per code, the public answer with the right day only and the same error
// for every miss, and the one-stop pull.
func TestAttachAndLookUp(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long"}
		must(t, db.CreateOrganization(ctx, org))
		other := &document.Organization{Abbrev: "UBNDB", Name: "Xã khác"}
		must(t, db.CreateOrganization(ctx, other))
		user := func(o *document.Organization, name string, role document.Role) *document.User {
			u := &document.User{OrgID: o.ID, Username: name + "-" + o.ID[:6], FullName: name}
			must(t, db.CreateUser(ctx, u))
			must(t, db.GrantRole(ctx, u.ID, o.ID, role))
			return u
		}
		clerk, leader, outsider := user(org, "clerk", document.RoleClerk), user(org, "leader", document.RoleSigner), user(other, "clerk2", document.RoleClerk)
		incoming := func(conf document.Confidentiality) *document.Document {
			d := &document.Document{OrgID: org.ID, UnitID: org.ID, Direction: document.Incoming, TypeCode: document.TypeCongVan,
				Subject: "Hồ sơ của bà Trần Thị Mai", Urgency: document.UrgencyNormal, Confidentiality: conf, CreatedBy: clerk.ID,
				State: document.StateRegistered, ReceivedAt: time.Now().Add(-time.Hour), Deadline: time.Now().Add(-time.Minute)}
			must(t, db.CreateDocument(ctx, d))
			return d
		}
		d, secret := incoming(document.ConfidentialityNormal), incoming(document.ConfidentialitySecret)
		svc := lookup.New(db)
		ds, err := svc.Attach(ctx, clerk.ID, d.ID, " h56-0001 ", "05/03/2026")
		must(t, err)
		if ds.Code != "H56-0001" || ds.FiledOn != "2026-03-05" {
			t.Fatalf("attached %+v", ds)
		}
		for _, c := range []struct {
			who, doc, code, day, want string
		}{
			{leader.ID, d.ID, "H56-0002", "05/03/2026", document.EFORBIDDEN},
			{outsider.ID, d.ID, "H56-0002", "05/03/2026", document.ENOTFOUND},
			{clerk.ID, secret.ID, "H56-0003", "05/03/2026", document.EINVALID},
			{clerk.ID, secret.ID, "H56-0001", "05/03/2026", document.EINVALID},
			{clerk.ID, d.ID, "ab", "05/03/2026", document.EINVALID},
			{clerk.ID, d.ID, "H56 0001", "05/03/2026", document.EINVALID},
			{clerk.ID, d.ID, "H56-0004", "31/02/2026", document.EINVALID},
			{clerk.ID, "nope", "H56-0004", "05/03/2026", document.ENOTFOUND},
		} {
			if _, err := svc.Attach(ctx, c.who, c.doc, c.code, c.day); document.ErrorCode(err) != c.want {
				t.Errorf("Attach(%s, %q, %q): %v, want %s", c.doc[:4], c.code, c.day, err, c.want)
			}
		}
		// A second document cannot take the same code.
		d2 := incoming(document.ConfidentialityNormal)
		if _, err := svc.Attach(ctx, clerk.ID, d2.ID, "H56-0001", "05/03/2026"); document.ErrorCode(err) != document.ECONFLICT {
			t.Errorf("a second document with the code: %v, want ECONFLICT", err)
		}

		st, err := svc.Public(ctx, "h56-0001", "2026-03-05")
		must(t, err)
		if st.HandlingUnit != org.Name || !st.Late || st.Completed || len(st.Steps) != 1 {
			t.Errorf("status = %+v", st)
		}
		for _, miss := range [][2]string{{"H56-0001", "06/03/2026"}, {"H56-9999", "05/03/2026"}, {"", ""}, {"💥", "x"}, {strings.Repeat("A", 500), "05/03/2026"}} {
			if _, err := svc.Public(ctx, miss[0], miss[1]); err != lookup.ErrNoDossier {
				t.Errorf("Public(%q, %q) = %v, want ErrNoDossier", miss[0], miss[1], err)
			}
		}
		if _, err := svc.Status(ctx, clerk.ID, "H56-0001"); err != nil {
			t.Errorf("the one-stop pull: %v", err)
		}
		if _, err := svc.Status(ctx, outsider.ID, "H56-0001"); document.ErrorCode(err) != document.ENOTFOUND {
			t.Errorf("another organization's pull: %v, want ENOTFOUND", err)
		}
		if _, err := svc.Status(ctx, leader.ID, "H56-0001"); document.ErrorCode(err) != document.EFORBIDDEN {
			t.Errorf("a leader's pull: %v, want EFORBIDDEN", err)
		}
	})
}

func FuzzLookupInput(f *testing.F) {
	for _, s := range [][2]string{{"H56.22-260305-0042", "05/03/2026"}, {"", ""}, {"a/b_c.d-e", "2026-03-05"}, {"\x00\xff", "31/02/2026"}, {"ĐƠN-1", "1/1/2000"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, code, day string) {
		if c, err := lookup.NormalizeCode(code); err == nil {
			if len(c) < 4 || len(c) > lookup.MaxCodeLen || strings.ContainsAny(c, " \t\r\n'\";") {
				t.Fatalf("NormalizeCode(%q) accepted %q", code, c)
			}
		} else if document.ErrorCode(err) != document.EINVALID {
			t.Fatalf("NormalizeCode(%q): untyped %v", code, err)
		}
		if d, err := lookup.ParseFiledOn(day); err == nil {
			if _, perr := time.Parse(time.DateOnly, d); perr != nil {
				t.Fatalf("ParseFiledOn(%q) = %q", day, d)
			}
		} else if document.ErrorCode(err) != document.EINVALID {
			t.Fatalf("ParseFiledOn(%q): untyped %v", day, err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
