package reports

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// writeNumberedRows writes rows rows of a number, a date and a text cell and
// returns the bytes allocated doing so, and how much of the file had reached
// out before close.
func writeNumberedRows(t *testing.T, out *countingWriter, rows int) (allocated uint64, beforeClose int) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w, err := newXLSXWriter(out, xlsxSheet{Name: "Rows", ColWidths: []float64{10, 12, 40}, FrozenRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		if err := w.newRow(); err != nil {
			t.Fatal(err)
		}
		w.number(xlsxCentred, int64(i*7919))
		w.date(xlsxDate, day)
		w.text(xlsxWrapped, "Về việc phê duyệt kế hoạch <năm> & \"quý\"")
	}
	beforeClose = out.n
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, beforeClose
}

// TestXLSXWriterStreams checks that the writer holds no row: fifty times
// the rows cost no more memory, and the file leaves as it is written.
func TestXLSXWriterStreams(t *testing.T) {
	// The least of three runs, so that a compressor that zip's pool had
	// to allocate afresh counts as little as it can.
	leastAlloc := func(rows int) (allocated uint64, out countingWriter, beforeClose int) {
		for i := range 3 {
			var o countingWriter
			a, b := writeNumberedRows(t, &o, rows)
			if i == 0 || a < allocated {
				allocated, out, beforeClose = a, o, b
			}
		}
		return allocated, out, beforeClose
	}
	smallAlloc, small, _ := leastAlloc(1000)
	largeAlloc, large, beforeClose := leastAlloc(50000)
	t.Logf("1000 rows: %d bytes out, %d allocated; 50000 rows: %d bytes out (%d before close), %d allocated",
		small.n, smallAlloc, large.n, beforeClose, largeAlloc)
	// The 49000 more rows are 12 MB of sheet XML. The margin is for zip's
	// pooled compressors (800 KB each), which the race detector's pools
	// drop at random.
	if largeAlloc > smallAlloc+5<<20 {
		t.Errorf("50000 rows allocated %d bytes, 1000 rows %d: the writer keeps rows", largeAlloc, smallAlloc)
	}
	if beforeClose < large.n*3/4 {
		t.Errorf("only %d of %d bytes were written before close", beforeClose, large.n)
	}
}

func TestXLSXWriterDates(t *testing.T) {
	var buf bytes.Buffer
	w, err := newXLSXWriter(&buf, xlsxSheet{Name: "Dates"})
	if err != nil {
		t.Fatal(err)
	}
	// Serials Excel itself shows for these days; the days it cannot show
	// as dates are text.
	days := []struct {
		day  time.Time
		want string
	}{
		{time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), "61"},
		{time.Date(2026, 1, 1, 23, 59, 0, 0, time.UTC), "46023"},
		{time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("ICT", 7*3600)), "46023"},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "2958465"},
		{time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC), "28/02/1900"},
		{time.Date(1066, 10, 14, 0, 0, 0, 0, time.UTC), "14/10/1066"},
	}
	for _, d := range days {
		if err := w.newRow(); err != nil {
			t.Fatal(err)
		}
		w.date(xlsxDate, d.day)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range days {
		got, err := f.GetCellValue("Dates", "A"+itoa(i+1), excelize.Options{RawCellValue: true})
		if err != nil || got != d.want {
			t.Errorf("%s is written as %q (%v), want %s", d.day, got, err, d.want)
		}
	}
}

func TestXLSXCellRef(t *testing.T) {
	for col, want := range map[int]string{1: "A7", 26: "Z7", 27: "AA7", 52: "AZ7", 702: "ZZ7", 703: "AAA7", 16384: "XFD7"} {
		if got := string(appendCellRef(nil, col, 7)); got != want {
			t.Errorf("column %d = %s, want %s", col, got, want)
		}
	}
}

func TestXLSXSheetNames(t *testing.T) {
	for _, name := range []string{"Sổ văn bản đến", "Tình hình xử lý", "a", strings.Repeat("ệ", 31), "It's"} {
		if err := checkSheetName(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
	for _, name := range []string{"", strings.Repeat("ệ", 32), strings.Repeat("😀", 16), "a/b", "[x]", "q?", "'quoted'", "History",
		"tab\there", "bad\xff"} {
		if err := checkSheetName(name); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
}
