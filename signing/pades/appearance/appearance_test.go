package appearance

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/sfnt"
)

const vietnameseSample = "Nguyễn Văn Đức – Ủy ban nhân dân tỉnh Thành Long, Quyết định số 05/QĐ-UBND ngày 24 tháng 11 năm 2026 ỹỷỵừứựữửờớợỡở"

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s not installed (VANBAN_REQUIRE_SERVICES=1)", name)
		}
		t.Skipf("%s not installed: skipping the external check", name)
	}
	return p
}

func TestSubsetIsAValidSmallerFont(t *testing.T) {
	f := MustDefaultFont()
	enc := f.NewEncoder()
	enc.Hex(vietnameseSample)
	p, err := enc.Program()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.TrueType) >= len(liberationSerifRegular)/2 {
		t.Errorf("subset is %d bytes, original %d: not subset", len(p.TrueType), len(liberationSerifRegular))
	}
	sub, err := sfnt.Parse(p.TrueType)
	if err != nil {
		t.Fatalf("subset does not parse: %v", err)
	}
	if sub.NumGlyphs() != f.numGlyphs {
		t.Errorf("subset has %d glyphs, want the original numbering (%d)", sub.NumGlyphs(), f.numGlyphs)
	}
	// Every used glyph keeps its outline; an unused one is empty.
	subFont, err := ParseFont(p.TrueType)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	for _, r := range "ễĐứợ" {
		g := f.glyphIndex(&buf, r)
		if sg := subFont.glyphIndex(&buf, r); sg != g {
			t.Errorf("subset cmap maps %q to %d, original to %d", r, sg, g)
		}
		orig, _ := f.glyphData(g)
		got, err := subFont.glyphData(g)
		if err != nil || !bytes.Equal(orig, got[:len(orig)]) {
			t.Errorf("glyph %d (%q) differs in the subset", g, r)
		}
	}
	if g := f.glyphIndex(&buf, 'Z'); g != 0 {
		if d, _ := subFont.glyphData(g); len(d) != 0 {
			t.Errorf("unused glyph Z kept %d bytes", len(d))
		}
	}
	if checksum(p.TrueType) != 0xB1B0AFBA {
		t.Errorf("file checksum %#x, want 0xB1B0AFBA", checksum(p.TrueType))
	}
	if !strings.Contains(p.BaseFont, "+LiberationSerif") || len(strings.Split(p.BaseFont, "+")[0]) != 6 {
		t.Errorf("BaseFont %q", p.BaseFont)
	}
}

func TestCompositeComponentsAreKept(t *testing.T) {
	f := MustDefaultFont()
	var buf sfnt.Buffer
	found := false
	for _, r := range "ẤẦẨẪẬắằẳẵặếềểễệốồổỗộớờởỡợứừửữự" {
		g := f.glyphIndex(&buf, r)
		data, err := f.glyphData(g)
		if err != nil {
			t.Fatal(err)
		}
		comps, err := components(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(comps) == 0 {
			continue
		}
		found = true
		enc := f.NewEncoder()
		enc.Hex(string(r))
		p, err := enc.Program()
		if err != nil {
			t.Fatal(err)
		}
		sub, err := ParseFont(p.TrueType)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range comps {
			orig, _ := f.glyphData(c)
			got, _ := sub.glyphData(c)
			if len(orig) > 0 && len(got) == 0 {
				t.Errorf("%q: component glyph %d dropped", r, c)
			}
		}
	}
	if !found {
		t.Log("font has no composite Vietnamese glyphs; component closure exercised on none")
	}
}

func TestDecomposedInputUsesPrecomposedGlyphs(t *testing.T) {
	enc := MustDefaultFont().NewEncoder()
	nfc := enc.Hex("Nguyễn")
	nfd := enc.Hex("Nguye\u0302\u0303n")
	if nfc != nfd {
		t.Errorf("NFD input encodes to %s, NFC to %s", nfd, nfc)
	}
}

func TestMissingGlyphsAreReported(t *testing.T) {
	enc := MustDefaultFont().NewEncoder()
	if m := enc.Missing(vietnameseSample); len(m) != 0 {
		t.Errorf("Liberation Serif lacks %q", string(m))
	}
	if m := enc.Missing("漢字"); len(m) != 2 {
		t.Errorf("Missing(漢字) = %q", string(m))
	}
	_, err := Signature{Width: 100, Height: 40, Lines: []string{"漢字"}}.Content(enc)
	if !errors.Is(err, ErrFont) {
		t.Errorf("text without glyphs: err = %v, want ErrFont", err)
	}
}

func TestParseFontRejectsGarbage(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     nil,
		"short":     []byte("\x00\x01\x00\x00"),
		"cff":       append([]byte("OTTO"), make([]byte, 64)...),
		"truncated": liberationSerifRegular[:2000],
	} {
		if _, err := ParseFont(data); !errors.Is(err, ErrFont) {
			t.Errorf("%s: err = %v, want ErrFont", name, err)
		}
	}
}

func TestFormatTime(t *testing.T) {
	ts := time.Date(2026, 11, 24, 7, 5, 9, 0, time.UTC)
	if got, want := FormatTime(ts), "2026-11-24 14:05:09 +07:00"; got != want {
		t.Errorf("FormatTime = %q, want %q", got, want)
	}
}

func testPNG(t *testing.T, w, h int, transparent bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if transparent && (x+y)%2 == 0 {
				a = 0
			}
			img.Set(x, y, color.NRGBA{R: 200, G: 10, B: 20, A: a})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodePNG(t *testing.T) {
	img, err := DecodePNG(bytes.NewReader(testPNG(t, 30, 20, true)))
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 30 || img.Height != 20 || img.Gray || img.Alpha == nil {
		t.Errorf("got %dx%d gray=%v alpha=%v", img.Width, img.Height, img.Gray, img.Alpha != nil)
	}
	opaque, err := DecodePNG(bytes.NewReader(testPNG(t, 5, 5, false)))
	if err != nil {
		t.Fatal(err)
	}
	if opaque.Alpha != nil {
		t.Error("opaque image got a soft mask")
	}
	if _, err := DecodePNG(strings.NewReader("GIF89a")); !errors.Is(err, ErrImage) {
		t.Errorf("not a PNG: err = %v", err)
	}
}

// writeTestPDF writes a one-page PDF that draws content with our font and
// image as a page content stream, by hand, so that the test checks the font
// program, widths and ToUnicode map through independent readers.
func writeTestPDF(t *testing.T, path string, content []byte, enc *Encoder, img *Image) {
	t.Helper()
	prog, err := enc.Program()
	if err != nil {
		t.Fatal(err)
	}
	var objs []string
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	stream := func(dict string, data []byte) int {
		return add(fmt.Sprintf("<<%s /Length %d>>\nstream\n%s\nendstream", dict, len(data), data))
	}
	var w strings.Builder
	for _, r := range prog.W {
		fmt.Fprintf(&w, "%d [", r.First)
		for _, x := range r.Widths {
			fmt.Fprintf(&w, " %d", x)
		}
		w.WriteString("] ")
	}
	fontFile := stream(fmt.Sprintf("/Length1 %d", len(prog.TrueType)), prog.TrueType)
	desc := add(fmt.Sprintf("<</Type/FontDescriptor/FontName/%s/Flags %d/FontBBox[%d %d %d %d]/ItalicAngle 0/Ascent %d/Descent %d/CapHeight %d/StemV %d/FontFile2 %d 0 R>>",
		prog.BaseFont, prog.Flags, prog.BBox[0], prog.BBox[1], prog.BBox[2], prog.BBox[3], prog.Ascent, prog.Descent, prog.CapHeight, prog.StemV, fontFile))
	cid := add(fmt.Sprintf("<</Type/Font/Subtype/CIDFontType2/BaseFont/%s/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor %d 0 R/CIDToGIDMap/Identity/W[%s]>>", prog.BaseFont, desc, w.String()))
	tu := stream("", prog.ToUnicode)
	font := add(fmt.Sprintf("<</Type/Font/Subtype/Type0/BaseFont/%s/Encoding/Identity-H/DescendantFonts[%d 0 R]/ToUnicode %d 0 R>>", prog.BaseFont, cid, tu))
	xobj := ""
	if img != nil {
		smask := ""
		if img.Alpha != nil {
			sm := stream(fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray/BitsPerComponent 8/Filter/FlateDecode", img.Width, img.Height), img.Alpha)
			smask = fmt.Sprintf("/SMask %d 0 R", sm)
		}
		im := stream(fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceRGB/BitsPerComponent 8/Filter/FlateDecode%s", img.Width, img.Height, smask), img.Data)
		xobj = fmt.Sprintf("/XObject<</%s %d 0 R>>", ImageName, im)
	}
	contents := stream("", content)
	pagesNum := len(objs) + 2
	page := add(fmt.Sprintf("<</Type/Page/Parent %d 0 R/MediaBox[0 0 400 200]/Contents %d 0 R/Resources<</Font<</%s %d 0 R>>%s>>>>", pagesNum, contents, FontName, font, xobj))
	add(fmt.Sprintf("<</Type/Pages/Kids[%d 0 R]/Count 1>>", page))
	catalog := add(fmt.Sprintf("<</Type/Catalog/Pages %d 0 R>>", pagesNum))

	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<</Size %d/Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, catalog, xref)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTextExtractsAndRenders(t *testing.T) {
	pdftotext := requireTool(t, "pdftotext")
	pdffonts := requireTool(t, "pdffonts")
	pdftoppm := requireTool(t, "pdftoppm")

	enc := MustDefaultFont().NewEncoder()
	img, err := DecodePNG(bytes.NewReader(testPNG(t, 40, 40, true)))
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"Ký bởi: Nguyễn Văn Đức", "Ủy ban nhân dân tỉnh Thành Long", "Thời gian: " + FormatTime(time.Date(2026, 11, 24, 7, 5, 9, 0, time.UTC))}
	content, err := Signature{Width: 400, Height: 200, Image: img, Lines: lines, FontSize: 12}.Content(enc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "text.pdf")
	writeTestPDF(t, path, content, enc, img)

	out, err := exec.Command(pdftotext, "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	for _, l := range lines {
		if !strings.Contains(text, l) {
			t.Errorf("extracted text lacks %q; got:\n%s", l, text)
		}
	}
	out, err = exec.Command(pdffonts, path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "CID TrueType") || !strings.Contains(string(out), "Identity-H") || !strings.Contains(string(out), "yes yes yes") {
		t.Errorf("pdffonts does not show an embedded, subset CID TrueType font with ToUnicode:\n%s", out)
	}
	out, err = exec.Command(pdftoppm, "-r", "30", "-png", path, filepath.Join(t.TempDir(), "p")).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("pdftoppm complained: %v\n%s", err, out)
	}
}

func TestTextFieldAppearance(t *testing.T) {
	pdftotext := requireTool(t, "pdftotext")
	enc := MustDefaultFont().NewEncoder()
	content, err := TextField{Width: 200, Height: 20, Value: "05/QĐ-UBND", Align: AlignCenter}.Content(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(content, []byte("/Tx BMC")) || !bytes.HasSuffix(content, []byte("EMC\n")) {
		t.Errorf("field appearance not wrapped in /Tx BMC ... EMC:\n%s", content)
	}
	path := filepath.Join(t.TempDir(), "field.pdf")
	writeTestPDF(t, path, content, enc, nil)
	out, err := exec.Command(pdftotext, path, "-").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "05/QĐ-UBND") {
		t.Errorf("extracted %q", out)
	}
	if got := DA(9); got != "/VNBSerif 9 Tf 0 g" {
		t.Errorf("DA = %q", got)
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 1.5: "1.5", -0.0001: "0", 1e21: "1000000000000000000000", 2.3456: "2.346"} {
		if got := num(in); got != want {
			t.Errorf("num(%g) = %q, want %q", in, got, want)
		}
	}
}
