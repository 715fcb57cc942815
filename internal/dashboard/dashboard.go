// Package dashboard computes the figures leaders and heads of unit follow:
// documents by state and urgency, incoming documents overdue and due this
// week by unit and handler, processing time per unit and document type
// (median and 90th percentile against the deadline), outgoing documents
// waiting for each signer, and the trend over the months.
//
// Every figure counts only what the viewer may see: the Source applies the
// same visibility rule as the search, so each number links to the search
// list that shows exactly those documents, and a secret document counts
// only for the people who may open it.
package dashboard

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"vanban/internal/document"
)

// Window is the moments the figures are computed for.
type Window struct {
	Now     time.Time
	WeekEnd time.Time // the end of this week (next Monday 00:00, Vietnam time)
	// From and To bound the period of processing times (creation time).
	From, To time.Time
	// Months are the starts of the trend's months, oldest first, and the
	// end of the last one.
	Months []time.Time
}

// StateCount is how many documents of a direction are in a state with an
// urgency.
type StateCount struct {
	Direction document.Direction
	State     document.State
	Urgency   document.Urgency
	N         int
}

// DeadlineCount is the open incoming documents of a handling unit and
// handler ("" before assignment) past their deadline or due this week.
type DeadlineCount struct {
	UnitID, HandlerID string
	Overdue, DueWeek  int
}

// SignerCount is the outgoing documents waiting for one signer.
type SignerCount struct {
	SignerID string
	N        int
}

// Duration is one finished document: how long it took and, for incoming
// documents, how long it was given.
type Duration struct {
	Direction document.Direction
	UnitID    string // handling unit (incoming), drafting unit (outgoing)
	TypeCode  string
	Took      time.Duration
	Allowed   time.Duration // 0: no deadline
}

// MonthCount is a month of the trend: documents registered (incoming) or
// drafted (outgoing) in it, and how many of those are done.
type MonthCount struct {
	Month         int // index into Window.Months
	Direction     document.Direction
	Created, Done int
}

// Raw is what the Source counts.
type Raw struct {
	States    []StateCount
	Deadlines []DeadlineCount
	Signers   []SignerCount
	Durations []Duration
	Months    []MonthCount
}

// Source is what the dashboard reads; *store.DB is one.
type Source interface {
	User(ctx context.Context, id string) (*document.User, error)
	Grants(ctx context.Context, userID string) (document.Grants, error)
	Units(ctx context.Context, orgID string) ([]*document.Unit, error)
	Users(ctx context.Context, orgID string) ([]*document.User, error)
	DocumentTypes(ctx context.Context) ([]*document.DocumentType, error)
	// DashboardFigures counts the documents of orgID that viewer may see.
	DashboardFigures(ctx context.Context, orgID string, viewer document.Viewer, w Window) (*Raw, error)
}

// Service computes dashboards.
type Service struct {
	src Source
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns a Service reading from src.
func New(src Source) *Service { return &Service{src: src, Now: time.Now} }

// WeekEnd is the end of the week of t: the next Monday, 00:00 Vietnam time.
func WeekEnd(t time.Time) time.Time {
	v := t.In(document.VietnamTime)
	day := time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, document.VietnamTime)
	days := (8 - int(day.Weekday())) % 7
	if days == 0 {
		days = 7
	}
	return day.AddDate(0, 0, days)
}

// Link is a figure with the list behind it.
type Link struct {
	N    int
	Href string // the search page with the filters that list these documents
}

// Dashboard is everything the page shows.
type Dashboard struct {
	Now                                 time.Time
	From, To                            time.Time // the processing period (To exclusive)
	Overdue, DueWeek, AwaitingSignature Link

	States    []StateRow
	Urgencies []document.Urgency
	ByUnit    []DeadlineRow
	ByHandler []DeadlineRow
	Signers   []NamedLink
	UnitTimes []TimeRow
	TypeTimes []TimeRow
	Trend     []TrendRow
}

// StateRow is one state of one direction with its counts per urgency.
type StateRow struct {
	Direction document.Direction
	State     document.State
	Cells     []Link // in Dashboard.Urgencies order
	Total     Link
}

// DeadlineRow is a unit or a handler with its overdue and due documents.
type DeadlineRow struct {
	ID, Name         string
	Overdue, DueWeek Link
}

// NamedLink is a named figure.
type NamedLink struct {
	ID, Name string
	Link
}

// TimeRow is the processing time of a unit or a document type.
type TimeRow struct {
	Direction     document.Direction
	ID, Name      string
	Done          Link
	Median, P90   time.Duration
	MedianAllowed time.Duration // incoming: the median time given; 0 if none
	OnTime, Late  int           // incoming with a deadline
}

// TrendRow is one month.
type TrendRow struct {
	Start                      time.Time
	Incoming, Outgoing         Link
	IncomingDone, OutgoingDone int
}

// openStates are the states the dashboard counts, in flow order.
var openStates = map[document.Direction][]document.State{
	document.Outgoing: {document.StateDraft, document.StateInReview, document.StateAwaitingSignature, document.StateSigning,
		document.StateSigned, document.StateNumbered, document.StateSealed},
	document.Incoming: {document.StateRegistered, document.StateRouted, document.StateAssigned, document.StateInProgress},
}

var urgencies = []document.Urgency{document.UrgencyNormal, document.UrgencyUrgent, document.UrgencyVery, document.UrgencyFlash}

// Dashboard computes the figures for userID over the processing period
// [from, to) (zero: the last 90 days). Returns EFORBIDDEN unless the user is
// a leader, reviewer, clerk, archivist or administrator somewhere.
func (s *Service) Dashboard(ctx context.Context, userID string, from, to time.Time) (*Dashboard, error) {
	if userID == "" {
		return nil, document.Errorf(document.EFORBIDDEN, "no user is signed in")
	}
	u, err := s.src.User(ctx, userID)
	if document.ErrorCode(err) == document.ENOTFOUND || (err == nil && u.Disabled) {
		return nil, document.Errorf(document.EFORBIDDEN, "user %s is unknown or disabled", userID)
	}
	if err != nil {
		return nil, err
	}
	gs, err := s.src.Grants(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(gs, func(g document.Grant) bool {
		return g.Role == document.RoleSigner || g.Role == document.RoleReviewer || g.Role == document.RoleClerk ||
			g.Role == document.RoleArchivist || g.Role == document.RoleAdmin
	}) {
		return nil, document.Errorf(document.EFORBIDDEN, "the dashboard is for leaders, heads of unit, clerks and archivists")
	}
	now := s.Now().UTC().Truncate(time.Second)
	v := now.In(document.VietnamTime)
	today := time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, document.VietnamTime)
	if to.IsZero() {
		to = today.AddDate(0, 0, 1)
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -90)
	}
	if !from.Before(to) {
		return nil, document.Errorf(document.EINVALID, "the period ends before it starts")
	}
	w := Window{Now: now, WeekEnd: WeekEnd(now), From: from, To: to}
	first := time.Date(v.Year(), v.Month(), 1, 0, 0, 0, 0, document.VietnamTime).AddDate(0, -11, 0)
	for i := 0; i <= 12; i++ {
		w.Months = append(w.Months, first.AddDate(0, i, 0))
	}
	raw, err := s.src.DashboardFigures(ctx, u.OrgID, document.ViewerOf(u.ID, gs), w)
	if err != nil {
		return nil, err
	}
	names, err := s.names(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	return build(raw, w, names), nil
}

// names maps unit, user and type ids to what people call them.
type names struct{ units, users, types map[string]string }

func (s *Service) names(ctx context.Context, orgID string) (names, error) {
	n := names{units: map[string]string{}, users: map[string]string{}, types: map[string]string{}}
	units, err := s.src.Units(ctx, orgID)
	if err != nil {
		return n, err
	}
	for _, u := range units {
		n.units[u.ID] = u.Name
	}
	users, err := s.src.Users(ctx, orgID)
	if err != nil {
		return n, err
	}
	for _, u := range users {
		n.users[u.ID] = u.FullName
	}
	types, err := s.src.DocumentTypes(ctx)
	if err != nil {
		return n, err
	}
	for _, t := range types {
		n.types[t.Code] = t.Name
	}
	return n, nil
}

// search is the search page's address for filters.
func search(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return "/search?" + q.Encode()
}

func day(t time.Time) string { return t.In(document.VietnamTime).Format("02/01/2006") }

func build(raw *Raw, w Window, n names) *Dashboard {
	d := &Dashboard{Now: w.Now, From: w.From, To: w.To, Urgencies: urgencies}

	// By state and urgency.
	counts := map[[3]string]int{}
	for _, c := range raw.States {
		counts[[3]string{string(c.Direction), string(c.State), string(c.Urgency)}] += c.N
	}
	for _, dir := range []document.Direction{document.Outgoing, document.Incoming} {
		for _, st := range openStates[dir] {
			row := StateRow{Direction: dir, State: st}
			for _, u := range urgencies {
				k := counts[[3]string{string(dir), string(st), string(u)}]
				row.Cells = append(row.Cells, Link{N: k, Href: search("dir", string(dir), "state", string(st), "urgency", string(u))})
				row.Total.N += k
			}
			row.Total.Href = search("dir", string(dir), "state", string(st))
			if st == document.StateAwaitingSignature || st == document.StateSigning {
				d.AwaitingSignature.N += row.Total.N
			}
			d.States = append(d.States, row)
		}
	}
	d.AwaitingSignature.Href = search("dir", "out", "state", "awaiting_signature,signing")

	// Deadlines by unit and handler.
	byUnit, byHandler := map[string]*DeadlineRow{}, map[string]*DeadlineRow{}
	for _, c := range raw.Deadlines {
		d.Overdue.N += c.Overdue
		d.DueWeek.N += c.DueWeek
		ur := byUnit[c.UnitID]
		if ur == nil {
			ur = &DeadlineRow{ID: c.UnitID, Name: n.units[c.UnitID]}
			byUnit[c.UnitID] = ur
		}
		ur.Overdue.N += c.Overdue
		ur.DueWeek.N += c.DueWeek
		hkey := c.HandlerID
		hr := byHandler[hkey]
		if hr == nil {
			name := n.users[c.HandlerID]
			if c.HandlerID == "" {
				name = "Chưa phân công"
			}
			hr = &DeadlineRow{ID: c.HandlerID, Name: name}
			byHandler[hkey] = hr
		}
		hr.Overdue.N += c.Overdue
		hr.DueWeek.N += c.DueWeek
	}
	d.Overdue.Href = search("dir", "in", "deadline", "overdue")
	d.DueWeek.Href = search("dir", "in", "deadline", "week")
	for _, r := range byUnit {
		r.Overdue.Href = search("dir", "in", "deadline", "overdue", "hunit", r.ID)
		r.DueWeek.Href = search("dir", "in", "deadline", "week", "hunit", r.ID)
		d.ByUnit = append(d.ByUnit, *r)
	}
	for _, r := range byHandler {
		if r.ID != "" { // the unassigned ones have no handler to filter by
			r.Overdue.Href = search("dir", "in", "deadline", "overdue", "handler", r.ID)
			r.DueWeek.Href = search("dir", "in", "deadline", "week", "handler", r.ID)
		}
		d.ByHandler = append(d.ByHandler, *r)
	}
	sortDeadlines(d.ByUnit)
	sortDeadlines(d.ByHandler)

	// Outgoing waiting per signer.
	for _, c := range raw.Signers {
		d.Signers = append(d.Signers, NamedLink{ID: c.SignerID, Name: n.users[c.SignerID],
			Link: Link{N: c.N, Href: search("dir", "out", "state", "awaiting_signature,signing", "signer", c.SignerID)}})
	}
	sort.Slice(d.Signers, func(i, j int) bool {
		if d.Signers[i].N != d.Signers[j].N {
			return d.Signers[i].N > d.Signers[j].N
		}
		return d.Signers[i].Name < d.Signers[j].Name
	})

	// Processing times.
	from, to := day(w.From), day(w.To.Add(-time.Second))
	group := func(key func(Duration) string, name func(string) string, href func(document.Direction, string) string) []TimeRow {
		type acc struct {
			dir           document.Direction
			id            string
			took, allowed []time.Duration
			onTime, late  int
		}
		m := map[string]*acc{}
		var order []string
		for _, x := range raw.Durations {
			k := string(x.Direction) + "\x00" + key(x)
			a := m[k]
			if a == nil {
				a = &acc{dir: x.Direction, id: key(x)}
				m[k] = a
				order = append(order, k)
			}
			a.took = append(a.took, x.Took)
			if x.Allowed > 0 {
				a.allowed = append(a.allowed, x.Allowed)
				if x.Took <= x.Allowed {
					a.onTime++
				} else {
					a.late++
				}
			}
		}
		var rows []TimeRow
		for _, k := range order {
			a := m[k]
			rows = append(rows, TimeRow{Direction: a.dir, ID: a.id, Name: name(a.id),
				Done:   Link{N: len(a.took), Href: href(a.dir, a.id)},
				Median: Percentile(a.took, 50), P90: Percentile(a.took, 90), MedianAllowed: Percentile(a.allowed, 50),
				OnTime: a.onTime, Late: a.late})
		}
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].Direction != rows[j].Direction {
				return rows[i].Direction == document.Incoming
			}
			return rows[i].Name < rows[j].Name
		})
		return rows
	}
	done := func(dir document.Direction) string {
		if dir == document.Incoming {
			return "completed,archived"
		}
		return "issued,archived"
	}
	d.UnitTimes = group(func(x Duration) string { return x.UnitID }, func(id string) string { return n.units[id] },
		func(dir document.Direction, id string) string {
			// hunit: the handling unit of an incoming document, the
			// drafting unit itself (not its sub-units) of an outgoing one.
			return search("dir", string(dir), "state", done(dir), "hunit", id, "from", from, "to", to)
		})
	d.TypeTimes = group(func(x Duration) string { return x.TypeCode }, func(id string) string { return n.types[id] },
		func(dir document.Direction, id string) string {
			return search("dir", string(dir), "state", done(dir), "type", id, "from", from, "to", to)
		})

	// Trend.
	for i := 0; i+1 < len(w.Months); i++ {
		start, end := w.Months[i], w.Months[i+1]
		r := TrendRow{Start: start,
			Incoming: Link{Href: search("dir", "in", "from", day(start), "to", day(end.Add(-time.Second)))},
			Outgoing: Link{Href: search("dir", "out", "from", day(start), "to", day(end.Add(-time.Second)))}}
		for _, c := range raw.Months {
			if c.Month != i {
				continue
			}
			if c.Direction == document.Incoming {
				r.Incoming.N, r.IncomingDone = r.Incoming.N+c.Created, r.IncomingDone+c.Done
			} else {
				r.Outgoing.N, r.OutgoingDone = r.Outgoing.N+c.Created, r.OutgoingDone+c.Done
			}
		}
		d.Trend = append(d.Trend, r)
	}
	return d
}

func sortDeadlines(rows []DeadlineRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Overdue.N != rows[j].Overdue.N {
			return rows[i].Overdue.N > rows[j].Overdue.N
		}
		if rows[i].DueWeek.N != rows[j].DueWeek.N {
			return rows[i].DueWeek.N > rows[j].DueWeek.N
		}
		return strings.Compare(rows[i].Name, rows[j].Name) < 0
	})
}

// Percentile is the p-th percentile of ds by the nearest-rank method (0 for
// none): the smallest value with at least p percent of the values at or
// below it.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}
