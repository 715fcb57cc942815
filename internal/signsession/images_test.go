package signsession_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/signtest"
	"vanban/storage"
)

// A handwritten signature on file is drawn in the leader's signature block,
// a seal image on file in the organization's signature: blue and red ink
// where the layout puts them.
func TestSignatureImagesDrawn(t *testing.T) {
	signtest.RequireTool(t, "pdftoppm")
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	ink := func(c color.NRGBA) string {
		img := image.NewNRGBA(image.Rect(0, 0, 80, 40))
		for y := 8; y < 32; y++ {
			for x := 8; x < 72; x++ {
				img.Set(x, y, c)
			}
		}
		var b bytes.Buffer
		e.must(png.Encode(&b, img))
		obj, err := e.blobs.PutContentAddressed(ctx, &b, storage.PutOptions{ContentType: "image/png"})
		e.must(err)
		return obj.Key
	}
	e.must(e.db.SetSignatureImage(ctx, store.ImageOfUser, e.signer.ID, ink(color.NRGBA{0, 0, 220, 255}), "x", e.admin.ID))
	e.must(e.db.SetSignatureImage(ctx, store.ImageOfOrg, e.org.ID, ink(color.NRGBA{220, 0, 0, 255}), "x", e.admin.ID))

	d := e.awaiting(e.signer, "Quyết định có chữ ký tay")
	l := signsession.DefaultLayout()
	l.SignaturePage = 1
	e.must(e.svc.SetLayout(ctx, as(e.drafter), d.ID, l))
	e.reapprove(d.ID) // a layout set after approval is reviewed again
	s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	if s = e.settle(e.svc, s.ID, e.signer); s.State != store.SigningCompleted {
		t.Fatalf("leader: %+v", s)
	}
	_, err = e.svc.NumberAndDate(ctx, as(e.clerk), d.ID)
	e.must(err)
	seal, err := e.svc.Seal(ctx, as(e.clerk), d.ID)
	e.must(err)
	if seal.State != store.SigningCompleted {
		seal = e.settle(e.svc, seal.ID, e.clerk)
	}
	v := e.doc(d.ID)
	last := v.Versions[len(v.Versions)-1]
	rc, _, err := e.blobs.Get(ctx, last.BlobKey)
	e.must(err)
	var pdf bytes.Buffer
	_, err = pdf.ReadFrom(rc)
	rc.Close()
	e.must(err)
	path := filepath.Join(t.TempDir(), "sealed.pdf")
	e.must(os.WriteFile(path, pdf.Bytes(), 0o600))
	page, err := png.Decode(bytes.NewReader(signtest.RenderPages(t, path, 72)[0]))
	e.must(err)
	count := func(rect [4]float64, want func(r, g, b uint32) bool) int {
		h := page.Bounds().Dy()
		n := 0
		for y := h - int(rect[3]); y < h-int(rect[1]); y++ {
			for x := int(rect[0]); x < int(rect[2]); x++ {
				r, g, b, _ := page.At(x, y).RGBA()
				if want(r>>8, g>>8, b>>8) {
					n++
				}
			}
		}
		return n
	}
	blue := count([4]float64{l.Signature.LLX, l.Signature.LLY, l.Signature.URX, l.Signature.URY}, func(r, g, b uint32) bool { return b > 150 && r < 90 && g < 90 })
	red := count([4]float64{l.Seal.LLX, l.Seal.LLY, l.Seal.URX, l.Seal.URY}, func(r, g, b uint32) bool { return r > 150 && g < 90 && b < 90 })
	if blue == 0 {
		t.Error("no blue ink in the leader's signature block")
	}
	if red == 0 {
		t.Error("no red ink in the seal")
	}
}
