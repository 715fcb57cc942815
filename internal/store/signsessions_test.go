package store_test

import (
	"context"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestSigningSessions(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		d1, d2, d3 := f.draft(t, db, "một"), f.draft(t, db, "hai"), f.draft(t, db, "ba")
		leader := f.drafter // any user does for the store

		s1 := &store.SigningSession{DocumentID: d1.ID, SignerUserID: leader.ID, Purpose: store.PurposeLeader,
			Provider: "mobile", ProviderSigner: "84905000002", State: store.SigningPreparing, OptionsJSON: `{"x":1}`}
		must(t, db.CreateSigningSession(ctx, s1))
		if s1.ID == "" || s1.CreatedAt.IsZero() {
			t.Fatalf("not filled: %+v", s1)
		}

		// A second active session for the same document, or for the same
		// leader on another document, is refused by the database.
		wantCode(t, db.CreateSigningSession(ctx, &store.SigningSession{DocumentID: d1.ID, SignerUserID: f.clerk.ID,
			Purpose: store.PurposeLeader, Provider: "mobile", State: store.SigningPreparing}), document.ECONFLICT)
		wantCode(t, db.CreateSigningSession(ctx, &store.SigningSession{DocumentID: d2.ID, SignerUserID: leader.ID,
			Purpose: store.PurposeLeader, Provider: "mobile", State: store.SigningPreparing}), document.ECONFLICT)
		// Queued sessions of the same leader wait their turn and are allowed.
		q2 := &store.SigningSession{DocumentID: d2.ID, SignerUserID: leader.ID, Purpose: store.PurposeLeader,
			Provider: "mobile", State: store.SigningQueued, BatchID: "b1", BatchSeq: 1}
		must(t, db.CreateSigningSession(ctx, q2))
		// Seal sessions are not limited per clerk.
		must(t, db.CreateSigningSession(ctx, &store.SigningSession{DocumentID: d3.ID, SignerUserID: leader.ID,
			Purpose: store.PurposeSeal, Provider: "seal", State: store.SigningPreparing}))
		wantCode(t, db.CreateSigningSession(ctx, &store.SigningSession{DocumentID: d3.ID, SignerUserID: leader.ID,
			Purpose: "other", Provider: "seal", State: store.SigningPreparing}), document.EINVALID)

		// Promoting the queued one while s1 is active breaks the signer rule.
		q2.State = store.SigningPreparing
		wantCode(t, db.UpdateSigningSession(ctx, q2, store.SigningQueued), document.ECONFLICT)

		// Compare-and-set: preparing -> pending once; a second writer loses.
		exp := time.Now().Add(5 * time.Minute).UTC().Truncate(time.Microsecond)
		s1.State, s1.ProviderTxID, s1.VerificationCode, s1.ExpiresAt, s1.Digest = store.SigningPending, "tx-1", "1234", exp, "abcd"
		s1.PollInterval, s1.Retryable, s1.Attempts = 1500*time.Millisecond, true, 2
		must(t, db.UpdateSigningSession(ctx, s1, store.SigningPreparing))
		wantCode(t, db.UpdateSigningSession(ctx, s1, store.SigningPreparing), document.ECONFLICT)
		got, err := db.SigningSession(ctx, s1.ID)
		must(t, err)
		if got.State != store.SigningPending || got.ProviderTxID != "tx-1" || got.VerificationCode != "1234" ||
			!got.ExpiresAt.Equal(exp) || got.PollInterval != 1500*time.Millisecond || !got.Retryable || got.Attempts != 2 ||
			got.OptionsJSON != `{"x":1}` || got.ProviderSigner != "84905000002" {
			t.Fatalf("read back %+v", got)
		}
		_, err = db.SigningSession(ctx, "nope")
		wantCode(t, err, document.ENOTFOUND)
		missing := *s1
		missing.ID = "nope"
		wantCode(t, db.UpdateSigningSession(ctx, &missing, store.SigningPending), document.ENOTFOUND)

		s1.State = store.SigningCompleted
		must(t, db.UpdateSigningSession(ctx, s1, store.SigningPending))
		// Now the queued session may start.
		must(t, db.UpdateSigningSession(ctx, q2, store.SigningQueued))

		list, err := db.SigningSessions(ctx, store.SigningSessionFilter{SignerUserID: leader.ID, States: []store.SigningState{store.SigningPreparing, store.SigningCompleted}})
		must(t, err)
		if len(list) != 3 || list[0].ID != s1.ID || list[1].ID != q2.ID {
			t.Fatalf("list %d", len(list))
		}
		list, err = db.SigningSessions(ctx, store.SigningSessionFilter{BatchID: "b1", OrgID: f.org.ID})
		must(t, err)
		if len(list) != 1 || list[0].ID != q2.ID {
			t.Fatalf("batch list %+v", list)
		}
		list, err = db.SigningSessions(ctx, store.SigningSessionFilter{OrgID: "other-org"})
		must(t, err)
		if len(list) != 0 {
			t.Fatalf("other org sees %d", len(list))
		}
		q2.NextPollAt = time.Now().Add(time.Hour)
		must(t, db.UpdateSigningSession(ctx, q2, store.SigningPreparing))
		list, err = db.SigningSessions(ctx, store.SigningSessionFilter{States: []store.SigningState{store.SigningPreparing}, DueBefore: time.Now()})
		must(t, err)
		for _, s := range list {
			if s.ID == q2.ID {
				t.Fatal("a session not yet due is listed as due")
			}
		}
	})
}
