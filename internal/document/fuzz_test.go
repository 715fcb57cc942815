package document_test

import (
	"bufio"
	"errors"
	"testing"
	"time"

	"vanban/internal/document"
)

// FuzzParseHolidays: arbitrary text is parsed or rejected with EINVALID, and
// whatever parses builds a calendar.
func FuzzParseHolidays(f *testing.F) {
	f.Add("2026-01-01 Tết\n# c\n\n2026-04-30 x")
	f.Add("2026-13-40 bad")
	f.Fuzz(func(t *testing.T, text string) {
		hs, err := document.ParseHolidays(text)
		if err != nil {
			if document.ErrorCode(err) != document.EINVALID && !errors.Is(err, bufio.ErrTooLong) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		cal, err := document.NewCalendar(hs)
		if err != nil {
			t.Fatalf("parsed holidays rejected: %v", err)
		}
		start := time.Date(2026, 1, 1, 9, 0, 0, 0, document.VietnamTime)
		if d := cal.AddWorkingDays(start, 3); !d.After(start) {
			t.Fatalf("AddWorkingDays went backwards: %v", d)
		}
	})
}
