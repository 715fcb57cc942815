package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"vanban/internal/httpapi"
)

// TestWebRetentionScheduleOnAPhone walks the administrator through the
// retention schedule's pages in headless Chromium at 390 px: load the
// sample schedule, add an entry (a period that is not a number is refused
// beside the field, 422), change it to permanent, see the change in its
// history, be told when someone else changed it meanwhile (409, the
// current entry shown), remove it (only with the box ticked). A drafter
// reads the schedule without any form and is refused (403) a post with a
// valid CSRF token; no page is wider than the phone, and none logs a
// console error.
func TestWebRetentionScheduleOnAPhone(t *testing.T) {
	chromiumPath(t)
	o := newOffice(t)
	ctx := context.Background()
	b := newBrowser(t, o.s.URL)
	b.allowed = []string{"/records/schedule/new", "/records/schedule/e/VX-01"} // the refusals below
	b.login("admin", officeAdminPass)
	// submit clicks a button and waits for the next page, not the one
	// still showing.
	submit := func(sel string) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.Evaluate(`document.body.setAttribute('data-left', '1')`, nil),
			chromedp.Click(sel, chromedp.ByID),
			chromedp.WaitNotPresent(`body[data-left]`, chromedp.ByQuery),
			chromedp.WaitReady(`body`, chromedp.ByQuery),
		}
	}
	fits := func(what string) {
		t.Helper()
		var wide bool
		b.run("width of "+what, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &wide))
		if wide {
			t.Errorf("%s is wider than the phone", what)
		}
	}

	b.run("open the schedule", chromedp.Navigate(o.s.URL+"/records/schedule"), chromedp.WaitVisible(`#schedule-empty`, chromedp.ByID))
	var lang string
	b.run("page language", chromedp.Evaluate(`document.documentElement.lang`, &lang))
	if lang != "vi" {
		t.Errorf("page language %q, want vi first", lang)
	}
	b.run("load the sample schedule", chromedp.Submit(`#schedule-seed`, chromedp.ByID), chromedp.WaitVisible(`#schedule-list`, chromedp.ByID))
	var n int
	b.run("count entries", chromedp.Evaluate(`document.querySelectorAll('#schedule-list li').length`, &n))
	if n < 10 {
		t.Fatalf("%d entries after loading the sample", n)
	}
	fits("the schedule")
	b.shot("retention-01-schedule")

	var msg string
	b.run("add with a bad period",
		chromedp.SendKeys(`#add-code`, "VX-01", chromedp.ByID),
		chromedp.SendKeys(`#add-title`, "Hồ sơ tổ chức lễ hội truyền thống của xã", chromedp.ByID),
		chromedp.SendKeys(`#add-years`, "mười", chromedp.ByID),
		chromedp.SendKeys(`#add-source`, "Quyết định 12/QĐ-UBND", chromedp.ByID),
		chromedp.Click(`#add-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#schedule-error`, chromedp.ByID),
		chromedp.Text(`#schedule-error`, &msg, chromedp.ByID))
	var invalid string
	b.run("the refused field", chromedp.AttributeValue(`#add-years`, "aria-invalid", &invalid, nil, chromedp.ByID))
	if !strings.Contains(msg, "years") || invalid != "true" {
		t.Errorf("bad period: %q, aria-invalid %q", msg, invalid)
	}
	b.shot("retention-02-refused")
	var code, title string
	b.run("add",
		chromedp.Value(`#add-code`, &code, chromedp.ByID), chromedp.Value(`#add-title`, &title, chromedp.ByID),
		chromedp.SetValue(`#add-years`, "10", chromedp.ByID),
		chromedp.Click(`#add-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#entry-edit`, chromedp.ByID))
	if code != "VX-01" || !strings.Contains(title, "lễ hội") {
		t.Errorf("the refused form lost what was typed: %q %q", code, title)
	}
	var period, flash string
	b.run("read the entry", chromedp.Text(`#entry-period`, &period, chromedp.ByID), chromedp.Text(`p.notice`, &flash, chromedp.ByQuery))
	if period != "10 năm" || !strings.Contains(flash, "Đã thêm") {
		t.Errorf("new entry: period %q, notice %q", period, flash)
	}
	b.run("make it permanent",
		chromedp.SetValue(`#edit-period`, "permanent", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('edit-years').value = ''`, nil),
		submit(`#edit-submit`),
		chromedp.WaitVisible(`#entry-history`, chromedp.ByID),
		chromedp.Text(`#entry-period`, &period, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('#entry-history li').length`, &n))
	if period != "Vĩnh viễn" || n != 2 {
		t.Errorf("after the change: period %q, %d changes in the history", period, n)
	}
	fits("the entry page")
	b.fullShot("retention-03-entry")

	// Someone else changes the entry over the API; the open form is stale.
	var d httpapi.ScheduleEntryDetailJSON
	if err := o.admin.call(ctx, "GET", "/api/v1/records/schedule/VX-01", nil, &d); err != nil {
		t.Fatal(err)
	}
	if err := o.admin.call(ctx, "PUT", "/api/v1/records/schedule/VX-01", httpapi.ScheduleEntryJSON{Title: d.Title, Years: 20, Source: d.Source}, nil); err != nil {
		t.Fatal(err)
	}
	b.run("save a stale form",
		chromedp.SetValue(`#edit-source`, "Quyết định 13/QĐ-UBND", chromedp.ByID),
		chromedp.Click(`#edit-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#entry-error`, chromedp.ByID),
		chromedp.Text(`#entry-error`, &msg, chromedp.ByID),
		chromedp.Text(`#entry-period`, &period, chromedp.ByID))
	if !strings.Contains(msg, "vừa được người khác sửa") || period != "20 năm" {
		t.Errorf("stale save: %q, the page shows %q", msg, period)
	}
	b.shot("retention-04-stale")
	b.run("remove without ticking the box",
		submit(`#delete-submit`),
		chromedp.WaitVisible(`#entry-error`, chromedp.ByID))
	b.run("remove",
		chromedp.Click(`#delete-confirm`, chromedp.ByID),
		chromedp.Click(`#delete-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#schedule-list`, chromedp.ByID))
	var gone bool
	b.run("the entry is gone", chromedp.Evaluate(`document.querySelector('#schedule-list li[data-code="VX-01"]') === null`, &gone))
	if !gone {
		t.Error("the removed entry is still listed")
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	b.logout()

	// A drafter reads the schedule, with no form, and may not post.
	b.login("soan", flowPass)
	var forms int
	b.run("the drafter's schedule",
		chromedp.Navigate(o.s.URL+"/records/schedule/e/TH-01"),
		chromedp.WaitVisible(`#schedule-readonly`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('#entry-edit, #entry-delete').length`, &forms))
	if forms != 0 {
		t.Errorf("the drafter sees %d editing forms", forms)
	}
	var status int
	b.run("the drafter posts",
		chromedp.Evaluate(`fetch('/records/schedule/e/TH-01', {method: 'POST', body: new URLSearchParams({
			csrf_token: document.querySelector('input[name=csrf_token]').value, title: 'x', period: 'permanent'})}).then(r => r.status)`,
			&status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 403 {
		t.Errorf("a drafter's post: %d, want 403", status)
	}
	b.run("a post without CSRF token",
		chromedp.Evaluate(`fetch('/records/schedule/new', {method: 'POST', body: new URLSearchParams({code: 'X-2', title: 'x', period: 'permanent'})}).then(r => r.status)`,
			&status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 403 {
		t.Errorf("a post without CSRF token: %d, want 403", status)
	}
}
