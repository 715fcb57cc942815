package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// requireTool returns the path of an external tool, skipping the test when
// it is missing (failing under VANBAN_REQUIRE_SERVICES=1, as CI sets).
func requireTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("%s not installed but VANBAN_REQUIRE_SERVICES=1: %v", name, err)
		}
		tb.Skipf("%s not installed (apt-get install qpdf): %v", name, err)
	}
	return p
}

// pdfBuilder writes a classic PDF (xref table) from object bodies, so test
// inputs do not depend on the code under test.
type pdfBuilder struct {
	objs    map[int]string
	trailer string
}

func (b *pdfBuilder) set(num int, body string) {
	if b.objs == nil {
		b.objs = map[int]string{}
	}
	b.objs[num] = body
}

func flateBytes(p []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(p)
	zw.Close()
	return buf.Bytes()
}

func streamBody(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

func (b *pdfBuilder) bytes() []byte {
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	nums := make([]int, 0, len(b.objs))
	maxNum := 0
	for n := range b.objs {
		nums = append(nums, n)
		maxNum = max(maxNum, n)
	}
	sort.Ints(nums)
	offs := map[int]int{}
	for _, n := range nums {
		offs[n] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", n, b.objs[n])
	}
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", maxNum+1)
	for n := 1; n <= maxNum; n++ {
		if o, ok := offs[n]; ok {
			fmt.Fprintf(&buf, "%010d 00000 n \n", o)
		} else {
			fmt.Fprintf(&buf, "0000000000 00001 f \n")
		}
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", maxNum+1, b.trailer, xref)
	return buf.Bytes()
}

// basePDF returns a document with a two-level page tree (inherited
// MediaBox, Resources and Rotate), an Info dictionary with a UTF-16 title,
// an AcroForm whose /Fields is an indirect array, and compressed content.
func basePDF(pages int) []byte {
	b := &pdfBuilder{}
	b.set(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 7 0 R >>")
	half := (pages + 1) / 2
	b.set(2, fmt.Sprintf("<< /Type /Pages /Kids [3 0 R 4 0 R] /Count %d /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> >>", pages))
	var kidsA, kidsB []string
	first := 100
	for i := 0; i < pages; i++ {
		pn, cn := first+2*i, first+2*i+1
		parent := 3
		if i >= half {
			parent = 4
			kidsB = append(kidsB, fmt.Sprintf("%d 0 R", pn))
		} else {
			kidsA = append(kidsA, fmt.Sprintf("%d 0 R", pn))
		}
		extra := ""
		if i == 0 {
			extra = " /Annots [9 0 R]"
		}
		b.set(pn, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Contents %d 0 R%s >>", parent, cn, extra))
		content := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (Trang %d \\(thu\\) \\\\ nghiem) Tj ET\n", i+1)
		b.set(cn, streamBody("/Filter /FlateDecode", flateBytes([]byte(content))))
	}
	b.set(3, fmt.Sprintf("<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>", strings.Join(kidsA, " "), len(kidsA)))
	b.set(4, fmt.Sprintf("<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d /Rotate 90 /MediaBox [0 0 842 595] >>", strings.Join(kidsB, " "), len(kidsB)))
	b.set(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	// "Quyết định" in UTF-16BE with BOM.
	b.set(6, "<< /Title <FEFF0051007500791EBF007400200111 1ECB006E0068> /Producer (vanban test \\(base\\)) /CreationDate (D:20261125080000+07'00') >>")
	b.set(7, "<< /Fields 8 0 R /DA (/Helv 0 Tf 0 g) >>")
	b.set(8, "[9 0 R]")
	b.set(9, fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Tx /T (so_hieu) /V (123/QD-UBND) /Rect [400 780 560 800] /P %d 0 R /F 4 >>", first))
	b.trailer = "/Root 1 0 R /Info 6 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]"
	return b.bytes()
}

// qpdf runs qpdf on input and returns its output file's bytes.
func qpdf(tb testing.TB, input []byte, args ...string) []byte {
	tb.Helper()
	bin := requireTool(tb, "qpdf")
	dir := tb.TempDir()
	in := filepath.Join(dir, "in.pdf")
	out := filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, input, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, append(append([]string{in}, args...), out)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		// Exit status 3 means warnings only: the output exists.
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			tb.Fatalf("qpdf %v: %v\n%s", args, err, msg)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// qpdfCheck runs "qpdf --check" and returns its exit code and output.
func qpdfCheck(tb testing.TB, path string) (int, string) {
	tb.Helper()
	bin := requireTool(tb, "qpdf")
	out, err := exec.Command(bin, "--check", "--password=", path).CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		tb.Fatal(err)
	}
	return 0, string(out)
}

// openBytes opens an in-memory PDF.
func openBytes(tb testing.TB, b []byte) *Reader {
	tb.Helper()
	r, err := Open(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return r
}

// lookQpdf reports whether qpdf is usable, failing under
// VANBAN_REQUIRE_SERVICES=1 when it is not.
func lookQpdf() (bool, error) {
	_, err := exec.LookPath("qpdf")
	if err != nil && os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
		return true, nil // let qpdf() fail the test loudly
	}
	return err == nil, nil
}
