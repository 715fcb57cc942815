package signsession

import (
	"context"
	"errors"
	"net/http"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/signing"
)

// A batch whose provider implements signing.BatchStarter (VNPT SmartCA) is
// confirmed once on the phone: when its first session's turn comes, every
// prepared, queued session of the batch goes to the provider in one
// transaction, and each session records its own provider transaction id
// while still queued. The sessions then run one after another as before
// (the database allows one active request per leader), but a session that
// already has its transaction id is not sent again: it is polled at once,
// and its signature, confirmed with the others, completes it. The ids are
// in the database, so a crash in the middle resumes with the same
// transaction; a crash before they are saved starts the same batch again,
// which the provider recognises by its idempotency keys.

// batchStarter returns the provider of sess as a BatchStarter when the
// session belongs to a batch.
func (s *Service) batchStarter(sess *store.SigningSession) (signing.BatchStarter, bool) {
	if sess.BatchID == "" || sess.Purpose != store.PurposeLeader {
		return nil, false
	}
	p, ok := s.providers[sess.Provider]
	if !ok {
		return nil, false
	}
	bs, ok := p.(signing.BatchStarter)
	return bs, ok
}

// startBatchAtProvider sends every prepared, queued session of sess's batch
// that has no provider transaction yet (sess among them) in one provider
// transaction, and records each one's transaction id, expiry and poll
// interval. It returns sess as stored afterwards. A refusal the signer
// cannot cure fails sess (the others follow when their turn comes); a
// transient error leaves the batch queued for the next pass, at most
// MaxAttempts times.
func (s *Service) startBatchAtProvider(ctx context.Context, bs signing.BatchStarter, sess *store.SigningSession) (*store.SigningSession, error) {
	members, err := s.db.SigningSessions(ctx, store.SigningSessionFilter{BatchID: sess.BatchID,
		States: []store.SigningState{store.SigningQueued}, Limit: maxBatch})
	if err != nil {
		return nil, err
	}
	max := maxBatch
	if p, ok := bs.(signing.Provider); ok && p.Capabilities().MaxBatch > 0 {
		max = p.Capabilities().MaxBatch
	}
	var batch []*store.SigningSession
	var reqs []signing.Request
	defer func() {
		for _, m := range batch {
			if m.ID != sess.ID {
				s.unclaim(ctx, m.ID)
			}
		}
	}()
	for _, m := range members {
		if m.ProviderTxID != "" || m.SignerUserID != sess.SignerUserID || len(batch) == max {
			continue
		}
		if m.ID == sess.ID {
			m = sess // the caller's copy, claimed by the caller
		} else if ok, err := s.claimMember(ctx, m.ID); err != nil || !ok {
			// StartBatch (or another pass, here or on another node)
			// is preparing it: wait for it, so that the whole batch
			// is one confirmation.
			return sess, err
		}
		if m.PadesState == "" {
			// Left unprepared by a process that died in StartBatch.
			prepared, err := s.prepareQueued(ctx, m)
			if err != nil || prepared.State != store.SigningQueued || prepared.PadesState == "" {
				s.unclaim(ctx, m.ID)
				if err != nil {
					return nil, err
				}
				continue // it failed on its own
			}
			m = prepared
		}
		req, err := batchRequest(m, s.opts.SignTimeout)
		if err != nil {
			if m.ID == sess.ID {
				return s.failWith(ctx, sess, err)
			}
			s.unclaim(ctx, m.ID) // it fails on its own when its turn comes
			continue
		}
		batch, reqs = append(batch, m), append(reqs, req)
	}
	if !contains(batch, sess.ID) {
		return sess, nil // nothing to send with it: sess is sent on its own
	}
	started, err := bs.StartBatch(ctx, reqs)
	if err == nil && len(started) != len(reqs) {
		err = &signing.Error{Kind: signing.KindUnavailable, Provider: sess.Provider, Message: "the provider answered a batch with a different number of sessions"}
	}
	if err != nil {
		var se *signing.Error
		if errors.As(err, &se) && (!se.Retryable() || se.Kind == signing.KindBusy) {
			return s.failWith(ctx, sess, err)
		}
		sess.Attempts++
		if sess.Attempts >= s.opts.MaxAttempts {
			return s.failWith(ctx, sess, err)
		}
		s.log.Info("signsession: batch start will be retried", "batch", sess.BatchID, "attempt", sess.Attempts, "err", err)
		return s.save(ctx, sess, store.SigningQueued)
	}
	var out *store.SigningSession
	for i, m := range batch {
		ps := started[i]
		m.ProviderTxID, m.Attempts = ps.TxID, 0
		if ps.VerificationCode != "" {
			m.VerificationCode = ps.VerificationCode
		}
		m.ExpiresAt = ps.ExpiresAt
		if m.ExpiresAt.IsZero() {
			m.ExpiresAt = s.now().Add(s.opts.SignTimeout)
		}
		m.PollInterval = ps.PollInterval
		if m.PollInterval <= 0 {
			m.PollInterval = s.opts.PollInterval
		}
		if m.ID == sess.ID {
			out = m
		}
	}
	// The provider holds the batch now: every member's transaction is
	// recorded in one commit, which a stopping worker does not cut short.
	// Saved in part, the members left without their transaction would go
	// to the phone as a second batch that nobody confirms; not saved at
	// all, the same batch is sent again and the provider recognises it by
	// its idempotency keys.
	saveCtx := context.WithoutCancel(ctx)
	err = s.db.WithTx(saveCtx, func(tx *store.Tx) error {
		for _, m := range batch {
			if err := tx.UpdateSigningSession(saveCtx, m, store.SigningQueued); err != nil && !isConflict(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return s.reload(ctx, sess.ID)
	}
	return out, nil
}

// batchRequest is the provider request of a prepared session.
func batchRequest(m *store.SigningSession, timeout time.Duration) (signing.Request, error) {
	st, err := loadState(m)
	if err != nil {
		return signing.Request{}, err
	}
	req, err := st.Request(m.ID, m.ProviderSigner, m.DisplayText)
	req.Timeout = timeout
	return req, err
}

func contains(list []*store.SigningSession, id string) bool {
	for _, m := range list {
		if m.ID == id {
			return true
		}
	}
	return false
}

// resumeBatchMember moves a batch member whose provider transaction was
// started with the batch to pending and polls it at once: its signature
// was confirmed with the others, so no request goes to the phone.
func (s *Service) resumeBatchMember(ctx context.Context, sess *store.SigningSession) (*store.SigningSession, error) {
	sess.State, sess.Attempts = store.SigningPending, 0
	sess.NextPollAt = s.now()
	if err := s.db.UpdateSigningSession(ctx, sess, store.SigningPreparing); err != nil {
		if isConflict(err) {
			return s.reload(ctx, sess.ID)
		}
		return nil, err
	}
	return s.pollSession(ctx, sess)
}

// handleBatchCallback settles every pending session a batch callback
// reports. Sessions of the batch still queued are left to the worker,
// which polls them at once when their turn comes.
func (s *Service) handleBatchCallback(ctx context.Context, providerName string, p signing.Provider, bp signing.BatchCallbackParser, r *http.Request) (*Session, error) {
	results, err := bp.ParseBatchCallback(r)
	if err != nil {
		if signing.KindOf(err) == signing.KindUnauthorized {
			return nil, document.Errorf(document.EFORBIDDEN, "callback refused: %v", err)
		}
		return nil, document.Errorf(document.EINVALID, "malformed callback: %v", err)
	}
	var first *Session
	for _, res := range results {
		if res == nil || res.TxID == "" {
			continue
		}
		sess, err := s.db.SigningSessionByProviderTx(ctx, providerName, res.TxID)
		if document.ErrorCode(err) == document.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out := sess
		if sess.State == store.SigningPending && s.claim(sess.ID) {
			out, err = s.settle(ctx, sess, res, p)
			s.release(sess.ID)
			if err != nil {
				return nil, err
			}
			s.afterFinal(ctx, out)
		}
		if first == nil {
			first = view(out)
		}
	}
	if first == nil {
		return nil, document.Errorf(document.ENOTFOUND, "the callback names no known signing session")
	}
	return first, nil
}

// claimMember marks another member of a batch in flight here and claims
// its lease; false when another goroutine or node has it.
func (s *Service) claimMember(ctx context.Context, id string) (bool, error) {
	if !s.claim(id) {
		return false, nil
	}
	ok, err := s.holdOne(ctx, id)
	if err != nil || !ok {
		s.release(id)
	}
	return ok, err
}

// unclaim undoes claimMember: the member stays queued for its turn.
func (s *Service) unclaim(ctx context.Context, id string) {
	s.release(id)
	s.letGo(ctx, id)
}
