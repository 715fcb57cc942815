package web

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/dashboard"
	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/lookup"
)

// Oversight holds the services behind the oversight pages; a nil service
// answers 503 on its pages.
type Oversight struct {
	Dashboard *dashboard.Service
	// Lookup answers the public dossier lookup, within Limits.
	Lookup *lookup.Service
	Limits LookupLimits
	// Notifications are the person's notices and channel choices.
	Notifications httpapi.Notifications
}

// oversightRoutes are the oversight pages; Mount adds them to the table.
func oversightRoutes() []route {
	return []route{
		{Method: "GET", Path: "/dashboard", Handler: (*Server).dashboardPage},
		{Method: "GET", Path: "/so-dang-ky", Handler: (*Server).registersPage},
		{Method: "GET", Path: "/thong-bao", Handler: (*Server).noticesPage},
		{Method: "POST", Path: "/thong-bao/kenh", Handler: (*Server).setNoticeChannel},
		{Method: "GET", Path: "/tra-cuu", Public: true, Handler: (*Server).lookupPage},
		{Method: "POST", Path: "/tra-cuu", Public: true, Handler: (*Server).lookupAnswer},
	}
}

func init() {
	pageTexts(func() map[string][2]string {
		return map[string][2]string{
			"nav.dashboard":      {"Điều hành", "Dashboard"},
			"dash.title":         {"Điều hành", "Dashboard"},
			"dash.overdue":       {"Văn bản đến quá hạn", "Incoming overdue"},
			"dash.dueweek":       {"Đến hạn trong tuần", "Due this week"},
			"dash.awaitsign":     {"Văn bản chờ ký", "Awaiting signature"},
			"dash.byunit":        {"Văn bản đến quá hạn và đến hạn theo đơn vị", "Incoming overdue and due by unit"},
			"dash.byhandler":     {"Theo người xử lý", "By handler"},
			"dash.unit":          {"Đơn vị", "Unit"},
			"dash.handler":       {"Người xử lý", "Handler"},
			"dash.states":        {"Văn bản theo trạng thái và độ khẩn", "Documents by state and urgency"},
			"dash.state":         {"Trạng thái", "State"},
			"dash.total":         {"Tổng", "Total"},
			"dash.signers":       {"Văn bản đi chờ ký theo lãnh đạo", "Outgoing documents waiting per signer"},
			"dash.times":         {"Thời gian xử lý", "Processing time"},
			"dash.times.unit":    {"Theo đơn vị", "By unit"},
			"dash.times.type":    {"Theo loại văn bản", "By document type"},
			"dash.done":          {"Đã xong", "Done"},
			"dash.median":        {"Trung vị", "Median"},
			"dash.p90":           {"90%", "90th pct."},
			"dash.allowed":       {"Thời hạn (trung vị)", "Time given (median)"},
			"dash.ontime":        {"Đúng hạn / trễ", "On time / late"},
			"dash.trend":         {"Xu hướng 12 tháng", "Trend over 12 months"},
			"dash.month":         {"Tháng", "Month"},
			"dash.in":            {"Đến", "Incoming"},
			"dash.out":           {"Đi", "Outgoing"},
			"dash.period":        {"Kỳ tính thời gian xử lý", "Period of processing times"},
			"dash.apply":         {"Xem", "Show"},
			"dash.none":          {"Không có văn bản.", "No documents."},
			"dash.asof":          {"Số liệu lúc", "Figures as of"},
			"dash.filtered":      {"Danh sách theo số liệu điều hành", "List behind a dashboard figure"},
			"dash.clearfilter":   {"Bỏ lọc", "Clear filters"},
			"dash.unassigned":    {"Chưa phân công", "Not assigned"},
			"dash.chart.overdue": {"quá hạn", "overdue"},
			"dash.chart.week":    {"trong tuần", "this week"},
		}
	})
}

// dashboardPage shows the figures of the viewer's units.
func (s *Server) dashboardPage(c *gin.Context) {
	svc := s.opt.Oversight.Dashboard
	if svc == nil {
		s.errorPage(c, http.StatusServiceUnavailable, s.lang(c).T("err.internal"), "the dashboard is not configured")
		return
	}
	var from, to time.Time
	if v := strings.TrimSpace(c.Query("from")); v != "" {
		t, err := parseDate(v)
		if err != nil {
			s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), "from: a date (dd/mm/yyyy)")
			return
		}
		from = t
	}
	if v := strings.TrimSpace(c.Query("to")); v != "" {
		t, err := parseDate(v)
		if err != nil {
			s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), "to: a date (dd/mm/yyyy)")
			return
		}
		to = t.AddDate(0, 0, 1)
	}
	d, err := svc.Dashboard(c.Request.Context(), session(c).User.ID, from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	l := s.lang(c)
	s.render(c, http.StatusOK, "dashboard", map[string]any{
		"Dash":      d,
		"From":      d.From.In(document.VietnamTime).Format("02/01/2006"),
		"To":        d.To.Add(-time.Second).In(document.VietnamTime).Format("02/01/2006"),
		"UnitChart": template.HTML(deadlineChart(d.ByUnit, l)),
		"Trend":     template.HTML(trendChart(d.Trend, l)),
		"Dur":       func(x time.Duration) string { return duration(x, l) },
		"Month":     func(t time.Time) string { return t.In(document.VietnamTime).Format("01/2006") },
	})
}

// dashboardFilters reads the search filters the dashboard's links use:
// state (comma-separated), urgency, deadline (overdue or week), hunit (the
// handling unit) and handler.
func dashboardFilters(q *document.Query, form map[string]string, now time.Time) error {
	if v := form["state"]; v != "" {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if !knownState[document.State(st)] {
				return fmt.Errorf("state: %q is not a document state", st)
			}
			q.States = append(q.States, document.State(st))
		}
	}
	if v := form["urgency"]; v != "" {
		if !document.Urgency(v).Valid() {
			return fmt.Errorf("urgency: %q is not thuong, khan, thuong-khan or hoa-toc", v)
		}
		q.Urgency = document.Urgency(v)
	}
	switch form["deadline"] {
	case "":
	case "overdue":
		q.OverdueAt = now
	case "week":
		q.DueFrom, q.OverdueAt = now, dashboard.WeekEnd(now)
	default:
		return fmt.Errorf("deadline: %q is not overdue or week", form["deadline"])
	}
	q.HandlingUnitID, q.HandlerID = form["hunit"], form["handler"]
	return nil
}

var knownState = map[document.State]bool{}

func init() {
	for _, st := range []document.State{document.StateDraft, document.StateInReview, document.StateAwaitingSignature,
		document.StateSigning, document.StateSigned, document.StateNumbered, document.StateSealed, document.StateIssued,
		document.StateArchived, document.StateWithdrawn, document.StateRegistered, document.StateRouted,
		document.StateAssigned, document.StateInProgress, document.StateCompleted} {
		knownState[st] = true
	}
}

// dashboardFilterFields are the dashboard filters a search carries in
// hidden fields, so that refining the list keeps them.
func dashboardFilterFields(form map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"state", "urgency", "deadline", "hunit", "handler"} {
		if form[k] != "" {
			out[k] = form[k]
		}
	}
	return out
}

// duration writes d for people: hours below two days, else days with one
// decimal (Vietnamese decimal comma).
func duration(d time.Duration, l Lang) string {
	if d <= 0 {
		return "–"
	}
	vi := l.Code == "vi"
	if d < 48*time.Hour {
		h := int(d.Round(time.Hour) / time.Hour)
		if vi {
			return strconv.Itoa(max(h, 1)) + " giờ"
		}
		return strconv.Itoa(max(h, 1)) + " h"
	}
	days := strconv.FormatFloat(d.Hours()/24, 'f', 1, 64)
	if vi {
		return strings.Replace(days, ".", ",", 1) + " ngày"
	}
	return days + " days"
}

// The charts are SVG drawn on the server, sized by a viewBox so that they
// fill a 390-pixel phone screen; colours are presentation attributes (the
// Content-Security-Policy forbids inline styles). Each bar links to its list.
const chartWidth = 360

// deadlineChart draws, per unit, a bar of overdue documents and one of
// documents due this week.
func deadlineChart(rows []dashboard.DeadlineRow, l Lang) string {
	if len(rows) == 0 {
		return ""
	}
	maxN := 1
	for _, r := range rows {
		maxN = max(maxN, r.Overdue.N, r.DueWeek.N)
	}
	const rowH, labelH, barH = 46, 16, 12
	h := len(rows)*rowH + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartWidth, h, html.EscapeString(l.T("dash.byunit")))
	barMax := float64(chartWidth - 60)
	for i, r := range rows {
		y := i*rowH + 4
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="13" fill="#1f2937">%s</text>`, y+12, html.EscapeString(r.Name))
		for j, bar := range []struct {
			link  dashboard.Link
			color string
			what  string
		}{{r.Overdue, "#b91c1c", l.T("dash.chart.overdue")}, {r.DueWeek, "#d97706", l.T("dash.chart.week")}} {
			by := y + labelH + j*(barH+2)
			w := float64(bar.link.N) / float64(maxN) * barMax
			if bar.link.N > 0 && w < 2 {
				w = 2
			}
			fmt.Fprintf(&b, `<a href="%s"><title>%s: %d %s</title><rect x="0" y="%d" width="%.1f" height="%d" fill="%s"/>`+
				`<text x="%.1f" y="%d" font-size="12" fill="#111827">%d</text></a>`,
				html.EscapeString(bar.link.Href), html.EscapeString(r.Name), bar.link.N, html.EscapeString(bar.what),
				by, w, barH, bar.color, w+4, by+barH-2, bar.link.N)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// trendChart draws the months' incoming and outgoing documents as pairs of
// columns.
func trendChart(rows []dashboard.TrendRow, l Lang) string {
	if len(rows) == 0 {
		return ""
	}
	maxN := 1
	for _, r := range rows {
		maxN = max(maxN, r.Incoming.N, r.Outgoing.N)
	}
	const h, top, bottom = 180, 16, 30
	plot := float64(h - top - bottom)
	slot := float64(chartWidth) / float64(len(rows))
	colW := slot/2 - 2
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartWidth, h, html.EscapeString(l.T("dash.trend")))
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#9ca3af"/>`, h-bottom, chartWidth, h-bottom)
	for i, r := range rows {
		x := float64(i) * slot
		for j, col := range []struct {
			link  dashboard.Link
			color string
			what  string
		}{{r.Incoming, "#1d4ed8", l.T("dash.in")}, {r.Outgoing, "#059669", l.T("dash.out")}} {
			ch := float64(col.link.N) / float64(maxN) * plot
			cx := x + 1 + float64(j)*(colW+1)
			fmt.Fprintf(&b, `<a href="%s"><title>%s %s: %d</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/></a>`,
				html.EscapeString(col.link.Href), r.Start.In(document.VietnamTime).Format("01/2006"), html.EscapeString(col.what), col.link.N,
				cx, float64(h-bottom)-ch, colW, ch, col.color)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#374151">%s</text>`,
			x+slot/2, h-bottom+14, r.Start.In(document.VietnamTime).Format("01"))
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" font-size="11" fill="#1d4ed8">■ %s</text><text x="70" y="%d" font-size="11" fill="#059669">■ %s</text>`,
		h-2, html.EscapeString(l.T("dash.in")), h-2, html.EscapeString(l.T("dash.out")))
	b.WriteString(`</svg>`)
	return b.String()
}
