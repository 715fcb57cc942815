// Package visualcheck implements verify.VisualChecker with PDFium through
// the bounded renderer of internal/render: it renders the pages a
// signature's later changes touch as signed and as they are now, and
// reports the pixels that differ outside the areas those changes may
// paint. It is the adapter between signing/verify (which renders nothing)
// and internal/render (which knows nothing of signatures).
package visualcheck

import (
	"context"
	"fmt"
	"image"
	"math"

	"vanban/internal/render"
	"vanban/signing/pdf"
	"vanban/signing/verify"
)

// Defaults for Checker's zero values.
const (
	// DefaultDPI renders a point as a pixel: fine enough for a changed
	// word at body size, an A4 page is half a megapixel.
	DefaultDPI = 72
	// DefaultMinPixels is how many differing pixels make a difference;
	// fewer are anti-aliasing noise.
	DefaultMinPixels = 4
	// DefaultTolerance is the per-channel difference (0-255) below which
	// two pixels are the same.
	DefaultTolerance = 48
	// margin widens the allowed rectangles (pixels) for the edges of a
	// widget's border and anti-aliasing.
	margin = 2
)

// Checker compares revisions with PDFium.
type Checker struct {
	Engine    *render.Engine
	DPI       float64
	MinPixels int
	Tolerance int
}

var _ verify.VisualChecker = (*Checker)(nil)

// New returns a checker on engine with the default resolution and
// thresholds.
func New(engine *render.Engine) *Checker { return &Checker{Engine: engine} }

// CompareRevisions implements verify.VisualChecker. Both revisions are
// rendered in the engine's bounded instances, in the share of the user in
// ctx (render.WithUser).
func (c *Checker) CompareRevisions(ctx context.Context, before, after []byte, pages []verify.VisualPage) ([]verify.VisualDifference, error) {
	if len(pages) == 0 {
		return nil, nil
	}
	dpi := c.DPI
	if dpi <= 0 {
		dpi = DefaultDPI
	}
	old, err := c.renderPages(ctx, before, pages, dpi)
	if err != nil {
		return nil, fmt.Errorf("rendering the signed revision: %w", err)
	}
	cur, err := c.renderPages(ctx, after, pages, dpi)
	if err != nil {
		return nil, fmt.Errorf("rendering the current revision: %w", err)
	}
	var out []verify.VisualDifference
	for i, p := range pages {
		if d, ok := c.compare(p, old[i], cur[i]); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// renderPages renders pages of doc; a page the document does not have
// (added later) renders as nil.
func (c *Checker) renderPages(ctx context.Context, doc []byte, pages []verify.VisualPage, dpi float64) ([]*image.RGBA, error) {
	out := make([]*image.RGBA, len(pages))
	err := c.Engine.Open(ctx, render.UserFrom(ctx), doc, func(d *render.Document) error {
		for i, p := range pages {
			if p.Page > d.PageCount() {
				continue
			}
			img, err := d.RenderAnnotated(p.Page, dpi)
			if err != nil {
				return err
			}
			out[i] = img
		}
		return nil
	})
	return out, err
}

// compare finds the pixels that differ outside the allowed rectangles.
func (c *Checker) compare(p verify.VisualPage, a, b *image.RGBA) (verify.VisualDifference, bool) {
	d := verify.VisualDifference{Page: p.Page}
	if b == nil {
		return d, false
	}
	if a == nil || a.Rect != b.Rect {
		// A page added or resized after signing: all of it changed.
		d.Pixels = b.Rect.Dx() * b.Rect.Dy()
		d.Rect = p.CropBox
		d.Detail = "the page was added or resized after signing"
		return d, true
	}
	tol, minPx := c.Tolerance, c.MinPixels
	if tol <= 0 {
		tol = DefaultTolerance
	}
	if minPx <= 0 {
		minPx = DefaultMinPixels
	}
	m := newMapping(p, b.Rect.Dx(), b.Rect.Dy())
	var allowed []image.Rectangle
	for _, r := range p.Allowed {
		allowed = append(allowed, m.toPixels(r).Inset(-margin))
	}
	box := image.Rectangle{}
	n := 0
	for y := 0; y < b.Rect.Dy(); y++ {
	pixels:
		for x := 0; x < b.Rect.Dx(); x++ {
			i := y*b.Stride + x*4
			if !differ(a.Pix[i:i+4], b.Pix[i:i+4], tol) {
				continue
			}
			pt := image.Pt(x, y)
			for _, r := range allowed {
				if pt.In(r) {
					continue pixels
				}
			}
			n++
			box = box.Union(image.Rect(x, y, x+1, y+1))
		}
	}
	if n < minPx {
		return d, false
	}
	d.Pixels, d.Rect = n, m.toPDF(box)
	return d, true
}

func differ(a, b []byte, tol int) bool {
	for k := 0; k < 4; k++ {
		if dv := int(a[k]) - int(b[k]); dv > tol || -dv > tol {
			return true
		}
	}
	return false
}

// mapping converts between PDF user space and the rendered image of a page
// (its crop box, rotated as displayed).
type mapping struct {
	box    pdf.Rect
	rotate int
	sx, sy float64 // pixels per point along the displayed axes
}

func newMapping(p verify.VisualPage, w, h int) mapping {
	bw, bh := p.CropBox[2]-p.CropBox[0], p.CropBox[3]-p.CropBox[1]
	if p.Rotate == 90 || p.Rotate == 270 {
		bw, bh = bh, bw
	}
	m := mapping{box: p.CropBox, rotate: p.Rotate, sx: 1, sy: 1}
	if bw > 0 && bh > 0 {
		m.sx, m.sy = float64(w)/bw, float64(h)/bh
	}
	return m
}

// display is point (x, y) of user space in displayed points from the top
// left corner.
func (m mapping) display(x, y float64) (float64, float64) {
	b := m.box
	switch m.rotate {
	case 90:
		return y - b[1], x - b[0]
	case 180:
		return b[2] - x, y - b[1]
	case 270:
		return b[3] - y, b[2] - x
	default:
		return x - b[0], b[3] - y
	}
}

// user is the inverse of display.
func (m mapping) user(dx, dy float64) (float64, float64) {
	b := m.box
	switch m.rotate {
	case 90:
		return dy + b[0], dx + b[1]
	case 180:
		return b[2] - dx, dy + b[1]
	case 270:
		return b[2] - dy, b[3] - dx
	default:
		return dx + b[0], b[3] - dy
	}
}

func (m mapping) toPixels(r pdf.Rect) image.Rectangle {
	x0, y0 := m.display(r[0], r[1])
	x1, y1 := m.display(r[2], r[3])
	return image.Rect(int(math.Floor(math.Min(x0, x1)*m.sx)), int(math.Floor(math.Min(y0, y1)*m.sy)),
		int(math.Ceil(math.Max(x0, x1)*m.sx)), int(math.Ceil(math.Max(y0, y1)*m.sy)))
}

func (m mapping) toPDF(r image.Rectangle) [4]float64 {
	x0, y0 := m.user(float64(r.Min.X)/m.sx, float64(r.Min.Y)/m.sy)
	x1, y1 := m.user(float64(r.Max.X)/m.sx, float64(r.Max.Y)/m.sy)
	return [4]float64{math.Min(x0, x1), math.Min(y0, y1), math.Max(x0, x1), math.Max(y0, y1)}
}
