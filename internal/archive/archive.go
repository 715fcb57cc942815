// Package archive makes the proof of an archived document last. Archiving
// raises every signature of the final PDF to PAdES B-LTA (the DSS with the
// certificates, OCSP responses and CRLs of every signer and time-stamp
// chain, then a document time-stamp), saves it as a new version, and puts
// every stored object of the document under retention. The renewal job
// (renew.go) adds a new document time-stamp with fresh validation data
// before the newest one stops being provable.
//
// The package is a use case: it declares the small interfaces it needs
// (the workflow steps, the archive records, the blob store, the PAdES
// services) and is wired in cmd.
package archive

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/pades"
	"vanban/signing/tsa"
	"vanban/signing/verify"
	"vanban/storage"
)

// Workflow is the part of the document use cases archiving needs
// (*workflow.Service implements it).
type Workflow interface {
	CheckArchive(ctx context.Context, a workflow.Actor, docID string) (*document.Document, *document.Version, error)
	ArchiveWith(ctx context.Context, a workflow.Actor, docID string, basedOn int, f workflow.File, note map[string]any) (*document.Document, error)
	AddRenewal(ctx context.Context, actor, versionBy, docID string, basedOn int, f workflow.File, note map[string]any) (*document.Version, error)
}

// Records keeps the archive records and lists what a document stored
// (*store.DB implements it).
type Records interface {
	SaveArchiveRecord(ctx context.Context, r *document.ArchiveRecord) error
	ArchiveRecord(ctx context.Context, documentID string) (*document.ArchiveRecord, error)
	ClaimRenewals(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*document.ArchiveRecord, error)
	ReleaseRenewal(ctx context.Context, owner, documentID, lastError string, retryAt time.Time) error
	Versions(ctx context.Context, documentID string) ([]*document.Version, error)
	Attachments(ctx context.Context, documentID string) ([]*document.Attachment, error)
}

// RetentionPolicy says how long a document is kept: permanent, or a number
// of years counted from the first of January after it was archived. The
// files (hồ sơ) a document belongs to decide it (internal/records); nil
// means permanent.
type RetentionPolicy func(ctx context.Context, doc *document.Document) (permanent bool, years int, err error)

// Options configure a Service.
type Options struct {
	// TSA time-stamps the documents; Revocation collects the validation
	// data of every chain (pades.CollectRevocation).
	TSA        pades.Timestamper
	Revocation pades.RevocationCollector
	// Roots and Intermediates validate the result offline before it is
	// kept: an archived PDF that would not verify TOTAL-PASSED without the
	// network is refused, not stored.
	Roots         *x509.CertPool
	Intermediates []*x509.Certificate
	Retention     RetentionPolicy
	// Renewal says when the proof is renewed (renew.go).
	Renewal RenewalPolicy
	// MaxPDF bounds the PDF handled in memory (default 256 MiB).
	MaxPDF int64
	Logger *slog.Logger
	// Now is the clock; tests move it.
	Now func() time.Time
}

// Service archives documents and renews their proof.
type Service struct {
	wf    Workflow
	rec   Records
	blobs storage.Store
	opt   Options
	// Metrics counts what the service did, for /metrics.
	Metrics *Metrics
}

// New returns a Service.
func New(wf Workflow, rec Records, blobs storage.Store, opt Options) *Service {
	if opt.MaxPDF <= 0 {
		opt.MaxPDF = 256 << 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.Renewal.defaults()
	return &Service{wf: wf, rec: rec, blobs: blobs, opt: opt, Metrics: &Metrics{}}
}

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

// Archive archives docID for a, after raising its final PDF to B-LTA and
// putting every stored object of the document under retention. The
// document stays as it was when any step fails: a PDF whose signatures
// cannot be made long-term now (a responder down, a revoked certificate)
// is a conflict, answered before the state changes.
func (s *Service) Archive(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error) {
	start := time.Now()
	doc, latest, err := s.wf.CheckArchive(ctx, a, docID)
	if err != nil {
		return nil, err
	}
	permanent, years := true, 0
	if s.opt.Retention != nil {
		if permanent, years, err = s.opt.Retention(ctx, doc); err != nil {
			return nil, err
		}
	}
	now := s.now()
	until := s.retainUntil(permanent, years, now)
	var (
		file    workflow.File
		basedOn int
		proof   *proofInfo
		note    = map[string]any{"retain_until": until.Format(time.RFC3339), "permanent": permanent}
	)
	tExtend := time.Now()
	if latest != nil {
		basedOn = latest.Seq
		file, proof, err = s.extend(ctx, latest, until)
		switch {
		case errors.Is(err, pades.ErrNoSignature):
			// An unsigned PDF (a paper document scanned on arrival) has no
			// proof to extend; it is kept under retention all the same.
			note["lta"] = "no signature to extend"
			file = workflow.File{}
		case err != nil:
			s.Metrics.add(&s.Metrics.ArchiveFailures, 1)
			return nil, err
		default:
			note["lta"] = "B-LTA"
		}
	}
	tRetain := time.Now()
	if err := s.retainAll(ctx, docID, until, file.BlobKey); err != nil {
		return nil, err
	}
	tState := time.Now()
	out, err := s.wf.ArchiveWith(ctx, a, docID, basedOn, file, note)
	if err != nil {
		return nil, err
	}
	rec := &document.ArchiveRecord{DocumentID: docID, OrgID: doc.OrgID, ArchivedBy: a.UserID, ArchivedAt: now,
		Permanent: permanent, RetainUntil: until}
	if proof != nil {
		rec.ProofVersion = basedOn + 1
		rec.ProofUntil, rec.ProofHashBits, rec.ProofKeyBits = proof.until, proof.hashBits, proof.keyBits
	}
	rec.NextCheck = s.nextCheck(rec, now, false)
	if err := s.rec.SaveArchiveRecord(ctx, rec); err != nil {
		return nil, err
	}
	s.Metrics.add(&s.Metrics.Archived, 1)
	s.Metrics.observe(time.Since(start))
	s.opt.Logger.Info("document archived", "doc", docID, "lta", note["lta"], "retain_until", until,
		"check_ms", tExtend.Sub(start).Milliseconds(), "lta_ms", tRetain.Sub(tExtend).Milliseconds(),
		"retain_ms", tState.Sub(tRetain).Milliseconds(), "state_ms", time.Since(tState).Milliseconds())
	return out, nil
}

// retainUntil is the retention date of a document archived at now.
func (s *Service) retainUntil(permanent bool, years int, now time.Time) time.Time {
	if permanent || years <= 0 {
		return storage.PermanentUntil(s.blobs, now)
	}
	return time.Date(now.Year()+1+years, time.January, 1, 0, 0, 0, 0, time.UTC)
}

// retainAll puts every version and attachment of docID (and extra, the
// archived PDF just stored) under retention until until. A store that
// cannot retain (an S3 bucket without Object Lock, a store without the
// capability) is reported, not ignored: archiving there would promise
// what nothing enforces.
func (s *Service) retainAll(ctx context.Context, docID string, until time.Time, extra string) error {
	versions, err := s.rec.Versions(ctx, docID)
	if err != nil {
		return err
	}
	atts, err := s.rec.Attachments(ctx, docID)
	if err != nil {
		return err
	}
	keys := map[string]bool{}
	if extra != "" {
		keys[extra] = true
	}
	for _, v := range versions {
		keys[v.BlobKey] = true
	}
	for _, at := range atts {
		keys[at.BlobKey] = true
	}
	for k := range keys {
		if _, err := storage.Retain(ctx, s.blobs, k, until); err != nil {
			if errors.Is(err, storage.ErrRetentionUnsupported) {
				return document.Errorf(document.ECONFLICT, "the blob store cannot enforce retention (%v): configure S3 with Object Lock or local storage", err)
			}
			return fmt.Errorf("archive: retain %s: %w", k, err)
		}
	}
	return nil
}

// extend raises the PDF of v to B-LTA (or, when it already is, renews its
// archive time-stamp), checks that the result verifies TOTAL-PASSED
// offline, and stores it under retention until until.
func (s *Service) extend(ctx context.Context, v *document.Version, until time.Time) (workflow.File, *proofInfo, error) {
	if s.opt.TSA == nil || s.opt.Revocation == nil {
		return workflow.File{}, nil, document.Errorf(document.ECONFLICT, "archiving needs a time-stamping authority and revocation data (VANBAN_TSA_URL)")
	}
	src, err := s.readPDF(ctx, v.BlobKey)
	if err != nil {
		return workflow.File{}, nil, err
	}
	rec := &recordingTSA{inner: s.opt.TSA}
	var out bytes.Buffer
	out.Grow(len(src) + 64<<10)
	err = pades.Extend(ctx, bytes.NewReader(src), int64(len(src)), &out, pades.LevelBLTA, pades.Services{TSA: rec, Revocation: s.opt.Revocation})
	switch {
	case errors.Is(err, pades.ErrNoSignature):
		return workflow.File{}, nil, err
	case err != nil:
		return workflow.File{}, nil, document.Errorf(document.ECONFLICT, "the signatures cannot be made long-term now: %v", err)
	}
	proof, err := s.proofOf(ctx, rec.token())
	if err != nil {
		return workflow.File{}, nil, fmt.Errorf("archive: the new document time-stamp: %w", err)
	}
	// Valid as of its own time-stamp: that is what is being kept.
	if err := s.checkOffline(ctx, out.Bytes(), proof.at); err != nil {
		return workflow.File{}, nil, err
	}
	obj, err := s.blobs.PutContentAddressed(ctx, bytes.NewReader(out.Bytes()), storage.PutOptions{ContentType: "application/pdf", RetainUntil: until})
	if err != nil {
		return workflow.File{}, nil, fmt.Errorf("archive: store the B-LTA PDF: %w", err)
	}
	return workflow.File{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size}, proof, nil
}

// readPDF reads a stored PDF whole, checked against its digest.
func (s *Service) readPDF(ctx context.Context, key string) ([]byte, error) {
	rc, obj, err := s.blobs.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("archive: read %s: %w", key, err)
	}
	defer rc.Close()
	if obj.Size > s.opt.MaxPDF {
		return nil, document.Errorf(document.EINVALID, "the PDF has %d bytes, more than the %d archiving handles", obj.Size, s.opt.MaxPDF)
	}
	b, err := io.ReadAll(io.LimitReader(rc, s.opt.MaxPDF+1))
	if err != nil {
		return nil, fmt.Errorf("archive: read %s: %w", key, err)
	}
	return b, nil
}

// checkOffline validates pdf without the network: every signature and
// document time-stamp must be TOTAL-PASSED, which is the point of B-LTA.
func (s *Service) checkOffline(ctx context.Context, pdf []byte, now time.Time) error {
	rep, err := verify.Verify(ctx, bytes.NewReader(pdf), int64(len(pdf)), verify.Options{Roots: s.opt.Roots, Intermediates: s.opt.Intermediates, Now: now})
	if err != nil {
		return document.Errorf(document.ECONFLICT, "the long-term PDF cannot be validated: %v", err)
	}
	if len(rep.Signatures) == 0 {
		return document.Errorf(document.ECONFLICT, "the long-term PDF has no signature")
	}
	for _, sig := range rep.Signatures {
		if sig.Indication != verify.TotalPassed {
			return document.Errorf(document.ECONFLICT, "%s %s does not validate offline: %s/%s %v", sig.Type, sig.Field, sig.Indication, sig.SubIndication, sig.Errors)
		}
	}
	return nil
}

// recordingTSA keeps the last token it obtained, to learn what the new
// document time-stamp can prove and until when.
type recordingTSA struct {
	inner pades.Timestamper
	mu    sync.Mutex
	last  []byte
}

func (r *recordingTSA) Timestamp(ctx context.Context, imprint []byte, h crypto.Hash) ([]byte, error) {
	tok, err := r.inner.Timestamp(ctx, imprint, h)
	if err == nil {
		r.mu.Lock()
		r.last = tok
		r.mu.Unlock()
	}
	return tok, err
}

func (r *recordingTSA) token() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// proofInfo is what a document time-stamp can prove: until the first
// expiry among its TSA chain and the responders that vouch for that chain
// (after which its revocation data can no longer be checked), with a hash
// and a key of some strength.
type proofInfo struct {
	at                time.Time // the token's time
	until             time.Time
	hashBits, keyBits int
}

// proofOf reads a new document time-stamp token. Its TSA chain's
// validation data is collected now too (the next renewal embeds it), to
// learn when the responders' own certificates end.
func (s *Service) proofOf(ctx context.Context, token []byte) (*proofInfo, error) {
	if token == nil {
		return nil, errors.New("no token was obtained")
	}
	tok, err := tsa.Parse(token)
	if err != nil {
		return nil, err
	}
	if tok.Signer == nil {
		return nil, errors.New("the token does not carry its TSA certificate")
	}
	p := &proofInfo{at: tok.Time, until: tok.Signer.NotAfter, hashBits: tok.Hash.Size() * 8, keyBits: SecurityBits(tok.Signer.PublicKey)}
	chain := []*x509.Certificate{tok.Signer}
	for _, c := range tok.Certificates {
		if !c.Equal(tok.Signer) {
			chain = append(chain, c)
		}
	}
	for _, c := range chain {
		if c.NotAfter.Before(p.until) {
			p.until = c.NotAfter
		}
	}
	ev, err := s.opt.Revocation(ctx, chain)
	if err != nil {
		return nil, fmt.Errorf("validation data of the TSA chain: %w", err)
	}
	for _, der := range ev.OCSPs {
		resp, err := ocsp.ParseResponse(der, nil)
		if err != nil {
			continue // the evidence is checked by the validator; here only dates matter
		}
		if resp.Certificate != nil && resp.Certificate.NotAfter.Before(p.until) {
			p.until = resp.Certificate.NotAfter
		}
	}
	for _, der := range ev.Certs {
		if c, err := x509.ParseCertificate(der); err == nil && c.NotAfter.Before(p.until) {
			p.until = c.NotAfter
		}
	}
	return p, nil
}

// SecurityBits is the strength of a public key in bits of security (NIST
// SP 800-57 Part 1, table 2): RSA-2048 112, RSA-3072 and P-256 128, P-384
// 192; 0 for a key it does not know.
func SecurityBits(pub crypto.PublicKey) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch n := k.N.BitLen(); {
		case n >= 15360:
			return 256
		case n >= 7680:
			return 192
		case n >= 3072:
			return 128
		case n >= 2048:
			return 112
		case n >= 1024:
			return 80
		default:
			return 0
		}
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize / 2
	case ed25519.PublicKey:
		return 128
	}
	return 0
}

// SetClock replaces the service's clock; tests move it years ahead.
func (s *Service) SetClock(now func() time.Time) { s.opt.Now = now }
