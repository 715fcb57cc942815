package signsession

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing/pades"
	"vanban/signing/pades/appearance"
)

// latest returns the newest version of a view.
func latest(vs []*document.Version) *document.Version {
	var out *document.Version
	for _, v := range vs {
		if out == nil || v.Seq > out.Seq {
			out = v
		}
	}
	return out
}

// NumberAndDate numbers a signed document (workflow.Number, by a clerk) and
// fills the number and date fields the leader's certification left empty,
// as an incremental form fill that DocMDP P=2 permits, so the leader's
// signature stays valid; the result is the numbered version.
//
// It is safe to call again after a failure: a document already numbered
// keeps its number and only the fill is redone, and a document whose
// numbered version exists is returned as is.
//
// Returns EFORBIDDEN without the clerk role, ECONFLICT when the document is
// not signed (or numbered), or its signed file has no number and date
// fields, ENOTFOUND.
func (s *Service) NumberAndDate(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error) {
	v, err := s.wf.Get(ctx, a, docID)
	if err != nil {
		return nil, err
	}
	doc := v.Document
	switch doc.State {
	case document.StateSigned:
		if doc, err = s.wf.Number(ctx, a, docID); err != nil {
			return nil, err
		}
	case document.StateNumbered:
		// A retry after the number was given: fill only.
	default:
		return nil, document.Errorf(document.ECONFLICT, "only a signed document is numbered; this one is %s", doc.State)
	}
	signed := latest(v.Versions)
	switch {
	case signed == nil:
		return nil, document.Errorf(document.ECONFLICT, "document %s has no version", docID)
	case signed.Kind == document.VersionNumbered:
		return doc, nil
	case signed.Kind != document.VersionLeaderSigned:
		return nil, document.Errorf(document.ECONFLICT, "the latest version is %s, not the leader-signed PDF", signed.Kind)
	}
	org, err := s.db.Organization(ctx, doc.OrgID)
	if err != nil {
		return nil, err
	}
	src, err := s.blobs.Open(ctx, signed.BlobKey)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	values := map[string]string{
		FieldNumber: "Số: " + doc.Symbol,
		FieldDate:   document.PlaceDate(org.Place, doc.NumberedAt),
	}
	if l, err := s.signedLayout(ctx, docID); err != nil {
		return nil, err
	} else {
		maps.Copy(values, attachmentValues(l, doc.Symbol, doc.NumberedAt, org.Name))
	}
	obj, err := s.putStream(ctx, func(w io.Writer) error {
		return pades.FillFields(ctx, src, src.Size(), w, values)
	})
	if err != nil {
		if isPadesField(err) {
			return nil, document.Errorf(document.ECONFLICT, "the signed PDF cannot take the number and date: %v", err)
		}
		return nil, err
	}
	file := workflow.File{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size}
	err = s.inTx(ctx, func(tx *store.Tx, wf *workflow.Service[*store.Tx]) error {
		cur, err := tx.LatestVersion(ctx, docID)
		if err != nil {
			return err
		}
		if cur.ID != signed.ID {
			return nil // a concurrent retry recorded it
		}
		_, err = wf.RecordNumberedVersion(ctx, a, docID, file)
		return err
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

func isPadesField(err error) bool {
	return errors.Is(err, pades.ErrField) || errors.Is(err, pades.ErrNotPermitted) || errors.Is(err, pades.ErrOptions)
}

// Seal applies the organization's signature to the numbered document: an
// approval signature on the seal field the leader's certification created,
// from the organization's seal signer (a key file or PKCS#11 token, usually
// answering at once), verified against its pinned certificate, finished
// and recorded with workflow.Seal in one transaction with the session. It
// waits up to Options.SealWait; a slower provider leaves the session
// pending for the worker.
//
// The returned session is completed (ResultVersionID is the sealed
// version), failed with a typed FailureKind (the document stays numbered),
// or pending. Returns EFORBIDDEN without the clerk role, ECONFLICT when the
// document is not numbered with its number and date filled, or already has
// an active session, EINVALID when the organization has no seal signer,
// ENOTFOUND.
func (s *Service) Seal(ctx context.Context, a workflow.Actor, docID string) (*Session, error) {
	u, err := s.actor(ctx, a)
	if err != nil {
		return nil, err
	}
	v, err := s.wf.Get(ctx, a, docID)
	if err != nil {
		return nil, err
	}
	doc := v.Document
	// Check before the office key signs anything.
	if ok, err := s.hasRole(ctx, u, doc, document.RoleClerk); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, document.Errorf(document.EFORBIDDEN, "sealing needs the clerk role over the document's unit")
	}
	numbered := latest(v.Versions)
	if doc.State != document.StateNumbered || numbered == nil || numbered.Kind != document.VersionNumbered {
		return nil, document.Errorf(document.ECONFLICT, "seal a numbered document whose number and date are filled in; this one is %s", doc.State)
	}
	ss, err := s.db.SealSigner(ctx, doc.OrgID)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return nil, document.Errorf(document.EINVALID, "the organization has no seal signer configured")
	}
	if err != nil {
		return nil, err
	}
	if _, ok := s.providers[ss.Provider]; !ok {
		return nil, document.Errorf(document.EINVALID, "the seal's signing provider %q is not configured on this server", ss.Provider)
	}
	sess := &store.SigningSession{ID: newSessionID(), DocumentID: docID, VersionID: numbered.ID, SignerUserID: u.ID, Purpose: store.PurposeSeal,
		Provider: ss.Provider, ProviderSigner: ss.ProviderSigner, State: store.SigningPreparing}
	s.claim(sess.ID)
	defer s.release(sess.ID)
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
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
	s.afterStep(ctx, sess.ID, out, err)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(s.opts.SealWait)
	for out.State == store.SigningPending && time.Now().Before(deadline) {
		out, err = s.pollSession(ctx, out)
		s.afterStep(ctx, sess.ID, out, err)
		if err != nil {
			return nil, err
		}
		if out.State != store.SigningPending {
			break
		}
		select {
		case <-ctx.Done():
			return view(out), nil
		case <-time.After(min(out.PollInterval, time.Until(deadline))):
		}
	}
	// Not sealed within SealWait: the worker polls on (the request's
	// own polls came first, so it is woken only now).
	s.handOver(ctx, sess.ID, out, nil)
	return view(out), nil
}

// prepareSeal prepares the numbered version for the seal signature: the
// seal image with the organization's name and the signing time (ISO 8601,
// Vietnam time) in 10 pt, in the seal field.
func (s *Service) prepareSeal(ctx context.Context, sess *store.SigningSession) error {
	p, err := s.provider(sess.Provider)
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
	t := s.now()
	l, err := s.signedLayout(ctx, sess.DocumentID)
	if err != nil {
		return err
	}
	seal, err := s.imageOf(ctx, store.ImageOfOrg, org.ID)
	if err != nil {
		return err
	}
	if seal == nil {
		seal = s.opts.SealImage
	}
	// Appendix I: the seal at its real size (the layout's seal rectangle
	// is as high as the seal) over the left third of the leader's
	// signature, and the organization and signing time in 10 pt on its
	// left, off the red ring.
	ap := &pades.Appearance{Image: seal, Placement: appearance.ImageRight, FontSize: 10,
		Lines: append(sealNameLines(org.Name, l.Seal), t.In(document.VietnamTime).Format(time.RFC3339))}
	opts := pades.Options{
		Chain: chain, Hash: s.opts.Hash, Level: s.sealLevel(), TSA: s.opts.TSA, Revocation: s.opts.Revocation,
		FieldName: FieldSeal, Reason: "Ban hành", Location: org.Place, Name: org.Name, SigningTime: t, Appearance: ap,
		Lock: SealLock(),
	}
	return s.prepareInto(ctx, sess, src, opts, displayText(p, "Đóng dấu: "+doc.Subject))
}

// SealLock is the FieldMDP lock of the organization's seal signature: it
// locks every form field (the number, the date, any other), with /Lock
// /All on the seal field and the matching /Reference transform in the
// seal's signature dictionary. The leader's certification (DocMDP P=2)
// permits filling the number and date before it; after the seal, pdfsig,
// pyHanko, Adobe and signing/verify report any change of a field.
func SealLock() *pades.FieldLock { return &pades.FieldLock{Action: "All"} }

// sealLevel is the seal's PAdES level (see Options.SealLevel).
func (s *Service) sealLevel() pades.Level {
	if s.opts.SealLevel != 0 {
		return s.opts.SealLevel
	}
	if s.opts.TSA != nil && s.opts.Revocation != nil && s.opts.Level < pades.LevelBLT {
		return pades.LevelBLT
	}
	return s.opts.Level
}
