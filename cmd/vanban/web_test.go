package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/signing/verify"
)

// chromiumPath finds the browser for the browser tests: skipped without
// one, a failure under VANBAN_REQUIRE_SERVICES=1 (CI installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("VANBAN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
		t.Fatal("Chromium is not installed (apt-get install chromium) and VANBAN_REQUIRE_SERVICES=1")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); skipping the browser tests")
	return ""
}

// screenshotDir is where the steps' screenshots go: VANBAN_SCREENSHOTS
// when set (CI keeps them), else a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("VANBAN_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser is one headless Chromium at a phone's viewport that records
// console errors and uncaught exceptions of every page.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	mu   sync.Mutex
	errs []string
	// allowed are URL fragments whose failed loads are expected (the
	// outsider's 404).
	allowed []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(390, 844),
		chromedp.Flag("lang", "vi-VN"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 8*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}
	b.listen(ctx)
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

func (b *browser) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.errs = append(b.errs, "console."+string(e.Type)+": "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			b.errs = append(b.errs, "exception: "+e.ExceptionDetails.Text+" "+fmt.Sprint(e.ExceptionDetails.Exception))
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				for _, a := range b.allowed {
					if strings.Contains(e.Response.URL, a) {
						return
					}
				}
				b.errs = append(b.errs, fmt.Sprintf("HTTP %d for %s", e.Response.Status, e.Response.URL))
			}
		}
	})
}

func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	start := time.Now()
	defer func() { b.t.Logf("%-28s %v", what, time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var loc string
		_ = chromedp.Run(b.ctx, chromedp.Location(&loc))
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

// shot saves the viewport as name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	var buf []byte
	if err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot(&buf)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fullShot saves the whole page, for long pages.
func (b *browser) fullShot(name string) {
	b.t.Helper()
	var buf []byte
	if err := chromedp.Run(b.ctx, chromedp.FullScreenshot(&buf, 100)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) login(user, pass string) {
	b.t.Helper()
	b.run("sign in as "+user,
		chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible(`#username`, chromedp.ByID),
		chromedp.SendKeys(`#username`, user, chromedp.ByID),
		chromedp.SendKeys(`#password`, pass, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`form[action="/logout"]`, chromedp.ByQuery),
	)
}

func (b *browser) logout() {
	b.t.Helper()
	b.run("sign out", chromedp.Submit(`form[action="/logout"]`, chromedp.ByQuery), chromedp.WaitVisible(`#username`, chromedp.ByID))
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// sessionCookie returns the browser's session cookie, so the test can
// download what the signed-in person downloads.
func (b *browser) sessionCookie() *http.Cookie {
	b.t.Helper()
	var cookies []*network.Cookie
	b.run("read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().Do(ctx)
		return err
	}))
	for _, c := range cookies {
		if c.Name == httpapi.SessionCookie {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	b.t.Fatal("no session cookie in the browser")
	return nil
}

// TestWebOutgoingDocumentOnAPhone plays a whole outgoing document through
// the web pages in headless Chromium at a 390x844 phone viewport: the
// drafter uploads, the reviewer approves, the leader signs on the virtual
// phone by typing the PIN, the clerk numbers, seals and issues, the
// archivist finds it and downloads a PDF whose two signatures verify
// against the development root. No page logs a console error or throws,
// and a person of another organization cannot see the document.
func TestWebOutgoingDocumentOnAPhone(t *testing.T) {
	chromiumPath(t)
	clearServeEnv(t)
	adminPass := "mật-khẩu-quản-trị-web"
	t.Setenv("VANBAN_ADMIN_PASSWORD", adminPass)
	dataDir := t.TempDir()
	var out, errb lockedBuffer
	if code := run(context.Background(), []string{"init", "--data-dir", dataDir, "--org-abbrev", "UBND",
		"--org-name", "Ủy ban nhân dân xã Thành Long", "--place", "Thành Long"}, &out, &errb); code != 0 {
		t.Fatalf("init: %d\n%s\n%s", code, &out, &errb)
	}
	// A second organization on the same server: its people must not see
	// the first one's documents (within an organization, the use cases
	// show non-secret documents to everyone).
	if code := run(context.Background(), []string{"init", "--data-dir", dataDir, "--org-abbrev", "UBNDP",
		"--org-name", "Ủy ban nhân dân phường Bên Cạnh", "--admin", "admin2"}, &out, &errb); code != 0 {
		t.Fatalf("init of the second organization: %d\n%s\n%s", code, &out, &errb)
	}
	s := serveVanban(t, "--data-dir", dataDir)
	ctx := context.Background()

	// The administrator's part, over the API as vanban demo does it: a
	// unit, five people, the leader's phone (an ordinary number, so the
	// virtual phone page must answer) and the seal.
	d := &demo{base: s.URL, out: io.Discard, started: time.Now()}
	admin, err := d.login(ctx, "admin", adminPass)
	if err != nil {
		t.Fatal(err)
	}
	org := admin.user.OrgID
	var unit httpapi.UnitJSON
	if err := admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: org, Abbrev: "VP", Name: "Văn phòng"}, &unit); err != nil {
		t.Fatal(err)
	}
	const pass = "mat-khau-thu-nghiem-1"
	const phone = "84912345678"
	people := []struct {
		user, name, title, unit string
		role                    document.Role
	}{
		{"soan", "Nguyễn Văn Soạn", "Chuyên viên", unit.ID, document.RoleDrafter},
		{"duyet", "Trần Thị Duyệt", "Chánh Văn phòng", org, document.RoleReviewer},
		{"chutich", "Lê Văn Chủ", "Chủ tịch", org, document.RoleSigner},
		{"vanthu", "Phạm Thị Thư", "Văn thư", org, document.RoleClerk},
		{"luutru", "Hoàng Văn Lưu", "Lưu trữ viên", org, document.RoleArchivist},
	}
	ids := map[string]string{}
	for _, p := range people {
		var u httpapi.UserJSON
		if err := admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: p.user, FullName: p.name, Title: p.title,
			Password: pass, Roles: []httpapi.GrantJSON{{UnitID: p.unit, Role: p.role}}}, &u); err != nil {
			t.Fatalf("create %s: %v", p.user, err)
		}
		ids[p.user] = u.ID
	}
	admin2, err := d.login(ctx, "admin2", adminPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin2.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: "khac", FullName: "Đỗ Thị Khác", Title: "Văn thư",
		Password: pass, Roles: []httpapi.GrantJSON{{UnitID: admin2.user.OrgID, Role: document.RoleClerk}}}, nil); err != nil {
		t.Fatalf("create the other organization's clerk: %v", err)
	}
	// The clerks' roles wait for a second administrator, whom these
	// organizations do not have.
	grantPendingRoles(t, dataDir, org, admin2.user.OrgID)
	// A drafter of another unit of the same organization: the office's
	// documents are not hers to see.
	var finance httpapi.UnitJSON
	if err := admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: org, Abbrev: "TCKH", Name: "Phòng Tài chính - Kế hoạch"}, &finance); err != nil {
		t.Fatalf("create the finance unit: %v", err)
	}
	if err := admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: "ketoan", FullName: "Ngô Thị Kế Toán", Title: "Chuyên viên",
		Password: pass, Roles: []httpapi.GrantJSON{{UnitID: finance.ID, Role: document.RoleDrafter}}}, nil); err != nil {
		t.Fatalf("create the finance drafter: %v", err)
	}
	if err := admin.call(ctx, "PUT", "/api/v1/users/"+ids["chutich"]+"/signing-identity", httpapi.SigningIdentityJSON{Provider: "sim", Signer: phone}, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: "seal"}, nil); err != nil {
		t.Fatal(err)
	}
	pdfPath := filepath.Join(t.TempDir(), "du-thao-quyet-dinh.pdf")
	if err := os.WriteFile(pdfPath, demoPDF, 0o644); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, s.URL)
	b.allowed = []string{"/d/" + "outsider-check"}

	// Drafter: a new draft from a PDF, with its signer and reviewer, sent
	// for review in one form.
	b.login("soan", pass)
	b.shot("01-drafter-inbox")
	subject := "Quyết định phê duyệt Kế hoạch chuyển đổi số năm 2026"
	b.run("new draft",
		chromedp.Navigate(s.URL+"/new"),
		chromedp.WaitVisible(`#subject`, chromedp.ByID),
		chromedp.SendKeys(`#subject`, subject, chromedp.ByID),
		chromedp.SetValue(`#signer`, ids["chutich"], chromedp.ByID),
		chromedp.SetValue(`#reviewer`, ids["duyet"], chromedp.ByID),
		chromedp.SetUploadFiles(`#file`, []string{pdfPath}, chromedp.ByID),
	)
	b.fullShot("02-drafter-new")
	var docURL string
	b.run("create draft",
		chromedp.Click(`#btn-create`, chromedp.ByID),
		chromedp.WaitVisible(`#doc-state`, chromedp.ByID),
		chromedp.Location(&docURL),
	)
	var state string
	b.run("read state", chromedp.Text(`#doc-state`, &state, chromedp.ByID))
	if !strings.Contains(state, "Đang thẩm định") {
		t.Fatalf("after creating, the document is %q, want Đang thẩm định", state)
	}
	docID := docURL[strings.LastIndex(docURL, "/")+1:]
	b.logout()

	// Reviewer: finds it in the inbox, approves with a comment.
	b.login("duyet", pass)
	b.run("open from inbox", chromedp.Click(`a[href="/d/`+docID+`"]`, chromedp.ByQuery), chromedp.WaitVisible(`#btn-approve`, chromedp.ByID))
	b.run("approve",
		chromedp.SendKeys(`#comment`, "Đồng ý trình Chủ tịch ký", chromedp.ByID),
		chromedp.Click(`#btn-approve`, chromedp.ByID),
		chromedp.WaitVisible(`.state-awaiting_signature`, chromedp.ByQuery),
	)
	b.shot("03-reviewer-approved")
	b.logout()

	// Leader: the inbox on the phone, the document with its page images,
	// Ký số, the verification code, and the virtual phone.
	b.login("chutich", pass)
	b.run("leader inbox", chromedp.WaitVisible(`input[name=doc][value="`+docID+`"]`, chromedp.ByQuery))
	b.shot("04-leader-inbox")
	b.run("open document", chromedp.Click(`a[href="/d/`+docID+`"]`, chromedp.ByQuery), chromedp.WaitVisible(`#btn-sign`, chromedp.ByID))
	// The first page image must load (rendered by PDFium on the server).
	var loaded bool
	b.run("page image", chromedp.Poll(`(() => { const i = document.querySelector('.pages img'); return !!i && i.complete && i.naturalWidth > 500; })()`, &loaded, chromedp.WithPollingTimeout(90*time.Second)))
	b.shot("05-leader-document")
	b.run("scroll to the page image", chromedp.ScrollIntoView(`.pages img`, chromedp.ByQuery))
	b.shot("06-leader-document-page")
	var code, phoneURL string
	var ok bool
	b.run("Ký số",
		chromedp.Click(`#btn-sign`, chromedp.ByID),
		chromedp.WaitVisible(`#verification-code`, chromedp.ByID),
		chromedp.Text(`#verification-code`, &code, chromedp.ByID),
		chromedp.AttributeValue(`#phone-link`, "href", &phoneURL, &ok, chromedp.ByID),
	)
	b.run("waiting on the phone", chromedp.WaitVisible(`#session-status[data-state=pending]`, chromedp.ByQuery))
	b.shot("07-leader-signing-waiting")
	// The link carries the request's secret: without it the phone page
	// shows nothing (see signing/mssp).
	if !ok || !regexp.MustCompile(`/dev/mssp/phone/`+phone+`\?k=[0-9a-f]{32}$`).MatchString(phoneURL) {
		t.Fatalf("the virtual phone link is %q, want /dev/mssp/phone/%s?k=<secret>", phoneURL, phone)
	}
	// The phone in a second tab: it shows the same code; the leader types
	// the PIN.
	phoneCtx, closePhone := chromedp.NewContext(b.ctx)
	b.listen(phoneCtx)
	var phoneText string
	if err := chromedp.Run(phoneCtx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(phoneURL),
		chromedp.WaitVisible(`input[name=pin]`, chromedp.ByQuery),
		chromedp.Text(`body`, &phoneText, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("virtual phone: %v", err)
	}
	if !strings.Contains(phoneText, strings.TrimSpace(code)) {
		t.Errorf("the phone does not show the verification code %s:\n%s", code, phoneText)
	}
	var phoneShot []byte
	if err := chromedp.Run(phoneCtx,
		chromedp.SendKeys(`input[name=pin]`, "1234", chromedp.ByQuery),
		chromedp.CaptureScreenshot(&phoneShot),
		chromedp.Submit(`input[name=pin]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`input[name=pin]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("typing the PIN: %v", err)
	}
	_ = os.WriteFile(filepath.Join(b.dir, "08-virtual-phone-pin.png"), phoneShot, 0o644)
	closePhone()
	// The signing page learns the outcome without a reload, pushed by the
	// server over the session's event stream: the page never asked the
	// status answer.
	b.run("signed, live", chromedp.WaitVisible(`#session-status[data-state=completed]`, chromedp.ByQuery))
	var live string
	var polled int
	b.run("pushed, not polled",
		chromedp.AttributeValue(`section.signing`, "data-live", &live, nil, chromedp.ByQuery),
		chromedp.Evaluate(`performance.getEntriesByType("resource").filter(function (e) { return /\/signing\/[^/]+\/status$/.test(e.name); }).length`, &polled),
	)
	if live != "events" || polled != 0 {
		t.Errorf("the signing page followed the session with data-live=%q and %d status requests, want the event stream and none", live, polled)
	}
	b.shot("09-leader-signed")
	b.logout()

	// Clerk: number and date, seal, issue.
	b.login("vanthu", pass)
	b.run("clerk inbox", chromedp.WaitVisible(`a[href="/d/`+docID+`"]`, chromedp.ByQuery))
	b.shot("10-clerk-inbox")
	b.run("number",
		chromedp.Click(`a[href="/d/`+docID+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#btn-number`, chromedp.ByID),
		chromedp.Click(`#btn-number`, chromedp.ByID),
		// A number is never taken back: the page asks first.
		chromedp.WaitVisible(`#btn-confirm`, chromedp.ByID),
		chromedp.Click(`#btn-confirm`, chromedp.ByID),
		chromedp.WaitVisible(`#btn-seal`, chromedp.ByID),
	)
	b.run("seal",
		chromedp.Click(`#btn-seal`, chromedp.ByID),
		// The page reloads itself when the seal signature lands.
		chromedp.WaitVisible(`#btn-issue`, chromedp.ByID),
	)
	b.run("issue", chromedp.Click(`#btn-issue`, chromedp.ByID), chromedp.WaitVisible(`#btn-confirm`, chromedp.ByID),
		chromedp.Click(`#btn-confirm`, chromedp.ByID), chromedp.WaitVisible(`.state-issued`, chromedp.ByQuery))
	var symbol string
	b.run("symbol", chromedp.Text(`.facts dd`, &symbol, chromedp.ByQuery))
	if !strings.HasPrefix(symbol, "01/QĐ-UBND") {
		t.Errorf("number and symbol %q, want 01/QĐ-UBND", symbol)
	}
	b.shot("11-clerk-issued")
	b.logout()

	// Archivist: search without diacritics and by type, open, verify.
	b.login("luutru", pass)
	b.run("search",
		chromedp.Navigate(s.URL+"/search"),
		chromedp.WaitVisible(`#q`, chromedp.ByID),
		chromedp.SendKeys(`#q`, "chuyen doi so", chromedp.ByID),
		chromedp.SetValue(`#type`, "quyet-dinh", chromedp.ByID),
		chromedp.Click(`#btn-search`, chromedp.ByID),
		chromedp.WaitVisible(`a[href="/d/`+docID+`"]`, chromedp.ByQuery),
	)
	b.shot("12-archivist-search")
	b.run("verify page",
		chromedp.Navigate(s.URL+"/d/"+docID+"/v/latest/verify"),
		chromedp.WaitVisible(`.verdict`, chromedp.ByQuery),
	)
	var report string
	b.run("report", chromedp.Text(`main`, &report, chromedp.ByQuery))
	if n := strings.Count(report, "TOTAL-PASSED"); n != 2 {
		t.Errorf("the verification page shows %d TOTAL-PASSED signatures, want 2:\n%s", n, report)
	}
	b.fullShot("13-archivist-verification")
	b.run("timeline", chromedp.Navigate(s.URL+"/d/"+docID+"/timeline"), chromedp.WaitVisible(`#timeline-json`, chromedp.ByID))
	b.shot("14-archivist-timeline")

	// The downloads the archivist's links give: the signed PDF verifies
	// against the development root, and the JSON report and timeline are
	// there.
	cookie := b.sessionCookie()
	get := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		return body
	}
	signed := get("/d/" + docID + "/v/latest/file")
	roots := x509.NewCertPool()
	rootPEM := get("/dev/pki/root.pem")
	blk, _ := pem.Decode(rootPEM)
	if blk == nil {
		t.Fatal("no development root")
	}
	root, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots.AddCert(root)
	rep, err := verify.Verify(ctx, strings.NewReader(string(signed)), int64(len(signed)), verify.Options{Roots: roots, Online: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 2 {
		t.Fatalf("the downloaded PDF has %d signatures, want the leader's and the seal", len(rep.Signatures))
	}
	for _, sig := range rep.Signatures {
		if sig.Indication != verify.TotalPassed {
			t.Errorf("signature %s: %s %s %v", sig.Field, sig.Indication, sig.SubIndication, sig.Errors)
		}
	}
	if body := get("/d/" + docID + "/v/latest/verify.json"); !strings.Contains(string(body), "TOTAL-PASSED") {
		t.Errorf("JSON report lacks TOTAL-PASSED: %.300s", body)
	}
	if body := get("/d/" + docID + "/timeline.json"); !strings.Contains(string(body), `"issue"`) {
		t.Errorf("timeline lacks the issue step: %.500s", body)
	}
	// No page is heavier than 200 KB before images.
	for _, p := range []string{"/", "/d/" + docID, "/search?q=chuyen", "/d/" + docID + "/v/latest/verify", "/static/app.css", "/static/app.js"} {
		if n := len(get(p)); n > 100<<10 {
			t.Errorf("%s is %d bytes", p, n)
		}
	}
	b.logout()

	// The clerk of another organization, and a drafter of another unit,
	// neither find nor open it.
	b.allowed = []string{"/d/" + docID}
	for i, outsider := range []string{"khac", "ketoan"} {
		if i > 0 {
			b.logout()
		}
		b.login(outsider, pass)
		var found string
		b.run("outsider search",
			chromedp.Navigate(s.URL+"/search?go=1&q=chuyen+doi+so"),
			chromedp.WaitVisible(`#btn-search`, chromedp.ByID),
			chromedp.Text(`main`, &found, chromedp.ByQuery),
		)
		if strings.Contains(found, subject) {
			t.Errorf("%s's search lists the document:\n%s", outsider, found)
		}
		var denied string
		b.run("outsider opens the link", chromedp.Navigate(s.URL+"/d/"+docID), chromedp.WaitVisible(`.alert`, chromedp.ByQuery),
			chromedp.Text(`main`, &denied, chromedp.ByQuery))
		if !strings.Contains(denied, "HTTP 404") || strings.Contains(denied, subject) {
			t.Errorf("%s sees:\n%s", outsider, denied)
		}
	}
	b.shot("15-outsider-denied")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors or failed loads:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshots in %s", b.dir)
}

// TestWebPagesSafety checks, without a browser, what every page promises:
// security headers with a strict CSP, a form post without the CSRF token
// refused, friendly 4xx pages for bad input, and the pages and the API
// sharing one session.
func TestWebPagesSafety(t *testing.T) {
	clearServeEnv(t)
	adminPass := "mật-khẩu-quản-trị-web"
	t.Setenv("VANBAN_ADMIN_PASSWORD", adminPass)
	dataDir := t.TempDir()
	var out, errb lockedBuffer
	if code := run(context.Background(), []string{"init", "--data-dir", dataDir, "--org-abbrev", "UBND",
		"--org-name", "Ủy ban nhân dân xã Thành Long"}, &out, &errb); code != 0 {
		t.Fatalf("init: %d\n%s\n%s", code, &out, &errb)
	}
	s := serveVanban(t, "--data-dir", dataDir)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values, header map[string]string) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, s.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, _ := do("GET", "/", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("/ without a session: %d %s, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := do("GET", "/login", nil, nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("login page: %d, headers %v", resp.StatusCode, resp.Header)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") || !strings.Contains(page, `<label for="username">Tên đăng nhập</label>`) {
		t.Errorf("the login page has inline script or style, or lacks its labels:\n%s", page)
	}
	m := loginTokenRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the login page has no login token:\n%s", page)
	}
	loginToken := html.UnescapeString(m[1])
	// Login CSRF: a sign-in posted without the form's token (from another
	// site) is refused, even with the right password.
	if resp, _ := do("POST", "/login", url.Values{"username": {"admin"}, "password": {adminPass}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the login token: %d, want 403", resp.StatusCode)
	}
	if resp, page := do("POST", "/login", url.Values{"username": {"admin"}, "password": {"sai-mat-khau"}, "login_token": {loginToken}}, nil); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(page, "Sai tên đăng nhập hoặc mật khẩu") {
		t.Errorf("wrong password: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := do("POST", "/login", url.Values{"username": {"admin"}, "password": {adminPass}, "next": {"/\t/evil.example/"}, "login_token": {loginToken}}, nil); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in with next=/%%09/evil.example: %d %s, want a redirect to / (never off-site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do("POST", "/logout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d", resp.StatusCode)
	}
	if resp, _ := do("POST", "/login", url.Values{"username": {"admin"}, "password": {adminPass}, "next": {"//evil.example/"}, "login_token": {loginToken}}, nil); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in: %d %s, want a redirect to / (never off-site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The same session works on the API; its CSRF token is the one the
	// pages put in their forms.
	resp, me := do("GET", "/api/v1/me", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("the API does not accept the web session: %d %s", resp.StatusCode, me)
	}
	var meJSON httpapi.Me
	if err := json.Unmarshal([]byte(me), &meJSON); err != nil || meJSON.CSRFToken == "" {
		t.Fatalf("me: %v %s", err, me)
	}
	_, inbox := do("GET", "/", nil, nil)
	if !strings.Contains(inbox, `name="csrf_token" value="`+meJSON.CSRFToken+`"`) {
		t.Errorf("the inbox's forms do not carry the session's CSRF token")
	}
	// A forged post (no token, or a wrong one) changes nothing.
	if resp, page := do("POST", "/d/x/approve", url.Values{"comment": {"x"}}, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Biểu mẫu đã cũ") {
		t.Errorf("post without CSRF token: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := do("POST", "/logout", url.Values{"csrf_token": {"wrong"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout with a wrong token: %d", resp.StatusCode)
	}
	// Bad input is the person's to fix: 4xx pages, never 500.
	for _, tc := range []struct {
		method, path string
		form         url.Values
		status       int
	}{
		{"GET", "/d/khong-co", nil, 404},
		{"GET", "/d/khong-co/v/1/page/1.png", nil, 404},
		{"GET", "/search?number=abc", nil, 422},
		{"GET", "/search?from=31-12-2026", nil, 422},
		{"POST", "/d/khong-co/approve", url.Values{"csrf_token": {meJSON.CSRFToken}}, 404},
		{"POST", "/sign/batch", url.Values{"csrf_token": {meJSON.CSRFToken}}, 422},
		{"GET", "/signing/khong-co", nil, 404},
	} {
		resp, page := do(tc.method, tc.path, tc.form, nil)
		if resp.StatusCode != tc.status || !strings.Contains(page, "Không thực hiện được") {
			t.Errorf("%s %s: %d, want %d with the error page\n%.400s", tc.method, tc.path, resp.StatusCode, tc.status, page)
		}
	}
	if resp, page := do("GET", "/search?from=01/01/2020&to=31/12/2099&q=quyet+dinh", nil, nil); resp.StatusCode != 200 || !strings.Contains(page, `value="01/01/2020"`) {
		t.Errorf("search with Vietnamese dates: %d\n%.300s", resp.StatusCode, page)
	}
	// English on request, Vietnamese dates either way.
	if resp, _ := do("GET", "/lang/en", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("/lang/en: %d", resp.StatusCode)
	}
	if _, page := do("GET", "/search", nil, nil); !strings.Contains(page, "Search documents") {
		t.Errorf("English was chosen but the page is not in English:\n%.300s", page)
	}
	if resp, _ := do("POST", "/logout", url.Values{"csrf_token": {meJSON.CSRFToken}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/api/v1/me", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after signing out on the web, the API still accepts the session: %d", resp.StatusCode)
	}
}
