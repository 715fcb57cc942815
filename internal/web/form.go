package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// formError is a refused form shown again: the message beside the field it
// is about, and what the person typed (never a password or a token).
type formError struct {
	// Form names which form of the page was refused ("user", "unit", ...).
	Form    string
	Field   string
	Message string
	Detail  string
	Values  map[string]string
	status  int
}

func newFormError(c *gin.Context, form string, status int, field, msg, detail string) *formError {
	fe := &formError{Form: form, Field: field, Message: msg, Detail: detail, Values: map[string]string{}, status: status}
	if c.Request.PostForm != nil {
		for k, vs := range c.Request.PostForm {
			if len(vs) == 0 || k == CSRFField || strings.Contains(k, "password") {
				continue
			}
			fe.Values[k] = vs[0]
		}
	}
	return fe
}

// orEmpty lets templates read .Form.Field and .Form.Values on a page shown
// without an error.
func (fe *formError) orEmpty() *formError {
	if fe == nil {
		return &formError{Values: map[string]string{}}
	}
	return fe
}

// Is reports whether the error is about this form, for the templates.
func (fe *formError) Is(form string) bool { return fe != nil && fe.Form == form && fe.Message != "" }

// Value returns what was typed into a field of the refused form.
func (fe *formError) Value(form, field string) string {
	if fe == nil || fe.Form != form {
		return ""
	}
	return fe.Values[field]
}

// flashCookie carries a success notice over the redirect that follows a
// change; it holds only a message key of ours, read once.
const flashCookie = "vanban_flash"

// flash queues the notice key for the next page.
func (s *Server) flash(c *gin.Context, key string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(key), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the queued notice in the page's language, once.
func (s *Server) takeFlash(c *gin.Context) string {
	ck, err := c.Cookie(flashCookie)
	if err != nil || ck == "" {
		return ""
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	key, err := url.QueryUnescape(ck)
	if err != nil || !strings.HasPrefix(key, "flash.") {
		return ""
	}
	l := s.lang(c)
	if msg := l.T(key); msg != key {
		return msg
	}
	return ""
}

// confirmPage asks before an irreversible action: a page of our own (no
// inline script, which the CSP forbids) whose form posts the same action
// again with confirm=yes and the fields that came with it.
func (s *Server) confirmPage(c *gin.Context, key, action string, keep []string) {
	fields := map[string]string{}
	for _, k := range keep {
		if v := c.PostForm(k); v != "" {
			fields[k] = v
		}
	}
	s.render(c, http.StatusOK, "confirm", map[string]any{"Question": s.lang(c).T(key), "Action": action, "Fields": fields,
		"Back": safeNext(refererPath(c))})
}
