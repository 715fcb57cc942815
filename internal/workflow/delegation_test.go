package workflow_test

import (
	"fmt"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestSigningOnBehalf(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		deputy := &document.User{OrgID: w.org.ID, Username: "deputy." + w.org.ID[:8], FullName: "Trần Văn Phó", Title: "Phó Chủ tịch"}
		w.must(db.CreateUser(ctx, deputy))
		w.signer.Title, w.signer.FullName = "Chủ tịch", "Nguyễn Văn Chủ"
		w.must(db.UpdateUser(ctx, w.signer))

		kt := document.Delegation{PrincipalID: w.signer.ID, DelegateID: deputy.ID, Capacity: document.CapacityKT,
			ValidFrom: w.now.AddDate(0, 0, -1), ValidUntil: w.now.AddDate(0, 1, 0), Reference: "01/QĐ-UBND"}
		_, err := w.svc.CreateDelegation(ctx, as(w.drafter), kt)
		wantCode(t, err, document.EFORBIDDEN)
		bad := kt
		bad.Capacity, bad.ValidUntil = document.CapacityTUQ, time.Time{}
		_, err = w.svc.CreateDelegation(ctx, as(w.signer), bad)
		wantCode(t, err, document.EINVALID)
		bad = kt
		bad.PrincipalID, bad.DelegateID = deputy.ID, w.signer.ID // the deputy has nothing to delegate
		_, err = w.svc.CreateDelegation(ctx, as(w.admin), bad)
		wantCode(t, err, document.EINVALID)
		del, err := w.svc.CreateDelegation(ctx, as(w.signer), kt)
		w.must(err)

		d := w.draft(document.TypeQuyetDinh, "")
		_, err = w.svc.AssignSignerAs(ctx, as(w.drafter), d.ID, deputy.ID, document.CapacityTL, w.signer.ID)
		wantCode(t, err, document.EINVALID) // KT. delegation only
		_, err = w.svc.AssignSigner(ctx, as(w.drafter), d.ID, deputy.ID)
		wantCode(t, err, document.EINVALID) // no signer role of their own
		_, err = w.svc.AssignSignerAs(ctx, as(w.drafter), d.ID, deputy.ID, document.CapacityKT, w.signer.ID)
		w.must(err)
		block, err := w.svc.SignatureBlock(ctx, as(w.drafter), d.ID)
		w.must(err)
		if got := fmt.Sprint(block.Lines()); got != "[KT. CHỦ TỊCH PHÓ CHỦ TỊCH Trần Văn Phó]" {
			t.Errorf("KT block %s", got)
		}
		_, err = w.svc.SubmitForReview(ctx, as(w.drafter), d.ID, []string{w.reviewer1.ID})
		w.must(err)
		_, err = w.svc.Approve(ctx, as(w.reviewer1), d.ID, "")
		w.must(err)
		_, err = w.svc.StartSigning(ctx, as(deputy), d.ID)
		w.must(err)

		// The principal revokes while the deputy's session runs: the
		// signature can no longer be recorded.
		w.now = w.now.Add(time.Minute)
		w.must(w.svc.RevokeDelegation(ctx, as(w.signer), del.ID))
		wantCode(t, w.svc.RevokeDelegation(ctx, as(w.signer), del.ID), document.ECONFLICT)
		w.now = w.now.Add(time.Minute)
		_, err = w.svc.RecordSignature(ctx, as(deputy), d.ID, file("signed by deputy"))
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.SigningFailed(ctx, as(deputy), d.ID, "delegation revoked")
		w.must(err)

		// A fresh delegation lets the deputy finish.
		kt.ValidFrom = w.now
		_, err = w.svc.CreateDelegation(ctx, as(w.admin), kt)
		w.must(err)
		_, err = w.svc.StartSigning(ctx, as(deputy), d.ID)
		w.must(err)
		_, err = w.svc.RecordSignature(ctx, as(deputy), d.ID, file("signed by deputy"))
		w.must(err)

		// TM.: the head signs for the collective.
		tm := w.draft(document.TypeQuyetDinh, "")
		_, err = w.svc.AssignSignerAs(ctx, as(w.drafter), tm.ID, w.signer.ID, document.CapacityTM, "ignored")
		w.must(err)
		block, err = w.svc.SignatureBlock(ctx, as(w.drafter), tm.ID)
		w.must(err)
		if got := fmt.Sprint(block.Lines()); got != "[TM. ỦY BAN NHÂN DÂN XÃ THÀNH LONG CHỦ TỊCH Nguyễn Văn Chủ]" {
			t.Errorf("TM block %s", got)
		}
		_, err = w.svc.SignatureBlock(ctx, as(w.drafter), w.draft(document.TypeCongVan, "").ID)
		wantCode(t, err, document.ECONFLICT)
		_, err = w.svc.AssignSignerAs(ctx, as(w.drafter), tm.ID, w.signer.ID, "XX", "")
		wantCode(t, err, document.EINVALID)
	})
}
