// Package appearance lays out what a signature or form field looks like on
// the page: text lines in an embedded TrueType font (full Vietnamese
// diacritics), a transparent PNG image (a handwritten signature or a seal),
// and the content stream that draws them. It produces plain bytes and
// numbers; the PDF engine (signing/pades) turns them into PDF objects. That
// keeps this package free of any PDF object model and easy to test.
package appearance

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/image/font/sfnt"
)

//go:embed fonts/LiberationSerif-Regular.ttf
var liberationSerifRegular []byte

// ErrFont is returned (wrapped) when a TrueType font cannot be parsed or
// lacks a table we need.
var ErrFont = errors.New("appearance: unusable font")

// Font is a parsed TrueType font, safe for concurrent use. The glyph data
// stays in the original byte slice; subsets are cut from it on demand.
type Font struct {
	name       string // PostScript name, used as /BaseFont after the subset tag
	data       []byte
	sf         *sfnt.Font
	tables     map[string][]byte
	unitsPerEm int
	numGlyphs  int
	longLoca   bool
	advances   []uint16 // per glyph, font units
	ascent     int      // font units
	descent    int      // font units, negative
	capHeight  int
	bbox       [4]int
	italic     float64
	fixedPitch bool
}

var (
	defaultFontOnce sync.Once
	defaultFont     *Font
	defaultFontErr  error
)

// DefaultFont returns the embedded Liberation Serif Regular, metric-compatible
// with Times New Roman, which Decree 30/2020 prescribes for the seal text.
func DefaultFont() (*Font, error) {
	defaultFontOnce.Do(func() {
		defaultFont, defaultFontErr = ParseFont(liberationSerifRegular)
	})
	return defaultFont, defaultFontErr
}

// DefaultFontTTF returns a copy of the embedded Liberation Serif Regular
// TrueType file, for other PDF writers (the printed registers) that embed
// the same Vietnamese-capable font.
func DefaultFontTTF() []byte { return append([]byte(nil), liberationSerifRegular...) }

// MustDefaultFont is DefaultFont for callers that cannot handle an error: the
// font is compiled in, so failure means a broken build.
func MustDefaultFont() *Font {
	f, err := DefaultFont()
	if err != nil {
		panic(err)
	}
	return f
}

func fontErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFont, fmt.Sprintf(format, args...))
}

// ParseFont parses a TrueType (glyf-based) font. CFF-flavoured OpenType is
// rejected: CIDFontType2 embedding needs glyf outlines.
func ParseFont(data []byte) (*Font, error) {
	sf, err := sfnt.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFont, err)
	}
	tables, err := readTableDirectory(data)
	if err != nil {
		return nil, err
	}
	for _, t := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf"} {
		if tables[t] == nil {
			return nil, fontErr("missing %q table (not a glyf-based TrueType font?)", t)
		}
	}
	f := &Font{data: data, sf: sf, tables: tables}
	head := tables["head"]
	if len(head) < 54 {
		return nil, fontErr("short head table")
	}
	f.unitsPerEm = int(binary.BigEndian.Uint16(head[18:]))
	if f.unitsPerEm < 16 || f.unitsPerEm > 16384 {
		return nil, fontErr("unitsPerEm %d out of range", f.unitsPerEm)
	}
	for i := range 4 {
		f.bbox[i] = int(int16(binary.BigEndian.Uint16(head[36+2*i:])))
	}
	f.longLoca = binary.BigEndian.Uint16(head[50:]) != 0
	maxp := tables["maxp"]
	if len(maxp) < 6 {
		return nil, fontErr("short maxp table")
	}
	f.numGlyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	hhea := tables["hhea"]
	if len(hhea) < 36 {
		return nil, fontErr("short hhea table")
	}
	f.ascent = int(int16(binary.BigEndian.Uint16(hhea[4:])))
	f.descent = int(int16(binary.BigEndian.Uint16(hhea[6:])))
	numHMetrics := int(binary.BigEndian.Uint16(hhea[34:]))
	hmtx := tables["hmtx"]
	if numHMetrics == 0 || numHMetrics > f.numGlyphs || len(hmtx) < 4*numHMetrics {
		return nil, fontErr("inconsistent hmtx table")
	}
	f.advances = make([]uint16, f.numGlyphs)
	for g := range f.numGlyphs {
		i := min(g, numHMetrics-1)
		f.advances[g] = binary.BigEndian.Uint16(hmtx[4*i:])
	}
	locaEntry := 2
	if f.longLoca {
		locaEntry = 4
	}
	if len(tables["loca"]) < locaEntry*(f.numGlyphs+1) {
		return nil, fontErr("short loca table")
	}
	f.capHeight = f.ascent
	if os2 := tables["OS/2"]; len(os2) >= 90 && binary.BigEndian.Uint16(os2) >= 2 {
		f.capHeight = int(int16(binary.BigEndian.Uint16(os2[88:])))
	}
	if post := tables["post"]; len(post) >= 16 {
		f.italic = float64(int32(binary.BigEndian.Uint32(post[4:]))) / 65536
		f.fixedPitch = binary.BigEndian.Uint32(post[12:]) != 0
	}
	var buf sfnt.Buffer
	if name, err := sf.Name(&buf, sfnt.NameIDPostScript); err == nil && name != "" {
		f.name = sanitizeName(name)
	} else {
		f.name = "EmbeddedFont"
	}
	return f, nil
}

// sanitizeName keeps the characters allowed unescaped in a PDF name, so the
// /BaseFont value needs no #xx escapes.
func sanitizeName(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x20 && c < 0x7f && !bytes.ContainsRune([]byte("()<>[]{}/%#"), rune(c)) {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "EmbeddedFont"
	}
	return string(b)
}

// PostScriptName returns the font's PostScript name.
func (f *Font) PostScriptName() string { return f.name }

// UnitsPerEm returns the font's design units per em.
func (f *Font) UnitsPerEm() int { return f.unitsPerEm }

// glyphIndex maps a rune to a glyph id, 0 (.notdef) when the font lacks it.
func (f *Font) glyphIndex(buf *sfnt.Buffer, r rune) uint16 {
	g, err := f.sf.GlyphIndex(buf, r)
	if err != nil {
		return 0
	}
	return uint16(g)
}

// advance1000 returns the advance width of glyph g in PDF glyph space
// (thousandths of an em).
func (f *Font) advance1000(g uint16) float64 {
	if int(g) >= len(f.advances) {
		return 0
	}
	return float64(f.advances[g]) * 1000 / float64(f.unitsPerEm)
}

// scale converts font units to thousandths of an em.
func (f *Font) scale(v int) int {
	return int(float64(v)*1000/float64(f.unitsPerEm) + copysignHalf(v))
}

func copysignHalf(v int) float64 {
	if v < 0 {
		return -0.5
	}
	return 0.5
}

// readTableDirectory returns the tables of a TrueType file by tag. The slices
// alias data.
func readTableDirectory(data []byte) (map[string][]byte, error) {
	if len(data) < 12 {
		return nil, fontErr("file too short")
	}
	switch v := binary.BigEndian.Uint32(data); v {
	case 0x00010000, 0x74727565: // 1.0 and 'true'
	default:
		return nil, fontErr("sfnt version %#x is not TrueType", v)
	}
	n := int(binary.BigEndian.Uint16(data[4:]))
	if len(data) < 12+16*n {
		return nil, fontErr("truncated table directory")
	}
	tables := make(map[string][]byte, n)
	for i := range n {
		rec := data[12+16*i:]
		tag := string(rec[:4])
		off := int64(binary.BigEndian.Uint32(rec[8:]))
		length := int64(binary.BigEndian.Uint32(rec[12:]))
		if off+length > int64(len(data)) {
			return nil, fontErr("table %q lies outside the file", tag)
		}
		tables[tag] = data[off : off+length]
	}
	return tables, nil
}
