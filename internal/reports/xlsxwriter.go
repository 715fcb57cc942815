package reports

import (
	"archive/zip"
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file writes an Office Open XML spreadsheet (SpreadsheetML, ECMA-376)
// of one worksheet. The sheet part is the last entry of the zip and its rows
// go into it as they are written, with inline strings, so a register of any
// length costs the same memory as a short one. Everything about the package
// that does not depend on the data (content types, relationships, the
// stylesheet) is fixed text.

// xlsxStyle is a cell format: an index into the cellXfs of xlsxStyles.
type xlsxStyle int

const (
	xlsxPlain   xlsxStyle = iota // the workbook default
	xlsxWrapped                  // bordered, top-aligned, wrapped text
	xlsxCentred                  // bordered, centred, top-aligned, wrapped text
	xlsxDate                     // bordered, centred, top-aligned, dd/mm/yyyy
	xlsxHeading                  // bordered, centred both ways, wrapped, bold
	xlsxTitle                    // centred, bold 14 pt
)

// xlsxStyles is xl/styles.xml. Font 0, the workbook default, stays Calibri
// 11 although every cell we write uses Times New Roman: column widths are
// counted in digits of the default font, and the report widths (half the
// PDF's millimetres) were chosen to fit A4 landscape in Calibri's digits.
// Number format 164 is the first id free for custom formats.
const xlsxStyles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>` +
	`<fonts count="4">` +
	`<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
	`<font><sz val="12"/><name val="Times New Roman"/><family val="1"/></font>` +
	`<font><b/><sz val="12"/><name val="Times New Roman"/><family val="1"/></font>` +
	`<font><b/><sz val="14"/><name val="Times New Roman"/><family val="1"/></font>` +
	`</fonts>` +
	`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
	`<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>` +
	`<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>` +
	`<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="6">` +
	`<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1" applyAlignment="1">` +
	`<alignment vertical="top" wrapText="1"/></xf>` +
	`<xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1" applyAlignment="1">` +
	`<alignment horizontal="center" vertical="top" wrapText="1"/></xf>` +
	`<xf numFmtId="164" fontId="1" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyFont="1" applyBorder="1" applyAlignment="1">` +
	`<alignment horizontal="center" vertical="top"/></xf>` +
	`<xf numFmtId="0" fontId="2" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1" applyAlignment="1">` +
	`<alignment horizontal="center" vertical="center" wrapText="1"/></xf>` +
	`<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">` +
	`<alignment horizontal="center"/></xf>` +
	`</cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`

const xlsxContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/>` +
	`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
	`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
	`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
	`</Types>`

const xlsxPackageRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
	`</Relationships>`

const xlsxWorkbookRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
	`</Relationships>`

const xlsxMainNS = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
	`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`

// xlsxMaxText is the most characters (UTF-16 code units) a cell holds in
// Excel; a longer string makes Excel offer to repair the file.
const xlsxMaxText = 32767

// xlsxSheet is what a worksheet looks like before its first row.
type xlsxSheet struct {
	Name       string
	ColWidths  []float64 // in digits of the default font, one per column from A
	FrozenRows int       // rows kept in view above the scrolling part
}

// xlsxWriter streams a workbook of one worksheet. Rows and, within a row,
// cells come in order: newRow starts the next row, each cell call fills
// the next column, and close ends the file; an error of the underlying writer
// is returned by the next newRow or by close.
type xlsxWriter struct {
	zip     *zip.Writer
	sheet   *bufio.Writer
	failure *errorRecorder // under sheet: the first write error
	row     int            // the current row, 1-based; 0 before the first
	col     int            // cells written in the current row
	merges  []string       // ranges like "A1:H1", written after the rows
	scratch []byte
}

// errorRecorder keeps the first error of w, which bufio would otherwise
// report only on a later write.
type errorRecorder struct {
	w   io.Writer
	err error
}

func (e *errorRecorder) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// newXLSXWriter writes the package's fixed parts and the worksheet's head
// (views, columns) to out and returns the writer for the rows.
func newXLSXWriter(out io.Writer, s xlsxSheet) (*xlsxWriter, error) {
	if err := checkSheetName(s.Name); err != nil {
		return nil, err
	}
	w := &xlsxWriter{zip: zip.NewWriter(out)}
	var workbook strings.Builder
	workbook.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n<workbook " + xlsxMainNS + `>`)
	workbook.WriteString(`<bookViews><workbookView/></bookViews><sheets><sheet name="`)
	writeXMLText(&workbook, s.Name, len(s.Name))
	workbook.WriteString(`" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	for _, part := range []struct{ name, body string }{
		{"[Content_Types].xml", xlsxContentTypes},
		{"_rels/.rels", xlsxPackageRels},
		{"xl/workbook.xml", workbook.String()},
		{"xl/_rels/workbook.xml.rels", xlsxWorkbookRels},
		{"xl/styles.xml", xlsxStyles},
	} {
		f, err := w.zip.Create(part.name)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(f, part.body); err != nil {
			return nil, err
		}
	}
	f, err := w.zip.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return nil, err
	}
	w.failure = &errorRecorder{w: f}
	w.sheet = bufio.NewWriterSize(w.failure, 32<<10)
	b := w.sheet
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n<worksheet " + xlsxMainNS + `>`)
	b.WriteString(`<sheetViews><sheetView tabSelected="1" workbookViewId="0">`)
	if s.FrozenRows > 0 {
		first := "A" + strconv.Itoa(s.FrozenRows+1)
		b.WriteString(`<pane ySplit="` + strconv.Itoa(s.FrozenRows) + `" topLeftCell="` + first + `" activePane="bottomLeft" state="frozen"/>`)
		b.WriteString(`<selection pane="bottomLeft" activeCell="` + first + `" sqref="` + first + `"/>`)
	}
	b.WriteString(`</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>`)
	if len(s.ColWidths) > 0 {
		b.WriteString(`<cols>`)
		for i, width := range s.ColWidths {
			n := strconv.Itoa(i + 1)
			b.WriteString(`<col min="` + n + `" max="` + n + `" width="` + strconv.FormatFloat(width, 'f', -1, 64) + `" customWidth="1"/>`)
		}
		b.WriteString(`</cols>`)
	}
	b.WriteString(`<sheetData>`)
	return w, w.failure.err
}

// checkSheetName applies Excel's rules for a sheet name, which it enforces
// by refusing to open the file.
func checkSheetName(name string) error {
	units := 0
	for i, r := range name {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size == 1 {
				return errors.New("xlsx: sheet name is not UTF-8")
			}
		}
		if r < 0x20 || r == 0xFFFE || r == 0xFFFF || strings.ContainsRune(`:\/?*[]`, r) {
			return errors.New("xlsx: sheet name " + strconv.Quote(name) + " has a character Excel does not allow")
		}
		units += utf16Len(r)
	}
	switch {
	case units == 0 || units > 31:
		return errors.New("xlsx: sheet name " + strconv.Quote(name) + " is not 1 to 31 characters")
	case name[0] == '\'' || name[len(name)-1] == '\'':
		return errors.New("xlsx: sheet name " + strconv.Quote(name) + " starts or ends with an apostrophe")
	case strings.EqualFold(name, "History"):
		return errors.New(`xlsx: sheet name "History" is reserved`)
	}
	return nil
}

func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// newRow ends the current row and starts the next one.
func (w *xlsxWriter) newRow() error {
	if w.row > 0 {
		w.sheet.WriteString(`</row>`)
	}
	w.row++
	w.col = 0
	w.scratch = strconv.AppendInt(append(w.scratch[:0], `<row r="`...), int64(w.row), 10)
	w.sheet.Write(append(w.scratch, `">`...))
	return w.failure.err
}

// startCell writes the opening of the next cell up to its attributes' end,
// leaving the tag open for a type attribute.
func (w *xlsxWriter) startCell(style xlsxStyle) {
	w.col++
	b := append(w.scratch[:0], `<c r="`...)
	b = appendCellRef(b, w.col, w.row)
	b = append(b, `" s="`...)
	b = strconv.AppendInt(b, int64(style), 10)
	w.scratch = append(b, '"')
	w.sheet.Write(w.scratch)
}

// text writes a string cell. Characters XML 1.0 cannot carry (most C0
// controls, U+FFFE, U+FFFF) and bytes that are not UTF-8 are dropped, and
// the text is cut at Excel's limit of 32767 characters.
func (w *xlsxWriter) text(style xlsxStyle, s string) {
	w.startCell(style)
	w.sheet.WriteString(` t="inlineStr"><is><t xml:space="preserve">`)
	writeXMLText(w.sheet, s, xlsxMaxText)
	w.sheet.WriteString(`</t></is></c>`)
}

// number writes an integer cell.
func (w *xlsxWriter) number(style xlsxStyle, n int64) {
	w.startCell(style)
	b := strconv.AppendInt(append(w.scratch[:0], "><v>"...), n, 10)
	w.scratch = append(b, "</v></c>"...)
	w.sheet.Write(w.scratch)
}

// xlsxEpoch is day 0 of Excel's 1900 date system as it counts from March
// 1900 on: Excel believes 1900 was a leap year, so serials from 61 (1 March
// 1900) are days since 30 December 1899.
var xlsxEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).Unix() / 86400

// date writes the calendar day of t, in t's location, as a date serial.
// Days Excel cannot show as a date, before 1 March 1900 (where Excel and
// LibreOffice number the days differently) or after 9999, are written as
// dd/mm/yyyy text instead.
func (w *xlsxWriter) date(style xlsxStyle, t time.Time) {
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if y > 9999 || day.Before(time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC)) {
		w.text(style, day.Format("02/01/2006"))
		return
	}
	w.number(style, day.Unix()/86400-xlsxEpoch)
}

// empty writes a cell with a format and no value, so that its borders show.
func (w *xlsxWriter) empty(style xlsxStyle) {
	w.startCell(style)
	w.sheet.WriteString(`/>`)
}

// mergeRow merges the current row's cells from the first column to
// column last.
func (w *xlsxWriter) mergeRow(last int) {
	w.merges = append(w.merges, string(appendCellRef(append(appendCellRef(nil, 1, w.row), ':'), last, w.row)))
}

// close ends the worksheet, with the merged ranges and an A4 landscape
// page setup, and the zip.
func (w *xlsxWriter) close() error {
	b := w.sheet
	if w.row > 0 {
		b.WriteString(`</row>`)
	}
	b.WriteString(`</sheetData>`)
	if len(w.merges) > 0 {
		b.WriteString(`<mergeCells count="` + strconv.Itoa(len(w.merges)) + `">`)
		for _, m := range w.merges {
			b.WriteString(`<mergeCell ref="` + m + `"/>`)
		}
		b.WriteString(`</mergeCells>`)
	}
	// Excel's "Normal" margins; paper size 9 is A4.
	b.WriteString(`<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>`)
	b.WriteString(`<pageSetup paperSize="9" orientation="landscape"/></worksheet>`)
	if err := b.Flush(); err != nil {
		return err
	}
	return w.zip.Close()
}

// appendCellRef appends the A1-style reference of column col (1-based)
// and row row.
func appendCellRef(b []byte, col, row int) []byte {
	var letters [3]byte // XFD, column 16384, is the last
	i := len(letters)
	for col > 0 && i > 0 {
		col--
		i--
		letters[i] = byte('A' + col%26)
		col /= 26
	}
	return strconv.AppendInt(append(b, letters[i:]...), int64(row), 10)
}

// writeXMLText writes s as XML character data, fit for element content
// and double-quoted attributes, keeping at most limit UTF-16 code units of
// it. It drops what XML 1.0 cannot carry and bytes that are not UTF-8,
// keeps a carriage return as a reference (a literal one would be read
// back as a line feed), and escapes the underscore of any "_xHHHH_" in
// the text, which OOXML readers would otherwise decode as the character
// U+HHHH.
func writeXMLText(w io.StringWriter, s string, limit int) {
	// Dropping first, so that what is left is what the escapes are
	// judged on: "_x00\xff41_" less its bad byte reads as "_x0041_".
	s = xmlChars(s)
	units := 0
	plain := 0 // s[plain:i] is still to be written as it is
	i := 0
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if units += utf16Len(r); units > limit {
			break
		}
		var esc string
		switch r {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&quot;"
		case '\r':
			esc = "&#13;"
		case '_':
			if isOOXMLEscape(s[i:]) {
				esc = "_x005F_"
			}
		}
		if esc != "" {
			w.WriteString(s[plain:i])
			w.WriteString(esc)
			plain = i + size
		}
		i += size
	}
	w.WriteString(s[plain:i])
}

// xmlChars returns s without the bytes that are not UTF-8 and the
// characters outside XML 1.0's Char production: C0 controls other than
// tab, line feed and carriage return, U+FFFE and U+FFFF. (Go strings hold
// no surrogates: their bytes are not UTF-8.) Text that has none, nearly
// all of it, is returned as it is.
func xmlChars(s string) string {
	var b strings.Builder
	kept := 0 // s[kept:i] is legal and not yet copied to b
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[kept:i])
			kept = i + size
		}
		i += size
	}
	if kept == 0 {
		return s
	}
	b.WriteString(s[kept:])
	return b.String()
}

// isOOXMLEscape reports whether s starts with "_xHHHH_", how OOXML writes
// a character by its hexadecimal code.
func isOOXMLEscape(s string) bool {
	if len(s) < 7 || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for _, c := range []byte(s[2:6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
