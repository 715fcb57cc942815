package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/workflow"
)

const sessionKey = "vanban.web.session"

// CSRFField is the form field that carries the session's CSRF token on
// form posts (scripts may send the X-CSRF-Token header instead).
const CSRFField = auth.CSRFField

// maxFormBody bounds the body of an ordinary (non-upload) form post.
const maxFormBody = 1 << 20

// requireSession loads the API's cookie session; without one, a page
// request goes to the sign-in page and comes back after it. Unsafe
// requests must carry the session's CSRF token in the header or the form.
// Only upload routes, whose multipart body is streamed, check it while
// they read it (readMultipart); a multipart post to any other route is
// checked here like any form, so its handler never runs without a token.
func (s *Server) requireSession(upload bool) gin.HandlerFunc {
	return func(c *gin.Context) { s.checkSession(c, upload) }
}

func (s *Server) checkSession(c *gin.Context, upload bool) {
	ws, err := s.opt.Auth.BrowserSession(c)
	if err != nil {
		if document.ErrorCode(err) != document.ENOTFOUND {
			s.fail(c, err)
			return
		}
		if c.Request.Method == http.MethodGet {
			next := c.Request.URL.RequestURI()
			target := "/login"
			if next != "/" {
				target += "?next=" + url.QueryEscape(next)
			}
			c.Redirect(http.StatusSeeOther, target)
		} else {
			s.errorPage(c, http.StatusUnauthorized, s.lang(c).T("err.session"), "")
		}
		c.Abort()
		return
	}
	c.Set(sessionKey, ws)
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead && !(upload && isMultipart(c)) {
		if !upload {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBody)
		}
		token := c.GetHeader(auth.CSRFHeader)
		if token == "" {
			token = c.PostForm(CSRFField)
		}
		if !s.opt.Auth.CheckCSRF(ws, token) {
			s.errorPage(c, http.StatusForbidden, s.lang(c).T("err.csrf"), "")
			c.Abort()
			return
		}
	}
	c.Next()
}

func isMultipart(c *gin.Context) bool {
	return strings.HasPrefix(c.GetHeader("Content-Type"), "multipart/form-data")
}

func session(c *gin.Context) *auth.Session {
	v, _ := c.Get(sessionKey)
	ws, _ := v.(*auth.Session)
	return ws
}

func actor(c *gin.Context) workflow.Actor {
	a := workflow.Actor{ClientAddr: c.ClientIP()}
	if ws := session(c); ws != nil {
		a.UserID = ws.User.ID
	}
	return a
}

// hasRole reports whether the user holds role anywhere; the use cases
// decide about a given unit, this only chooses which menus to show.
func hasRole(ws *auth.Session, r document.Role) bool { return ws.HasRole(r) }

func (s *Server) loginPage(c *gin.Context) {
	if ws, err := s.opt.Auth.BrowserSession(c); err == nil && ws != nil {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	s.renderLogin(c, http.StatusOK, c.Query("next"), "", "")
}

// renderLogin shows the sign-in form with its login-CSRF token.
func (s *Server) renderLogin(c *gin.Context, status int, next, username, msg string) {
	s.render(c, status, "login", map[string]any{"Next": next, "Username": username, "Error": msg,
		"LoginToken": s.opt.Auth.LoginToken(c)})
}

func (s *Server) login(c *gin.Context) {
	l := s.lang(c)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBody)
	if !s.opt.Auth.CheckLoginToken(c, c.PostForm("login_token")) {
		// A sign-in posted from another site (login CSRF) or from a form
		// shown before the browser's cookies were cleared: show the form
		// again, with a fresh token.
		s.renderLogin(c, http.StatusForbidden, c.PostForm("next"), c.PostForm("username"), l.T("err.csrf"))
		return
	}
	_, err := s.opt.Auth.PasswordLogin(c, c.PostForm("username"), c.PostForm("password"))
	if err != nil {
		status, msg := http.StatusUnauthorized, l.T("login.wrong")
		var tooMany *auth.TooManyAttemptsError
		switch {
		case errors.As(err, &tooMany):
			status, msg = http.StatusTooManyRequests, l.T("login.toomany")
		case !errors.Is(err, auth.ErrBadCredentials):
			s.fail(c, err)
			return
		}
		s.renderLogin(c, status, c.PostForm("next"), c.PostForm("username"), msg)
		return
	}
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

// safeNext keeps the redirect after sign-in on this site: a path of ours,
// never a scheme-relative URL. Browsers drop tabs and newlines inside URLs
// and read a backslash as a slash, so "/\t/evil.example" and
// "/%09/evil.example" (decoded before us) would otherwise leave the site.
func safeNext(next string) string {
	if next == "" || next[0] != '/' {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	if strings.HasPrefix(next, "//") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

func (s *Server) logout(c *gin.Context) {
	if err := s.opt.Auth.EndSession(c, session(c)); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
}

// setLang remembers the chosen language for a year.
func (s *Server) setLang(c *gin.Context) {
	code := c.Param("code")
	if _, ok := catalog()[code]; !ok {
		code = "vi"
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	back := "/"
	if ref, err := url.Parse(c.GetHeader("Referer")); err == nil && ref.Host == c.Request.Host {
		back = safeNext(ref.RequestURI())
	}
	c.Redirect(http.StatusSeeOther, back)
}
