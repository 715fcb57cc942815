package signsession

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"reflect"
	"strings"
	"time"

	"vanban/internal/document"
	"vanban/internal/placement"
	"vanban/internal/render"
	"vanban/internal/workflow"
	"vanban/signing/pades"
	"vanban/signing/pades/appearance"
	"vanban/storage"
)

// BlockPrinted is Layout.Block for a template that prints the whole
// signature block.
const BlockPrinted = "printed"

var aligns = map[string]appearance.Align{"": appearance.AlignLeft, "left": appearance.AlignLeft,
	"center": appearance.AlignCenter, "right": appearance.AlignRight}

// SealDiameter is the real size of an organization's round seal drawn
// when the layout is proposed: 36 mm (seals are 35 to 42 mm across).
const SealDiameter = 36 / 25.4 * 72

// sealTextWidth is the room left of the seal for its information
// (organization, signing time) in 10 pt.
const sealTextWidth = 140

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
	for _, a := range []string{l.NumberAlign, l.DateAlign} {
		if _, ok := aligns[a]; !ok {
			return document.Errorf(document.EINVALID, "layout alignment %q is not left, center or right", a)
		}
	}
	if l.Block != "" && l.Block != BlockPrinted {
		return document.Errorf(document.EINVALID, "layout block %q is not empty or %q", l.Block, BlockPrinted)
	}
	if len(l.AttachmentPages) > 100 {
		return document.Errorf(document.EINVALID, "at most 100 attachment pages")
	}
	for _, p := range l.AttachmentPages {
		if p < 2 {
			return document.Errorf(document.EINVALID, "an attachment starts on page 2 or later, not %d", p)
		}
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
	// Saving the layout unchanged (a drafter accepting the proposal on the
	// layout page, whose form shows tenths of a point) changes nothing the
	// reviewers approved: it must not send the document back to review.
	cur, err := s.Layout(ctx, a, docID)
	if err != nil {
		return err
	}
	if cur.sameAs(l) {
		return nil
	}
	if l.Cover {
		// A cover may hide only the template's placeholders or blank
		// paper: otherwise the issued PDF would lack text the reviewer
		// approved, and every validator would call it a permitted fill.
		if s.opts.Covers == nil {
			return document.Errorf(document.EINVALID, "this server cannot check what a cover hides; set the layout without cover")
		}
		v, err := s.wf.Get(ctx, a, docID)
		if err != nil {
			return err
		}
		if len(v.Versions) == 0 {
			return document.Errorf(document.ECONFLICT, "the document has no version to place the layout on")
		}
		f, err := s.blobs.Open(ctx, v.Versions[len(v.Versions)-1].BlobKey)
		if err != nil {
			return err
		}
		pdf, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		f.Close()
		if err != nil {
			return err
		}
		if err := s.opts.Covers.CheckCovers(ctx, a.UserID, pdf, l); err != nil {
			return err
		}
	}
	l.Proposed = false // a person set it: a revised upload keeps it
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

// LayoutFromProposal turns what placement found in a draft into a signing
// layout, starting from def for what it did not find: the number and date
// fields exactly over the template's lines (covering their blank
// placeholders, centred and italic as the template has them), the leader's
// signature in the gap between the position and the name, the seal at its
// real size over the left third of the signature with its information on
// its left, and the attachments' first pages. ok is false when nothing
// was found.
func LayoutFromProposal(p *placement.Proposal, def Layout) (l Layout, ok bool) {
	l = def
	l.Proposed = true
	field := func(line *placement.Line, minWidth float64) pades.Rect {
		b := line.Box
		mid := (b.LLX + b.URX) / 2
		half := math.Max(b.Width()/2+4, minWidth/2)
		return pades.Rect{LLX: math.Max(mid-half, 0), LLY: b.LLY - 1.5, URX: mid + half, URY: b.URY + 1.5}
	}
	if n := p.Number; n != nil {
		l.Number, l.NumberPage, l.NumberAlign, ok = field(n, 150), n.Page, string(n.Align), true
		if n.FontSize >= 6 && n.FontSize <= 24 {
			l.FontSize = n.FontSize
		}
		l.Cover = true
	}
	if d := p.Date; d != nil {
		l.Date, l.DatePage, l.DateAlign, l.DateItalic, ok = field(d, 230), d.Page, string(d.Align), d.Italic, true
		l.Cover = true
	}
	if b := p.Block; b != nil {
		ok = true
		l.SignaturePage = b.Page
		g := b.Gap
		if b.Position != nil && b.Name != nil {
			l.Block = BlockPrinted
			l.Signature = pades.Rect{LLX: g.LLX, LLY: g.LLY, URX: g.URX, URY: g.URY}
		} else {
			l.Block = ""
			l.Signature = pades.Rect{LLX: b.Column.LLX, LLY: b.Column.LLY, URX: b.Column.URX, URY: b.Column.URY}
		}
		l.Seal = sealRect(l.Signature, b.Gap, b.Beside)
	}
	l.AttachmentPages = p.Attachments
	for i, w := range p.Pages {
		// Keep every rectangle on its page.
		for _, r := range []struct {
			page int
			rect *pades.Rect
		}{{l.NumberPage, &l.Number}, {l.DatePage, &l.Date}, {l.SignaturePage, &l.Signature}, {l.SignaturePage, &l.Seal}} {
			if r.page == i+1 {
				r.rect.URX = math.Min(r.rect.URX, w[0])
				r.rect.URY = math.Min(r.rect.URY, w[1])
			}
		}
	}
	return l, ok
}

// sealRect places the seal: a circle of SealDiameter whose right edge is
// one third into the handwritten signature as it will be drawn (centred in
// the gap, at most twice as wide as high), vertically centred on the gap,
// with room for its text on its left.
func sealRect(sig pades.Rect, gap placement.Rect, beside []placement.Rect) pades.Rect {
	gw, gh := gap.Width(), gap.Height()
	if gw <= 0 || gh <= 0 {
		gw, gh = sig.Width(), sig.Height()
	}
	imgW := math.Min(gw, 2*gh)
	imgLeft := (sig.LLX+sig.URX)/2 - imgW/2
	right := imgLeft + imgW/3
	cy := (gap.LLY + gap.URY) / 2
	if gap.Height() <= 0 {
		cy = (sig.LLY + sig.URY) / 2
	}
	d := SealDiameter
	r := pades.Rect{LLX: math.Max(right-d-sealTextWidth, 0), LLY: math.Max(cy-d/2, 0), URX: right, URY: cy + d/2}
	// The text (three 10 pt lines, centred on the seal) stays clear of
	// the recipients' lines on its left: it then wraps or shrinks.
	textTop, textBottom := cy+20, cy-20
	for _, o := range beside {
		if o.URY > textBottom && o.LLY < textTop && o.URX+4 > r.LLX {
			r.LLX = math.Min(o.URX+4, r.URX-d-40)
		}
	}
	return r
}

// maxProposalPages bounds the pages read to propose a layout.
const maxProposalPages = 60

// Proposer proposes the signing layout of uploaded drafts
// (workflow.LayoutProposer): it reads the stored PDF, extracts its text
// with PDFium (within the engine's limits, counted against the uploader's
// share) and places the fields with internal/placement.
type Proposer struct {
	Engine  *render.Engine
	Blobs   storage.Store
	Default Layout // DefaultLayout() when zero
}

var _ workflow.LayoutProposer = (*Proposer)(nil)

// Propose extracts the text of a PDF and returns the layout found in it.
func (p *Proposer) Propose(ctx context.Context, userID string, pdf []byte) (Layout, *placement.Proposal, bool, error) {
	var pages []*render.PageText
	err := p.Engine.Open(ctx, userID, pdf, func(d *render.Document) error {
		n := d.PageCount()
		for i := 1; i <= n && i <= maxProposalPages; i++ {
			pt, err := d.Text(i)
			if err != nil {
				return err
			}
			pages = append(pages, pt)
		}
		return nil
	})
	if err != nil {
		return Layout{}, nil, false, err
	}
	def := p.Default
	if def.IsZero() {
		def = DefaultLayout()
	}
	prop := placement.Propose(pages)
	l, ok := LayoutFromProposal(prop, def)
	return l, prop, ok, nil
}

// ProposeLayout implements workflow.LayoutProposer.
func (p *Proposer) ProposeLayout(ctx context.Context, userID string, f workflow.File) (string, error) {
	if f.Size > render.MaxDocument {
		return "", nil
	}
	file, err := p.Blobs.Open(ctx, f.BlobKey)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.NewSectionReader(file, 0, file.Size()))
	file.Close()
	if err != nil {
		return "", err
	}
	l, _, ok, err := p.Propose(ctx, userID, data)
	if err != nil || !ok {
		return "", err
	}
	if l.Cover {
		if err := p.CheckCovers(ctx, userID, data, l); document.ErrorCode(err) == document.EINVALID {
			l.Cover = false // propose the places, not a cover over text
		} else if err != nil {
			return "", err
		}
	}
	if err := l.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// attachmentFields names the three text fields at the top right of an
// attachment's first page: number and symbol, time, organization.
func attachmentFields(page int) [3]string {
	p := fmt.Sprint(page)
	return [3]string{"PhuLuc" + p + "So", "PhuLuc" + p + "ThoiGian", "PhuLuc" + p + "CoQuan"}
}

// attachmentRect is line i (0 at the top) of an attachment's stamp: in
// the top margin of an A4 page (Decree 30: 20 to 25 mm), right-aligned at
// the right margin, 10 pt lines.
func attachmentRect(i int) pades.Rect {
	top := 830.0 - 13*float64(i)
	return pades.Rect{LLX: 330, LLY: top - 13, URX: 560, URY: top}
}

// attachmentValues fills the attachment stamps: the number and symbol,
// the issue time the system assigned with the number (ISO 8601, Vietnam
// time) and the organization's name.
func attachmentValues(l Layout, symbol string, numberedAt time.Time, orgName string) map[string]string {
	out := map[string]string{}
	for _, p := range l.AttachmentPages {
		f := attachmentFields(p)
		out[f[0]] = "Số: " + symbol
		out[f[1]] = numberedAt.In(document.VietnamTime).Format(time.RFC3339)
		out[f[2]] = orgName
	}
	return out
}

// signedLayout is the layout a document was (or will be) signed with: its
// own, fixed once signing started, or the service's default.
func (s *Service) signedLayout(ctx context.Context, docID string) (Layout, error) {
	l := s.opts.Layout
	raw, err := s.db.DocumentLayout(ctx, docID)
	if err != nil {
		return Layout{}, err
	}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			return Layout{}, fmt.Errorf("signsession: stored layout of %s: %w", docID, err)
		}
	}
	return l, nil
}

// sealNameLines is the organization's name as the seal's text shows it:
// one line when it fits in 10 pt left of the seal, else two.
func sealNameLines(name string, seal pades.Rect) []string {
	avail := seal.Width() - seal.Height() - 5
	if appearance.MustDefaultFont().NewEncoder().Width(name, appearance.DefaultFontSize) <= avail {
		return []string{name}
	}
	return wrapName(name)
}

// wrapName breaks a name into two lines at the space nearest its middle.
func wrapName(name string) []string {
	name = strings.Join(strings.Fields(name), " ")
	rs := []rune(name)
	best := -1
	for i, r := range rs {
		if r == ' ' && (best < 0 || abs(i-len(rs)/2) < abs(best-len(rs)/2)) {
			best = i
		}
	}
	if best < 0 {
		return []string{name}
	}
	return []string{string(rs[:best]), string(rs[best+1:])}
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// CoverChecker checks that a layout's covers hide nothing of the page but
// the template's placeholders (Proposer implements it).
type CoverChecker interface {
	CheckCovers(ctx context.Context, userID string, pdf []byte, l Layout) error
}

var _ CoverChecker = (*Proposer)(nil)

// CheckCovers refuses (EINVALID) a layout whose number or date field,
// painted white, would hide text of the page other than the template's
// own number and date lines, or anything drawn there (ink in the page as
// rendered now, at review time).
func (p *Proposer) CheckCovers(ctx context.Context, userID string, pdf []byte, l Layout) error {
	if !l.Cover {
		return nil
	}
	type cover struct {
		name string
		page int
		rect pades.Rect
	}
	covers := []cover{{"number", l.NumberPage, l.Number}, {"date", l.DatePage, l.Date}}
	var problem error
	err := p.Engine.Open(ctx, userID, pdf, func(d *render.Document) error {
		// The number and the date are on one page most of the time: it
		// is rendered once for both.
		rendered := map[int]*image.RGBA{}
		first, err := d.Text(1)
		if err != nil {
			return err
		}
		found := placement.Propose([]*render.PageText{first})
		for _, c := range covers {
			page := c.page
			if page == 0 {
				page = 1
			}
			if page > d.PageCount() {
				problem = document.Errorf(document.EINVALID, "layout %s: page %d of %d", c.name, page, d.PageCount())
				return nil
			}
			pt := first
			if page != 1 {
				if pt, err = d.Text(page); err != nil {
					return err
				}
			}
			var allowed []render.Rect
			for _, ln := range []*placement.Line{found.Number, found.Date} {
				if ln != nil && ln.Page == page {
					b := ln.Box
					allowed = append(allowed, render.Rect{LLX: b.LLX - 2, LLY: b.LLY - 2, URX: b.URX + 2, URY: b.URY + 2})
				}
			}
			r := render.Rect{LLX: c.rect.LLX, LLY: c.rect.LLY, URX: c.rect.URX, URY: c.rect.URY}
			inAllowed := func(b render.Rect) bool {
				for _, a := range allowed {
					if b.LLX >= a.LLX && b.URX <= a.URX && b.LLY >= a.LLY && b.URY <= a.URY {
						return true
					}
				}
				return false
			}
			var hidden []render.Char
			for _, ch := range pt.Chars {
				if ch.R == ' ' || !ch.Box.Intersects(r) || inAllowed(ch.Box) {
					continue
				}
				ov := (math.Min(ch.Box.URX, r.URX) - math.Max(ch.Box.LLX, r.LLX)) * (math.Min(ch.Box.URY, r.URY) - math.Max(ch.Box.LLY, r.LLY))
				if ov > 0.2*ch.Box.Width()*ch.Box.Height() {
					hidden = append(hidden, ch)
				}
			}
			if len(hidden) > 0 {
				problem = document.Errorf(document.EINVALID, "layout %s: the cover would hide text of page %d (%q); covers may hide only the template's number and date lines", c.name, page,
					strings.TrimSpace((&render.PageText{Chars: hidden}).String()))
				return nil
			}
			// Ink: anything drawn under the cover outside those lines
			// (a scanned line, a rule, an image).
			img := rendered[page]
			if img == nil {
				if img, err = d.Render(page, 72); err != nil {
					return err
				}
				rendered[page] = img
			}
			pw, ph, err := d.PageSize(page)
			if err != nil {
				return err
			}
			sx, sy := float64(img.Rect.Dx())/pw, float64(img.Rect.Dy())/ph
			dark := 0
			for y := math.Max(r.LLY, 0); y < math.Min(r.URY, ph); y += 1 / sy {
				for x := math.Max(r.LLX, 0); x < math.Min(r.URX, pw); x += 1 / sx {
					if inAllowed(render.Rect{LLX: x, LLY: y, URX: x, URY: y}) {
						continue
					}
					c := img.RGBAAt(int(x*sx), img.Rect.Dy()-1-int(y*sy))
					if int(c.R)+int(c.G)+int(c.B) < 3*160 {
						dark++
					}
				}
			}
			if dark > 3 {
				problem = document.Errorf(document.EINVALID, "layout %s: the cover would hide something drawn on page %d (%d dark points outside the template's lines)", c.name, page, dark)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return problem
}

// sameAs reports whether two layouts place and draw the same things, to
// the tenth of a point the layout form shows; whether a person or the
// proposal set them does not count.
func (l Layout) sameAs(o Layout) bool {
	tenth := func(r pades.Rect) pades.Rect {
		f := func(v float64) float64 { return math.Round(v*10) / 10 }
		return pades.Rect{LLX: f(r.LLX), LLY: f(r.LLY), URX: f(r.URX), URY: f(r.URY)}
	}
	for _, x := range []*Layout{&l, &o} {
		x.Signature, x.Seal, x.Number, x.Date = tenth(x.Signature), tenth(x.Seal), tenth(x.Number), tenth(x.Date)
		x.Proposed = false
		if len(x.AttachmentPages) == 0 {
			x.AttachmentPages = nil
		}
	}
	return reflect.DeepEqual(l, o)
}
