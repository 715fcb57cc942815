package signsession

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing"
	"vanban/signing/pades"
)

// Run works on the signing sessions until ctx ends, and returns ctx's
// error. It makes a pass (RunOnce) when a poll or retry is due, when Wake
// is called (work created or a callback arrived in this process, or
// another node's notification), and at the latest every TickInterval. It
// renews this node's leases meanwhile, and gives them all up when it
// stops, so that other nodes take the sessions over at once.
func (s *Service) Run(ctx context.Context) error {
	// Outcomes the providers learn between polls; the goroutines they
	// start are waited for when Run ends, and none starts after.
	var (
		outcomes    sync.WaitGroup
		outcomesMu  sync.Mutex
		outcomesEnd bool
	)
	for name, p := range s.providers {
		if n, ok := p.(signing.OutcomeNotifier); ok {
			n.NotifyOutcomes(func(txID string) {
				outcomesMu.Lock()
				defer outcomesMu.Unlock()
				if outcomesEnd {
					return
				}
				outcomes.Add(1)
				go func() {
					defer outcomes.Done()
					s.outcomeKnown(ctx, name, txID)
				}()
			})
		}
	}
	defer func() {
		outcomesMu.Lock()
		outcomesEnd = true
		outcomesMu.Unlock()
		outcomes.Wait()
	}()
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		s.renewLoop(renewCtx)
	}()
	defer func() {
		stopRenew()
		<-renewed
		s.releaseAll()
	}()
	floor := min(s.opts.TickInterval, 100*time.Millisecond)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		next, err := s.pass(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("signsession: worker pass", "err", err)
		}
		wait := s.opts.TickInterval
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), floor))
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-t.C:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}

// outcomeKnown settles the session of txID as soon as its provider has the
// outcome (signing.OutcomeNotifier) rather than at the session's next poll:
// with a phone answering in one second, a 500 ms poll cadence alone would
// add a third to the leader's wait. The session may not be pending yet (the
// answer came before the request's own step saved the transaction id) or
// may be in the hands of another goroutine of this node (a poll that saw it
// pending a moment before): both are tried again briefly, and the next
// poll remains the fallback.
func (s *Service) outcomeKnown(ctx context.Context, provider, txID string) {
	deadline := time.Now().Add(outcomeRetryFor)
	for {
		sess, err := s.db.SigningSessionByProviderTx(ctx, provider, txID)
		switch {
		case err == nil && sess.State == store.SigningPending && !s.busy(sess.ID):
			// Should another goroutine claim it first after all, its
			// poll began after the outcome was final and finds it.
			s.work(ctx, sess.ID, store.SigningPending, s.pollSession)
			return
		case err == nil && !sess.State.Active():
			return // settled already
		case err != nil && document.ErrorCode(err) != document.ENOTFOUND:
			s.log.Warn("signsession: finding the session of an outcome", "provider", provider, "err", err)
			return
		}
		if time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(outcomeRetryEvery):
		}
	}
}

const (
	outcomeRetryFor   = 3 * time.Second
	outcomeRetryEvery = 20 * time.Millisecond
)

// pollConcurrency bounds the pending sessions one pass works on at once.
const pollConcurrency = 8

// RunOnce makes one worker pass: polls the pending sessions that are due
// (expiring the overdue ones), resumes sessions waiting for a retry or left
// in preparing by a node that died (prepared again if nothing was saved,
// otherwise sent again with the same idempotency key), and starts the next
// queued request of every signer whose phone is free. It works only on
// sessions whose lease this node holds or can claim: those of other live
// nodes are theirs. Errors of single sessions are logged; the error is for
// the listing queries.
func (s *Service) RunOnce(ctx context.Context) error {
	_, err := s.pass(ctx)
	return err
}

// pass is RunOnce, returning when the next poll or retry is due.
func (s *Service) pass(ctx context.Context) (time.Time, error) {
	now := s.now()
	pending, err := s.db.SigningSessions(ctx, store.SigningSessionFilter{
		States: []store.SigningState{store.SigningPending}, DueBefore: now, FreeFor: s.opts.Node, FreeAt: now, Limit: 500})
	if err != nil {
		return time.Time{}, err
	}
	held, err := s.hold(ctx, ids(pending)...)
	if err != nil {
		return time.Time{}, err
	}
	// A poll waits mostly on the provider, and a completion on the
	// time-stamp authority, the blob store and the database: the sessions
	// of different leaders overlap instead of queueing behind each other.
	// work keeps one goroutine per session.
	var wg sync.WaitGroup
	slots := make(chan struct{}, pollConcurrency)
	for _, sess := range pending {
		if ctx.Err() != nil {
			break
		}
		if !held[sess.ID] {
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(id string) {
			defer func() { <-slots; wg.Done() }()
			s.work(ctx, id, store.SigningPending, s.pollSession)
		}(sess.ID)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return time.Time{}, ctx.Err()
	}

	preparing, err := s.db.SigningSessions(ctx, store.SigningSessionFilter{
		States: []store.SigningState{store.SigningPreparing}, FreeFor: s.opts.Node, FreeAt: now, Limit: 500})
	if err != nil {
		return time.Time{}, err
	}
	var due []*store.SigningSession
	for _, sess := range preparing {
		// Waiting for a retry that is due, or with no retry planned:
		// no goroutine of this node has it (work checks) and no other
		// node holds its lease, so whoever prepared or sent it died.
		if sess.NextPollAt.IsZero() || !sess.NextPollAt.After(now) {
			due = append(due, sess)
		}
	}
	if held, err = s.hold(ctx, ids(due)...); err != nil {
		return time.Time{}, err
	}
	for _, sess := range due {
		if held[sess.ID] {
			s.work(ctx, sess.ID, store.SigningPreparing, s.advance)
		}
	}

	queued, err := s.db.SigningSessions(ctx, store.SigningSessionFilter{
		States: []store.SigningState{store.SigningQueued}, FreeFor: s.opts.Node, FreeAt: now, Limit: 1000})
	if err != nil {
		return time.Time{}, err
	}
	seen := map[string]bool{}
	for _, sess := range queued {
		if !seen[sess.SignerUserID] {
			seen[sess.SignerUserID] = true
			if err := s.startNextQueued(ctx, sess.SignerUserID); err != nil {
				s.log.Warn("signsession: starting a queued request", "signer", sess.SignerUserID, "err", err)
			}
		}
	}
	return s.db.NextSigningPoll(ctx, s.opts.Node, s.now())
}

// take marks a session in flight in this process and claims its lease,
// then loads it as stored now (the caller's copy may be stale: another
// node may have moved it before the claim). ok is false when another
// goroutine or node has it; done undoes the in-flight mark.
func (s *Service) take(ctx context.Context, id string) (sess *store.SigningSession, done func(), ok bool, err error) {
	if !s.claim(id) {
		return nil, nil, false, nil
	}
	held, err := s.holdOne(ctx, id)
	if err != nil || !held {
		s.release(id)
		return nil, nil, false, err
	}
	if sess, err = s.reload(ctx, id); err != nil {
		s.release(id)
		return nil, nil, false, err
	}
	return sess, func() { s.release(id) }, true, nil
}

// work runs step on a session whose lease this node holds and which is
// still in state from, unless another goroutine here is working on it,
// then starts the signer's next queued request if the session ended.
func (s *Service) work(ctx context.Context, id string, from store.SigningState, step func(context.Context, *store.SigningSession) (*store.SigningSession, error)) {
	if !s.claim(id) {
		return
	}
	// As stored now: the listing was made before the lease was ours.
	sess, err := s.reload(ctx, id)
	if err != nil {
		s.release(id)
		s.log.Warn("signsession: loading a session", "session", id, "err", err)
		return
	}
	if sess.State != from {
		s.release(id)
		s.afterStep(ctx, id, sess, nil)
		return
	}
	out, err := step(ctx, sess)
	if err != nil && from == store.SigningPending {
		// The step failed on our side (a time-stamp authority or the
		// blob store down): try again later, not at every pass.
		s.deferPoll(ctx, id)
	}
	s.release(id)
	s.afterStep(ctx, id, out, err)
	if err != nil {
		s.log.Warn("signsession: session step", "session", sess.ID, "state", sess.State, "err", err)
		return
	}
	s.afterFinal(ctx, out)
}

// deferPoll moves the next poll of a pending session back by the poll
// backoff.
func (s *Service) deferPoll(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	sess, err := s.reload(ctx, id)
	if err != nil || sess.State != store.SigningPending {
		return
	}
	sess.Attempts++
	sess.NextPollAt = s.now().Add(backoff(sess.PollInterval, sess.Attempts))
	if err := s.db.UpdateSigningSession(ctx, sess, store.SigningPending); err != nil && !isConflict(err) {
		s.log.Warn("signsession: deferring a poll", "session", id, "err", err)
	}
}

func ids(list []*store.SigningSession) []string {
	out := make([]string, len(list))
	for i, sess := range list {
		out[i] = sess.ID
	}
	return out
}

// afterFinal lets the next queued request of a leader go once one ended.
func (s *Service) afterFinal(ctx context.Context, sess *store.SigningSession) {
	if sess == nil || sess.State.Active() || sess.Purpose != store.PurposeLeader {
		return
	}
	if err := s.startNextQueued(ctx, sess.SignerUserID); err != nil {
		s.log.Warn("signsession: starting a queued request", "signer", sess.SignerUserID, "err", err)
	}
}

// startNextQueued sends the signer's oldest queued request if their phone
// is free. The database refuses a second preparing or pending session per
// leader, and the oldest queued request's lease goes to one node, so of
// two nodes trying, one wins.
func (s *Service) startNextQueued(ctx context.Context, signerID string) error {
	for range maxBatch {
		q, err := s.db.SigningSessions(ctx, store.SigningSessionFilter{SignerUserID: signerID,
			States: []store.SigningState{store.SigningQueued}, Limit: 1})
		if err != nil || len(q) == 0 {
			return err
		}
		sess, done, ok, err := s.take(ctx, q[0].ID)
		if err != nil || !ok {
			return err
		}
		if sess.State != store.SigningQueued {
			done()
			s.afterStep(ctx, sess.ID, sess, nil)
			continue
		}
		out, err := s.startQueued(ctx, sess)
		done()
		s.afterStep(ctx, sess.ID, out, err)
		if err != nil || out == nil || out.State.Active() {
			return err
		}
		// It ended at once (failed before reaching the phone, or a batch
		// member completed by the batch's one confirmation): the next
		// one may go.
	}
	return nil
}

// startQueued moves one queued session to preparing and sends it. A nil
// session means the signer is busy.
func (s *Service) startQueued(ctx context.Context, sess *store.SigningSession) (*store.SigningSession, error) {
	if sess.PadesState == "" {
		var err error
		if sess, err = s.prepareQueued(ctx, sess); err != nil || sess.State != store.SigningQueued {
			return sess, err
		}
	}
	if bs, ok := s.batchStarter(sess); ok && sess.ProviderTxID == "" {
		// One confirmation for the whole batch (batchprovider.go).
		var err error
		if sess, err = s.startBatchAtProvider(ctx, bs, sess); err != nil || sess.State != store.SigningQueued || sess.ProviderTxID == "" {
			return sess, err
		}
	}
	sess.State, sess.NextPollAt = store.SigningPreparing, time.Time{}
	if err := s.db.UpdateSigningSession(ctx, sess, store.SigningQueued); err != nil {
		if isConflict(err) {
			return nil, nil // another request of this signer is active, or this one was cancelled
		}
		return nil, err
	}
	return s.advance(ctx, sess)
}

// pollSession asks the provider for the outcome of a pending session.
func (s *Service) pollSession(ctx context.Context, sess *store.SigningSession) (*store.SigningSession, error) {
	p, err := s.provider(sess.Provider)
	if err != nil {
		return s.failWith(ctx, sess, err)
	}
	res, err := p.Poll(ctx, sess.ProviderTxID, 0)
	if err == nil && res == nil {
		err = &signing.Error{Kind: signing.KindUnavailable, Provider: sess.Provider, Message: "provider returned neither a result nor an error"}
	}
	if err != nil {
		// A failed poll says nothing about the request.
		if s.overdue(sess) {
			return s.expire(ctx, sess, p)
		}
		sess.Attempts++
		sess.NextPollAt = s.now().Add(backoff(sess.PollInterval, sess.Attempts))
		return s.save(ctx, sess, store.SigningPending)
	}
	return s.settle(ctx, sess, res, p)
}

func (s *Service) overdue(sess *store.SigningSession) bool {
	return !sess.ExpiresAt.IsZero() && s.now().After(sess.ExpiresAt.Add(s.opts.ExpiryGrace))
}

// settle applies a provider outcome to a pending session.
func (s *Service) settle(ctx context.Context, sess *store.SigningSession, res *signing.Result, p signing.Provider) (*store.SigningSession, error) {
	switch res.Status {
	case signing.StatusSigned:
		return s.complete(ctx, sess, res.Signature)
	case signing.StatusFailed:
		e := res.Err
		if e == nil {
			e = &signing.Error{Kind: signing.KindUnavailable, Provider: sess.Provider, Message: "provider reported failure without a reason"}
		}
		if (e.Kind == signing.KindUnreachable || e.Kind == signing.KindUnavailable) && sess.Attempts+1 < s.opts.MaxAttempts {
			// The phone was out of reach or the provider lost the
			// request: send it again under the same idempotency key.
			sess.State = store.SigningPreparing
			return s.retryLater(ctx, sess, store.SigningPending, e)
		}
		return s.failWith(ctx, sess, e)
	}
	if s.overdue(sess) {
		return s.expire(ctx, sess, p)
	}
	sess.Attempts = 0
	sess.NextPollAt = s.now().Add(sess.PollInterval)
	return s.save(ctx, sess, store.SigningPending)
}

// save writes a session that stays in state from; a lost compare-and-set
// returns the session as another writer left it.
func (s *Service) save(ctx context.Context, sess *store.SigningSession, from store.SigningState) (*store.SigningSession, error) {
	if err := s.db.UpdateSigningSession(ctx, sess, from); err != nil {
		if isConflict(err) {
			return s.reload(ctx, sess.ID)
		}
		return nil, err
	}
	return sess, nil
}

// expire ends a session the signer did not answer in time.
func (s *Service) expire(ctx context.Context, sess *store.SigningSession, p signing.Provider) (*store.SigningSession, error) {
	if c, ok := p.(signing.Canceler); ok && sess.ProviderTxID != "" {
		if err := c.Cancel(ctx, sess.ProviderTxID); err != nil {
			s.log.Info("signsession: cancelling an expired request", "session", sess.ID, "err", err)
		}
	}
	return s.failWith(ctx, sess, &signing.Error{Kind: signing.KindExpired, Provider: sess.Provider,
		Message: fmt.Sprintf("no answer by %s", sess.ExpiresAt.In(document.VietnamTime).Format("15:04:05"))})
}

// userMessage says what a signer sees for a failure kind (the operator's
// failure table).
func userMessage(k signing.Kind) string {
	switch k {
	case signing.KindDeclined:
		return "declined on the phone; you can send the request again"
	case signing.KindExpired:
		return "no answer on the phone in time; send the request again when ready"
	case signing.KindUnreachable:
		return "the phone could not be reached; check its signal and send again"
	case signing.KindPINBlocked:
		return "the SIM's PIN or card is blocked; contact the certification authority"
	case signing.KindNoCertificate:
		return "no valid signing certificate for this number"
	case signing.KindBusy:
		return "another request is pending on your phone; answer it first, then send again"
	case signing.KindBadSignature:
		return "the signature returned does not match the document; nothing was recorded and operators are alerted"
	case signing.KindBadRequest, signing.KindUnauthorized:
		return "signing is misconfigured on the server; operators are alerted"
	case signing.KindUnavailable:
		return "the signing service is unavailable; try again later"
	}
	return "signing failed"
}

// failWith ends a session with the failure err describes: typed provider
// errors keep their kind; a signature pades.Finish rejects is a bad
// signature; domain errors are "rejected"; anything else is internal.
func (s *Service) failWith(ctx context.Context, sess *store.SigningSession, err error) (*store.SigningSession, error) {
	kind, msg, retry := "internal", "signing failed on the server; operators are alerted", false
	var se *signing.Error
	var de *document.Error
	switch {
	case errors.As(err, &se):
		kind, msg, retry = se.Kind.String(), userMessage(se.Kind), se.Retryable()
	case errors.Is(err, pades.ErrBadSignature):
		kind, msg = signing.KindBadSignature.String(), userMessage(signing.KindBadSignature)
	case errors.As(err, &de):
		kind, msg = "rejected", de.Message
	}
	if kind == signing.KindBadSignature.String() || kind == "internal" {
		s.log.Error("signsession: session failed closed", "session", sess.ID, "document", sess.DocumentID, "kind", kind, "err", err)
	} else {
		s.log.Info("signsession: session failed", "session", sess.ID, "kind", kind, "err", err)
	}
	state := store.SigningFailed
	if kind == signing.KindExpired.String() {
		state = store.SigningExpired
	}
	return s.finalize(ctx, sess, sess.State, state, kind, msg, retry)
}

// finalize ends an active session in state to, and for a leader's session
// returns the document to awaiting signature with the reason, in one
// transaction. A lost compare-and-set returns the session as the winner
// left it.
func (s *Service) finalize(ctx context.Context, sess *store.SigningSession, from, to store.SigningState, kind, msg string, retryable bool) (*store.SigningSession, error) {
	next := *sess
	next.State, next.FailureKind, next.FailureMessage, next.Retryable, next.NextPollAt = to, kind, msg, retryable, time.Time{}
	err := s.inTx(ctx, func(tx *store.Tx, wf *workflow.Service[*store.Tx]) error {
		if err := tx.UpdateSigningSession(ctx, &next, from); err != nil {
			return err
		}
		if err := s.endLease(ctx, tx, next.ID); err != nil {
			return err
		}
		if next.Purpose != store.PurposeLeader {
			return nil // a failed seal leaves the document numbered
		}
		doc, err := tx.Document(ctx, next.DocumentID)
		if err != nil {
			return err
		}
		// Signing belongs to this session: StartSigning and the session
		// were created together, and only one is active per document.
		if doc.State != document.StateSigning {
			return nil
		}
		_, err = wf.SigningFailed(ctx, signerActor(&next), next.DocumentID, string(to)+": "+kind+": "+msg)
		return err
	})
	if err != nil {
		if isConflict(err) {
			return s.reload(ctx, sess.ID)
		}
		return nil, err
	}
	s.leases.remove(next.ID)
	return &next, nil
}

// signerActor is the session's signer, on whose behalf the worker records
// outcomes.
func signerActor(sess *store.SigningSession) workflow.Actor {
	return workflow.Actor{UserID: sess.SignerUserID, ClientAddr: "signsession"}
}

// rejected marks a refusal by the workflow use case that records a signed
// file, to tell it from a lost compare-and-set.
type rejected struct{ err error }

func (r rejected) Error() string { return r.err.Error() }
func (r rejected) Unwrap() error { return r.err }

// complete verifies a returned signature, finishes the PDF, stores it and,
// in one transaction, moves the session from pending to completed and
// records the version and the transition. Of two callers completing the
// same session one wins; the other gets the completed session back.
func (s *Service) complete(ctx context.Context, sess *store.SigningSession, sig []byte) (*store.SigningSession, error) {
	st, err := loadState(sess)
	if err != nil {
		return s.failWith(ctx, sess, err)
	}
	if err := st.VerifySignature(sig); err != nil {
		return s.failWith(ctx, sess, err) // fail closed: no version
	}
	prepared, err := s.blobs.Open(ctx, sess.PreparedKey)
	if err != nil {
		return nil, err
	}
	defer prepared.Close()
	if prepared.Size() != sess.PreparedSize {
		return s.failWith(ctx, sess, fmt.Errorf("prepared file %s has %d bytes, the session recorded %d", sess.PreparedKey, prepared.Size(), sess.PreparedSize))
	}
	st.TSA, st.Revocation = s.opts.TSA, s.opts.Revocation
	obj, err := s.putStream(ctx, func(w io.Writer) error { return pades.Finish(ctx, st, prepared, sig, w) })
	if err != nil {
		if errors.Is(err, pades.ErrBadSignature) || errors.Is(err, pades.ErrState) {
			return s.failWith(ctx, sess, err)
		}
		// A time-stamp authority or the blob store is down: the session
		// stays pending and the next pass finishes it.
		return nil, err
	}
	file := workflow.File{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size}
	from := sess.State
	next := *sess
	next.State, next.NextPollAt, next.FailureKind, next.FailureMessage, next.Retryable = store.SigningCompleted, time.Time{}, "", "", false
	err = s.inTx(ctx, func(tx *store.Tx, wf *workflow.Service[*store.Tx]) error {
		// The compare-and-set first: a concurrent completer waits on the
		// row and then finds it completed.
		if err := tx.UpdateSigningSession(ctx, &next, from); err != nil {
			return err
		}
		var err error
		if next.Purpose == store.PurposeSeal {
			_, err = wf.Seal(ctx, signerActor(&next), next.DocumentID, file)
		} else {
			_, err = wf.RecordSignature(ctx, signerActor(&next), next.DocumentID, file)
		}
		if err != nil {
			return rejected{err}
		}
		v, err := tx.LatestVersion(ctx, next.DocumentID)
		if err != nil {
			return err
		}
		next.ResultVersionID = v.ID
		if err := s.endLease(ctx, tx, next.ID); err != nil {
			return err
		}
		return tx.UpdateSigningSession(ctx, &next, store.SigningCompleted)
	})
	var rej rejected
	switch {
	case err == nil:
		s.leases.remove(next.ID)
		return &next, nil
	case errors.As(err, &rej):
		return s.failWith(ctx, sess, rej.err)
	case isConflict(err):
		return s.reload(ctx, sess.ID)
	}
	return nil, err
}

// HandleCallback takes a provider's completion callback for a configured
// provider that implements signing.CallbackParser. The provider
// authenticates the request; the signature in it is verified like a polled
// one. A callback for a session that already ended changes nothing and
// returns it. Returns ENOTFOUND for an unknown provider, one without
// callbacks or an unknown transaction, EFORBIDDEN when the provider refuses
// the request's credentials, EINVALID for a malformed callback.
func (s *Service) HandleCallback(ctx context.Context, providerName string, r *http.Request) (*Session, error) {
	p, ok := s.providers[providerName]
	if !ok {
		return nil, document.Errorf(document.ENOTFOUND, "no signing provider %q", providerName)
	}
	cp, ok := p.(signing.CallbackParser)
	if !ok {
		return nil, document.Errorf(document.ENOTFOUND, "signing provider %q takes no callbacks", providerName)
	}
	if bp, ok := p.(signing.BatchCallbackParser); ok {
		return s.handleBatchCallback(ctx, providerName, p, bp, r)
	}
	res, err := cp.ParseCallback(r)
	if err != nil {
		if signing.KindOf(err) == signing.KindUnauthorized {
			return nil, document.Errorf(document.EFORBIDDEN, "callback refused: %v", err)
		}
		return nil, document.Errorf(document.EINVALID, "malformed callback: %v", err)
	}
	if res == nil || res.TxID == "" {
		return nil, document.Errorf(document.EINVALID, "the callback names no transaction")
	}
	sess, err := s.db.SigningSessionByProviderTx(ctx, providerName, res.TxID)
	if err != nil {
		return nil, err
	}
	if sess.State != store.SigningPending {
		return view(sess), nil
	}
	out, err := s.settle(ctx, sess, res, p)
	if err != nil {
		return nil, err
	}
	s.afterFinal(ctx, out)
	return view(out), nil
}
