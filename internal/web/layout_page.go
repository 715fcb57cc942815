package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/signing/pades"
)

// The layout page shows where the number, the date, the leader's
// signature and the seal go, as boxes over the page images (an SVG drawn
// without script, so a reviewer sees them as they are), and lets the
// drafter move them: drag or tap with layout.js, or type the coordinates
// in the form, which is also what the script fills in.

// layoutBox is one placed rectangle as the page draws it: SVG coordinates
// (points from the top left) and the form's PDF coordinates.
type layoutBox struct {
	Name, Label string
	Page        int
	Rect        pades.Rect
	X, Y, W, H  float64
}

type layoutPageView struct {
	N             int
	Width, Height float64
	Boxes         []layoutBox
}

type layoutView struct {
	Doc     *document.Document
	Version *document.Version
	Layout  signsession.Layout
	Pages   []layoutPageView
	Boxes   []layoutBox
	CanEdit bool
	Saved   bool
	Error   string
}

// layoutBoxNames are the layout's rectangles in form order.
var layoutBoxNames = []string{"number", "date", "signature", "seal"}

func boxesOf(l signsession.Layout, pages int) []layoutBox {
	pageOr := func(p, def int) int {
		if p == 0 {
			return def
		}
		return p
	}
	return []layoutBox{
		{Name: "number", Page: pageOr(l.NumberPage, 1), Rect: l.Number},
		{Name: "date", Page: pageOr(l.DatePage, 1), Rect: l.Date},
		{Name: "signature", Page: pageOr(l.SignaturePage, pages), Rect: l.Signature},
		{Name: "seal", Page: pageOr(l.SignaturePage, pages), Rect: l.Seal},
	}
}

func (s *Server) layoutData(c *gin.Context) (*layoutView, bool) {
	ctx := c.Request.Context()
	v, err := s.opt.Workflow.Get(ctx, actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	if s.opt.Signing == nil {
		s.fail(c, errNoSigning)
		return nil, false
	}
	if len(v.Versions) == 0 {
		s.fail(c, document.Errorf(document.ENOTFOUND, "the document has no version"))
		return nil, false
	}
	l, err := s.opt.Signing.Layout(ctx, actor(c), v.Document.ID)
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	ver := v.Versions[len(v.Versions)-1]
	lv := &layoutView{Doc: v.Document, Version: ver, Layout: l}
	switch v.Document.State {
	case document.StateDraft, document.StateInReview, document.StateAwaitingSignature:
		lv.CanEdit = v.Document.Direction == document.Outgoing
	}
	// Page sizes, to draw the boxes over the images in PDF points.
	err = s.renderer.withDocument(render.WithUser(ctx, session(c).User.ID), ver.BlobKey, func(d *render.Document) error {
		for i := 1; i <= d.PageCount() && i <= 50; i++ {
			w, h, err := d.PageSize(i)
			if err != nil {
				return err
			}
			lv.Pages = append(lv.Pages, layoutPageView{N: i, Width: w, Height: h})
		}
		return nil
	})
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	for _, b := range boxesOf(l, len(lv.Pages)) {
		b.Label = s.lang(c).layoutLabel(b.Name)
		if b.Page >= 1 && b.Page <= len(lv.Pages) {
			p := &lv.Pages[b.Page-1]
			b.X, b.Y, b.W, b.H = b.Rect.LLX, p.Height-b.Rect.URY, b.Rect.Width(), b.Rect.Height()
			p.Boxes = append(p.Boxes, b)
		}
		lv.Boxes = append(lv.Boxes, b)
	}
	return lv, true
}

func (s *Server) layoutPage(c *gin.Context) {
	lv, ok := s.layoutData(c)
	if !ok {
		return
	}
	lv.Saved = c.Query("saved") == "1"
	s.render(c, http.StatusOK, "layout_edit", lv)
}

// saveLayout takes the form: for each box its page and PDF rectangle, and
// whether the number and date cover the template's lines.
func (s *Server) saveLayout(c *gin.Context) {
	lv, ok := s.layoutData(c)
	if !ok {
		return
	}
	l := lv.Layout
	num := func(name string) (float64, error) {
		v, err := strconv.ParseFloat(c.PostForm(name), 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", name, c.PostForm(name))
		}
		return v, nil
	}
	var perr error
	for _, name := range layoutBoxNames {
		var r pades.Rect
		var err error
		if r.LLX, err = num(name + "_llx"); err == nil {
			if r.LLY, err = num(name + "_lly"); err == nil {
				if r.URX, err = num(name + "_urx"); err == nil {
					r.URY, err = num(name + "_ury")
				}
			}
		}
		page, perr2 := strconv.Atoi(c.PostForm(name + "_page"))
		if err == nil && perr2 != nil {
			err = fmt.Errorf("%s_page: %q is not a page number", name, c.PostForm(name+"_page"))
		}
		if err != nil {
			perr = err
			break
		}
		switch name {
		case "number":
			l.Number, l.NumberPage = r, page
		case "date":
			l.Date, l.DatePage = r, page
		case "signature":
			l.Signature, l.SignaturePage = r, page
		case "seal":
			l.Seal = r
		}
	}
	l.Cover = c.PostForm("cover") == "on"
	if perr == nil {
		perr = s.opt.Signing.SetLayout(c.Request.Context(), actor(c), lv.Doc.ID, l)
	}
	if perr != nil {
		status := http.StatusUnprocessableEntity
		msg := perr.Error()
		var de *document.Error
		if errors.As(perr, &de) {
			status, msg, _ = s.failure(c, perr)
			if de.Message != "" {
				msg = de.Message
			}
		}
		// The form again, with what was typed and the reason beside it.
		lv.Layout, lv.Error = l, msg
		lv.Boxes, lv.Pages = nil, resetBoxes(lv.Pages)
		for _, b := range boxesOf(l, len(lv.Pages)) {
			b.Label = s.lang(c).layoutLabel(b.Name)
			if b.Page >= 1 && b.Page <= len(lv.Pages) {
				p := &lv.Pages[b.Page-1]
				b.X, b.Y, b.W, b.H = b.Rect.LLX, p.Height-b.Rect.URY, b.Rect.Width(), b.Rect.Height()
				p.Boxes = append(p.Boxes, b)
			}
			lv.Boxes = append(lv.Boxes, b)
		}
		s.render(c, status, "layout_edit", lv)
		return
	}
	c.Redirect(http.StatusSeeOther, "/d/"+url.PathEscape(lv.Doc.ID)+"/layout?saved=1")
}

func resetBoxes(ps []layoutPageView) []layoutPageView {
	for i := range ps {
		ps[i].Boxes = nil
	}
	return ps
}

// layoutLabel names a box in the page's language.

func (l Lang) layoutLabel(name string) string {
	vi := map[string]string{"number": "Số, ký hiệu", "date": "Địa danh, ngày tháng", "signature": "Chữ ký lãnh đạo", "seal": "Dấu cơ quan"}
	en := map[string]string{"number": "Number", "date": "Place and date", "signature": "Leader's signature", "seal": "Seal"}
	if l.Code == "vi" {
		return vi[name]
	}
	return en[name]
}
