package main

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
)

// TestWebLayoutPlacementOnAPhone: a drafter uploads a LibreOffice-made
// Decree 30 decision; on the layout page, at 390 px, the proposed boxes sit
// over the page image where the template has its number line, date line
// and signature block; the drafter drags the signature box and taps the
// page to place the seal, the form's PDF coordinates follow, and saving
// stores them. The server-side form refuses a cover over a body line with
// the reason beside the form, keeping what was typed. No page logs an
// error.
func TestWebLayoutPlacementOnAPhone(t *testing.T) {
	o := newOffice(t)
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "testdata", "decree30", "quyet-dinh-ubnd.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	up, err := newUpload(httpapi.DraftCreate{UnitID: o.unit.ID, Type: document.TypeQuyetDinh, Subject: "Quyết định ban hành quy chế",
		Recipients: []string{o.org}}, "quyet-dinh.pdf", tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var d httpapi.DocumentJSON
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents", up, &d); err != nil {
		t.Fatalf("upload draft: %v", err)
	}
	var proposed signsession.Layout
	if err := o.people["soan"].call(ctx, "GET", "/api/v1/documents/"+d.ID+"/layout", nil, &proposed); err != nil {
		t.Fatal(err)
	}
	if !proposed.Proposed || proposed.Block != signsession.BlockPrinted || !proposed.Cover {
		t.Fatalf("the upload proposed %+v", proposed)
	}

	b := newBrowser(t, o.s.URL)
	b.login("soan", flowPass)
	var values map[string]string
	readForm := func() map[string]string {
		var m map[string]string
		b.run("read the form", chromedp.Evaluate(`(function(){var m={};document.querySelectorAll("#layout-form input[type=number]").forEach(function(i){m[i.name]=i.value});return m})()`, &m))
		return m
	}
	b.run("open the layout page",
		chromedp.Navigate(b.base+"/d/"+d.ID),
		chromedp.WaitVisible(`#layout-link`, chromedp.ByID),
		chromedp.Click(`#layout-link`, chromedp.ByID),
		chromedp.WaitVisible(`.layout-box[data-box=signature] rect`, chromedp.ByQuery),
		chromedp.WaitReady(`.layout-page img`, chromedp.ByQuery),
	)
	b.shot("layout-01-proposed")
	values = readForm()
	if f := func(k string) float64 { v, _ := strconv.ParseFloat(values[k], 64); return v }; math.Abs(f("signature_llx")-proposed.Signature.LLX) > 0.1 ||
		math.Abs(f("number_ury")-proposed.Number.URY) > 0.1 {
		t.Fatalf("the form shows %v, the proposal %+v", values, proposed)
	}
	// The boxes are drawn where the proposal puts them: the signature box's
	// screen position matches its PDF coordinates on the page image.
	var geo map[string]float64
	b.run("measure", chromedp.Evaluate(`(function(){
		var img=document.querySelector(".layout-page img").getBoundingClientRect();
		var r=document.querySelector(".layout-box[data-box=signature] rect").getBoundingClientRect();
		var fig=document.querySelector(".layout-page");
		return {imgX:img.left,imgY:img.top,imgW:img.width,imgH:img.height,x:r.left,y:r.top,w:r.width,h:r.height,
			pw:parseFloat(fig.getAttribute("data-width")),ph:parseFloat(fig.getAttribute("data-height")),vw:window.innerWidth}})()`, &geo))
	scale := geo["imgW"] / geo["pw"]
	if geo["vw"] > 400 || geo["imgW"] > geo["vw"] {
		t.Errorf("viewport %v, page image %v px wide", geo["vw"], geo["imgW"])
	}
	if math.Abs(geo["x"]-(geo["imgX"]+proposed.Signature.LLX*scale)) > 2 || math.Abs(geo["y"]-(geo["imgY"]+(geo["ph"]-proposed.Signature.URY)*scale)) > 2 {
		t.Errorf("signature box at %v,%v on screen; the proposal puts it at %v,%v", geo["x"], geo["y"],
			geo["imgX"]+proposed.Signature.LLX*scale, geo["imgY"]+(geo["ph"]-proposed.Signature.URY)*scale)
	}
	// Drag the signature box 20 px right and 30 px down (touch-size moves).
	x0, y0 := geo["x"]+geo["w"]/2, geo["y"]+geo["h"]/2
	b.run("drag the signature",
		chromedp.ScrollIntoView(`.layout-box[data-box=signature] rect`, chromedp.ByQuery),
		chromedp.Evaluate(`(function(){var r=document.querySelector(".layout-box[data-box=signature] rect").getBoundingClientRect();return {x:r.left,y:r.top,w:r.width,h:r.height}})()`, &geo),
	)
	x0, y0 = geo["x"]+geo["w"]/2, geo["y"]+geo["h"]/2
	b.run("drag", chromedp.ActionFunc(func(ctx context.Context) error {
		steps := []struct {
			typ  input.MouseType
			x, y float64
		}{{input.MousePressed, x0, y0}, {input.MouseMoved, x0 + 10, y0 + 15}, {input.MouseMoved, x0 + 20, y0 + 30}, {input.MouseReleased, x0 + 20, y0 + 30}}
		for _, s := range steps {
			ev := input.DispatchMouseEvent(s.typ, s.x, s.y).WithButton(input.Left).WithClickCount(1)
			if s.typ == input.MouseMoved {
				ev = ev.WithButtons(1)
			}
			if err := ev.Do(ctx); err != nil {
				return err
			}
		}
		return nil
	}))
	values = readForm()
	num := func(k string) float64 { v, _ := strconv.ParseFloat(values[k], 64); return v }
	if dx, dy := num("signature_llx")-proposed.Signature.LLX, num("signature_ury")-proposed.Signature.URY; math.Abs(dx-20/scale) > 2 || math.Abs(dy+30/scale) > 2 {
		t.Errorf("dragged by 20, 30 px (%.1f, %.1f pt): the form moved by %.1f, %.1f", 20/scale, 30/scale, dx, dy)
	}
	if w := num("signature_urx") - num("signature_llx"); math.Abs(w-proposed.Signature.Width()) > 0.2 {
		t.Errorf("dragging changed the width to %.1f", w)
	}
	// Tap to place the seal: choose it, tap the page at a blank point.
	var tap map[string]float64
	b.run("tap to place the seal",
		chromedp.Click(`input[name=pick][value=seal]`, chromedp.ByQuery),
		chromedp.Evaluate(`(function(){var img=document.querySelector(".layout-page img").getBoundingClientRect();return {x:img.left+img.width*0.3,y:img.top+img.height*0.85}})()`, &tap),
		chromedp.MouseClickXY(0, 0, chromedp.ButtonNone), // nothing: focus only
	)
	b.run("tap", chromedp.MouseClickXY(tap["x"], tap["y"]))
	values = readForm()
	cx, cy := (num("seal_llx")+num("seal_urx"))/2, (num("seal_lly")+num("seal_ury"))/2
	if wantX, wantY := geo["pw"]*0.3, geo["ph"]*0.15; math.Abs(cx-wantX) > 3 || math.Abs(cy-wantY) > 3 {
		t.Errorf("tapped at %.0f, %.0f pt; the seal is centred at %.0f, %.0f", wantX, wantY, cx, cy)
	}
	b.shot("layout-02-moved")
	b.run("save",
		chromedp.Click(`#layout-save`, chromedp.ByID),
		chromedp.WaitVisible(`#layout-saved`, chromedp.ByID),
	)
	b.shot("layout-03-saved")
	var saved signsession.Layout
	if err := o.people["soan"].call(ctx, "GET", "/api/v1/documents/"+d.ID+"/layout", nil, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Proposed || math.Abs(saved.Signature.LLX-num("signature_llx")) > 0.11 || math.Abs(saved.Seal.LLY-num("seal_lly")) > 0.11 || !saved.Cover {
		t.Errorf("saved %+v, the form had %v", saved, values)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}

	// The server-side form: a cover over a body line is refused beside
	// the form, with the typed values kept.
	w := o.web(t, "soan")
	page := w.get("/d/" + d.ID + "/layout")
	_, csrf := formOf(t, page, "/d/"+d.ID+"/layout")
	form := url.Values{"csrf_token": {csrf}, "cover": {"on"}}
	for _, r := range []struct {
		name string
		page int
		rect [4]float64
	}{
		{"number", 1, [4]float64{proposed.Number.LLX, proposed.Number.LLY, proposed.Number.URX, proposed.Number.URY}},
		{"date", 1, [4]float64{80, 550, 540, 568}}, // over "Điều 1. ..."
		{"signature", 1, [4]float64{saved.Signature.LLX, saved.Signature.LLY, saved.Signature.URX, saved.Signature.URY}},
		{"seal", 1, [4]float64{saved.Seal.LLX, saved.Seal.LLY, saved.Seal.URX, saved.Seal.URY}},
	} {
		form.Set(r.name+"_page", strconv.Itoa(r.page))
		for i, k := range []string{"_llx", "_lly", "_urx", "_ury"} {
			form.Set(r.name+k, strconv.FormatFloat(r.rect[i], 'f', 1, 64))
		}
	}
	resp, body := w.post("/d/"+d.ID+"/layout", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="layout-error"`) || !strings.Contains(text(body), "Điều 1") ||
		!strings.Contains(body, `value="550.0"`) {
		t.Errorf("a cover over a body line: %d\n%.1500s", resp.StatusCode, text(body))
	}
	var after signsession.Layout
	if err := o.people["soan"].call(ctx, "GET", "/api/v1/documents/"+d.ID+"/layout", nil, &after); err != nil {
		t.Fatal(err)
	}
	if after.Date != saved.Date {
		t.Errorf("the refused layout was stored: %+v", after.Date)
	}
}
