package signtest

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Limits of GenerateLargePDF: the xref table keeps one offset per object in memory (16 bytes per
// page), so page counts stay within what a benchmark needs.
const (
	MaxLargePDFPages        = 5_000_000
	MaxLargePDFBytesPerPage = 64 << 20
	largePDFGroupSize       = 1000 // pages per intermediate /Pages node
)

// GenerateLargePDF streams a valid PDF 1.4 with pages pages to w: a classic xref table, a
// two-level page tree, one Helvetica font, and per page a content stream of about bytesPerPage
// bytes (a visible "Page N of M" line padded with content-stream comments). Only the object
// offsets are kept in memory, never the content, so a 250 MB / 50,000-page benchmark input costs
// a few megabytes. bytesPerPage below the size of the text line gives pages with just the line.
// Errors: ErrInvalidArgument (wrapped) for out-of-range parameters, or w's write error.
func GenerateLargePDF(w io.Writer, pages int, bytesPerPage int) error {
	if pages < 1 || pages > MaxLargePDFPages {
		return fmt.Errorf("%w: pages %d not in 1..%d", ErrInvalidArgument, pages, MaxLargePDFPages)
	}
	if bytesPerPage < 0 || bytesPerPage > MaxLargePDFBytesPerPage {
		return fmt.Errorf("%w: bytesPerPage %d not in 0..%d", ErrInvalidArgument, bytesPerPage, MaxLargePDFBytesPerPage)
	}
	g := &largeWriter{w: bufio.NewWriterSize(w, 256<<10)}
	groups := (pages + largePDFGroupSize - 1) / largePDFGroupSize
	// Object numbers: 1 catalog, 2 root /Pages, 3 font, 4 info, then the groups, then page i
	// (0-based) as pageObj(i) with its content stream right after it.
	firstGroup := 5
	pageObj := func(i int) int { return firstGroup + groups + 2*i }
	size := pageObj(pages-1) + 2 // highest object number + 1
	g.offsets = make([]int64, size)

	g.str("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	g.object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	g.begin(2)
	g.str("<< /Type /Pages /Count " + strconv.Itoa(pages) + " /Kids [")
	for k := 0; k < groups; k++ {
		g.str(" " + strconv.Itoa(firstGroup+k) + " 0 R")
	}
	g.str(" ] >>\nendobj\n")
	g.object(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	g.object(4, fmt.Sprintf("<< /Producer (vanban signtest.GenerateLargePDF) /Title (Large test PDF, %d pages) >>", pages))
	for k := 0; k < groups; k++ {
		first := k * largePDFGroupSize
		last := min(first+largePDFGroupSize, pages)
		g.begin(firstGroup + k)
		g.str("<< /Type /Pages /Parent 2 0 R /Count " + strconv.Itoa(last-first) + " /Kids [")
		for i := first; i < last; i++ {
			g.str(" " + strconv.Itoa(pageObj(i)) + " 0 R")
		}
		g.str(" ] >>\nendobj\n")
	}

	filler := make([]byte, 100)
	for i := range filler {
		filler[i] = 'x'
	}
	filler[0], filler[len(filler)-1] = '%', '\n'
	for i := 0; i < pages; i++ {
		obj := pageObj(i)
		g.object(obj, "<< /Type /Page /Parent "+strconv.Itoa(firstGroup+i/largePDFGroupSize)+
			" 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents "+
			strconv.Itoa(obj+1)+" 0 R >>")
		text := fmt.Sprintf("BT /F1 24 Tf 72 760 Td (Page %d of %d) Tj ET\n", i+1, pages)
		length := max(bytesPerPage, len(text))
		g.begin(obj + 1)
		g.str("<< /Length " + strconv.Itoa(length) + " >>\nstream\n")
		g.str(text)
		// Pad with whole comment lines, then one shorter comment line for the remainder.
		rest := length - len(text)
		for ; rest >= len(filler); rest -= len(filler) {
			g.bytes(filler)
		}
		if rest > 0 {
			line := filler[len(filler)-rest:]
			if rest > 1 {
				g.str("%")
				g.bytes(line[1:])
			} else {
				g.str("\n")
			}
		}
		g.str("\nendstream\nendobj\n")
		if g.err != nil {
			return g.err
		}
	}

	xref := g.off
	g.str("xref\n0 " + strconv.Itoa(size) + "\n0000000000 65535 f\r\n")
	for n := 1; n < size; n++ {
		g.str(fmt.Sprintf("%010d 00000 n\r\n", g.offsets[n]))
	}
	id := sha256.Sum256([]byte(fmt.Sprintf("vanban large pdf %d %d", pages, bytesPerPage)))
	g.str(fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R /ID [<%x> <%x>] >>\nstartxref\n%d\n%%%%EOF\n",
		size, id[:16], id[:16], xref))
	if g.err != nil {
		return g.err
	}
	return g.w.Flush()
}

// largeWriter counts bytes for the xref table and keeps the first write error, so the generator
// reads straight and checks once per page.
type largeWriter struct {
	w       *bufio.Writer
	off     int64
	offsets []int64
	err     error
}

func (g *largeWriter) bytes(b []byte) {
	if g.err != nil {
		return
	}
	n, err := g.w.Write(b)
	g.off += int64(n)
	g.err = err
}

func (g *largeWriter) str(s string) {
	if g.err != nil {
		return
	}
	n, err := g.w.WriteString(s)
	g.off += int64(n)
	g.err = err
}

func (g *largeWriter) begin(num int) {
	g.offsets[num] = g.off
	g.str(strconv.Itoa(num) + " 0 obj\n")
}

func (g *largeWriter) object(num int, body string) {
	g.begin(num)
	g.str(body + "\nendobj\n")
}

// LargePDFFile writes GenerateLargePDF's output to a file in the test's temporary directory and
// returns its path, failing the test on any error.
func LargePDFFile(tb testing.TB, pages, bytesPerPage int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("large-%dpages.pdf", pages))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := GenerateLargePDF(f, pages, bytesPerPage); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}
