package signtest

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestRenderPagesCorpus(t *testing.T) {
	f := CorpusFileNamed(t, "libreoffice-writer.pdf")
	pages := RenderPages(t, f.Path, 36)
	if len(pages) != f.Pages {
		t.Fatalf("%d pages rendered, manifest %d", len(pages), f.Pages)
	}
	img, err := png.Decode(bytes.NewReader(pages[0]))
	if err != nil {
		t.Fatal(err)
	}
	// A4 at 36 dpi is 298 x 421 pixels.
	if b := img.Bounds(); b.Dx() != 298 || b.Dy() != 421 {
		t.Errorf("page 1 is %dx%d", b.Dx(), b.Dy())
	}
	if !hasInk(img) {
		t.Error("page 1 rendered blank")
	}
}

func hasInk(img image.Image) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
				return true
			}
		}
	}
	return false
}

func TestSamePagesCorpus(t *testing.T) {
	writer := CorpusFileNamed(t, "libreoffice-writer.pdf").Path
	// Invisible signatures, incremental updates that add no visible mark and encryption leave
	// every pixel as it was.
	for _, name := range []string{"itext-signed.pdf", "two-signatures.pdf", "qpdf-objstm.pdf", "qpdf-aes256-owner.pdf"} {
		if err := SamePages(t, writer, CorpusFileNamed(t, name).Path); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Different producers lay the same text out differently.
	if err := SamePages(t, writer, CorpusFileNamed(t, "chromium.pdf").Path); !errors.Is(err, ErrPagesDiffer) {
		t.Errorf("LibreOffice vs Chromium: %v", err)
	}
	// Page count differs.
	if err := SamePages(t, writer, CorpusFileNamed(t, "hybrid.pdf").Path); !errors.Is(err, ErrPagesDiffer) {
		t.Errorf("LibreOffice vs hybrid: %v", err)
	}
}

func TestCompareImagesTolerance(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 10, 10))
	b := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := range a.Pix {
		a.Pix[i], b.Pix[i] = 255, 255
	}
	if err := compareImages(a, b, PageCompare{}); err != nil {
		t.Fatal(err)
	}
	b.Set(3, 4, color.RGBA{250, 255, 255, 255})
	if err := compareImages(a, b, PageCompare{}); !errors.Is(err, ErrPagesDiffer) {
		t.Errorf("one pixel off by 5, exact: %v", err)
	}
	if err := compareImages(a, b, PageCompare{MaxChannelDelta: 5}); err != nil {
		t.Errorf("within channel delta: %v", err)
	}
	b.Set(5, 5, color.RGBA{0, 0, 0, 255})
	if err := compareImages(a, b, PageCompare{MaxDifferentFraction: 0.02}); err != nil {
		t.Errorf("2 of 100 pixels, 2%% allowed: %v", err)
	}
	if err := compareImages(a, b, PageCompare{MaxDifferentFraction: 0.01}); !errors.Is(err, ErrPagesDiffer) {
		t.Errorf("2 of 100 pixels, 1%% allowed: %v", err)
	}
	if err := compareImages(a, image.NewRGBA(image.Rect(0, 0, 10, 11)), PageCompare{}); !errors.Is(err, ErrPagesDiffer) {
		t.Errorf("different size: %v", err)
	}
}
