package reports_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"vanban/internal/document"
	"vanban/internal/reports"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const year = 2026

// seeded is an organization with a year of registers: nOut outgoing
// decisions numbered through the year, nIn incoming documents received
// through it, in states along the incoming flow.
type seeded struct {
	org                     *document.Organization
	office, finance         *document.Unit
	clerk, drafter, chair   *document.User
	outReg, inReg, otherReg *document.Register
	out, in                 []*document.Document
}

const nOut, nIn = 37, 23

func vn(month time.Month, d, h int) time.Time {
	return time.Date(year, month, d, h, 0, 0, 0, document.VietnamTime)
}

func seed(t *testing.T, db *store.DB) *seeded {
	t.Helper()
	ctx := context.Background()
	s := &seeded{org: &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}}
	must(t, db.CreateOrganization(ctx, s.org))
	s.office = &document.Unit{ParentID: s.org.ID, Abbrev: "VP", Name: "Văn phòng"}
	must(t, db.CreateUnit(ctx, s.office))
	s.finance = &document.Unit{ParentID: s.org.ID, Abbrev: "TC", Name: "Phòng Tài chính"}
	must(t, db.CreateUnit(ctx, s.finance))
	user := func(name, full string, role document.Role, unit string) *document.User {
		u := &document.User{OrgID: s.org.ID, Username: name + "." + s.org.ID[:6], FullName: full, Title: "Chủ tịch"}
		must(t, db.CreateUser(ctx, u))
		must(t, db.GrantRole(ctx, u.ID, unit, role))
		return u
	}
	s.clerk = user("binh", "Trần Thị Bình", document.RoleClerk, s.org.ID)
	s.drafter = user("an", "Nguyễn Văn An", document.RoleDrafter, s.office.ID)
	s.chair = user("cuong", "Lê Văn Cường", document.RoleSigner, s.org.ID)

	var err error
	s.outReg, err = db.EnsureRegister(ctx, s.org.ID, document.Outgoing, year, document.SeriesGeneral)
	must(t, err)
	s.inReg, err = db.EnsureRegister(ctx, s.org.ID, document.Incoming, year, document.SeriesIncoming)
	must(t, err)
	qd := document.DocumentType{Code: document.TypeQuyetDinh, Abbrev: "QĐ", Name: "Quyết định"}
	for i := range nOut {
		n, err := db.NextNumber(ctx, s.outReg.ID)
		must(t, err)
		sym, err := document.Symbol(n, qd, s.org.Abbrev, s.office.Abbrev)
		must(t, err)
		// Through the year: about three a month.
		at := vn(time.Month(1+i*12/nOut), 1+(i*7)%27, 9)
		d := &document.Document{OrgID: s.org.ID, UnitID: s.office.ID, Direction: document.Outgoing, TypeCode: qd.Code,
			Subject: fmt.Sprintf("Về việc phê duyệt kế hoạch số %d", i+1), Urgency: document.UrgencyNormal,
			Confidentiality: document.ConfidentialityNormal, CreatedBy: s.drafter.ID, State: document.StateIssued,
			SignerID: s.chair.ID, RegisterID: s.outReg.ID, Number: n, Symbol: sym, NumberedAt: at, IssuedAt: at}
		if i == 4 {
			d.Urgency = document.UrgencyFlash
		}
		must(t, db.CreateDocument(ctx, d))
		recipients := []string{s.finance.ID}
		if i%3 == 0 {
			recipients = append(recipients, s.office.ID)
		}
		must(t, db.SetRecipients(ctx, d.ID, recipients))
		s.out = append(s.out, d)
	}
	states := []document.State{document.StateRegistered, document.StateRouted, document.StateAssigned, document.StateInProgress, document.StateCompleted}
	for i := range nIn {
		n, err := db.NextNumber(ctx, s.inReg.ID)
		must(t, err)
		at := vn(time.Month(1+i*12/nIn), 2+(i*5)%26, 10)
		d := &document.Document{OrgID: s.org.ID, UnitID: s.org.ID, Direction: document.Incoming, TypeCode: document.TypeCongVan,
			Subject: fmt.Sprintf("Đề nghị phối hợp số %d", i+1), Urgency: document.UrgencyNormal,
			Confidentiality: document.ConfidentialityNormal, CreatedBy: s.clerk.ID, State: states[i%len(states)],
			RegisterID: s.inReg.ID, Number: n, Symbol: fmt.Sprintf("%d/SNV-VP", 500+i), SenderName: "Sở Nội vụ",
			SenderDate: at.AddDate(0, 0, -2), ReceivedAt: at, Deadline: at.AddDate(0, 0, 10)}
		if d.State != document.StateRegistered && d.State != document.StateRouted {
			d.HandlingUnitID, d.HandlerID = s.finance.ID, s.drafter.ID
		}
		if d.State == document.StateCompleted {
			d.CompletedAt = at.AddDate(0, 0, 3)
		}
		must(t, db.CreateDocument(ctx, d))
		s.in = append(s.in, d)
	}
	// Another organization's register, which our clerk must not print.
	other := &document.Organization{Abbrev: "UBNDB", Name: "Ủy ban nhân dân xã Bình An"}
	must(t, db.CreateOrganization(ctx, other))
	s.otherReg, err = db.EnsureRegister(ctx, other.ID, document.Outgoing, year, document.SeriesGeneral)
	must(t, err)
	return s
}

func TestRegisterPrintsEveryDocumentGapless(t *testing.T) {
	pdftotext := lookPath(t, "pdftotext")
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := seed(t, db)
		svc := reports.New(db)

		out, err := svc.Register(ctx, s.clerk.ID, s.outReg.ID, reports.Period{})
		must(t, err)
		if len(out.Entries) != nOut {
			t.Fatalf("outgoing register has %d entries, want %d", len(out.Entries), nOut)
		}
		text := pdfText(t, pdftotext, out)
		for _, want := range []string{"ỦY BAN NHÂN DÂN XÃ THÀNH LONG", "SỔ ĐĂNG KÝ VĂN BẢN ĐI", "Năm 2026",
			"Từ ngày 01/01/2026 đến ngày 31/12/2026", "Từ số 01 đến số 37",
			"Số, ký hiệu văn bản", "Ngày tháng văn bản", "Tên loại và trích yếu nội dung văn bản", "Người ký",
			"Nơi nhận văn bản", "Đơn vị, người nhận bản lưu", "Số lượng bản", "Ghi chú", "Lê Văn Cường", "Hỏa tốc"} {
			if !strings.Contains(text, want) {
				t.Errorf("outgoing register PDF lacks %q", want)
			}
		}
		// Every number of the year, once, and nothing else: the register
		// is gapless.
		got := numbersIn(t, regexp.MustCompile(`(\d+)/QĐ-UBND`), text)
		checkGapless(t, "outgoing PDF", got, nOut)
		for _, d := range s.out {
			if !strings.Contains(text, d.Subject) {
				t.Errorf("outgoing register PDF lacks %q", d.Subject)
			}
		}

		in, err := svc.Register(ctx, s.clerk.ID, s.inReg.ID, reports.Period{})
		must(t, err)
		text = pdfText(t, pdftotext, in)
		for _, want := range []string{"SỔ ĐĂNG KÝ VĂN BẢN ĐẾN", "Ngày đến", "Số đến", "Tác giả", "Số, ký hiệu", "Ngày tháng",
			"Tên loại và trích yếu nội dung", "Đơn vị hoặc người nhận", "Ký nhận", "Ghi chú", "Sở Nội vụ",
			"Phòng Tài chính (Nguyễn Văn An)", "Đã nhận", "Từ số 01 đến số 23"} {
			if !strings.Contains(text, want) {
				t.Errorf("incoming register PDF lacks %q", want)
			}
		}
		// The arrival number follows the arrival date at the start of each
		// row of the laid-out text.
		layout := pdfLayoutText(t, pdftotext, in)
		got = numbersIn(t, regexp.MustCompile(`(?m)^\s*\d\d/\d\d/2026\s+(\d+)\s`), layout)
		checkGapless(t, "incoming PDF", got, nIn)
		for _, d := range s.in {
			if !strings.Contains(text, d.Symbol) {
				t.Errorf("incoming register PDF lacks the sender's symbol %q", d.Symbol)
			}
		}

		// XLSX, read back with excelize.
		rows := xlsxRows(t, out, "Sổ văn bản đi")
		head := rows[3]
		if head[0] != "Số, ký hiệu văn bản" || head[7] != "Ghi chú" || rows[4][0] != "(1)" {
			t.Fatalf("outgoing XLSX headings = %q / %q", head, rows[4])
		}
		data := rows[5:]
		if len(data) != nOut {
			t.Fatalf("outgoing XLSX has %d rows, want %d", len(data), nOut)
		}
		for i, r := range data {
			d := s.out[i]
			if r[0] != d.Symbol || r[1] != d.NumberedAt.In(document.VietnamTime).Format("02/01/2006") ||
				r[2] != "Quyết định: "+d.Subject || r[3] != "Lê Văn Cường" {
				t.Errorf("outgoing XLSX row %d = %q, want %s of %s", i+1, r, d.Symbol, d.NumberedAt)
			}
			want := "Phòng Tài chính"
			copies := "2"
			if i%3 == 0 {
				want, copies = "Phòng Tài chính; Văn phòng", "3"
			}
			if r[4] != want || r[5] != "Văn phòng (Nguyễn Văn An)" || r[6] != copies {
				t.Errorf("outgoing XLSX row %d recipients/kept/copies = %q %q %q", i+1, r[4], r[5], r[6])
			}
		}
		rows = xlsxRows(t, in, "Sổ văn bản đến")
		data = rows[5:]
		if len(data) != nIn {
			t.Fatalf("incoming XLSX has %d rows, want %d", len(data), nIn)
		}
		for i, r := range data {
			d := s.in[i]
			if r[1] != strconv.Itoa(i+1) || r[3] != d.Symbol || r[0] != d.ReceivedAt.Format("02/01/2006") || r[2] != "Sở Nội vụ" {
				t.Errorf("incoming XLSX row %d = %q, want number %d, %s", i+1, r, i+1, d.Symbol)
			}
		}

		// A period: the second quarter only, still in number order and
		// continuous within it.
		q2, err := reports.ParsePeriod("01/04/2026", "30/06/2026")
		must(t, err)
		part, err := svc.Register(ctx, s.clerk.ID, s.outReg.ID, q2)
		must(t, err)
		var want []int
		for _, d := range s.out {
			if q2.Contains(d.NumberedAt) {
				want = append(want, d.Number)
			}
		}
		if len(part.Entries) != len(want) || len(want) == 0 {
			t.Fatalf("second quarter has %d entries, want %d", len(part.Entries), len(want))
		}
		for i, e := range part.Entries {
			if e.Number != want[i] || (i > 0 && e.Number != part.Entries[i-1].Number+1) {
				t.Fatalf("second quarter entry %d has number %d, want %d", i, e.Number, want[i])
			}
		}
		text = pdfText(t, pdftotext, part)
		for _, w := range []string{"Từ ngày 01/04/2026 đến ngày 30/06/2026",
			fmt.Sprintf("Từ số %s đến số %s", document.FormatNumber(want[0]), document.FormatNumber(want[len(want)-1]))} {
			if !strings.Contains(text, w) {
				t.Errorf("second-quarter register PDF lacks %q", w)
			}
		}

		// Who may print: not a drafter, not a leader; another
		// organization's register does not exist for us.
		_, err = svc.Register(ctx, s.drafter.ID, s.outReg.ID, reports.Period{})
		wantCode(t, err, document.EFORBIDDEN)
		_, err = svc.Register(ctx, s.chair.ID, s.outReg.ID, reports.Period{})
		wantCode(t, err, document.EFORBIDDEN)
		_, err = svc.Register(ctx, s.clerk.ID, s.otherReg.ID, reports.Period{})
		wantCode(t, err, document.ENOTFOUND)
		_, err = svc.Register(ctx, s.clerk.ID, "no-such-register", reports.Period{})
		wantCode(t, err, document.ENOTFOUND)
	})
}

func TestProcessingReport(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := seed(t, db)
		svc := reports.New(db)
		svc.Now = func() time.Time { return vn(time.December, 31, 12) }
		p, err := svc.Processing(ctx, s.chair.ID, reports.Year(year))
		must(t, err)
		// Expected counts from the seed itself.
		var want reports.UnitProcessing
		byUnit := map[string]*reports.UnitProcessing{}
		unitOf := func(id string) *reports.UnitProcessing {
			if byUnit[id] == nil {
				byUnit[id] = &reports.UnitProcessing{}
			}
			return byUnit[id]
		}
		now := svc.Now()
		for _, d := range s.in {
			u := unitOf(d.UnitID)
			if d.HandlingUnitID != "" {
				u = unitOf(d.HandlingUnitID)
			}
			for _, x := range []*reports.UnitProcessing{u, &want} {
				x.InReceived++
				if d.State == document.StateCompleted {
					x.InCompleted++
					x.InOnTime++
				} else {
					x.InOpen++
					if d.Deadline.Before(now) {
						x.InOverdue++
					}
				}
			}
		}
		want.OutCreated, want.OutIssued = nOut, nOut
		if p.Total != want {
			t.Errorf("total = %+v\nwant    %+v", p.Total, want)
		}
		for _, u := range p.Units {
			if u.UnitID == s.finance.ID && (u.InReceived != byUnit[s.finance.ID].InReceived || u.InCompleted != byUnit[s.finance.ID].InCompleted) {
				t.Errorf("finance = %+v, want %+v", u, byUnit[s.finance.ID])
			}
		}
		var buf bytes.Buffer
		must(t, p.WriteXLSX(&buf))
		f, err := excelize.OpenReader(&buf)
		must(t, err)
		rows, err := f.GetRows(reports.ProcessingSheet)
		must(t, err)
		last := rows[len(rows)-1]
		if last[0] != "Tổng cộng" || last[1] != strconv.Itoa(want.InReceived) || last[7] != strconv.Itoa(nOut) {
			t.Errorf("processing XLSX total row = %q", last)
		}
		buf.Reset()
		must(t, p.WritePDF(&buf))
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
			t.Fatal("processing PDF does not start with %PDF-")
		}

		_, err = svc.Processing(ctx, s.drafter.ID, reports.Year(year))
		wantCode(t, err, document.EFORBIDDEN)
		_, err = svc.Processing(ctx, s.chair.ID, reports.Period{})
		wantCode(t, err, document.EINVALID)
	})
}

// TestRegisterOddText prints subjects that are long, carry control
// characters and characters outside the font, and checks the PDF with qpdf.
func TestRegisterOddText(t *testing.T) {
	qpdf := lookPath(t, "qpdf")
	r := &reports.Register{OrgName: "UBND", Name: "Sổ văn bản đi năm 2026", Direction: document.Outgoing, Year: 2026}
	for i := 1; i <= 3; i++ {
		r.Entries = append(r.Entries, reports.Entry{Number: i, Symbol: fmt.Sprintf("%02d/QĐ-UBND", i),
			Subject: strings.Repeat("Trích yếu rất dài \x00\x07 😀 ", 120), Date: vn(time.March, i, 9)})
	}
	var buf bytes.Buffer
	must(t, r.WritePDF(&buf, time.Unix(0, 0)))
	path := filepath.Join(t.TempDir(), "odd.pdf")
	must(t, os.WriteFile(path, buf.Bytes(), 0o600))
	if out, err := exec.Command(qpdf, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	buf.Reset()
	must(t, r.WriteXLSX(&buf))
}

func TestParsePeriod(t *testing.T) {
	p, err := reports.ParsePeriod("05/02/2026", "2026-02-05")
	must(t, err)
	if !p.Contains(vn(time.February, 5, 23)) || p.Contains(vn(time.February, 6, 0)) || p.Contains(vn(time.February, 4, 23)) {
		t.Errorf("period %v does not cover exactly 5 February", p)
	}
	for _, bad := range [][2]string{{"31/02/2026", ""}, {"", "2026-13-01"}, {"06/02/2026", "05/02/2026"}, {"yesterday", ""}, {"01/01/0001", ""}} {
		if _, err := reports.ParsePeriod(bad[0], bad[1]); document.ErrorCode(err) != document.EINVALID {
			t.Errorf("ParsePeriod(%q, %q) = %v, want EINVALID", bad[0], bad[1], err)
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"05/02/2026", "2026-02-05", "", "31/12/9999", "1/1/1900", "\x00", "99/99/99999"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		p, err := reports.ParsePeriod(from, to)
		if err != nil {
			if document.ErrorCode(err) != document.EINVALID {
				t.Fatalf("ParsePeriod(%q, %q): untyped error %v", from, to, err)
			}
			return
		}
		if !p.From.IsZero() && !p.To.IsZero() && !p.From.Before(p.To) {
			t.Fatalf("ParsePeriod(%q, %q) = %v: empty period accepted", from, to, p)
		}
	})
}

func pdfText(t *testing.T, pdftotext string, r *reports.Register) string {
	t.Helper()
	return strings.Join(strings.Fields(runPdftotext(t, pdftotext, r, "-raw")), " ")
}

func pdfLayoutText(t *testing.T, pdftotext string, r *reports.Register) string {
	t.Helper()
	return runPdftotext(t, pdftotext, r, "-layout")
}

func runPdftotext(t *testing.T, pdftotext string, r *reports.Register, mode string) string {
	t.Helper()
	var buf bytes.Buffer
	must(t, r.WritePDF(&buf, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)))
	path := filepath.Join(t.TempDir(), "register.pdf")
	must(t, os.WriteFile(path, buf.Bytes(), 0o600))
	out, err := exec.Command(pdftotext, mode, "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

func xlsxRows(t *testing.T, r *reports.Register, sheet string) [][]string {
	t.Helper()
	var buf bytes.Buffer
	must(t, r.WriteXLSX(&buf))
	f, err := excelize.OpenReader(&buf)
	must(t, err)
	rows, err := f.GetRows(sheet)
	must(t, err)
	if len(rows) < 5 {
		t.Fatalf("XLSX sheet %q has %d rows", sheet, len(rows))
	}
	return rows
}

func numbersIn(t *testing.T, re *regexp.Regexp, text string) []int {
	t.Helper()
	var out []int
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		n, err := strconv.Atoi(m[1])
		must(t, err)
		out = append(out, n)
	}
	return out
}

func checkGapless(t *testing.T, what string, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s shows %d numbers, want %d: %v", what, len(got), n, got)
	}
	for i, g := range got {
		if g != i+1 {
			t.Fatalf("%s: number %d is %d, want %d (all: %v)", what, i+1, g, i+1, got)
		}
	}
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") != "" {
			t.Fatalf("%s not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := document.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want %q", err, got, code)
	}
}
