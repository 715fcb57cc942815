package signsession_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/placement"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/pades"
	"vanban/signing/signtest"
	"vanban/storage"
)

// pngOf encodes an image for the signature image store.
func (e *env) pngKey(img image.Image) string {
	var b bytes.Buffer
	e.must(png.Encode(&b, img))
	obj, err := e.blobs.PutContentAddressed(ctx, &b, storage.PutOptions{ContentType: "image/png"})
	e.must(err)
	return obj.Key
}

// handwriting is a transparent PNG with a blue scrawl, twice as wide as
// high.
func handwriting() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 400, 200))
	for x := 20; x < 380; x++ {
		y := 100 + int(60*math.Sin(float64(x)/25))
		for dy := -5; dy <= 5; dy++ {
			img.Set(x, y+dy, color.NRGBA{0, 0, 200, 255})
		}
	}
	return img
}

// sealImage is a transparent PNG red ring with a red star-like centre.
func sealImage() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			r := math.Hypot(float64(x-150), float64(y-150))
			if (r > 128 && r < 148) || r < 30 {
				img.Set(x, y, color.NRGBA{220, 0, 0, 255})
			}
		}
	}
	return img
}

func readBlob(e *env, key string) []byte {
	rc, _, err := e.blobs.Get(ctx, key)
	e.must(err)
	defer rc.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(rc)
	e.must(err)
	return b.Bytes()
}

// TestDecree30TemplateProposedSignedAndIssued drafts a LibreOffice-made
// Decree 30 decision with an attachment: the upload proposes the layout,
// nobody adjusts it, the leader signs, the clerk numbers and seals. The
// final page, rendered by PDFium and read back (flattened by qpdf so the
// widgets' text is page text), has the number and date on the template's
// own lines over their placeholders, the handwritten signature between
// the position and the name, the seal over its left third with its text
// in 10 pt off the ring; the attachment's first page carries the number,
// time and organization at the top right; pdfsig finds both signatures
// valid.
func TestDecree30TemplateProposedSignedAndIssued(t *testing.T) {
	qpdf := signtest.RequireTool(t, "qpdf")
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "testdata", "decree30", "quyet-dinh-phu-luc.pdf"))
	e.must(err)
	e.pdf = tmpl
	eng := render.New(render.Options{CacheDir: filepath.Join(os.TempDir(), "vanban-render-test-wazero")})
	defer eng.Close()
	e.wf.Proposer = &signsession.Proposer{Engine: eng, Blobs: e.blobs}
	e.must(e.db.SetSignatureImage(ctx, store.ImageOfUser, e.signer.ID, e.pngKey(handwriting()), "x", e.admin.ID))
	e.must(e.db.SetSignatureImage(ctx, store.ImageOfOrg, e.org.ID, e.pngKey(sealImage()), "x", e.admin.ID))

	d := e.awaiting(e.signer, "Quyết định phê duyệt kế hoạch chuyển đổi số")
	l, err := e.svc.Layout(ctx, as(e.drafter), d.ID)
	e.must(err)
	if !l.Proposed || l.Block != signsession.BlockPrinted || !l.Cover || !l.DateItalic || l.NumberAlign != "center" ||
		len(l.AttachmentPages) != 1 || l.AttachmentPages[0] != 2 || l.SignaturePage != 1 {
		t.Fatalf("proposed layout %+v", l)
	}
	s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	if s = e.settle(e.svc, s.ID, e.signer); s.State != store.SigningCompleted {
		t.Fatalf("leader: %+v", s)
	}
	numbered, err := e.svc.NumberAndDate(ctx, as(e.clerk), d.ID)
	e.must(err)
	seal, err := e.svc.Seal(ctx, as(e.clerk), d.ID)
	e.must(err)
	if seal.State != store.SigningCompleted {
		seal = e.settle(e.svc, seal.ID, e.clerk)
	}
	v := e.doc(d.ID)
	final := readBlob(e, v.Versions[len(v.Versions)-1].BlobKey)
	dir := t.TempDir()
	path := filepath.Join(dir, "sealed.pdf")
	e.must(os.WriteFile(path, final, 0o600))
	if out := os.Getenv("VANBAN_LAYOUT_OUT"); out != "" {
		// For a person to look at: VANBAN_LAYOUT_OUT=/tmp/x go test ...
		e.must(os.WriteFile(filepath.Join(out, "decree30-sealed.pdf"), final, 0o644))
	}

	var signed []signtest.PDFSigResult
	for _, r := range signtest.PDFSig(t, path, e.trust...) {
		if len(r.Ranges) > 0 {
			signed = append(signed, r)
		}
	}
	if len(signed) != 2 || !signed[0].SignatureValid() || !signed[1].SignatureValid() || !signed[1].TotalDocumentSigned {
		t.Errorf("pdfsig: %+v", signed)
	}

	// Text: flatten the widgets into the page, then read it with PDFium.
	flat := filepath.Join(dir, "flat.pdf")
	if out, err := exec.Command(qpdf, "--flatten-annotations=all", path, flat).CombinedOutput(); err != nil && !strings.Contains(string(out), "operation succeeded") {
		t.Fatalf("qpdf: %v %s", err, out)
	}
	flatPDF, err := os.ReadFile(flat)
	e.must(err)
	var before, after []*render.PageText
	var page1 *image.RGBA
	const dpi = 144
	e.must(eng.Open(context.Background(), "t", tmpl, func(d *render.Document) error {
		for i := 1; i <= d.PageCount(); i++ {
			pt, err := d.Text(i)
			if err != nil {
				return err
			}
			before = append(before, pt)
		}
		return nil
	}))
	e.must(eng.Open(context.Background(), "t", flatPDF, func(d *render.Document) error {
		for i := 1; i <= d.PageCount(); i++ {
			pt, err := d.Text(i)
			if err != nil {
				return err
			}
			after = append(after, pt)
		}
		return nil
	}))
	e.must(eng.Open(context.Background(), "t", final, func(d *render.Document) error {
		page1, err = d.Render(1, dpi)
		return err
	}))
	// What signing added: the flattened pages' characters that the
	// template does not have at the same place.
	for i := range after {
		var added []render.Char
		for _, c := range after[i].Chars {
			old := false
			for _, o := range before[i].Chars {
				if o.R == c.R && math.Abs(o.Box.LLX-c.Box.LLX) < 0.3 && math.Abs(o.Baseline-c.Baseline) < 0.3 {
					old = true
					break
				}
			}
			if !old {
				added = append(added, c)
			}
		}
		after[i] = &render.PageText{Page: after[i].Page, Width: after[i].Width, Height: after[i].Height, Chars: added}
	}
	lineWith := func(pt *render.PageText, text string) *render.Line {
		for _, ln := range pt.Lines() {
			if strings.Contains(ln.Text, text) {
				return &ln
			}
		}
		return nil
	}
	find := func(pt *render.PageText, text string) *render.Rect {
		// Lines may hold both header cells: find the run of chars.
		for _, ln := range pt.Lines() {
			rs := []rune(text)
			for i := 0; i+len(rs) <= len(ln.Chars); i++ {
				ok := true
				for j, r := range rs {
					if ln.Chars[i+j].R != r {
						ok = false
						break
					}
				}
				if ok {
					var b render.Rect
					for _, c := range ln.Chars[i : i+len(rs)] {
						b = b.Union(c.Box)
					}
					return &b
				}
			}
		}
		return nil
	}
	tmplNumber := find(before[0], "/QĐ-UBND")
	tmplDate := find(before[0], "tháng ..... năm 2026")
	number := find(after[0], "Số: "+numbered.Symbol)
	date := find(after[0], document.PlaceDate(e.org.Place, numbered.NumberedAt))
	if tmplNumber == nil || tmplDate == nil || number == nil || date == nil {
		t.Fatalf("template number %v date %v; final number %v date %v", tmplNumber, tmplDate, number, date)
	}
	// On the template's lines: the same baseline band, the same column.
	if math.Abs(number.LLY-tmplNumber.LLY) > 2.5 || math.Abs(date.LLY-tmplDate.LLY) > 2.5 {
		t.Errorf("number at y %.1f (template %.1f), date at %.1f (template %.1f)", number.LLY, tmplNumber.LLY, date.LLY, tmplDate.LLY)
	}
	if number.LLX > tmplNumber.LLX || number.URX < tmplNumber.LLX-40 || date.URX < tmplDate.LLX {
		t.Errorf("number %+v / date %+v away from the template's %+v / %+v", number, date, tmplNumber, tmplDate)
	}

	// Ink, in the rendering: pixel helpers in PDF points.
	scale := float64(dpi) / 72
	h := float64(page1.Rect.Dy())
	at := func(x, y float64) color.RGBA { return page1.RGBAAt(int(x*scale), int(h-y*scale)) }
	type box struct{ n, x0, y0, x1, y1 float64 }
	scan := func(r render.Rect, want func(color.RGBA) bool) box {
		b := box{x0: math.Inf(1), y0: math.Inf(1), x1: math.Inf(-1), y1: math.Inf(-1)}
		for y := r.LLY; y < r.URY; y += 1 / scale {
			for x := r.LLX; x < r.URX; x += 1 / scale {
				if want(at(x, y)) {
					b.n++
					b.x0, b.y0, b.x1, b.y1 = math.Min(b.x0, x), math.Min(b.y0, y), math.Max(b.x1, x), math.Max(b.y1, y)
				}
			}
		}
		return b
	}
	blue := func(c color.RGBA) bool { return c.B > 120 && c.R < 100 && c.G < 100 }
	red := func(c color.RGBA) bool { return c.R > 150 && c.G < 100 && c.B < 100 }
	dark := func(c color.RGBA) bool { return c.R < 170 && c.G < 170 && c.B < 170 }

	// No blank placeholder shows: the template's dots are covered, so
	// at the dots' height (the baseline row, below any digit's bowl) the
	// placeholders hold no more dark pixels than the new text's glyphs.
	prop := placementOf(t, eng, tmpl)
	// The dotted runs of the template: on the dots' row (just above the
	// baseline), away from the new text's glyphs, the template is dark
	// and the final page white.
	var orig *image.RGBA
	e.must(eng.Open(context.Background(), "t", tmpl, func(d *render.Document) error {
		orig, err = d.Render(1, dpi)
		return err
	}))
	shown := 0 // dark placeholder pixels of the template, outside new glyphs
	checkCovered := func(label string, ph render.Rect) {
		// The field lies over the whole placeholder, and paints it.
		var field pades.Rect
		switch label {
		case "number":
			field = l.Number
		default:
			field = l.Date
		}
		if field.LLX > ph.LLX || field.URX < ph.URX || field.LLY > ph.LLY+1 || field.URY < ph.URY-1 || !l.Cover {
			t.Errorf("%s field %+v does not cover its placeholder %+v", label, field, ph)
		}
		var added []render.Rect
		for _, c := range after[0].Chars {
			if c.R != ' ' && c.Box.Intersects(ph) {
				added = append(added, c.Box)
			}
		}
		base := tmplBaseline(before[0], ph)
		inGlyph := func(x float64) bool {
			for _, a := range added {
				if x >= a.LLX-0.5 && x <= a.URX+0.5 {
					return true
				}
			}
			return false
		}
		was, now := 0, 0
		for y := base; y < base+2; y += 1 / scale {
			for x := ph.LLX + 1; x < ph.URX-1; x += 1 / scale {
				if inGlyph(x) {
					continue
				}
				px, py := int(x*scale), int(h-y*scale)
				if dark(orig.RGBAAt(px, py)) {
					was++
				}
				if dark(page1.RGBAAt(px, py)) {
					now++
				}
			}
		}
		t.Logf("%s placeholder x %.0f..%.0f: %d dark pixels on the dots' row outside new glyphs in the template, %d after", label, ph.LLX, ph.URX, was, now)
		shown += was
		if now > 0 {
			t.Errorf("%s: %d dark pixels of the placeholder still show (template %d)", label, now, was)
		}
	}
	checkCovered("number", prop.Number.Placeholders[0])
	for _, ph := range prop.Date.Placeholders {
		checkCovered("date", ph)
	}
	if shown == 0 {
		t.Error("the test saw no placeholder dots outside the new text in the template: it proves nothing")
	}

	// The signature block: the handwriting between the position and the
	// name, centred in the block's column.
	pos, name := lineWith(before[0], "PHÓ CHỦ TỊCH"), lineWith(before[0], "Trần Thị Bình")
	if pos == nil || name == nil {
		t.Fatalf("the template has no block lines (%v, %v)", pos, name)
	}
	sig := scan(render.Rect{LLX: 250, LLY: name.Box.LLY - 20, URX: 595, URY: pos.Box.URY + 20}, blue)
	if sig.n < 200 {
		t.Fatalf("no handwritten signature near the block (%v blue pixels)", sig.n)
	}
	if sig.y1 > pos.Box.LLY+0.5 || sig.y0 < name.Box.URY-0.5 {
		t.Errorf("handwriting spans y %.1f..%.1f, outside the gap %.1f..%.1f", sig.y0, sig.y1, name.Box.URY, pos.Box.LLY)
	}
	if mid, col := (sig.x0+sig.x1)/2, (pos.Box.LLX+pos.Box.URX)/2; math.Abs(mid-col) > 12 {
		t.Errorf("handwriting centred at x %.1f, the block at %.1f", mid, col)
	}
	// The seal: its real size (36 mm), its right edge about a third into
	// the handwriting, from the left.
	sl := scan(render.Rect{LLX: 100, LLY: name.Box.LLY - 80, URX: 595, URY: pos.Box.URY + 80}, red)
	if d := sl.x1 - sl.x0; math.Abs(d-signsession.SealDiameter) > 4 || math.Abs(sl.y1-sl.y0-signsession.SealDiameter) > 4 {
		t.Errorf("seal %.1f x %.1f points, want %.1f", d, sl.y1-sl.y0, signsession.SealDiameter)
	}
	third := sig.x0 + (sig.x1-sig.x0)/3
	if sl.x1 < sig.x0+5 || math.Abs(sl.x1-third) > 0.12*(sig.x1-sig.x0) || sl.x0 > sig.x0 {
		t.Errorf("seal x %.1f..%.1f, handwriting %.1f..%.1f: not over its left third", sl.x0, sl.x1, sig.x0, sig.x1)
	}
	// The seal's text: organization and ISO 8601 time with +07:00, in
	// 10 pt, off the ring.
	var sealText []render.Char
	for _, ln := range after[0].Lines() {
		if strings.Contains(ln.Text, "+07:00") || strings.Contains(ln.Text, "Ủy ban nhân dân") && ln.Box.URY < pos.Box.URY+60 && ln.Box.LLY > name.Box.LLY-60 {
			sealText = append(sealText, ln.Chars...)
		}
	}
	if len(sealText) == 0 {
		t.Fatal("no seal text near the seal")
	}
	for _, c := range sealText {
		if c.R == ' ' {
			continue
		}
		if math.Abs(c.Size-10) > 0.6 {
			t.Errorf("seal text %q in %.1f pt, want 10", c.R, c.Size)
			break
		}
		if c.Box.URX > sl.x0+1 {
			t.Errorf("seal text %q at x %.1f reaches the seal at %.1f", c.R, c.Box.URX, sl.x0)
			break
		}
	}
	// The attachment's first page: number, time, organization at the top
	// right, without a seal image.
	ap := after[1]
	for _, want := range []string{"Số: " + numbered.Symbol, "+07:00", e.org.Name} {
		ln := lineWith(ap, want)
		if ln == nil {
			t.Errorf("attachment page lacks %q", want)
			continue
		}
		if ln.Box.LLX < ap.Width/2 || ln.Box.LLY < ap.Height-70 {
			t.Errorf("attachment %q at %+v, not top right", want, ln.Box)
		}
	}
}

// placementOf runs the proposal on a PDF, as the upload did.
func placementOf(t *testing.T, eng *render.Engine, pdf []byte) *placement.Proposal {
	t.Helper()
	p := &signsession.Proposer{Engine: eng}
	_, prop, ok, err := p.Propose(context.Background(), "t", pdf)
	if err != nil || !ok {
		t.Fatalf("proposal: %v %v", ok, err)
	}
	return prop
}

// tmplBaseline is the baseline of the template's dots in ph.
func tmplBaseline(pt *render.PageText, ph render.Rect) float64 {
	for _, c := range pt.Chars {
		if c.R == '.' && c.Box.Intersects(ph) {
			return c.Baseline
		}
	}
	return ph.LLY
}
