package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/records"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing/cms"
)

// call makes one JSON request with the session's CSRF token.
type apiSession struct {
	t    *testing.T
	c    *http.Client
	base string
	csrf string
}

func login(t *testing.T, base, username, password string) *apiSession {
	t.Helper()
	c := apiClient(t, base, username, password)
	// The login answer carries the CSRF token; sign in again to read it.
	body, _ := json.Marshal(httpapi.LoginRequest{Username: username, Password: password})
	resp, err := c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res httpapi.LoginResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	return &apiSession{t: t, c: c, base: base, csrf: res.CSRFToken}
}

func (s *apiSession) do(method, path string, in, out any) (int, []byte) {
	s.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+"/api/v1"+path, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpapi.CSRFHeader, s.csrf)
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode, b
}

// TestFileOfTenDocuments: an archivist loads the retention schedule, opens
// a file taking its period from it, files ten issued documents (in no
// particular order), finds the file by a word without accents, exports it
// (the PDFs in time order, an index PDF and metadata XML that list all
// ten, a sealed manifest), and closes it: its documents are archived with
// the file's retention, and the closed file takes no more documents.
// Thirty days before the hand-over the archivist is told, once.
func TestFileOfTenDocuments(t *testing.T) {
	d := demoArchived(t, "--data-dir", t.TempDir())
	a, _ := openDemoApp(t, d)
	ctx := context.Background()
	admin, err := a.db.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// The administrator also keeps the archive in this test.
	if err := a.db.GrantRole(ctx, admin.ID, admin.OrgID, document.RoleArchivist); err != nil {
		t.Fatal(err)
	}
	archived, err := a.db.Documents(ctx, store.DocumentFilter{OrgID: admin.OrgID, States: []document.State{document.StateArchived}})
	if err != nil || len(archived) != 1 {
		t.Fatalf("archived: %d %v", len(archived), err)
	}
	versions, err := a.db.Versions(ctx, archived[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// Ten issued documents, dated 1 to 10 March, created in another order.
	order := []int{7, 2, 9, 0, 5, 3, 8, 1, 6, 4}
	ids := make([]string, 10)
	for _, k := range order {
		doc := *archived[0]
		doc.State, doc.RegisterID, doc.Number = document.StateIssued, "", k+1
		doc.Symbol = fmt.Sprintf("%02d/QĐ-UBND", k+1)
		doc.Subject = fmt.Sprintf("Quyết định số %d về việc giao chỉ tiêu", k+1)
		doc.IssuedAt = time.Date(2026, 3, k+1, 9, 0, 0, 0, time.UTC)
		doc.NumberedAt = doc.IssuedAt
		if err := a.db.CreateDocument(ctx, &doc); err != nil {
			t.Fatal(err)
		}
		for _, v := range versions {
			nv := *v
			nv.DocumentID = doc.ID
			if err := a.db.AddVersion(ctx, &nv); err != nil {
				t.Fatal(err)
			}
			if v.Kind == document.VersionSealed {
				break
			}
		}
		ids[k] = doc.ID
	}

	s := login(t, d.s.URL, "admin", "mật-khẩu-quản-trị-demo")
	var seeded struct{ Added int }
	if code, b := s.do("POST", "/records/schedule/seed", nil, &seeded); code != 200 || seeded.Added != len(records.SeedSchedule) {
		t.Fatalf("seed: %d %s", code, b)
	}
	if code, b := s.do("PUT", "/records/schedule/TH-09", httpapi.ScheduleEntryJSON{Title: "Văn bản trao đổi về công tác chung", Years: 10, Source: "sửa bởi lưu trữ"}, nil); code != 200 {
		t.Fatalf("edit schedule: %d %s", code, b)
	}
	if code, _ := s.do("PUT", "/records/schedule/X", httpapi.ScheduleEntryJSON{Title: "x", Years: 0}, nil); code != 422 {
		t.Errorf("a schedule entry of 0 years: %d, want 422", code)
	}
	var file httpapi.RecordFileJSON
	code, b := s.do("POST", "/records/files", httpapi.RecordFileCreate{Year: 2026, Notation: "01.VP", Title: "Hồ sơ giao chỉ tiêu kế hoạch năm 2026",
		UnitID: admin.OrgID, ResponsibleID: admin.ID, ScheduleCode: "TH-09", StartDate: "2026-01-05"}, &file)
	if code != 201 || file.Number != 1 || file.Permanent || file.Years != 10 {
		t.Fatalf("create file: %d %s", code, b)
	}
	for _, k := range order {
		if code, b := s.do("POST", "/records/files/"+file.ID+"/documents", httpapi.FileDocumentJSON{DocumentID: ids[k]}, nil); code != 204 {
			t.Fatalf("file document %d: %d %s", k, code, b)
		}
	}
	// The same document in a second file, not copied.
	var second httpapi.RecordFileJSON
	if code, b := s.do("POST", "/records/files", httpapi.RecordFileCreate{Year: 2026, Title: "Hồ sơ báo cáo quý", UnitID: admin.OrgID,
		ResponsibleID: admin.ID, Years: 5}, &second); code != 201 || second.Number != 2 {
		t.Fatalf("second file: %d %s", code, b)
	}
	if code, b := s.do("POST", "/records/files/"+second.ID+"/documents", httpapi.FileDocumentJSON{DocumentID: ids[0]}, nil); code != 204 {
		t.Fatalf("second file document: %d %s", code, b)
	}
	var list struct{ Items []httpapi.RecordFileJSON }
	if code, b := s.do("GET", "/records/files?year=2026&q=giao+chi+tieu", nil, &list); code != 200 || len(list.Items) != 1 || list.Items[0].ID != file.ID || list.Items[0].Documents != 10 {
		t.Fatalf("search files: %d %s", code, b)
	}
	if code, _ := s.do("GET", "/records/files?year=abc", nil, nil); code/100 != 4 {
		t.Errorf("bad year: %d", code)
	}
	var view httpapi.RecordFileView
	if code, b := s.do("GET", "/records/files/"+file.ID, nil, &view); code != 200 || len(view.Documents) != 10 {
		t.Fatalf("file view: %d %s", code, b)
	}
	for i, doc := range view.Documents {
		if doc.ID != ids[i] {
			t.Errorf("document %d of the file is %q, want the one of %d March", i+1, doc.Subject, i+1)
		}
	}

	// Export.
	resp, err := s.c.Get(d.s.URL + "/api/v1/records/files/" + file.ID + "/export")
	if err != nil {
		t.Fatal(err)
	}
	pkg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, pkg)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	members := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		members[f.Name] = b
		names = append(names, f.Name)
	}
	for i := range 10 {
		name := fmt.Sprintf("van-ban/%03d.pdf", i+1)
		if names[i] != name {
			t.Errorf("member %d is %s, want %s", i, names[i], name)
		}
	}
	var meta records.Metadata
	if err := xml.Unmarshal(members[records.ExportMetadata], &meta); err != nil {
		t.Fatal(err)
	}
	if len(meta.Documents) != 10 || meta.File.DocTotal != 10 || meta.File.FileCode != "UBND.2026.01.VP" || meta.File.Maintenance != "10 năm" {
		t.Fatalf("metadata file: %+v, %d documents", meta.File, len(meta.Documents))
	}
	for i, dm := range meta.Documents {
		want := fmt.Sprintf("Quyết định số %d về việc giao chỉ tiêu", i+1)
		sum := sha256.Sum256(members[dm.FileName])
		if dm.DocOrdinal != i+1 || dm.Subject != want || dm.CodeNumber != fmt.Sprintf("%02d", i+1) || dm.CodeNotation != "QĐ-UBND" ||
			dm.IssuedDate != fmt.Sprintf("%02d/03/2026", i+1) || dm.TypeName != "Quyết định" || dm.PageAmount < 1 ||
			dm.OrganName == "" || dm.Language == "" || dm.SignerInfo == "" || dm.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("metadata document %d: %+v", i+1, dm)
		}
	}
	for _, tag := range []string{"<FileCode>", "<DocOrdinal>", "<TypeName>", "<CodeNumber>", "<CodeNotation>", "<IssuedDate>", "<OrganName>", "<Subject>", "<Language>", "<PageAmount>", "<SignerInfo>"} {
		if !bytes.Contains(members[records.ExportMetadata], []byte(tag)) {
			t.Errorf("metadata.xml has no %s", tag)
		}
	}
	index := filepath.Join(t.TempDir(), "muc-luc.pdf")
	if err := os.WriteFile(index, members[records.ExportIndex], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", index).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check muc-luc.pdf: %v\n%s", err, out)
	}
	txt, err := exec.Command("pdftotext", "-layout", index, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := string(txt)
	last := -1
	for i := range 10 {
		at := strings.Index(text, fmt.Sprintf("Quyết định số %d về", i+1))
		if at < 0 || at < last {
			t.Errorf("the index lists document %d at %d (after %d):\n%s", i+1, at, last, text)
		}
		last = at
	}
	if !strings.Contains(text, "MỤC LỤC VĂN BẢN") {
		t.Errorf("index title missing:\n%s", text)
	}
	// The manifest lists every member with its digest and is sealed.
	var man records.ExportManifestJSON
	if err := json.Unmarshal(members[records.ExportManifest], &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Members) != 12 {
		t.Errorf("manifest lists %d members, want 12", len(man.Members))
	}
	for _, m := range man.Members {
		sum := sha256.Sum256(members[m.Name])
		if hex.EncodeToString(sum[:]) != m.SHA256 {
			t.Errorf("manifest digest of %s does not match", m.Name)
		}
	}
	sd, err := cms.Parse(members[records.ExportSeal])
	if err != nil {
		t.Fatal(err)
	}
	msum := sha256.Sum256(members[records.ExportManifest])
	if err := sd.Verify(msum[:]); err != nil || sd.SignatureTimestamp == nil {
		t.Errorf("the manifest's seal: %v (time-stamp %v)", err, sd.SignatureTimestamp != nil)
	}

	// Close: every document archived with the file's retention.
	var closed httpapi.RecordFileJSON
	if code, b := s.do("POST", "/records/files/"+file.ID+"/close", nil, &closed); code != 200 || !closed.Closed || closed.HandoverDue == nil {
		t.Fatalf("close: %d %s", code, b)
	}
	for i, id := range ids {
		doc, err := a.db.Document(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := a.db.ArchiveRecord(ctx, id)
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		// Document 1 is also in the five-year file: the longer period wins.
		wantUntil := time.Date(time.Now().Year()+1+10, 1, 1, 0, 0, 0, 0, time.UTC)
		if doc.State != document.StateArchived || rec.Permanent || !rec.RetainUntil.Equal(wantUntil) {
			t.Errorf("document %d after closing: %s, record %+v", i+1, doc.State, rec)
		}
	}
	if code, _ := s.do("POST", "/records/files/"+file.ID+"/documents", httpapi.FileDocumentJSON{DocumentID: archived[0].ID}, nil); code != 409 {
		t.Errorf("a closed file took a document: %d", code)
	}
	if code, _ := s.do("POST", "/records/files/"+file.ID+"/close", nil, nil); code != 409 {
		t.Errorf("closing twice: %d", code)
	}

	// Thirty days before the hand-over, the archivist is told once.
	svc := records.New(a.db, nil, a.blobs, nil, nil)
	svc.Now = func() time.Time { return time.Now().Add(340 * 24 * time.Hour) }
	if n, err := svc.NotifyHandovers(ctx); err != nil || n != 1 {
		t.Fatalf("notify: %d %v", n, err)
	}
	if n, err := svc.NotifyHandovers(ctx); err != nil || n != 0 {
		t.Fatalf("notify again: %d %v", n, err)
	}
	if due, err := svc.HandoverDue(ctx, workflowActor(admin.ID)); err != nil || len(due) != 1 || due[0].ID != file.ID {
		t.Fatalf("hand-over list: %v %v", due, err)
	}
	var today struct{ Items []httpapi.RecordFileJSON }
	if code, _ := s.do("GET", "/records/handover", nil, &today); code != 200 || len(today.Items) != 0 {
		t.Errorf("hand-over list today: %d %+v", code, today.Items)
	}
}

func workflowActor(id string) workflow.Actor { return workflow.Actor{UserID: id} }
