package signtest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestGenerateLargePDF(t *testing.T) {
	// 2,345 pages span three intermediate /Pages nodes, one of them partly filled.
	const pages, perPage = 2345, 1000
	path := LargePDFFile(t, pages, perPage)
	if err := QPDFCheck(t, path); err != nil {
		t.Fatal(err)
	}
	info := PDFInfo(t, path)
	if info["Pages"] != strconv.Itoa(pages) {
		t.Errorf("pdfinfo Pages = %q", info["Pages"])
	}
	size := fileSize(t, path)
	if size < pages*perPage || size > pages*(perPage+400) {
		t.Errorf("%d bytes for %d pages of %d content bytes", size, pages, perPage)
	}
	// The last page shows its own number: the page tree order is right.
	res, err := run(t, nil, "pdftotext", "-f", strconv.Itoa(pages), "-l", strconv.Itoa(pages), path, "-")
	if err != nil || res.exitCode != 0 {
		t.Fatalf("pdftotext: %v %s", err, res.stderr)
	}
	if want := "Page 2345 of 2345"; !bytes.Contains([]byte(res.stdout), []byte(want)) {
		t.Errorf("last page text %q, want %q", res.stdout, want)
	}
}

func TestGenerateLargePDFContentLengths(t *testing.T) {
	// Every padding remainder (0, 1 and more bytes after whole filler lines) must give a valid file.
	for _, perPage := range []int{0, 45, 46, 47, 146, 147, 300} {
		var buf bytes.Buffer
		if err := GenerateLargePDF(&buf, 3, perPage); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "p.pdf")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := QPDFCheck(t, path); err != nil {
			t.Errorf("bytesPerPage %d: %v", perPage, err)
		}
	}
}

func TestGenerateLargePDFErrors(t *testing.T) {
	for _, tc := range []struct{ pages, perPage int }{{0, 10}, {-1, 10}, {MaxLargePDFPages + 1, 10}, {1, -1}, {1, MaxLargePDFBytesPerPage + 1}} {
		if err := GenerateLargePDF(&bytes.Buffer{}, tc.pages, tc.perPage); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("pages %d perPage %d: %v", tc.pages, tc.perPage, err)
		}
	}
	errDisk := errors.New("disk full")
	if err := GenerateLargePDF(&failingWriter{after: 100_000, err: errDisk}, 500, 1000); !errors.Is(err, errDisk) {
		t.Errorf("failing writer: %v", err)
	}
}

type failingWriter struct {
	after int
	err   error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, w.err
	}
	w.after -= len(p)
	return len(p), nil
}

func BenchmarkGenerateLargePDF(b *testing.B) {
	b.SetBytes(1000 * 5000)
	for b.Loop() {
		if err := GenerateLargePDF(discard{}, 1000, 5000); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
