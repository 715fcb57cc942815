package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/render"
)

// pageWidths are the image widths the document page offers besides the
// 910-pixel default (pixels across an A4 page) and the resolution each is
// rendered at: the srcset gives 1300 to screens of 1.5 device pixels per
// CSS pixel and 1680 to 2 and more (a phone draws the page about 360 CSS
// pixels wide, a desk 910), the enlarged view the 1680. PDFium caps the
// pixels whatever the page size.
var pageWidths = map[string]int{"600": 72, "1300": 157, "1680": 203}

func (s *Server) pageImageWidth(c *gin.Context) {
	_, ver, ok := s.version(c)
	if !ok {
		return
	}
	dpi, known := pageWidths[c.Param("width")]
	n, err := strconv.Atoi(c.Param("n"))
	if !known || err != nil || n < 1 || n > 10000 {
		s.fail(c, document.Errorf(document.ENOTFOUND, "no such page image"))
		return
	}
	path, err := s.renderer.PageAt(render.WithUser(c.Request.Context(), session(c).User.ID), ver.SHA256, ver.BlobKey, n, dpi)
	if errors.Is(err, errNoPage) {
		s.fail(c, document.Errorf(document.ENOTFOUND, "no such page"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "private, max-age=86400")
	c.File(path)
}

// TextSource returns the text extracted from a document's latest version
// (store.DB is one); the caller has checked that the document may be read.

type textView struct {
	Doc     *document.Document
	Pages   []string
	Pending bool
	Failure string
}

// documentText is the accessible alternative of the page images: the
// text PDFium extracted from the latest version, page by page.
func (s *Server) documentText(c *gin.Context) {
	v, err := s.opt.Workflow.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	tv := &textView{Doc: v.Document}
	t, found, err := s.opt.Workflow.LatestText(c.Request.Context(), actor(c), v.Document.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	switch {
	case !found:
		tv.Pending = true
	case t.Failure != "":
		tv.Failure = t.Failure
	default:
		tv.Pages = strings.Split(t.Body, "\f")
	}
	s.render(c, http.StatusOK, "viewer_text", tv)
}
