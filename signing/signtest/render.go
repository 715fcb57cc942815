package signtest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// RenderPages renders every page of file with poppler's pdftoppm at dpi and returns one PNG per
// page, in page order. Rendering is how a person meets the document, so tests use it to prove
// that signing changed no visible pixel.
func RenderPages(tb testing.TB, file string, dpi int) [][]byte {
	tb.Helper()
	if dpi <= 0 || dpi > 1200 {
		tb.Fatalf("signtest: RenderPages: dpi %d out of range 1..1200", dpi)
	}
	dir := tb.TempDir()
	res, err := run(tb, nil, "pdftoppm", "-r", strconv.Itoa(dpi), "-png", file, filepath.Join(dir, "page"))
	if err != nil {
		tb.Fatal(err)
	}
	if res.exitCode != 0 {
		tb.Fatal(&ToolError{Tool: "pdftoppm", File: file, ExitCode: res.exitCode, Output: res.stdout + res.stderr})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	// pdftoppm names pages page-1.png or page-01.png (zero-padded to the page count's width),
	// so order by the parsed number, not by name.
	type pageFile struct {
		num  int
		name string
	}
	var pages []pageFile
	for _, e := range entries {
		name := e.Name()
		numText, ok := strings.CutPrefix(strings.TrimSuffix(name, ".png"), "page-")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(numText)
		if err != nil {
			continue
		}
		pages = append(pages, pageFile{n, name})
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i].num < pages[j].num })
	out := make([][]byte, 0, len(pages))
	for _, p := range pages {
		data, err := os.ReadFile(filepath.Join(dir, p.name))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, data)
	}
	if len(out) == 0 {
		tb.Fatalf("signtest: pdftoppm rendered no page of %s: %s", file, res.stderr)
	}
	return out
}

// RenderPagesMuPDF renders every page of file to PNG with MuPDF (mutool
// draw), the second renderer: poppler regenerates the appearance of every
// form field when the form asks for it (/NeedAppearances), MuPDF draws the
// appearance streams the file holds.
func RenderPagesMuPDF(tb testing.TB, file string, dpi int) [][]byte {
	tb.Helper()
	if dpi <= 0 || dpi > 1200 {
		tb.Fatalf("signtest: RenderPagesMuPDF: dpi %d out of range 1..1200", dpi)
	}
	dir := tb.TempDir()
	res, err := run(tb, nil, "mutool", "draw", "-q", "-r", strconv.Itoa(dpi), "-o", filepath.Join(dir, "page-%d.png"), file)
	if err != nil {
		tb.Fatal(err)
	}
	if res.exitCode != 0 {
		tb.Fatal(&ToolError{Tool: "mutool", File: file, ExitCode: res.exitCode, Output: res.stdout + res.stderr})
	}
	var out [][]byte
	for n := 1; ; n++ {
		data, err := os.ReadFile(filepath.Join(dir, "page-"+strconv.Itoa(n)+".png"))
		if err != nil {
			break
		}
		out = append(out, data)
	}
	if len(out) == 0 {
		tb.Fatalf("signtest: mutool rendered no page of %s: %s", file, res.stderr)
	}
	return out
}

// PageCompare sets how strictly ComparePages judges two renderings.
type PageCompare struct {
	// DPI is the rendering resolution; 0 means 72.
	DPI int
	// MaxChannelDelta is the largest per-channel difference (0-255) still counted as equal.
	MaxChannelDelta uint8
	// MaxDifferentFraction is the fraction of pixels per page (0..1) allowed to differ beyond
	// MaxChannelDelta.
	MaxDifferentFraction float64
}

// SamePages renders a and b at 72 dpi and returns nil when they have the same number of pages
// and every pixel is identical; otherwise an error wrapping ErrPagesDiffer that says where.
func SamePages(tb testing.TB, a, b string) error {
	tb.Helper()
	return ComparePages(tb, a, b, PageCompare{})
}

// ComparePages is SamePages with a tolerance, for producers whose anti-aliasing may differ.
func ComparePages(tb testing.TB, a, b string, opts PageCompare) error {
	tb.Helper()
	dpi := opts.DPI
	if dpi == 0 {
		dpi = 72
	}
	pa, pb := RenderPages(tb, a, dpi), RenderPages(tb, b, dpi)
	if len(pa) != len(pb) {
		return fmt.Errorf("%w: %s has %d pages, %s has %d", ErrPagesDiffer, a, len(pa), b, len(pb))
	}
	for i := range pa {
		if err := comparePNG(pa[i], pb[i], opts); err != nil {
			return fmt.Errorf("page %d of %s and %s: %w", i+1, a, b, err)
		}
	}
	return nil
}

func comparePNG(a, b []byte, opts PageCompare) error {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return fmt.Errorf("signtest: decoding rendering: %w", err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("signtest: decoding rendering: %w", err)
	}
	return compareImages(ia, ib, opts)
}

func compareImages(ia, ib image.Image, opts PageCompare) error {
	ra, rb := ia.Bounds(), ib.Bounds()
	if ra.Dx() != rb.Dx() || ra.Dy() != rb.Dy() {
		return fmt.Errorf("%w: size %dx%d vs %dx%d", ErrPagesDiffer, ra.Dx(), ra.Dy(), rb.Dx(), rb.Dy())
	}
	limit := uint32(opts.MaxChannelDelta) * 0x101 // RGBA() returns 16-bit channels
	var differing int
	first := image.Point{-1, -1}
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			r1, g1, b1, a1 := ia.At(ra.Min.X+x, ra.Min.Y+y).RGBA()
			r2, g2, b2, a2 := ib.At(rb.Min.X+x, rb.Min.Y+y).RGBA()
			if delta(r1, r2) > limit || delta(g1, g2) > limit || delta(b1, b2) > limit || delta(a1, a2) > limit {
				if differing == 0 {
					first = image.Point{x, y}
				}
				differing++
			}
		}
	}
	total := ra.Dx() * ra.Dy()
	if differing > 0 && float64(differing) > opts.MaxDifferentFraction*float64(total) {
		return fmt.Errorf("%w: %d of %d pixels differ, first at (%d,%d)", ErrPagesDiffer, differing, total, first.X, first.Y)
	}
	return nil
}

func delta(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
