package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// isTyped reports whether err wraps one of the package's error kinds.
func isTyped(err error) bool {
	for _, k := range []error{ErrMalformed, ErrLimit, ErrUnsupported, ErrUserPasswordRequired, ErrNotFound} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// appendSection appends an xref table section for the given objects with
// the trailer body, returning the new file.
func appendSection(base []byte, objs map[int]string, trailer string) []byte {
	var buf bytes.Buffer
	buf.Write(base)
	offs := map[int]int{}
	for n := 1; n < 1000; n++ {
		if body, ok := objs[n]; ok {
			offs[n] = buf.Len()
			fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", n, body)
		}
	}
	x := buf.Len()
	buf.WriteString("xref\n")
	for n := 1; n < 1000; n++ {
		if o, ok := offs[n]; ok {
			fmt.Fprintf(&buf, "%d 1\n%010d 00000 n \n", n, o)
		}
	}
	fmt.Fprintf(&buf, "trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n", strings.ReplaceAll(trailer, "$SELF", fmt.Sprint(x)), x)
	return buf.Bytes()
}

func lastStartXRef(b []byte) int {
	i := bytes.LastIndex(b, []byte("startxref"))
	n, _ := strconv.Atoi(strings.Fields(string(b[i+9:]))[0])
	return n
}

func TestOpenMalformed(t *testing.T) {
	base := basePDF(3)
	prevBase := lastStartXRef(base)
	zeros := flateBytes(make([]byte, 4<<20))

	tests := []struct {
		name string
		data []byte
		opts *ReadOptions
		want error
	}{
		{"empty", nil, nil, ErrMalformed},
		{"tiny", []byte("%PDF-1"), nil, ErrMalformed},
		{"not a pdf", bytes.Repeat([]byte("hello world\n"), 200), nil, ErrMalformed},
		{"no startxref", bytes.ReplaceAll(base, []byte("startxref"), []byte("startxraf")), nil, ErrMalformed},
		{"startxref past end", bytes.Replace(base, []byte(fmt.Sprintf("startxref\n%d", prevBase)), []byte("startxref\n99999999"), 1), nil, ErrMalformed},
		// Far from any section: nothing to recover (a few bytes off is read, see TestOffsetsOffByAFewBytes).
		{"startxref into garbage", bytes.Replace(base, []byte(fmt.Sprintf("startxref\n%d", prevBase)), []byte(fmt.Sprintf("startxref\n%d", prevBase/2)), 1), nil, ErrMalformed},
		{"damaged xref keyword", bytes.Replace(base, []byte("xref\n0 "), []byte("xraf\n0 "), 1), nil, ErrMalformed},
		{"damaged xref entry", bytes.Replace(base, []byte(" 00000 n \n"), []byte(" 0000x n \n"), 1), nil, ErrMalformed},
		{"bad entry type", bytes.Replace(base, []byte(" 00000 n \n"), []byte(" 00000 q \n"), 1), nil, ErrMalformed},
		{"trailer not dict", bytes.Replace(base, []byte("trailer\n<<"), []byte("trailer\n[ <<"), 1), nil, ErrMalformed},
		{"no root", bytes.Replace(base, []byte("/Root 1 0 R"), []byte("/Rot 1 0 R"), 1), nil, ErrMalformed},
		{"prev loop to self", appendSection(base, map[int]string{6: "<< /Producer (x) >>"}, "/Size 210 /Root 1 0 R /Prev $SELF"), nil, ErrMalformed},
		{"prev outside file", appendSection(base, nil, "/Size 210 /Root 1 0 R /Prev 123456789"), nil, ErrMalformed},
		{"too many sections", func() []byte {
			b := base
			for i := 0; i < 5; i++ {
				b = appendSection(b, map[int]string{6: "<< >>"}, fmt.Sprintf("/Size 210 /Root 1 0 R /Prev %d", lastStartXRef(b)))
			}
			return b
		}(), &ReadOptions{MaxXRefSections: 3}, ErrLimit},
		{"xref stream bomb", func() []byte {
			var buf bytes.Buffer
			buf.WriteString("%PDF-1.5\n")
			x := buf.Len()
			fmt.Fprintf(&buf, "1 0 obj\n<< /Type /XRef /Size 2 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n", len(zeros))
			buf.Write(zeros)
			fmt.Fprintf(&buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", x)
			return buf.Bytes()
		}(), &ReadOptions{MaxStreamSize: 1 << 20}, ErrLimit},
		{"xref stream bad W", func() []byte {
			var buf bytes.Buffer
			buf.WriteString("%PDF-1.5\n")
			x := buf.Len()
			buf.WriteString("1 0 obj\n<< /Type /XRef /Size 2 /W [1 40 2] /Root 1 0 R /Length 0 >>\nstream\n\nendstream\nendobj\n")
			fmt.Fprintf(&buf, "startxref\n%d\n%%%%EOF\n", x)
			return buf.Bytes()
		}(), nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(bytes.NewReader(tc.data), int64(len(tc.data)), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open err = %v, want %v", err, tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *Error", err)
			}
		})
	}
}

func TestPrevLoopOfTwo(t *testing.T) {
	base := basePDF(2)
	// Section A (/Prev to base), section B (/Prev to A), then rewrite A's
	// /Prev to point at B: A -> B -> A.
	a := appendSection(base, map[int]string{6: "<< >>"}, "/Size 210 /Root 1 0 R /Prev 0000000000")
	aOff := lastStartXRef(a)
	b := appendSection(a, map[int]string{6: "<< >>"}, fmt.Sprintf("/Size 210 /Root 1 0 R /Prev %010d", aOff))
	bOff := lastStartXRef(b)
	b = bytes.Replace(b, []byte("/Prev 0000000000"), []byte(fmt.Sprintf("/Prev %010d", bOff)), 1)
	_, err := Open(bytes.NewReader(b), int64(len(b)), nil)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "loop") {
		t.Fatalf("err = %v, want a /Prev loop ErrMalformed", err)
	}
}

func TestObjectLimits(t *testing.T) {
	zeros := flateBytes(make([]byte, 4<<20))
	b := &pdfBuilder{}
	b.set(1, "<< /Type /Catalog /Pages 2 0 R >>")
	b.set(2, "<< /Type /Pages /Kids [] /Count 0 >>")
	b.set(10, "11 0 R")
	b.set(11, "10 0 R")
	b.set(12, streamBody("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", zeros))
	b.set(14, strings.Repeat("[", 500)+strings.Repeat("]", 500))
	b.set(15, streamBody("/Type /ObjStm /N 999999 /First 4", []byte("16 0 << >>")))
	b.set(17, streamBody("/Filter /DCTDecode", []byte("not really a jpeg")))
	b.set(18, "<< /Length 18 0 R >>\nstream\nabc\nendstream") // self-referencing /Length
	b.set(19, "<< /Length 20 0 R >>\nstream\nabcd\nendstream")
	b.set(20, "19 0 R")
	data := b.bytes()
	// Point object 13 into the bomb and 16 into the oversized object stream
	// via an xref stream appended as an update.
	var buf bytes.Buffer
	buf.Write(data)
	x := buf.Len()
	row := func(t byte, f2, f3 int) []byte {
		return []byte{t, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)}
	}
	var rows []byte
	rows = append(rows, row(2, 12, 0)...)
	rows = append(rows, row(2, 15, 0)...)
	rows = append(rows, row(1, x, 0)...)
	fmt.Fprintf(&buf, "21 0 obj\n<< /Type /XRef /Size 22 /W [1 4 2] /Index [13 1 16 1 21 1] /Root 1 0 R /Prev %d /Length %d >>\nstream\n", lastStartXRef(data), len(rows))
	buf.Write(rows)
	fmt.Fprintf(&buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", x)
	data = buf.Bytes()

	r, err := Open(bytes.NewReader(data), int64(len(data)), &ReadOptions{MaxStreamSize: 1 << 20, MaxObjStmObjects: 1000})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, num uint32, want error) {
		t.Helper()
		_, err := r.Resolve(Ref{Num: num})
		if !errors.Is(err, want) {
			t.Errorf("%s: Resolve(%d) err = %v, want %v", name, num, err, want)
		}
	}
	check("reference loop", 10, ErrLimit)
	check("zip bomb object stream", 13, ErrLimit)
	check("deep nesting", 14, ErrLimit)
	check("too many objects in object stream", 16, ErrLimit)
	o, err := r.Resolve(Ref{Num: 17})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.(*Stream).Decoded(0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("DCT decode err = %v, want ErrUnsupported", err)
	}
	for _, num := range []uint32{18, 19} {
		o, err := r.Resolve(Ref{Num: num})
		if err != nil {
			t.Fatalf("object %d: %v", num, err)
		}
		d, err := o.(*Stream).Decoded(0)
		if err != nil || !bytes.HasPrefix([]byte("abcd"), d) || len(d) < 3 {
			t.Errorf("object %d data %q, %v", num, d, err)
		}
	}
	// Undefined objects resolve to null, Object reports ErrNotFound.
	if o, err := r.Resolve(Ref{Num: 999}); err != nil || o != (Null{}) {
		t.Errorf("Resolve(999) = %v, %v", o, err)
	}
	if _, err := r.Object(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Object(999) err = %v", err)
	}
}

// TestTruncated cuts fixtures at many offsets: Open and reading every object
// must end in a typed error or succeed, never panic.
func TestTruncated(t *testing.T) {
	inputs := [][]byte{basePDF(3), hybridPDF()}
	if q, err := lookQpdf(); err == nil && q {
		inputs = append(inputs, qpdf(t, basePDF(3), "--object-streams=generate"), qpdf(t, basePDF(3), "--encrypt", "", "o", "256", "--"))
	}
	for _, in := range inputs {
		step := max(1, len(in)/150)
		for cut := 0; cut < len(in); cut += step {
			for _, data := range [][]byte{in[:cut], append(append([]byte{}, in[:cut]...), in[len(in)-40:]...)} {
				r, err := Open(bytes.NewReader(data), int64(len(data)), nil)
				if err != nil {
					if !isTyped(err) {
						t.Fatalf("cut %d: untyped error %v", cut, err)
					}
					continue
				}
				for _, ref := range r.Objects() {
					o, err := r.Resolve(ref)
					if err != nil {
						if !isTyped(err) {
							t.Fatalf("cut %d: object %v: untyped error %v", cut, ref, err)
						}
						continue
					}
					if s, ok := o.(*Stream); ok {
						if _, err := s.Decoded(0); err != nil && !isTyped(err) {
							t.Fatalf("cut %d: stream %v: untyped error %v", cut, ref, err)
						}
					}
				}
				r.Page(1)
				r.AcroForm()
				r.Revisions()
			}
		}
	}
}

func TestXRefSubsectionOffByOne(t *testing.T) {
	base := basePDF(1)
	bad := bytes.Replace(base, []byte("xref\n0 "), []byte("xref\n1 "), 1)
	r := openBytes(t, bad)
	readAll(t, r)
}
