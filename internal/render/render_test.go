package render

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEngine is shared by the tests: compiling PDFium takes seconds.
var (
	testEngineOnce sync.Once
	testEngine     *Engine
)

func engine(t testing.TB) *Engine {
	t.Helper()
	testEngineOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "vanban-render-test-wazero")
		testEngine = New(Options{CacheDir: dir, MaxMemory: 256 << 20, Timeout: 3 * time.Second, Workers: 2, PerUser: 1})
	})
	return testEngine
}

// buildPDF writes a classic PDF with an xref table from numbered object
// bodies (objs[0] is object 1; object 1 must be the catalog).
func buildPDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

func stream(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// onePage is a PDF with one page of the given MediaBox and content.
func onePage(mediaBox string, content string) []byte {
	return buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox ["+mediaBox+"] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		stream("", []byte(content)),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	)
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

func TestRenderAndText(t *testing.T) {
	e := engine(t)
	pdf := onePage("0 0 595 842", "BT /F1 24 Tf 72 700 Td (Hello vanban) Tj ET\n0 0 1 rg 100 100 200 50 re f")
	err := e.Open(context.Background(), "a", pdf, func(d *Document) error {
		if d.PageCount() != 1 {
			t.Errorf("page count %d", d.PageCount())
		}
		img, err := d.Render(1, 72)
		if err != nil {
			return err
		}
		if img.Rect.Dx() != 595 || img.Rect.Dy() != 842 {
			t.Errorf("image %v, want 595x842 at 72 dpi", img.Rect)
		}
		// The blue box at (100..300, 100..150) points is at y 692..742 from the top.
		if c := img.RGBAAt(200, 842-125); c.B < 200 || c.R > 50 {
			t.Errorf("pixel inside the blue box is %v", c)
		}
		if c := img.RGBAAt(400, 842-125); c.R < 250 || c.B < 250 {
			t.Errorf("pixel outside the box is %v", c)
		}
		pt, err := d.Text(1)
		if err != nil {
			return err
		}
		lines := pt.Lines()
		if len(lines) != 1 || lines[0].Text != "Hello vanban" {
			t.Fatalf("lines %+v", lines)
		}
		b := lines[0].Box
		if b.LLX < 71 || b.LLX > 75 || b.LLY < 690 || b.URY > 725 {
			t.Errorf("line box %+v, want near x=72 baseline 700", b)
		}
		if _, err := d.Render(2, 72); !errors.Is(err, ErrNoPage) {
			t.Errorf("page 2: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Open(context.Background(), "a", []byte("%PDF-1.7\nnot really"), func(*Document) error { return nil }); !errors.Is(err, ErrUnreadable) {
		t.Errorf("garbage: %v, want ErrUnreadable", err)
	}
}

// TestTextIsExtractedOncePerDocument: the second extraction of the same
// bytes' page comes from the engine's cache, equal to the first; what a
// caller does with its copy changes no later answer; a request without
// styles is served by a page extracted with them, styles cleared; other
// bytes are extracted afresh.
func TestTextIsExtractedOncePerDocument(t *testing.T) {
	e := engine(t)
	pdf := onePage("0 0 595 842", "BT /F1 24 Tf 72 700 Td (Hello vanban) Tj ET")
	var first *PageText
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Open(context.Background(), "a", pdf, func(d *Document) error {
		var err error
		first, err = d.Text(1)
		if err != nil {
			return err
		}
		if _, ok := e.texts.get(d.textKey(1, true)); !ok {
			t.Error("the page is not in the cache")
		}
		first.Chars[0].Bold = true // the caller's copy
		first.Chars[0].R = 'J'
		return nil
	}))
	must(e.Open(context.Background(), "b", slices.Clone(pdf), func(d *Document) error {
		// Served from the cache: the instance's text page is never
		// loaded. A poisoned entry shows it came from there.
		k := d.textKey(1, true)
		e.texts.mu.Lock()
		e.texts.byKey[k].Value.(*textEntry).text.Chars[1].Italic = true
		e.texts.mu.Unlock()
		again, err := d.Text(1)
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(again.String()); got != "Hello vanban" {
			t.Errorf("cached text %q: the caller's change leaked into the cache", got)
		}
		if !again.Chars[1].Italic {
			t.Error("the second extraction did not come from the cache")
		}
		words, err := d.Words(1)
		if err != nil {
			return err
		}
		if strings.TrimSpace(words.String()) != "Hello vanban" || words.Chars[1].Italic {
			t.Errorf("words %q, italic %v: styles must be cleared", words.String(), words.Chars[1].Italic)
		}
		return nil
	}))
	other := onePage("0 0 595 842", "BT /F1 24 Tf 72 700 Td (Other text) Tj ET")
	must(e.Open(context.Background(), "a", other, func(d *Document) error {
		pt, err := d.Words(1)
		if err == nil && strings.TrimSpace(pt.String()) != "Other text" {
			t.Errorf("other bytes: %q", pt.String())
		}
		return err
	}))
}

// TestHugeMediaBoxIsScaledDown: a tiny PDF whose page is 14400 × 14400
// points (5 m square, 22000 px at 110 dpi, 1.9 GB of pixels) renders at
// most MaxPixels, quickly and without the memory.
func TestHugeMediaBoxIsScaledDown(t *testing.T) {
	e := engine(t)
	pdf := onePage("0 0 14400 14400", "0 0 1 rg 0 0 14400 7200 re f")
	if len(pdf) > 600 {
		t.Fatalf("the bomb is %d bytes", len(pdf))
	}
	runtime.GC()
	before := peakRSS(t)
	start := time.Now()
	err := e.Open(context.Background(), "a", pdf, func(d *Document) error {
		img, err := d.Render(1, 110)
		if err != nil {
			return err
		}
		w, h := img.Rect.Dx(), img.Rect.Dy()
		if w*h > DefaultMaxPixels || w < 1900 {
			t.Errorf("rendered %dx%d, want at most %d pixels and about 2000 wide", w, h, DefaultMaxPixels)
		}
		// The lower half is blue, scaled like the rest.
		if c := img.RGBAAt(w/2, h*3/4); c.B < 200 || c.R > 50 {
			t.Errorf("lower half pixel %v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	took, grew := time.Since(start), peakRSS(t)-before
	t.Logf("14400x14400 pt page: %s, peak RSS +%d MiB", took, grew>>20)
	if grew > 400<<20 {
		t.Errorf("peak RSS grew by %d MiB", grew>>20)
	}
}

// TestFlateBombStaysWithinMemory: a 1 MB Flate content stream that
// inflates to about 1 GB fails or renders within the instance's memory cap
// instead of growing the server by gigabytes.
func TestFlateBombStaysWithinMemory(t *testing.T) {
	e := engine(t)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	chunk := bytes.Repeat([]byte{' '}, 1<<20)
	for z.Len() < 1<<20 {
		zw.Write(chunk)
	}
	zw.Close()
	pdf := buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
		stream("/Filter /FlateDecode", z.Bytes()),
	)
	runtime.GC()
	before := peakRSS(t)
	start := time.Now()
	err := e.Open(context.Background(), "a", pdf, func(d *Document) error {
		_, err := d.Render(1, 110)
		if err == nil {
			_, err = d.Text(1)
		}
		return err
	})
	took, grew := time.Since(start), peakRSS(t)-before
	t.Logf("1 MB flate bomb (%d bytes): %v after %s, peak RSS +%d MiB", len(pdf), err, took, grew>>20)
	if grew > int64(e.opt.MaxMemory)+300<<20 {
		t.Errorf("peak RSS grew by %d MiB, cap is %d MiB", grew>>20, e.opt.MaxMemory>>20)
	}
	if took > e.opt.Timeout+6*time.Second {
		t.Errorf("took %s", took)
	}
}

// formBomb is a page drawing form 1, where each form draws the next one
// fanout times, depth levels deep: fanout^depth form invocations.
func formBomb(depth, fanout int) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /X 5 0 R >> >> >>",
		stream("", []byte("/X Do")),
	}
	for i := 0; i < depth; i++ {
		var body string
		res := ""
		if i < depth-1 {
			body = strings.Repeat("/X Do ", fanout)
			res = fmt.Sprintf("/Resources << /XObject << /X %d 0 R >> >>", 5+i+1)
		} else {
			body = "0 0 1 rg 0 0 1 1 re f"
		}
		objs = append(objs, stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842] "+res, []byte(body)))
	}
	return buildPDF(objs...)
}

// TestNestedFormsAbandonedAndOthersServed: a page of nested form XObjects
// (8^12 invocations, far more than a million) is abandoned at the
// deadline, its instance destroyed; meanwhile another user's page renders
// promptly, and the engine serves the bomb's user again afterwards.
func TestNestedFormsAbandonedAndOthersServed(t *testing.T) {
	e := engine(t)
	bomb := formBomb(12, 8)
	plain := onePage("0 0 595 842", "BT /F1 12 Tf 72 700 Td (plain) Tj ET")
	// Warm: the first Open compiles PDFium.
	if err := e.Open(context.Background(), "b", plain, func(d *Document) error { _, err := d.Render(1, 110); return err }); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	bombDone := make(chan error, 1)
	go func() {
		bombDone <- e.Open(context.Background(), "mallory", bomb, func(d *Document) error {
			_, err := d.Render(1, 110)
			return err
		})
	}()
	time.Sleep(300 * time.Millisecond)
	// The same user's second document waits for its share...
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := e.Open(ctx, "mallory", plain, func(*Document) error { return nil })
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("mallory's second document: %v, want to wait for her share", err)
	}
	// ... another user's does not.
	other := time.Now()
	if err := e.Open(context.Background(), "alice", plain, func(d *Document) error { _, err := d.Render(1, 110); return err }); err != nil {
		t.Fatal(err)
	}
	otherTook := time.Since(other)
	select {
	case err := <-bombDone:
		t.Fatalf("the bomb finished before the other user's page: %v", err)
	default:
	}
	t.Logf("another user's page rendered in %s while the bomb ran", otherTook)
	if otherTook > 2*time.Second {
		t.Errorf("another user's page took %s", otherTook)
	}
	err = <-bombDone
	took := time.Since(start)
	t.Logf("form bomb: %v after %s", err, took)
	// Past the deadline it is killed; PDFium may also give up first,
	// when its forms exhaust the instance's capped memory.
	if !errors.Is(err, ErrDeadline) && !errors.Is(err, ErrUnreadable) {
		t.Errorf("bomb: %v, want ErrDeadline or ErrUnreadable", err)
	}
	if took > e.opt.Timeout+2*time.Second {
		t.Errorf("the bomb was abandoned after %s, limit %s", took, e.opt.Timeout)
	}
	if err := e.Open(context.Background(), "mallory", plain, func(d *Document) error { _, err := d.Render(1, 110); return err }); err != nil {
		t.Errorf("after the kill: %v", err)
	}
}

func TestFitPixels(t *testing.T) {
	for _, c := range []struct {
		w, h, dpi float64
		max       int
		ww, wh    int
	}{
		{595, 842, 72, 4_000_000, 595, 842},
		{14400, 14400, 110, 4_000_000, 2000, 2000},
		{0, 842, 72, 100, 1, 1},
		{1e6, 1, 72, 4_000_000, 0, 0},
	} {
		w, h := FitPixels(c.w, c.h, c.dpi, c.max)
		if w*h > c.max || (c.ww != 0 && w != c.ww) || (c.wh != 0 && h != c.wh) {
			t.Errorf("FitPixels(%g, %g, %g, %d) = %d, %d", c.w, c.h, c.dpi, c.max, w, h)
		}
	}
}
