package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/audit"
	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/store"
	"vanban/internal/webhook"
	"vanban/internal/workflow"
	"vanban/storage"
)

// Workflow is what the API needs of the use cases;
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
	Verify(ctx context.Context, a workflow.Actor, docID string, seq int) (*workflow.Verification, error)
	Verifications(ctx context.Context, a workflow.Actor, docID string) ([]*workflow.Verification, error)
	LatestVerification(ctx context.Context, a workflow.Actor, docID string, seq int) (*workflow.Verification, error)
	Route(ctx context.Context, a workflow.Actor, docID, leaderID string) (*document.Document, error)
	Assign(ctx context.Context, a workflow.Actor, docID string, as workflow.Assignment) (*document.Document, error)
	StartHandling(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error)
	Complete(ctx context.Context, a workflow.Actor, docID, note string) (*document.Document, error)
	Overdue(ctx context.Context, a workflow.Actor, orgID string) ([]*document.Document, error)

	Get(ctx context.Context, a workflow.Actor, docID string) (*workflow.View, error)
	Timeline(ctx context.Context, a workflow.Actor, docID string) ([]workflow.Step, error)
	Search(ctx context.Context, a workflow.Actor, q document.Query) ([]*document.Document, error)
	Inbox(ctx context.Context, a workflow.Actor) (*workflow.Inbox, error)
	RedactEntries(ctx context.Context, a workflow.Actor, docs []*document.Document) ([]*document.Document, error)

	CreateDelegation(ctx context.Context, a workflow.Actor, d document.Delegation) (*document.Delegation, error)
	RevokeDelegation(ctx context.Context, a workflow.Actor, id string) error
	KeepsRegisters(ctx context.Context, a workflow.Actor) error
	Registers(ctx context.Context, a workflow.Actor, year int) ([]*document.Register, error)
}

// Directory is what the API needs of the store for people, units, logins
// and registers; *store.DB is one.
type Directory interface {
	Organization(ctx context.Context, id string) (*document.Organization, error)
	Unit(ctx context.Context, id string) (*document.Unit, error)
	Units(ctx context.Context, orgID string) ([]*document.Unit, error)
	CreateUnit(ctx context.Context, u *document.Unit) error
	User(ctx context.Context, id string) (*document.User, error)
	Users(ctx context.Context, orgID string) ([]*document.User, error)
	CreateUser(ctx context.Context, u *document.User) error
	SetUserDisabled(ctx context.Context, id string, disabled bool) error
	Grants(ctx context.Context, userID string) (document.Grants, error)
	GrantRole(ctx context.Context, userID, unitID string, role document.Role) error
	GrantRoleBy(ctx context.Context, actorID, userID, unitID string, role document.Role) (*store.RoleRequest, error)
	PendingRoleRequests(ctx context.Context, orgID string) ([]*store.RoleRequest, error)
	RoleRequestByID(ctx context.Context, id string) (*store.RoleRequest, error)
	ApproveRoleRequest(ctx context.Context, approverID, id string) (*store.RoleRequest, error)
	RevokeRole(ctx context.Context, userID, unitID string, role document.Role) error
	DocumentTypes(ctx context.Context) ([]*document.DocumentType, error)
	Register(ctx context.Context, id string) (*document.Register, error)
	RegisterEntries(ctx context.Context, registerID string) ([]*document.Document, error)
	Delegations(ctx context.Context, orgID string) ([]*document.Delegation, error)
	Attachments(ctx context.Context, documentID string) ([]*document.Attachment, error)
	SetSigningIdentity(ctx context.Context, id *store.SigningIdentity) error
	SigningIdentity(ctx context.Context, userID string) (*store.SigningIdentity, error)
	SetSealSigner(ctx context.Context, s *store.SealSigner) error
	SealSigner(ctx context.Context, orgID string) (*store.SealSigner, error)
	AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error)
	SetSignatureImage(ctx context.Context, kind, ownerID, blobKey, sha256, updatedBy string) error
	SignatureImage(ctx context.Context, kind, ownerID string) (string, error)

	CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error
	WebhookEndpoint(ctx context.Context, id string) (*webhook.Endpoint, error)
	WebhookEndpoints(ctx context.Context, orgID string) ([]*webhook.Endpoint, error)
	DisableWebhookEndpoint(ctx context.Context, id string) error
	WebhookMessages(ctx context.Context, endpointID string, limit int) ([]webhook.Message, error)
	WebhookMessage(ctx context.Context, id string) (webhook.Message, error)
	WebhookDeliveries(ctx context.Context, outboxID string) ([]webhook.Attempt, error)
	RedeliverWebhookMessage(ctx context.Context, id string) error

	Credentials(ctx context.Context, username string) (*document.User, string, error)
	SetPasswordHash(ctx context.Context, userID, hash string) error
	RehashPassword(ctx context.Context, userID, old, hash string) error
	CreateSession(ctx context.Context, s *store.Session) error
	Session(ctx context.Context, tokenHash string, at time.Time) (*store.Session, error)
	TouchSession(ctx context.Context, tokenHash string, seen, expires time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	CreateAPIToken(ctx context.Context, t *store.APIToken) error
	UseAPIToken(ctx context.Context, tokenHash string, at time.Time) (*store.APIToken, error)
	APITokens(ctx context.Context, userID string) ([]*store.APIToken, error)
	RevokeAPIToken(ctx context.Context, userID, id string, at time.Time) error
}

// API serves /api/v1. Every route but login, the OpenAPI document and
// provider callbacks requires a signed-in user; every use case checks the
// user's role, unit and assignment itself, and the handlers add the checks
// for administration.
type API struct {
	Workflow  Workflow
	Directory Directory
	Blobs     storage.Store
	// Signing runs signing sessions, numbering and sealing; nil answers 503
	// on those routes.
	Signing Signing
	// Providers are the names of the configured signing providers, for
	// validating signing identities.
	Providers []string
	// Secret keys the CSRF tokens (at least 32 bytes).
	Secret []byte
	Logger *slog.Logger
	// SessionTTL is how long an idle browser session lasts; default 12h.
	SessionTTL time.Duration
	// SecureCookies marks the session cookie Secure (HTTPS deployments).
	SecureCookies bool
	// WebhookTargets are the addresses webhooks may be registered for
	// (nil: public addresses only; VANBAN_WEBHOOK_ALLOW adds exceptions).
	WebhookTargets *webhook.Targets
	// Passwords are the argon2id parameters; zero means auth.DefaultParams.
	Passwords auth.Params
	// Logins limits password guessing per client address and per account
	// (see auth.LoginThrottle); nil means the default limits with the
	// counters in Directory when it keeps them (*store.DB), else in memory.
	Logins *auth.LoginThrottle
	// TokenMaxTTL caps the life of an API token (VANBAN_TOKEN_MAX_TTL);
	// default 90 days.
	TokenMaxTTL time.Duration
	// MaxUpload bounds an uploaded PDF; default 200 MiB.
	MaxUpload int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Records serves retention, evidence and files (records.go); nil
	// leaves them out.
	Records Records
	// Oversight: registers' printouts, reports, notifications, dashboard
	// and the public lookup (oversight.go).
	Oversight Oversight
	// Exchange is the document interconnection; nil answers 503 on its routes.
	Exchange Exchange
	// Evidence builds evidence packages (evidence.go); nil answers 503.
	Evidence EvidenceBuilder
	// Files keeps the file list and the retention schedule (records.go);
	// nil answers 503 on those routes.
	RecordFiles RecordFiles

	// The use cases shared with the pages. Mount makes them from the
	// fields above when they are nil (Directory must then be a *store.DB).
	Sessions *auth.Sessions
	Admin    *admin.Service
	// TestSigning answers the test signing of a leader's identity
	// (testsign.go); nil answers 409.
	TestSigning *admin.TestSigning
	Files       *files.Store
}

func (api *API) now() time.Time {
	if api.Now != nil {
		return api.Now()
	}
	return time.Now()
}

// route is one row of the API table: the handler and what the OpenAPI
// document says of it.
type route struct {
	Method, Path string
	Summary      string
	Tag          string
	// Public routes need no signed-in user.
	Public bool
	// Body names the JSON request schema ("" for none); Multipart marks an
	// upload.
	Body      string
	Multipart bool
	// Response names the JSON response schema ("" for a file or no body).
	Response string
	Status   int // success status; default 200
	Handler  func(*API, *gin.Context)
}

// routes is the whole API in one table.
func routes() []route {
	return append([]route{
		{Method: "POST", Path: "/auth/login", Summary: "Sign in with a password (sets the session cookie)", Tag: "auth", Public: true, Body: "Login", Response: "LoginResult", Handler: (*API).login},
		{Method: "POST", Path: "/auth/logout", Summary: "Sign out", Tag: "auth", Status: 204, Handler: (*API).logout},
		{Method: "GET", Path: "/me", Summary: "The signed-in user with their roles", Tag: "auth", Response: "Me", Handler: (*API).me},
		{Method: "POST", Path: "/me/password", Summary: "Change my password", Tag: "auth", Body: "PasswordChange", Status: 204, Handler: (*API).changePassword},
		{Method: "GET", Path: "/tokens", Summary: "My API tokens", Tag: "auth", Response: "TokenList", Handler: (*API).listTokens},
		{Method: "POST", Path: "/tokens", Summary: "Create an API token (shown once)", Tag: "auth", Body: "TokenCreate", Response: "TokenCreated", Status: 201, Handler: (*API).createToken},
		{Method: "DELETE", Path: "/tokens/:id", Summary: "Revoke an API token", Tag: "auth", Status: 204, Handler: (*API).revokeToken},

		{Method: "GET", Path: "/units", Summary: "Units of my organization", Tag: "directory", Response: "UnitList", Handler: (*API).listUnits},
		{Method: "POST", Path: "/units", Summary: "Create a unit (admin)", Tag: "directory", Body: "UnitCreate", Response: "Unit", Status: 201, Handler: (*API).createUnit},
		{Method: "GET", Path: "/users", Summary: "People of my organization, optionally by role", Tag: "directory", Response: "UserList", Handler: (*API).listUsers},
		{Method: "POST", Path: "/users", Summary: "Create a user (admin)", Tag: "directory", Body: "UserCreate", Response: "User", Status: 201, Handler: (*API).createUser},
		{Method: "GET", Path: "/role-requests", Summary: "Role grants waiting for a second administrator (admin)", Tag: "directory", Response: "RoleRequestList", Handler: (*API).listRoleRequests},
		{Method: "POST", Path: "/role-requests/:id/approve", Summary: "Approve another administrator's grant of a role that opens secret documents (admin)", Tag: "directory", Response: "RoleRequest", Handler: (*API).approveRoleRequest},
		{Method: "PUT", Path: "/users/:id/password", Summary: "Set a user's password (admin)", Tag: "directory", Body: "PasswordSet", Status: 204, Handler: (*API).setPassword},
		{Method: "PUT", Path: "/users/:id/disabled", Summary: "Disable or enable a user (admin)", Tag: "directory", Body: "UserDisabled", Status: 204, Handler: (*API).setDisabled},
		{Method: "POST", Path: "/users/:id/roles", Summary: "Grant a role in a unit (admin)", Tag: "directory", Body: "RoleGrant", Status: 204, Handler: (*API).grantRole},
		{Method: "DELETE", Path: "/users/:id/roles", Summary: "Revoke a role in a unit (admin)", Tag: "directory", Body: "RoleGrant", Status: 204, Handler: (*API).revokeRole},
		{Method: "GET", Path: "/users/:id/signing-identity", Summary: "How a leader signs: provider and phone number (admin or self)", Tag: "directory", Response: "SigningIdentity", Handler: (*API).getSigningIdentity},
		{Method: "PUT", Path: "/users/:id/signing-identity", Summary: "Set how a leader signs (admin)", Tag: "directory", Body: "SigningIdentity", Response: "SigningIdentity", Handler: (*API).setSigningIdentity},
		{Method: "GET", Path: "/users/:id/signature-image", Summary: "A leader's handwritten signature (PNG; admin or self)", Tag: "directory", Handler: (*API).getUserImage},
		{Method: "PUT", Path: "/users/:id/signature-image", Summary: "Set a leader's handwritten signature: a transparent PNG, blue (admin or self)", Tag: "directory", Multipart: true, Status: 204, Handler: (*API).setUserImage},
		{Method: "GET", Path: "/seal-image", Summary: "My organization's seal image (PNG)", Tag: "directory", Handler: (*API).getSealImage},
		{Method: "PUT", Path: "/seal-image", Summary: "Set my organization's seal image: a transparent PNG, red, at real size (admin)", Tag: "directory", Multipart: true, Status: 204, Handler: (*API).setSealImage},
		{Method: "GET", Path: "/seal-signer", Summary: "How my organization applies its seal signature", Tag: "directory", Response: "SigningIdentity", Handler: (*API).getSealSigner},
		{Method: "PUT", Path: "/seal-signer", Summary: "Set how my organization applies its seal signature (admin)", Tag: "directory", Body: "SigningIdentity", Response: "SigningIdentity", Handler: (*API).setSealSigner},
		{Method: "GET", Path: "/document-types", Summary: "Document types and their abbreviations", Tag: "directory", Response: "DocumentTypeList", Handler: (*API).listTypes},
		{Method: "GET", Path: "/delegations", Summary: "Signing delegations of my organization", Tag: "directory", Response: "DelegationList", Handler: (*API).listDelegations},
		{Method: "POST", Path: "/delegations", Summary: "Delegate signing authority (KT., TL., TUQ., Q.)", Tag: "directory", Body: "DelegationCreate", Response: "Delegation", Status: 201, Handler: (*API).createDelegation},
		{Method: "DELETE", Path: "/delegations/:id", Summary: "Revoke a delegation", Tag: "directory", Status: 204, Handler: (*API).revokeDelegation},

		{Method: "GET", Path: "/inbox", Summary: "Work waiting for me, queue by queue", Tag: "documents", Response: "Inbox", Handler: (*API).inbox},
		{Method: "GET", Path: "/documents", Summary: "Search documents (filters, full text, cursor pages)", Tag: "documents", Response: "DocumentPage", Handler: (*API).searchDocuments},
		{Method: "POST", Path: "/documents", Summary: "Create an outgoing draft from an uploaded PDF", Tag: "outgoing", Multipart: true, Response: "Document", Status: 201, Handler: (*API).createDraft},
		{Method: "GET", Path: "/documents/:id", Summary: "A document with versions, recipients and review", Tag: "documents", Response: "DocumentView", Handler: (*API).getDocument},
		{Method: "GET", Path: "/documents/:id/timeline", Summary: "Who did what and when, with durations", Tag: "documents", Response: "Timeline", Handler: (*API).timeline},
		{Method: "GET", Path: "/documents/:id/evidence", Summary: "Evidence package (ZIP): final PDF, validation report, timeline, exchange, audit entries with chain links, sealed manifest", Tag: "documents", Handler: (*API).downloadEvidence},
		{Method: "GET", Path: "/documents/:id/versions/:seq/file", Summary: "Download a version's PDF", Tag: "documents", Handler: (*API).downloadVersion},
		{Method: "GET", Path: "/documents/:id/versions/:seq/link", Summary: "A short-lived download link for a version", Tag: "documents", Response: "Link", Handler: (*API).versionLink},
		{Method: "GET", Path: "/documents/:id/versions/:seq/verification", Summary: "Validation report of a version's signatures: the newest kept, else made now and kept", Tag: "documents", Response: "VerificationReport", Handler: (*API).verifyVersion},
		{Method: "GET", Path: "/documents/:id/verifications", Summary: "Every validation report kept for the document, oldest first", Tag: "documents", Response: "Verifications", Handler: (*API).verifications},
		{Method: "POST", Path: "/documents/:id/verify", Summary: "Validate the signatures again (the latest version, or ?version=N) and keep the report", Tag: "documents", Response: "Verification", Handler: (*API).verifyAgain},
		{Method: "POST", Path: "/documents/:id/versions", Summary: "Upload a revised draft PDF", Tag: "outgoing", Multipart: true, Response: "Version", Status: 201, Handler: (*API).uploadVersion},
		{Method: "POST", Path: "/documents/:id/attachments", Summary: "Attach a file to a draft", Tag: "outgoing", Multipart: true, Response: "Attachment", Status: 201, Handler: (*API).addAttachment},
		{Method: "GET", Path: "/documents/:id/attachments/:attachment/file", Summary: "Download an attachment", Tag: "documents", Handler: (*API).downloadAttachment},
		{Method: "PUT", Path: "/documents/:id/recipients", Summary: "Set the recipient units (nơi nhận)", Tag: "outgoing", Body: "Recipients", Status: 204, Handler: (*API).setRecipients},
		{Method: "POST", Path: "/documents/:id/submit", Summary: "Send a draft for review, in order", Tag: "outgoing", Body: "Submit", Response: "Document", Handler: (*API).submit},
		{Method: "POST", Path: "/documents/:id/approve", Summary: "Approve my review step", Tag: "outgoing", Body: "Comment", Response: "Document", Handler: (*API).approve},
		{Method: "POST", Path: "/documents/:id/return", Summary: "Return to the drafter with a comment", Tag: "outgoing", Body: "Comment", Response: "Document", Handler: (*API).returnDoc},
		{Method: "POST", Path: "/documents/:id/signer", Summary: "Assign the signer and capacity", Tag: "outgoing", Body: "SignerAssign", Response: "Document", Handler: (*API).assignSigner},
		{Method: "GET", Path: "/documents/:id/layout", Summary: "Where signing places the signature, seal, number and date (PDF points)", Tag: "signing", Response: "Layout", Handler: (*API).getLayout},
		{Method: "PUT", Path: "/documents/:id/layout", Summary: "Place the signature, seal, number and date for this document's letterhead (drafter or clerk, before signing)", Tag: "signing", Body: "Layout", Response: "Layout", Handler: (*API).setLayout},
		{Method: "POST", Path: "/documents/:id/sign", Summary: "Start the leader's signature on the phone", Tag: "signing", Response: "SigningSession", Status: 202, Handler: (*API).startSigning},
		{Method: "POST", Path: "/documents/:id/number", Summary: "Number and date a signed document (clerk)", Tag: "outgoing", Response: "Document", Handler: (*API).number},
		{Method: "POST", Path: "/documents/:id/seal", Summary: "Apply the organization's seal signature (clerk)", Tag: "outgoing", Response: "Document", Handler: (*API).seal},
		{Method: "POST", Path: "/documents/:id/issue", Summary: "Issue and deliver to recipients (clerk)", Tag: "outgoing", Response: "Document", Handler: (*API).issue},
		{Method: "POST", Path: "/documents/:id/archive", Summary: "Hand to the archive (archivist)", Tag: "documents", Response: "Document", Handler: (*API).archive},
		{Method: "POST", Path: "/documents/:id/withdraw", Summary: "Withdraw before signature", Tag: "outgoing", Body: "Reason", Response: "Document", Handler: (*API).withdraw},

		{Method: "POST", Path: "/incoming", Summary: "Register a received document (clerk); its signatures are verified", Tag: "incoming", Multipart: true, Response: "IncomingRegistered", Status: 201, Handler: (*API).registerIncoming},
		{Method: "POST", Path: "/documents/:id/route", Summary: "Present to a leader (clerk)", Tag: "incoming", Body: "RouteTo", Response: "Document", Handler: (*API).route},
		{Method: "POST", Path: "/documents/:id/assign", Summary: "Assign a handler and deadline (leader)", Tag: "incoming", Body: "AssignTo", Response: "Document", Handler: (*API).assign},
		{Method: "POST", Path: "/documents/:id/start", Summary: "Start handling (handler)", Tag: "incoming", Response: "Document", Handler: (*API).startHandling},
		{Method: "POST", Path: "/documents/:id/complete", Summary: "Complete handling (handler)", Tag: "incoming", Body: "Comment", Response: "Document", Handler: (*API).complete},
		{Method: "GET", Path: "/overdue", Summary: "Open incoming documents past their deadline", Tag: "incoming", Response: "DocumentList", Handler: (*API).overdue},

		{Method: "GET", Path: "/registers", Summary: "Registers of my organization for a year", Tag: "registers", Response: "RegisterList", Handler: (*API).listRegisters},
		{Method: "GET", Path: "/registers/:id/entries", Summary: "A register's entries in number order", Tag: "registers", Response: "DocumentList", Handler: (*API).registerEntries},

		{Method: "GET", Path: "/webhooks", Summary: "Webhook endpoints of my organization (admin)", Tag: "webhooks", Response: "WebhookList", Handler: (*API).listWebhooks},
		{Method: "POST", Path: "/webhooks", Summary: "Register a webhook endpoint; its secret is shown once (admin)", Tag: "webhooks", Body: "WebhookCreate", Response: "Webhook", Status: 201, Handler: (*API).createWebhook},
		{Method: "DELETE", Path: "/webhooks/:id", Summary: "Disable a webhook endpoint (admin)", Tag: "webhooks", Status: 204, Handler: (*API).disableWebhook},
		{Method: "GET", Path: "/webhooks/:id/messages", Summary: "Recent events sent to an endpoint with their delivery state (admin)", Tag: "webhooks", Response: "WebhookMessageList", Handler: (*API).webhookMessages},
		{Method: "GET", Path: "/webhooks/:id/messages/:message/deliveries", Summary: "Delivery attempts of one event (admin)", Tag: "webhooks", Response: "WebhookAttemptList", Handler: (*API).webhookDeliveries},
		{Method: "POST", Path: "/webhooks/:id/messages/:message/redeliver", Summary: "Send a dead event again (admin)", Tag: "webhooks", Status: 204, Handler: (*API).redeliverWebhook},

		{Method: "POST", Path: "/signing/batch", Summary: "Sign several documents: one phone request each, queued", Tag: "signing", Body: "Batch", Response: "SigningSessionList", Status: 202, Handler: (*API).startBatch},
		{Method: "GET", Path: "/signing/sessions", Summary: "My signing sessions (pending first) with verification codes", Tag: "signing", Response: "SigningSessionList", Handler: (*API).listSessions},
		{Method: "GET", Path: "/signing/sessions/:id", Summary: "One signing session's status", Tag: "signing", Response: "SigningSession", Handler: (*API).getSession},
		{Method: "POST", Path: "/signing/sessions/:id/cancel", Summary: "Cancel a pending signing session", Tag: "signing", Response: "SigningSession", Handler: (*API).cancelSession},
		{Method: "POST", Path: "/signing/callback/:provider", Summary: "Completion callback from a signing provider (authenticated by the provider)", Tag: "signing", Public: true, Status: 204, Handler: (*API).signingCallback},
	}, append(exchangeRoutes(), append(recordRoutes(), retentionRoutes()...)...)...) // exchange.go, records.go, retention.go
}

// Mount adds the API under /api/v1 and its OpenAPI document at
// /api/openapi.json.
func (api *API) Mount(r *gin.Engine) {
	if api.Logger == nil {
		api.Logger = slog.Default()
	}
	if api.SessionTTL <= 0 {
		api.SessionTTL = 12 * time.Hour
	}
	if api.Passwords == (auth.Params{}) {
		api.Passwords = auth.DefaultParams
	}
	if api.Logins == nil {
		cs, _ := api.Directory.(auth.CounterStore)
		api.Logins = auth.NewLoginThrottle(cs)
	}
	if api.MaxUpload <= 0 {
		api.MaxUpload = 200 << 20
	}
	db, _ := api.Directory.(*store.DB)
	if api.Sessions == nil {
		api.Sessions = &auth.Sessions{Store: api.Directory, Secret: api.Secret, TTL: api.SessionTTL, Secure: api.SecureCookies,
			Passwords: api.Passwords, Logger: api.Logger, Now: api.Now}
	}
	if api.Admin == nil {
		provs := make([]admin.Provider, len(api.Providers))
		for i, p := range api.Providers {
			// Without the providers themselves, a name is taken to sign
			// for many people (the safe reading: a signer id is needed).
			provs[i] = admin.Provider{Name: p, PerSigner: true}
		}
		api.Admin = &admin.Service{DB: db, Providers: provs, Passwords: api.Passwords, Logger: api.Logger}
	}
	if api.Files == nil {
		api.Files = &files.Store{Blobs: api.Blobs, Logger: api.Logger}
		if db != nil {
			api.Files.Referenced = db.BlobReferenced
		}
	}
	table := append(append(routes(), oversightRoutes()...), testSignRoutes()...)
	if api.TokenMaxTTL <= 0 {
		api.TokenMaxTTL = 90 * 24 * time.Hour
	}
	doc := openAPIDocument(table)
	r.GET("/api/openapi.json", func(c *gin.Context) { c.JSON(http.StatusOK, doc) })
	g := r.Group("/api/v1", apiHeaders)
	for _, rt := range table {
		h := rt.Handler
		handlers := []gin.HandlerFunc{}
		if !rt.Public {
			handlers = append(handlers, api.authenticate)
		}
		if audited(rt) {
			handlers = append(handlers, api.auditAdministration("api."+operationID(rt)))
		}
		handlers = append(handlers, func(c *gin.Context) { h(api, c) })
		g.Handle(rt.Method, rt.Path, handlers...)
	}
}

// apiHeaders: JSON answers are never cached by shared caches, never sniffed
// as HTML and never framed.
func apiHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	c.Next()
}
