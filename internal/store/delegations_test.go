package store_test

import (
	"context"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestDelegations(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		d := &document.Delegation{OrgID: f.org.ID, PrincipalID: f.clerk.ID, DelegateID: f.drafter.ID, Capacity: document.CapacityTUQ,
			ValidFrom: from, ValidUntil: from.AddDate(0, 1, 0), Reference: "15/GUQ-UBND", CreatedBy: f.clerk.ID}
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateDelegation(ctx, d); err != nil {
				return err
			}
			wantCode(t, tx.CreateDelegation(ctx, &document.Delegation{PrincipalID: "a", DelegateID: "a", Capacity: document.CapacityKT, ValidFrom: from}), document.EINVALID)
			got, err := tx.ActiveDelegation(ctx, f.clerk.ID, f.drafter.ID, document.CapacityTUQ, from.AddDate(0, 0, 3))
			if err != nil {
				return err
			}
			if got.ID != d.ID || got.Reference != "15/GUQ-UBND" || !got.ValidUntil.Equal(d.ValidUntil) {
				t.Errorf("active %+v", got)
			}
			for _, at := range []time.Time{from.Add(-time.Second), from.AddDate(0, 1, 0)} {
				_, err := tx.ActiveDelegation(ctx, f.clerk.ID, f.drafter.ID, document.CapacityTUQ, at)
				wantCode(t, err, document.ENOTFOUND)
			}
			_, err = tx.ActiveDelegation(ctx, f.clerk.ID, f.drafter.ID, document.CapacityKT, from.AddDate(0, 0, 3))
			wantCode(t, err, document.ENOTFOUND)
			if err := tx.RevokeDelegation(ctx, d.ID, from.AddDate(0, 0, 10)); err != nil {
				return err
			}
			wantCode(t, tx.RevokeDelegation(ctx, d.ID, from.AddDate(0, 0, 11)), document.ECONFLICT)
			wantCode(t, tx.RevokeDelegation(ctx, "nope", from), document.ENOTFOUND)
			_, err = tx.ActiveDelegation(ctx, f.clerk.ID, f.drafter.ID, document.CapacityTUQ, from.AddDate(0, 0, 12))
			wantCode(t, err, document.ENOTFOUND)
			return nil
		})
		must(t, err)
		list, err := db.Delegations(ctx, f.org.ID)
		must(t, err)
		if len(list) != 1 || list[0].RevokedAt.IsZero() {
			t.Errorf("delegations %+v", list)
		}

		doc := f.draft(t, db, "KT. signed")
		doc.SignerID, doc.SignCapacity, doc.PrincipalID = f.drafter.ID, document.CapacityKT, f.clerk.ID
		must(t, db.UpdateDocument(ctx, doc))
		got, err := db.Document(ctx, doc.ID)
		must(t, err)
		if got.SignCapacity != document.CapacityKT || got.PrincipalID != f.clerk.ID {
			t.Errorf("capacity round trip %+v", got)
		}
	})
}
