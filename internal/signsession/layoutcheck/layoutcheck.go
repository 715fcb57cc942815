// Package layoutcheck checks, for tests, that an issued Decree 30 document
// is laid out as Appendix I of Decree 30/2020 asks, by reading the final PDF
// the way a person sees it: rendered by PDFium, and its text (with the
// signature widgets flattened into the page by qpdf) read back with
// positions. The service test of internal/signsession and the browser test
// of cmd/vanban share it, so both judge the same thing.
package layoutcheck

import (
	"context"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/placement"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/signing/pades"
)

// Expect is what the final document should show, against its template.
type Expect struct {
	// Template is the uploaded draft; Final the issued PDF (signed by the
	// leader, numbered, sealed).
	Template, Final []byte
	// Layout is the document's signing layout (its number and date
	// fields must cover the template's placeholders).
	Layout signsession.Layout
	// Symbol is the number and symbol ("02/QĐ-UBND"); PlaceDate the
	// place-and-date line (document.PlaceDate).
	Symbol, PlaceDate string
	// Position and Name are lines of the template's printed signature
	// block (the handwriting goes between them).
	Position, Name string
	// SealText is a fragment of the seal's text beside the seal (the
	// organization's name); OrgName the organization on the attachment.
	SealText, OrgName string
	// AttachmentPage is the first page of an attachment in the same
	// file, which carries the number at its top right; 0 for none.
	AttachmentPage int
}

// Check fails t unless the final document shows the number and date on
// the template's lines with no placeholder showing, the handwritten
// signature (blue ink) centred between the position and the name, the
// seal (red ink) at its real size over the left third of the handwriting
// with its text in 10 pt off the ring, and the attachment stamp. eng
// renders; qpdf is the qpdf program.
func Check(t testing.TB, eng *render.Engine, qpdf string, x Expect) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "final.pdf")
	must(t, os.WriteFile(path, x.Final, 0o600))
	// Text: flatten the widgets into the page, then read it with PDFium.
	flat := filepath.Join(dir, "flat.pdf")
	if out, err := exec.Command(qpdf, "--flatten-annotations=all", path, flat).CombinedOutput(); err != nil && !strings.Contains(string(out), "operation succeeded") {
		t.Fatalf("qpdf: %v %s", err, out)
	}
	flatPDF, err := os.ReadFile(flat)
	must(t, err)
	var before, after []*render.PageText
	var page1 *image.RGBA
	const dpi = 144
	must(t, eng.Open(context.Background(), "template", x.Template, func(d *render.Document) error {
		for i := 1; i <= d.PageCount(); i++ {
			pt, err := d.Text(i)
			if err != nil {
				return err
			}
			before = append(before, pt)
		}
		return nil
	}))
	must(t, eng.Open(context.Background(), "flattened", flatPDF, func(d *render.Document) error {
		for i := 1; i <= d.PageCount(); i++ {
			pt, err := d.Text(i)
			if err != nil {
				return err
			}
			after = append(after, pt)
		}
		return nil
	}))
	must(t, eng.Open(context.Background(), "final", x.Final, func(d *render.Document) error {
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
	number := find(after[0], "Số: "+x.Symbol)
	date := find(after[0], x.PlaceDate)
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
	prop := proposal(t, eng, x.Template)
	// The dotted runs of the template: on the dots' row (just above the
	// baseline), away from the new text's glyphs, the template is dark
	// and the final page white.
	var orig *image.RGBA
	must(t, eng.Open(context.Background(), "template", x.Template, func(d *render.Document) error {
		orig, err = d.Render(1, dpi)
		return err
	}))
	shown := 0 // dark placeholder pixels of the template, outside new glyphs
	checkCovered := func(label string, ph render.Rect) {
		// The field lies over the whole placeholder, and paints it.
		var field pades.Rect
		switch label {
		case "number":
			field = x.Layout.Number
		default:
			field = x.Layout.Date
		}
		if field.LLX > ph.LLX || field.URX < ph.URX || field.LLY > ph.LLY+1 || field.URY < ph.URY-1 || !x.Layout.Cover {
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
	pos, name := lineWith(before[0], x.Position), lineWith(before[0], x.Name)
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
		if strings.Contains(ln.Text, "+07:00") || strings.Contains(ln.Text, x.SealText) && ln.Box.URY < pos.Box.URY+60 && ln.Box.LLY > name.Box.LLY-60 {
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
	if x.AttachmentPage == 0 {
		return
	}
	if len(after) < x.AttachmentPage {
		t.Fatalf("the final document has %d pages, the attachment starts on page %d", len(after), x.AttachmentPage)
	}
	ap := after[x.AttachmentPage-1]
	for _, want := range []string{"Số: " + x.Symbol, "+07:00", x.OrgName} {
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

// Handwriting is a leader's handwritten signature as Check expects it:
// a transparent image with a blue scrawl, twice as wide as high.
func Handwriting() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 400, 200))
	for x := 20; x < 380; x++ {
		y := 100 + int(60*math.Sin(float64(x)/25))
		for dy := -5; dy <= 5; dy++ {
			img.Set(x, y+dy, color.NRGBA{0, 0, 200, 255})
		}
	}
	return img
}

// Seal is an organization's seal as Check expects it: a transparent
// image, a red ring with a red centre.
func Seal() image.Image {
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

// proposal runs the layout proposal on a PDF, as the upload did.
func proposal(t testing.TB, eng *render.Engine, pdf []byte) *placement.Proposal {
	t.Helper()
	p := &signsession.Proposer{Engine: eng}
	_, prop, ok, err := p.Propose(context.Background(), "template", pdf)
	if err != nil || !ok {
		t.Fatalf("proposal: %v %v", ok, err)
	}
	return prop
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
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
