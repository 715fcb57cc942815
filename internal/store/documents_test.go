package store_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestDocumentCRUD(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		d := f.draft(t, db, "Về việc phê duyệt kế hoạch năm 2026")
		if d.State != document.StateDraft || d.RowVersion != 1 || d.ID == "" {
			t.Fatalf("created %+v", d)
		}
		got, err := db.Document(ctx, d.ID)
		must(t, err)
		if got.Subject != d.Subject || got.State != document.StateDraft || !got.CreatedAt.Equal(d.CreatedAt) || got.SignerID != "" {
			t.Errorf("Document = %+v", got)
		}

		// A stale copy cannot overwrite a newer one.
		stale := *got
		got.State = document.StateInReview
		got.SignerID = f.clerk.ID
		must(t, db.UpdateDocument(ctx, got))
		if got.RowVersion != 2 {
			t.Errorf("RowVersion after update = %d", got.RowVersion)
		}
		stale.Subject = "lost update"
		wantCode(t, db.UpdateDocument(ctx, &stale), document.ECONFLICT)
		again, err := db.Document(ctx, d.ID)
		must(t, err)
		if again.State != document.StateInReview || again.Subject == "lost update" || again.SignerID != f.clerk.ID {
			t.Errorf("after update %+v", again)
		}
		ghost := *again
		ghost.ID = "nope"
		wantCode(t, db.UpdateDocument(ctx, &ghost), document.ENOTFOUND)

		bad := *d
		bad.TypeCode = "no-such-type"
		wantCode(t, db.CreateDocument(ctx, &bad), document.EINVALID)
		bad = *d
		bad.Urgency = "urgent!"
		wantCode(t, db.CreateDocument(ctx, &bad), document.EINVALID)

		list, err := db.Documents(ctx, store.DocumentFilter{OrgID: f.org.ID, States: []document.State{document.StateInReview}})
		must(t, err)
		if len(list) != 1 || list[0].ID != d.ID {
			t.Errorf("Documents(in_review) = %d", len(list))
		}
		list, err = db.Documents(ctx, store.DocumentFilter{OrgID: f.org.ID, States: []document.State{document.StateDraft}})
		must(t, err)
		if len(list) != 0 {
			t.Errorf("Documents(draft) = %d", len(list))
		}
		_, err = db.Documents(ctx, store.DocumentFilter{})
		wantCode(t, err, document.EINVALID)
	})
}

func TestIncomingFieldsAndOverdue(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		deadline := time.Date(2026, 3, 2, 16, 59, 59, 0, time.UTC)
		in := &document.Document{
			OrgID: f.org.ID, UnitID: f.org.ID, Direction: document.Incoming, TypeCode: document.TypeCongVan,
			Subject: "Về việc báo cáo", Urgency: document.UrgencyUrgent, Confidentiality: document.ConfidentialityNormal,
			CreatedBy: f.clerk.ID, Symbol: "12/SYT-VP", SenderName: "Sở Y tế", ReceivedAt: deadline.Add(-72 * time.Hour),
		}
		must(t, db.CreateDocument(ctx, in))
		got, err := db.Document(ctx, in.ID)
		must(t, err)
		if got.State != document.StateRegistered || got.Symbol != "12/SYT-VP" || got.SenderName != "Sở Y tế" || !got.ReceivedAt.Equal(in.ReceivedAt) {
			t.Errorf("incoming %+v", got)
		}
		got.State, got.HandlerID, got.Deadline = document.StateAssigned, f.drafter.ID, deadline
		must(t, db.UpdateDocument(ctx, got))

		over, err := db.OverdueDocuments(ctx, f.org.ID, deadline.Add(time.Second))
		must(t, err)
		if len(over) != 1 || !over[0].Deadline.Equal(deadline) {
			t.Errorf("overdue after deadline = %v", over)
		}
		over, err = db.OverdueDocuments(ctx, f.org.ID, deadline)
		must(t, err)
		if len(over) != 0 {
			t.Errorf("overdue at deadline = %v", over)
		}
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			dups, err := tx.IncomingDuplicates(ctx, f.org.ID, "Sở Y tế", "12/SYT-VP")
			if err != nil {
				return err
			}
			if len(dups) != 1 {
				t.Errorf("duplicates = %d", len(dups))
			}
			dups, err = tx.IncomingDuplicates(ctx, f.org.ID, "Sở Tài chính", "12/SYT-VP")
			if len(dups) != 0 {
				t.Errorf("duplicates of another sender = %d", len(dups))
			}
			return err
		})
		must(t, err)
	})
}

func TestRecipients(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		d := f.draft(t, db, "Thông báo lịch họp")
		must(t, db.SetRecipients(ctx, d.ID, []string{f.finance.ID, f.office.ID, f.finance.ID}))
		rs, err := db.Recipients(ctx, d.ID)
		must(t, err)
		if len(rs) != 2 {
			t.Fatalf("recipients %v", rs)
		}
		wantCode(t, db.SetRecipients(ctx, d.ID, []string{"nope"}), document.EINVALID)
		in := f.draft(t, db, "copy")
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.MarkDelivered(ctx, d.ID, f.finance.ID, in.ID); err != nil {
				return err
			}
			wantCode(t, tx.MarkDelivered(ctx, d.ID, f.finance.ID, in.ID), document.ECONFLICT)
			wantCode(t, tx.MarkDelivered(ctx, d.ID, f.org.ID, in.ID), document.ENOTFOUND)
			return nil
		})
		must(t, err)
		rs, err = db.Recipients(ctx, d.ID)
		must(t, err)
		for _, r := range rs {
			if (r.UnitID == f.finance.ID) != (r.DeliveredID == in.ID) {
				t.Errorf("recipient %+v", r)
			}
		}
	})
}

func TestVersionsAreAppendOnly(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		d := f.draft(t, db, "Quyết định khen thưởng")
		kinds := []document.VersionKind{document.VersionDraft, document.VersionLeaderSigned, document.VersionNumbered, document.VersionSealed}
		for i, k := range kinds {
			v := &document.Version{DocumentID: d.ID, Kind: k, BlobKey: "docs/" + d.ID + "/" + string(k), SHA256: hash(string(k)), Size: int64(100 + i), CreatedBy: f.drafter.ID}
			must(t, db.AddVersion(ctx, v))
			if v.Seq != i+1 {
				t.Errorf("version %s seq %d, want %d", k, v.Seq, i+1)
			}
		}
		vs, err := db.Versions(ctx, d.ID)
		must(t, err)
		if len(vs) != 4 || vs[3].Kind != document.VersionSealed || vs[0].SHA256 != hash("draft") || vs[1].Size != 101 {
			t.Errorf("versions %+v", vs)
		}
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			v, err := tx.LatestVersion(ctx, d.ID)
			if err == nil && v.Seq != 4 {
				t.Errorf("latest seq %d", v.Seq)
			}
			return err
		})
		must(t, err)
		wantCode(t, db.AddVersion(ctx, &document.Version{DocumentID: "nope", Kind: document.VersionDraft, BlobKey: "k", SHA256: hash("x"), Size: 1, CreatedBy: f.drafter.ID}), document.ENOTFOUND)
		wantCode(t, db.AddVersion(ctx, &document.Version{DocumentID: d.ID, Kind: "final", BlobKey: "k", SHA256: hash("x"), Size: 1, CreatedBy: f.drafter.ID}), document.EINVALID)

		a := &document.Attachment{DocumentID: d.ID, Name: "Phụ lục I.pdf", BlobKey: "att/1", SHA256: hash("a"), Size: 9, CreatedBy: f.drafter.ID}
		must(t, db.AddAttachment(ctx, a))
		as, err := db.Attachments(ctx, d.ID)
		must(t, err)
		if len(as) != 1 || as[0].Name != "Phụ lục I.pdf" || as[0].ContentType != "application/octet-stream" {
			t.Errorf("attachments %+v", as)
		}
	})
}

func TestReviewRounds(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		d := f.draft(t, db, "Tờ trình")
		at := time.Date(2026, 2, 5, 2, 0, 0, 0, time.UTC)
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.StartReviewRound(ctx, d.ID, nil); !errors.Is(err, document.ErrInvalid) {
				t.Errorf("empty round err = %v", err)
			}
			steps, err := tx.StartReviewRound(ctx, d.ID, []string{f.clerk.ID, f.drafter.ID})
			if err != nil {
				return err
			}
			if len(steps) != 2 || steps[0].Round != 1 || steps[1].Seq != 2 {
				t.Errorf("steps %+v", steps)
			}
			if err := tx.DecideReview(ctx, d.ID, 1, 1, document.ReviewReturned, "sửa lại", at); err != nil {
				return err
			}
			wantCode(t, tx.DecideReview(ctx, d.ID, 1, 1, document.ReviewApproved, "", at), document.ECONFLICT)
			wantCode(t, tx.DecideReview(ctx, d.ID, 1, 9, document.ReviewApproved, "", at), document.ENOTFOUND)
			_, err = tx.StartReviewRound(ctx, d.ID, []string{f.clerk.ID})
			return err
		})
		must(t, err)
		round, err := db.ReviewRound(ctx, d.ID)
		must(t, err)
		if len(round) != 1 || round[0].Round != 2 || round[0].Decision != document.ReviewPending {
			t.Errorf("latest round %+v", round)
		}
		none, err := db.ReviewRound(ctx, "nope")
		must(t, err)
		if none != nil {
			t.Errorf("round of unknown document %v", none)
		}
	})
}

func TestRegisters(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		r, err := db.EnsureRegister(ctx, f.org.ID, document.Outgoing, 2026, document.SeriesGeneral)
		must(t, err)
		again, err := db.EnsureRegister(ctx, f.org.ID, document.Outgoing, 2026, document.SeriesGeneral)
		must(t, err)
		if r.ID != again.ID || r.NextNumber != 1 || r.Name != "Sổ văn bản đi năm 2026" {
			t.Errorf("registers %+v %+v", r, again)
		}
		secret, err := db.EnsureRegister(ctx, f.org.ID, document.Outgoing, 2026, document.SeriesSecret)
		must(t, err)
		next, err := db.EnsureRegister(ctx, f.org.ID, document.Outgoing, 2027, document.SeriesGeneral)
		must(t, err)
		for i, want := range []int{1, 2, 3} {
			n, err := db.NextNumber(ctx, r.ID)
			must(t, err)
			if n != want {
				t.Errorf("number %d = %d", i, n)
			}
		}
		// Other series and a new year start again from 1.
		for _, reg := range []*document.Register{secret, next} {
			n, err := db.NextNumber(ctx, reg.ID)
			must(t, err)
			if n != 1 {
				t.Errorf("first number of %s = %d", reg.Name, n)
			}
		}
		// A rolled-back transaction gives its number back: no gap.
		rollback := errors.New("rollback")
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			if n, err := tx.NextNumber(ctx, r.ID); err != nil || n != 4 {
				t.Errorf("in tx: %d, %v", n, err)
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		n, err := db.NextNumber(ctx, r.ID)
		must(t, err)
		if n != 4 {
			t.Errorf("after rollback got %d, want 4", n)
		}
		_, err = db.NextNumber(ctx, "nope")
		wantCode(t, err, document.ENOTFOUND)
		_, err = db.EnsureRegister(ctx, "nope", document.Outgoing, 2026, document.SeriesGeneral)
		wantCode(t, err, document.ENOTFOUND)
		_, err = db.EnsureRegister(ctx, f.org.ID, "up", 2026, document.SeriesGeneral)
		wantCode(t, err, document.EINVALID)
		regs, err := db.Registers(ctx, f.org.ID, 2026)
		must(t, err)
		if len(regs) != 2 {
			t.Errorf("registers of 2026: %d", len(regs))
		}
	})
}

// TestNextNumberConcurrent numbers 200 documents at once from one register,
// each taking the number and writing it on its document in one transaction:
// the numbers must be exactly 1..200.
func TestNextNumberConcurrent(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		reg, err := db.EnsureRegister(ctx, f.org.ID, document.Outgoing, 2026, document.SeriesGeneral)
		must(t, err)
		const n = 200
		docs := make([]*document.Document, n)
		for i := range docs {
			docs[i] = f.draft(t, db, "Văn bản số "+document.FormatNumber(i))
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, d := range docs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.WithTx(ctx, func(tx *store.Tx) error {
					doc, err := tx.Document(ctx, d.ID)
					if err != nil {
						return err
					}
					num, err := tx.NextNumber(ctx, reg.ID)
					if err != nil {
						return err
					}
					doc.RegisterID, doc.Number = reg.ID, num
					return tx.UpdateDocument(ctx, doc)
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var got []int
		for _, d := range docs {
			doc, err := db.Document(ctx, d.ID)
			must(t, err)
			got = append(got, doc.Number)
		}
		sort.Ints(got)
		for i, num := range got {
			if num != i+1 {
				t.Fatalf("numbers are not exactly 1..%d: position %d holds %d (%v)", n, i, num, got)
			}
		}
		r, err := db.Register(ctx, reg.ID)
		must(t, err)
		if r.NextNumber != n+1 {
			t.Errorf("register next number %d", r.NextNumber)
		}
		entries, err := db.RegisterEntries(ctx, reg.ID)
		must(t, err)
		if len(entries) != n || entries[0].Number != 1 || entries[n-1].Number != n {
			t.Errorf("register entries: %d", len(entries))
		}
	})
}
