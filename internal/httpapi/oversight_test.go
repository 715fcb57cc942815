package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store/pgtest"
)

func TestRegisterPrintAndProcessingReport(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	ctx := context.Background()
	reg, err := e.db.EnsureRegister(ctx, e.orgA.ID, document.Outgoing, 2026, document.SeriesGeneral)
	e.must(err)
	for i := 1; i <= 3; i++ {
		n, err := e.db.NextNumber(ctx, reg.ID)
		e.must(err)
		at := time.Date(2026, 3, i, 9, 0, 0, 0, document.VietnamTime)
		e.must(e.db.CreateDocument(ctx, &document.Document{OrgID: e.orgA.ID, UnitID: e.office.ID, Direction: document.Outgoing,
			TypeCode: document.TypeQuyetDinh, Subject: fmt.Sprintf("Quyết định %d", n), Urgency: document.UrgencyNormal,
			Confidentiality: document.ConfidentialityNormal, CreatedBy: e.users["A.drafter"].ID, State: document.StateIssued,
			RegisterID: reg.ID, Number: n, Symbol: fmt.Sprintf("%02d/QĐ-UBND", n), NumberedAt: at, IssuedAt: at}))
	}
	path := "/api/v1/registers/" + reg.ID + "/print"

	code, body := e.call("A.clerk", "GET", path, nil)
	if code != 200 || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("print PDF: %d %.100q", code, body)
	}
	code, body = e.call("A.archivist", "GET", path+"?format=xlsx&from=02/03/2026&to=31/03/2026", nil)
	if code != 200 {
		t.Fatalf("print XLSX: %d %s", code, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	e.must(err)
	rows, err := f.GetRows("Sổ văn bản đi")
	e.must(err)
	if got := rows[5:]; len(got) != 2 || got[0][0] != "02/QĐ-UBND" || got[1][0] != "03/QĐ-UBND" {
		t.Fatalf("XLSX rows for 2-31 March = %q", got)
	}

	for _, c := range []struct {
		key, path string
		want      int
	}{
		{"A.clerk", path + "?format=docx", 422},
		{"A.clerk", path + "?from=31/02/2026", 422},
		{"A.clerk", path + "?from=05/03/2026&to=01/03/2026", 422},
		{"A.drafter", path, 403},
		{"A.signer", path, 403},
		{"B.clerk", path, 404},
		{"A.clerk", "/api/v1/registers/nonexistent/print", 404},
		{"", path, 401},
		{"A.signer", "/api/v1/reports/processing", 422},
		{"A.signer", "/api/v1/reports/processing?from=01/01/2026&to=31/12/2026&format=csv", 422},
		{"A.drafter", "/api/v1/reports/processing?from=01/01/2026&to=31/12/2026", 403},
	} {
		if code, body := e.call(c.key, "GET", c.path, nil); code != c.want {
			t.Errorf("GET %s as %q: %d, want %d: %s", c.path, c.key, code, c.want, body)
		}
	}

	var rep httpapi.ProcessingReportJSON
	e.ok("A.signer", "GET", "/api/v1/reports/processing?from=01/01/2026&to=31/12/2026", nil, 200, &rep)
	if rep.Total.OutCreated != 3 || rep.Total.OutIssued != 3 || len(rep.Units) != 1 || rep.Units[0].UnitName != "Văn phòng" {
		t.Fatalf("processing report = %+v", rep)
	}
	code, body = e.call("A.clerk", "GET", "/api/v1/reports/processing?from=01/01/2026&to=31/12/2026&format=xlsx", nil)
	if code != 200 || !strings.HasPrefix(string(body), "PK") {
		t.Fatalf("processing XLSX: %d", code)
	}
}
