package workflow_test

import (
	"testing"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
)

func ids(docs []*document.Document) []string {
	out := []string{}
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out
}

func TestInboxQueues(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d1 := w.draft(document.TypeQuyetDinh, document.ConfidentialityNormal, w.unitB.ID)
		d2 := w.draft(document.TypeQuyetDinh, document.ConfidentialityNormal)
		_, err := w.svc.AssignSigner(ctx, as(w.drafter), d2.ID, w.signer.ID)
		w.must(err)
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d2.ID, []string{w.reviewer1.ID, w.reviewer2.ID})
		w.must(err)

		inbox := func(u *document.User) *workflow.Inbox {
			t.Helper()
			in, err := w.svc.Inbox(ctx, as(u))
			w.must(err)
			return in
		}
		if got := ids(inbox(w.drafter).Drafts); len(got) != 1 || got[0] != d1.ID {
			t.Errorf("drafter's drafts %v, want [d1]", got)
		}
		// Reviews are in order: reviewer2 waits for reviewer1.
		if got := ids(inbox(w.reviewer1).Review); len(got) != 1 || got[0] != d2.ID {
			t.Errorf("reviewer1's review queue %v", got)
		}
		if got := inbox(w.reviewer2).Review; len(got) != 0 {
			t.Errorf("reviewer2 sees a step that is not theirs yet: %v", ids(got))
		}
		_, err = w.svc.Approve(ctx, as(w.reviewer1), d2.ID, "ok")
		w.must(err)
		if got := ids(inbox(w.reviewer2).Review); len(got) != 1 {
			t.Errorf("reviewer2 after reviewer1 approved: %v", got)
		}
		_, err = w.svc.Approve(ctx, as(w.reviewer2), d2.ID, "")
		w.must(err)
		if got := ids(inbox(w.signer).Sign); len(got) != 1 || got[0] != d2.ID {
			t.Errorf("signer's queue %v", got)
		}
		w.toSigned(d1)
		if got := ids(inbox(w.clerk).Number); len(got) != 1 || got[0] != d1.ID {
			t.Errorf("clerk's numbering queue %v", got)
		}
		// Other organizations see nothing of it.
		in := inbox(w.clerkB)
		if len(in.Number)+len(in.Drafts)+len(in.Sign)+len(in.Review) != 0 {
			t.Errorf("clerk of another organization sees %+v", in)
		}
	})
}

func TestSearchIsScopedToTheActor(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		open := w.draft(document.TypeQuyetDinh, document.ConfidentialityNormal)
		secret := w.draft(document.TypeQuyetDinh, document.ConfidentialitySecret)
		// A caller cannot widen the organization or the viewer.
		got, err := w.svc.Search(ctx, as(w.clerkB), document.Query{OrgID: w.org.ID, Viewer: document.Viewer{UserID: w.drafter.ID}})
		w.must(err)
		if len(got) != 0 {
			t.Errorf("another organization's clerk found %v", ids(got))
		}
		got, err = w.svc.Search(ctx, as(w.archivist), document.Query{Text: "to chuc tet"})
		w.must(err)
		if len(got) != 1 || got[0].ID != open.ID {
			t.Errorf("archivist without clerk role found %v, want only the ordinary one", ids(got))
		}
		got, err = w.svc.Search(ctx, as(w.clerk), document.Query{})
		w.must(err)
		if len(got) != 2 {
			t.Errorf("clerk found %v, want both (%s secret)", ids(got), secret.ID)
		}
		_, err = w.svc.Search(ctx, workflow.Actor{}, document.Query{})
		wantCode(t, err, document.EFORBIDDEN)
	})
}

// An ordinary document is seen by the people of its unit and of the units
// above it, not by another unit's people; a handling unit sees the incoming
// documents assigned to it.
func TestVisibilityFollowsUnits(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		accountant := w.user(w.org, "accountant", w.finance.ID, document.RoleDrafter)
		d := w.draft(document.TypeQuyetDinh, document.ConfidentialityNormal)
		_, err := w.svc.Get(ctx, as(accountant), d.ID)
		wantCode(t, err, document.ENOTFOUND)
		found, err := w.svc.Search(ctx, as(accountant), document.Query{})
		w.must(err)
		if len(found) != 0 {
			t.Errorf("another unit's drafter finds %v", ids(found))
		}
		for _, u := range []*document.User{w.drafter2, w.reviewer1, w.signer, w.clerk, w.archivist} {
			if _, err := w.svc.Get(ctx, as(u), d.ID); err != nil {
				t.Errorf("%s cannot see an office draft: %v", u.Username, err)
			}
		}

		// Incoming, assigned to the finance unit: its people see it.
		in, _, err := w.svc.RegisterIncoming(ctx, as(w.clerk), workflow.IncomingInput{UnitID: w.org.ID, TypeCode: document.TypeCongVan,
			Subject: "Công văn về dự toán", SenderName: "Sở Tài chính", File: file("incoming")})
		w.must(err)
		_, err = w.svc.Get(ctx, as(accountant), in.ID)
		wantCode(t, err, document.ENOTFOUND)
		_, err = w.svc.Route(ctx, as(w.clerk), in.ID, w.signer.ID)
		w.must(err)
		handler := w.user(w.org, "handler", w.finance.ID, document.RoleDrafter)
		_, err = w.svc.Assign(ctx, as(w.signer), in.ID, workflow.Assignment{HandlerID: handler.ID, HandlingUnitID: w.finance.ID, WorkingDays: 3})
		w.must(err)
		if _, err := w.svc.Get(ctx, as(accountant), in.ID); err != nil {
			t.Errorf("the handling unit's people cannot see the assigned document: %v", err)
		}
		found, err = w.svc.Search(ctx, as(accountant), document.Query{})
		w.must(err)
		if len(found) != 1 || found[0].ID != in.ID {
			t.Errorf("the handling unit's search finds %v", ids(found))
		}
	})
}
