package render

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/klippa-app/go-pdfium/requests"
)

// Rect is a box in PDF points, origin at the page's lower left.
type Rect struct {
	LLX float64 `json:"llx"`
	LLY float64 `json:"lly"`
	URX float64 `json:"urx"`
	URY float64 `json:"ury"`
}

// Width and Height of the box.
func (r Rect) Width() float64  { return r.URX - r.LLX }
func (r Rect) Height() float64 { return r.URY - r.LLY }

// Empty reports a box without area.
func (r Rect) Empty() bool { return r.Width() <= 0 || r.Height() <= 0 }

// Union is the smallest box holding both (an empty box is ignored).
func (r Rect) Union(o Rect) Rect {
	if r.Empty() {
		return o
	}
	if o.Empty() {
		return r
	}
	return Rect{math.Min(r.LLX, o.LLX), math.Min(r.LLY, o.LLY), math.Max(r.URX, o.URX), math.Max(r.URY, o.URY)}
}

// Intersects reports whether the boxes overlap with some area.
func (r Rect) Intersects(o Rect) bool {
	return r.LLX < o.URX && o.LLX < r.URX && r.LLY < o.URY && o.LLY < r.URY
}

// Char is one character of a page's text: its box (the glyph's bounds),
// the font size and whether the font is bold or italic.
type Char struct {
	R      rune    `json:"r"`
	Box    Rect    `json:"box"`
	Size   float64 `json:"size,omitempty"`
	Bold   bool    `json:"bold,omitempty"`
	Italic bool    `json:"italic,omitempty"`
}

// PageText is the text of one page, in PDFium's reading order.
type PageText struct {
	Page   int     `json:"page"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Chars  []Char  `json:"chars"`
}

// MaxChars bounds the characters taken from one page: a real page holds a
// few thousand.
const MaxChars = 100_000

// Font descriptor flags (PDF 32000-1, 9.8.2).
const (
	flagItalic    = 1 << 6
	flagForceBold = 1 << 18
)

// Text extracts page n's characters with their boxes.
func (d *Document) Text(n int) (*PageText, error) {
	p, err := d.page(n)
	if err != nil {
		return nil, err
	}
	w, h, err := d.PageSize(n)
	if err != nil {
		return nil, err
	}
	res, err := d.inst.GetPageTextStructured(&requests.GetPageTextStructured{Page: p,
		Mode: requests.GetPageTextStructuredModeChars, CollectFontInformation: true})
	if err != nil {
		return nil, fmt.Errorf("%w: text of page %d: %v", ErrUnreadable, n, err)
	}
	pt := &PageText{Page: n, Width: w, Height: h}
	for _, c := range res.Chars {
		if len(pt.Chars) >= MaxChars {
			break
		}
		r := []rune(c.Text)
		if len(r) != 1 {
			continue
		}
		ch := Char{R: r[0], Box: Rect{c.PointPosition.Left, c.PointPosition.Bottom, c.PointPosition.Right, c.PointPosition.Top}}
		if fi := c.FontInformation; fi != nil {
			ch.Size = fi.RenderedSize
			if ch.Size == 0 {
				ch.Size = fi.Size
			}
			name := strings.ToLower(fi.Name)
			ch.Bold = fi.Weight >= 600 || fi.Flags&flagForceBold != 0 || strings.Contains(name, "bold")
			ch.Italic = fi.Flags&flagItalic != 0 || strings.Contains(name, "italic") || strings.Contains(name, "oblique")
		}
		pt.Chars = append(pt.Chars, ch)
	}
	return pt, nil
}

// Line is a run of characters sharing a baseline band, left to right.
type Line struct {
	Text  string `json:"text"`
	Box   Rect   `json:"box"`
	Chars []Char `json:"-"`
}

// Lines groups the page's characters into lines, top to bottom. Characters
// whose vertical extents overlap by more than half the smaller height are
// on one line; a gap wider than a third of the font size between two
// characters becomes a space when the PDF has none.
func (p *PageText) Lines() []Line {
	var chars []Char
	for _, c := range p.Chars {
		if c.Box.Empty() || unicode.IsControl(c.R) {
			continue
		}
		chars = append(chars, c)
	}
	sort.SliceStable(chars, func(i, j int) bool {
		ci, cj := chars[i].Box, chars[j].Box
		return (ci.LLY+ci.URY)/2 > (cj.LLY+cj.URY)/2
	})
	var groups [][]Char
	var bands []Rect
	for _, c := range chars {
		placed := false
		for gi := len(groups) - 1; gi >= 0 && gi >= len(groups)-3; gi-- {
			b := bands[gi]
			ov := math.Min(b.URY, c.Box.URY) - math.Max(b.LLY, c.Box.LLY)
			if ov > 0.5*math.Min(b.Height(), c.Box.Height()) {
				groups[gi] = append(groups[gi], c)
				// The band keeps its first extent so that tall
				// glyphs (Đ, diacritics) do not swallow the next line.
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []Char{c})
			bands = append(bands, c.Box)
		}
	}
	lines := make([]Line, 0, len(groups))
	for _, g := range groups {
		sort.SliceStable(g, func(i, j int) bool { return g[i].Box.LLX < g[j].Box.LLX })
		var b strings.Builder
		var box Rect
		for i, c := range g {
			if i > 0 && c.R != ' ' && g[i-1].R != ' ' {
				size := math.Max(c.Size, c.Box.Height())
				if c.Box.LLX-g[i-1].Box.URX > size/3 {
					b.WriteByte(' ')
				}
			}
			b.WriteRune(c.R)
			box = box.Union(c.Box)
		}
		lines = append(lines, Line{Text: b.String(), Box: box, Chars: g})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Box.URY > lines[j].Box.URY })
	return lines
}

// String is the page's text, one line per line.
func (p *PageText) String() string {
	var b strings.Builder
	for _, l := range p.Lines() {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
