package files

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"

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
	// HTTPClient asks OCSP responders and CRL distribution points; one
	// client for every validation keeps their connections open. Nil: the
	// verifier makes one per validation.
	HTTPClient *http.Client
	// WholeFileMax is the size up to which the file is read in one
	// request and validated from memory: the validator reads every
	// revision, the signed byte ranges and the pages to render, which on
	// S3 are dozens of ranged GETs. Larger files are read in parts, as
	// needed. Zero means DefaultWholeFileMax; negative reads in parts.
	WholeFileMax int64
}

// DefaultWholeFileMax is Validator.WholeFileMax by default: a signed
// document of a few hundred pages.
const DefaultWholeFileMax = 32 << 20

// Validate reports on the signatures of the stored PDF key. A file our
// validator cannot read is EINVALID, not our failure.
func (v *Validator) Validate(ctx context.Context, key string) (*verify.Report, error) {
	f, err := v.Blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ra io.ReaderAt = f
	limit := v.WholeFileMax
	if limit == 0 {
		limit = DefaultWholeFileMax
	}
	if f.Size() <= limit {
		buf := make([]byte, f.Size())
		// A ReaderAt may answer a full read with io.EOF.
		if n, err := f.ReadAt(buf, 0); n < len(buf) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		ra = bytes.NewReader(buf)
	}
	// Online by default: a signature made at B-T carries no revocation
	// data, so the validator asks the responders named in the
	// certificates; without it every such signature would be
	// INDETERMINATE/TRY_LATER.
	rep, err := verify.Verify(ctx, ra, f.Size(), verify.Options{Roots: v.Roots, Intermediates: v.Intermediates,
		Online: !v.Offline, Visual: v.Visual, HTTPClient: v.HTTPClient})
	if errors.Is(err, verify.ErrUnreadable) {
		return nil, document.Errorf(document.EINVALID, "the stored PDF cannot be read for validation: %v", err)
	}
	return rep, err
}
