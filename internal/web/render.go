package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/storage"
)

// funcs are the template helpers; dates are Vietnam's (dd/mm/yyyy,
// Asia/Ho_Chi_Minh) whatever the language.
var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(document.VietnamTime).Format("02/01/2006")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(document.VietnamTime).Format("15:04 02/01/2006")
	},
	"isodate": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(document.VietnamTime).Format("2006-01-02")
	},
	"kb": func(n int64) string {
		if n < 1024 {
			return itoa(int(n)) + " B"
		}
		if n < 1<<20 {
			return itoa(int(n>>10)) + " KB"
		}
		return itoa(int(n>>20)) + " MB"
	},
	"add": func(a, b int) int { return a + b },
	// dict builds the data of a shared partial from key, value pairs.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); ok {
				m[k] = kv[i+1]
			}
		}
		return m
	},
	"seq": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	},
	// str turns the domain's named string types (State, Urgency, ...)
	// into strings for comparisons.
	"str": func(v any) string { return fmt.Sprint(v) },
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// parseTemplates builds one template set per page: the layout plus the
// page's file plus the shared partials.
func parseTemplates() (map[string]*template.Template, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var partials []string
	var pages []string
	for _, f := range files {
		base := path.Base(f)
		switch {
		case base == "layout.html":
		case strings.HasPrefix(base, "_"):
			partials = append(partials, f)
		default:
			pages = append(pages, f)
		}
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		set := append([]string{"templates/layout.html"}, partials...)
		set = append(set, p)
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, set...)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	return out, nil
}

// page is what every template receives.
type page struct {
	L       Lang
	S       *httpapi.WebSession
	CSRF    string
	Path    string
	Now     time.Time
	Drafter bool
	Clerk   bool
	Signer  bool
	// D is the page's own data.
	D any
}

func (s *Server) render(c *gin.Context, status int, name string, data any) {
	t, ok := s.pages[name]
	if !ok {
		s.opt.Logger.Error("no template", "name", name)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	ws := session(c)
	p := page{L: s.lang(c), S: ws, Path: c.Request.URL.Path, Now: s.opt.Now(), D: data}
	if ws != nil {
		p.CSRF = ws.CSRFToken
		p.Drafter = hasRole(ws, document.RoleDrafter)
		p.Clerk = hasRole(ws, document.RoleClerk)
		p.Signer = hasRole(ws, document.RoleSigner)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.opt.Logger.Error("render page", "name", name, "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	// Pages show personal data: never cached by shared caches.
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorPage shows a message with the status; detail is the use case's own
// explanation (English), shown small for the curious.
func (s *Server) errorPage(c *gin.Context, status int, msg, detail string) {
	s.render(c, status, "error", map[string]any{"Status": status, "Message": msg, "Detail": detail,
		"Back": safeNext(refererPath(c))})
	c.Abort()
}

func refererPath(c *gin.Context) string {
	ref := c.GetHeader("Referer")
	if i := strings.Index(ref, c.Request.Host); i >= 0 {
		return ref[i+len(c.Request.Host):]
	}
	return "/"
}

// failure maps an error to a status and a friendly message: domain errors
// are the person's to fix (4xx); anything else is ours (5xx, logged).
func (s *Server) failure(c *gin.Context, err error) (int, string, string) {
	l := s.lang(c)
	switch document.ErrorCode(err) {
	case document.ENOTFOUND:
		return http.StatusNotFound, l.T("err.notfound"), ""
	case document.EFORBIDDEN:
		return http.StatusForbidden, l.T("err.forbidden"), document.ErrorMessage(err)
	case document.ECONFLICT:
		return http.StatusConflict, l.T("err.conflict"), document.ErrorMessage(err)
	case document.EINVALID:
		return http.StatusUnprocessableEntity, l.T("err.invalid"), document.ErrorMessage(err)
	}
	var maxErr *http.MaxBytesError
	var np errNotPDF
	switch {
	case errors.As(err, &np):
		return http.StatusUnprocessableEntity, l.T("err.notpdf"), np.reason
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, l.T("err.toolarge"), ""
	case errors.Is(err, storage.ErrNotExist):
		return http.StatusNotFound, l.T("err.notfound"), ""
	case errors.Is(err, errNoSigning):
		return http.StatusServiceUnavailable, l.T("err.nosigning"), ""
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, l.T("err.internal"), ""
	}
	s.opt.Logger.Error("page failed", "path", c.Request.URL.Path, "err", err)
	return http.StatusInternalServerError, l.T("err.internal"), ""
}

func (s *Server) fail(c *gin.Context, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		c.AbortWithStatus(499)
		return
	}
	status, msg, detail := s.failure(c, err)
	s.errorPage(c, status, msg, detail)
}

var errNoSigning = errors.New("signing is not configured on this server")

// errorsAs is errors.As, named so the login handler reads plainly.
func errorsAs(err error, target any) bool { return errors.As(err, target) }
