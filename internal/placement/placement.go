// Package placement finds, in a draft's own text positions, where a Decree
// 30/2020 document expects its number, its place-and-date line and its
// signature block, so that the signing layout needs no ruler: the number
// line ("Số: ..../QĐ-UBND"), the place-and-date line ("Thành Long, ngày ...
// tháng ... năm ...") with their blank placeholders, the signature block
// (the capacity line TM./KT./TL./TUQ./Q., the position line, the room for
// the signature and the signer's name, on the right of the last page of
// the decision) and the first pages of attachments ("PHỤ LỤC").
//
// It works on text extracted by internal/render and returns boxes in PDF
// points; it knows nothing of signing or storage.
package placement

import (
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"

	"vanban/internal/document"
	"vanban/internal/render"
)

// Rect is a box in PDF points (origin lower left).
type Rect = render.Rect

// Align of a line in its column.
type Align string

const (
	AlignLeft   Align = "left"
	AlignCenter Align = "center"
	AlignRight  Align = "right"
)

// Line is a found line: the box to cover and refill, its page, the
// template's font size and alignment, and the placeholder boxes (the blank
// runs of dots, underscores or spaces) inside it.
type Line struct {
	Page         int     `json:"page"`
	Box          Rect    `json:"box"`
	Text         string  `json:"text"`
	FontSize     float64 `json:"font_size"`
	Align        Align   `json:"align"`
	Italic       bool    `json:"italic,omitempty"`
	Placeholders []Rect  `json:"placeholders,omitempty"`
}

// Block is the signature block of the decision.
type Block struct {
	Page int `json:"page"`
	// Capacity (TM. ỦY BAN NHÂN DÂN, KT. CHỦ TỊCH...) may be absent when
	// the head signs in their own name; Position and Name are the
	// template's lines; Name is zero when the template leaves it out.
	Capacity *Line `json:"capacity,omitempty"`
	Position *Line `json:"position,omitempty"`
	Name     *Line `json:"name,omitempty"`
	// Gap is the blank room between the position and the name, where
	// Appendix I puts the handwritten signature; Column is the block's
	// horizontal extent.
	Gap    Rect `json:"gap"`
	Column Rect `json:"column"`
	// Beside are the boxes of the text lines left of the block at its
	// height (the recipients, "Nơi nhận"), which the seal's text must
	// not cover.
	Beside []Rect `json:"beside,omitempty"`
}

// Proposal is what was found; nil members were not.
type Proposal struct {
	Number *Line  `json:"number,omitempty"`
	Date   *Line  `json:"date,omitempty"`
	Block  *Block `json:"block,omitempty"`
	// Attachments are the first pages of attachments (PHỤ LỤC) after
	// the decision, 1-based.
	Attachments []int `json:"attachments,omitempty"`
	// Pages are the page sizes, [width, height] in points.
	Pages [][2]float64 `json:"pages"`
}

// Placeholders is every box the proposal means to cover: the number and
// date lines found in the template.
func (p *Proposal) Placeholders() map[int][]Rect {
	out := map[int][]Rect{}
	for _, l := range []*Line{p.Number, p.Date} {
		if l != nil {
			out[l.Page] = append(out[l.Page], l.Box)
		}
	}
	return out
}

// segment is a run of characters on one text line without a wide gap.
type segment struct {
	page  int
	chars []render.Char
	text  string // NFC
	fold  string // folded: lower case, no diacritics
	box   Rect
	size  float64
}

func (s *segment) bold() bool   { return share(s.chars, func(c render.Char) bool { return c.Bold }) }
func (s *segment) italic() bool { return share(s.chars, func(c render.Char) bool { return c.Italic }) }

func share(cs []render.Char, f func(render.Char) bool) bool {
	n, k := 0, 0
	for _, c := range cs {
		if unicode.IsLetter(c.R) {
			n++
			if f(c) {
				k++
			}
		}
	}
	return n > 0 && k*2 > n
}

func (s *segment) upper() bool {
	n, k := 0, 0
	for _, r := range s.text {
		if unicode.IsLetter(r) {
			n++
			if unicode.IsUpper(r) {
				k++
			}
		}
	}
	return n > 0 && k*10 >= n*9
}

// segments splits each line of the page where characters are further apart
// than three font sizes: the two cells of a Decree 30 header share a
// baseline.
func segments(pt *render.PageText) []*segment {
	var out []*segment
	for _, l := range pt.Lines() {
		var cur []render.Char
		flush := func() {
			if len(cur) == 0 {
				return
			}
			s := &segment{page: pt.Page, chars: cur}
			text, box := render.JoinChars(cur)
			s.text, s.box = strings.TrimSpace(text), box
			sizes := 0.0
			for _, c := range cur {
				sizes = math.Max(sizes, c.Size)
			}
			s.fold = document.Fold(s.text)
			s.size = sizes
			if s.size == 0 {
				s.size = s.box.Height()
			}
			if s.text != "" && !s.box.Empty() {
				out = append(out, s)
			}
			cur = nil
		}
		for _, c := range l.Chars {
			if len(cur) > 0 {
				prev := cur[len(cur)-1]
				em := math.Max(math.Max(c.Size, prev.Size), c.Box.Height())
				if c.Box.LLX-prev.Box.URX > 3*em {
					flush()
				}
			}
			cur = append(cur, c)
		}
		flush()
	}
	return out
}

// The patterns are compiled on first use: start-up pays only for what a
// command uses.
var (
	numberRe   = lazyRegexp(`^so\s*:`)
	dateRe     = lazyRegexp(`,\s*ngay\b.*\bthang\b.*\bnam\b`)
	capacityRe = lazyRegexp(`^(tm|kt|tl|tuq|q)\s*\.\s*\S`)
	annexRe    = lazyRegexp(`^phu luc\b`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// placeholders returns the blank runs of a segment: two or more dots,
// ellipses or underscores, or blank room (spaces or a gap between
// characters) wider than 0.6 em (two spaces or more).
func placeholders(s *segment) []Rect {
	var out []Rect
	var run Rect
	marks := 0
	flush := func() {
		if !run.Empty() && (marks >= 2 || run.Width() > s.size*0.6) {
			out = append(out, rect(run.LLX, s.box.LLY, run.URX, s.box.URY))
		}
		run, marks = Rect{}, 0
	}
	right := math.Inf(-1)
	for _, c := range s.chars {
		if gap := c.Box.LLX - right; !math.IsInf(right, -1) && gap > s.size*0.6 {
			run = run.Union(rect(right, s.box.LLY, c.Box.LLX, s.box.URY))
		}
		switch c.R {
		case '.', '…', '_':
			marks++
			fallthrough
		case ' ':
			run = run.Union(rect(c.Box.LLX, s.box.LLY, c.Box.URX, s.box.URY))
		default:
			flush()
		}
		right = math.Max(right, c.Box.URX)
	}
	flush()
	return out
}

func lineOf(s *segment, pageWidth float64, col Rect) *Line {
	l := &Line{Page: s.page, Box: s.box, Text: s.text, FontSize: math.Round(s.size*2) / 2, Italic: s.italic(), Align: AlignLeft,
		Placeholders: placeholders(s)}
	if col.Empty() {
		col = rect(0, 0, pageWidth, 0)
	}
	mid, colMid := (s.box.LLX+s.box.URX)/2, (col.LLX+col.URX)/2
	switch {
	case math.Abs(mid-colMid) < col.Width()*0.08:
		l.Align = AlignCenter
	case s.box.URX > col.URX-col.Width()*0.1 && s.box.LLX > colMid:
		l.Align = AlignRight
	}
	return l
}

// Propose finds the placements in the pages' text (pages in order, page 1
// first).
func Propose(pages []*render.PageText) *Proposal {
	p := &Proposal{}
	segs := make([][]*segment, len(pages))
	for i, pt := range pages {
		p.Pages = append(p.Pages, [2]float64{pt.Width, pt.Height})
		segs[i] = segments(pt)
	}
	if len(pages) == 0 {
		return p
	}
	// Attachments: a page (not the first) whose top lines start with
	// PHỤ LỤC.
	for i := 1; i < len(pages); i++ {
		for _, s := range segs[i] {
			if s.box.LLY < pages[i].Height*0.6 {
				break
			}
			if annexRe().MatchString(s.fold) && s.upper() {
				p.Attachments = append(p.Attachments, i+1)
				break
			}
		}
	}
	// Number and date: in the upper part of the first page, the header's
	// two cells. Each cell's column is estimated from the header lines
	// above (the organization and the national motto).
	first, fw, fh := segs[0], pages[0].Width, pages[0].Height
	for _, s := range first {
		if s.box.LLY < fh*0.55 {
			break
		}
		if p.Number == nil && numberRe().MatchString(s.fold) {
			p.Number = lineOf(s, fw, columnAbove(first, s))
			p.Number.Align = AlignCenter
		}
		if p.Date == nil && dateRe().MatchString(s.fold) {
			p.Date = lineOf(s, fw, columnAbove(first, s))
			p.Date.Align = AlignCenter
		}
	}
	// The signature block is on the last page of the decision: before
	// the first attachment.
	last := len(pages)
	if len(p.Attachments) > 0 {
		last = p.Attachments[0] - 1
	}
	for pg := last; pg >= 1 && p.Block == nil; pg-- {
		p.Block = findBlock(segs[pg-1], pages[pg-1])
	}
	return p
}

// columnAbove is the horizontal extent of the lines stacked above s that
// share its middle: its table cell.
func columnAbove(segs []*segment, s *segment) Rect {
	mid := (s.box.LLX + s.box.URX) / 2
	col := s.box
	for _, o := range segs {
		if o == s || o.box.LLY < s.box.URY || o.box.LLY-s.box.URY > 80 {
			continue
		}
		if o.box.LLX <= mid && mid <= o.box.URX {
			col = col.Union(o.box)
		}
	}
	return col
}

// findBlock looks for the signature block on one page: a capacity or
// position line in bold capitals on the right half, then the signer's
// name below a blank gap.
func findBlock(segs []*segment, pt *render.PageText) *Block {
	var posIdx = -1
	var capIdx = -1
	for i, s := range segs {
		mid := (s.box.LLX + s.box.URX) / 2
		if mid < pt.Width*0.5 || !s.upper() {
			continue
		}
		if capacityRe().MatchString(s.fold) {
			capIdx, posIdx = i, -1
			// The position line is the next capital line of the
			// same column, if any.
			for j := i + 1; j < len(segs); j++ {
				o := segs[j]
				if !overlapX(o.box, s.box) {
					continue
				}
				if o.upper() && s.box.LLY-o.box.URY < 2*s.size {
					posIdx = j
				}
				break
			}
			if posIdx < 0 {
				posIdx = i
			}
		}
	}
	if posIdx < 0 {
		// No capacity line: the head signs in their own name. Take the
		// lowest bold capital line of the right half that has a name
		// below it after a gap.
		for i := len(segs) - 1; i >= 0; i-- {
			s := segs[i]
			if (s.box.LLX+s.box.URX)/2 < pt.Width*0.5 || !s.upper() || !s.bold() || s.box.LLY > pt.Height*0.8 {
				continue
			}
			if n := nameBelow(segs, i); n >= 0 {
				posIdx = i
				break
			}
		}
	}
	if posIdx < 0 {
		return nil
	}
	pos := segs[posIdx]
	col := pos.box
	b := &Block{Page: pos.page}
	if capIdx >= 0 {
		col = col.Union(segs[capIdx].box)
	}
	colRect := rect(col.LLX, 0, col.URX, 0)
	if capIdx >= 0 {
		b.Capacity = lineOf(segs[capIdx], pt.Width, colRect)
	}
	b.Position = lineOf(pos, pt.Width, colRect)
	top := pos.box.LLY - 2
	if n := nameBelow(segs, posIdx); n >= 0 {
		name := segs[n]
		col = col.Union(rect(name.box.LLX, col.LLY, name.box.URX, col.URY))
		b.Name = lineOf(name, pt.Width, colRect)
		b.Gap = rect(0, name.box.URY+2, 0, top)
	} else {
		b.Gap = rect(0, math.Max(top-80, 20), 0, top)
	}
	// The gap spans the column, at least 170 points wide around its
	// middle, within the page.
	mid := (col.LLX + col.URX) / 2
	half := math.Max(col.Width()/2, 85)
	b.Column = rect(math.Max(mid-half, 0), b.Gap.LLY, math.Min(mid+half, pt.Width), top)
	b.Gap.LLX, b.Gap.URX = b.Column.LLX, b.Column.URX
	if b.Capacity != nil {
		b.Column.URY = b.Capacity.Box.URY
	} else {
		b.Column.URY = pos.box.URY
	}
	if b.Name != nil {
		b.Column.LLY = b.Name.Box.LLY
	}
	for _, s := range segs {
		if s.box.URX < b.Column.LLX && s.box.URY > b.Column.LLY-60 && s.box.LLY < b.Column.URY+60 {
			b.Beside = append(b.Beside, s.box)
		}
	}
	return b
}

// nameBelow returns the index of the signer's name under segs[i]: the next
// line of the same column, below a gap of at least two lines, not all
// capitals or bold (a name is written in ordinary case), or -1.
func nameBelow(segs []*segment, i int) int {
	s := segs[i]
	cands := []int{}
	for j := i + 1; j < len(segs); j++ {
		if overlapX(segs[j].box, s.box) || overlapX(segs[j].box, widen(s.box, 40)) {
			cands = append(cands, j)
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return segs[cands[a]].box.URY > segs[cands[b]].box.URY })
	for _, j := range cands {
		o := segs[j]
		gap := s.box.LLY - o.box.URY
		if gap < 1.5*s.size {
			return -1 // text right below the position: no room to sign
		}
		if gap > 200 {
			return -1
		}
		if hasLower(o.text) {
			return j
		}
		return -1
	}
	return -1
}

func hasLower(s string) bool {
	for _, r := range s {
		if unicode.IsLower(r) {
			return true
		}
	}
	return false
}

func overlapX(a, b Rect) bool { return a.LLX < b.URX && b.LLX < a.URX }

func widen(r Rect, d float64) Rect { return rect(r.LLX-d, r.LLY, r.URX+d, r.URY) }

func rect(llx, lly, urx, ury float64) Rect { return Rect{LLX: llx, LLY: lly, URX: urx, URY: ury} }
