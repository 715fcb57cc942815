package files

import (
	"context"
	"crypto/x509"
	"errors"

	"vanban/internal/document"
	"vanban/signing/verify"
	"vanban/storage"
)

// Validator validates the signatures of stored PDFs against trust anchors,
// reading only the parts of the file it needs (through the blob store's
// ReaderAt).
type Validator struct {
	Blobs         storage.Store
	Roots         *x509.CertPool
	Intermediates []*x509.Certificate
	// Offline skips asking OCSP responders and CRL distribution points;
	// a signature made at B-T, which carries no revocation data, is then
	// INDETERMINATE.
	Offline bool
	// Visual, when set, renders the pages that permitted changes after a
	// signature touch and reports what they show differently (a shadow
	// attack); see verify.Options.Visual.
	Visual verify.VisualChecker
}

// Validate reports on the signatures of the stored PDF key. A file our
// validator cannot read is EINVALID, not our failure.
func (v *Validator) Validate(ctx context.Context, key string) (*verify.Report, error) {
	f, err := v.Blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Online by default: a signature made at B-T carries no revocation
	// data, so the validator asks the responders named in the
	// certificates; without it every such signature would be
	// INDETERMINATE/TRY_LATER.
	rep, err := verify.Verify(ctx, f, f.Size(), verify.Options{Roots: v.Roots, Intermediates: v.Intermediates, Online: !v.Offline, Visual: v.Visual})
	if errors.Is(err, verify.ErrUnreadable) {
		return nil, document.Errorf(document.EINVALID, "the stored PDF cannot be read for validation: %v", err)
	}
	return rep, err
}
