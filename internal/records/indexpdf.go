package records

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"vanban/signing/pades/appearance"
	"vanban/signing/pdf"
)

// indexTable is the document index of a file (mục lục văn bản): a title
// block and a table whose rows wrap their long cells.
type indexTable struct {
	Title    []string // centred lines above the table
	Headers  []string
	Widths   []float64 // points, per column
	Rows     [][]string
	FontSize float64
}

const (
	pageW, pageH = 595.28, 841.89 // A4
	margin       = 28.0
)

// writeIndexPDF writes t as a PDF of A4 pages, with the Liberation Serif
// subset that the signature appearances use (it has every Vietnamese
// letter), and returns the number of pages.
func writeIndexPDF(w io.Writer, t *indexTable) (int, error) {
	font, err := appearance.DefaultFont()
	if err != nil {
		return 0, err
	}
	enc := font.NewEncoder()
	for _, row := range append(append([][]string{}, t.Headers), t.Rows...) {
		for _, cell := range row {
			if missing := enc.Missing(cell); len(missing) > 0 {
				return 0, fmt.Errorf("records: the index font has no glyph for %q", string(missing))
			}
		}
	}
	size := t.FontSize
	lead := size * 1.25
	var pages []*bytes.Buffer
	var page *bytes.Buffer
	y := 0.0
	text := func(x, y float64, s string, sz float64) {
		fmt.Fprintf(page, "BT /F1 %.2f Tf %.2f %.2f Td %s Tj ET\n", sz, x, y, enc.Hex(s))
	}
	newPage := func() {
		page = &bytes.Buffer{}
		pages = append(pages, page)
		page.WriteString("0 g 0 G 0.5 w\n")
		y = pageH - margin
	}
	// row draws one table row whose cells wrap to their column width.
	row := func(cells []string, bold bool) {
		lines := make([][]string, len(cells))
		height := 1
		for i, c := range cells {
			lines[i] = wrap(enc, c, t.Widths[i]-6, size)
			height = max(height, len(lines[i]))
		}
		h := float64(height)*lead + 6
		if y-h < margin {
			newPage()
		}
		x := margin
		total := 0.0
		for _, wd := range t.Widths {
			total += wd
		}
		fmt.Fprintf(page, "%.2f %.2f %.2f %.2f re S\n", margin, y-h, total, h)
		for i, wd := range t.Widths {
			if i > 0 {
				fmt.Fprintf(page, "%.2f %.2f m %.2f %.2f l S\n", x, y, x, y-h)
			}
			for j, l := range lines[i] {
				text(x+3, y-3-size-float64(j)*lead+size*0.2, l, size)
			}
			x += wd
		}
		y -= h
		_ = bold
	}
	newPage()
	for _, l := range t.Title {
		sz := size + 3
		wd := enc.Width(l, sz)
		text((pageW-wd)/2, y-sz, l, sz)
		y -= sz * 1.5
	}
	y -= lead
	row(t.Headers, true)
	for _, r := range t.Rows {
		row(r, false)
	}
	for i, p := range pages {
		label := fmt.Sprintf("Trang %d/%d", i+1, len(pages))
		fmt.Fprintf(p, "BT /F1 %.2f Tf %.2f %.2f Td %s Tj ET\n", size-1, pageW-margin-enc.Width(label, size-1), margin/2, enc.Hex(label))
	}
	prog, err := enc.Program()
	if err != nil {
		return 0, err
	}
	return len(pages), writeSimplePDF(w, pages, prog)
}

// wrap splits s into lines no wider than width at size, at spaces (a word
// longer than the width is cut).
func wrap(enc *appearance.Encoder, s string, width, size float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		cur := ""
		for _, word := range strings.Fields(para) {
			next := word
			if cur != "" {
				next = cur + " " + word
			}
			if enc.Width(next, size) <= width || cur == "" && enc.Width(word, size) <= width {
				cur = next
				continue
			}
			if cur != "" {
				lines = append(lines, cur)
			}
			for enc.Width(word, size) > width {
				r := []rune(word)
				n := len(r)
				for n > 1 && enc.Width(string(r[:n]), size) > width {
					n--
				}
				lines = append(lines, string(r[:n]))
				word = string(r[n:])
			}
			cur = word
		}
		lines = append(lines, cur)
	}
	return lines
}

// writeSimplePDF writes a complete PDF 1.7 file: the pages' content
// streams and one Type0 font (F1) built from prog.
func writeSimplePDF(w io.Writer, pages []*bytes.Buffer, prog *appearance.FontProgram) error {
	var objs []pdf.Object
	ref := func(i int) pdf.Ref { return pdf.Ref{Num: uint32(i + 1)} }
	add := func(o pdf.Object) pdf.Ref {
		objs = append(objs, o)
		return ref(len(objs) - 1)
	}
	catalogRef := add(nil)
	pagesRef := add(nil)
	file := add(pdf.NewFlateStream(pdf.NewDict(pdf.DictEntry{Key: "Length1", Value: pdf.Integer(len(prog.TrueType))}), prog.TrueType))
	bbox := pdf.Array{pdf.Integer(prog.BBox[0]), pdf.Integer(prog.BBox[1]), pdf.Integer(prog.BBox[2]), pdf.Integer(prog.BBox[3])}
	desc := add(pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("FontDescriptor")},
		pdf.DictEntry{Key: "FontName", Value: pdf.Name(prog.BaseFont)},
		pdf.DictEntry{Key: "Flags", Value: pdf.Integer(prog.Flags)},
		pdf.DictEntry{Key: "FontBBox", Value: bbox},
		pdf.DictEntry{Key: "ItalicAngle", Value: pdf.Real(prog.ItalicAngle)},
		pdf.DictEntry{Key: "Ascent", Value: pdf.Integer(prog.Ascent)},
		pdf.DictEntry{Key: "Descent", Value: pdf.Integer(prog.Descent)},
		pdf.DictEntry{Key: "CapHeight", Value: pdf.Integer(prog.CapHeight)},
		pdf.DictEntry{Key: "StemV", Value: pdf.Integer(prog.StemV)},
		pdf.DictEntry{Key: "FontFile2", Value: file},
	))
	var widths pdf.Array
	for _, run := range prog.W {
		ws := make(pdf.Array, len(run.Widths))
		for i, x := range run.Widths {
			ws[i] = pdf.Integer(x)
		}
		widths = append(widths, pdf.Integer(run.First), ws)
	}
	cid := add(pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("Font")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("CIDFontType2")},
		pdf.DictEntry{Key: "BaseFont", Value: pdf.Name(prog.BaseFont)},
		pdf.DictEntry{Key: "CIDSystemInfo", Value: pdf.NewDict(
			pdf.DictEntry{Key: "Registry", Value: pdf.String{Value: []byte("Adobe")}},
			pdf.DictEntry{Key: "Ordering", Value: pdf.String{Value: []byte("Identity")}},
			pdf.DictEntry{Key: "Supplement", Value: pdf.Integer(0)},
		)},
		pdf.DictEntry{Key: "FontDescriptor", Value: desc},
		pdf.DictEntry{Key: "CIDToGIDMap", Value: pdf.Name("Identity")},
		pdf.DictEntry{Key: "DW", Value: pdf.Integer(1000)},
		pdf.DictEntry{Key: "W", Value: widths},
	))
	toUnicode := add(pdf.NewFlateStream(nil, prog.ToUnicode))
	font := add(pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("Font")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Type0")},
		pdf.DictEntry{Key: "BaseFont", Value: pdf.Name(prog.BaseFont)},
		pdf.DictEntry{Key: "Encoding", Value: pdf.Name("Identity-H")},
		pdf.DictEntry{Key: "DescendantFonts", Value: pdf.Array{cid}},
		pdf.DictEntry{Key: "ToUnicode", Value: toUnicode},
	))
	resources := pdf.NewDict(pdf.DictEntry{Key: "Font", Value: pdf.NewDict(pdf.DictEntry{Key: "F1", Value: font})})
	var kids pdf.Array
	for _, p := range pages {
		content := add(pdf.NewFlateStream(nil, p.Bytes()))
		kids = append(kids, add(pdf.NewDict(
			pdf.DictEntry{Key: "Type", Value: pdf.Name("Page")},
			pdf.DictEntry{Key: "Parent", Value: pagesRef},
			pdf.DictEntry{Key: "MediaBox", Value: pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Real(pageW), pdf.Real(pageH)}},
			pdf.DictEntry{Key: "Resources", Value: resources},
			pdf.DictEntry{Key: "Contents", Value: content},
		)))
	}
	objs[catalogRef.Num-1] = pdf.NewDict(pdf.DictEntry{Key: "Type", Value: pdf.Name("Catalog")}, pdf.DictEntry{Key: "Pages", Value: pagesRef})
	objs[pagesRef.Num-1] = pdf.NewDict(pdf.DictEntry{Key: "Type", Value: pdf.Name("Pages")}, pdf.DictEntry{Key: "Kids", Value: kids},
		pdf.DictEntry{Key: "Count", Value: pdf.Integer(len(pages))})

	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n", i+1)
		if err := pdf.WriteObject(&out, o); err != nil {
			return err
		}
		out.WriteString("\nendobj\n")
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	out.WriteString("trailer\n")
	if err := pdf.WriteObject(&out, pdf.NewDict(pdf.DictEntry{Key: "Size", Value: pdf.Integer(len(objs) + 1)},
		pdf.DictEntry{Key: "Root", Value: catalogRef})); err != nil {
		return err
	}
	fmt.Fprintf(&out, "\nstartxref\n%d\n%%%%EOF\n", xref)
	_, err := w.Write(out.Bytes())
	return err
}
