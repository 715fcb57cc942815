package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vanban/internal/dashboard"
	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
)

// TestWebDashboardOnAPhone: the test seeds incoming documents overdue and
// due this week in two handling units (one of them secret, which the leader
// may not see), one completed, and outgoing documents waiting for the
// leader's signature; the leader opens the dashboard at 390 px, reads the
// figures, follows the overdue figure and a unit's overdue figure to their
// lists, and every number matches the seeded documents.
func TestWebDashboardOnAPhone(t *testing.T) {
	chromiumPath(t)
	o := newOffice(t)
	ctx := context.Background()
	var fin httpapi.UnitJSON
	if err := o.admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: o.org, Abbrev: "TC", Name: "Phòng Tài chính"}, &fin); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(o.dataDir, "vanban.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	now := time.Now().UTC().Truncate(time.Microsecond)
	// A deadline in this week but after now: an hour before the week ends,
	// or in an hour if that is sooner.
	dueSoon := dashboard.WeekEnd(now).Add(-time.Hour)
	if dueSoon.Before(now.Add(10 * time.Minute)) {
		dueSoon = now.Add(30 * time.Minute)
	}
	incoming := func(subject, unit, handler string, deadline time.Time, state document.State, conf document.Confidentiality) {
		t.Helper()
		d := &document.Document{OrgID: o.org, UnitID: o.org, Direction: document.Incoming, TypeCode: document.TypeCongVan,
			Subject: subject, Urgency: document.UrgencyNormal, Confidentiality: conf, CreatedBy: o.ids["vanthu"],
			State: state, HandlerID: handler, HandlingUnitID: unit, LeaderID: o.ids["chutich"], Deadline: deadline,
			ReceivedAt: now.AddDate(0, 0, -12), SenderName: "Sở Nội vụ", Symbol: "77/SNV"}
		if state == document.StateCompleted {
			d.CompletedAt = now.AddDate(0, 0, -1)
		}
		if conf.Secret() {
			d.LeaderID = "" // routed to no one the test signs in as: only the named and the clerks see it
		}
		if err := db.CreateDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		incoming(fmt.Sprintf("Văn phòng quá hạn %d", i+1), o.unit.ID, o.ids["xuly"], now.AddDate(0, 0, -2-i), document.StateAssigned, document.ConfidentialityNormal)
	}
	for i := range 2 {
		incoming(fmt.Sprintf("Tài chính quá hạn %d", i+1), fin.ID, o.ids["soan"], now.AddDate(0, 0, -1-i), document.StateInProgress, document.ConfidentialityNormal)
	}
	incoming("Văn phòng đến hạn trong tuần", o.unit.ID, o.ids["xuly"], dueSoon, document.StateAssigned, document.ConfidentialityNormal)
	incoming("Đã giải quyết xong", o.unit.ID, o.ids["xuly"], now.AddDate(0, 0, -3), document.StateCompleted, document.ConfidentialityNormal)
	incoming("Tối mật quá hạn", o.unit.ID, o.ids["xuly"], now.AddDate(0, 0, -5), document.StateAssigned, document.ConfidentialityTop)
	for i := range 2 {
		if err := db.CreateDocument(ctx, &document.Document{OrgID: o.org, UnitID: o.unit.ID, Direction: document.Outgoing,
			TypeCode: document.TypeQuyetDinh, Subject: fmt.Sprintf("Quyết định chờ ký %d", i+1), Urgency: document.UrgencyUrgent,
			Confidentiality: document.ConfidentialityNormal, CreatedBy: o.ids["soan"], State: document.StateAwaitingSignature,
			SignerID: o.ids["chutich"]}); err != nil {
			t.Fatal(err)
		}
	}

	b := newBrowser(t, o.s.URL)
	b.login("chutich", flowPass)
	var overdue, dueWeek, awaiting, vpOverdue, tcOverdue, vpWeek, scrollW string
	b.run("open the dashboard",
		chromedp.Navigate(o.s.URL+"/dashboard"),
		chromedp.WaitVisible(`#fig-overdue`, chromedp.ByID),
		chromedp.Text(`#fig-overdue .n`, &overdue, chromedp.ByQuery),
		chromedp.Text(`#fig-dueweek .n`, &dueWeek, chromedp.ByQuery),
		chromedp.Text(`#fig-awaitsign .n`, &awaiting, chromedp.ByQuery),
		chromedp.Text(`#by-unit tr[data-unit="`+o.unit.ID+`"] .n-overdue`, &vpOverdue, chromedp.ByQuery),
		chromedp.Text(`#by-unit tr[data-unit="`+o.unit.ID+`"] .n-week`, &vpWeek, chromedp.ByQuery),
		chromedp.Text(`#by-unit tr[data-unit="`+fin.ID+`"] .n-overdue`, &tcOverdue, chromedp.ByQuery),
		chromedp.Evaluate(`String(document.documentElement.scrollWidth)`, &scrollW),
	)
	b.fullShot("20-leader-dashboard")
	// The secret document is not the leader's to see: 5, not 6.
	for _, c := range []struct{ what, got, want string }{
		{"overdue", overdue, "5"}, {"due this week", dueWeek, "1"}, {"awaiting signature", awaiting, "2"},
		{"office overdue", vpOverdue, "3"}, {"office due this week", vpWeek, "1"}, {"finance overdue", tcOverdue, "2"},
	} {
		if strings.TrimSpace(c.got) != c.want {
			t.Errorf("dashboard %s = %q, want %s", c.what, c.got, c.want)
		}
	}
	if w, _ := strconv.Atoi(scrollW); w > 390 {
		t.Errorf("the dashboard is %d px wide on a 390 px screen", w)
	}
	var svgs int
	b.run("count the charts", chromedp.Evaluate(`document.querySelectorAll("svg.chart").length`, &svgs))
	if svgs != 2 {
		t.Errorf("%d charts, want 2", svgs)
	}

	// Follow the overdue figure to its list.
	var rows, overdueRows int
	var subjects string
	b.run("follow the overdue figure",
		chromedp.Click(`#fig-overdue`, chromedp.ByID),
		chromedp.WaitVisible(`#dash-filter`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("ul.docs li.doc").length`, &rows),
		chromedp.Evaluate(`document.querySelectorAll("ul.docs li.doc.overdue").length`, &overdueRows),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("ul.docs .subject")).map(e => e.textContent).sort().join("|")`, &subjects),
	)
	b.shot("21-leader-overdue-list")
	if rows != 5 || overdueRows != 5 {
		t.Errorf("the overdue list has %d rows (%d marked overdue), want 5", rows, overdueRows)
	}
	if want := "Tài chính quá hạn 1|Tài chính quá hạn 2|Văn phòng quá hạn 1|Văn phòng quá hạn 2|Văn phòng quá hạn 3"; subjects != want {
		t.Errorf("the overdue list is %q, want %q", subjects, want)
	}

	// And a unit's figure to the unit's list.
	b.run("follow the office's overdue figure",
		chromedp.Navigate(o.s.URL+"/dashboard"),
		chromedp.WaitVisible(`#by-unit`, chromedp.ByID),
		chromedp.Click(`#by-unit tr[data-unit="`+o.unit.ID+`"] .n-overdue`, chromedp.ByQuery),
		chromedp.WaitVisible(`#dash-filter`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("ul.docs li.doc").length`, &rows),
	)
	if rows != 3 {
		t.Errorf("the office's overdue list has %d rows, want 3", rows)
	}
	b.run("follow the awaiting-signature figure",
		chromedp.Navigate(o.s.URL+"/dashboard"),
		chromedp.WaitVisible(`#fig-awaitsign`, chromedp.ByID),
		chromedp.Click(`#fig-awaitsign`, chromedp.ByID),
		chromedp.WaitVisible(`#dash-filter`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("ul.docs li.doc").length`, &rows),
	)
	if rows != 2 {
		t.Errorf("the awaiting-signature list has %d rows, want 2", rows)
	}

	// The clerk, who keeps the registers, counts the secret document too.
	b.logout()
	b.login("vanthu", flowPass)
	b.run("the clerk's dashboard", chromedp.Navigate(o.s.URL+"/dashboard"), chromedp.WaitVisible(`#fig-overdue`, chromedp.ByID),
		chromedp.Text(`#fig-overdue .n`, &overdue, chromedp.ByQuery))
	if strings.TrimSpace(overdue) != "6" {
		t.Errorf("the clerk's overdue figure = %q, want 6 (the secret one included)", overdue)
	}
	// A drafter has no dashboard.
	b.logout()
	b.allowed = append(b.allowed, "/dashboard")
	b.login("soan", flowPass)
	var status string
	b.run("a drafter asks for the dashboard", chromedp.Navigate(o.s.URL+"/dashboard"), chromedp.WaitVisible(`main`, chromedp.ByQuery),
		chromedp.Text(`main`, &status, chromedp.ByQuery))
	if !strings.Contains(status, "403") && !strings.Contains(strings.ToLower(status), "quyền") {
		t.Errorf("a drafter's dashboard page: %q", status)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
