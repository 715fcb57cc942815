package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/httperr"
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
	// fieldErr places a form's error beside its field (draftfields.go).
	"fieldErr":  fieldErr,
	"urgencies": urgencies,
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
	S       *auth.Session
	CSRF    string
	Path    string
	Now     time.Time
	Drafter bool
	Clerk   bool
	Signer  bool
	// Flash is a success notice from the change before this page.
	Flash string
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
	if c.Request.Method == http.MethodGet {
		p.Flash = s.takeFlash(c)
	}
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

// failure maps an error to a status and a message in the page's language,
// through the same table as the API (httperr): domain errors are the
// person's to fix (4xx) and keep their explanation as detail; anything else
// is ours (5xx, logged).
func (s *Server) failure(c *gin.Context, err error) (int, string, string) {
	cl := httperr.Classify(c.Request.Context(), err)
	if cl.Internal {
		s.opt.Logger.Error("page failed", "path", c.Request.URL.Path, "code", cl.Code, "err", err)
	}
	l := s.lang(c)
	key := "err." + cl.Code
	if k, ok := codeKeys[cl.Code]; ok {
		key = k
	}
	if files.IsBadFile(err) {
		key = "err.notpdf"
	}
	msg := l.T(key)
	if msg == key {
		msg = l.T("err.internal")
	}
	detail := cl.Detail
	if cl.Status == http.StatusNotFound || cl.Internal {
		detail = ""
	}
	return cl.Status, msg, detail
}

func (s *Server) fail(c *gin.Context, err error) {
	status, msg, detail := s.failure(c, err)
	if status == 499 {
		c.AbortWithStatus(status)
		return
	}
	s.errorPage(c, status, msg, detail)
}

var errNoSigning = httperr.ErrSigningUnavailable

// codeKeys names the message of an error code whose key differs from
// "err." + code.
var codeKeys = map[string]string{
	document.ENOTFOUND:             "err.notfound",
	httperr.CodeTooLarge:           "err.toolarge",
	httperr.CodeSigningUnavailable: "err.nosigning",
	httperr.CodeBadRequest:         "err.badrequest",
}
