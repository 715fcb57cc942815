package render

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/klippa-app/go-pdfium/requests"
	"golang.org/x/text/unicode/norm"
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
	return rect(math.Min(r.LLX, o.LLX), math.Min(r.LLY, o.LLY), math.Max(r.URX, o.URX), math.Max(r.URY, o.URY))
}

// Intersects reports whether the boxes overlap with some area.
func (r Rect) Intersects(o Rect) bool {
	return r.LLX < o.URX && o.LLX < r.URX && r.LLY < o.URY && o.LLY < r.URY
}

// Char is one character of a page's text: its box (the glyph's bounds),
// the font size and whether the font is bold or italic.
type Char struct {
	R   rune `json:"r"`
	Box Rect `json:"box"`
	// Baseline is the y of the character's origin.
	Baseline float64 `json:"baseline"`
	Size     float64 `json:"size,omitempty"`
	Bold     bool    `json:"bold,omitempty"`
	Italic   bool    `json:"italic,omitempty"`
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

// Text extracts page n's characters with their boxes (the font's ascent
// to descent, so the characters of a line share their height), baselines,
// sizes and styles.
func (d *Document) Text(n int) (*PageText, error) { return d.text(n, true) }

// Words extracts what Text does but the styles (Bold and Italic stay
// false): enough for the page's lines and words (Lines, String), the
// search index's need. Every value is a call into the WebAssembly guest,
// and the styles are the dearest part: the font's weight and its name,
// for which go-pdfium allocates and frees guest memory on each character.
func (d *Document) Words(n int) (*PageText, error) { return d.text(n, false) }

func (d *Document) text(n int, styles bool) (*PageText, error) {
	if _, err := d.page(n); err != nil {
		return nil, err
	}
	key := d.textKey(n, styles)
	if t, ok := d.e.texts.get(key); ok {
		return t, nil
	}
	t, err := d.extractText(n, styles)
	if err != nil {
		return nil, err
	}
	d.e.texts.put(key, t)
	return t, nil
}

func (d *Document) extractText(n int, styles bool) (*PageText, error) {
	p, err := d.page(n)
	if err != nil {
		return nil, err
	}
	w, h, err := d.PageSize(n)
	if err != nil {
		return nil, err
	}
	tp, err := d.inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: p})
	if err != nil {
		return nil, fmt.Errorf("%w: text of page %d: %v", ErrUnreadable, n, err)
	}
	defer d.inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	cnt, err := d.inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return nil, fmt.Errorf("%w: text of page %d: %v", ErrUnreadable, n, err)
	}
	pt := &PageText{Page: n, Width: w, Height: h}
	fail := func(err error) (*PageText, error) {
		return nil, fmt.Errorf("%w: text of page %d: %v", ErrUnreadable, n, err)
	}
	for i := 0; i < cnt.Count && len(pt.Chars) < MaxChars; i++ {
		u, err := d.inst.FPDFText_GetUnicode(&requests.FPDFText_GetUnicode{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return fail(err)
		}
		r := rune(u.Unicode)
		if r == 0 || unicode.IsControl(r) {
			continue
		}
		box, err := d.inst.FPDFText_GetLooseCharBox(&requests.FPDFText_GetLooseCharBox{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return fail(err)
		}
		org, err := d.inst.FPDFText_GetCharOrigin(&requests.FPDFText_GetCharOrigin{TextPage: tp.TextPage, Index: i})
		if err != nil {
			return fail(err)
		}
		ch := Char{R: r, Baseline: org.Y,
			Box: rect(float64(box.Rect.Left), float64(box.Rect.Bottom), float64(box.Rect.Right), float64(box.Rect.Top))}
		if ch.Box.LLY > ch.Box.URY {
			ch.Box.LLY, ch.Box.URY = ch.Box.URY, ch.Box.LLY
		}
		if r == ' ' && ch.Box.Width() < 0.5 {
			// PDFium guesses a space wherever a text object ends,
			// also inside words whose accented letters a producer
			// positioned apart (LibreOffice does): zero-width ones
			// are not in the text.
			continue
		}
		if r != ' ' {
			if fs, err := d.inst.FPDFText_GetFontSize(&requests.FPDFText_GetFontSize{TextPage: tp.TextPage, Index: i}); err == nil {
				ch.Size = fs.FontSize
			}
		}
		if r != ' ' && styles {
			if fw, err := d.inst.FPDFText_GetFontWeight(&requests.FPDFText_GetFontWeight{TextPage: tp.TextPage, Index: i}); err == nil {
				ch.Bold = fw.FontWeight >= 600
			}
			if fi, err := d.inst.FPDFText_GetFontInfo(&requests.FPDFText_GetFontInfo{TextPage: tp.TextPage, Index: i}); err == nil {
				name := strings.ToLower(fi.FontName)
				ch.Bold = ch.Bold || fi.Flags&flagForceBold != 0 || strings.Contains(name, "bold")
				ch.Italic = fi.Flags&flagItalic != 0 || strings.Contains(name, "italic") || strings.Contains(name, "oblique")
			}
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

// Lines groups the page's characters into lines, top to bottom:
// characters whose baselines follow each other within a quarter of the font
// size are on one line. A gap wider than a third of the font size between
// two characters becomes a space when the PDF has none.
func (p *PageText) Lines() []Line {
	var chars []Char
	for _, c := range p.Chars {
		if c.Box.Width() < 0 || unicode.IsControl(c.R) {
			continue
		}
		chars = append(chars, c)
	}
	sort.SliceStable(chars, func(i, j int) bool { return chars[i].Baseline > chars[j].Baseline })
	var groups [][]Char
	for _, c := range chars {
		tol := math.Max(c.Size, c.Box.Height()) / 4
		if g := len(groups) - 1; g >= 0 && math.Abs(groups[g][len(groups[g])-1].Baseline-c.Baseline) <= math.Max(tol, 1) {
			groups[g] = append(groups[g], c)
			continue
		}
		groups = append(groups, []Char{c})
	}
	lines := make([]Line, 0, len(groups))
	for _, g := range groups {
		sort.SliceStable(g, func(i, j int) bool { return g[i].Box.LLX < g[j].Box.LLX })
		text, box := joinChars(g)
		if strings.TrimSpace(text) == "" {
			continue
		}
		lines = append(lines, Line{Text: text, Box: box, Chars: g})
	}
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

func rect(llx, lly, urx, ury float64) Rect { return Rect{LLX: llx, LLY: lly, URX: urx, URY: ury} }

// joinChars is the text of characters left to right, in NFC (PDFs may
// carry Vietnamese as base letters and combining marks), with a space
// where the PDF has none but a gap of more than 0.15 em (a space is 0.25),
// and the box of the non-space characters.
func joinChars(cs []Char) (string, Rect) {
	var b strings.Builder
	var box Rect
	right := math.Inf(-1) // right edge of the text so far
	prevSpace := true
	for _, c := range cs {
		if unicode.Is(unicode.Mn, c.R) {
			b.WriteRune(c.R)
			continue
		}
		if c.R != ' ' && !prevSpace && c.Box.LLX-right > math.Max(c.Size, c.Box.Height())*0.15 {
			b.WriteByte(' ')
		}
		b.WriteRune(c.R)
		prevSpace = c.R == ' '
		if c.R != ' ' {
			box = box.Union(c.Box)
		}
		right = math.Max(right, c.Box.URX)
	}
	return norm.NFC.String(b.String()), box
}

// JoinChars is joinChars for callers that split lines further.
func JoinChars(cs []Char) (string, Rect) { return joinChars(cs) }
