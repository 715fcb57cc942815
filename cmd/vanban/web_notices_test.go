package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
)

// TestWebNotices: in the served vanban the notification worker runs; a
// draft sent for review shows in the reviewer's notices page, and the
// reviewer chooses e-mail as a daily digest on the same page (a malformed
// address is refused with a 4xx page).
func TestWebNotices(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	up, err := newUpload(httpapi.DraftCreate{UnitID: o.unit.ID, Type: document.TypeQuyetDinh, Subject: "Quyết định về lịch tiếp công dân"}, "qd.pdf", demoPDF)
	if err != nil {
		t.Fatal(err)
	}
	var d httpapi.DocumentJSON
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents", up, &d); err != nil {
		t.Fatal(err)
	}
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents/"+d.ID+"/submit", httpapi.Submit{Reviewers: []string{o.ids["duyet"]}}, nil); err != nil {
		t.Fatal(err)
	}
	reviewer := o.web(t, "duyet")
	var page string
	waitFor(t, "the notice on the reviewer's page", 30*time.Second, func() bool {
		page = reviewer.get("/thong-bao")
		return strings.Contains(page, "Văn bản chờ bạn cho ý kiến")
	})
	wantText(t, "the notices page", page, "Quyết định về lịch tiếp công dân", "Chưa đọc", "Cách nhận thông báo", "Thư điện tử")
	if !strings.Contains(page, `href="/d/`+d.ID+`"`) {
		t.Errorf("the notice does not link to the document")
	}
	form, csrf := formOf(t, page, "/thong-bao/kenh")
	wantFields(t, form, "channel", "mode")
	resp, _ := reviewer.post("/thong-bao/kenh", url.Values{"csrf_token": {csrf}, "channel": {"email"}, "mode": {"digest"}, "address": {"duyet@thanhlong.gov.vn"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the e-mail choice: %d", resp.StatusCode)
	}
	var prefs struct {
		Items []httpapi.NotifyPreferenceJSON
	}
	if err := o.people["duyet"].call(ctx, "GET", "/api/v1/me/notification-preferences", nil, &prefs); err != nil {
		t.Fatal(err)
	}
	if len(prefs.Items) != 3 || prefs.Items[1].Channel != "email" || prefs.Items[1].Mode != "digest" || prefs.Items[1].Address != "duyet@thanhlong.gov.vn" {
		t.Errorf("preferences = %+v", prefs.Items)
	}
	resp, body := reviewer.post("/thong-bao/kenh", url.Values{"csrf_token": {csrf}, "channel": {"email"}, "mode": {"instant"}, "address": {"khong-phai-email"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a malformed address: %d, want 422\n%.300s", resp.StatusCode, text(body))
	}
	if resp, _ := reviewer.post("/thong-bao/kenh", url.Values{"channel": {"email"}, "mode": {"off"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a form without its CSRF token: %d, want 403", resp.StatusCode)
	}
}

// TestWebRegistersPage: the clerk's register page links to the printed
// register and the report, which the API serves with the page's session;
// a drafter has no register page.
func TestWebRegistersPage(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(o.dataDir, "vanban.db"))
	if err != nil {
		t.Fatal(err)
	}
	year := time.Now().In(document.VietnamTime).Year()
	reg, err := db.EnsureRegister(ctx, o.org, document.Outgoing, year, document.SeriesGeneral)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	clerk := o.web(t, "vanthu")
	page := clerk.get("/so-dang-ky")
	wantText(t, "the register page", page, "Sổ văn bản đi năm "+strconv.Itoa(year), "In (PDF)", "Xuất Excel", "Báo cáo tình hình xử lý văn bản")
	for _, link := range []string{"/api/v1/registers/" + reg.ID + "/print?format=pdf", "/api/v1/registers/" + reg.ID + "/print?format=xlsx"} {
		if !strings.Contains(page, `href="`+link+`"`) {
			t.Fatalf("the page lacks %s", link)
		}
		req, _ := http.NewRequest("GET", o.s.URL+link, nil)
		resp, body := clerk.do(req)
		if resp.StatusCode != 200 || !(strings.HasPrefix(body, "%PDF-") || strings.HasPrefix(body, "PK")) {
			t.Errorf("GET %s with the page's session: %d %.40q", link, resp.StatusCode, body)
		}
	}
	drafter := o.web(t, "soan")
	req, _ := http.NewRequest("GET", o.s.URL+"/so-dang-ky", nil)
	if resp, _ := drafter.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a drafter's register page: %d, want 403", resp.StatusCode)
	}
}
