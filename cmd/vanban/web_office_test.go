package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/signing/signtest"
)

// A drafter who writes in LibreOffice or Word uploads the document itself:
// the server converts it to PDF with LibreOffice, and the draft's first
// version is that PDF, with the text of the document.
func TestWebDraftFromOfficeDocument(t *testing.T) {
	if _, err := exec.LookPath("soffice"); err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			t.Fatal("soffice (Debian libreoffice-writer-nogui) required (VANBAN_REQUIRE_SERVICES=1) but not found")
		}
		t.Skip("soffice not found: office documents are not converted here")
	}
	odt, err := os.ReadFile("../../testdata/gen/quyet-dinh.odt")
	if err != nil {
		t.Fatal(err)
	}
	o := newOffice(t)
	drafter := o.web(t, "soan")
	page := drafter.get("/new")
	if !strings.Contains(page, ".odt") {
		t.Fatalf("the draft form does not offer office documents:\n%.600s", text(page))
	}
	_, csrf := formOf(t, page, "/new")
	parts := []part{
		{name: "csrf_token", value: csrf},
		{name: "unit", value: o.unit.ID},
		{name: "type", value: document.TypeQuyetDinh},
		{name: "subject", value: "Quyết định soạn bằng LibreOffice"},
		{name: "urgency", value: string(document.UrgencyNormal)},
		{name: "file", file: odt, fileName: "quyet-dinh.odt"},
	}
	resp, body := drafter.postMultipart("/new", parts)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/d/") {
		t.Fatalf("upload of an ODT: %d %s\n%.800s", resp.StatusCode, resp.Header.Get("Location"), text(body))
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/d/")
	var v httpapi.DocumentView
	if err := o.people["soan"].call(context.Background(), "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Versions) != 1 || v.Versions[0].Kind != document.VersionDraft {
		t.Fatalf("versions %+v", v.Versions)
	}
	var pdf []byte
	if err := o.people["soan"].call(context.Background(), "GET", "/api/v1/documents/"+id+"/versions/1/file", nil, &pdf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the stored version is not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	path := t.TempDir() + "/converted.pdf"
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := signtest.QPDFCheck(t, path); err != nil {
		t.Error(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "QUYẾT ĐỊNH") {
		t.Errorf("the converted PDF lacks the document's text:\n%s", out)
	}
	// A file that claims to be an office document but is not one is a 4xx
	// page, never a 500.
	resp, body = drafter.postMultipart("/new", append(parts[:len(parts)-1:len(parts)-1], part{name: "file", file: []byte("not really a document"), fileName: "gia.docx"}))
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("a fake .docx: %d\n%.600s", resp.StatusCode, text(body))
	}
}
