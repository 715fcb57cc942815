package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vanban/internal/document"
	"vanban/internal/httpapi"
)

// TestWebCitizenLookupOnAPhone: a clerk registers a citizen's application
// as an incoming document, the leader assigns it, the handler starts; the
// one-stop system (the clerk's bearer token) pushes the dossier code and
// pulls the status. A citizen at a 390 px phone looks the code up with the
// filing day and sees the steps with dates, the handling unit and the
// deadline, and no names, subject or sender; an unknown code and the right
// code with a guessed day get the same answer; the lookup is rate-limited.
func TestWebCitizenLookupOnAPhone(t *testing.T) {
	chromiumPath(t)
	o := newOffice(t)
	ctx := context.Background()
	clerk, leader, handler := o.people["vanthu"], o.people["chutich"], o.people["xuly"]
	const subject = "Đơn đề nghị cấp giấy phép xây dựng nhà ở riêng lẻ của ông Nguyễn Văn Bình"
	up, err := newUpload(httpapi.IncomingCreate{UnitID: o.org, Type: document.TypeCongVan, Subject: subject,
		SenderName: "Bộ phận Một cửa xã", SenderSymbol: "15/MC", SenderDate: time.Now().In(document.VietnamTime).Format(time.DateOnly)}, "don.pdf", demoPDF)
	if err != nil {
		t.Fatal(err)
	}
	var reg httpapi.IncomingRegistered
	if err := clerk.call(ctx, "POST", "/api/v1/incoming", up, &reg); err != nil {
		t.Fatal(err)
	}
	id := reg.Document.ID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/route", httpapi.RouteTo{LeaderID: o.ids["chutich"]}, nil))
	must(leader.call(ctx, "POST", "/api/v1/documents/"+id+"/assign", httpapi.AssignTo{HandlerID: o.ids["xuly"], HandlingUnitID: o.unit.ID,
		WorkingDays: 10, Instruction: "Kiểm tra hồ sơ của ông Bình"}, nil))
	must(handler.call(ctx, "POST", "/api/v1/documents/"+id+"/start", nil, nil))

	// The one-stop system pushes the code and pulls the status.
	const code = "H56.22-260305-0042"
	filed := time.Now().In(document.VietnamTime).AddDate(0, 0, -1)
	var ds httpapi.DossierJSON
	must(clerk.call(ctx, "PUT", "/api/v1/documents/"+id+"/dossier", httpapi.DossierSetJSON{Code: strings.ToLower(code), FiledOn: filed.Format("02/01/2006")}, &ds))
	if ds.Code != code || ds.FiledOn != filed.Format(time.DateOnly) {
		t.Fatalf("dossier = %+v", ds)
	}
	if err := handler.call(ctx, "PUT", "/api/v1/documents/"+id+"/dossier", httpapi.DossierSetJSON{Code: "X-0001", FiledOn: "01/01/2026"}, nil); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Errorf("a handler attached a dossier code: %v", err)
	}
	var st httpapi.DossierStatusJSON
	must(clerk.call(ctx, "GET", "/api/v1/dossiers/status?code="+url.QueryEscape(code), nil, &st))
	var labels []string
	for _, s := range st.Steps {
		labels = append(labels, s.Label)
	}
	if st.HandlingUnit != "Văn phòng" || st.Late || st.Completed || st.Deadline == nil ||
		strings.Join(labels, "|") != "Tiếp nhận, vào sổ văn bản đến|Trình lãnh đạo|Phân công đơn vị xử lý|Đang xử lý" {
		t.Fatalf("pulled status = %+v", st)
	}
	deadline := st.Deadline.In(document.VietnamTime).Format("02/01/2006")

	// The citizen, on a phone, signed in nowhere.
	b := newBrowser(t, o.s.URL)
	var unit, dl, codeShown, main string
	var steps, scrollW int
	b.run("look the dossier up",
		chromedp.Navigate(o.s.URL+"/tra-cuu"),
		chromedp.WaitVisible(`#lookup-form`, chromedp.ByID),
		chromedp.SendKeys(`#code`, code, chromedp.ByID),
		chromedp.SendKeys(`#filed_on`, filed.Format("02/01/2006"), chromedp.ByID),
		chromedp.Click(`#btn-lookup`, chromedp.ByID),
		chromedp.WaitVisible(`#dossier`, chromedp.ByID),
		chromedp.Text(`#dossier-unit`, &unit, chromedp.ByID),
		chromedp.Text(`#dossier-deadline`, &dl, chromedp.ByID),
		chromedp.Text(`#dossier-code`, &codeShown, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#dossier-steps li").length`, &steps),
		chromedp.Text(`main`, &main, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollW),
	)
	b.shot("30-citizen-lookup")
	if unit != "Văn phòng" || dl != deadline || codeShown != code || steps != 4 {
		t.Errorf("lookup shows unit %q deadline %q code %q and %d steps", unit, dl, codeShown, steps)
	}
	for _, want := range []string{"Tiếp nhận, vào sổ văn bản đến", "Trình lãnh đạo", "Phân công đơn vị xử lý", "Đang xử lý", "Trong hạn"} {
		if !strings.Contains(main, want) {
			t.Errorf("the lookup page lacks %q", want)
		}
	}
	for _, leak := range []string{"Nguyễn Văn Bình", "giấy phép", "Lê Văn Chủ", "Đặng Thị Xử Lý", "Phạm Thị Thư", "Kiểm tra hồ sơ", "Một cửa xã", "15/MC"} {
		if strings.Contains(main, leak) {
			t.Errorf("the public page reveals %q", leak)
		}
	}
	if scrollW > 390 {
		t.Errorf("the lookup page is %d px wide", scrollW)
	}

	// An unknown code, and the right code with a guessed day: one answer.
	miss := func(c, day string) (string, time.Duration) {
		var msg string
		start := time.Now()
		b.run("a lookup that finds nothing",
			chromedp.Navigate(o.s.URL+"/tra-cuu"),
			chromedp.WaitVisible(`#lookup-form`, chromedp.ByID),
			chromedp.SendKeys(`#code`, c, chromedp.ByID),
			chromedp.SendKeys(`#filed_on`, day, chromedp.ByID),
			chromedp.Click(`#btn-lookup`, chromedp.ByID),
			chromedp.WaitVisible(`#lookup-error`, chromedp.ByID),
			chromedp.Text(`#lookup-error`, &msg, chromedp.ByID),
		)
		return msg, time.Since(start)
	}
	unknown, _ := miss("H56.22-260305-0043", filed.Format("02/01/2006"))
	guessed, _ := miss(code, filed.AddDate(0, 0, -1).Format("02/01/2006"))
	malformed, _ := miss("'; DROP TABLE--", "hôm qua")
	b.shot("31-citizen-lookup-miss")
	if unknown == "" || unknown != guessed || unknown != malformed {
		t.Errorf("misses answer differently: %q / %q / %q", unknown, guessed, malformed)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}

	// Without a browser: every miss is the same page with the same status,
	// none faster than the floor; then the address runs out of lookups.
	post := func(c, day string) (int, string, time.Duration) {
		start := time.Now()
		resp, err := http.PostForm(o.s.URL+"/tra-cuu", url.Values{"code": {c}, "filed_on": {day}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		page := strings.NewReplacer(c, "", url.QueryEscape(c), "", day, "").Replace(string(body))
		return resp.StatusCode, page, time.Since(start)
	}
	c1, p1, d1 := post("H56.22-260305-9999", filed.Format("02/01/2006"))
	c2, p2, d2 := post(code, "01/01/2020")
	if c1 != 200 || c2 != 200 || p1 != p2 {
		t.Errorf("two misses differ: %d / %d, pages equal %v", c1, c2, p1 == p2)
	}
	if d1 < 400*time.Millisecond || d2 < 400*time.Millisecond {
		t.Errorf("a miss answered in %v / %v, under the 400 ms floor", d1, d2)
	}
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		code, _, _ := post("H56.22-260305-"+strconv.Itoa(1000+i), "01/01/2026")
		limited = code == http.StatusTooManyRequests
	}
	if !limited {
		t.Error("the lookup is not rate-limited")
	}
}
