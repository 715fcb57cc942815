package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/internal/signsession/layoutcheck"
	"vanban/signing/pades"
	"vanban/signing/signtest"
)

// TestWebDecree30FromTemplateOnAPhone is a Decree 30 decision made from
// the web alone, in headless Chromium at 390 px: the administrator types
// the leader's phone in the local format (0912…) and uploads the
// handwritten signature and the seal image on the admin pages; the drafter
// uploads a LibreOffice-made template, names the recipients, opens the
// proposed layout and accepts it as it is; the reviewer approves; the
// leader signs on the virtual phone; the clerk numbers, seals and issues.
// The issued PDF, rendered and read back, has the number and date on the
// template's own lines with no blank placeholder showing and the signature
// block of Appendix I (layoutcheck), and pdfsig finds both signatures
// valid.
func TestWebDecree30FromTemplateOnAPhone(t *testing.T) {
	chromiumPath(t)
	qpdf := signtest.RequireTool(t, "qpdf")
	o := newOffice(t)
	ctx := context.Background()
	dir := t.TempDir()
	tmpl := mustRead(t, filepath.Join("..", "..", "testdata", "decree30", "quyet-dinh-phu-luc.pdf"))
	// The browser uploads from an absolute path.
	tmplPath := mustWrite(t, filepath.Join(dir, "du-thao-quyet-dinh.pdf"), tmpl)
	writePNG := func(name string, img image.Image) string {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return mustWrite(t, filepath.Join(dir, name), b.Bytes())
	}
	handwritingPNG, sealPNG := writePNG("chu-ky.png", layoutcheck.Handwriting()), writePNG("con-dau.png", layoutcheck.Seal())
	leaderID := o.ids["chutich"]

	b := newBrowser(t, o.s.URL)
	// submitted clicks a form's button and waits for the page the post
	// leads to, with its notice (the old page is marked, so its own
	// notice does not count).
	submitted := func(button string) chromedp.Action {
		return chromedp.Tasks{
			chromedp.Evaluate(`document.body.dataset.stale = "1"`, nil),
			chromedp.Click(button, chromedp.ByQuery),
			chromedp.ActionFunc(func(ctx context.Context) error {
				// Evaluating while the page navigates fails; ask again.
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) {
					var fresh bool
					err := chromedp.Evaluate(`!document.body.dataset.stale && !!document.querySelector("p.notice[role=status]")`, &fresh).Do(ctx)
					if err == nil && fresh {
						return nil
					}
					time.Sleep(100 * time.Millisecond)
				}
				return fmt.Errorf("no new page with a notice after %s", button)
			}),
		}
	}

	// Administrator: the leader's phone as people write it, the
	// handwritten signature, the seal signer and the seal image.
	b.login("admin", "mật-khẩu-quản-trị-luồng")
	userForm := `form[action="/admin/users/` + leaderID + `/signing"]`
	b.run("the leader's phone",
		chromedp.Navigate(o.s.URL+"/admin/users/"+leaderID),
		chromedp.WaitVisible(`#si-signer`, chromedp.ByID),
		chromedp.SetValue(`#si-provider`, "sim", chromedp.ByID),
		chromedp.Clear(`#si-signer`, chromedp.ByID),
		chromedp.SendKeys(`#si-signer`, "0912 345 678", chromedp.ByID),
		submitted(userForm+` button[type=submit]`),
	)
	var identity httpapi.SigningIdentityJSON
	if err := o.admin.call(ctx, "GET", "/api/v1/users/"+leaderID+"/signing-identity", nil, &identity); err != nil {
		t.Fatal(err)
	}
	if identity.Provider != "sim" || identity.Signer != "84912345678" {
		t.Fatalf("after typing 0912 345 678 the leader signs with %+v, want sim and 84912345678", identity)
	}
	b.run("the handwritten signature",
		chromedp.SetUploadFiles(`#user-image-file`, []string{handwritingPNG}, chromedp.ByID),
		submitted(`form[action="/admin/images/`+leaderID+`"] button[type=submit]`),
	)
	b.run("the seal",
		chromedp.Navigate(o.s.URL+"/admin"),
		chromedp.WaitVisible(`#seal-provider`, chromedp.ByID),
		chromedp.SetValue(`#seal-provider`, "seal", chromedp.ByID),
		submitted(`form[action="/admin/seal"] button[type=submit]`),
		chromedp.SetUploadFiles(`#seal-image-file`, []string{sealPNG}, chromedp.ByID),
		submitted(`form[action="/admin/seal-image"] button[type=submit]`),
	)
	b.shot("d30-01-admin-seal")
	for p, want := range map[string]string{"/api/v1/users/" + leaderID + "/signature-image": handwritingPNG, "/api/v1/seal-image": sealPNG} {
		resp, err := o.admin.hc.Get(o.s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, mustRead(t, want)) {
			t.Fatalf("GET %s after the upload: %d, %d bytes, want the uploaded %s", p, resp.StatusCode, len(got), filepath.Base(want))
		}
	}
	b.logout()

	// Drafter: the template, the signer and reviewer, the recipients
	// (a unit of the office and another agency), sent for review.
	b.login("soan", flowPass)
	subject := "Quyết định phê duyệt Kế hoạch chuyển đổi số năm 2026"
	b.run("new draft",
		chromedp.Navigate(o.s.URL+"/new"),
		chromedp.WaitVisible(`#subject`, chromedp.ByID),
		chromedp.SendKeys(`#subject`, subject, chromedp.ByID),
		chromedp.SetValue(`#type`, string(document.TypeQuyetDinh), chromedp.ByID),
		chromedp.SetValue(`#signer`, leaderID, chromedp.ByID),
		chromedp.SetValue(`#reviewer`, o.ids["duyet"], chromedp.ByID),
		chromedp.Click(`input[name=recipient][value="`+o.unit.ID+`"]`, chromedp.ByQuery),
		chromedp.SendKeys(`#recipient_names`, "Sở Thông tin và Truyền thông tỉnh Tây Ninh", chromedp.ByID),
		chromedp.SetUploadFiles(`#file`, []string{tmplPath}, chromedp.ByID),
	)
	b.fullShot("d30-02-drafter-new")
	var docURL string
	b.run("create draft",
		chromedp.Click(`#btn-create`, chromedp.ByID),
		chromedp.WaitVisible(`#doc-state`, chromedp.ByID),
		chromedp.Location(&docURL),
	)
	docID := docURL[strings.LastIndex(docURL, "/")+1:]
	var created string
	b.run("created", chromedp.Text(`#doc-state`, &created, chromedp.ByID))
	if !strings.Contains(created, "Đang thẩm định") {
		var page string
		b.run("the page", chromedp.Text(`main`, &page, chromedp.ByQuery))
		t.Fatalf("after creating, the document is %q, want Đang thẩm định:\n%.1500s", created, page)
	}
	var recipients string
	b.run("recipients shown", chromedp.Text(`#recipients`, &recipients, chromedp.ByID))
	if !strings.Contains(recipients, "Văn phòng") || !strings.Contains(recipients, "Sở Thông tin và Truyền thông tỉnh Tây Ninh") {
		t.Errorf("the document names the recipients %q", recipients)
	}
	// The proposed layout, accepted as it is.
	b.run("the proposed layout",
		chromedp.WaitVisible(`#layout-link`, chromedp.ByID),
		chromedp.Click(`#layout-link`, chromedp.ByID),
		chromedp.WaitVisible(`.layout-box[data-box=signature] rect`, chromedp.ByQuery),
		chromedp.WaitReady(`.layout-page img`, chromedp.ByQuery),
	)
	b.shot("d30-03-layout-proposed")
	var proposed signsession.Layout
	if err := o.people["soan"].call(ctx, "GET", "/api/v1/documents/"+docID+"/layout", nil, &proposed); err != nil {
		t.Fatal(err)
	}
	if !proposed.Proposed || proposed.Block != signsession.BlockPrinted || !proposed.Cover || !proposed.DateItalic {
		t.Fatalf("the upload proposed %+v", proposed)
	}
	b.run("accept it", chromedp.Click(`#layout-save`, chromedp.ByID), chromedp.WaitVisible(`#layout-saved`, chromedp.ByID))
	var accepted signsession.Layout
	if err := o.people["soan"].call(ctx, "GET", "/api/v1/documents/"+docID+"/layout", nil, &accepted); err != nil {
		t.Fatal(err)
	}
	// The form shows tenths of a point: saving it unchanged may round.
	near := func(a, b pades.Rect) bool {
		return math.Abs(a.LLX-b.LLX) <= 0.06 && math.Abs(a.LLY-b.LLY) <= 0.06 && math.Abs(a.URX-b.URX) <= 0.06 && math.Abs(a.URY-b.URY) <= 0.06
	}
	if !near(accepted.Number, proposed.Number) || !near(accepted.Date, proposed.Date) || !near(accepted.Signature, proposed.Signature) ||
		!near(accepted.Seal, proposed.Seal) || accepted.Cover != proposed.Cover || accepted.DateItalic != proposed.DateItalic {
		t.Errorf("saving the proposal unchanged moved it:\nproposed %+v\nsaved    %+v", proposed, accepted)
	}
	if st := o.doc(t, "soan", docID).State; st != document.StateInReview {
		t.Fatalf("the draft sent for review is %s", st)
	}
	b.logout()

	b.login("duyet", flowPass)
	b.run("approve",
		chromedp.Navigate(o.s.URL+"/d/"+docID),
		chromedp.WaitVisible(`#btn-approve`, chromedp.ByID),
		chromedp.Click(`#btn-approve`, chromedp.ByID),
		chromedp.WaitVisible(`.state-awaiting_signature`, chromedp.ByQuery),
	)
	b.logout()

	// Leader: Ký số; the virtual phone of the number typed as 0912….
	b.login("chutich", flowPass)
	var phoneURL string
	var ok bool
	b.run("Ký số",
		chromedp.Navigate(o.s.URL+"/d/"+docID),
		chromedp.WaitVisible(`#btn-sign`, chromedp.ByID),
		chromedp.Click(`#btn-sign`, chromedp.ByID),
		chromedp.WaitVisible(`#session-status[data-state=pending]`, chromedp.ByQuery),
		chromedp.AttributeValue(`#phone-link`, "href", &phoneURL, &ok, chromedp.ByID),
	)
	if !ok || !strings.Contains(phoneURL, "/dev/mssp/phone/84912345678?k=") {
		t.Fatalf("the virtual phone link is %q, want the phone of 84912345678 with its secret", phoneURL)
	}
	phoneCtx, closePhone := chromedp.NewContext(b.ctx)
	b.listen(phoneCtx)
	if err := chromedp.Run(phoneCtx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(phoneURL),
		chromedp.WaitVisible(`input[name=pin]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=pin]`, "1234", chromedp.ByQuery),
		chromedp.Submit(`input[name=pin]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`input[name=pin]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("the virtual phone: %v", err)
	}
	closePhone()
	b.run("signed", chromedp.WaitVisible(`#session-status[data-state=completed]`, chromedp.ByQuery))
	b.logout()

	// Clerk: number and date, seal, issue.
	b.login("vanthu", flowPass)
	b.run("number",
		chromedp.Navigate(o.s.URL+"/d/"+docID),
		chromedp.WaitVisible(`#btn-number`, chromedp.ByID),
		chromedp.Click(`#btn-number`, chromedp.ByID),
		chromedp.WaitVisible(`#btn-confirm`, chromedp.ByID),
		chromedp.Click(`#btn-confirm`, chromedp.ByID),
		chromedp.WaitVisible(`#btn-seal`, chromedp.ByID),
	)
	b.run("seal", chromedp.Click(`#btn-seal`, chromedp.ByID), chromedp.WaitVisible(`#btn-issue`, chromedp.ByID))
	b.run("issue", chromedp.Click(`#btn-issue`, chromedp.ByID), chromedp.WaitVisible(`#btn-confirm`, chromedp.ByID),
		chromedp.Click(`#btn-confirm`, chromedp.ByID), chromedp.WaitVisible(`.state-issued`, chromedp.ByQuery))
	b.run("the issued page", chromedp.WaitReady(`.pages img`, chromedp.ByQuery))
	b.shot("d30-04-clerk-issued")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(errs, "\n"))
	}

	// The issued PDF, as the clerk downloads it.
	cookie := b.sessionCookie()
	final := func() []byte {
		req, _ := http.NewRequest("GET", o.s.URL+"/d/"+docID+"/v/latest/file", nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %d %v %.300s", resp.StatusCode, err, body)
		}
		return body
	}()
	d := o.doc(t, "vanthu", docID)
	if d.State != document.StateIssued || d.NumberedAt == nil || !strings.HasPrefix(d.Symbol, "01/QĐ-UBND") {
		t.Fatalf("issued document %+v", d)
	}
	rootPath := mustWrite(t, filepath.Join(dir, "root.pem"), func() []byte {
		_, b := httpGet(t, o.s.URL+"/dev/pki/root.pem")
		return b
	}())
	finalPath := mustWrite(t, filepath.Join(dir, "issued.pdf"), final)
	var signed []signtest.PDFSigResult
	for _, r := range signtest.PDFSig(t, finalPath, rootPath) {
		if len(r.Ranges) > 0 {
			signed = append(signed, r)
		}
	}
	// (The seal is B-LT: its validation data follows it, so pdfsig does
	// not call it "total document signed".)
	if len(signed) != 2 || !signed[0].SignatureValid() || !signed[1].SignatureValid() {
		t.Errorf("pdfsig: %+v", signed)
	}
	if code, out, errOut := pdfCLI(t, "pdf", "verify", "--in", finalPath, "--trust", rootPath); code != 0 || !strings.Contains(out, "(2/2 TOTAL-PASSED)") {
		t.Errorf("vanban pdf verify: %d\n%s\n%s", code, out, errOut)
	}
	eng := render.New(render.Options{CacheDir: filepath.Join(testCacheDir(), "wazero")})
	defer eng.Close()
	layoutcheck.Check(t, eng, qpdf, layoutcheck.Expect{Template: tmpl, Final: final, Layout: accepted,
		Symbol: d.Symbol, PlaceDate: document.PlaceDate("Thành Long", *d.NumberedAt),
		Position: "PHÓ CHỦ TỊCH", Name: "Trần Thị Bình", SealText: "Ủy ban nhân dân", OrgName: "Ủy ban nhân dân xã Thành Long",
		AttachmentPage: 2})
}
