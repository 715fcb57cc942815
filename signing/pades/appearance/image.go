package appearance

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
)

// ErrImage is returned (wrapped) for an image we cannot embed.
var ErrImage = errors.New("appearance: unusable image")

// MaxImagePixels bounds the decoded size of a signature image. A seal scanned
// at 600 dpi is about 1000x1000; anything far larger is a mistake or an
// attack (a small PNG can decode to gigabytes).
const MaxImagePixels = 4096 * 4096

// Image is a raster image ready to become a PDF image XObject: 8 bits per
// component, Flate-compressed samples, and an optional soft mask holding the
// alpha channel (PNG transparency), which must become a separate /SMask
// image because PDF images carry no alpha of their own.
type Image struct {
	Width, Height int
	// Gray is true for DeviceGray samples, false for DeviceRGB.
	Gray bool
	// Data is the zlib (FlateDecode) compressed sample data.
	Data []byte
	// Alpha is the zlib compressed DeviceGray soft mask, nil when the image
	// is fully opaque.
	Alpha []byte
}

// DecodePNG reads a PNG and returns it as an Image. Colours are flattened
// to 8-bit gray or RGB; transparency (alpha channel, tRNS) becomes Alpha.
// Colour channels are un-premultiplied, since PDF expects straight colour
// and applies the soft mask itself.
func DecodePNG(r io.Reader) (*Image, error) {
	var head bytes.Buffer
	cfg, err := png.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxImagePixels {
		return nil, fmt.Errorf("%w: %dx%d pixels is outside the accepted size", ErrImage, cfg.Width, cfg.Height)
	}
	img, err := png.Decode(io.MultiReader(&head, r))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	return FromImage(img)
}

// FromImage converts any decoded image.
func FromImage(img image.Image) (*Image, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || w*h > MaxImagePixels {
		return nil, fmt.Errorf("%w: %dx%d pixels is outside the accepted size", ErrImage, w, h)
	}
	gray := false
	switch img.ColorModel() {
	case color.GrayModel, color.Gray16Model:
		gray = true
	}
	comps := 3
	if gray {
		comps = 1
	}
	samples := make([]byte, 0, w*h*comps)
	alpha := make([]byte, 0, w*h)
	opaque := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if gray {
				samples = append(samples, c.R)
			} else {
				samples = append(samples, c.R, c.G, c.B)
			}
			alpha = append(alpha, c.A)
			if c.A != 0xff {
				opaque = false
			}
		}
	}
	out := &Image{Width: w, Height: h, Gray: gray}
	var err error
	if out.Data, err = deflate(samples); err != nil {
		return nil, err
	}
	if !opaque {
		if out.Alpha, err = deflate(alpha); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
