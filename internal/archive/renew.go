package archive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"vanban/internal/document"
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
}

// RenewDue runs one pass: it claims the records that are due, in batches,
// until none is left, and renews each. A record that fails is retried
// after Recheck, so one broken document never blocks the others, nor the
// pass.
func (s *Service) RenewDue(ctx context.Context) (RenewalResult, error) {
	var res RenewalResult
	p := &s.opt.Renewal
	for {
		now := s.now()
		batch, err := s.rec.ClaimRenewals(ctx, p.Owner, now, now.Add(p.Lease), p.Batch)
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			return res, nil
		}
		for _, r := range batch {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			res.Checked++
			renewed, extended, err := s.renewOne(ctx, r, now)
			if err != nil {
				res.Failed++
				s.Metrics.add(&s.Metrics.RenewalFailures, 1)
				s.opt.Logger.Warn("renewal failed; retrying later", "doc", r.DocumentID, "err", err)
				if rerr := s.rec.ReleaseRenewal(ctx, p.Owner, r.DocumentID, err.Error(), now.Add(p.Recheck)); rerr != nil {
					return res, rerr
				}
				continue
			}
			if renewed {
				res.Renewed++
				s.Metrics.add(&s.Metrics.Renewed, 1)
			}
			if extended {
				res.RetentionExtended++
				s.Metrics.add(&s.Metrics.RetentionRenewed, 1)
			}
			if err := s.rec.ReleaseRenewal(ctx, p.Owner, r.DocumentID, "", time.Time{}); err != nil {
				return res, err
			}
		}
	}
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
