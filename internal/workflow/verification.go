package workflow

import (
	"context"
	"encoding/json"
	"fmt"

	"vanban/internal/document"
	"vanban/signing/verify"
)

// Validator validates the signatures of a PDF kept in blob storage. The
// command wires one that knows the trust anchors and whether to fetch
// revocation data; its errors are domain errors (EINVALID for a file that
// cannot be read as a PDF).
type Validator interface {
	Validate(ctx context.Context, blobKey string) (*verify.Report, error)
}

// Verification is a kept validation report with the report decoded.
type Verification struct {
	document.Verification
	Report *verify.Report
}

// NoSignature is the indication kept for a file without signatures.
const NoSignature = "NO-SIGNATURE"

// overallIndication is the worst indication of the report's signatures,
// or NoSignature.
func overallIndication(rep *verify.Report) string {
	if len(rep.Signatures) == 0 {
		return NoSignature
	}
	rank := map[verify.Indication]int{verify.TotalPassed: 0, verify.Indeterminate: 1, verify.TotalFailed: 2}
	worst := verify.TotalPassed
	for _, s := range rep.Signatures {
		if rank[s.Indication] > rank[worst] {
			worst = s.Indication
		}
	}
	return string(worst)
}

// errNoValidator answers when no validator is configured.
var errNoValidator = document.Errorf(document.ECONFLICT, "signature validation is not configured on this server")

// Verify validates the signatures of version seq of a document (0: the
// latest version) and keeps the report. Anyone who may see the document may
// run it again, for instance after a revocation or once the signer's CA is
// trusted; each run adds a record and an audit entry, so the report made at
// registration stays as evidence. The validation itself runs outside any
// transaction: it may ask OCSP responders and take seconds.
func (s *Service[T]) Verify(ctx context.Context, a Actor, docID string, seq int) (*Verification, error) {
	if s.Validator == nil {
		return nil, errNoValidator
	}
	var ver *document.Version
	err := s.db.WithTx(ctx, func(tx T) error {
		c, err := s.begin(ctx, tx, a, docID)
		if err != nil {
			return err
		}
		ver, err = c.version(seq)
		return err
	})
	if err != nil {
		return nil, err
	}
	rep, err := s.Validator.Validate(ctx, ver.BlobKey)
	if err != nil {
		return nil, err
	}
	var out *Verification
	err = s.db.WithTx(ctx, func(tx T) error {
		c, err := s.begin(ctx, tx, a, docID)
		if err != nil {
			return err
		}
		if out, err = keepVerification(ctx, tx, docID, ver.Seq, c.user.ID, rep); err != nil {
			return err
		}
		c.change["version"], c.change["indication"], c.change["sha256"] = ver.Seq, out.Indication, ver.SHA256
		return c.audit("verify", docID)
	})
	return out, err
}

// version is version seq of the call's document, or the latest for 0.
func (c *call[T]) version(seq int) (*document.Version, error) {
	if seq == 0 {
		return c.tx.LatestVersion(c.ctx, c.doc.ID)
	}
	vs, err := c.tx.Versions(c.ctx, c.doc.ID)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.Seq == seq {
			return v, nil
		}
	}
	return nil, document.Errorf(document.ENOTFOUND, "document %s has no version %d", c.doc.ID, seq)
}

// Verifications lists the reports kept for a document, oldest first.
func (s *Service[T]) Verifications(ctx context.Context, a Actor, docID string) ([]*Verification, error) {
	var out []*Verification
	err := s.db.WithTx(ctx, func(tx T) error {
		if _, err := s.begin(ctx, tx, a, docID); err != nil {
			return err
		}
		recs, err := tx.Verifications(ctx, docID)
		if err != nil {
			return err
		}
		out = make([]*Verification, 0, len(recs))
		for _, r := range recs {
			v := &Verification{Verification: *r, Report: new(verify.Report)}
			if err := json.Unmarshal(r.ReportJSON, v.Report); err != nil {
				return fmt.Errorf("workflow: decode kept verification %s: %w", r.ID, err)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// LatestVerification is the newest report kept for version seq (0: any
// version), or nil when there is none.
func (s *Service[T]) LatestVerification(ctx context.Context, a Actor, docID string, seq int) (*Verification, error) {
	all, err := s.Verifications(ctx, a, docID)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if seq == 0 || all[i].VersionSeq == seq {
			return all[i], nil
		}
	}
	return nil, nil
}

func keepVerification[T Tx](ctx context.Context, tx T, docID string, seq int, by string, rep *verify.Report) (*Verification, error) {
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("workflow: encode verification report: %w", err)
	}
	v := &Verification{Verification: document.Verification{DocumentID: docID, VersionSeq: seq,
		Indication: overallIndication(rep), ReportJSON: b, CreatedBy: by}, Report: rep}
	if err := tx.SaveVerification(ctx, &v.Verification); err != nil {
		return nil, err
	}
	return v, nil
}

// verifyOnReceipt validates a received file once and keeps the report for
// each document it was received as (one registration, or the deliveries of
// one issue). Registration stands whatever the signatures say, or when the
// validation cannot be made: the clerk sees the report and the leader
// decides, and a failed validation is logged and can be re-run.
func (s *Service[T]) verifyOnReceipt(ctx context.Context, by string, blobKey string, docIDs ...string) {
	if s.Validator == nil || len(docIDs) == 0 {
		return
	}
	rep, err := s.Validator.Validate(ctx, blobKey)
	if err == nil {
		err = s.db.WithTx(ctx, func(tx T) error {
			for _, id := range docIDs {
				// A received document has exactly one version: the file.
				if _, err := keepVerification(ctx, tx, id, 1, by, rep); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil && s.Logger != nil {
		s.Logger.Warn("verifying a received document", "documents", docIDs, "err", err)
	}
}
