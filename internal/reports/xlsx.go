package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"vanban/internal/document"
)

// tableSheet lays a report out on a worksheet: title lines merged across
// the table, the heading row, the column numbers (1), (2), ..., then the
// rows as they come. The titles and headings stay in view while the rows
// scroll.
type tableSheet struct {
	x    *xlsxWriter
	cols []column
}

func newTableSheet(out io.Writer, sheet string, cols []column, titles []string) (*tableSheet, error) {
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = c.width / 2 // millimetres on the PDF page to digits of the default font
	}
	x, err := newXLSXWriter(out, xlsxSheet{Name: sheet, ColWidths: widths, FrozenRows: len(titles) + 2})
	if err != nil {
		return nil, err
	}
	for _, line := range titles {
		if err := x.newRow(); err != nil {
			return nil, err
		}
		x.text(xlsxTitle, line)
		for range cols[1:] {
			x.empty(xlsxTitle)
		}
		x.mergeRow(len(cols))
	}
	if err := x.newRow(); err != nil {
		return nil, err
	}
	for _, c := range cols {
		x.text(xlsxHeading, c.heading)
	}
	if err := x.newRow(); err != nil {
		return nil, err
	}
	for i := range cols {
		x.text(xlsxHeading, "("+itoa(i+1)+")")
	}
	return &tableSheet{x: x, cols: cols}, nil
}

// row writes one data row: strings, ints and dates (time.Time, written as
// the Vietnam-time calendar day; the zero time leaves the cell empty).
func (t *tableSheet) row(vals ...any) error {
	if len(vals) != len(t.cols) {
		return fmt.Errorf("a row of %d cells in a table of %d columns", len(vals), len(t.cols))
	}
	if err := t.x.newRow(); err != nil {
		return err
	}
	for i, v := range vals {
		style := xlsxWrapped
		if t.cols[i].center {
			style = xlsxCentred
		}
		switch v := v.(type) {
		case string:
			t.x.text(style, v)
		case int:
			t.x.number(style, int64(v))
		case time.Time:
			if v.IsZero() {
				t.x.empty(style)
			} else {
				t.x.date(xlsxDate, v.In(document.VietnamTime))
			}
		default:
			return fmt.Errorf("no XLSX cell for a %T", v)
		}
	}
	return nil
}

func (t *tableSheet) close() error { return t.x.close() }

// SheetName is the worksheet a register's XLSX holds its table in.
func (r *Register) SheetName() string {
	if r.Direction == document.Incoming {
		return "Sổ văn bản đến"
	}
	return "Sổ văn bản đi"
}

// WriteXLSX exports the register as a workbook of one sheet: the title
// lines, the numbered Appendix IV headings and one row per entry, dates as
// real dates (dd/mm/yyyy) and numbers as numbers where the column is one.
func (r *Register) WriteXLSX(out io.Writer) error {
	days, numbers := r.span()
	w, err := newTableSheet(out, r.SheetName(), r.cols(),
		[]string{strings.ToUpper(r.OrgName), r.title() + " NĂM " + itoa(r.Year), days + "; " + numbers})
	if err != nil {
		return fmt.Errorf("reports: register XLSX: %w", err)
	}
	for _, e := range r.Entries {
		if r.Direction == document.Incoming {
			err = w.row(e.ReceivedAt, e.Number, e.Sender, e.Symbol, e.SenderDate, typeAndSubject(e), e.HandledBy, e.Acknowledged, e.Note)
		} else {
			err = w.row(e.Symbol, e.Date, typeAndSubject(e), e.Signer, strings.Join(e.Recipients, "; "), e.KeptBy, e.Copies, e.Note)
		}
		if err != nil {
			return fmt.Errorf("reports: register XLSX: %w", err)
		}
	}
	if err := w.close(); err != nil {
		return fmt.Errorf("reports: register XLSX: %w", err)
	}
	return nil
}

// ProcessingSheet is the worksheet of the processing report.
const ProcessingSheet = "Tình hình xử lý"

// WriteXLSX exports the processing report, one row per unit and the total.
func (p *Processing) WriteXLSX(out io.Writer) error {
	cols, _ := p.table()
	w, err := newTableSheet(out, ProcessingSheet, cols,
		[]string{strings.ToUpper(p.OrgName), "BÁO CÁO TÌNH HÌNH XỬ LÝ VĂN BẢN ĐẾN VÀ VĂN BẢN ĐI", p.span()})
	if err != nil {
		return fmt.Errorf("reports: processing XLSX: %w", err)
	}
	rows := append(append([]UnitProcessing(nil), p.Units...), p.Total)
	for i, u := range rows {
		name := u.UnitName
		if i == len(rows)-1 {
			name = "Tổng cộng"
		}
		if err := w.row(name, u.InReceived, u.InCompleted, u.InOnTime, u.InLate, u.InOpen, u.InOverdue,
			u.OutCreated, u.OutIssued, u.OutOpen, u.OutWithdrawn); err != nil {
			return fmt.Errorf("reports: processing XLSX: %w", err)
		}
	}
	if err := w.close(); err != nil {
		return fmt.Errorf("reports: processing XLSX: %w", err)
	}
	return nil
}
