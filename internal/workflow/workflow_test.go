package workflow_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The store satisfies the interfaces the use cases declare.
var _ workflow.DB[*store.Tx] = (*store.DB)(nil)

type world struct {
	t   *testing.T
	db  *store.DB
	svc *workflow.Service[*store.Tx]
	now time.Time

	org, orgB                                                                *document.Organization
	office, finance, unitB                                                   *document.Unit
	drafter, drafter2, reviewer1, reviewer2, signer, clerk, archivist, admin *document.User
	clerkB, leaderB, handlerB                                                *document.User
}

var ctx = context.Background()

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	cal, err := document.NewCalendar(document.VietnamHolidays2026)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, db: db, svc: workflow.New[*store.Tx](db, cal)}
	// Friday 13 February 2026, 10:00 in Vietnam: Tết starts tomorrow.
	w.now = time.Date(2026, 2, 13, 10, 0, 0, 0, document.VietnamTime)
	w.svc.Now = func() time.Time { return w.now }

	w.org = &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}
	w.must(db.CreateOrganization(ctx, w.org))
	w.office = w.unit(w.org.ID, "VP", "Văn phòng")
	w.finance = w.unit(w.org.ID, "TC", "Tài chính")
	root := w.org.ID
	w.drafter = w.user(w.org, "drafter", w.office.ID, document.RoleDrafter)
	w.drafter2 = w.user(w.org, "drafter2", w.office.ID, document.RoleDrafter)
	w.reviewer1 = w.user(w.org, "reviewer1", root, document.RoleReviewer)
	w.reviewer2 = w.user(w.org, "reviewer2", root, document.RoleReviewer)
	w.signer = w.user(w.org, "signer", root, document.RoleSigner)
	w.clerk = w.user(w.org, "clerk", root, document.RoleClerk)
	w.archivist = w.user(w.org, "archivist", root, document.RoleArchivist)
	w.admin = w.user(w.org, "admin", root, document.RoleAdmin)

	w.orgB = &document.Organization{Abbrev: "SYT", Name: "Sở Y tế", Place: "Thành Long"}
	w.must(db.CreateOrganization(ctx, w.orgB))
	w.unitB = w.unit(w.orgB.ID, "NVY", "Phòng Nghiệp vụ Y")
	w.clerkB = w.user(w.orgB, "clerkB", w.orgB.ID, document.RoleClerk)
	w.leaderB = w.user(w.orgB, "leaderB", w.orgB.ID, document.RoleSigner)
	w.handlerB = w.user(w.orgB, "handlerB", w.unitB.ID, document.RoleDrafter)
	return w
}

func (w *world) unit(parent, abbrev, name string) *document.Unit {
	u := &document.Unit{ParentID: parent, Abbrev: abbrev, Name: name}
	w.must(w.db.CreateUnit(ctx, u))
	return u
}

func (w *world) user(org *document.Organization, name, unitID string, role document.Role) *document.User {
	u := &document.User{OrgID: org.ID, Username: name + "." + org.ID[:8], FullName: "User " + name}
	w.must(w.db.CreateUser(ctx, u))
	w.must(w.db.GrantRole(ctx, u.ID, unitID, role))
	return u
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func as(u *document.User) workflow.Actor {
	return workflow.Actor{UserID: u.ID, ClientAddr: "192.0.2.10"}
}

func file(content string) workflow.File {
	sum := sha256.Sum256([]byte(content))
	return workflow.File{BlobKey: "blobs/" + hex.EncodeToString(sum[:8]), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := document.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want %q", err, got, code)
	}
}

func (w *world) draft(typ string, conf document.Confidentiality, recipients ...string) *document.Document {
	w.t.Helper()
	d, err := w.svc.CreateDraft(ctx, as(w.drafter), workflow.DraftInput{
		UnitID: w.office.ID, TypeCode: typ, Subject: "Về việc tổ chức Tết", Confidentiality: conf,
		Recipients: recipients, File: file("draft of " + typ),
	})
	w.must(err)
	return d
}

// toSigned walks a fresh draft to state signed.
func (w *world) toSigned(d *document.Document) {
	w.t.Helper()
	_, err := w.svc.AssignSigner(ctx, as(w.drafter), d.ID, w.signer.ID)
	w.must(err)
	_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer1.ID})
	w.must(err)
	_, err = w.svc.Approve(ctx, as(w.reviewer1), d.ID, "")
	w.must(err)
	_, err = w.svc.StartSigning(ctx, as(w.signer), d.ID)
	w.must(err)
	_, err = w.svc.RecordSignature(ctx, as(w.signer), d.ID, file("signed "+d.ID))
	w.must(err)
}

func TestOutgoingFlow(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := w.draft(document.TypeQuyetDinh, "", w.orgB.ID)
		if d.State != document.StateDraft || d.Urgency != document.UrgencyNormal {
			t.Fatalf("draft %+v", d)
		}
		_, err := w.svc.CreateDraft(ctx, as(w.reviewer1), workflow.DraftInput{UnitID: w.office.ID, TypeCode: document.TypeCongVan, Subject: "x", File: file("x")})
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.UploadDraftVersion(ctx, as(w.drafter), d.ID, file("draft v2"))
		w.must(err)

		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer1.ID, w.signer.ID})
		wantCode(t, err, document.EINVALID) // the signer is no reviewer
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, nil)
		wantCode(t, err, document.EINVALID)
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer1.ID, w.reviewer2.ID})
		w.must(err)

		_, err = w.svc.Approve(ctx, as(w.reviewer2), d.ID, "")
		wantCode(t, err, document.EFORBIDDEN) // not reviewer2's turn yet
		got, err := w.svc.Approve(ctx, as(w.reviewer1), d.ID, "ổn")
		w.must(err)
		if got.State != document.StateInReview {
			t.Fatalf("after first approval: %s", got.State)
		}
		got, err = w.svc.Approve(ctx, as(w.reviewer2), d.ID, "")
		w.must(err)
		if got.State != document.StateAwaitingSignature {
			t.Fatalf("after last approval: %s", got.State)
		}

		_, err = w.svc.StartSigning(ctx, as(w.signer), d.ID)
		wantCode(t, err, document.ECONFLICT) // no signer assigned yet
		_, err = w.svc.AssignSigner(ctx, as(w.drafter), d.ID, w.reviewer1.ID)
		wantCode(t, err, document.EINVALID)
		_, err = w.svc.AssignSigner(ctx, as(w.drafter), d.ID, w.signer.ID)
		w.must(err)
		_, err = w.svc.StartSigning(ctx, as(w.drafter), d.ID)
		wantCode(t, err, document.EFORBIDDEN)
		v, err := w.svc.StartSigning(ctx, as(w.signer), d.ID)
		w.must(err)
		if v.Seq != 2 || v.Kind != document.VersionDraft {
			t.Errorf("version to sign %+v", v)
		}
		_, err = w.svc.SigningFailed(ctx, as(w.signer), d.ID, "user cancelled on SIM")
		w.must(err)
		_, err = w.svc.RecordSignature(ctx, as(w.signer), d.ID, file("signed"))
		wantCode(t, err, document.ECONFLICT) // must start a new session first
		_, err = w.svc.StartSigning(ctx, as(w.signer), d.ID)
		w.must(err)
		_, err = w.svc.RecordSignature(ctx, as(w.signer), d.ID, file("signed"))
		w.must(err)

		_, err = w.svc.Number(ctx, as(w.drafter), d.ID)
		wantCode(t, err, document.EFORBIDDEN)
		got, err = w.svc.Number(ctx, as(w.clerk), d.ID)
		w.must(err)
		if got.Number != 1 || got.Symbol != "01/QĐ-UBND" || !got.NumberedAt.Equal(w.now) {
			t.Errorf("numbered %d %q %v", got.Number, got.Symbol, got.NumberedAt)
		}
		if line := document.PlaceDate(w.org.Place, got.NumberedAt); line != "Thành Long, ngày 13 tháng 02 năm 2026" {
			t.Errorf("place-date %q", line)
		}
		_, err = w.svc.Number(ctx, as(w.clerk), d.ID)
		wantCode(t, err, document.ECONFLICT)
		_, err = w.svc.Issue(ctx, as(w.clerk), d.ID)
		wantCode(t, err, document.ECONFLICT) // not sealed
		_, err = w.svc.RecordNumberedVersion(ctx, as(w.clerk), d.ID, file("numbered"))
		w.must(err)
		_, err = w.svc.Seal(ctx, as(w.clerk), d.ID, file("sealed"))
		w.must(err)
		got, err = w.svc.Issue(ctx, as(w.clerk), d.ID)
		w.must(err)
		if got.State != document.StateIssued || got.IssuedAt.IsZero() {
			t.Errorf("issued %+v", got)
		}
		_, err = w.svc.Archive(ctx, as(w.clerk), d.ID)
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.Archive(ctx, as(w.archivist), d.ID)
		w.must(err)

		view, err := w.svc.Get(ctx, as(w.drafter), d.ID)
		w.must(err)
		var kinds []document.VersionKind
		for _, v := range view.Versions {
			kinds = append(kinds, v.Kind)
		}
		if fmt.Sprint(kinds) != "[draft draft leader-signed numbered sealed]" {
			t.Errorf("versions %v", kinds)
		}
		if len(view.Recipients) != 1 || view.Recipients[0].DeliveredID == "" {
			t.Fatalf("recipients %+v", view.Recipients)
		}

		// The recipient organization got an incoming document with its own
		// arrival number and the sealed PDF.
		in, err := w.svc.Get(ctx, as(w.clerkB), view.Recipients[0].DeliveredID)
		w.must(err)
		if in.Document.Direction != document.Incoming || in.Document.State != document.StateRegistered ||
			in.Document.Number != 1 || in.Document.Symbol != "01/QĐ-UBND" || in.Document.SenderName != w.org.Name ||
			in.Document.SourceID != d.ID {
			t.Errorf("delivered %+v", in.Document)
		}
		if len(in.Versions) != 1 || in.Versions[0].Kind != document.VersionReceived || in.Versions[0].SHA256 != file("sealed").SHA256 {
			t.Errorf("delivered versions %+v", in.Versions)
		}
		// The sender's people cannot open the recipient's copy.
		_, err = w.svc.Get(ctx, as(w.drafter), in.Document.ID)
		wantCode(t, err, document.ENOTFOUND)

		steps, err := w.svc.Timeline(ctx, as(w.drafter), d.ID)
		w.must(err)
		var actions []string
		for _, s := range steps {
			actions = append(actions, s.Action)
		}
		want := "[create upload_draft submit approve approve assign_signer start_signing signing_failed start_signing sign number record_numbered seal issue archive]"
		if fmt.Sprint(actions) != want {
			t.Errorf("timeline\n got %v\nwant %s", actions, want)
		}
		if steps[2].From != document.StateDraft || steps[2].To != document.StateInReview || steps[2].ActorName != "User drafter" || steps[2].ClientAddr != "192.0.2.10" {
			t.Errorf("submit step %+v", steps[2])
		}
		if steps[len(steps)-1].Duration != 0 {
			t.Errorf("archived document still accumulates time: %v", steps[len(steps)-1].Duration)
		}

		r, err := audit.Verify(ctx, db)
		w.must(err)
		if !r.OK || r.Entries != int64(len(steps))+1 { // +1: the recipient's "receive"
			t.Errorf("audit %+v (timeline %d)", r, len(steps))
		}
	})
}

func TestReturnAndWithdraw(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := w.draft(document.TypeCongVan, "")
		_, err := w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer1.ID})
		w.must(err)
		_, err = w.svc.Return(ctx, as(w.reviewer1), d.ID, " ")
		wantCode(t, err, document.EINVALID)
		_, err = w.svc.Return(ctx, as(w.reviewer2), d.ID, "not mine to return")
		wantCode(t, err, document.EFORBIDDEN)
		got, err := w.svc.Return(ctx, as(w.reviewer1), d.ID, "sửa trích yếu")
		w.must(err)
		if got.State != document.StateDraft {
			t.Fatalf("returned state %s", got.State)
		}
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer2.ID})
		w.must(err)
		view, err := w.svc.Get(ctx, as(w.drafter), d.ID)
		w.must(err)
		if len(view.Review) != 1 || view.Review[0].Round != 2 || view.Review[0].ReviewerID != w.reviewer2.ID {
			t.Errorf("second round %+v", view.Review)
		}
		_, err = w.svc.Approve(ctx, as(w.reviewer2), d.ID, "")
		w.must(err)
		_, err = w.svc.AssignSigner(ctx, as(w.drafter), d.ID, w.signer.ID)
		w.must(err)
		_, err = w.svc.Return(ctx, as(w.reviewer2), d.ID, "late objection")
		wantCode(t, err, document.EFORBIDDEN)
		got, err = w.svc.Return(ctx, as(w.signer), d.ID, "chưa đủ căn cứ")
		w.must(err)
		if got.State != document.StateDraft {
			t.Fatalf("signer return state %s", got.State)
		}

		_, err = w.svc.Withdraw(ctx, as(w.drafter2), d.ID, "not mine")
		wantCode(t, err, document.EFORBIDDEN)
		got, err = w.svc.Withdraw(ctx, as(w.drafter), d.ID, "trùng nội dung")
		w.must(err)
		if got.State != document.StateWithdrawn {
			t.Fatalf("withdrawn state %s", got.State)
		}
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer1.ID})
		wantCode(t, err, document.ECONFLICT)

		signed := w.draft(document.TypeCongVan, "")
		w.toSigned(signed)
		_, err = w.svc.Withdraw(ctx, as(w.admin), signed.ID, "too late")
		wantCode(t, err, document.ECONFLICT)
		_, err = w.svc.UploadDraftVersion(ctx, as(w.drafter), signed.ID, file("overwrite attempt"))
		wantCode(t, err, document.ECONFLICT)
		got, err = w.svc.Number(ctx, as(w.clerk), signed.ID)
		w.must(err)
		if got.Symbol != "01/UBND-VP" {
			t.Errorf("công văn symbol %q", got.Symbol)
		}
	})
}

func TestVisibility(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		open := w.draft(document.TypeCongVan, "")
		secret := w.draft(document.TypeCongVan, document.ConfidentialitySecret)
		_, err := w.svc.Get(ctx, as(w.clerkB), open.ID)
		wantCode(t, err, document.ENOTFOUND)
		_, err = w.svc.Get(ctx, as(w.drafter2), open.ID)
		w.must(err)
		_, err = w.svc.Get(ctx, as(w.drafter2), secret.ID)
		wantCode(t, err, document.ENOTFOUND)
		_, err = w.svc.Get(ctx, as(w.clerk), secret.ID)
		w.must(err)
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), secret.ID, []string{w.reviewer1.ID})
		w.must(err)
		_, err = w.svc.Get(ctx, as(w.reviewer1), secret.ID)
		w.must(err)
		_, err = w.svc.Get(ctx, workflow.Actor{UserID: "nobody"}, open.ID)
		wantCode(t, err, document.EFORBIDDEN)
		w.must(db.SetUserDisabled(ctx, w.drafter2.ID, true))
		_, err = w.svc.Get(ctx, as(w.drafter2), open.ID)
		wantCode(t, err, document.EFORBIDDEN)

		// Secret documents take numbers from their own series.
		secret = w.draft(document.TypeCongVan, document.ConfidentialitySecret)
		w.toSigned(secret)
		plain := w.draft(document.TypeCongVan, "")
		w.toSigned(plain)
		s, err := w.svc.Number(ctx, as(w.clerk), secret.ID)
		w.must(err)
		p, err := w.svc.Number(ctx, as(w.clerk), plain.ID)
		w.must(err)
		if s.Number != 1 || p.Number != 1 || s.RegisterID == p.RegisterID {
			t.Errorf("secret %d in %s, plain %d in %s", s.Number, s.RegisterID, p.Number, p.RegisterID)
		}
	})
}

func TestIncomingFlow(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		in := workflow.IncomingInput{
			UnitID: w.orgB.ID, TypeCode: document.TypeCongVan, Subject: "Về việc phòng chống dịch",
			Urgency: document.UrgencyFlash, SenderName: "Bộ Y tế", SenderSymbol: "123/BYT-DP",
			SenderDate: time.Date(2026, 2, 12, 0, 0, 0, 0, document.VietnamTime), File: file("incoming"),
		}
		_, _, err := w.svc.RegisterIncoming(ctx, as(w.handlerB), in)
		wantCode(t, err, document.EFORBIDDEN)
		d, dups, err := w.svc.RegisterIncoming(ctx, as(w.clerkB), in)
		w.must(err)
		if d.Number != 1 || d.State != document.StateRegistered || len(dups) != 0 || d.Symbol != "123/BYT-DP" {
			t.Fatalf("registered %+v, %d duplicates", d, len(dups))
		}
		again, dups, err := w.svc.RegisterIncoming(ctx, as(w.clerkB), in)
		w.must(err)
		if again.Number != 2 || len(dups) != 1 || dups[0].ID != d.ID {
			t.Errorf("second registration number %d, duplicates %d", again.Number, len(dups))
		}

		_, err = w.svc.Route(ctx, as(w.clerkB), d.ID, w.handlerB.ID)
		wantCode(t, err, document.EINVALID) // not a leader
		_, err = w.svc.Route(ctx, as(w.clerkB), d.ID, w.leaderB.ID)
		w.must(err)
		assign := workflow.Assignment{HandlerID: w.handlerB.ID, HandlingUnitID: w.unitB.ID, WorkingDays: 2, Instruction: "Xử lý gấp"}
		_, err = w.svc.Assign(ctx, as(w.clerkB), d.ID, assign)
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.Assign(ctx, as(w.leaderB), d.ID, workflow.Assignment{HandlerID: w.clerkB.ID, HandlingUnitID: w.unitB.ID, WorkingDays: 2})
		wantCode(t, err, document.EINVALID)
		_, err = w.svc.Assign(ctx, as(w.leaderB), d.ID, workflow.Assignment{HandlerID: w.handlerB.ID, HandlingUnitID: w.unitB.ID, Deadline: w.now.Add(-time.Hour)})
		wantCode(t, err, document.EINVALID)
		got, err := w.svc.Assign(ctx, as(w.leaderB), d.ID, assign)
		w.must(err)
		// Friday 13 Feb + 2 working days over Tết (14–22 Feb): Tuesday 24 Feb.
		wantDeadline := time.Date(2026, 2, 24, 23, 59, 59, 0, document.VietnamTime)
		if !got.Deadline.Equal(wantDeadline) || got.Instruction != "Xử lý gấp" {
			t.Errorf("deadline %v, want %v", got.Deadline.In(document.VietnamTime), wantDeadline)
		}
		_, err = w.svc.StartHandling(ctx, as(w.leaderB), d.ID)
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.StartHandling(ctx, as(w.handlerB), d.ID)
		w.must(err)

		over, err := w.svc.Overdue(ctx, as(w.clerkB), w.orgB.ID)
		w.must(err)
		if len(over) != 0 {
			t.Errorf("overdue before deadline: %d", len(over))
		}
		// The second copy, hỏa tốc, had to be routed the day it arrived.
		if want := time.Date(2026, 2, 13, 23, 59, 59, 0, document.VietnamTime); !again.Deadline.Equal(want) {
			t.Errorf("route-by deadline %v, want %v", again.Deadline, want)
		}
		w.now = time.Date(2026, 2, 14, 8, 0, 0, 0, document.VietnamTime)
		over, err = w.svc.Overdue(ctx, as(w.clerkB), w.orgB.ID)
		w.must(err)
		if len(over) != 1 || over[0].ID != again.ID {
			t.Errorf("overdue routing: %v", over)
		}
		w.now = time.Date(2026, 2, 25, 8, 0, 0, 0, document.VietnamTime)
		over, err = w.svc.Overdue(ctx, as(w.clerkB), w.orgB.ID)
		w.must(err)
		if len(over) != 2 || over[0].ID != again.ID || over[1].ID != d.ID {
			t.Errorf("overdue after handling deadline: %v", over)
		}
		_, err = w.svc.Overdue(ctx, as(w.handlerB), w.orgB.ID)
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.Overdue(ctx, as(w.clerk), w.orgB.ID)
		wantCode(t, err, document.EFORBIDDEN)

		got, err = w.svc.Complete(ctx, as(w.handlerB), d.ID, "Đã triển khai")
		w.must(err)
		if got.State != document.StateCompleted || !got.CompletedAt.Equal(w.now) {
			t.Errorf("completed %+v", got)
		}
		w.now = w.now.Add(time.Hour)
		steps, err := w.svc.Timeline(ctx, as(w.clerkB), d.ID)
		w.must(err)
		last := steps[len(steps)-1]
		// Completed is not terminal (it can still be archived): it keeps counting.
		if last.Action != "complete" || last.Comment != "Đã triển khai" || last.Duration != time.Hour {
			t.Errorf("last step %+v", last)
		}
		if steps[len(steps)-2].Duration != w.now.Add(-time.Hour).Sub(time.Date(2026, 2, 13, 10, 0, 0, 0, document.VietnamTime)) {
			t.Errorf("in-progress duration %v", steps[len(steps)-2].Duration)
		}
		over, err = w.svc.Overdue(ctx, as(w.clerkB), w.orgB.ID)
		w.must(err)
		if len(over) != 1 || over[0].ID != again.ID {
			t.Errorf("completed document still overdue: %v", over)
		}
	})
}

// TestConcurrentNumbering numbers signed documents from many goroutines at
// once through the use case: numbers are exactly 1..n.
func TestConcurrentNumbering(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const n = 12
		docs := make([]*document.Document, n)
		for i := range docs {
			docs[i] = w.draft(document.TypeQuyetDinh, "")
			w.toSigned(docs[i])
		}
		var wg sync.WaitGroup
		symbols := make([]string, n)
		errs := make([]error, n)
		for i, d := range docs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := w.svc.Number(ctx, as(w.clerk), d.ID)
				errs[i] = err
				if err == nil {
					symbols[i] = got.Symbol
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			w.must(err)
		}
		sort.Strings(symbols)
		var want []string
		for i := 1; i <= n; i++ {
			s, _ := document.Symbol(i, document.DocumentType{Abbrev: "QĐ"}, "UBND", "")
			want = append(want, s)
		}
		sort.Strings(want)
		if fmt.Sprint(symbols) != fmt.Sprint(want) {
			t.Errorf("symbols %v, want %v", symbols, want)
		}
		r, err := audit.Verify(ctx, db)
		w.must(err)
		if !r.OK {
			t.Errorf("audit %+v", r)
		}
	})
}
