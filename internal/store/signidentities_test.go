package store_test

import (
	"context"
	"testing"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestSigningIdentities(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)

		_, err := db.SigningIdentity(ctx, f.drafter.ID)
		wantCode(t, err, document.ENOTFOUND)
		id := &store.SigningIdentity{UserID: f.drafter.ID, Provider: "mobile", ProviderSigner: "84905000002"}
		must(t, db.SetSigningIdentity(ctx, id))
		if id.CreatedAt.IsZero() || id.UpdatedAt.IsZero() {
			t.Fatalf("timestamps not filled: %+v", id)
		}
		first := id.CreatedAt
		// Replacing keeps the first registration time.
		id2 := &store.SigningIdentity{UserID: f.drafter.ID, Provider: "viettel", ProviderSigner: "0912345678"}
		must(t, db.SetSigningIdentity(ctx, id2))
		got, err := db.SigningIdentity(ctx, f.drafter.ID)
		must(t, err)
		if got.Provider != "viettel" || got.ProviderSigner != "0912345678" || !got.CreatedAt.Equal(first) {
			t.Errorf("after replace %+v (first created %v)", got, first)
		}
		wantCode(t, db.SetSigningIdentity(ctx, &store.SigningIdentity{UserID: f.clerk.ID, Provider: " "}), document.EINVALID)
		wantCode(t, db.SetSigningIdentity(ctx, &store.SigningIdentity{UserID: "nobody", Provider: "mobile"}), document.EINVALID)
		must(t, db.DeleteSigningIdentity(ctx, f.drafter.ID))
		wantCode(t, db.DeleteSigningIdentity(ctx, f.drafter.ID), document.ENOTFOUND)

		_, err = db.SealSigner(ctx, f.org.ID)
		wantCode(t, err, document.ENOTFOUND)
		seal := &store.SealSigner{OrgID: f.org.ID, Provider: "seal"}
		must(t, db.SetSealSigner(ctx, seal))
		must(t, db.SetSealSigner(ctx, &store.SealSigner{OrgID: f.org.ID, Provider: "hsm", ProviderSigner: "slot-1"}))
		gs, err := db.SealSigner(ctx, f.org.ID)
		must(t, err)
		if gs.Provider != "hsm" || gs.ProviderSigner != "slot-1" || !gs.CreatedAt.Equal(seal.CreatedAt) {
			t.Errorf("seal signer %+v", gs)
		}
		wantCode(t, db.SetSealSigner(ctx, &store.SealSigner{OrgID: "nowhere", Provider: "seal"}), document.EINVALID)
		must(t, db.DeleteSealSigner(ctx, f.org.ID))
		wantCode(t, db.DeleteSealSigner(ctx, f.org.ID), document.ENOTFOUND)

		// A callback finds its session by the provider's transaction id.
		d := f.draft(t, db, "gọi lại")
		s := &store.SigningSession{DocumentID: d.ID, SignerUserID: f.drafter.ID, Purpose: store.PurposeLeader,
			Provider: "mobile", State: store.SigningPreparing}
		must(t, db.CreateSigningSession(ctx, s))
		s.State, s.ProviderTxID = store.SigningPending, "A1:tx"
		must(t, db.UpdateSigningSession(ctx, s, store.SigningPreparing))
		bt, err := db.SigningSessionByProviderTx(ctx, "mobile", "A1:tx")
		must(t, err)
		if bt.ID != s.ID {
			t.Errorf("by provider tx: %s, want %s", bt.ID, s.ID)
		}
		_, err = db.SigningSessionByProviderTx(ctx, "other", "A1:tx")
		wantCode(t, err, document.ENOTFOUND)
		_, err = db.SigningSessionByProviderTx(ctx, "mobile", "")
		wantCode(t, err, document.ENOTFOUND)
	})
}
