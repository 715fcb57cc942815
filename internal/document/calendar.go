package document

import (
	"bufio"
	"strings"
	"time"
)

// Holiday is a day off for public offices, besides Saturdays and Sundays.
type Holiday struct {
	Date string // YYYY-MM-DD in Vietnam time
	Name string
}

// VietnamHolidays2026 lists the weekday days off for public servants in
// 2026: Tết Dương lịch, Tết Nguyên đán Bính Ngọ (14–22 Feb, of which 16–20
// are weekdays), Giỗ Tổ Hùng Vương (10/3 lunar fell on Sunday 26 Apr,
// compensated on Monday), 30/4, 1/5 and Quốc khánh. The government fixes the
// exact days every year; administrators load later years with ParseHolidays.
var VietnamHolidays2026 = []Holiday{
	{"2026-01-01", "Tết Dương lịch"},
	{"2026-02-16", "Tết Nguyên đán"},
	{"2026-02-17", "Tết Nguyên đán"},
	{"2026-02-18", "Tết Nguyên đán"},
	{"2026-02-19", "Tết Nguyên đán"},
	{"2026-02-20", "Tết Nguyên đán"},
	{"2026-04-27", "Giỗ Tổ Hùng Vương (nghỉ bù)"},
	{"2026-04-30", "Ngày Chiến thắng"},
	{"2026-05-01", "Ngày Quốc tế Lao động"},
	{"2026-09-01", "Quốc khánh"},
	{"2026-09-02", "Quốc khánh"},
}

// ParseHolidays reads one holiday a line, "YYYY-MM-DD name"; blank lines and
// lines starting with '#' are ignored.
func ParseHolidays(text string) ([]Holiday, error) {
	var out []Holiday
	sc := bufio.NewScanner(strings.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		date, name, _ := strings.Cut(s, " ")
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			return nil, Errorf(EINVALID, "holiday line %d: %q is not a YYYY-MM-DD date", line, date)
		}
		out = append(out, Holiday{Date: date, Name: strings.TrimSpace(name)})
	}
	return out, sc.Err()
}

// Calendar counts working days: Monday to Friday, except holidays. Dates are
// taken in Vietnam time whatever the zone of the times passed in.
type Calendar struct {
	holidays map[string]string
}

// NewCalendar builds a calendar. Invalid dates are rejected with ErrInvalid.
func NewCalendar(holidays []Holiday) (*Calendar, error) {
	c := &Calendar{holidays: make(map[string]string, len(holidays))}
	for _, h := range holidays {
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			return nil, Errorf(EINVALID, "holiday %q is not a YYYY-MM-DD date", h.Date)
		}
		c.holidays[h.Date] = h.Name
	}
	return c, nil
}

// IsWorkingDay reports whether the day of t (in Vietnam) is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	t = t.In(VietnamTime)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, holiday := c.holidays[t.Format(time.DateOnly)]
	return !holiday
}

// AddWorkingDays returns the moment n working days after t, keeping the time
// of day: the first counted day is the working day after t's day. n = 0
// returns t, or the start of the next working day when t's day is not one.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	t = t.In(VietnamTime)
	if n <= 0 {
		if c.IsWorkingDay(t) {
			return t
		}
		for !c.IsWorkingDay(t) {
			t = t.AddDate(0, 0, 1)
		}
		return startOfDay(t)
	}
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if c.IsWorkingDay(t) {
			n--
		}
	}
	return t
}

// Deadline is the end (23:59:59 Vietnam time) of the n-th working day after
// the day of t: the usual meaning of "within n working days".
func (c *Calendar) Deadline(t time.Time, n int) time.Time {
	d := c.AddWorkingDays(t, n)
	return startOfDay(d).AddDate(0, 0, 1).Add(-time.Second)
}

// WorkingDaysBetween counts the working days after from's day up to and
// including to's day; negative when to is before from.
func (c *Calendar) WorkingDaysBetween(from, to time.Time) int {
	from, to = startOfDay(from.In(VietnamTime)), startOfDay(to.In(VietnamTime))
	sign := 1
	if to.Before(from) {
		from, to, sign = to, from, -1
	}
	n := 0
	for d := from.AddDate(0, 0, 1); !d.After(to); d = d.AddDate(0, 0, 1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return sign * n
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}
