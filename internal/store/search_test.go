package store_test

import (
	"context"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestSearchDocuments(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a := f.draft(t, db, "Quyết định phê duyệt kế hoạch phòng chống thiên tai")
		b := f.draft(t, db, "Báo cáo tình hình kinh tế 50% quý I")
		secret := &document.Document{OrgID: f.org.ID, UnitID: f.finance.ID, Direction: document.Outgoing,
			TypeCode: document.TypeQuyetDinh, Subject: "Kế hoạch mật", Urgency: document.UrgencyNormal,
			Confidentiality: document.ConfidentialitySecret, CreatedBy: f.clerk.ID}
		must(t, db.CreateDocument(ctx, secret))
		outsider := &document.User{OrgID: f.org.ID, Username: "out." + f.org.ID[:6], FullName: "Lê Văn Ngoài"}
		must(t, db.CreateUser(ctx, outsider))
		must(t, db.GrantRole(ctx, outsider.ID, f.office.ID, document.RoleDrafter))

		ids := func(q document.Query) []string {
			t.Helper()
			docs, err := db.SearchDocuments(ctx, q)
			must(t, err)
			var out []string
			for _, d := range docs {
				out = append(out, d.ID)
			}
			return out
		}
		drafter := document.Viewer{UserID: f.drafter.ID}
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: drafter, Text: "ke HOACH"}); len(got) != 1 || got[0] != a.ID {
			t.Errorf("accent-insensitive text search: %v, want [%s] (the secret plan hidden)", got, a.ID)
		}
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: drafter, Text: "50%"}); len(got) != 1 || got[0] != b.ID {
			t.Errorf("%% is literal: %v", got)
		}
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: drafter, Text: "_"}); len(got) != 0 {
			t.Errorf("_ is literal: %v", got)
		}
		clerk := document.Viewer{UserID: f.clerk.ID, ClerkPaths: []string{"/" + f.org.ID + "/"}}
		// The clerk created the secret one; a clerk grant alone must also see it.
		grants, err := db.Grants(ctx, f.clerk.ID)
		must(t, err)
		clerk = document.ViewerOf(f.clerk.ID, grants)
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: clerk, Text: "kế hoạch"}); len(got) != 2 {
			t.Errorf("clerk sees %d plans, want 2", len(got))
		}
		og, err := db.Grants(ctx, outsider.ID)
		must(t, err)
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: document.ViewerOf(outsider.ID, og)}); len(got) != 2 {
			t.Errorf("another drafter of the office sees %d documents, want the 2 ordinary ones", len(got))
		}
		// Someone of the finance unit sees none of the office's documents.
		accountant := &document.User{OrgID: f.org.ID, Username: "acc." + f.org.ID[:6], FullName: "Phạm Thị Kế Toán"}
		must(t, db.CreateUser(ctx, accountant))
		must(t, db.GrantRole(ctx, accountant.ID, f.finance.ID, document.RoleDrafter))
		ag, err := db.Grants(ctx, accountant.ID)
		must(t, err)
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: document.ViewerOf(accountant.ID, ag)}); len(got) != 0 {
			t.Errorf("a drafter of another unit sees %v", got)
		}
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: clerk, UnitID: f.finance.ID}); len(got) != 1 || got[0] != secret.ID {
			t.Errorf("unit filter: %v", got)
		}
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: clerk, UnitID: f.org.ID}); len(got) != 3 {
			t.Errorf("root unit covers every unit: %d", len(got))
		}
		// Pages of one, newest first, continue without repeats.
		var seen []string
		q := document.Query{OrgID: f.org.ID, Viewer: clerk, Limit: 1}
		for range 5 {
			docs, err := db.SearchDocuments(ctx, q)
			must(t, err)
			if len(docs) == 0 {
				break
			}
			seen = append(seen, docs[0].ID)
			q.AfterCreated, q.AfterID = docs[0].CreatedAt, docs[0].ID
		}
		if len(seen) != 3 || seen[0] != secret.ID || seen[2] != a.ID {
			t.Errorf("pages: %v", seen)
		}
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: clerk, From: time.Now().Add(time.Hour)}); len(got) != 0 {
			t.Errorf("date range: %v", got)
		}
		if _, err := db.SearchDocuments(ctx, document.Query{OrgID: f.org.ID}); document.ErrorCode(err) != document.EINVALID {
			t.Errorf("no viewer: %v", err)
		}
		// Updating keeps the folded text current.
		a.Subject = "Thông báo lịch tiếp công dân"
		must(t, db.UpdateDocument(ctx, a))
		if got := ids(document.Query{OrgID: f.org.ID, Viewer: drafter, Text: "tiep cong dan"}); len(got) != 1 {
			t.Errorf("after update: %v", got)
		}
	})
}
