package appearance

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Resource names the content streams use. They are looked up in the
// appearance stream's own /Resources, so they cannot clash with page or
// AcroForm resources; FontName is also the key we add to the AcroForm /DR.
const (
	FontName  = "VNBSerif"
	ImageName = "VNBImg"
)

// DefaultFontSize is the seal text size prescribed by Decree 30/2020
// (Times New Roman 10 pt).
const DefaultFontSize = 10

// MinFontSize is how far text shrinks to fit before it is cut.
const MinFontSize = 4

// vietnam is Vietnam's civil time zone. It has been UTC+7 without daylight
// saving since 1975, so a fixed zone is exact and needs no tz database on
// the server.
var vietnam = time.FixedZone("ICT", 7*3600)

// FormatTime formats a signing time the way the signature block shows it:
// "2026-11-24 14:05:09 +07:00", in Vietnam time.
func FormatTime(t time.Time) string {
	return t.In(vietnam).Format("2006-01-02 15:04:05 -07:00")
}

// Placement says where the image goes relative to the text.
type Placement int

const (
	// ImageLeft puts the image on the left, scaled to the box height, and
	// the text in the remaining width.
	ImageLeft Placement = iota
	// ImageBehind scales the image into the whole box and writes the text
	// over it (a seal stamped over the signature block text).
	ImageBehind
	// ImageAbove puts the image in the upper part and the text below it.
	ImageAbove
	// ImageBetween is the leader's block of Decree 30/2020 Appendix I:
	// every line but the last (capacity, position) centred at the top,
	// the last (the name) centred at the bottom, both in bold, and the
	// image (the handwritten signature) centred between them. Without
	// lines the image is centred in the box: the template prints the
	// block and the box is the gap between position and name.
	ImageBetween
	// ImageRight is the organization's seal: the image at the right of
	// the box, as high as the box (its real size when the box is), and
	// the lines (organization, signing time) right-aligned on its left,
	// so that no text lies on the seal's ring.
	ImageRight
)

// Signature describes a visible signature appearance.
type Signature struct {
	// Width and Height of the annotation rectangle, in points.
	Width, Height float64
	// Image is optional (a handwritten signature, a seal).
	Image     *Image
	Placement Placement
	// Lines are drawn top to bottom (signer, organization, time...).
	Lines []string
	// FontSize is the largest size to use; the text shrinks to fit the box
	// down to MinFontSize. Zero means DefaultFontSize.
	FontSize float64
	// TextRGB is the text colour, components in [0,1]; zero is black.
	TextRGB [3]float64
	// Bold draws the text bold (ImageBetween always does): the glyphs
	// are stroked as well as filled, as the embedded font has no bold
	// face.
	Bold bool
}

// boldStroke is the outline width, per point of font size, that
// emboldens a regular face about as much as a bold one.
const boldStroke = 0.035

// italicShear slants upright glyphs about 12 degrees, as the embedded
// font has no italic face.
const italicShear = 0.21

// Content returns the appearance content stream. It refers to the font as
// FontName and the image as ImageName; enc records the glyphs used.
func (s Signature) Content(enc *Encoder) ([]byte, error) {
	if s.Width <= 0 || s.Height <= 0 || math.IsInf(s.Width, 0) || math.IsInf(s.Height, 0) {
		return nil, fmt.Errorf("appearance: rectangle %gx%g has no area", s.Width, s.Height)
	}
	for _, l := range s.Lines {
		if miss := enc.Missing(l); len(miss) > 0 {
			return nil, fmt.Errorf("%w: no glyph for %q", ErrFont, string(miss))
		}
	}
	var b strings.Builder
	switch s.Placement {
	case ImageBetween:
		return s.between(enc)
	case ImageRight:
		return s.right(enc)
	}
	textX, textY, textW, textH := 0.0, 0.0, s.Width, s.Height
	if s.Image != nil {
		iw, ih := float64(s.Image.Width), float64(s.Image.Height)
		var bx, by, bw, bh float64 // box the image is fitted into
		switch s.Placement {
		case ImageBehind:
			bx, by, bw, bh = 0, 0, s.Width, s.Height
		case ImageAbove:
			bh = s.Height
			if len(s.Lines) > 0 {
				bh = s.Height * 0.6
			}
			bx, by, bw = 0, s.Height-bh, s.Width
			textH = s.Height - bh
		default: // ImageLeft
			bw = s.Width
			if len(s.Lines) > 0 {
				bw = math.Min(s.Width*0.4, s.Height*iw/ih)
			}
			bx, by, bh = 0, 0, s.Height
			textX, textW = bw, s.Width-bw
		}
		scale := math.Min(bw/iw, bh/ih)
		dw, dh := iw*scale, ih*scale
		dx, dy := bx+(bw-dw)/2, by+(bh-dh)/2
		fmt.Fprintf(&b, "q %s 0 0 %s %s %s cm /%s Do Q\n", num(dw), num(dh), num(dx), num(dy), ImageName)
	}
	if len(s.Lines) > 0 && textW > 0 && textH > 0 {
		b.WriteString(s.text(enc, textX, textY, textW, textH))
	}
	return []byte(b.String()), nil
}

// drawImage fits the image into the box, centred, keeping its aspect.
func (s Signature) drawImage(b *strings.Builder, bx, by, bw, bh float64) {
	if s.Image == nil || bw <= 0 || bh <= 0 {
		return
	}
	iw, ih := float64(s.Image.Width), float64(s.Image.Height)
	scale := math.Min(bw/iw, bh/ih)
	dw, dh := iw*scale, ih*scale
	fmt.Fprintf(b, "q %s 0 0 %s %s %s cm /%s Do Q\n", num(dw), num(dh), num(bx+(bw-dw)/2), num(by+(bh-dh)/2), ImageName)
}

// between lays out ImageBetween.
func (s Signature) between(enc *Encoder) ([]byte, error) {
	var b strings.Builder
	var lines []string
	for _, l := range s.Lines {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		s.drawImage(&b, 0, 0, s.Width, s.Height)
		return []byte(b.String()), nil
	}
	size := s.FontSize
	if size <= 0 {
		size = 13
	}
	const pad, leading = 2.0, 1.2
	widest := 0.0
	for _, l := range lines {
		widest = math.Max(widest, enc.Width(l, 1))
	}
	if widest > 0 {
		size = math.Min(size, (s.Width-2*pad)/widest)
	}
	// The text takes at most half the height; the image the rest.
	size = math.Min(size, s.Height/2/(leading*float64(len(lines))))
	size = math.Max(math.Floor(size*10)/10, MinFontSize)
	head, name := lines[:len(lines)-1], lines[len(lines)-1]
	top := s.Height - pad - leading*size*float64(len(head))
	bottom := pad + leading*size
	s.drawImage(&b, pad, bottom, s.Width-2*pad, top-bottom)
	f := enc.Font()
	ascent := float64(f.scale(f.ascent)) / 1000 * size
	fmt.Fprintf(&b, "q 0 0 %s %s re W n\n", num(s.Width), num(s.Height))
	y := s.Height - pad - ascent
	for _, l := range head {
		b.WriteString(s.line(enc, l, size, (s.Width-enc.Width(l, size))/2, y, true))
		y -= leading * size
	}
	b.WriteString(s.line(enc, name, size, (s.Width-enc.Width(name, size))/2, pad-float64(f.scale(f.descent))/1000*size, true))
	b.WriteString("Q\n")
	return []byte(b.String()), nil
}

// right lays out ImageRight.
func (s Signature) right(enc *Encoder) ([]byte, error) {
	var b strings.Builder
	imgW := 0.0
	if s.Image != nil {
		imgW = math.Min(s.Width, s.Height*float64(s.Image.Width)/float64(s.Image.Height))
		s.drawImage(&b, s.Width-imgW, 0, imgW, s.Height)
	}
	const pad, leading, gap = 2.0, 1.2, 3.0
	w := s.Width - imgW - gap - pad
	if len(s.Lines) == 0 || w <= 0 {
		return []byte(b.String()), nil
	}
	size := s.FontSize
	if size <= 0 {
		size = DefaultFontSize
	}
	widest := 0.0
	for _, l := range s.Lines {
		widest = math.Max(widest, enc.Width(l, 1))
	}
	if widest > 0 {
		size = math.Min(size, w/widest)
	}
	size = math.Min(size, (s.Height-2*pad)/(leading*float64(len(s.Lines))))
	size = math.Max(math.Floor(size*10)/10, MinFontSize)
	f := enc.Font()
	ascent := float64(f.scale(f.ascent)) / 1000 * size
	blockH := leading * size * float64(len(s.Lines))
	y := (s.Height+blockH)/2 - ascent - (leading-1)*size/2
	fmt.Fprintf(&b, "q 0 0 %s %s re W n\n", num(s.Width-imgW), num(s.Height))
	for _, l := range s.Lines {
		b.WriteString(s.line(enc, l, size, pad+w-enc.Width(l, size), y, s.Bold))
		y -= leading * size
	}
	b.WriteString("Q\n")
	return []byte(b.String()), nil
}

// line writes one line of text with its baseline at (x, y).
func (s Signature) line(enc *Encoder, text string, size, x, y float64, bold bool) string {
	mode := ""
	if bold {
		c := rgb(s.TextRGB)
		mode = fmt.Sprintf("%s RG 2 Tr %s w ", c, num(boldStroke*size))
	}
	return fmt.Sprintf("BT %s rg %s/%s %s Tf %s %s Td %s Tj ET\n", rgb(s.TextRGB), mode, FontName, num(size), num(x), num(y), enc.Hex(text))
}

// text writes the lines into the box, left aligned and vertically centred,
// at the largest size not above FontSize where every line fits.
func (s Signature) text(enc *Encoder, x, y, w, h float64) string {
	const pad = 2.0
	w, h = w-2*pad, h-2*pad
	if w <= 0 || h <= 0 {
		return ""
	}
	size := s.FontSize
	if size <= 0 {
		size = DefaultFontSize
	}
	const leading = 1.2
	widest := 0.0
	for _, l := range s.Lines {
		widest = math.Max(widest, enc.Width(l, 1))
	}
	if widest > 0 {
		size = math.Min(size, w/widest)
	}
	size = math.Min(size, h/(leading*float64(len(s.Lines))))
	size = math.Max(size, MinFontSize)
	size = math.Floor(size*10) / 10

	f := enc.Font()
	ascent := float64(f.scale(f.ascent)) / 1000 * size
	blockH := leading * size * float64(len(s.Lines))
	top := y + pad + (h+blockH)/2 // top of the text block
	var b strings.Builder
	// Clip to the box so a line that still does not fit at MinFontSize is
	// cut instead of spilling over the page content.
	fmt.Fprintf(&b, "q %s %s %s %s re W n\n", num(x+pad), num(y+pad), num(w), num(h))
	bold := ""
	if s.Bold {
		bold = fmt.Sprintf("%s RG 2 Tr %s w ", rgb(s.TextRGB), num(boldStroke*size))
	}
	fmt.Fprintf(&b, "BT %s rg %s/%s %s Tf %s TL\n", rgb(s.TextRGB), bold, FontName, num(size), num(leading*size))
	fmt.Fprintf(&b, "%s %s Td\n", num(x+pad), num(top-ascent-(leading-1)*size/2))
	for i, l := range s.Lines {
		if i > 0 {
			b.WriteString("T* ")
		}
		b.WriteString(enc.Hex(l))
		b.WriteString(" Tj\n")
	}
	b.WriteString("ET Q\n")
	return b.String()
}

// Align is the horizontal alignment of a text field (its /Q value).
type Align int

const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// TextField describes the appearance of a single-line text form field.
type TextField struct {
	Width, Height float64
	Value         string
	// FontSize zero means auto: fit the height, shrink to fit the width.
	FontSize float64
	Align    Align
	// Background is the widget's /MK /BG colour: none, gray (1
	// component) or RGB (3), each 0..1. An opaque field covers what the
	// page shows beneath it, such as a template's blank "Số: .../QĐ" line.
	Background []float64
	// Italic slants the text (the place-and-date line of Decree 30).
	Italic bool
}

// DA returns the default appearance string for a text field using our font.
func DA(size float64) string {
	return fmt.Sprintf("/%s %s Tf 0 g", FontName, num(size))
}

// Content returns the field's normal appearance (/AP /N) stream content,
// wrapped in /Tx BMC ... EMC as viewers expect for variable text.
func (t TextField) Content(enc *Encoder) ([]byte, error) {
	if t.Width <= 0 || t.Height <= 0 {
		return nil, fmt.Errorf("appearance: field rectangle %gx%g has no area", t.Width, t.Height)
	}
	if miss := enc.Missing(t.Value); len(miss) > 0 {
		return nil, fmt.Errorf("%w: no glyph for %q", ErrFont, string(miss))
	}
	const pad = 2.0
	w, h := t.Width-2*pad, t.Height-2*pad
	var b strings.Builder
	// The background is drawn outside the variable-text marked content,
	// where a viewer regenerating the appearance draws it too.
	switch len(t.Background) {
	case 0:
	case 1:
		fmt.Fprintf(&b, "q %s g 0 0 %s %s re f Q\n", num(clamp01(t.Background[0])), num(t.Width), num(t.Height))
	case 3:
		fmt.Fprintf(&b, "q %s %s %s rg 0 0 %s %s re f Q\n", num(clamp01(t.Background[0])), num(clamp01(t.Background[1])),
			num(clamp01(t.Background[2])), num(t.Width), num(t.Height))
	default:
		return nil, fmt.Errorf("appearance: background has %d colour components, want 1 or 3", len(t.Background))
	}
	b.WriteString("/Tx BMC\n")
	if t.Value != "" && w > 0 && h > 0 {
		size := t.FontSize
		if size <= 0 {
			size = math.Min(12, h/1.15)
			if tw := enc.Width(t.Value, 1); tw > 0 {
				size = math.Min(size, w/tw)
			}
			size = math.Max(math.Floor(size*10)/10, MinFontSize)
		}
		tw := enc.Width(t.Value, size)
		x := pad
		switch t.Align {
		case AlignCenter:
			x = pad + (w-tw)/2
		case AlignRight:
			x = pad + w - tw
		}
		f := enc.Font()
		// Baseline so the glyphs' ascent-to-descent span is centred.
		asc := float64(f.scale(f.ascent)) / 1000 * size
		desc := float64(f.scale(f.descent)) / 1000 * size
		baseline := pad + (h-(asc-desc))/2 - desc
		fmt.Fprintf(&b, "q %s %s %s %s re W n\n", num(pad/2), num(pad/2), num(t.Width-pad), num(t.Height-pad))
		if t.Italic {
			// The shear moves the top of the glyphs right; start the
			// line left by half of that so it stays centred.
			x -= italicShear * asc / 2
			fmt.Fprintf(&b, "BT /%s %s Tf 0 g 1 0 %s 1 %s %s Tm %s Tj ET\nQ\n", FontName, num(size), num(italicShear), num(x), num(baseline), enc.Hex(t.Value))
		} else {
			fmt.Fprintf(&b, "BT /%s %s Tf 0 g %s %s Td %s Tj ET\nQ\n", FontName, num(size), num(x), num(baseline), enc.Hex(t.Value))
		}
	}
	b.WriteString("EMC\n")
	return []byte(b.String()), nil
}

// num formats a number compactly for a content stream (at most 3 decimals,
// never exponent notation, which PDF does not allow).
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

func rgb(c [3]float64) string {
	return num(clamp01(c[0])) + " " + num(clamp01(c[1])) + " " + num(clamp01(c[2]))
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }
