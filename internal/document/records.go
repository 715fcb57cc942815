package document

import (
	"strconv"
	"strings"
	"time"
)

// RecordFile is one file (hồ sơ) of an organization's yearly file list
// (danh mục hồ sơ, Decree 30/2020 Appendix VI): documents of one matter,
// kept together for as long as their retention period says.
type RecordFile struct {
	ID    string
	OrgID string
	Year  int
	// Number is the file's number in the year's list (1, 2, ...);
	// Notation its symbol, e.g. "01.VP" (số và ký hiệu hồ sơ).
	Number   int
	Notation string
	Title    string
	UnitID   string
	// ResponsibleID is the person who keeps the file (người lập hồ sơ).
	ResponsibleID string
	// ScheduleCode names the retention schedule entry the period came
	// from ("" when set by hand).
	ScheduleCode string
	Permanent    bool
	Years        int // retention in years when not permanent
	StartDate    time.Time
	EndDate      time.Time // zero while open
	Closed       bool
	ClosedAt     time.Time
	// HandoverDue is when the closed file is due at the archive
	// (one year after it closed, per the Law on Archives); NotifiedAt is
	// when its archivist was told, thirty days before.
	HandoverDue time.Time
	NotifiedAt  time.Time
	CreatedBy   string
	CreatedAt   time.Time
	// Documents is how many documents the file holds (read only).
	Documents int
}

// Retention describes the file's period in words.
func (f *RecordFile) Retention() string {
	if f.Permanent {
		return "Vĩnh viễn"
	}
	return strconv.Itoa(f.Years) + " năm"
}

// ScheduleEntry is one line of an organization's retention schedule
// (bảng thời hạn bảo quản), loaded from the Circular 10/2022/TT-BNV seed
// and edited by its administrators.
type ScheduleEntry struct {
	OrgID     string
	Code      string
	Title     string
	Permanent bool
	Years     int
	// Source says where the period comes from, e.g. "TT 10/2022/TT-BNV".
	Source string
}

// Validate checks an entry before it is stored.
func (e *ScheduleEntry) Validate() error {
	switch {
	case strings.TrimSpace(e.Code) == "" || len(e.Code) > 40:
		return Errorf(EINVALID, "a schedule entry needs a code of at most 40 characters")
	case strings.TrimSpace(e.Title) == "" || len(e.Title) > 1000:
		return Errorf(EINVALID, "a schedule entry needs a title of at most 1000 characters")
	case !e.Permanent && (e.Years < 1 || e.Years > 100):
		return Errorf(EINVALID, "a retention period is permanent or 1 to 100 years, not %d", e.Years)
	}
	return nil
}

// Validate checks a file before it is stored.
func (f *RecordFile) Validate() error {
	switch {
	case f.Year < 1900 || f.Year > 9999:
		return Errorf(EINVALID, "file year %d is out of range", f.Year)
	case strings.TrimSpace(f.Title) == "" || len(f.Title) > 2000:
		return Errorf(EINVALID, "a file needs a title of at most 2000 characters")
	case len(f.Notation) > 100:
		return Errorf(EINVALID, "the file notation is longer than 100 characters")
	case f.UnitID == "" || f.ResponsibleID == "":
		return Errorf(EINVALID, "a file needs a unit and a responsible person")
	case !f.Permanent && (f.Years < 1 || f.Years > 100):
		return Errorf(EINVALID, "a retention period is permanent or 1 to 100 years, not %d", f.Years)
	case f.StartDate.IsZero():
		return Errorf(EINVALID, "a file needs a start date")
	case !f.EndDate.IsZero() && f.EndDate.Before(f.StartDate):
		return Errorf(EINVALID, "the file ends before it starts")
	}
	return nil
}

// FileQuery selects files of an organization.
type FileQuery struct {
	OrgID string
	Year  int    // 0: every year
	Text  string // words of the title or notation, accents folded
	// State: "" every file, "open" or "closed".
	State string
	Limit int
}
