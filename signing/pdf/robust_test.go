package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// appendStreamSection appends the objects and a cross-reference stream
// (object xrefNum, listing itself) with the extra dictionary entries.
func appendStreamSection(base []byte, objs map[int]string, xrefNum int, extra string) []byte {
	var buf bytes.Buffer
	buf.Write(base)
	offs := map[int]int{}
	var nums []int
	for n, body := range objs {
		offs[n] = buf.Len()
		nums = append(nums, n)
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	x := buf.Len()
	offs[xrefNum] = x
	nums = append(nums, xrefNum)
	sort.Ints(nums)
	var index []string
	var data []byte
	for _, n := range nums {
		index = append(index, fmt.Sprintf("%d 1", n))
		o := offs[n]
		data = append(data, 1, byte(o>>24), byte(o>>16), byte(o>>8), byte(o), 0, 0)
	}
	fmt.Fprintf(&buf, "%d 0 obj\n<< /Type /XRef /W [1 4 2] /Index [%s] %s /Length %d >>\nstream\n", xrefNum, strings.Join(index, " "), extra, len(data))
	buf.Write(data)
	fmt.Fprintf(&buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", x)
	return buf.Bytes()
}

func producer(t *testing.T, r *Reader) string {
	t.Helper()
	ref, ok := r.Info()
	if !ok {
		t.Fatal("no /Info")
	}
	d, err := r.ResolveDict(ref)
	if err != nil || d == nil {
		t.Fatalf("Info: %v", err)
	}
	s, _ := d.Get("Producer").(String)
	return s.Text()
}

// withStartXRef rewrites the last startxref value.
func withStartXRef(b []byte, off int) []byte {
	i := bytes.LastIndex(b, []byte("startxref"))
	out := append([]byte(nil), b[:i]...)
	return fmt.Appendf(out, "startxref\n%d\n%%%%EOF\n", off)
}

// TestOffsetsOffByAFewBytes: a startxref or /Prev that misses its section
// by a few bytes (miscounted line ends) is read, as qpdf and pdfium do.
func TestOffsetsOffByAFewBytes(t *testing.T) {
	base := basePDF(2)
	x := lastStartXRef(base)
	for _, delta := range []int{-3, -1, 2, 5} {
		b := withStartXRef(base, x+delta)
		r, err := Open(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatalf("startxref %+d: %v", delta, err)
		}
		if n, err := r.NumPages(); err != nil || n != 2 {
			t.Fatalf("startxref %+d: %d pages, %v", delta, n, err)
		}
	}
	// An update whose /Prev is 4 bytes short of the base's table.
	upd := appendSection(base, map[int]string{6: "<< /Producer (update) >>"}, fmt.Sprintf("/Size 210 /Root 1 0 R /Info 6 0 R /Prev %d", x-4))
	r := openBytes(t, upd)
	if got := producer(t, r); got != "update" {
		t.Fatalf("producer %q", got)
	}
	if n, err := r.NumPages(); err != nil || n != 2 {
		t.Fatalf("%d pages, %v", n, err)
	}
	revs, err := r.Revisions()
	if err != nil || len(revs) != 2 {
		t.Fatalf("revisions %v, %v", revs, err)
	}
}

// TestHybridArrangements reads hybrid files whose /XRefStm points into a
// section already read, and files that mix tables and streams across
// revisions.
func TestHybridArrangements(t *testing.T) {
	hy := hybridPDF()
	hx := lastStartXRef(hy)
	xs := bytes.Index(hy, []byte("7 0 obj\n<< /Type /XRef"))
	if xs < 0 {
		t.Fatal("fixture changed")
	}
	cases := map[string][]byte{
		// An update table that repeats the original /XRefStm (some
		// producers copy the trailer): the stream was read already.
		"xrefstm repeated by an update": appendSection(hy, map[int]string{10: "<< /Extra true >>"},
			fmt.Sprintf("/Size 11 /Root 1 0 R /Info 6 0 R /XRefStm %d /Prev %d", xs, hx)),
		// The update's /XRefStm is the /Prev section of another part of the chain.
		"xrefstm is a prev section": func() []byte {
			s := appendStreamSection(hy, map[int]string{10: "<< /Extra true >>"}, 11, fmt.Sprintf("/Size 12 /Root 1 0 R /Info 6 0 R /Prev %d", hx))
			sx := lastStartXRef(s)
			return appendSection(s, map[int]string{12: "<< /More true >>"}, fmt.Sprintf("/Size 13 /Root 1 0 R /Info 6 0 R /XRefStm %d /Prev %d", sx, sx))
		}(),
		// Table, then stream, then table, then stream.
		"mixed table and stream revisions": func() []byte {
			b := basePDF(2)
			b = appendStreamSection(b, map[int]string{210: "<< /A 1 >>"}, 211, fmt.Sprintf("/Size 212 /Root 1 0 R /Info 6 0 R /Prev %d", lastStartXRef(b)))
			b = appendSection(b, map[int]string{212: "<< /B 2 >>"}, fmt.Sprintf("/Size 213 /Root 1 0 R /Info 6 0 R /Prev %d", lastStartXRef(b)))
			b = appendStreamSection(b, map[int]string{6: "<< /Producer (mixed) >>"}, 213, fmt.Sprintf("/Size 214 /Root 1 0 R /Info 6 0 R /Prev %d", lastStartXRef(b)))
			return b
		}(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			r := openBytes(t, b)
			want := "hybrid in objstm"
			if strings.HasPrefix(name, "mixed") {
				want = "mixed"
				for _, n := range []uint32{210, 212} {
					if _, err := r.Object(n); err != nil {
						t.Fatalf("object %d: %v", n, err)
					}
				}
			}
			if got := producer(t, r); got != want {
				t.Fatalf("producer %q, want %q", got, want)
			}
			if _, err := r.Catalog(); err != nil {
				t.Fatal(err)
			}
			revs, err := r.Revisions()
			if err != nil || len(revs) < 2 {
				t.Fatalf("revisions %v, %v", revs, err)
			}
			// Every revision opens on its own.
			for _, end := range revs {
				if _, err := Open(bytes.NewReader(b[:end]), end, nil); err != nil {
					t.Fatalf("revision ending at %d: %v", end, err)
				}
			}
		})
	}
}

// TestFreeListOddities: free entries that are not linked properly, a
// non-free object 0, offsets on free entries, and an update that frees
// an object of an earlier revision.
func TestFreeListOddities(t *testing.T) {
	base := basePDF(2)
	x := lastStartXRef(base)
	var odd bytes.Buffer
	odd.Write(base)
	o := odd.Len()
	odd.WriteString("11 0 obj\n<< /Odd true >>\nendobj\n")
	tab := odd.Len()
	// Object 0 "in use" (a known producer bug), object 6 freed with a
	// next-free pointer into nowhere, 10 free with an offset, 11 in use.
	fmt.Fprintf(&odd, "xref\n0 1\n0000000000 00000 n \n6 1\n0000099999 00001 f \n10 2\n%010d 00000 f \n%010d 00000 n \n", o, o)
	fmt.Fprintf(&odd, "trailer\n<< /Size 210 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", x, tab)
	r := openBytes(t, odd.Bytes())
	if _, err := r.Object(6); !errors.Is(err, ErrNotFound) {
		t.Fatalf("freed object 6: %v", err)
	}
	if obj, err := r.Resolve(Ref{Num: 6}); err != nil || obj != (Null{}) {
		t.Fatalf("reference to a freed object resolves to %v, %v", obj, err)
	}
	if _, err := r.Object(11); err != nil {
		t.Fatalf("object 11: %v", err)
	}
	if n, err := r.NumPages(); err != nil || n != 2 {
		t.Fatalf("%d pages, %v", n, err)
	}
}

// TestDuplicateKeys: the last value of a repeated key wins (as in qpdf
// and pdfium), and a large dictionary with many repeats parses quickly.
func TestDuplicateKeys(t *testing.T) {
	p := &parser{lx: newBytesLexer([]byte("<< /A 1 /B 2 /A 3 >>"), 0, 1<<20), maxDepth: 10, maxItems: 1 << 20}
	o, err := p.object(0)
	if err != nil {
		t.Fatal(err)
	}
	d := o.(*Dict)
	if v, _ := d.Int("A"); v != 3 || len(d.Keys()) != 2 {
		t.Fatalf("got %v", d)
	}
	var big bytes.Buffer
	big.WriteString("<<")
	for i := 0; i < 200000; i++ {
		fmt.Fprintf(&big, " /K%d %d", i%50000, i)
	}
	big.WriteString(" >>")
	p = &parser{lx: newBytesLexer(big.Bytes(), 0, 1<<20), maxDepth: 10, maxItems: 1 << 20}
	o, err = p.object(0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(o.(*Dict).Keys()); n != 50000 {
		t.Fatalf("%d keys", n)
	}
}

// TestPublicKeySecurityHandler: a document encrypted for certificate
// recipients gets a typed "unsupported" error that names the handler.
func TestPublicKeySecurityHandler(t *testing.T) {
	b := &pdfBuilder{}
	b.set(1, "<< /Type /Catalog /Pages 2 0 R >>")
	b.set(2, "<< /Type /Pages /Kids [] /Count 0 >>")
	b.set(3, "<< /Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 /CF << /DefaultCryptFilter << /CFM /AESV2 /Recipients [<3000>] >> >> /StmF /DefaultCryptFilter /StrF /DefaultCryptFilter >>")
	b.trailer = "/Root 1 0 R /Encrypt 3 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>]"
	data := b.bytes()
	_, err := Open(bytes.NewReader(data), int64(len(data)), nil)
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrPublicKeySecurity) {
		t.Fatalf("err = %v, want ErrUnsupported and ErrPublicKeySecurity", err)
	}
	if !strings.Contains(err.Error(), "Adobe.PubSec") {
		t.Fatalf("error does not name the handler: %v", err)
	}
}
