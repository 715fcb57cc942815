package reports_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"vanban/internal/document"
	"vanban/internal/reports"
)

// Excel's serials for days of 2026, known from Excel itself: 1 January
// 2026 is 46023.
const (
	serial20260101 = 46023
	serial20260305 = serial20260101 + 31 + 28 + 4
)

func outgoingSample() *reports.Register {
	return &reports.Register{OrgName: "Ủy ban nhân dân xã Thành Long", Name: "Sổ văn bản đi năm 2026", Direction: document.Outgoing, Year: 2026,
		Entries: []reports.Entry{
			{Number: 1, Symbol: "01/QĐ-UBND", TypeName: "Quyết định", Subject: "Về việc phê duyệt kế hoạch cải cách hành chính",
				Date: vn(time.March, 5, 9), Signer: "CT. Lê Văn Cường", Recipients: []string{"Phòng Tài chính", "Văn phòng"},
				KeptBy: "Văn phòng (Nguyễn Văn An)", Copies: 3, Note: "Hỏa tốc"},
			// Not dated yet: the date cell stays empty but bordered.
			{Number: 2, Symbol: "02/QĐ-UBND", TypeName: "Quyết định", Subject: "Về việc <thành lập> tổ công tác & \"đặc biệt\"",
				Signer: "Lê Văn Cường", Recipients: []string{"Phòng Tài chính"}, KeptBy: "Văn phòng", Copies: 2},
		}}
}

func TestXLSXReadBackWithExcelize(t *testing.T) {
	var buf bytes.Buffer
	must(t, outgoingSample().WriteXLSX(&buf))
	checkXLSXParts(t, buf.Bytes())
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	must(t, err)
	const sheet = "Sổ văn bản đi"
	if got := f.GetSheetList(); !slices.Equal(got, []string{sheet}) {
		t.Fatalf("sheets = %q", got)
	}
	rows, err := f.GetRows(sheet)
	must(t, err)
	want := [][]string{
		{"ỦY BAN NHÂN DÂN XÃ THÀNH LONG"},
		{"SỔ ĐĂNG KÝ VĂN BẢN ĐI NĂM 2026"},
		{"Từ ngày 01/01/2026 đến ngày 31/12/2026; Từ số 01 đến số 02"},
		{"Số, ký hiệu văn bản", "Ngày tháng văn bản", "Tên loại và trích yếu nội dung văn bản", "Người ký", "Nơi nhận văn bản",
			"Đơn vị, người nhận bản lưu", "Số lượng bản", "Ghi chú"},
		{"(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)"},
		{"01/QĐ-UBND", "05/03/2026", "Quyết định: Về việc phê duyệt kế hoạch cải cách hành chính", "CT. Lê Văn Cường",
			"Phòng Tài chính; Văn phòng", "Văn phòng (Nguyễn Văn An)", "3", "Hỏa tốc"},
		{"02/QĐ-UBND", "", "Quyết định: Về việc <thành lập> tổ công tác & \"đặc biệt\"", "Lê Văn Cường", "Phòng Tài chính",
			"Văn phòng", "2"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows:\n got %q\nwant %q", rows, want)
	}

	merges, err := f.GetMergeCells(sheet)
	must(t, err)
	var merged []string
	for _, m := range merges {
		merged = append(merged, m.GetStartAxis()+":"+m.GetEndAxis()+"="+m.GetCellValue())
	}
	if w := []string{"A1:H1=" + want[0][0], "A2:H2=" + want[1][0], "A3:H3=" + want[2][0]}; !slices.Equal(merged, w) {
		t.Errorf("merged cells = %q, want %q", merged, w)
	}

	// The date is a number with a date format, not text.
	raw, err := f.GetCellValue(sheet, "B6", excelize.Options{RawCellValue: true})
	must(t, err)
	if raw != fmt.Sprint(serial20260305) {
		t.Errorf("B6 holds %q, want the serial %d", raw, serial20260305)
	}
	if typ, err := f.GetCellType(sheet, "B6"); err != nil || (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) {
		t.Errorf("B6 has type %v (%v), want a number", typ, err)
	}
	if raw, _ := f.GetCellValue(sheet, "G6", excelize.Options{RawCellValue: true}); raw != "3" {
		t.Errorf("G6 (copies) holds %q", raw)
	}
	if typ, _ := f.GetCellType(sheet, "G6"); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
		t.Errorf("G6 (copies) is a string")
	}

	style := func(cell string) *excelize.Style {
		t.Helper()
		id, err := f.GetCellStyle(sheet, cell)
		must(t, err)
		s, err := f.GetStyle(id)
		must(t, err)
		return s
	}
	bordered := func(cell string, s *excelize.Style) {
		t.Helper()
		var sides []string
		for _, b := range s.Border {
			if b.Style == 1 {
				sides = append(sides, b.Type)
			}
		}
		slices.Sort(sides)
		if !slices.Equal(sides, []string{"bottom", "left", "right", "top"}) {
			t.Errorf("%s has thin borders on %q, want all four sides", cell, sides)
		}
	}
	font := func(cell string, s *excelize.Style, size float64, bold bool) {
		t.Helper()
		if s.Font == nil || s.Font.Family != "Times New Roman" || s.Font.Size != size || s.Font.Bold != bold {
			t.Errorf("%s font = %+v, want Times New Roman %v bold=%v", cell, s.Font, size, bold)
		}
	}
	title := style("A1")
	font("A1", title, 14, true)
	if title.Alignment == nil || title.Alignment.Horizontal != "center" || len(title.Border) != 0 {
		t.Errorf("title style = %+v %+v", title.Alignment, title.Border)
	}
	if h1 := style("H1"); h1.Font == nil || !h1.Font.Bold {
		t.Errorf("the merged title's last cell is not in the title style")
	}
	for _, cell := range []string{"A4", "H4", "C5"} {
		s := style(cell)
		font(cell, s, 12, true)
		bordered(cell, s)
		if a := s.Alignment; a == nil || a.Horizontal != "center" || a.Vertical != "center" || !a.WrapText {
			t.Errorf("heading %s alignment = %+v", cell, a)
		}
	}
	date := style("B6")
	font("B6", date, 12, false)
	bordered("B6", date)
	if date.CustomNumFmt == nil || *date.CustomNumFmt != "dd/mm/yyyy" || date.Alignment == nil || date.Alignment.Horizontal != "center" {
		t.Errorf("date style: format %v, alignment %+v", date.CustomNumFmt, date.Alignment)
	}
	bordered("B7 (empty date)", style("B7"))
	for _, c := range []struct {
		cell   string
		centre bool
	}{{"A6", true}, {"C6", false}, {"G6", true}, {"H7", false}} {
		s := style(c.cell)
		font(c.cell, s, 12, false)
		bordered(c.cell, s)
		if a := s.Alignment; a == nil || !a.WrapText || a.Vertical != "top" || (a.Horizontal == "center") != c.centre {
			t.Errorf("%s alignment = %+v, want centred=%v, wrapped, top", c.cell, a, c.centre)
		}
	}

	panes, err := f.GetPanes(sheet)
	must(t, err)
	if !panes.Freeze || panes.YSplit != 5 || panes.XSplit != 0 || panes.TopLeftCell != "A6" {
		t.Errorf("panes = %+v, want frozen below row 5", panes)
	}
	for col, width := range map[string]float64{"A": 15, "B": 11, "C": 35, "G": 7.5, "H": 15} {
		if got, err := f.GetColWidth(sheet, col); err != nil || got != width {
			t.Errorf("column %s width = %v (%v), want %v", col, got, err, width)
		}
	}
	page, err := f.GetPageLayout(sheet)
	must(t, err)
	if page.Size == nil || *page.Size != 9 || page.Orientation == nil || *page.Orientation != "landscape" {
		t.Errorf("page layout: size %v, orientation %v", page.Size, page.Orientation)
	}
}

func TestXLSXIncomingAndProcessing(t *testing.T) {
	// Received at 23:30 UTC on 4 March: 5 March in Vietnam.
	r := &reports.Register{OrgName: "UBND xã Thành Long", Name: "Sổ văn bản đến năm 2026", Direction: document.Incoming, Year: 2026,
		Entries: []reports.Entry{{Number: 7, Symbol: "512/SNV-VP", Sender: "Sở Nội vụ", TypeName: "Công văn", Subject: "Đề nghị phối hợp",
			ReceivedAt: time.Date(2026, 3, 4, 23, 30, 0, 0, time.UTC), SenderDate: vn(time.March, 2, 0), HandledBy: "Phòng Tài chính",
			Acknowledged: "Đã nhận", Note: "Hạn 15/03/2026"}}}
	var buf bytes.Buffer
	must(t, r.WriteXLSX(&buf))
	checkXLSXParts(t, buf.Bytes())
	f, err := excelize.OpenReader(&buf)
	must(t, err)
	rows, err := f.GetRows(r.SheetName())
	must(t, err)
	want := []string{"05/03/2026", "7", "Sở Nội vụ", "512/SNV-VP", "02/03/2026", "Công văn: Đề nghị phối hợp", "Phòng Tài chính", "Đã nhận", "Hạn 15/03/2026"}
	if len(rows) != 6 || !slices.Equal(rows[5], want) || rows[4][8] != "(9)" {
		t.Fatalf("incoming rows = %q", rows)
	}
	for cell, v := range map[string]string{"A6": fmt.Sprint(serial20260305), "B6": "7", "E6": fmt.Sprint(serial20260305 - 3)} {
		if raw, _ := f.GetCellValue(r.SheetName(), cell, excelize.Options{RawCellValue: true}); raw != v {
			t.Errorf("%s holds %q, want %s", cell, raw, v)
		}
	}

	p := &reports.Processing{OrgName: "UBND xã Thành Long", Period: reports.Year(2026),
		Units: []reports.UnitProcessing{{UnitName: "Văn phòng", InReceived: 4, InCompleted: 3, OutCreated: 9}},
		Total: reports.UnitProcessing{InReceived: 4, InCompleted: 3, OutCreated: 9}}
	buf.Reset()
	must(t, p.WriteXLSX(&buf))
	f, err = excelize.OpenReader(&buf)
	must(t, err)
	rows, err = f.GetRows(reports.ProcessingSheet)
	must(t, err)
	if len(rows) != 7 || rows[1][0] != "BÁO CÁO TÌNH HÌNH XỬ LÝ VĂN BẢN ĐẾN VÀ VĂN BẢN ĐI" || rows[2][0] != "Từ ngày 01/01/2026 đến ngày 31/12/2026" ||
		!slices.Equal(rows[6], []string{"Tổng cộng", "4", "3", "0", "0", "0", "0", "9", "0", "0", "0"}) {
		t.Fatalf("processing rows = %q", rows)
	}
	merges, err := f.GetMergeCells(reports.ProcessingSheet)
	must(t, err)
	if len(merges) != 3 || merges[0].GetEndAxis() != "K1" {
		t.Errorf("processing merges = %v", merges)
	}
	if panes, _ := f.GetPanes(reports.ProcessingSheet); !panes.Freeze || panes.YSplit != 5 {
		t.Errorf("processing panes = %+v", panes)
	}
}

// TestXLSXLibreOffice has LibreOffice, a reader independent of ours,
// convert the workbook to CSV, which holds the cells as shown.
func TestXLSXLibreOffice(t *testing.T) {
	soffice := libreOfficeCalc(t)
	r := outgoingSample()
	r.Entries[1].Subject = "Mã _x0041_ giữ nguyên; chữ 😀"
	var buf bytes.Buffer
	must(t, r.WriteXLSX(&buf))
	rows := convertToCSV(t, soffice, buf.Bytes())
	if len(rows) != 7 {
		t.Fatalf("CSV has %d rows: %q", len(rows), rows)
	}
	if rows[0][0] != "ỦY BAN NHÂN DÂN XÃ THÀNH LONG" || rows[3][2] != "Tên loại và trích yếu nội dung văn bản" || rows[4][7] != "(8)" {
		t.Errorf("CSV titles and headings = %q", rows[:5])
	}
	if w := []string{"01/QĐ-UBND", "05/03/2026", "Quyết định: Về việc phê duyệt kế hoạch cải cách hành chính", "CT. Lê Văn Cường",
		"Phòng Tài chính; Văn phòng", "Văn phòng (Nguyễn Văn An)", "3", "Hỏa tốc"}; !slices.Equal(rows[5], w) {
		t.Errorf("CSV row 6 = %q\n          want %q", rows[5], w)
	}
	if rows[6][1] != "" || rows[6][2] != "Quyết định: Mã _x0041_ giữ nguyên; chữ 😀" {
		t.Errorf("CSV row 7 = %q", rows[6])
	}
}

// libreOfficeCalc returns the soffice to run, skipping the test (failing it
// under VANBAN_REQUIRE_SERVICES) where soffice or its spreadsheet part is
// not installed: without Calc (Debian's libreoffice-calc-nogui) soffice
// runs but cannot load a workbook.
func libreOfficeCalc(t *testing.T) string {
	t.Helper()
	soffice := lookPath(t, "soffice")
	program, err := filepath.EvalSymlinks(soffice)
	must(t, err)
	if _, err := os.Stat(filepath.Join(filepath.Dir(program), "libsclo.so")); err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") != "" {
			t.Fatalf("LibreOffice Calc is not installed beside %s", program)
		}
		t.Skipf("LibreOffice Calc is not installed beside %s", program)
	}
	return soffice
}

// convertToCSV runs soffice headless on a private profile, in its own
// process group so that a hung conversion is killed whole.
func convertToCSV(t *testing.T, soffice string, xlsx []byte) [][]string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "report.xlsx")
	must(t, os.WriteFile(in, xlsx, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// 44,34,76: comma-separated, double-quoted, UTF-8.
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless", "--norestore",
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", dir, in)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything of the conversion still running
	}
	if err != nil {
		t.Fatalf("soffice: %v (timeout: %v)\n%s", err, ctx.Err() != nil, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatalf("soffice wrote no CSV: %v\n%s", err, out)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	must(t, err)
	return rows
}

// hostileTexts are strings a writer that only concatenates would turn into
// a broken file.
var hostileTexts = []string{
	"", " leading and trailing ", "]]>", "<&>", "<![CDATA[x]]>", `"quoted" 'single'`, "&amp; already escaped",
	"\x00\x01\x07\x08\x0b\x0c\x1b\x1f", "tab\tline\nreturn\r\nend\r", "bad \xff\xfe bytes \xc3", "\xed\xa0\x80 surrogate",
	"\ufffe\uffff nonchars", "\ufffd replacement", "😀 astral 𝄞", "_x0041_ _x005F_ __x00e9_ _x12_ _xZZZZ_", "_x00\xda41_ _x00\x0141_",
	"Trích yếu tiếng Việt: Đề nghị phối hợp", "\u0085\u2028\u2029", strings.Repeat("ệ", 40000), strings.Repeat("😀", 20000),
}

func TestXLSXHostileText(t *testing.T) {
	for _, s := range hostileTexts {
		checkHostileText(t, s)
	}
}

func FuzzXLSXText(f *testing.F) {
	for _, s := range hostileTexts[:len(hostileTexts)-2] {
		f.Add(s)
	}
	f.Fuzz(checkHostileText)
}

// checkHostileText writes s into a register's title and cells and reads
// it back: every part must parse as XML, and each cell must hold s less
// what XML cannot carry, cut at Excel's 32767 characters.
func checkHostileText(t *testing.T, s string) {
	r := &reports.Register{OrgName: s, Name: "Sổ văn bản đi năm 2026", Direction: document.Outgoing, Year: 2026,
		Entries: []reports.Entry{{Number: 1, Symbol: s, Subject: s, Note: s, Date: vn(time.March, 5, 9)}}}
	var buf bytes.Buffer
	must(t, r.WriteXLSX(&buf))
	checkXLSXParts(t, buf.Bytes())
	f, err := excelize.OpenReader(&buf)
	must(t, err)
	for cell, want := range map[string]string{"A1": xmlSafe(strings.ToUpper(s)), "A6": xmlSafe(s), "C6": xmlSafe(s), "H6": xmlSafe(s)} {
		got, err := f.GetCellValue(r.SheetName(), cell)
		must(t, err)
		if got != want {
			t.Fatalf("text %.80q: %s = %.80q, want %.80q", s, cell, got, want)
		}
	}
	if got, _ := f.GetCellValue(r.SheetName(), "B6"); got != "05/03/2026" {
		t.Fatalf("text %.80q: the date after it is %q", s, got)
	}
}

// xmlSafe is s without invalid UTF-8 and characters outside XML 1.0's
// Char production, at most 32767 UTF-16 code units long.
func xmlSafe(s string) string {
	var b strings.Builder
	units := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		legal := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
		if !legal || (r == utf8.RuneError && n == 1) {
			continue
		}
		if units += utf16.RuneLen(r); units > 32767 {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkXLSXParts checks the package holds exactly the parts of a one-sheet
// workbook, the sheet last, each well-formed XML.
func checkXLSXParts(t *testing.T, data []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	must(t, err)
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
		rc, err := zf.Open()
		must(t, err)
		d := xml.NewDecoder(rc)
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s is not well-formed XML: %v", zf.Name, err)
			}
		}
		must(t, rc.Close())
	}
	want := []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"}
	if !slices.Equal(names, want) {
		t.Fatalf("parts = %q, want %q", names, want)
	}
}

func BenchmarkRegisterXLSX(b *testing.B) {
	r := &reports.Register{OrgName: "Ủy ban nhân dân xã Thành Long", Name: "Sổ văn bản đi năm 2026", Direction: document.Outgoing, Year: 2026}
	for i := 1; i <= 5000; i++ {
		r.Entries = append(r.Entries, reports.Entry{Number: i, Symbol: fmt.Sprintf("%02d/QĐ-UBND", i), TypeName: "Quyết định",
			Subject: fmt.Sprintf("Về việc phê duyệt kế hoạch số %d năm 2026 của Ủy ban nhân dân xã", i), Signer: "CT. Lê Văn Cường",
			Recipients: []string{"Phòng Tài chính", "Văn phòng"}, KeptBy: "Văn phòng (Nguyễn Văn An)", Copies: 3,
			Date: time.Date(2026, time.Month(1+i%12), 1+i%28, 9, 0, 0, 0, document.VietnamTime)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.WriteXLSX(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
