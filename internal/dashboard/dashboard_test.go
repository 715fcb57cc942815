package dashboard_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"vanban/internal/dashboard"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestEveryFigureIsItsList: for a leader of the organization, the head of
// one unit and the clerk, every number of the dashboard equals the number
// of documents the search returns for the figure's link, on SQLite and
// PostgreSQL; secret documents count only for those who may see them.
func TestEveryFigureIsItsList(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 11, 10, 0, 0, 0, document.VietnamTime) // a Wednesday
		org := &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long"}
		must(t, db.CreateOrganization(ctx, org))
		vp := &document.Unit{ParentID: org.ID, Abbrev: "VP", Name: "Văn phòng"}
		must(t, db.CreateUnit(ctx, vp))
		tc := &document.Unit{ParentID: org.ID, Abbrev: "TC", Name: "Tài chính"}
		must(t, db.CreateUnit(ctx, tc))
		user := func(name string, role document.Role, unit string) *document.User {
			u := &document.User{OrgID: org.ID, Username: strings.ReplaceAll(document.Fold(name), " ", "-") + "-" + org.ID[:6], FullName: name}
			must(t, db.CreateUser(ctx, u))
			must(t, db.GrantRole(ctx, u.ID, unit, role))
			return u
		}
		leader := user("Lãnh đạo", document.RoleSigner, org.ID)
		head := user("Trưởng phòng TC", document.RoleReviewer, tc.ID)
		clerk := user("Văn thư", document.RoleClerk, org.ID)
		staffVP := user("Chuyên viên VP", document.RoleDrafter, vp.ID)
		staffTC := user("Chuyên viên TC", document.RoleDrafter, tc.ID)
		drafter := staffVP

		n := 0
		doc := func(d document.Document) {
			t.Helper()
			n++
			d.OrgID, d.TypeCode, d.Subject = org.ID, document.TypeCongVan, fmt.Sprintf("Văn bản %d", n)
			if d.Urgency == "" {
				d.Urgency = document.UrgencyNormal
			}
			if d.Confidentiality == "" {
				d.Confidentiality = document.ConfidentialityNormal
			}
			must(t, db.CreateDocument(ctx, &d))
		}
		in := func(unit, handler string, deadline time.Time, st document.State, conf document.Confidentiality, urg document.Urgency) {
			d := document.Document{UnitID: org.ID, Direction: document.Incoming, CreatedBy: clerk.ID, State: st, HandlerID: handler,
				HandlingUnitID: unit, Deadline: deadline, ReceivedAt: now.AddDate(0, 0, -20), Confidentiality: conf, Urgency: urg}
			if st == document.StateCompleted {
				d.CompletedAt = now.AddDate(0, 0, -1)
			}
			doc(d)
		}
		in(vp.ID, staffVP.ID, now.AddDate(0, 0, -3), document.StateAssigned, "", document.UrgencyUrgent)
		in(vp.ID, staffVP.ID, now.AddDate(0, 0, -1), document.StateInProgress, "", "")
		in(tc.ID, staffTC.ID, now.AddDate(0, 0, -2), document.StateAssigned, "", "")
		in(tc.ID, staffTC.ID, now.Add(26*time.Hour), document.StateAssigned, "", document.UrgencyFlash) // due this week
		in(tc.ID, staffTC.ID, now.AddDate(0, 0, -4), document.StateAssigned, document.ConfidentialitySecret, "")
		in(tc.ID, staffTC.ID, now.AddDate(0, 0, 20), document.StateCompleted, "", "")
		in("", "", now.AddDate(0, 0, -1), document.StateRegistered, "", "") // not yet routed: the receiving unit
		for i := 0; i < 3; i++ {
			doc(document.Document{UnitID: vp.ID, Direction: document.Outgoing, CreatedBy: drafter.ID, State: document.StateAwaitingSignature, SignerID: leader.ID})
		}
		doc(document.Document{UnitID: tc.ID, Direction: document.Outgoing, CreatedBy: staffTC.ID, State: document.StateInReview})
		doc(document.Document{UnitID: vp.ID, Direction: document.Outgoing, CreatedBy: drafter.ID, State: document.StateIssued, IssuedAt: now})

		svc := dashboard.New(db)
		svc.Now = func() time.Time { return now }
		wantOverdue := map[string]int{leader.ID: 4, head.ID: 1, clerk.ID: 5} // the secret one: the clerk only
		for _, who := range []*document.User{leader, head, clerk} {
			d, err := svc.Dashboard(ctx, who.ID, time.Time{}, now.AddDate(1, 0, 0))
			must(t, err)
			gs, err := db.Grants(ctx, who.ID)
			must(t, err)
			viewer := document.ViewerOf(who.ID, gs)
			check := func(what string, l dashboard.Link) {
				t.Helper()
				if l.Href == "" {
					return
				}
				q := queryOf(t, l.Href, now)
				q.OrgID, q.Viewer = org.ID, viewer
				docs, err := db.SearchDocuments(ctx, q)
				must(t, err)
				if len(docs) != l.N {
					t.Errorf("%s: %s is %d, its list %s has %d", who.FullName, what, l.N, l.Href, len(docs))
				}
			}
			if d.Overdue.N != wantOverdue[who.ID] {
				t.Errorf("%s: overdue %d, want %d", who.FullName, d.Overdue.N, wantOverdue[who.ID])
			}
			check("overdue", d.Overdue)
			check("due this week", d.DueWeek)
			check("awaiting signature", d.AwaitingSignature)
			for _, r := range d.States {
				check(fmt.Sprintf("state %s/%s", r.Direction, r.State), r.Total)
				for i, c := range r.Cells {
					check(fmt.Sprintf("state %s/%s %s", r.Direction, r.State, d.Urgencies[i]), c)
				}
			}
			for _, r := range append(d.ByUnit, d.ByHandler...) {
				check("overdue of "+r.Name, r.Overdue)
				check("due of "+r.Name, r.DueWeek)
			}
			for _, s := range d.Signers {
				check("waiting for "+s.Name, s.Link)
			}
			for _, r := range append(d.UnitTimes, d.TypeTimes...) {
				check("done of "+r.Name, r.Done)
			}
			for _, m := range d.Trend {
				check("month in", m.Incoming)
				check("month out", m.Outgoing)
			}
		}
		_, err := svc.Dashboard(ctx, drafter.ID, time.Time{}, time.Time{})
		if document.ErrorCode(err) != document.EFORBIDDEN {
			t.Errorf("a drafter's dashboard: %v, want EFORBIDDEN", err)
		}
	})
}

// queryOf turns a dashboard link into the search it stands for, as the
// search page reads it.
func queryOf(t *testing.T, href string, now time.Time) document.Query {
	t.Helper()
	u, err := url.Parse(href)
	must(t, err)
	v := u.Query()
	q := document.Query{Direction: document.Direction(v.Get("dir")), Urgency: document.Urgency(v.Get("urgency")),
		HandlingUnitID: v.Get("hunit"), HandlerID: v.Get("handler"), SignerID: v.Get("signer"), TypeCode: v.Get("type"),
		Limit: document.MaxPageSize}
	for _, s := range strings.Split(v.Get("state"), ",") {
		if s != "" {
			q.States = append(q.States, document.State(s))
		}
	}
	switch v.Get("deadline") {
	case "overdue":
		q.OverdueAt = now
	case "week":
		q.DueFrom, q.OverdueAt = now, dashboard.WeekEnd(now)
	}
	day := func(s string) time.Time {
		d, err := time.ParseInLocation("02/01/2006", s, document.VietnamTime)
		must(t, err)
		return d
	}
	if s := v.Get("from"); s != "" {
		q.From = day(s)
	}
	if s := v.Get("to"); s != "" {
		q.To = day(s).AddDate(0, 0, 1)
	}
	return q
}

func TestWeekEndAndPercentile(t *testing.T) {
	for _, c := range []struct{ at, want string }{
		{"2026-03-09 08:00", "2026-03-16"}, // Monday
		{"2026-03-11 23:59", "2026-03-16"},
		{"2026-03-15 23:00", "2026-03-16"}, // Sunday
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", c.at, document.VietnamTime)
		if got := dashboard.WeekEnd(at).Format(time.DateOnly); got != c.want {
			t.Errorf("WeekEnd(%s) = %s, want %s", c.at, got, c.want)
		}
	}
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	if p := dashboard.Percentile(ds, 50); p != 5 {
		t.Errorf("median = %d, want 5", p)
	}
	if p := dashboard.Percentile(ds, 90); p != 9 {
		t.Errorf("p90 = %d, want 9", p)
	}
	if p := dashboard.Percentile(nil, 90); p != 0 {
		t.Errorf("p90 of nothing = %d", p)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
