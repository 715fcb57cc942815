package signsession

import (
	"context"
	"encoding/json"
	"fmt"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/pades"
)

// maxPageSize bounds layout coordinates: A0 is 2384 x 3370 points.
const maxPageSize = 3370

// Validate reports an EINVALID error for a layout that cannot be placed:
// empty or inverted rectangles, coordinates off any real page, negative
// pages or an unreadable font size. Whether a rectangle fits the actual
// page is checked when the PDF is prepared.
func (l Layout) Validate() error {
	rects := map[string]pades.Rect{"signature": l.Signature, "seal": l.Seal, "number": l.Number, "date": l.Date}
	for name, r := range rects {
		switch {
		case r.Width() <= 0 || r.Height() <= 0:
			return document.Errorf(document.EINVALID, "layout %s: the rectangle is empty or inverted", name)
		case r.LLX < 0 || r.LLY < 0 || r.URX > maxPageSize || r.URY > maxPageSize:
			return document.Errorf(document.EINVALID, "layout %s: the rectangle lies off the page", name)
		}
	}
	if l.SignaturePage < 0 || l.NumberPage < 0 || l.DatePage < 0 {
		return document.Errorf(document.EINVALID, "layout pages count from 1 (0 means the default page)")
	}
	if l.FontSize != 0 && (l.FontSize < 6 || l.FontSize > 24) {
		return document.Errorf(document.EINVALID, "layout font size %.1f is not between 6 and 24 points", l.FontSize)
	}
	return nil
}

// SetLayout records where the signing steps place the leader's signature,
// the seal and the number and date fields on a document, for documents whose
// letterhead does not fit the default layout. Returns EINVALID, ECONFLICT
// once signing started, EFORBIDDEN, ENOTFOUND.
func (s *Service) SetLayout(ctx context.Context, a workflow.Actor, docID string, l Layout) error {
	if err := l.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return s.wf.SetSigningLayout(ctx, a, docID, string(b))
}

// Layout returns the layout signing will use for a document the actor may
// see: its own, or the default.
func (s *Service) Layout(ctx context.Context, a workflow.Actor, docID string) (Layout, error) {
	if _, err := s.wf.Get(ctx, a, docID); err != nil {
		return Layout{}, err
	}
	raw, err := s.db.DocumentLayout(ctx, docID)
	if err != nil {
		return Layout{}, err
	}
	l := s.opts.Layout
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			return Layout{}, fmt.Errorf("signsession: stored layout of %s: %w", docID, err)
		}
	}
	return l, nil
}
