package appearance

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf16"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// Encoder turns text into glyph ids of one font and remembers which glyphs
// were used, so that one PDF font resource (a Type0 font with Identity-H
// encoding, where the character code is the glyph id) can embed a subset with
// exactly those glyphs and a ToUnicode map that lets readers extract the text.
// An Encoder is not safe for concurrent use.
type Encoder struct {
	font *Font
	buf  sfnt.Buffer
	used map[uint16][]rune // glyph -> the text it stands for
}

// NewEncoder returns an empty encoder for f.
func (f *Font) NewEncoder() *Encoder {
	return &Encoder{font: f, used: map[uint16][]rune{0: nil}}
}

// Font returns the encoder's font.
func (e *Encoder) Font() *Font { return e.font }

// glyphs maps s (normalized to NFC, so that decomposed Vietnamese input such
// as "e" + U+0301 + U+0323 uses the precomposed glyph) to glyph ids.
func (e *Encoder) glyphs(s string) []uint16 {
	s = norm.NFC.String(s)
	gs := make([]uint16, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		g := e.font.glyphIndex(&e.buf, r)
		if g == 0 {
			// Missing glyphs render as .notdef; we still record nothing for
			// them in ToUnicode because one glyph cannot map to many texts.
			gs = append(gs, 0)
			continue
		}
		if _, seen := e.used[g]; !seen {
			e.used[g] = []rune{r}
		}
		gs = append(gs, g)
	}
	return gs
}

// Missing returns the runes of s the font has no glyph for, so a caller can
// reject text that would print as boxes.
func (e *Encoder) Missing(s string) []rune {
	var out []rune
	for _, r := range norm.NFC.String(s) {
		if r == '\n' || r == '\r' || r == '\t' || r == ' ' {
			continue
		}
		if e.font.glyphIndex(&e.buf, r) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// Width returns the advance width of s at the given font size, in points.
func (e *Encoder) Width(s string, size float64) float64 {
	var w float64
	for _, g := range e.glyphs(s) {
		w += e.font.advance1000(g)
	}
	return w * size / 1000
}

// Hex encodes s as a PDF hex string of two-byte glyph ids, including the
// angle brackets, ready to follow by Tj.
func (e *Encoder) Hex(s string) string {
	gs := e.glyphs(s)
	var b strings.Builder
	b.Grow(2 + 4*len(gs))
	b.WriteByte('<')
	for _, g := range gs {
		fmt.Fprintf(&b, "%04X", g)
	}
	b.WriteByte('>')
	return b.String()
}

// FontProgram is everything needed to write a Type0/CIDFontType2 font
// resource for the glyphs an Encoder used.
type FontProgram struct {
	// BaseFont is the subset name: six letters, '+', the PostScript name.
	BaseFont string
	// TrueType is the subset font file, for /FontFile2.
	TrueType []byte
	// W is the /W array of the CIDFont, as alternating first CID and a list
	// of widths: [c [w1 w2 ...] c [w ...] ...], in glyph space units.
	W []WidthRun
	// ToUnicode is the CMap stream content mapping glyph ids to text.
	ToUnicode []byte
	// Font descriptor values, in glyph space units.
	Ascent, Descent, CapHeight int
	BBox                       [4]int
	ItalicAngle                float64
	StemV                      int
	Flags                      int
}

// WidthRun is one run of consecutive glyph ids and their widths.
type WidthRun struct {
	First  uint16
	Widths []int
}

// Program subsets the font to the glyphs used so far and returns the pieces
// of the PDF font resource.
func (e *Encoder) Program() (*FontProgram, error) {
	f := e.font
	used := make([]uint16, 0, len(e.used))
	for g := range e.used {
		used = append(used, g)
	}
	slices.Sort(used)
	cmap := map[rune]uint16{}
	for g, text := range e.used {
		if len(text) == 1 && text[0] <= 0xffff {
			cmap[text[0]] = g
		}
	}
	ttf, err := f.subset(used, cmap)
	if err != nil {
		return nil, err
	}
	p := &FontProgram{
		BaseFont:    subsetTag(used) + "+" + f.name,
		TrueType:    ttf,
		ToUnicode:   e.toUnicode(used),
		Ascent:      f.scale(f.ascent),
		Descent:     f.scale(f.descent),
		CapHeight:   f.scale(f.capHeight),
		ItalicAngle: f.italic,
		StemV:       80,
		// Symbolic (4): glyphs are addressed by id, not by a standard
		// encoding. Serif (2) and FixedPitch (1) as the font says.
		Flags: 4 | 2,
	}
	if f.fixedPitch {
		p.Flags |= 1
	}
	for i := range 4 {
		p.BBox[i] = f.scale(f.bbox[i])
	}
	for _, g := range used {
		w := int(f.advance1000(g) + 0.5)
		if n := len(p.W); n > 0 && int(p.W[n-1].First)+len(p.W[n-1].Widths) == int(g) {
			p.W[n-1].Widths = append(p.W[n-1].Widths, w)
			continue
		}
		p.W = append(p.W, WidthRun{First: g, Widths: []int{w}})
	}
	return p, nil
}

// subsetTag derives the six-letter tag from the glyph set, so the same
// subset always gets the same name (deterministic output) and different
// subsets get different names (readers cache fonts by name).
func subsetTag(used []uint16) string {
	h := sha256.New()
	for _, g := range used {
		_ = binary.Write(h, binary.BigEndian, g)
	}
	sum := h.Sum(nil)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	return string(tag)
}

func (e *Encoder) toUnicode(used []uint16) []byte {
	var entries []string
	for _, g := range used {
		text := e.used[g]
		if g == 0 || len(text) == 0 {
			continue
		}
		var hex strings.Builder
		for _, u := range utf16.Encode(text) {
			fmt.Fprintf(&hex, "%04X", u)
		}
		entries = append(entries, fmt.Sprintf("<%04X> <%s>", g, hex.String()))
	}
	var b strings.Builder
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n")
	b.WriteString("/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n")
	b.WriteString("/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n")
	b.WriteString("1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	// At most 100 entries per block, as the CMap syntax requires.
	for len(entries) > 0 {
		n := min(100, len(entries))
		fmt.Fprintf(&b, "%d beginbfchar\n", n)
		for _, en := range entries[:n] {
			b.WriteString(en)
			b.WriteByte('\n')
		}
		b.WriteString("endbfchar\n")
		entries = entries[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return []byte(b.String())
}

// glyphData returns the glyf bytes of glyph g.
func (f *Font) glyphData(g uint16) ([]byte, error) {
	loca, glyf := f.tables["loca"], f.tables["glyf"]
	var start, end int
	if f.longLoca {
		start = int(binary.BigEndian.Uint32(loca[4*int(g):]))
		end = int(binary.BigEndian.Uint32(loca[4*int(g)+4:]))
	} else {
		start = 2 * int(binary.BigEndian.Uint16(loca[2*int(g):]))
		end = 2 * int(binary.BigEndian.Uint16(loca[2*int(g)+2:]))
	}
	if start > end || end > len(glyf) {
		return nil, fontErr("glyph %d lies outside the glyf table", g)
	}
	return glyf[start:end], nil
}

// Composite glyph flags (TrueType glyf table).
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	haveTwoByTwo   = 0x0080
)

// components returns the glyph ids a composite glyph refers to.
func components(data []byte) ([]uint16, error) {
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil, nil
	}
	var out []uint16
	p := 10
	for {
		if p+4 > len(data) {
			return nil, fontErr("truncated composite glyph")
		}
		flags := binary.BigEndian.Uint16(data[p:])
		out = append(out, binary.BigEndian.Uint16(data[p+2:]))
		p += 4
		if flags&argsAreWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&haveTwoByTwo != 0:
			p += 8
		}
		if flags&moreComponents == 0 {
			return out, nil
		}
	}
}

// subset writes a TrueType file that keeps the glyph numbering of the
// original (so CIDToGIDMap stays Identity) but carries outlines only for the
// used glyphs and the components they are built from. Hinting tables are
// kept because the glyph programs reference them; name and kerning are
// dropped. A CIDFontType2 addresses glyphs by id, but font libraries insist
// on a cmap table, so a small one covering the used characters is written.
func (f *Font) subset(used []uint16, cmap map[rune]uint16) ([]byte, error) {
	keep := map[uint16]bool{}
	queue := append([]uint16(nil), used...)
	for len(queue) > 0 {
		g := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if keep[g] || int(g) >= f.numGlyphs {
			continue
		}
		keep[g] = true
		data, err := f.glyphData(g)
		if err != nil {
			return nil, err
		}
		comps, err := components(data)
		if err != nil {
			return nil, err
		}
		queue = append(queue, comps...)
	}
	var glyf []byte
	loca := make([]byte, 4*(f.numGlyphs+1))
	for g := 0; g < f.numGlyphs; g++ {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(len(glyf)))
		if !keep[uint16(g)] {
			continue
		}
		data, err := f.glyphData(uint16(g))
		if err != nil {
			return nil, err
		}
		glyf = append(glyf, data...)
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
	}
	binary.BigEndian.PutUint32(loca[4*f.numGlyphs:], uint32(len(glyf)))

	head := append([]byte(nil), f.tables["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // long loca offsets

	tables := map[string][]byte{
		"head": head,
		"hhea": f.tables["hhea"],
		"maxp": f.tables["maxp"],
		"hmtx": f.tables["hmtx"],
		"loca": loca,
		"glyf": glyf,
		"cmap": buildCmap(cmap),
	}
	for _, t := range []string{"cvt ", "fpgm", "prep", "OS/2"} {
		if d := f.tables[t]; d != nil {
			tables[t] = d
		}
	}
	if post := f.tables["post"]; len(post) >= 32 {
		// Format 3: no glyph names, which are large and unused in PDF.
		p := append([]byte(nil), post[:32]...)
		binary.BigEndian.PutUint32(p, 0x00030000)
		tables["post"] = p
	}
	out := writeSFNT(tables)
	// head.checkSumAdjustment makes the whole file sum to 0xB1B0AFBA.
	headOff := tableOffset(out, "head")
	binary.BigEndian.PutUint32(out[headOff+8:], 0xB1B0AFBA-checksum(out))
	return out, nil
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// writeSFNT assembles a TrueType file from tables, sorted by tag as the
// format requires, each 4-byte aligned.
func writeSFNT(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	entrySelector := 0
	for 1<<(entrySelector+1) <= n {
		entrySelector++
	}
	searchRange := 16 << entrySelector
	out := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(out, 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(searchRange))
	binary.BigEndian.PutUint16(out[8:], uint16(entrySelector))
	binary.BigEndian.PutUint16(out[10:], uint16(16*n-searchRange))
	for i, t := range tags {
		data := tables[t]
		rec := out[12+16*i:]
		copy(rec, t)
		binary.BigEndian.PutUint32(rec[4:], checksum(data))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(data)))
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out
}

func tableOffset(file []byte, tag string) int {
	n := int(binary.BigEndian.Uint16(file[4:]))
	for i := range n {
		rec := file[12+16*i:]
		if string(rec[:4]) == tag {
			return int(binary.BigEndian.Uint32(rec[8:]))
		}
	}
	return -1
}

// buildCmap writes a cmap table with one (3,1) format 4 subtable, one
// segment per character (subsets are small) plus the mandatory final one.
func buildCmap(m map[rune]uint16) []byte {
	codes := make([]int, 0, len(m))
	for r := range m {
		if r < 0xffff {
			codes = append(codes, int(r))
		}
	}
	sort.Ints(codes)
	segs := len(codes) + 1
	sub := make([]byte, 16+8*segs)
	binary.BigEndian.PutUint16(sub[0:], 4)
	binary.BigEndian.PutUint16(sub[2:], uint16(len(sub)))
	binary.BigEndian.PutUint16(sub[6:], uint16(2*segs))
	es := 0
	for 1<<(es+1) <= segs {
		es++
	}
	binary.BigEndian.PutUint16(sub[8:], uint16(2<<es))
	binary.BigEndian.PutUint16(sub[10:], uint16(es))
	binary.BigEndian.PutUint16(sub[12:], uint16(2*segs-(2<<es)))
	ends := sub[14:]
	starts := sub[16+2*segs:]
	deltas := sub[16+4*segs:]
	// idRangeOffsets (sub[16+6*segs:]) stay zero: glyph = code + delta.
	for i, c := range codes {
		binary.BigEndian.PutUint16(ends[2*i:], uint16(c))
		binary.BigEndian.PutUint16(starts[2*i:], uint16(c))
		binary.BigEndian.PutUint16(deltas[2*i:], uint16(int(m[rune(c)])-c))
	}
	last := len(codes)
	binary.BigEndian.PutUint16(ends[2*last:], 0xffff)
	binary.BigEndian.PutUint16(starts[2*last:], 0xffff)
	binary.BigEndian.PutUint16(deltas[2*last:], 1)
	head := make([]byte, 12)
	binary.BigEndian.PutUint16(head[2:], 1)  // one subtable
	binary.BigEndian.PutUint16(head[4:], 3)  // Windows
	binary.BigEndian.PutUint16(head[6:], 1)  // Unicode BMP
	binary.BigEndian.PutUint32(head[8:], 12) // offset of the subtable
	return append(head, sub...)
}
