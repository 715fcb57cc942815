package signsession

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing"
	"vanban/signing/pades"
	"vanban/signing/pades/appearance"
	"vanban/signing/pdf"
	"vanban/storage"
)

// maxBatch bounds one batch: a leader confirms each request on the phone.
const maxBatch = 50

// sessionOptions is kept in options_json so a session prepared again (after
// a crash before anything was sent) gets the same layout.
type sessionOptions struct {
	Layout Layout `json:"layout"`
}

// maxImage bounds a signature image read for an appearance.
const maxImage = 1 << 20

// imageOf returns the signature image (PNG) of a user or an organization,
// nil when none is on file.
func (s *Service) imageOf(ctx context.Context, kind, owner string) ([]byte, error) {
	key, err := s.db.SignatureImage(ctx, kind, owner)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rc, _, err := s.blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxImage+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxImage {
		return nil, document.Errorf(document.EINVALID, "the signature image on file is larger than 1 MiB")
	}
	return b, nil
}

// cover is the background of the number and date fields: white when the
// layout covers the template's lines.
func cover(l Layout) []float64 {
	if l.Cover {
		return []float64{1}
	}
	return nil
}

// optionsFor returns the session options of a new session on docID: the
// document's own layout when its drafter set one, else the service's.
func (s *Service) optionsFor(ctx context.Context, tx *store.Tx, docID string) (string, error) {
	l := s.opts.Layout
	raw, err := tx.DocumentLayout(ctx, docID)
	if err != nil {
		return "", err
	}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			return "", fmt.Errorf("signsession: stored layout of %s: %w", docID, err)
		}
	}
	b, err := json.Marshal(sessionOptions{Layout: l})
	return string(b), err
}

// identity returns the leader's provider and signer id.
func (s *Service) identity(ctx context.Context, userID string) (*store.SigningIdentity, error) {
	id, err := s.db.SigningIdentity(ctx, userID)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return nil, document.Errorf(document.EINVALID, "you have no signing identity (SIM or remote signing account); ask an administrator to register it")
	}
	if err != nil {
		return nil, err
	}
	p, ok := s.providers[id.Provider]
	if !ok {
		return nil, document.Errorf(document.EINVALID, "your signing provider %q is not configured on this server", id.Provider)
	}
	// A leader signs with a key of their own, never the organization's
	// seal: not through the seal's provider, and not through a provider
	// that signs for many people without naming the leader (its default
	// signer is somebody else's key). Identities set before this rule are
	// refused here too.
	if id.ProviderSigner == "" && !p.Capabilities().Synchronous {
		return nil, document.Errorf(document.EINVALID, "your signing identity names no phone number or account of yours; ask an administrator to register it")
	}
	u, err := s.db.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	seal, err := s.db.SealSigner(ctx, u.OrgID)
	if err == nil && seal.Provider == id.Provider {
		return nil, document.Errorf(document.EINVALID, "your signing identity uses the organization's seal (provider %s); a leader signs with their own key: ask an administrator to register your SIM or signing account", id.Provider)
	}
	if err != nil && document.ErrorCode(err) != document.ENOTFOUND {
		return nil, err
	}
	return id, nil
}

// StartLeader starts the signing of a document by its assigned signer, the
// actor: the document moves to signing, the latest version is prepared as a
// certification signature (DocMDP P=2) with the signature block on the
// signature page and empty number, date and seal fields, and the request
// goes to the signer's provider with the session id as idempotency key.
//
// The returned session is pending (show its verification code), or
// preparing when the provider could not be reached yet (the worker retries
// with the same key), or failed with a typed FailureKind when the provider
// refused (no certificate, busy, ...): the document is then back in
// awaiting signature with the reason.
//
// Returns EINVALID without a signing identity, EFORBIDDEN when the actor is
// not the assigned signer, ECONFLICT when the document is not awaiting
// signature or already has an active session, or the signer has another
// active request, ENOTFOUND.
func (s *Service) StartLeader(ctx context.Context, a workflow.Actor, docID string) (*Session, error) {
	id, err := s.identity(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	sess := &store.SigningSession{ID: newSessionID(), SignerUserID: a.UserID, DocumentID: docID, Purpose: store.PurposeLeader,
		Provider: id.Provider, ProviderSigner: id.ProviderSigner, State: store.SigningPreparing}
	// In flight here before anyone can see it, and leased to this node in
	// the commit that creates it (lease.go).
	s.claim(sess.ID)
	defer s.release(sess.ID)
	// The transition and the session row commit together: the database's
	// one-active-session rules then refuse a second request without
	// leaving the document in signing.
	err = s.inTx(ctx, func(tx *store.Tx, wf *workflow.Service[*store.Tx]) error {
		v, err := wf.StartSigning(ctx, a, docID)
		if err != nil {
			return err
		}
		if sess.OptionsJSON, err = s.optionsFor(ctx, tx, docID); err != nil {
			return err
		}
		sess.VersionID = v.ID
		if err := tx.CreateSigningSession(ctx, sess); err != nil {
			return err
		}
		return s.holdInTx(ctx, tx, sess.ID)
	})
	if err != nil {
		s.leases.remove(sess.ID)
		return nil, err
	}
	out, err := s.advance(ctx, sess)
	s.handOver(ctx, sess.ID, out, err)
	if err != nil {
		return nil, err
	}
	return view(out), nil
}

// StartBatch starts the signing of several documents by their assigned
// signer, the actor: all move to signing at once (or none, if one refuses),
// each gets its own queued session, prepared at once so that its
// verification code can be listed, and the requests go to the phone one at
// a time in the given order, as a SIM handles one transaction at a time.
// Errors as StartLeader, EINVALID for an empty, duplicate or too long list.
func (s *Service) StartBatch(ctx context.Context, a workflow.Actor, docIDs []string) ([]*Session, error) {
	if len(docIDs) == 0 || len(docIDs) > maxBatch {
		return nil, document.Errorf(document.EINVALID, "a batch has 1 to %d documents, not %d", maxBatch, len(docIDs))
	}
	seen := map[string]bool{}
	for _, d := range docIDs {
		if seen[d] {
			return nil, document.Errorf(document.EINVALID, "document %s is listed twice", d)
		}
		seen[d] = true
	}
	id, err := s.identity(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	var sessions []*store.SigningSession
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	batchID := hex.EncodeToString(b[:])
	err = s.inTx(ctx, func(tx *store.Tx, wf *workflow.Service[*store.Tx]) error {
		sessions = nil
		for i, docID := range docIDs {
			v, err := wf.StartSigning(ctx, a, docID)
			if err != nil {
				return fmt.Errorf("document %d of the batch: %w", i+1, err)
			}
			opts, err := s.optionsFor(ctx, tx, docID)
			if err != nil {
				return err
			}
			sess := &store.SigningSession{ID: newSessionID(), SignerUserID: a.UserID, DocumentID: docID, VersionID: v.ID,
				Purpose: store.PurposeLeader, Provider: id.Provider, ProviderSigner: id.ProviderSigner,
				State: store.SigningQueued, BatchID: batchID, BatchSeq: i + 1, OptionsJSON: opts}
			if err := tx.CreateSigningSession(ctx, sess); err != nil {
				return err
			}
			sessions = append(sessions, sess)
		}
		// Leased to this node until prepared: no other node starts the
		// batch with half of it unprepared (batchprovider.go).
		ids := make([]string, len(sessions))
		for i, sess := range sessions {
			ids[i] = sess.ID
		}
		return s.holdInTx(ctx, tx, ids...)
	})
	if err != nil {
		for _, sess := range sessions {
			s.leases.remove(sess.ID)
		}
		return nil, err
	}
	out := make([]*Session, len(sessions))
	for i, sess := range sessions {
		if s.claim(sess.ID) {
			got, err := s.prepareQueued(ctx, sess)
			s.release(sess.ID)
			s.afterStep(ctx, sess.ID, got, err)
			if err != nil {
				return nil, err
			}
			sess = got
		}
		out[i] = view(sess)
	}
	if err := s.startNextQueued(ctx, a.UserID); err != nil {
		s.log.Warn("signsession: starting the first request of a batch", "batch", batchID, "err", err)
	}
	for i := range out {
		if got, err := s.db.SigningSession(ctx, out[i].ID); err == nil {
			out[i] = view(got)
		}
	}
	return out, nil
}

// prepareQueued prepares a queued session so its verification code is
// known before its turn. A provider failure fails the session.
func (s *Service) prepareQueued(ctx context.Context, sess *store.SigningSession) (*store.SigningSession, error) {
	if sess.PadesState != "" {
		return sess, nil
	}
	if err := s.prepareLeader(ctx, sess); err != nil {
		return s.failWith(ctx, sess, err)
	}
	if err := s.db.UpdateSigningSession(ctx, sess, store.SigningQueued); err != nil {
		if isConflict(err) {
			return s.reload(ctx, sess.ID)
		}
		return nil, err
	}
	return sess, nil
}

// advance takes a session in preparing as far as it goes now: prepared
// (if not yet), then started at the provider.
func (s *Service) advance(ctx context.Context, sess *store.SigningSession) (*store.SigningSession, error) {
	if sess.PadesState == "" {
		var err error
		if sess.Purpose == store.PurposeSeal {
			err = s.prepareSeal(ctx, sess)
		} else {
			err = s.prepareLeader(ctx, sess)
		}
		if err != nil {
			return s.failWith(ctx, sess, err)
		}
		// Saved before anything is sent: a request the provider has seen
		// must be re-sent with this very digest after a crash.
		if err := s.db.UpdateSigningSession(ctx, sess, store.SigningPreparing); err != nil {
			if isConflict(err) {
				return s.reload(ctx, sess.ID)
			}
			return nil, err
		}
	}
	return s.startProvider(ctx, sess)
}

// prepareLeader prepares the version to sign as the leader's certification
// and fills the session's prepared file, state, digest, code and display
// text.
func (s *Service) prepareLeader(ctx context.Context, sess *store.SigningSession) error {
	var so sessionOptions
	if err := json.Unmarshal([]byte(sess.OptionsJSON), &so); err != nil || so.Layout.IsZero() {
		so.Layout = s.opts.Layout
	}
	l := so.Layout
	p, err := s.provider(sess.Provider)
	if err != nil {
		return err
	}
	signer := workflow.Actor{UserID: sess.SignerUserID, ClientAddr: "signsession"}
	block, err := s.wf.SignatureBlock(ctx, signer, sess.DocumentID)
	if err != nil {
		return err
	}
	doc, err := s.db.Document(ctx, sess.DocumentID)
	if err != nil {
		return err
	}
	org, err := s.db.Organization(ctx, doc.OrgID)
	if err != nil {
		return err
	}
	chain, err := p.Certificates(ctx, sess.ProviderSigner)
	if err != nil {
		return err
	}
	src, err := s.openVersion(ctx, sess.DocumentID, sess.VersionID)
	if err != nil {
		return err
	}
	defer src.Close()
	page := l.SignaturePage
	if page == 0 {
		if page, err = lastPage(src); err != nil {
			return err
		}
	}
	// Appendix I: capacity and position in bold above, the name in bold
	// below, the handwritten signature centred between them. When the
	// template prints the block, the rectangle is its gap and holds the
	// image alone.
	var lines []string
	if l.Block != BlockPrinted {
		for _, ln := range []string{block.CapacityLine, block.TitleLine, block.Name} {
			if ln != "" {
				lines = append(lines, ln)
			}
		}
	}
	handwritten, err := s.imageOf(ctx, store.ImageOfUser, sess.SignerUserID)
	if err != nil {
		return err
	}
	if handwritten == nil && l.Block == BlockPrinted {
		// Without a handwritten image the gap says who signed.
		lines = []string{"Đã ký số: " + block.Name}
	}
	size := l.FontSize
	if size == 0 {
		size = 13
	}
	fields := []pades.ExtraField{
		{Name: FieldNumber, Kind: pades.TextField, Page: l.NumberPage, Rect: l.Number, FontSize: l.FontSize, Background: cover(l), Align: aligns[l.NumberAlign]},
		{Name: FieldDate, Kind: pades.TextField, Page: l.DatePage, Rect: l.Date, FontSize: l.FontSize, Background: cover(l), Align: aligns[l.DateAlign], Italic: l.DateItalic},
		// The seal locks every field once it is applied (FieldMDP), so
		// any validator reports a later change of the number or date.
		{Name: FieldSeal, Kind: pades.SignatureField, Page: page, Rect: l.Seal, Lock: SealLock()},
	}
	for _, ap := range l.AttachmentPages {
		for i, name := range attachmentFields(ap) {
			fields = append(fields, pades.ExtraField{Name: name, Kind: pades.TextField, Page: ap, Rect: attachmentRect(i),
				FontSize: 10, Align: appearance.AlignRight})
		}
	}
	opts := pades.Options{
		Chain: chain, Hash: s.opts.Hash, Level: s.opts.Level, TSA: s.opts.TSA, Revocation: s.opts.Revocation,
		FieldName: FieldLeader, Reason: "Ký ban hành", Location: org.Place, Name: block.Name,
		SigningTime: s.now(), Certify: 2,
		Appearance: &pades.Appearance{Page: page, Rect: l.Signature, Lines: lines, Image: handwritten,
			Placement: appearance.ImageBetween, FontSize: size},
		Fields: fields,
	}
	display := displayText(p, "Ký: "+doc.Subject)
	return s.prepareInto(ctx, sess, src, opts, display)
}

// prepareInto runs pades.Prepare on src, stores the prepared file and
// records it, the state and the digest in sess.
func (s *Service) prepareInto(ctx context.Context, sess *store.SigningSession, src storage.File, opts pades.Options, display string) error {
	var st *pades.State
	obj, err := s.putStream(ctx, func(w io.Writer) error {
		var err error
		st, err = pades.Prepare(ctx, src, src.Size(), w, opts)
		return err
	})
	if err != nil {
		return err
	}
	js, err := json.Marshal(st)
	if err != nil {
		return err
	}
	digest := st.Digest()
	sess.PreparedKey, sess.PreparedSHA256, sess.PreparedSize = obj.Key, hex.EncodeToString(obj.SHA256), obj.Size
	sess.PadesState, sess.Digest = string(js), hex.EncodeToString(digest)
	sess.VerificationCode = VerificationCode(digest)
	sess.DisplayText = display
	return nil
}

// startProvider sends the prepared request (again, with the same
// idempotency key, on a retry) and records the provider's session.
func (s *Service) startProvider(ctx context.Context, sess *store.SigningSession) (*store.SigningSession, error) {
	p, err := s.provider(sess.Provider)
	if err != nil {
		return s.failWith(ctx, sess, err)
	}
	if _, ok := s.batchStarter(sess); ok && sess.ProviderTxID != "" {
		// Started with its batch: confirmed with the others, not sent again.
		return s.resumeBatchMember(ctx, sess)
	}
	st, err := loadState(sess)
	if err != nil {
		return s.failWith(ctx, sess, err)
	}
	req, err := st.Request(sess.ID, sess.ProviderSigner, sess.DisplayText)
	if err != nil {
		return s.failWith(ctx, sess, err)
	}
	req.Timeout = s.opts.SignTimeout
	ps, err := p.Start(ctx, req)
	if err != nil {
		// A refusal (declined, no certificate, busy with another
		// request...) ends the session; busy is retryable only once the
		// other request ends, which the signer decides.
		var se *signing.Error
		if errors.As(err, &se) && (!se.Retryable() || se.Kind == signing.KindBusy) {
			return s.failWith(ctx, sess, err)
		}
		// Unreachable, provider down, or an untyped error (a cancelled
		// call, a dropped connection): the provider may or may not have
		// the request. Send it again later under the same key.
		return s.retryLater(ctx, sess, store.SigningPreparing, err)
	}
	now := s.now()
	sess.State, sess.ProviderTxID, sess.Attempts = store.SigningPending, ps.TxID, 0
	if ps.VerificationCode != "" {
		sess.VerificationCode = ps.VerificationCode
	}
	sess.ExpiresAt = ps.ExpiresAt
	if sess.ExpiresAt.IsZero() {
		sess.ExpiresAt = now.Add(s.opts.SignTimeout)
	}
	sess.PollInterval = ps.PollInterval
	if sess.PollInterval <= 0 {
		sess.PollInterval = s.opts.PollInterval
	}
	sess.NextPollAt = now.Add(sess.PollInterval)
	// The provider holds the request now: recording it is not cut short
	// by a stopping worker.
	if err := s.db.UpdateSigningSession(context.WithoutCancel(ctx), sess, store.SigningPreparing); err != nil {
		if isConflict(err) {
			// Cancelled meanwhile; a late signature is ignored.
			return s.reload(ctx, sess.ID)
		}
		return nil, err
	}
	return sess, nil
}

// retryLater schedules another attempt of a session in state from, or
// fails it once MaxAttempts is reached.
func (s *Service) retryLater(ctx context.Context, sess *store.SigningSession, from store.SigningState, cause error) (*store.SigningSession, error) {
	sess.Attempts++
	if sess.Attempts >= s.opts.MaxAttempts {
		// failWith compares and sets from the session's state: the
		// stored one, not the preparing a caller may have set.
		sess.State = from
		return s.failWith(ctx, sess, cause)
	}
	s.log.Info("signsession: will retry", "session", sess.ID, "attempt", sess.Attempts, "err", cause)
	sess.NextPollAt = s.now().Add(backoff(s.opts.PollInterval, sess.Attempts))
	if err := s.db.UpdateSigningSession(ctx, sess, from); err != nil {
		if isConflict(err) {
			return s.reload(ctx, sess.ID)
		}
		return nil, err
	}
	return sess, nil
}

// backoff doubles base per attempt, up to a minute.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

// openVersion opens the blob of one version of a document.
func (s *Service) openVersion(ctx context.Context, docID, versionID string) (storage.File, error) {
	vs, err := s.db.Versions(ctx, docID)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.ID == versionID {
			return s.blobs.Open(ctx, v.BlobKey)
		}
	}
	return nil, document.Errorf(document.ENOTFOUND, "version %s of document %s not found", versionID, docID)
}

// lastPage counts the pages of a PDF.
func lastPage(src storage.File) (int, error) {
	r, err := pdf.Open(src, src.Size(), nil)
	if err != nil {
		return 0, document.Errorf(document.EINVALID, "the version to sign is not a readable PDF: %v", err)
	}
	n, err := r.NumPages()
	if err != nil || n < 1 {
		return 0, document.Errorf(document.EINVALID, "the version to sign has no readable page tree")
	}
	return n, nil
}

// putStream stores what write produces, content-addressed, without holding
// it in memory.
func (s *Service) putStream(ctx context.Context, write func(io.Writer) error) (storage.Object, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := write(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	obj, err := s.blobs.PutContentAddressed(ctx, pr, storage.PutOptions{ContentType: "application/pdf"})
	// A failed put stops reading: unblock the writer.
	pr.CloseWithError(errors.Join(err, io.ErrClosedPipe))
	if werr := <-done; werr != nil {
		return storage.Object{}, werr
	}
	return obj, err
}

func loadState(sess *store.SigningSession) (*pades.State, error) {
	var st pades.State
	if err := json.Unmarshal([]byte(sess.PadesState), &st); err != nil {
		return nil, fmt.Errorf("signsession: session %s has an unreadable PAdES state: %w", sess.ID, err)
	}
	if hex.EncodeToString(st.Digest()) != sess.Digest {
		return nil, &signing.Error{Kind: signing.KindBadSignature, Message: "the session's digest does not match its PAdES state"}
	}
	return &st, nil
}

// VerificationCode is the code shown next to a pending request, which the
// signer matches on the phone: Mobile-ID's %04d of
// ((h[0] & 0xFC) << 5) | (h[len-1] & 0x7F) over the digest. It is computed
// when the session is prepared, so queued requests show theirs too.
func VerificationCode(digest []byte) string {
	if len(digest) == 0 {
		return ""
	}
	return fmt.Sprintf("%04d", (int(digest[0]&0xFC)<<5)|int(digest[len(digest)-1]&0x7F))
}

// displayText cuts text to what the provider's device shows.
func displayText(p signing.Provider, text string) string {
	text = strings.Join(strings.Fields(text), " ")
	max := p.Capabilities().MaxDisplayText
	if max <= 0 || utf8.RuneCountInString(text) <= max {
		return text
	}
	r := []rune(text)
	return string(r[:max-1]) + "…"
}
