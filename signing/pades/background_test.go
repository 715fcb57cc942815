package pades

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"

	"vanban/signing/pades/appearance"
	"vanban/signing/signtest"
)

func TestTextFieldBackground(t *testing.T) {
	enc := appearance.MustDefaultFont().NewEncoder()
	for _, c := range []struct {
		bg   []float64
		want string
	}{
		{nil, ""},
		{[]float64{1}, "q 1 g 0 0 100 20 re f Q"},
		{[]float64{1, 0.5, 0}, "q 1 0.5 0 rg 0 0 100 20 re f Q"},
	} {
		b, err := appearance.TextField{Width: 100, Height: 20, Value: "Số: 01/QĐ-UBND", Background: c.bg}.Content(enc)
		if err != nil {
			t.Fatal(err)
		}
		if c.want == "" && strings.Contains(string(b), "re f") || c.want != "" && !strings.HasPrefix(string(b), c.want) {
			t.Errorf("background %v: content %q", c.bg, b)
		}
	}
	if _, err := (appearance.TextField{Width: 100, Height: 20, Background: []float64{1, 1}}).Content(enc); err == nil {
		t.Error("a two-component background is accepted")
	}
}

// An opaque (white) number field placed over a template's "Số: /QĐ-..."
// line hides that line once it is filled, and the fill stays a permitted
// change of the certified document.
func TestOpaqueFieldCoversTemplate(t *testing.T) {
	signtest.RequireTool(t, "pdftoppm")
	ctx := context.Background()
	s := loadTestSigner(t)
	orig := readFile(t, signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path)
	// "Số: /QĐ-STTTT" of the template sits here on page 1.
	field := Rect{LLX: 100, LLY: 698, URX: 235, URY: 718}
	var leader bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &leader, s.key, s.chain, Options{
		FieldName: "LanhDao", Certify: 2,
		Fields: []ExtraField{{Name: "SoKyHieu", Kind: TextField, Page: 1, Rect: field, FontSize: 13, Background: []float64{1}}},
	}); err != nil {
		t.Fatal(err)
	}
	var filled bytes.Buffer
	// A blank value: the field is then nothing but its white background.
	if err := FillFields(ctx, bytes.NewReader(leader.Bytes()), int64(leader.Len()), &filled, map[string]string{"SoKyHieu": " "}); err != nil {
		t.Fatal(err)
	}
	before, after := writeTemp(t, "orig.pdf", orig), writeTemp(t, "filled.pdf", filled.Bytes())
	if res := signtest.PDFSig(t, after, s.caPEM); len(res) != 1 || !res[0].SignatureValid() {
		t.Fatalf("after the fill, the certification: %+v", res)
	}
	const dpi = 72
	dark := func(path string) int {
		img, err := png.Decode(bytes.NewReader(signtest.RenderPages(t, path, dpi)[0]))
		if err != nil {
			t.Fatal(err)
		}
		h := img.Bounds().Dy()
		n := 0
		// One point inside the rectangle, clear of antialiased edges.
		for y := h - int(field.URY) + 1; y < h-int(field.LLY)-1; y++ {
			for x := int(field.LLX) + 1; x < int(field.URX)-1; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if r < 0x8000 && g < 0x8000 && b < 0x8000 {
					n++
				}
			}
		}
		return n
	}
	if n := dark(before); n == 0 {
		t.Fatal("the template shows no text where the test expects the number line; the test's rectangle is off")
	}
	if n := dark(after); n != 0 {
		t.Errorf("%d dark pixels still show through the opaque field", n)
	}
}
