package verify

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"vanban/signing/pdf"
)

// A change the whitelist accepts can still change what a reader sees: an
// annotation's appearance drawn over the text, a widget whose appearance
// paints outside where a value belongs. This is what shadow attacks do.
// The reference validators stop at the object level; with Options.Visual
// the pages that the permitted changes touch are rendered as they were
// signed and as they are now, and any difference outside the rectangles
// of the fields filled and the signature widgets signed is reported.
//
// The package renders nothing itself (it knows no renderer): an adapter
// implements VisualChecker.

// VisualChecker compares what pages show in two revisions of a document.
type VisualChecker interface {
	// CompareRevisions renders each of pages in before (the revision a
	// signature covers, a prefix of after) and after (the whole file) and
	// returns the differences outside the page's Allowed rectangles.
	CompareRevisions(ctx context.Context, before, after []byte, pages []VisualPage) ([]VisualDifference, error)
}

// VisualPage is a page to compare and the areas that may change on it, in
// PDF user space.
type VisualPage struct {
	Page    int // 1-based
	CropBox pdf.Rect
	Rotate  int // 0, 90, 180 or 270
	Allowed []pdf.Rect
}

// maxVisualPages bounds the pages compared for one signature, and
// maxVisualBytes the file rendered, so that the check stays cheap.
const (
	maxVisualPages = 50
	maxVisualBytes = 100 << 20
)

// visualCheck runs Options.Visual for a signature whose later changes were
// judged permitted. A check that cannot be made is a warning, not a
// verdict: the object-level analysis stands.
func (v *validator) visualCheck(ps *parsed) {
	m := &ps.rep.Modifications
	if v.opts.Visual == nil || ps.revIndex >= len(v.revs)-1 || len(m.Categories) == 0 || !v.mayRepaint(ps) {
		return
	}
	pages, err := v.visualPages(ps)
	if err == nil && len(pages) == 0 {
		m.VisualChecked = true
		return
	}
	var before, after []byte
	if err == nil {
		if v.size > maxVisualBytes {
			err = fmt.Errorf("the file is larger than %d MB", maxVisualBytes>>20)
		} else {
			after = make([]byte, v.size)
			_, err = v.ra.ReadAt(after, 0)
			if err == io.EOF {
				err = nil
			}
			before = after[:v.revs[ps.revIndex]]
		}
	}
	var diffs []VisualDifference
	if err == nil {
		diffs, err = v.opts.Visual.CompareRevisions(v.ctx, before, after, pages)
	}
	if err != nil {
		ps.rep.Warnings = append(ps.rep.Warnings, "visual check not made: "+err.Error())
		return
	}
	m.VisualChecked = true
	for i := range diffs {
		diffs[i].Revision = ps.revIndex + 2 // the first revision after the signed one
		if d := diffs[i]; d.Detail == "" {
			diffs[i].Detail = fmt.Sprintf("%d pixels differ around [%.0f %.0f %.0f %.0f]", d.Pixels, d.Rect[0], d.Rect[1], d.Rect[2], d.Rect[3])
		}
	}
	m.Visual = diffs
	if len(diffs) > 0 {
		ps.rep.Warnings = append(ps.rep.Warnings, fmt.Sprintf("the changes after signing alter what %d page(s) show outside the filled fields and signature widgets", countPages(diffs)))
	}
}

// mayRepaint says whether the updates after ps hold a permitted change
// that can alter the page outside the widgets filled or signed: a fill
// or an appearance, an annotation, or form settings that make viewers
// regenerate the fields' appearances. Validation data, signatures and
// their widgets (which draw inside their rectangles), metadata and file
// structure cannot, so files that only gather signatures and LTV data
// (the bulk of real traffic) cost no rendering.
func (v *validator) mayRepaint(ps *parsed) bool {
	for i := ps.revIndex + 1; i < len(v.revs); i++ {
		for _, ch := range v.analyzeIncrement(i).changes {
			switch ch.Rule {
			case RuleFormFill, RuleAppearance, RuleAnnotation:
				return true
			case RuleAcroForm:
				if strings.Contains(ch.Reason, "NeedAppearances") || strings.Contains(ch.Reason, "/DR") || strings.Contains(ch.Reason, "/DA") {
					return true
				}
			}
		}
	}
	return false
}

func countPages(ds []VisualDifference) int {
	var pages []int
	for _, d := range ds {
		if !slices.Contains(pages, d.Page) {
			pages = append(pages, d.Page)
		}
	}
	return len(pages)
}

// visualPages are the pages of the final revision that the updates after
// ps touch (the page object changed, or an annotation on it added or
// changed), each with the rectangles of the widgets filled or signed.
func (v *validator) visualPages(ps *parsed) ([]VisualPage, error) {
	changed := map[uint32]bool{}
	painted := map[uint32]bool{}
	for i := ps.revIndex + 1; i < len(v.revs); i++ {
		inc := v.analyzeIncrement(i)
		if inc.err != nil {
			return nil, inc.err
		}
		for _, ch := range inc.changes {
			if ch.Rule != RuleUnchanged && ch.Rule != RuleStructure {
				changed[ch.num] = true
			}
		}
		for _, n := range inc.painted {
			painted[n] = true
			// A field's widgets are its kids when it is not merged
			// with its only widget.
			if d, err := v.r.ResolveDict(pdf.Ref{Num: n}); err == nil && d != nil && !d.Has("Rect") {
				if kids, err := v.r.ResolveArray(d.Get("Kids")); err == nil {
					for _, k := range kids {
						if ref, ok := k.(pdf.Ref); ok {
							painted[ref.Num] = true
						}
					}
				}
			}
		}
	}
	n, err := v.r.NumPages()
	if err != nil {
		return nil, err
	}
	var out []VisualPage
	for p := 1; p <= n; p++ {
		page, err := v.r.Page(p)
		if err != nil {
			return nil, err
		}
		touched := changed[page.Ref.Num]
		var allowed []pdf.Rect
		annots, _ := v.r.ResolveArray(page.Dict.Get("Annots"))
		for _, a := range annots {
			ref, ok := a.(pdf.Ref)
			if !ok {
				continue
			}
			if changed[ref.Num] {
				touched = true
			}
			if painted[ref.Num] {
				if d, err := v.r.ResolveDict(ref); err == nil && d != nil {
					if r, err := v.r.ResolveRect(d.Get("Rect")); err == nil {
						allowed = append(allowed, r)
					}
				}
			}
		}
		if !touched {
			continue
		}
		if len(out) == maxVisualPages {
			return nil, fmt.Errorf("more than %d pages changed", maxVisualPages)
		}
		out = append(out, VisualPage{Page: p, CropBox: page.CropBox, Rotate: page.Rotate, Allowed: allowed})
	}
	return out, nil
}
