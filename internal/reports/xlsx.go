package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"vanban/internal/document"
)

// sheetWriter fills one worksheet: title lines merged across the table, the
// heading row, the column numbers, then the rows.
type sheetWriter struct {
	f       *excelize.File
	sheet   string
	cols    []column
	row     int
	wrap    int // style: bordered, wrapped text
	centre  int // style: bordered, centred
	date    int // style: bordered, centred, dd/mm/yyyy
	heading int // style: bordered, centred, wrapped, bold
	title   int // style: centred, large
}

func newSheetWriter(sheet string, cols []column) (*sheetWriter, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	border := []excelize.Border{{Type: "left", Style: 1}, {Type: "right", Style: 1}, {Type: "top", Style: 1}, {Type: "bottom", Style: 1}}
	font := &excelize.Font{Family: "Times New Roman", Size: 12}
	dateFmt := "dd/mm/yyyy"
	w := &sheetWriter{f: f, sheet: sheet, cols: cols}
	styles := []struct {
		dst *int
		s   excelize.Style
	}{
		{&w.wrap, excelize.Style{Border: border, Font: font, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&w.centre, excelize.Style{Border: border, Font: font, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "top", WrapText: true}}},
		{&w.date, excelize.Style{Border: border, Font: font, CustomNumFmt: &dateFmt, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "top"}}},
		{&w.heading, excelize.Style{Border: border, Font: &excelize.Font{Family: "Times New Roman", Size: 12, Bold: true},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}},
		{&w.title, excelize.Style{Font: &excelize.Font{Family: "Times New Roman", Size: 14, Bold: true}, Alignment: &excelize.Alignment{Horizontal: "center"}}},
	}
	for _, st := range styles {
		id, err := f.NewStyle(&st.s)
		if err != nil {
			return nil, err
		}
		*st.dst = id
	}
	for i, c := range cols {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, name, name, c.width/2.0); err != nil {
			return nil, err
		}
	}
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: ptr("landscape"), Size: ptr(9)}); err != nil { // 9: A4
		return nil, err
	}
	return w, nil
}

func ptr[T any](v T) *T { return &v }

func (w *sheetWriter) cell(col int) string {
	name, _ := excelize.CoordinatesToCellName(col, w.row)
	return name
}

// titleLine writes a line merged across the table's width.
func (w *sheetWriter) titleLine(s string) error {
	w.row++
	first, last := w.cell(1), w.cell(len(w.cols))
	if err := w.f.SetCellValue(w.sheet, first, s); err != nil {
		return err
	}
	if err := w.f.MergeCell(w.sheet, first, last); err != nil {
		return err
	}
	return w.f.SetCellStyle(w.sheet, first, last, w.title)
}

// headings writes the column headings and their numbers, (1), (2), ...
func (w *sheetWriter) headings() error {
	w.row++
	heads := make([]any, len(w.cols))
	nums := make([]any, len(w.cols))
	for i, c := range w.cols {
		heads[i], nums[i] = c.heading, "("+itoa(i+1)+")"
	}
	for _, vals := range [][]any{heads, nums} {
		if err := w.f.SetSheetRow(w.sheet, w.cell(1), &vals); err != nil {
			return err
		}
		if err := w.f.SetCellStyle(w.sheet, w.cell(1), w.cell(len(w.cols)), w.heading); err != nil {
			return err
		}
		w.row++
	}
	w.row--
	return nil
}

// values writes one data row: strings, ints and dates (time.Time, written
// as the Vietnam-time calendar day).
func (w *sheetWriter) values(vals []any) error {
	w.row++
	for i, v := range vals {
		ref := w.cell(i + 1)
		style := w.wrap
		if w.cols[i].center {
			style = w.centre
		}
		switch v := v.(type) {
		case time.Time:
			if v.IsZero() {
				break // an empty, bordered cell
			}
			y, m, d := v.In(document.VietnamTime).Date()
			if err := w.f.SetCellValue(w.sheet, ref, time.Date(y, m, d, 0, 0, 0, 0, time.UTC)); err != nil {
				return err
			}
			style = w.date
		case string:
			if err := w.f.SetCellStr(w.sheet, ref, printable(v)); err != nil {
				return err
			}
		default:
			if err := w.f.SetCellValue(w.sheet, ref, v); err != nil {
				return err
			}
		}
		if err := w.f.SetCellStyle(w.sheet, ref, ref, style); err != nil {
			return err
		}
	}
	return nil
}

func (w *sheetWriter) finish(out io.Writer, freezeRows int) error {
	if err := w.f.SetPanes(w.sheet, &excelize.Panes{Freeze: true, YSplit: freezeRows, TopLeftCell: "A" + itoa(freezeRows+1), ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return w.f.Write(out)
}

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
	cols := r.cols()
	w, err := newSheetWriter(r.SheetName(), cols)
	if err != nil {
		return fmt.Errorf("reports: register XLSX: %w", err)
	}
	days, numbers := r.span()
	for _, line := range []string{strings.ToUpper(r.OrgName), r.title() + " NĂM " + itoa(r.Year), days + "; " + numbers} {
		if err := w.titleLine(line); err != nil {
			return fmt.Errorf("reports: register XLSX: %w", err)
		}
	}
	if err := w.headings(); err != nil {
		return fmt.Errorf("reports: register XLSX: %w", err)
	}
	freeze := w.row
	for _, e := range r.Entries {
		var vals []any
		if r.Direction == document.Incoming {
			vals = []any{e.ReceivedAt, e.Number, e.Sender, e.Symbol, e.SenderDate, typeAndSubject(e), e.HandledBy, e.Acknowledged, e.Note}
		} else {
			vals = []any{e.Symbol, e.Date, typeAndSubject(e), e.Signer, strings.Join(e.Recipients, "; "), e.KeptBy, e.Copies, e.Note}
		}
		if err := w.values(vals); err != nil {
			return fmt.Errorf("reports: register XLSX: %w", err)
		}
	}
	if err := w.finish(out, freeze); err != nil {
		return fmt.Errorf("reports: register XLSX: %w", err)
	}
	return nil
}

// ProcessingSheet is the worksheet of the processing report.
const ProcessingSheet = "Tình hình xử lý"

// WriteXLSX exports the processing report, one row per unit and the total.
func (p *Processing) WriteXLSX(out io.Writer) error {
	cols, _ := p.table()
	w, err := newSheetWriter(ProcessingSheet, cols)
	if err != nil {
		return fmt.Errorf("reports: processing XLSX: %w", err)
	}
	for _, line := range []string{strings.ToUpper(p.OrgName), "BÁO CÁO TÌNH HÌNH XỬ LÝ VĂN BẢN ĐẾN VÀ VĂN BẢN ĐI", p.span()} {
		if err := w.titleLine(line); err != nil {
			return fmt.Errorf("reports: processing XLSX: %w", err)
		}
	}
	if err := w.headings(); err != nil {
		return fmt.Errorf("reports: processing XLSX: %w", err)
	}
	freeze := w.row
	rows := append(append([]UnitProcessing(nil), p.Units...), p.Total)
	for i, u := range rows {
		name := u.UnitName
		if i == len(rows)-1 {
			name = "Tổng cộng"
		}
		if err := w.values([]any{name, u.InReceived, u.InCompleted, u.InOnTime, u.InLate, u.InOpen, u.InOverdue,
			u.OutCreated, u.OutIssued, u.OutOpen, u.OutWithdrawn}); err != nil {
			return fmt.Errorf("reports: processing XLSX: %w", err)
		}
	}
	if err := w.finish(out, freeze); err != nil {
		return fmt.Errorf("reports: processing XLSX: %w", err)
	}
	return nil
}
