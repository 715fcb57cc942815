// Package web serves the pages people use: leaders sign on the phone,
// clerks number, seal, issue and route, archivists search and prove. The
// pages call the same use cases as the REST API through the same
// interfaces, share its cookie session, and leave every authorization
// decision to the use cases.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/auth"
	"vanban/internal/httpapi"
	"vanban/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Auth is what the pages need of the API's sessions; *httpapi.API is one.
type Auth interface {
	BrowserSession(c *gin.Context) (*httpapi.WebSession, error)
	PasswordLogin(c *gin.Context, username, password string) (*httpapi.WebSession, error)
	CheckCSRF(s *httpapi.WebSession, token string) bool
	EndSession(c *gin.Context, s *httpapi.WebSession) error
	// AuditRequest appends the audit entry of an administration form.
	AuditRequest(c *gin.Context, actorID, action string)
}

// Options wire the pages to the services.
type Options struct {
	Workflow  httpapi.Workflow
	Directory httpapi.Directory
	// Signing may be nil: the signing buttons then answer 503.
	Signing   httpapi.Signing
	Validator httpapi.Validator
	Blobs     storage.Store
	Auth      Auth
	// CacheDir holds rendered page images (by version SHA-256 and page)
	// and the compiled PDF renderer.
	CacheDir string
	// PhonePageURL is the prefix of the SIM simulator's virtual phone pages
	// (development services), "" when they are not running.
	PhonePageURL string
	Logger       *slog.Logger
	// MaxUpload bounds an uploaded file; default 200 MiB.
	MaxUpload int64
	Now       func() time.Time
	// Providers are the names of the configured signing providers, offered
	// on the administration pages; Passwords are the argon2id parameters
	// (zero: auth.DefaultParams).
	Providers []string
	Passwords auth.Params
	// Records gives an archived document's retention date; may be nil.
	Records httpapi.Records
	// Files runs the archivist's file pages (records.go); nil answers 503.
	Files httpapi.RecordFiles
}

// Server holds the parsed templates and the page renderer.
type Server struct {
	opt      Options
	pages    map[string]*template.Template
	renderer *Renderer
	// soffice is LibreOffice's path, "" when office documents cannot be
	// converted.
	soffice string
}

// New parses the embedded templates.
func New(opt Options) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 200 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Server{opt: opt, pages: pages, renderer: NewRenderer(opt.CacheDir, opt.Blobs, opt.Logger)}
	if p, err := exec.LookPath("soffice"); err == nil {
		s.soffice = p
	}
	return s, nil
}

// Close releases the PDF renderer.
func (s *Server) Close() { s.renderer.Close() }

// route is one row of the page table.
type route struct {
	Method, Path string
	// Public pages need no signed-in user.
	Public bool
	// Upload routes read their multipart body as a stream and check the
	// CSRF token in it themselves (readMultipart), before any file is
	// stored; every other unsafe request is checked before its handler.
	Upload  bool
	Handler func(*Server, *gin.Context)
}

// routes is every page in one table.
func routes() []route {
	return append([]route{
		{Method: "GET", Path: "/", Handler: (*Server).inbox},
		{Method: "GET", Path: "/login", Public: true, Handler: (*Server).loginPage},
		{Method: "POST", Path: "/login", Public: true, Handler: (*Server).login},
		{Method: "POST", Path: "/logout", Handler: (*Server).logout},
		{Method: "GET", Path: "/lang/:code", Public: true, Handler: (*Server).setLang},

		{Method: "GET", Path: "/d/:id", Handler: (*Server).document},
		{Method: "GET", Path: "/d/:id/state", Handler: (*Server).documentState},
		{Method: "GET", Path: "/d/:id/timeline", Handler: (*Server).timeline},
		{Method: "GET", Path: "/d/:id/timeline.json", Handler: (*Server).timelineJSON},
		{Method: "GET", Path: "/d/:id/v/:seq/file", Handler: (*Server).versionFile},
		{Method: "GET", Path: "/d/:id/v/:seq/page/:n", Handler: (*Server).pageImage},
		{Method: "GET", Path: "/d/:id/v/:seq/verify", Handler: (*Server).verifyPage},
		{Method: "GET", Path: "/d/:id/v/:seq/verify.json", Handler: (*Server).verifyJSON},
		{Method: "GET", Path: "/d/:id/a/:att", Handler: (*Server).attachmentFile},
		{Method: "POST", Path: "/d/:id/:action", Handler: (*Server).documentAction},

		{Method: "GET", Path: "/new", Handler: (*Server).newDraftPage},
		{Method: "POST", Path: "/new", Upload: true, Handler: (*Server).createDraft},
		{Method: "GET", Path: "/incoming/new", Handler: (*Server).newIncomingPage},
		{Method: "POST", Path: "/incoming/new", Upload: true, Handler: (*Server).registerIncoming},
		{Method: "GET", Path: "/search", Handler: (*Server).search},

		{Method: "POST", Path: "/sign/batch", Handler: (*Server).signBatch},
		{Method: "GET", Path: "/signing", Handler: (*Server).signingList},
		{Method: "GET", Path: "/signing/:sid", Handler: (*Server).signingPage},
		{Method: "GET", Path: "/signing/:sid/status", Handler: (*Server).signingStatus},
		{Method: "POST", Path: "/signing/:sid/cancel", Handler: (*Server).cancelSigning},

		{Method: "GET", Path: "/admin", Handler: (*Server).adminHome},
		{Method: "POST", Path: "/admin/units", Handler: (*Server).adminCreateUnit},
		{Method: "POST", Path: "/admin/users", Handler: (*Server).adminCreateUser},
		{Method: "POST", Path: "/admin/seal", Handler: (*Server).adminSetSeal},
		{Method: "GET", Path: "/admin/users/:id", Handler: (*Server).adminUserPage},
		{Method: "POST", Path: "/admin/users/:id/:action", Handler: (*Server).adminUserAction},
	}, recordPages()...) // records.go
}

// auditAdministration records a successful administration form (a
// redirect back to the pages) in the hash-chained audit log, as the API
// does for its own administration requests.
func (s *Server) auditAdministration(c *gin.Context) {
	c.Next()
	if c.Writer.Status() >= 400 {
		return
	}
	ws := session(c)
	if ws == nil {
		return
	}
	action := "web.admin." + strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(c.FullPath(), "/admin/"), "/", 2)[0], "/")
	if a := c.Param("action"); a != "" {
		action += "." + a
	}
	s.opt.Auth.AuditRequest(c, ws.User.ID, action)
}

// Mount adds the pages at the root and their assets under /static/.
func (s *Server) Mount(r *gin.Engine) {
	static, _ := fs.Sub(staticFS, "static")
	assets := r.Group("/static", securityHeaders, func(c *gin.Context) {
		// Asset names do not change within a release; a day is short
		// enough for an upgrade.
		c.Header("Cache-Control", "public, max-age=86400")
		c.Next()
	})
	assets.StaticFS("/", http.FS(static))
	// Browsers ask for /favicon.ico on pages that name no icon (the
	// development phone pages): the same emblem.
	icon, _ := fs.ReadFile(static, "favicon.svg")
	r.GET("/favicon.ico", securityHeaders, func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.Data(http.StatusOK, "image/svg+xml", icon)
	})
	g := r.Group("/", securityHeaders)
	for _, rt := range routes() {
		h := rt.Handler
		handlers := []gin.HandlerFunc{}
		if !rt.Public {
			handlers = append(handlers, s.requireSession(rt.Upload))
		}
		if rt.Method == http.MethodPost && strings.HasPrefix(rt.Path, "/admin/") {
			handlers = append(handlers, s.auditAdministration)
		}
		handlers = append(handlers, func(c *gin.Context) { h(s, c) })
		g.Handle(rt.Method, rt.Path, handlers...)
	}
}

// csp allows only our own scripts, styles and images: no inline script or
// style, no framing, forms post only to us.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Next()
}
