package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vanban/internal/document"
	"vanban/internal/store"
)

// newDesktopBrowser is newBrowser at an archivist's desktop width.
func newDesktopBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1366, 900),
		chromedp.Flag("lang", "vi-VN"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 8*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}
	b.listen(ctx)
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// TestWebRecordsArchivist walks an archivist through the file pages in
// headless Chromium at desktop width: load the retention schedule, open a
// file that takes its period from it, file the issued documents, find the
// file in the list, export it (the ZIP holds every PDF, the index and the
// metadata), close it (its documents are archived) and see the hand-over
// list. No page logs a console error.
func TestWebRecordsArchivist(t *testing.T) {
	chromiumPath(t)
	d := demoArchived(t, "--data-dir", t.TempDir())
	a, _ := openDemoApp(t, d)
	ctx := context.Background()
	admin, err := a.db.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
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
	for k := 1; k <= 3; k++ {
		doc := *archived[0]
		doc.State, doc.RegisterID, doc.Number = document.StateIssued, "", k+1
		doc.Symbol = fmt.Sprintf("%02d/QĐ-UBND", k+1)
		doc.Subject = fmt.Sprintf("Quyết định số %d về công tác lưu trữ", k+1)
		doc.IssuedAt = time.Date(2026, 4, k, 9, 0, 0, 0, time.UTC)
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
	}

	b := newDesktopBrowser(t, d.s.URL)
	b.login("admin", "mật-khẩu-quản-trị-demo")
	b.run("open the file list", chromedp.Click(`a[href="/records"]`, chromedp.ByQuery), chromedp.WaitVisible(`#records-new`, chromedp.ByID))
	b.shot("records-01-empty-list")
	b.run("load the retention schedule", chromedp.Submit(`#records-seed`, chromedp.ByID), chromedp.WaitVisible(`#records-new`, chromedp.ByID),
		chromedp.WaitReady(`#new-schedule option[value="TH-07"]`, chromedp.ByQuery))
	var title string
	b.run("open a file",
		chromedp.SendKeys(`#new-notation`, "02.VP", chromedp.ByID),
		chromedp.SendKeys(`#new-title`, "Hồ sơ ban hành quyết định về công tác lưu trữ năm 2026", chromedp.ByID),
		chromedp.SetValue(`#new-schedule`, "TH-07", chromedp.ByID),
		chromedp.SetValue(`#new-start`, "02/01/2026", chromedp.ByID),
		chromedp.Click(`#new-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#file-title`, chromedp.ByID),
		chromedp.Text(`#file-title`, &title, chromedp.ByID))
	if !strings.Contains(title, "02.VP") {
		t.Errorf("file page title %q", title)
	}
	var retention string
	b.run("read the retention", chromedp.Text(`#file-retention`, &retention, chromedp.ByID))
	if !strings.Contains(retention, "Vĩnh viễn") || !strings.Contains(retention, "TH-07") {
		t.Errorf("retention from the schedule: %q", retention)
	}
	b.shot("records-02-new-file")
	var rows int
	b.run("file the documents",
		chromedp.Evaluate(`document.querySelectorAll('#file-add input[type=checkbox]').forEach(c => c.checked = true)`, nil),
		chromedp.Click(`#file-add-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#file-documents`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('#file-documents tbody tr').length`, &rows))
	if rows != 4 {
		t.Fatalf("the file holds %d documents, want 4", rows)
	}
	b.fullShot("records-03-file-with-documents")
	var fileURL string
	b.run("read the file URL", chromedp.Location(&fileURL))

	// Export, as the signed-in archivist downloads it.
	req, _ := http.NewRequest("GET", fileURL+"/export", nil)
	req.AddCookie(b.sessionCookie())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pkg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %.300s", resp.StatusCode, pkg)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range zr.File {
		got[f.Name] = true
	}
	for _, want := range []string{"van-ban/001.pdf", "van-ban/004.pdf", "muc-luc.pdf", "metadata.xml", "manifest.json", "manifest.p7s"} {
		if !got[want] {
			t.Errorf("the export lacks %s (has %v)", want, got)
		}
	}

	var state string
	b.run("close the file", chromedp.Click(`#file-close-submit`, chromedp.ByID), chromedp.WaitVisible(`#file-state`, chromedp.ByID),
		chromedp.Text(`#file-state`, &state, chromedp.ByID))
	if !strings.Contains(state, "Đã đóng") {
		t.Errorf("state after closing: %q", state)
	}
	b.fullShot("records-04-file-closed")
	var listText string
	b.run("find the file in the list",
		chromedp.Navigate(d.s.URL+"/records?year=2026&q=cong+tac+luu+tru"),
		chromedp.WaitVisible(`#records-table`, chromedp.ByID),
		chromedp.Text(`#records-table`, &listText, chromedp.ByID))
	if !strings.Contains(listText, "02.VP") || !strings.Contains(listText, "Đã đóng") {
		t.Errorf("file list: %q", listText)
	}
	b.shot("records-05-file-list")
	b.run("hand-over list", chromedp.Click(`#handover-link`, chromedp.ByID), chromedp.WaitVisible(`#handover-empty`, chromedp.ByID))
	docs, err := a.db.Documents(ctx, store.DocumentFilter{OrgID: admin.OrgID, States: []document.State{document.StateIssued}})
	if err != nil || len(docs) != 0 {
		t.Errorf("documents still issued after closing the file: %d %v", len(docs), err)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
