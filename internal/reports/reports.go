// Package reports prints what the registers and the flows record: the
// outgoing and incoming registers (sổ đăng ký văn bản đi / đến) of a year or
// a period in the form of Appendix IV of Decree 30/2020, as PDF (A4
// landscape) and XLSX, and the report of incoming and outgoing processing by
// unit over a period.
//
// The package declares the Source it reads from (*store.DB is one) and
// checks who may read: registers list every document, secret ones included,
// so only the organization's clerks, archivists and administrators print
// them; the processing report, which has counts and no content, is also open
// to the organization's leaders.
package reports

import (
	"context"
	"strings"
	"time"

	"vanban/internal/document"
)

// Entry is one row of a register. The fields used depend on the register's
// direction; the comments give the Appendix IV column each one fills.
type Entry struct {
	Number   int    // out: số (within Symbol); in: số đến
	Symbol   string // out: số, ký hiệu văn bản; in: the sender's số, ký hiệu
	TypeName string // tên loại
	Subject  string // trích yếu nội dung
	Note     string // ghi chú (marks, deadlines, state)

	// Outgoing.
	Date       time.Time // ngày tháng văn bản: when the number and date were given
	Signer     string    // người ký
	Recipients []string  // nơi nhận văn bản
	KeptBy     string    // đơn vị, người nhận bản lưu: drafting unit and drafter
	Copies     int       // số lượng bản: one per recipient and the kept copy

	// Incoming.
	ReceivedAt   time.Time // ngày đến
	Sender       string    // tác giả: the issuing organization
	SenderDate   time.Time // ngày tháng of the received document
	HandledBy    string    // đơn vị hoặc người nhận
	Acknowledged string    // ký nhận: the handler's electronic acknowledgement

	// What the note and the acknowledgement are made of; Source fills
	// these and Service.Register the two columns.
	State           document.State
	Urgency         document.Urgency
	Confidentiality document.Confidentiality
	Capacity        document.Capacity
	HandlingUnit    string
	Handler         string
	Deadline        time.Time
	CompletedAt     time.Time
}

// finish fills the derived columns: the signer's capacity, who handles an
// incoming document, its acknowledgement and the note.
func (e *Entry) finish(dir document.Direction) {
	var notes []string
	if e.Urgency.Urgent() {
		notes = append(notes, e.Urgency.Label())
	}
	if e.Confidentiality.Secret() {
		notes = append(notes, e.Confidentiality.Label())
	}
	if dir == document.Outgoing {
		if e.Capacity != document.CapacityInPerson && e.Signer != "" {
			e.Signer = string(e.Capacity) + ". " + e.Signer
		}
		e.Note = strings.Join(notes, "; ")
		return
	}
	switch {
	case e.HandlingUnit != "" && e.Handler != "":
		e.HandledBy = e.HandlingUnit + " (" + e.Handler + ")"
	case e.Handler != "":
		e.HandledBy = e.Handler
	default:
		e.HandledBy = e.HandlingUnit
	}
	switch e.State {
	case document.StateInProgress, document.StateCompleted, document.StateArchived:
		// The handler opened the work in the system: the electronic
		// counterpart of signing for the paper copy.
		e.Acknowledged = "Đã nhận"
	}
	if !e.Deadline.IsZero() {
		notes = append(notes, "Hạn "+day(e.Deadline))
	}
	if !e.CompletedAt.IsZero() {
		notes = append(notes, "Hoàn thành "+day(e.CompletedAt))
	}
	e.Note = strings.Join(notes, "; ")
}

// Register is a register ready to print: its title and the entries of the
// period in number order.
type Register struct {
	OrgName   string
	Name      string // "Sổ văn bản đi năm 2026"
	Direction document.Direction
	Year      int
	Period    Period
	Entries   []Entry
}

// Period is a range of days in Vietnam time, From inclusive, To exclusive.
// The zero Period is unbounded.
type Period struct {
	From, To time.Time
}

// Contains reports whether t falls in p.
func (p Period) Contains(t time.Time) bool {
	return (p.From.IsZero() || !t.Before(p.From)) && (p.To.IsZero() || t.Before(p.To))
}

// Year returns the whole calendar year y in Vietnam time.
func Year(y int) Period {
	return Period{From: time.Date(y, 1, 1, 0, 0, 0, 0, document.VietnamTime), To: time.Date(y+1, 1, 1, 0, 0, 0, 0, document.VietnamTime)}
}

// ParseDay reads a date typed as dd/mm/yyyy (the Vietnamese convention) or
// yyyy-mm-dd, at the start of that day in Vietnam time.
func ParseDay(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"02/01/2006", "2/1/2006", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, document.VietnamTime); err == nil && t.Year() >= 1900 && t.Year() <= 9999 {
			return t, nil
		}
	}
	return time.Time{}, document.Errorf(document.EINVALID, "date %q is not dd/mm/yyyy", s)
}

// ParsePeriod reads the days from and to (both inclusive, either may be
// empty) as a Period. Returns EINVALID for a malformed date or a range that
// ends before it starts.
func ParsePeriod(from, to string) (Period, error) {
	var p Period
	var err error
	if strings.TrimSpace(from) != "" {
		if p.From, err = ParseDay(from); err != nil {
			return Period{}, err
		}
	}
	if strings.TrimSpace(to) != "" {
		last, err := ParseDay(to)
		if err != nil {
			return Period{}, err
		}
		p.To = last.AddDate(0, 0, 1)
	}
	if !p.From.IsZero() && !p.To.IsZero() && !p.From.Before(p.To) {
		return Period{}, document.Errorf(document.EINVALID, "the period ends before it starts")
	}
	return p, nil
}

// UnitProcessing is the processing of one unit over a period. Incoming
// documents count for their handling unit (the receiving unit until the
// leader names one), outgoing ones for their drafting unit.
type UnitProcessing struct {
	UnitID   string
	UnitName string

	InReceived  int // received in the period
	InCompleted int // of those, completed
	InOnTime    int // completed by the deadline (or with none)
	InLate      int // completed after the deadline
	InOpen      int // not completed yet
	InOverdue   int // of the open ones, past their deadline at the report's time

	OutCreated   int // drafted in the period
	OutIssued    int // of those, issued (or already archived)
	OutOpen      int // still in the flow
	OutWithdrawn int // abandoned before signing
}

// Add adds o's counts to u.
func (u *UnitProcessing) Add(o UnitProcessing) {
	u.InReceived += o.InReceived
	u.InCompleted += o.InCompleted
	u.InOnTime += o.InOnTime
	u.InLate += o.InLate
	u.InOpen += o.InOpen
	u.InOverdue += o.InOverdue
	u.OutCreated += o.OutCreated
	u.OutIssued += o.OutIssued
	u.OutOpen += o.OutOpen
	u.OutWithdrawn += o.OutWithdrawn
}

// Processing is the report of incoming and outgoing processing by unit.
type Processing struct {
	OrgName string
	Period  Period
	At      time.Time // "overdue" is judged at this time
	Units   []UnitProcessing
	Total   UnitProcessing
}

// Source is what the reports read; *store.DB is one.
type Source interface {
	Organization(ctx context.Context, id string) (*document.Organization, error)
	Unit(ctx context.Context, id string) (*document.Unit, error)
	User(ctx context.Context, id string) (*document.User, error)
	Grants(ctx context.Context, userID string) (document.Grants, error)
	Register(ctx context.Context, id string) (*document.Register, error)
	// RegisterRows returns the entries of a register whose number date
	// (outgoing) or arrival (incoming) falls in [from, to), in number
	// order; zero bounds are open.
	RegisterRows(ctx context.Context, registerID string, from, to time.Time) ([]Entry, error)
	// ProcessingByUnit counts an organization's documents by unit: incoming
	// ones received and outgoing ones created in [from, to), overdue judged
	// at at. Units without documents are left out.
	ProcessingByUnit(ctx context.Context, orgID string, from, to, at time.Time) ([]UnitProcessing, error)
}

// Service answers report requests.
type Service struct {
	src Source
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns a Service reading from src.
func New(src Source) *Service { return &Service{src: src, Now: time.Now} }

// viewer loads the user and checks that they hold one of roles at the root
// of their organization. Returns EFORBIDDEN otherwise.
func (s *Service) viewer(ctx context.Context, userID, what string, roles ...document.Role) (*document.User, error) {
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
	root, err := s.src.Unit(ctx, u.OrgID) // the root unit has the organization's id
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		if gs.Allows(r, *root) {
			return u, nil
		}
	}
	return nil, document.Errorf(document.EFORBIDDEN, "%s", what)
}

// Register returns register registerID with the entries of period p (the
// zero Period: the whole year). Returns ENOTFOUND for a register of another
// organization, EFORBIDDEN unless the user is a clerk, archivist or
// administrator of the whole organization.
func (s *Service) Register(ctx context.Context, userID, registerID string, p Period) (*Register, error) {
	u, err := s.viewer(ctx, userID, "registers are kept by the organization's clerks and archivists",
		document.RoleClerk, document.RoleArchivist, document.RoleAdmin)
	if err != nil {
		return nil, err
	}
	r, err := s.src.Register(ctx, registerID)
	if err == nil && r.OrgID != u.OrgID {
		err = document.Errorf(document.ENOTFOUND, "register %s not found", registerID)
	}
	if err != nil {
		return nil, err
	}
	org, err := s.src.Organization(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	entries, err := s.src.RegisterRows(ctx, r.ID, p.From, p.To)
	if err != nil {
		return nil, err
	}
	for i := range entries {
		entries[i].finish(r.Direction)
	}
	return &Register{OrgName: org.Name, Name: r.Name, Direction: r.Direction, Year: r.Year, Period: p, Entries: entries}, nil
}

// Processing returns the processing report of the user's organization over
// p (required). Returns EINVALID for an unbounded period, EFORBIDDEN unless
// the user is a leader, clerk, archivist or administrator of the whole
// organization.
func (s *Service) Processing(ctx context.Context, userID string, p Period) (*Processing, error) {
	if p.From.IsZero() || p.To.IsZero() {
		return nil, document.Errorf(document.EINVALID, "a processing report needs the first and the last day")
	}
	u, err := s.viewer(ctx, userID, "the processing report is for the organization's leaders, clerks and archivists",
		document.RoleSigner, document.RoleClerk, document.RoleArchivist, document.RoleAdmin)
	if err != nil {
		return nil, err
	}
	org, err := s.src.Organization(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	at := s.Now().UTC()
	units, err := s.src.ProcessingByUnit(ctx, u.OrgID, p.From, p.To, at)
	if err != nil {
		return nil, err
	}
	out := &Processing{OrgName: org.Name, Period: p, At: at, Units: units}
	for _, x := range units {
		out.Total.Add(x)
	}
	return out, nil
}

// day formats t's date in Vietnam time as dd/mm/yyyy, "" for the zero time.
func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(document.VietnamTime).Format("02/01/2006")
}

// title is the register's heading: "SỔ ĐĂNG KÝ VĂN BẢN ĐI" and its kind
// ("mật", "quy phạm pháp luật") taken from the register name.
func (r *Register) title() string {
	t := "SỔ ĐĂNG KÝ VĂN BẢN ĐI"
	base := "Sổ văn bản đi"
	if r.Direction == document.Incoming {
		t, base = "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN", "Sổ văn bản đến"
	}
	kind := strings.TrimSpace(strings.TrimPrefix(r.Name, base))
	if i := strings.LastIndex(kind, "năm "); i >= 0 {
		kind = strings.TrimSpace(kind[:i])
	}
	if kind != "" {
		t += " " + strings.ToUpper(kind)
	}
	return t
}

// span is the "Từ ngày ... đến ngày ..." and "Từ số ... đến số ..." lines.
func (r *Register) span() (days, numbers string) {
	p := r.Period
	if p.From.IsZero() && p.To.IsZero() {
		p = Year(r.Year)
	}
	from, to := p.From, p.To
	if from.IsZero() {
		from = Year(r.Year).From
	}
	if to.IsZero() {
		to = Year(r.Year).To
	}
	days = "Từ ngày " + day(from) + " đến ngày " + day(to.Add(-time.Second))
	if len(r.Entries) == 0 {
		return days, "Không có văn bản"
	}
	return days, "Từ số " + document.FormatNumber(r.Entries[0].Number) + " đến số " + document.FormatNumber(r.Entries[len(r.Entries)-1].Number)
}

// column is one column of a printed table: its heading and its width in
// millimetres on the A4 landscape page (the widths of a table add up to the
// 267 mm between the margins).
type column struct {
	heading string
	width   float64
	center  bool
}

var outgoingColumns = []column{
	{"Số, ký hiệu văn bản", 30, true},
	{"Ngày tháng văn bản", 22, true},
	{"Tên loại và trích yếu nội dung văn bản", 70, false},
	{"Người ký", 30, false},
	{"Nơi nhận văn bản", 40, false},
	{"Đơn vị, người nhận bản lưu", 30, false},
	{"Số lượng bản", 15, true},
	{"Ghi chú", 30, false},
}

var incomingColumns = []column{
	{"Ngày đến", 20, true},
	{"Số đến", 15, true},
	{"Tác giả", 35, false},
	{"Số, ký hiệu", 27, true},
	{"Ngày tháng", 20, true},
	{"Tên loại và trích yếu nội dung", 65, false},
	{"Đơn vị hoặc người nhận", 35, false},
	{"Ký nhận", 22, false},
	{"Ghi chú", 28, false},
}

// table returns the register's columns and its rows as text.
func (r *Register) table() ([]column, [][]string) {
	rows := make([][]string, len(r.Entries))
	if r.Direction == document.Incoming {
		for i, e := range r.Entries {
			rows[i] = []string{day(e.ReceivedAt), document.FormatNumber(e.Number), e.Sender, e.Symbol, day(e.SenderDate),
				typeAndSubject(e), e.HandledBy, e.Acknowledged, e.Note}
		}
		return incomingColumns, rows
	}
	for i, e := range r.Entries {
		rows[i] = []string{e.Symbol, day(e.Date), typeAndSubject(e), e.Signer, strings.Join(e.Recipients, "; "),
			e.KeptBy, itoa(e.Copies), e.Note}
	}
	return outgoingColumns, rows
}

func typeAndSubject(e Entry) string {
	if e.TypeName == "" {
		return e.Subject
	}
	return e.TypeName + ": " + e.Subject
}

var processingColumns = []column{
	{"Đơn vị", 47, false},
	{"Đến: tiếp nhận", 22, true},
	{"Đến: đã giải quyết", 22, true},
	{"Đúng hạn", 22, true},
	{"Quá hạn", 22, true},
	{"Đang giải quyết", 22, true},
	{"Trong đó quá hạn", 22, true},
	{"Đi: soạn thảo", 22, true},
	{"Đi: đã ban hành", 22, true},
	{"Đi: đang xử lý", 22, true},
	{"Đi: đã hủy", 22, true},
}

// table returns the report's columns and rows, the total last.
func (p *Processing) table() ([]column, [][]string) {
	row := func(name string, u UnitProcessing) []string {
		return []string{name, itoa(u.InReceived), itoa(u.InCompleted), itoa(u.InOnTime), itoa(u.InLate), itoa(u.InOpen),
			itoa(u.InOverdue), itoa(u.OutCreated), itoa(u.OutIssued), itoa(u.OutOpen), itoa(u.OutWithdrawn)}
	}
	var rows [][]string
	for _, u := range p.Units {
		rows = append(rows, row(u.UnitName, u))
	}
	rows = append(rows, row("Tổng cộng", p.Total))
	return processingColumns, rows
}

func (p *Processing) span() string {
	return "Từ ngày " + day(p.Period.From) + " đến ngày " + day(p.Period.To.Add(-time.Second))
}
