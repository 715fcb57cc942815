package archive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"vanban/internal/document"
	"vanban/signing/pades"
	"vanban/storage"
)

// RenewalPolicy says when the proof of an archived document is renewed.
type RenewalPolicy struct {
	// Margin: renew when the newest document time-stamp (or a permanent
	// record's retention) ends within this (default 180 days).
	Margin time.Duration
	// MinStrength in bits of security (NIST SP 800-57): a newest
	// time-stamp whose hash (half its output bits, for collisions) or TSA
	// key is weaker is renewed at once. Default 112 (SHA-224, RSA-2048).
	MinStrength int
	// Recheck is how long the job waits before looking again at a record
	// whose renewal could not push its horizon past the margin (the TSA or
	// a responder certificate itself ends soon), and after a failure
	// (default 24 hours).
	Recheck time.Duration
	// Interval between passes of Run (default 1 hour); Batch records are
	// claimed at a time (default 20) for Lease (default 15 minutes).
	Interval time.Duration
	Batch    int
	Lease    time.Duration
	// Workers renew that many records of a batch at once (default 4): a
	// renewal mostly waits (TSA, responders, storage, database commits),
	// so a few in flight keep a small machine busy.
	Workers int
	// Owner names this node in leases (default random).
	Owner string
}

func (p *RenewalPolicy) defaults() {
	if p.Margin <= 0 {
		p.Margin = 180 * 24 * time.Hour
	}
	if p.MinStrength <= 0 {
		p.MinStrength = 112
	}
	if p.Recheck <= 0 {
		p.Recheck = 24 * time.Hour
	}
	if p.Interval <= 0 {
		p.Interval = time.Hour
	}
	if p.Batch <= 0 {
		p.Batch = 20
	}
	if p.Lease <= 0 {
		p.Lease = 15 * time.Minute
	}
	if p.Workers <= 0 {
		p.Workers = 4
	}
	if p.Owner == "" {
		b := make([]byte, 8)
		rand.Read(b)
		p.Owner = "node-" + hex.EncodeToString(b)
	}
}

// SystemActor is who renewals are by in the audit log and the timeline.
const SystemActor = "system:records"

// weak reports whether the newest time-stamp of r is below the policy's
// strength. A record without a time-stamp (an unsigned document) has
// nothing to be weak.
func (p *RenewalPolicy) weak(r *document.ArchiveRecord) bool {
	return r.ProofVersion > 0 && p.weakBits(r.ProofHashBits, r.ProofKeyBits)
}

func (p *RenewalPolicy) weakBits(hashBits, keyBits int) bool {
	return hashBits/2 < p.MinStrength || keyBits < p.MinStrength
}

// nextCheck is when the job should look at r again, seen at now. stuck
// says the renewal just made could not improve the record (so an urgent
// date, already inside the margin, is only retried after Recheck).
func (s *Service) nextCheck(r *document.ArchiveRecord, now time.Time, stuck bool) time.Time {
	p := &s.opt.Renewal
	next := time.Time{}
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if r.ProofVersion > 0 {
		if p.weak(r) {
			consider(now)
		}
		consider(r.ProofUntil.Add(-p.Margin))
	}
	if r.Permanent {
		consider(r.RetainUntil.Add(-p.Margin))
	}
	if next.IsZero() {
		// Nothing will ever be due: a fixed retention and no time-stamp.
		return r.RetainUntil
	}
	if stuck && next.Before(now.Add(p.Recheck)) {
		next = now.Add(p.Recheck)
	}
	return next
}

// RenewalResult counts what one pass did.
type RenewalResult struct {
	Checked, Renewed, RetentionExtended, Failed int
	// Adopted counts archived documents that had no archive record (archived
	// before records existed) and were given one: B-LTA, retention.
	Adopted int
}

// RenewDue runs one pass: it claims the records that are due, in batches,
// until none is left, and renews each. A record that fails is retried
// after Recheck, so one broken document never blocks the others, nor the
// pass.
func (s *Service) RenewDue(ctx context.Context) (RenewalResult, error) {
	var res RenewalResult
	p := &s.opt.Renewal
	if err := s.adopt(ctx, &res); err != nil {
		return res, err
	}
	for {
		now := s.now()
		batch, err := s.rec.ClaimRenewals(ctx, p.Owner, now, now.Add(p.Lease), p.Batch)
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			return res, nil
		}
		if err := s.renewBatch(ctx, batch, now, &res); err != nil {
			return res, err
		}
	}
}

// renewBatch renews the claimed records of one batch, Workers at a time,
// adding to res. An error is returned only when a lease cannot be
// released (the database is gone) or ctx ends; a record that fails is
// counted and released for a retry after Recheck.
func (s *Service) renewBatch(ctx context.Context, batch []*document.ArchiveRecord, now time.Time, res *RenewalResult) error {
	p := &s.opt.Renewal
	var (
		mu    sync.Mutex
		fatal error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, p.Workers)
	for _, r := range batch {
		mu.Lock()
		stop := fatal != nil
		mu.Unlock()
		if stop {
			break
		}
		if err := ctx.Err(); err != nil {
			mu.Lock()
			fatal = err
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			renewed, extended, err := s.renewOne(ctx, r, now)
			var rerr error
			if err != nil {
				s.Metrics.add(&s.Metrics.RenewalFailures, 1)
				s.opt.Logger.Warn("renewal failed; retrying later", "doc", r.DocumentID, "err", err)
				rerr = s.rec.ReleaseRenewal(ctx, p.Owner, r.DocumentID, err.Error(), now.Add(p.Recheck))
			} else {
				if renewed {
					s.Metrics.add(&s.Metrics.Renewed, 1)
				}
				if extended {
					s.Metrics.add(&s.Metrics.RetentionRenewed, 1)
				}
				rerr = s.rec.ReleaseRenewal(ctx, p.Owner, r.DocumentID, "", time.Time{})
			}
			mu.Lock()
			defer mu.Unlock()
			res.Checked++
			switch {
			case err != nil:
				res.Failed++
			default:
				if renewed {
					res.Renewed++
				}
				if extended {
					res.RetentionExtended++
				}
			}
			if rerr != nil && fatal == nil {
				fatal = rerr
			}
		}()
	}
	wg.Wait()
	return fatal
}

// renewOne renews what is due on one record, seen at now.
func (s *Service) renewOne(ctx context.Context, r *document.ArchiveRecord, now time.Time) (renewed, extended bool, err error) {
	p := &s.opt.Renewal
	horizon := now.Add(p.Margin)
	stuck := false
	if r.ProofVersion > 0 && (r.ProofUntil.Before(horizon) || p.weak(r)) {
		versions, err := s.rec.Versions(ctx, r.DocumentID)
		if err != nil {
			return false, false, err
		}
		if len(versions) == 0 {
			return false, false, fmt.Errorf("archive: document %s has no version", r.DocumentID)
		}
		// The newest version, even if a crash left it newer than the
		// record says: a time-stamp over it covers everything before.
		latest := versions[len(versions)-1]
		file, proof, err := s.extend(ctx, latest, r.RetainUntil)
		if err != nil {
			return false, false, err
		}
		note := map[string]any{"previous_proof_until": r.ProofUntil.Format(time.RFC3339), "proof_until": proof.until.Format(time.RFC3339)}
		v, err := s.wf.AddRenewal(ctx, SystemActor, r.ArchivedBy, r.DocumentID, latest.Seq, file, note)
		if err != nil {
			return false, false, err
		}
		stuck = !proof.until.After(horizon) || p.weakBits(proof.hashBits, proof.keyBits)
		if stuck {
			s.opt.Logger.Warn("renewed, but the new time-stamp is still within the margin or weak: the TSA or a responder certificate ends soon, or the TSA is weak; check VANBAN_TSA_URL",
				"doc", r.DocumentID, "proof_until", proof.until, "hash_bits", proof.hashBits, "key_bits", proof.keyBits)
		}
		r.ProofVersion, r.ProofUntil, r.ProofHashBits, r.ProofKeyBits = v.Seq, proof.until, proof.hashBits, proof.keyBits
		r.Renewals++
		r.RenewedAt = now
		renewed = true
	}
	if r.Permanent && r.RetainUntil.Before(horizon) {
		until := storage.PermanentUntil(s.blobs, now)
		if err := s.retainAll(ctx, r.DocumentID, until, ""); err != nil {
			return renewed, false, err
		}
		r.RetainUntil = until
		extended = true
	}
	r.LastError = ""
	r.NextCheck = s.nextCheck(r, now, stuck)
	if err := s.rec.SaveArchiveRecord(ctx, r); err != nil {
		return renewed, extended, err
	}
	return renewed, extended, nil
}

// adopt gives the archived documents without an archive record what
// archiving gives now: a new document time-stamp with fresh validation data
// over their newest PDF (a "renewed" version by system:records), retention
// of every stored object from their files' period, and a record, so the
// renewal job keeps them from then on. A document that fails is logged and
// tried again at the next pass.
func (s *Service) adopt(ctx context.Context, res *RenewalResult) error {
	docs, err := s.rec.ArchivedWithoutRecord(ctx, s.opt.Renewal.Batch)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if err := s.adoptOne(ctx, d); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res.Failed++
			s.opt.Logger.Warn("adopting an archived document failed; retrying at the next pass", "doc", d.ID, "err", err)
			continue
		}
		res.Adopted++
	}
	return nil
}

func (s *Service) adoptOne(ctx context.Context, d *document.Document) error {
	versions, err := s.rec.Versions(ctx, d.ID)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return fmt.Errorf("archive: document %s has no version", d.ID)
	}
	latest := versions[len(versions)-1]
	permanent, years := true, 0
	if s.opt.Retention != nil {
		if permanent, years, err = s.opt.Retention(ctx, d); err != nil {
			return err
		}
	}
	now := s.now()
	until := s.retainUntil(permanent, years, now)
	rec := &document.ArchiveRecord{DocumentID: d.ID, OrgID: d.OrgID, ArchivedBy: latest.CreatedBy, ArchivedAt: d.UpdatedAt,
		Permanent: permanent, RetainUntil: until}
	file, proof, err := s.extend(ctx, latest, until)
	switch {
	case errors.Is(err, pades.ErrNoSignature):
	case err != nil:
		// Kept under retention with the reason on the record, so one
		// document whose signatures cannot be extended (an untrusted
		// foreign CA) does not hold up the others pass after pass.
		rec.LastError = "adopted without B-LTA: " + err.Error()
		s.opt.Logger.Warn("archived document adopted without B-LTA", "doc", d.ID, "err", err)
	default:
		v, err := s.wf.AddRenewal(ctx, SystemActor, latest.CreatedBy, d.ID, latest.Seq, file,
			map[string]any{"adopted": true, "proof_until": proof.until.Format(time.RFC3339)})
		if err != nil {
			return err
		}
		rec.ProofVersion, rec.ProofUntil, rec.ProofHashBits, rec.ProofKeyBits = v.Seq, proof.until, proof.hashBits, proof.keyBits
		rec.Renewals, rec.RenewedAt = 1, now
	}
	if err := s.retainAll(ctx, d.ID, until, ""); err != nil {
		return err
	}
	rec.NextCheck = s.nextCheck(rec, now, false)
	if rec.LastError != "" {
		rec.NextCheck = now.Add(s.opt.Renewal.Recheck)
	}
	return s.rec.SaveArchiveRecord(ctx, rec)
}

// RunRenewals runs RenewDue every Interval until ctx ends.
func (s *Service) RunRenewals(ctx context.Context) error {
	t := time.NewTicker(s.opt.Renewal.Interval)
	defer t.Stop()
	for {
		res, err := s.RenewDue(ctx)
		switch {
		case errors.Is(err, context.Canceled) || ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			s.opt.Logger.Error("renewal pass failed", "err", err)
		case res.Checked > 0:
			s.opt.Logger.Info("renewal pass", "checked", res.Checked, "renewed", res.Renewed, "retention_extended", res.RetentionExtended, "failed", res.Failed)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
