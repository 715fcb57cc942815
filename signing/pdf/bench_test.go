package pdf

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// writeLargePDF streams a PDF with the given number of pages, each with a
// content stream of about contentSize bytes of incompressible text, and a
// balanced page tree (fan-out 100). Nothing is held in memory but offsets.
func writeLargePDF(path string, pages, contentSize int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cw := &countingWriter{w: f}
	w := bufio.NewWriterSize(cw, 1<<20)
	pos := func() int64 { return cw.n + int64(w.Buffered()) }
	const fan = 100
	nodes := (pages + fan - 1) / fan
	firstNode, firstPage := 3, 3+nodes // objects: page i = firstPage+2i, content = +1
	total := firstPage + 2*pages
	offs := make([]int64, total)
	obj := func(n int, body string) {
		offs[n] = pos()
		fmt.Fprintf(w, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	w.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	var kids strings.Builder
	for i := 0; i < nodes; i++ {
		fmt.Fprintf(&kids, "%d 0 R ", firstNode+i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>", kids.String(), pages))
	for i := 0; i < nodes; i++ {
		kids.Reset()
		n := 0
		for p := i * fan; p < min(pages, (i+1)*fan); p++ {
			fmt.Fprintf(&kids, "%d 0 R ", firstPage+2*p)
			n++
		}
		obj(firstNode+i, fmt.Sprintf("<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>", kids.String(), n))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,;:"
	text := make([]byte, contentSize)
	for i := 0; i < pages; i++ {
		pn := firstPage + 2*i
		obj(pn, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Contents %d 0 R >>", firstNode+i/fan, pn+1))
		for j := range text {
			text[j] = alphabet[rng.IntN(len(alphabet))]
		}
		offs[pn+1] = pos()
		fmt.Fprintf(w, "%d 0 obj\n<< /Length %d >>\nstream\nBT /F1 9 Tf 36 800 Td (", pn+1, len(text)+len("BT /F1 9 Tf 36 800 Td () Tj ET"))
		w.Write(text)
		w.WriteString(") Tj ET\nendstream\nendobj\n")
	}
	xref := pos()
	fmt.Fprintf(w, "xref\n0 %d\n0000000000 65535 f \n", total)
	for n := 1; n < total; n++ {
		fmt.Fprintf(w, "%010d 00000 n \n", offs[n])
	}
	fmt.Fprintf(w, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", total, xref)
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

// peakRSS returns VmHWM (peak resident set) in bytes; resetPeakRSS restarts
// the measurement (Linux clear_refs "5").
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkOpenLarge: a ~250 MB, 50,000-page PDF; Open, look up the first
// and last page, write an incremental update to io.Discard. Reports the
// peak RSS of the process during the measured part and the heap in use.
func BenchmarkOpenLarge(b *testing.B) {
	const pages = 50000
	path := filepath.Join(b.TempDir(), "large.pdf")
	size, err := writeLargePDF(path, pages, 5000)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	resetPeakRSS()
	var maxHeap uint64
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Open(f, size, nil)
		if err != nil {
			b.Fatal(err)
		}
		p1, err := r.Page(1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Page(pages); err != nil {
			b.Fatal(err)
		}
		u := NewUpdate(r)
		annot := u.Add(NewDict(DictEntry{"Type", Name("Annot")}, DictEntry{"Subtype", Name("Widget")}, DictEntry{"P", p1.Ref}))
		pd := p1.Dict.Clone()
		pd.Set("Annots", Array{annot})
		if err := u.Replace(p1.Ref, pd); err != nil {
			b.Fatal(err)
		}
		n, err := u.WriteTo(io.Discard)
		if err != nil || n <= size {
			b.Fatalf("WriteTo: %d, %v", n, err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		maxHeap = max(maxHeap, ms.HeapInuse)
	}
	b.StopTimer()
	rss := peakRSS()
	b.ReportMetric(float64(rss)/(1<<20), "peakRSS-MB")
	b.ReportMetric(float64(maxHeap)/(1<<20), "heapInuse-MB")
	b.ReportMetric(float64(size)/(1<<20), "file-MB")
	if rss > 64<<20 {
		b.Errorf("peak RSS %d MB exceeds the 64 MB budget", rss>>20)
	}
}
