package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vanban/internal/httpapi"
)

// TestWebExchangeOnAPhone: two organizations of one installation exchange
// a document through the embedded development hub; at a 390x844 phone
// viewport the receiving clerk sees it in "chờ tiếp nhận" and accepts it,
// and the sender's clerk sees the per-recipient status table fill in.
func TestWebExchangeOnAPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	clearServeEnv(t)
	const password = "mật-khẩu-liên-thông-web"
	t.Setenv("VANBAN_ADMIN_PASSWORD", password)
	dir := []string{"--data-dir", t.TempDir()}
	initOrg(t, dir, "UBNDTL", "UBND xã Thành Long", "admin-a")
	initOrg(t, dir, "UBNDBX", "UBND xã Bình Xa", "admin-b")
	s := serveVanban(t, dir...)
	ctx := context.Background()
	a := newXOffice(t, ctx, s.URL, "admin-a", password, e2eOrganA)
	b := newXOffice(t, ctx, s.URL, "admin-b", password, e2eOrganB)
	if err := a.admin.call(ctx, "PUT", "/api/v1/exchange/agencies/"+e2eOrganB, httpapi.AgencyJSON{Name: "UBND xã Bình Xa"}, nil); err != nil {
		t.Fatal(err)
	}
	doc := a.issueExternal(t, ctx, "Về việc tổ chức hội nghị trực tuyến", e2eOrganB)

	br := newBrowser(t, s.URL)
	clerkB := "clerk-admin-b"
	br.login(clerkB, b.pass["clerk"])
	waitPage := func(what, url, selector string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var n int
			br.run(what, chromedp.Navigate(s.URL+url), chromedp.WaitVisible(`main`, chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelectorAll(`+"`"+selector+"`"+`).length`, &n))
			if n > 0 {
				return
			}
			if time.Now().After(deadline) {
				br.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
				t.Fatalf("%s: no %s on %s", what, selector, url)
			}
			time.Sleep(time.Second)
		}
	}
	waitPage("B's queue", "/exchange", ".exchange-item[data-state=pending]")
	var text string
	br.run("read the queue", chromedp.Text(`#exchange-queue`, &text, chromedp.ByQuery))
	for _, want := range []string{"Về việc tổ chức hội nghị trực tuyến", "UBND xã Thành Long", doc.Symbol, "TOTAL-PASSED"} {
		if !strings.Contains(text, want) {
			t.Errorf("the queue lacks %q:\n%s", want, text)
		}
	}
	br.fullShot("exchange-01-clerk-queue")
	br.run("accept", chromedp.Click(`button.accept`, chromedp.ByQuery), chromedp.WaitVisible(`#exchange-link, .facts`, chromedp.ByQuery))
	br.shot("exchange-02-accepted")
	br.logout()

	br.login("clerk-admin-a", a.pass["clerk"])
	waitPage("A's status table", "/d/"+doc.ID+"/exchange", `.status[data-code="03"]`)
	br.run("read the table", chromedp.Text(`#exchange-status`, &text, chromedp.ByQuery))
	for _, want := range []string{"UBND xã Bình Xa", "01 Đã đến", "03 Đã tiếp nhận", "số đến 01"} {
		if !strings.Contains(text, want) {
			t.Errorf("the status table lacks %q:\n%s", want, text)
		}
	}
	br.fullShot("exchange-03-sender-status-table")
	var width int
	br.run("measure", chromedp.Evaluate(`document.documentElement.scrollWidth`, &width))
	if width > 390 {
		t.Errorf("the status table is %d px wide on a 390 px phone", width)
	}
	if errs := br.consoleErrors(); len(errs) > 0 {
		t.Errorf("browser errors: %v", errs)
	}
}
