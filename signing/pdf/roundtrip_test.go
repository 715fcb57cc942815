package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

type fixture struct {
	name      string
	data      []byte
	encrypted bool
}

// hybridPDF builds a hybrid-reference file by hand (qpdf cannot): the xref
// table marks object 6 (Info) free, and the /XRefStm stream places it in an
// object stream, as PDF 1.5 files meant for older readers do.
func hybridPDF() []byte {
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	offs := map[int]int{}
	obj := func(n int, body string) {
		offs[n] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>")
	obj(4, streamBody("", []byte("BT ET")))
	inner := "<< /Producer (hybrid in objstm) >>"
	header := "6 0 "
	obj(5, streamBody(fmt.Sprintf("/Type /ObjStm /N 1 /First %d", len(header)), []byte(header+inner)))
	// Xref stream (object 7): entries for 5 (type 1), 6 (type 2 in 5), 7 itself.
	xoff := buf.Len()
	row := func(t byte, f2 int, f3 int) []byte {
		return []byte{t, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)}
	}
	var data []byte
	data = append(data, row(1, offs[5], 0)...)
	data = append(data, row(2, 5, 0)...)
	data = append(data, row(1, xoff, 0)...)
	offs[7] = xoff
	fmt.Fprintf(&buf, "7 0 obj\n<< /Type /XRef /Size 8 /W [1 4 2] /Index [5 3] /Length %d >>\nstream\n", len(data))
	buf.Write(data)
	buf.WriteString("\nendstream\nendobj\n")
	tab := buf.Len()
	buf.WriteString("xref\n0 8\n0000000000 65535 f \n")
	for n := 1; n <= 7; n++ {
		if n == 6 {
			buf.WriteString("0000000000 00000 f \n")
			continue
		}
		fmt.Fprintf(&buf, "%010d 00000 n \n", offs[n])
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size 8 /Root 1 0 R /Info 6 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n", xoff, tab)
	return buf.Bytes()
}

func fixtures(t *testing.T) []fixture {
	base := basePDF(7)
	fx := []fixture{
		{name: "table", data: base},
		{name: "hybrid", data: hybridPDF()},
		{name: "no-final-eol", data: bytes.TrimRight(base, "\n")},
	}
	if _, err := exec.LookPath("qpdf"); err != nil && os.Getenv("VANBAN_REQUIRE_SERVICES") != "1" {
		t.Logf("qpdf missing: only hand-built fixtures are tested")
		return fx
	}
	q := func(name string, enc bool, args ...string) {
		fx = append(fx, fixture{name: name, data: qpdf(t, base, args...), encrypted: enc})
	}
	q("objstm", false, "--object-streams=generate")
	q("linearized", false, "--linearize")
	q("linearized-objstm", false, "--linearize", "--object-streams=generate")
	q("rc4-40", true, "--allow-weak-crypto", "--encrypt", "", "owner", "40", "--")
	q("rc4-128", true, "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--")
	q("aes-128", true, "--encrypt", "", "owner", "128", "--use-aes=y", "--")
	q("aes-128-clear-metadata", true, "--encrypt", "", "owner", "128", "--use-aes=y", "--cleartext-metadata", "--")
	q("aes-256", true, "--encrypt", "", "owner", "256", "--")
	q("aes-256-r5", true, "--encrypt", "", "owner", "256", "--force-R5", "--")
	q("aes-256-objstm", true, "--encrypt", "", "owner", "256", "--", "--object-streams=generate")
	q("rc4-128-objstm", true, "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--", "--object-streams=generate")
	return fx
}

// realPDFs returns small PDFs shipped under /usr/share/doc: real producers
// (pdfTeX, dvipdfmx, LuaTeX, ...) with their quirks.
//
// By default only files up to 1 MB are used (the machine is shared); set
// VANBAN_PDF_CORPUS=all to use every file up to 8 MB.
func realPDFs(t *testing.T, maxFiles int) []fixture {
	maxSize := int64(1 << 20)
	if os.Getenv("VANBAN_PDF_CORPUS") == "all" {
		maxSize, maxFiles = 8<<20, 1000
	}
	var out []fixture
	filepath.WalkDir("/usr/share/doc", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".pdf") || len(out) >= maxFiles {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > maxSize {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			out = append(out, fixture{name: strings.TrimPrefix(p, "/usr/share/doc/"), data: b})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func TestFixturesRoundTrip(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) { exercise(t, f) })
	}
}

func TestRealPDFsRoundTrip(t *testing.T) {
	files := realPDFs(t, 30)
	if len(files) == 0 {
		t.Skip("no PDFs under /usr/share/doc")
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) { exercise(t, f) })
	}
}

// readAll walks every page and reads (and decodes) every object.
func readAll(t *testing.T, r *Reader) {
	t.Helper()
	n, err := r.NumPages()
	if err != nil {
		t.Fatalf("NumPages: %v", err)
	}
	for i := 1; i <= n; i++ {
		p, err := r.Page(i)
		if err != nil {
			t.Fatalf("Page(%d): %v", i, err)
		}
		if p.MediaBox[2] <= p.MediaBox[0] {
			t.Errorf("page %d: empty MediaBox %v", i, p.MediaBox)
		}
	}
	if _, err := r.Page(n + 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Page(n+1) = %v, want ErrNotFound", err)
	}
	for _, ref := range r.Objects() {
		o, err := r.Resolve(ref)
		if err != nil {
			t.Fatalf("Resolve(%v): %v", ref, err)
		}
		if s, ok := o.(*Stream); ok {
			if _, err := s.Decoded(0); err != nil && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("decoding stream %v: %v", ref, err)
			}
		}
	}
}

func exercise(t *testing.T, f fixture) {
	r := openBytes(t, f.data)
	if r.Encrypted() != f.encrypted {
		t.Fatalf("Encrypted() = %v, want %v", r.Encrypted(), f.encrypted)
	}
	readAll(t, r)
	revs, err := r.Revisions()
	if err != nil {
		t.Fatal(err)
	}
	kind := r.XRefKind()

	u := NewUpdate(r)
	marker := NewDict(
		DictEntry{"Type", Name("VanbanTest")},
		DictEntry{"Note", String{Value: []byte("vanban test 123")}},
		DictEntry{"Title", TextString("Chữ ký số")},
	)
	mref := u.Add(marker)
	payload := []byte("stream payload for the test")
	sref := u.Add(NewFlateStream(NewDict(), payload))
	marker.Set("Data", sref)
	// A parsed stream copied under a new number: read from the file,
	// decrypted, re-encrypted with the new object's key.
	p1, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	contents := p1.Dict.Get("Contents")
	if a, ok := contents.(Array); ok && len(a) > 0 {
		contents = a[0]
	}
	var copyRef Ref
	var copyData []byte
	if cs, err := r.ResolveStream(contents); err == nil {
		if copyData, err = cs.Decoded(0); err == nil {
			copyRef = u.Add(cs)
			marker.Set("Copy", copyRef)
		}
	}
	cat, err := r.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	cat.Set("VanbanTest", mref)
	if err := u.Replace(r.Root(), cat); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outPath := filepath.Join(dir, "out.pdf")
	of, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.Write(of)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	of.Close()
	out, _ := os.ReadFile(outPath)
	if int64(len(out)) != res.Size {
		t.Fatalf("result size %d, file %d", res.Size, len(out))
	}
	// (a) the original is an exact prefix.
	if !bytes.HasPrefix(out, f.data) {
		t.Fatal("original is not a prefix of the output")
	}

	// Our own reader sees the new revision.
	r2 := openBytes(t, out)
	wantKind := XRefTable
	if kind == XRefStream {
		wantKind = XRefStream
	}
	if r2.XRefKind() != wantKind {
		t.Errorf("output xref kind %v, input %v", r2.XRefKind(), kind)
	}
	if id1, ok1 := r.ID(); ok1 {
		id2, _ := r2.ID()
		if !bytes.Equal(id1[0], id2[0]) || !bytes.Equal(id1[1], id2[1]) {
			t.Errorf("/ID changed")
		}
	}
	cat2, err := r2.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := r2.ResolveDict(cat2.Get("VanbanTest"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := m2.Get("Note").(String); string(s.Value) != "vanban test 123" {
		t.Errorf("Note read back as %q", s.Value)
	}
	if s, _ := m2.Get("Title").(String); s.Text() != "Chữ ký số" {
		t.Errorf("Title read back as %q", s.Text())
	}
	st, err := r2.ResolveStream(m2.Get("Data"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := st.Decoded(0); err != nil || !bytes.Equal(d, payload) {
		t.Errorf("stream read back as %q, %v", d, err)
	}
	if !copyRef.IsZero() {
		cs2, err := r2.ResolveStream(m2.Get("Copy"))
		if err != nil {
			t.Fatal(err)
		}
		if d, err := cs2.Decoded(0); err != nil || !bytes.Equal(d, copyData) {
			t.Errorf("copied stream differs: %v", err)
		}
	}
	readAll(t, r2)
	revs2, err := r2.Revisions()
	if err != nil {
		t.Fatal(err)
	}
	if len(revs2) != len(revs)+1 || revs2[len(revs2)-1] != int64(len(out)) {
		t.Errorf("revisions before %v, after %v (size %d)", revs, revs2, len(out))
	}
	if r2.Size() != int(r2.MaxObjectNumber())+1 {
		t.Errorf("/Size %d, highest object %d", r2.Size(), r2.MaxObjectNumber())
	}

	// (b) qpdf --check passes whenever it passed on the original.
	if _, err := exec.LookPath("qpdf"); err == nil || os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
		inPath := filepath.Join(dir, "in.pdf")
		os.WriteFile(inPath, f.data, 0o600)
		codeIn, _ := qpdfCheck(t, inPath)
		codeOut, msg := qpdfCheck(t, outPath)
		if codeOut != 0 && codeOut != codeIn {
			t.Errorf("qpdf --check: exit %d (original %d)\n%s", codeOut, codeIn, msg)
		}
		// (d) qpdf decrypts what we encrypted.
		if f.encrypted {
			bin := requireTool(t, "qpdf")
			show, err := exec.Command(bin, "--password=", fmt.Sprintf("--show-object=%d", mref.Num), outPath).CombinedOutput()
			if err != nil || !strings.Contains(string(show), "(vanban test 123)") {
				t.Errorf("qpdf --show-object: %v\n%s", err, show)
			}
			data, err := exec.Command(bin, "--password=", fmt.Sprintf("--show-object=%d", sref.Num), "--filtered-stream-data", outPath).Output()
			if err != nil || !bytes.Equal(data, payload) {
				t.Errorf("qpdf stream data %q, %v", data, err)
			}
			if !copyRef.IsZero() {
				data, err := exec.Command(bin, "--password=", fmt.Sprintf("--show-object=%d", copyRef.Num), "--filtered-stream-data", outPath).Output()
				if err != nil || !bytes.Equal(data, copyData) {
					t.Errorf("qpdf copied stream data %.40q, %v", data, err)
				}
			}
		}
	}

	// (c) pdfcpu, an independent reader, sees the new object.
	conf := model.NewDefaultConfiguration()
	conf.UserPW = ""
	ctx, err := api.ReadContext(bytes.NewReader(out), conf)
	if err != nil {
		t.Fatalf("pdfcpu: %v", err)
	}
	pcat, err := ctx.Catalog()
	if err != nil {
		t.Fatalf("pdfcpu catalog: %v", err)
	}
	md, err := ctx.DereferenceDict(pcat["VanbanTest"])
	if err != nil || md == nil {
		t.Fatalf("pdfcpu marker: %v", err)
	}
	if tp := md.Type(); tp == nil || *tp != "VanbanTest" {
		t.Errorf("pdfcpu sees marker /Type %v", tp)
	}
	if !f.encrypted {
		note, _ := md["Note"].(types.StringLiteral)
		if string(note) != "vanban test 123" {
			t.Errorf("pdfcpu sees /Note %v", md["Note"])
		}
	}
}
