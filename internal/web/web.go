// Package web serves the pages people use: leaders sign on the phone,
// clerks number, seal, issue and route, archivists search and prove. The
// pages call the same use cases as the REST API through the same
// interfaces, share its cookie session, and leave every authorization
// decision to the use cases.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/officeconv"
	"vanban/internal/records"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/internal/workflow"
	"vanban/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Auth is what the pages need of the browser sessions (auth.Sessions
// behind the login throttle); *httpapi.API is one, wired in cmd.
type Auth interface {
	BrowserSession(c *gin.Context) (*auth.Session, error)
	PasswordLogin(c *gin.Context, username, password string) (*auth.Session, error)
	CheckCSRF(s *auth.Session, token string) bool
	EndSession(c *gin.Context, s *auth.Session) error
	// LoginToken and CheckLoginToken guard the sign-in form (login CSRF).
	LoginToken(c *gin.Context) string
	CheckLoginToken(c *gin.Context, token string) bool
	// AuditAdministration appends the audit entry of an administration
	// form.
	AuditAdministration(c *gin.Context, actorID, action, object string)
}

// Workflow is what the pages need of the use cases;
// *workflow.Service[*store.Tx] is one.
type Workflow interface {
	CheckUpload(ctx context.Context, a workflow.Actor, t workflow.UploadTarget) error
	CreateDraft(ctx context.Context, a workflow.Actor, in workflow.DraftInput) (*document.Document, error)
	UploadDraftVersion(ctx context.Context, a workflow.Actor, docID string, f workflow.File) (*document.Version, error)
	AddAttachment(ctx context.Context, a workflow.Actor, docID, name, contentType string, f workflow.File) (*document.Attachment, error)
	SetRecipients(ctx context.Context, a workflow.Actor, docID string, unitIDs []string) error
	SetRecipientList(ctx context.Context, a workflow.Actor, docID string, r workflow.RecipientList) error
	SubmitForReview(ctx context.Context, a workflow.Actor, docID string, reviewerIDs []string) (*document.Document, error)
	Approve(ctx context.Context, a workflow.Actor, docID, comment string) (*document.Document, error)
	Return(ctx context.Context, a workflow.Actor, docID, comment string) (*document.Document, error)
	AssignSignerAs(ctx context.Context, a workflow.Actor, docID, signerID string, capacity document.Capacity, principalID string) (*document.Document, error)
	Issue(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error)
	Archive(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error)
	Withdraw(ctx context.Context, a workflow.Actor, docID, reason string) (*document.Document, error)
	RegisterIncoming(ctx context.Context, a workflow.Actor, in workflow.IncomingInput) (*document.Document, []*document.Document, error)
	KeepsRegisters(ctx context.Context, a workflow.Actor) error
	Registers(ctx context.Context, a workflow.Actor, year int) ([]*document.Register, error)
	LatestText(ctx context.Context, a workflow.Actor, docID string) (document.VersionText, bool, error)
	Verify(ctx context.Context, a workflow.Actor, docID string, seq int) (*workflow.Verification, error)
	LatestVerification(ctx context.Context, a workflow.Actor, docID string, seq int) (*workflow.Verification, error)
	Route(ctx context.Context, a workflow.Actor, docID, leaderID string) (*document.Document, error)
	Assign(ctx context.Context, a workflow.Actor, docID string, as workflow.Assignment) (*document.Document, error)
	StartHandling(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error)
	Complete(ctx context.Context, a workflow.Actor, docID, note string) (*document.Document, error)
	Get(ctx context.Context, a workflow.Actor, docID string) (*workflow.View, error)
	Timeline(ctx context.Context, a workflow.Actor, docID string) ([]workflow.Step, error)
	Search(ctx context.Context, a workflow.Actor, q document.Query) ([]*document.Document, error)
	Inbox(ctx context.Context, a workflow.Actor) (*workflow.Inbox, error)
}

// Signing is what the pages need of the signing sessions;
// *signsession.Service is one.
type Signing interface {
	StartLeader(ctx context.Context, a workflow.Actor, docID string) (*signsession.Session, error)
	StartBatch(ctx context.Context, a workflow.Actor, docIDs []string) ([]*signsession.Session, error)
	NumberAndDate(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error)
	Seal(ctx context.Context, a workflow.Actor, docID string) (*signsession.Session, error)
	Get(ctx context.Context, a workflow.Actor, sessionID string) (*signsession.Session, error)
	ListForSigner(ctx context.Context, a workflow.Actor) ([]*signsession.Session, error)
	Cancel(ctx context.Context, a workflow.Actor, sessionID string) (*signsession.Session, error)
	Layout(ctx context.Context, a workflow.Actor, docID string) (signsession.Layout, error)
	SetLayout(ctx context.Context, a workflow.Actor, docID string, l signsession.Layout) error
}

// Options wire the pages to the services.
type Options struct {
	Workflow Workflow
	Admin    *admin.Service
	// TestSigning runs the test-signing button of a leader's identity
	// (admin_testsign.go); nil: the button answers 409.
	TestSigning *admin.TestSigning
	// Signing may be nil: the signing buttons then answer 503.
	Signing Signing
	// Files stores uploads and serves downloads (digest-checked); its
	// Convert is set by New when LibreOffice is there and none is given.
	Files *files.Store
	// Blobs is where the page renderer reads PDFs.
	Blobs storage.Store
	Auth  Auth
	// CacheDir holds rendered page images (by version SHA-256 and page)
	// and the compiled PDF renderer.
	CacheDir string
	// PDFium is the shared bounded PDF engine; nil makes one of its own.
	PDFium *render.Engine
	// PhonePageURL is the prefix of the SIM simulator's virtual phone pages
	// (development services), "" when they are not running.
	PhonePageURL string
	// PhoneKey, when set, returns the per-request secret that opens the
	// phone page of msisdn for a session's provider transaction; the link
	// carries it as ?k=.
	PhoneKey func(msisdn, providerTxID string) string
	Logger   *slog.Logger
	// MaxUpload bounds an uploaded file; default 200 MiB.
	MaxUpload int64
	Now       func() time.Time
	// Exchange is the document interconnection; nil shows 503 on its pages.
	Exchange Exchange
	// Oversight: the dashboard and the public lookup (dashboard.go).
	Oversight Oversight
	// Records gives an archived document's retention date; may be nil.
	// RecordFiles runs the archivist's file pages (records.go); nil answers 503.
	RecordFiles *records.Service
	Records     Records
}

// Records is what the document page needs of the records: an archived
// document's retention date.
type Records interface {
	// RetentionOf returns the retention date (zero when the document has
	// no archive record) and whether it is kept permanently.
	RetentionOf(ctx context.Context, documentID string) (until time.Time, permanent bool, err error)
}

// Server holds the parsed templates and the page renderer.
type Server struct {
	opt      Options
	pages    map[string]*template.Template
	renderer *Renderer
	// soffice is LibreOffice's path, "" when office documents cannot be
	// converted; office runs the conversions.
	soffice string
	office  *officeconv.Converter
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
	s := &Server{opt: opt, pages: pages, renderer: newRenderer(opt.CacheDir, opt.Blobs, opt.Logger, opt.PDFium)}
	if p, err := exec.LookPath("soffice"); err == nil {
		if s.office, err = officeconv.New(officeconv.Options{Soffice: p, MaxInput: opt.MaxUpload, Timeout: 90 * time.Second}); err == nil {
			s.soffice = p
		}
	}
	if s.opt.Files == nil {
		s.opt.Files = &files.Store{Blobs: opt.Blobs, Logger: opt.Logger}
	}
	if s.opt.Files.Convert == nil && s.soffice != "" {
		s.opt.Files.Convert = s.convert
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
		{Method: "POST", Path: "/d/:id/v/:seq/verify", Handler: (*Server).verifyAgain},
		{Method: "GET", Path: "/d/:id/a/:att", Handler: (*Server).attachmentFile},
		{Method: "POST", Path: "/d/:id/revise", Upload: true, Handler: (*Server).reviseDraft},
		{Method: "GET", Path: "/d/:id/layout", Handler: (*Server).layoutPage},
		{Method: "GET", Path: "/d/:id/text", Handler: (*Server).documentText},
		{Method: "GET", Path: "/d/:id/v/:seq/pagew/:n/:width", Handler: (*Server).pageImageWidth},
		{Method: "POST", Path: "/d/:id/layout", Handler: (*Server).saveLayout},
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
		{Method: "GET", Path: "/signing/:sid/events", Handler: (*Server).signingEvents},
		{Method: "POST", Path: "/signing/:sid/cancel", Handler: (*Server).cancelSigning},

		{Method: "GET", Path: "/admin", Handler: (*Server).adminHome},
		{Method: "POST", Path: "/admin/units", Handler: (*Server).adminCreateUnit},
		{Method: "POST", Path: "/admin/users", Handler: (*Server).adminCreateUser},
		{Method: "POST", Path: "/admin/seal", Handler: (*Server).adminSetSeal},
		{Method: "POST", Path: "/admin/role-requests/:id/approve", Handler: (*Server).adminApproveRole},
		{Method: "POST", Path: "/admin/seal-image", Upload: true, Handler: (*Server).adminSealImage},
		{Method: "POST", Path: "/admin/images/:id", Upload: true, Handler: (*Server).adminUserImage},
		{Method: "GET", Path: "/admin/users/:id", Handler: (*Server).adminUserPage},
		{Method: "POST", Path: "/admin/users/:id/:action", Handler: (*Server).adminUserAction},
	}, append(exchangeRoutes(), append(recordPages(), retentionPages()...)...)...) // exchange.go, records.go, retention.go
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
	object := c.Param("id")
	if v, ok := c.Get(auditObjectKey); ok {
		object, _ = v.(string)
	}
	s.opt.Auth.AuditAdministration(c, ws.User.ID, action, object)
}

// auditObjectKey is where a form that creates something puts its id, for
// its audit entry.
const auditObjectKey = "vanban.web.audit.object"

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
	for _, rt := range append(append(routes(), oversightRoutes()...), testSignRoutes()...) {
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
