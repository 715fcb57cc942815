package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/document"
)

// The "Ký thử / Test signing" button of a leader's signing identity: POST
// starts a test signing through the leader's provider (admin.TestSigning)
// and redirects to its page, which shows the certificate and, once the
// provider answered, whether the signature verified. While the phone is
// deciding, the page follows the status by itself with static/testsign.js
// (a reload every few seconds; no inline script under the CSP) and offers
// a refresh link without script.

func testSignRoutes() []route {
	return []route{
		{Method: "POST", Path: "/admin/test-signing/:id", Handler: (*Server).adminTestSign},
		{Method: "GET", Path: "/admin/test-signing/:id/:test", Handler: (*Server).adminTestSignPage},
	}
}

func (s *Server) adminTestSign(c *gin.Context) {
	if s.opt.TestSigning == nil {
		s.fail(c, document.Errorf(document.ECONFLICT, "test signing is not available on this server"))
		return
	}
	id := c.Param("id")
	ts, err := s.opt.TestSigning.Start(c.Request.Context(), actor(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/test-signing/"+url.PathEscape(id)+"/"+url.PathEscape(ts.ID))
}

func (s *Server) adminTestSignPage(c *gin.Context) {
	if s.opt.TestSigning == nil {
		s.fail(c, document.Errorf(document.ENOTFOUND, "test signing is not available on this server"))
		return
	}
	ts, err := s.opt.TestSigning.Status(c.Request.Context(), actor(c), c.Param("id"), c.Param("test"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "admin_testsign", map[string]any{"Test": ts, "Pending": ts.State == admin.TestPending,
		"Back": "/admin/users/" + url.PathEscape(ts.UserID)})
}
