package workflow_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
)

// flakyTx is a store transaction whose audit append fails on demand, the
// last step of every use case.
type flakyTx struct {
	*store.Tx
	fail *atomic.Bool
}

func (f flakyTx) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if f.fail.Load() {
		return audit.Entry{}, errors.New("audit disk full")
	}
	return f.Tx.AppendAudit(ctx, e)
}

type flakyDB struct {
	db   *store.DB
	fail *atomic.Bool
}

func (d flakyDB) WithTx(ctx context.Context, fn func(tx flakyTx) error) error {
	return d.db.WithTx(ctx, func(tx *store.Tx) error { return fn(flakyTx{tx, d.fail}) })
}

// TestFailedAuditRollsBackEverything: when the audit entry cannot be
// written, the number taken, the state change and the deliveries are all
// undone, so the next attempt gets the same number and nothing is delivered
// twice.
func TestFailedAuditRollsBackEverything(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		fail := &atomic.Bool{}
		svc := workflow.New[flakyTx](flakyDB{db, fail}, nil)
		svc.Now = w.svc.Now

		d := w.draft(document.TypeQuyetDinh, "", w.orgB.ID, w.finance.ID)
		w.toSigned(d)
		fail.Store(true)
		_, err := svc.Number(ctx, as(w.clerk), d.ID)
		if err == nil || document.ErrorCode(err) != document.EINTERNAL {
			t.Fatalf("Number with failing audit: %v", err)
		}
		got, err := db.Document(ctx, d.ID)
		w.must(err)
		if got.State != document.StateSigned || got.Number != 0 {
			t.Fatalf("after failed numbering: %s %d", got.State, got.Number)
		}
		fail.Store(false)
		got, err = svc.Number(ctx, as(w.clerk), d.ID)
		w.must(err)
		if got.Number != 1 {
			t.Fatalf("number after retry %d, want 1 (no gap)", got.Number)
		}
		_, err = svc.Seal(ctx, as(w.clerk), d.ID, file("sealed"))
		w.must(err)

		fail.Store(true)
		_, err = svc.Issue(ctx, as(w.clerk), d.ID)
		if err == nil {
			t.Fatal("Issue with failing audit succeeded")
		}
		rs, err := db.Recipients(ctx, d.ID)
		w.must(err)
		for _, r := range rs {
			if r.DeliveredID != "" {
				t.Fatalf("delivery to %s survived the rollback", r.UnitID)
			}
		}
		fail.Store(false)
		_, err = svc.Issue(ctx, as(w.clerk), d.ID)
		w.must(err)
		rs, err = db.Recipients(ctx, d.ID)
		w.must(err)
		if len(rs) != 2 {
			t.Fatalf("recipients %v", rs)
		}
		for _, r := range rs {
			in, err := db.Document(ctx, r.DeliveredID)
			w.must(err)
			// Each receiving organization numbers arrivals from 1.
			if in.Number != 1 || in.Direction != document.Incoming {
				t.Errorf("delivered to %s: number %d", r.UnitID, in.Number)
			}
		}
		r, err := audit.Verify(ctx, db)
		w.must(err)
		if !r.OK {
			t.Errorf("audit %+v", r)
		}
	})
}

func TestDraftingRoleIsChecked(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := w.draft(document.TypeCongVan, "")
		// A colleague in the same unit may carry the draft on.
		att, err := w.svc.AddAttachment(ctx, as(w.drafter2), d.ID, "Phụ lục.pdf", "application/pdf", file("annex"))
		w.must(err)
		if att.CreatedBy != w.drafter2.ID {
			t.Errorf("attachment by %s", att.CreatedBy)
		}
		w.must(w.svc.SetRecipients(ctx, as(w.drafter2), d.ID, []string{w.finance.ID}))
		// The creator loses the role when moved out of the unit.
		w.must(db.RevokeRole(ctx, w.drafter.ID, w.office.ID, document.RoleDrafter))
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer1.ID})
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.Withdraw(ctx, as(w.drafter), d.ID, "")
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.Withdraw(ctx, as(w.admin), d.ID, "người soạn chuyển công tác")
		w.must(err)
		err = w.svc.SetRecipients(ctx, as(w.drafter2), d.ID, nil)
		wantCode(t, err, document.ECONFLICT)
		_, err = w.svc.AddAttachment(ctx, as(w.drafter2), d.ID, "late.pdf", "", file("late"))
		wantCode(t, err, document.ECONFLICT)
	})
}
