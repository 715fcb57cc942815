package officeconv_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vanban/internal/officeconv"
)

func newConverter(t *testing.T, opt officeconv.Options) *officeconv.Converter {
	t.Helper()
	if _, err := exec.LookPath("soffice"); err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			t.Fatal("soffice (Debian libreoffice-writer-nogui) required (VANBAN_REQUIRE_SERVICES=1) but not found")
		}
		t.Skip("soffice not found")
	}
	if opt.TempDir == "" {
		opt.TempDir = t.TempDir()
	}
	c, err := officeconv.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	docNS  = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"`
	relNS  = `http://schemas.openxmlformats.org/package/2006/relationships`
	relDoc = `http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument`
	relImg = `http://schemas.openxmlformats.org/officeDocument/2006/relationships/image`
	relHyp = `http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink`
)

// docx zips a minimal Word document whose body is the given XML and whose
// document relationships are rels.
func docx(t testing.TB, body func(w io.Writer), rels string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name, s string) io.Writer {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, s)
		return w
	}
	put("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`)
	put("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="`+relNS+`"><Relationship Id="rId1" Type="`+relDoc+`" Target="word/document.xml"/></Relationships>`)
	put("word/_rels/document.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="`+relNS+`">`+rels+`</Relationships>`)
	w := put("word/document.xml", `<?xml version="1.0" encoding="UTF-8"?><w:document `+docNS+`><w:body>`)
	body(w)
	io.WriteString(w, `</w:body></w:document>`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func para(text string) string {
	return `<w:p><w:r><w:t>` + text + `</w:t></w:r></w:p>`
}

// linkedImage is a paragraph showing the image of relationship rId9 by
// link (r:link), which Word writes for "Insert > Link to file".
const linkedImage = `<w:p><w:r><w:pict><v:shape style="width:100pt;height:100pt"><v:imagedata r:id="rId9" o:title="x"/></v:shape></w:pict></w:r></w:p>`

// processesUnder lists the processes whose command line mentions dir.
func processesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && bytes.Contains(st, []byte(") Z ")) {
			continue // a zombie waiting for init to reap it runs nothing
		}
		found = append(found, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return found
}

func TestConvertDOCX(t *testing.T) {
	c := newConverter(t, officeconv.Options{Timeout: 90 * time.Second})
	// A hyperlink is an external relationship LibreOffice never loads: it
	// stays allowed.
	doc := docx(t, func(w io.Writer) {
		io.WriteString(w, para("QUYẾT ĐỊNH thử nghiệm"))
		io.WriteString(w, `<w:p><w:hyperlink r:id="rId5"><w:r><w:t>cổng thông tin</w:t></w:r></w:hyperlink></w:p>`)
	}, `<Relationship Id="rId5" Type="`+relHyp+`" Target="https://example.gov.vn/" TargetMode="External"/>`)
	rc, err := c.Convert(context.Background(), bytes.NewReader(doc), ".docx")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	pdf, _ := io.ReadAll(rc)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(16, len(pdf))])
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	os.WriteFile(path, pdf, 0o600)
	if out, err := exec.Command("pdftotext", path, "-").Output(); err == nil && !strings.Contains(string(out), "QUYẾT ĐỊNH") {
		t.Errorf("text missing from the PDF:\n%s", out)
	}
}

// The probe's bomb: a DOCX of a million paragraphs (under a megabyte
// zipped) kept soffice.bin at a full core and 2 GB for minutes after the
// request's deadline. Now the whole process group is killed at the limit,
// the call returns at the limit, and nothing is left running.
func TestConvertMillionParagraphsIsKilledAtTheLimit(t *testing.T) {
	tmp := t.TempDir()
	// Long enough for LibreOffice to start on a loaded machine (it starts
	// twice in a fresh profile), far too short for a million paragraphs.
	const limit = 15 * time.Second
	c := newConverter(t, officeconv.Options{Timeout: limit, TempDir: tmp, MemoryLimit: 1536 << 20})
	doc := docx(t, func(w io.Writer) {
		p := []byte(para("Điều khoản lặp lại."))
		for i := 0; i < 1_000_000; i++ {
			w.Write(p)
		}
	}, "")
	t.Logf("bomb: %d bytes zipped", len(doc))

	// Watch the conversion: soffice.bin must actually run (else the test
	// proves nothing) and must carry the address-space limit.
	var sawSoffice, sawLimit atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, p := range processesUnder(t, tmp) {
				if !strings.Contains(p, "soffice.bin") {
					continue
				}
				sawSoffice.Store(true)
				pid, _, _ := strings.Cut(p, ":")
				lim, _ := os.ReadFile("/proc/" + pid + "/limits")
				for _, line := range strings.Split(string(lim), "\n") {
					if strings.HasPrefix(line, "Max address space") && strings.Contains(line, fmt.Sprint(1536<<20)) {
						sawLimit.Store(true)
					}
				}
			}
		}
	}()
	start := time.Now()
	rc, err := c.Convert(context.Background(), bytes.NewReader(doc), ".docx")
	took := time.Since(start)
	close(stop)
	<-watched
	if err == nil {
		rc.Close()
		t.Fatal("a million paragraphs converted within the limit; the bomb is too small to test the limit")
	}
	if !errors.Is(err, officeconv.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if took > limit+5*time.Second {
		t.Errorf("Convert returned %s after the start, limit %s", took, limit)
	}
	if !sawSoffice.Load() {
		t.Error("soffice.bin was never seen running")
	}
	if !sawLimit.Load() {
		t.Error("soffice.bin ran without the address-space limit")
	}
	if left := processesUnder(t, tmp); len(left) > 0 {
		t.Errorf("processes left after the limit:\n%s", strings.Join(left, "\n"))
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("the conversion directory was not removed: %v", ents)
	}
}

// The cancellation of the request (a client that goes away) kills the
// conversion the same way.
func TestConvertCancelKillsGroup(t *testing.T) {
	tmp := t.TempDir()
	c := newConverter(t, officeconv.Options{Timeout: time.Minute, TempDir: tmp})
	doc := docx(t, func(w io.Writer) {
		p := []byte(para("x"))
		for i := 0; i < 300_000; i++ {
			w.Write(p)
		}
	}, "")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for i := 0; i < 200; i++ {
			time.Sleep(50 * time.Millisecond)
			for _, p := range processesUnder(t, tmp) {
				if strings.Contains(p, "soffice.bin") {
					time.Sleep(500 * time.Millisecond)
					cancel()
					return
				}
			}
		}
		cancel()
	}()
	_, err := c.Convert(ctx, bytes.NewReader(doc), ".docx")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if left := processesUnder(t, tmp); len(left) > 0 {
		t.Errorf("processes left after cancel:\n%s", strings.Join(left, "\n"))
	}
}

// loopback is an HTTP server on 127.0.0.1 that counts requests.
func loopback(t *testing.T) (string, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(tinyPNG)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &hits
}

// tinyPNG is a 1×1 image.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

// A DOCX with a linked image on a loopback URL made the server fetch it.
func TestConvertLinkedImageIsNotFetched(t *testing.T) {
	c := newConverter(t, officeconv.Options{Timeout: 90 * time.Second})
	url, hits := loopback(t)
	cases := map[string][]byte{
		"relationship": docx(t, func(w io.Writer) { io.WriteString(w, para("ảnh liên kết")+linkedImage) },
			`<Relationship Id="rId9" Type="`+relImg+`" Target="`+url+`/anh.png" TargetMode="External"/>`),
		"INCLUDEPICTURE": docx(t, func(w io.Writer) {
			io.WriteString(w, `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> INCLUDEPICTURE "`+url+`/field.png" \d </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`)
		}, ""),
		// A field split over two runs still reads INCLUDEPICTURE.
		"split field": docx(t, func(w io.Writer) {
			io.WriteString(w, `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> INCLUDEPIC</w:instrText></w:r><w:r><w:instrText>TURE "`+url+`/split.png" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`)
		}, ""),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			rc, err := c.Convert(context.Background(), bytes.NewReader(doc), ".docx")
			if err == nil {
				rc.Close()
			}
			if !errors.Is(err, officeconv.ErrExternalContent) {
				t.Errorf("err = %v, want ErrExternalContent", err)
			}
		})
	}
	odt := odtWithImage(t, url+"/odt.png")
	rc, err := c.Convert(context.Background(), bytes.NewReader(odt), ".odt")
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, officeconv.ErrExternalContent) {
		t.Errorf("ODT: err = %v, want ErrExternalContent", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server was fetched %d times", n)
	}
}

// A file:/// image was embedded into the stored PDF.
func TestConvertFileImageIsNotEmbedded(t *testing.T) {
	c := newConverter(t, officeconv.Options{Timeout: 90 * time.Second})
	secret := filepath.Join(t.TempDir(), "secret.png")
	os.WriteFile(secret, tinyPNG, 0o600)
	for name, doc := range map[string][]byte{
		"docx": docx(t, func(w io.Writer) { io.WriteString(w, linkedImage) },
			`<Relationship Id="rId9" Type="`+relImg+`" Target="file://`+secret+`" TargetMode="External"/>`),
		"docx-relative": docx(t, func(w io.Writer) { io.WriteString(w, linkedImage) },
			`<Relationship Id="rId9" Type="`+relImg+`" Target="../../../../`+secret+`" TargetMode="External"/>`),
		"odt":          odtWithImage(t, "file://"+secret),
		"odt-absolute": odtWithImage(t, secret),
		"odt-relative": odtWithImage(t, "../../../.."+secret),
		// A character reference hides the scheme from a byte search.
		"odt-escaped": odtWithImage(t, "&#x66;ile://"+secret),
	} {
		t.Run(name, func(t *testing.T) {
			ext := ".docx"
			if strings.HasPrefix(name, "odt") {
				ext = ".odt"
			}
			rc, err := c.Convert(context.Background(), bytes.NewReader(doc), ext)
			if err == nil {
				pdf, _ := io.ReadAll(rc)
				rc.Close()
				t.Fatalf("converted (%d bytes of PDF)", len(pdf))
			}
			if !errors.Is(err, officeconv.ErrExternalContent) {
				t.Errorf("err = %v, want ErrExternalContent", err)
			}
		})
	}
}

// Only one conversion runs at once by default; the second waits for the
// slot and gives up when its context ends.
func TestConvertSlotsBoundConcurrency(t *testing.T) {
	c := newConverter(t, officeconv.Options{Timeout: time.Minute, MaxConcurrent: 1})
	big := docx(t, func(w io.Writer) {
		p := []byte(para("x"))
		for i := 0; i < 300_000; i++ {
			w.Write(p)
		}
	}, "")
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	first := make(chan error, 1)
	go func() { _, err := c.Convert(ctx1, bytes.NewReader(big), ".docx"); first <- err }()
	time.Sleep(2 * time.Second)
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	_, err := c.Convert(ctx2, bytes.NewReader(docx(t, func(w io.Writer) { io.WriteString(w, para("nhỏ")) }, "")), ".docx")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second conversion: err = %v, want it to wait for the slot and give up", err)
	}
	select {
	case err := <-first:
		t.Fatalf("the first conversion ended early (%v); it cannot hold the slot", err)
	default:
	}
	cancel1()
	<-first
}

func odtWithImage(t *testing.T, href string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	io.WriteString(w, "application/vnd.oasis.opendocument.text")
	w, _ = zw.Create("META-INF/manifest.xml")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`)
	w, _ = zw.Create("content.xml")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2"><office:body><office:text><text:p>ảnh<draw:frame svg:width="2cm" svg:height="2cm" text:anchor-type="as-char"><draw:image xlink:href="`+href+`" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p></office:text></office:body></office:document-content>`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var _ = net.IPv4len
