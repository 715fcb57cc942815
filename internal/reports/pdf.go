package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"

	"vanban/internal/document"
	"vanban/signing/pades/appearance"
)

// The page: A4 landscape with the margins of Appendix I (left 30, right 15,
// top and bottom 20 mm), so the tables are 252 mm wide at most; the column
// widths above are scaled to fit.
const (
	pageMarginLeft   = 30.0
	pageMarginRight  = 15.0
	pageMarginTop    = 20.0
	pageMarginBottom = 20.0
	fontFamily       = "LiberationSerif" // metric-compatible with Times New Roman
	bodySize         = 10.0
	lineHeight       = 4.6
	cellPad          = 1.2
	// maxCellLines bounds the lines one cell prints, so a 2,000-byte
	// subject cannot make a row taller than a page.
	maxCellLines = 24
)

// fontTTF is the embedded font, copied on first use rather than at start-up.
var fontTTF = sync.OnceValue(appearance.DefaultFontTTF)

func itoa(n int) string { return strconv.Itoa(n) }

// printable keeps the text within what the embedded font's width table
// covers (the Basic Multilingual Plane) and turns control characters into
// spaces, so odd input prints instead of breaking the writer.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return '\n'
		case unicode.IsControl(r):
			return ' '
		case r > 0xFFFF || r == unicode.ReplacementChar:
			return '?'
		}
		return r
	}, s)
}

// newPDF starts an A4 landscape document in the embedded Vietnamese font.
// Creation dates are fixed to at so the same register prints the same bytes.
func newPDF(title string, at time.Time) *fpdf.Fpdf {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(fontFamily, "", fontTTF())
	pdf.SetMargins(pageMarginLeft, pageMarginTop, pageMarginRight)
	pdf.SetAutoPageBreak(false, pageMarginBottom)
	pdf.SetTitle(title, true)
	pdf.SetProducer("vanban", true)
	pdf.SetCreationDate(at)
	pdf.SetModificationDate(at)
	pdf.SetCatalogSort(true)
	pdf.SetFooterFunc(func() {
		pdf.SetFont(fontFamily, "", 9)
		pdf.SetXY(pageMarginLeft, -pageMarginBottom+6)
		pdf.CellFormat(0, 5, "Trang "+itoa(pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	return pdf
}

// tableWriter prints a table with its heading row repeated on each page.
type tableWriter struct {
	pdf    *fpdf.Fpdf
	cols   []column
	widths []float64
}

func newTableWriter(pdf *fpdf.Fpdf, cols []column) *tableWriter {
	pageW, _ := pdf.GetPageSize()
	avail := pageW - pageMarginLeft - pageMarginRight
	var sum float64
	for _, c := range cols {
		sum += c.width
	}
	t := &tableWriter{pdf: pdf, cols: cols}
	for _, c := range cols {
		t.widths = append(t.widths, c.width*avail/sum)
	}
	return t
}

// lines wraps s to width w in the current font.
func (t *tableWriter) lines(s string, w float64) []string {
	var out []string
	for _, para := range strings.Split(printable(s), "\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		out = append(out, t.pdf.SplitText(para, w)...)
	}
	if len(out) > maxCellLines {
		out = append(out[:maxCellLines-1], "…")
	}
	return out
}

// row prints one row of cells, starting a new page (with the heading row)
// when it does not fit on this one.
func (t *tableWriter) row(cells []string, heading bool) {
	pdf := t.pdf
	wrapped := make([][]string, len(cells))
	n := 1
	for i, c := range cells {
		wrapped[i] = t.lines(c, t.widths[i])
		n = max(n, len(wrapped[i]))
	}
	h := float64(n)*lineHeight + 2*cellPad
	_, pageH := pdf.GetPageSize()
	if !heading && pdf.GetY()+h > pageH-pageMarginBottom {
		pdf.AddPage()
		t.heading()
	}
	x, y := pageMarginLeft, pdf.GetY()
	for i, ls := range wrapped {
		w := t.widths[i]
		pdf.Rect(x, y, w, h, "D")
		align := "L"
		if t.cols[i].center || heading {
			align = "C"
		}
		top := y + cellPad
		if heading {
			top = y + (h-float64(len(ls))*lineHeight)/2
		}
		for j, l := range ls {
			pdf.SetXY(x, top+float64(j)*lineHeight)
			pdf.CellFormat(w, lineHeight, l, "", 0, align, false, 0, "")
		}
		x += w
	}
	pdf.SetXY(pageMarginLeft, y+h)
}

func (t *tableWriter) heading() {
	t.pdf.SetFont(fontFamily, "", bodySize)
	heads := make([]string, len(t.cols))
	numbers := make([]string, len(t.cols))
	for i, c := range t.cols {
		heads[i] = c.heading
		numbers[i] = "(" + itoa(i+1) + ")"
	}
	t.row(heads, true)
	t.row(numbers, true)
}

// centred prints one centred line across the page.
func centred(pdf *fpdf.Fpdf, size float64, s string) {
	pdf.SetFont(fontFamily, "", size)
	pdf.SetX(pageMarginLeft)
	pdf.CellFormat(0, size*0.5, printable(s), "", 1, "C", false, 0, "")
}

// WritePDF prints the register in the Appendix IV form: a cover with the
// organization, the title, the year and the span of days and numbers, then
// the table with its numbered column headings on every page.
func (r *Register) WritePDF(w io.Writer, at time.Time) error {
	days, numbers := r.span()
	pdf := newPDF(r.Name, at)
	pdf.AddPage()
	pdf.SetFont(fontFamily, "", 12)
	pdf.CellFormat(120, 6, printable(strings.ToUpper(r.OrgName)), "", 1, "C", false, 0, "")
	pdf.Ln(40)
	centred(pdf, 22, r.title())
	pdf.Ln(4)
	centred(pdf, 14, "Năm "+itoa(r.Year))
	pdf.Ln(2)
	centred(pdf, 13, days)
	centred(pdf, 13, numbers)
	pdf.Ln(6)
	centred(pdf, 12, "Quyển số: 01")

	pdf.AddPage()
	t := newTableWriter(pdf, r.cols())
	t.heading()
	_, rows := r.table()
	for _, row := range rows {
		t.row(row, false)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("reports: write register PDF: %w", err)
	}
	return nil
}

func (r *Register) cols() []column {
	cols, _ := r.table()
	return cols
}

// WritePDF prints the processing report as one A4 landscape table.
func (p *Processing) WritePDF(w io.Writer) error {
	pdf := newPDF("Báo cáo tình hình xử lý văn bản", p.At)
	pdf.AddPage()
	pdf.SetFont(fontFamily, "", 12)
	pdf.CellFormat(120, 6, printable(strings.ToUpper(p.OrgName)), "", 1, "C", false, 0, "")
	pdf.Ln(6)
	centred(pdf, 16, "BÁO CÁO TÌNH HÌNH XỬ LÝ VĂN BẢN ĐẾN VÀ VĂN BẢN ĐI")
	centred(pdf, 12, p.span())
	centred(pdf, 11, "Số liệu tính đến "+p.At.In(document.VietnamTime).Format("15:04 02/01/2006"))
	pdf.Ln(4)
	cols, rows := p.table()
	t := newTableWriter(pdf, cols)
	t.heading()
	for _, row := range rows {
		t.row(row, false)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("reports: write processing PDF: %w", err)
	}
	return nil
}
