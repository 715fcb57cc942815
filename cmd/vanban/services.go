package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/archive"
	"vanban/internal/audit"
	"vanban/internal/auth"
	"vanban/internal/config"
	"vanban/internal/document"
	"vanban/internal/evidence"
	"vanban/internal/files"
	"vanban/internal/httpapi"
	"vanban/internal/interchange"
	"vanban/internal/records"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/textindex"
	"vanban/internal/visualcheck"
	"vanban/internal/web"
	"vanban/internal/webhook"
	"vanban/internal/workflow"
	"vanban/signing"
	"vanban/signing/pades"
	"vanban/signing/tsa"
	"vanban/storage"
)

// services are the application's use cases wired to the database, the blob
// store and the signing providers.
type services struct {
	// phoneSigners are the providers whose signer ids are phone numbers
	// (SIM signing through an MSSP); the others name users, CCCDs, tax
	// codes or agreements, which must not be rewritten as numbers.
	phoneSigners map[string]bool
	workflow     *workflow.Service[*store.Tx]
	// flows is workflow with archiving by archive (records.go): what the
	// API and the pages use.
	flows     *recordsWorkflow
	archive   *archive.Service
	signing   *signsession.Service
	providers map[string]signing.Provider
	validator *files.Validator
	// visualEngine renders revisions for the validator's visual check.
	visualEngine *render.Engine
	webhooks     *webhook.Deliverer
	// webhookTargets are the addresses webhooks may reach.
	webhookTargets *webhook.Targets
	// anchorer time-stamps the audit head; nil without a TSA.
	anchorer *audit.Anchorer
	exchange *interchange.Service[*store.Tx]
	evidence *evidence.Builder
	records  *records.Service
	log      *slog.Logger
	wg       sync.WaitGroup
	// dev links the web pages to the virtual phones; nil when off.
	dev *DevServices
	web *web.Server
	// pdfium is the one bounded PDFium pool: page images and the
	// layout proposed for uploaded drafts.
	pdfium *render.Engine
	// over runs notifications (oversight.go).
	over  *oversightState
	db    *store.DB
	blobs storage.Store
}

// openServices opens the configured signing providers (plus the
// development ones when dev is not nil) and builds the use cases.
func openServices(a *app, dev *DevServices) (*services, error) {
	cfg := a.cfg
	uris := map[string]string{}
	if dev != nil {
		uris["sim"], uris["seal"] = dev.MobileURI, dev.SealURI
		for name, r := range dev.Remote {
			uris[name] = r.URI
		}
	}
	for name, uri := range cfg.Signers {
		uris[name] = uri // configured providers win over development ones
	}
	s := &services{providers: map[string]signing.Provider{}, phoneSigners: map[string]bool{}, log: a.log, dev: dev, db: a.db, blobs: a.blobs}
	for name, uri := range uris {
		p, err := signing.Open(uri, signing.OSEnv)
		if err != nil {
			s.closeProviders()
			return nil, fmt.Errorf("VANBAN_SIGNERS: provider %q: %w", name, err)
		}
		s.providers[name] = p
		s.phoneSigners[name] = strings.HasPrefix(uri, "etsi204:")
	}

	roots, intermediates, err := trustAnchors(cfg.TrustFiles, dev)
	if err != nil {
		s.closeProviders()
		return nil, err
	}
	// One client for the TSA, OCSP responders, CRL distribution points and
	// the validator. The default transport keeps 2 idle connections per
	// host: with a few leaders signing at once every other time-stamp
	// would open a new connection (and, on https, a new TLS handshake).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32
	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	opts := signsession.Options{Logger: a.log}
	tsaURL := cfg.TSAURL
	if tsaURL == "" && dev != nil {
		tsaURL = dev.TSAURL
	}
	if tsaURL != "" {
		opts.TSA = &tsa.Client{URL: tsaURL, HTTPClient: httpClient}
	}
	if opts.Level, err = signsession.ChooseLevel(cfg.PadesLevel, opts.TSA != nil); err != nil {
		s.closeProviders()
		if errors.Is(err, signsession.ErrLevelNeedsTSA) {
			return nil, errors.New("VANBAN_PADES_LEVEL " + cfg.PadesLevel + " needs VANBAN_TSA_URL")
		}
		return nil, fmt.Errorf("VANBAN_PADES_LEVEL: %w", err)
	}
	if opts.TSA != nil {
		// Needed by B-LT and above, and by the seal, which embeds the
		// validation data of every chain by default (signsession.Options.SealLevel).
		opts.Revocation = pades.CollectRevocation(roots, httpClient)
	}

	cal, err := document.NewCalendar(document.VietnamHolidays2026)
	if err != nil {
		s.closeProviders()
		return nil, err
	}
	s.workflow = workflow.New[*store.Tx](a.db, cal)
	s.pdfium = render.New(render.Options{CacheDir: filepath.Join(cfg.CacheDir, "wazero"), Logger: a.log})
	proposer := &signsession.Proposer{Engine: s.pdfium, Blobs: a.blobs, Default: opts.Layout}
	s.workflow.Proposer, opts.Covers = proposer, proposer
	s.signing = signsession.New(a.db, s.workflow, a.blobs, s.providers, opts)
	s.archive = newArchiveService(a, s.workflow, opts.TSA, httpClient, roots, intermediates)
	s.flows = &recordsWorkflow{Service: s.workflow, archive: s.archive}
	// The validator renders, with one PDFium instance of its own, the
	// pages that permitted changes after a signature touch (the visual
	// check of verify.Options.Visual); files without such changes cost
	// nothing, and PDFium starts only when one comes.
	s.visualEngine = render.New(render.Options{CacheDir: filepath.Join(a.cfg.CacheDir, "wazero"), Workers: 1,
		Logger: a.log.With("component", "visual-check")})
	s.validator = &files.Validator{Blobs: a.blobs, Roots: roots, Intermediates: intermediates, Visual: visualcheck.New(s.visualEngine),
		HTTPClient: httpClient}
	// Received documents (registered or delivered) are verified on receipt.
	s.workflow.Validator, s.workflow.Logger = s.validator, a.log.With("component", "verify")
	s.evidence = &evidence.Builder{Workflow: s.workflow, Audit: a.db, Blobs: a.blobs, Validator: s.validator,
		Sealer: &orgSealer{db: a.db, providers: s.providers, tsa: opts.TSA},
		OrgName: func(ctx context.Context, orgID string) (string, error) {
			o, err := a.db.Organization(ctx, orgID)
			if err != nil {
				return "", err
			}
			return o.Name, nil
		}}
	s.evidence.Exchange = evidence.Interchange[*store.Tx]{DB: a.db} // edXML sendings and the statuses reported back
	if opts.TSA != nil {
		// Packages end their audit links at an anchor, taken on demand.
		s.evidence.Anchorer = &audit.Anchorer{Store: a.db, TSA: opts.TSA, Key: a.auditKey, File: auditAnchorFile(cfg)}
	}
	s.records = records.New(a.db, s.flows, a.blobs, &orgSealer{db: a.db, providers: s.providers, tsa: opts.TSA}, a.log.With("component", "records"))
	if opts.TSA != nil && cfg.AuditAnchorInterval > 0 {
		s.anchorer = &audit.Anchorer{Store: a.db, TSA: opts.TSA, Key: a.auditKey, File: auditAnchorFile(cfg),
			Interval: cfg.AuditAnchorInterval, Logger: a.log.With("component", "audit-anchor")}
	}
	if s.webhookTargets, err = webhook.ParseTargets(cfg.WebhookAllow); err != nil {
		s.closeProviders()
		return nil, &config.Error{Setting: "VANBAN_WEBHOOK_ALLOW", Value: cfg.WebhookAllow, Reason: err.Error()}
	}
	s.webhooks = webhook.New(a.db, webhook.Options{Targets: s.webhookTargets, Logger: a.log.With("component", "webhook"), UserAgent: "vanban/" + version})
	if s.exchange, err = openExchange(a, dev, s); err != nil {
		s.closeProviders()
		return nil, err
	}
	return s, nil
}

// providerNames lists the configured providers, sorted.
func (s *services) providerNames() []string {
	names := make([]string, 0, len(s.providers))
	for n := range s.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// start runs the background workers until ctx ends.
func (s *services) start(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.signing.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("signing worker stopped", "err", err)
		}
	}()
	// Work created or released, by this node or another on the same
	// PostgreSQL database (store.NotifyWork), wakes its worker at once;
	// the workers' own ticks are the fallback.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.db.ListenWork(ctx, s.log.With("component", "work-notifications"), func(kind string) {
			switch kind {
			case store.LeaseSigning:
				s.signing.Wake()
			case store.LeaseWebhook:
				s.webhooks.Wake()
			case store.LeaseExchange:
				s.exchange.Kick()
			case "": // reconnected: anything may be waiting
				s.signing.Wake()
				s.webhooks.Wake()
				s.exchange.Kick()
			}
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("work notifications stopped", "err", err)
		}
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.archive.RunRenewals(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("archive renewal stopped", "err", err)
		}
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Compile PDFium now rather than in the first upload.
		if err := s.pdfium.Warm(); err != nil {
			s.log.Error("PDFium", "err", err)
		}
		x := &textindex.Indexer{DB: s.db, Blobs: s.blobs, Engine: s.pdfium, Logger: s.log.With("component", "textindex")}
		if err := x.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("text indexer stopped", "err", err)
		}
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.records.RunNotifications(ctx, time.Hour); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("hand-over notifications stopped", "err", err)
		}
	}()
	if s.anchorer != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.anchorer.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("audit anchoring stopped", "err", err)
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.webhooks.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("webhook deliverer stopped", "err", err)
		}
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.exchange.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("document exchange stopped", "err", err)
		}
	}()
	s.startOversight(ctx)
}

// Close waits for the workers (after their context ended) and closes the
// providers.
func (s *services) Close() {
	s.wg.Wait()
	s.closeProviders()
	if s.web != nil {
		s.web.Close()
	}
	if s.pdfium != nil {
		s.pdfium.Close()
	}
	if s.visualEngine != nil {
		s.visualEngine.Close()
	}
}

func (s *services) closeProviders() {
	for _, p := range s.providers {
		if c, ok := p.(signing.Closer); ok {
			c.Close()
		}
	}
}

// mountAPI adds the REST API and the pages to router, on the same use
// cases: sessions, administration, uploads and downloads.
func (s *services) mountAPI(router *gin.Engine, a *app) {
	passwords := auth.DefaultParams
	sessions := &auth.Sessions{Store: a.db, Secret: a.linkSecret, Secure: strings.HasPrefix(a.cfg.PublicURL, "https://"),
		Passwords: passwords, Logger: a.log}
	var provs []admin.Provider
	for _, name := range s.providerNames() {
		provs = append(provs, admin.Provider{Name: name, PerSigner: !s.providers[name].Capabilities().Synchronous,
			PhoneNumbers: s.phoneSigners[name]})
	}
	adm := &admin.Service{DB: a.db, Providers: provs, Passwords: passwords, Logger: a.log}
	fs := &files.Store{Blobs: a.blobs, Referenced: a.db.BlobReferenced, Logger: a.log,
		Quota: files.Quota{Bytes: a.cfg.UploadQuota, Used: a.db.UploadedBytes}}
	api := &httpapi.API{
		Workflow:       s.flows,
		Directory:      a.db,
		Records:        a.db,
		Evidence:       s.evidence,
		RecordFiles:    s.records,
		Blobs:          a.blobs,
		Signing:        s.signing,
		Providers:      s.providerNames(),
		TokenMaxTTL:    a.cfg.TokenMaxTTL,
		Secret:         a.linkSecret,
		Logger:         a.log,
		SecureCookies:  sessions.Secure,
		Passwords:      passwords,
		Sessions:       sessions,
		Admin:          adm,
		TestSigning:    &admin.TestSigning{Admin: adm, Providers: s.providers},
		WebhookTargets: s.webhookTargets,
		Files:          fs,
		Oversight:      s.oversight(a),
		Exchange:       s.exchange,
	}
	api.Mount(router)
	s.mountWeb(router, a, api)
}

// mountWeb adds the pages for people at / on the same services and the
// same sessions as the API.
func (s *services) mountWeb(router *gin.Engine, a *app, api *httpapi.API) {
	opt := web.Options{Workflow: s.flows, Admin: api.Admin, TestSigning: api.TestSigning, Signing: s.signing,
		Files: api.Files, Blobs: a.blobs, Auth: api, CacheDir: filepath.Join(a.cfg.CacheDir, "pages"), PDFium: s.pdfium, Logger: a.log, Records: a.db,
		Exchange: api.Exchange, RecordFiles: s.records}
	opt.Oversight = s.webOversight(a)
	if s.dev != nil {
		opt.PhonePageURL, opt.PhoneKey = s.dev.PhonePageURL, s.dev.PhoneKey
	}
	w, err := web.New(opt)
	if err != nil {
		// The templates are embedded: a parse error is a bug caught by
		// every test that serves.
		panic(err)
	}
	w.Mount(router)
	s.web = w
}

// trustAnchors loads the configured PEM files and adds the development
// root when it runs.
func trustAnchors(files []string, dev *DevServices) (*x509.CertPool, []*x509.Certificate, error) {
	roots := x509.NewCertPool()
	var intermediates []*x509.Certificate
	for _, f := range files {
		certs, err := readCertificates(f)
		if err != nil {
			return nil, nil, fmt.Errorf("VANBAN_TRUST_PEM: %w", err)
		}
		for _, c := range certs {
			roots.AddCert(c)
		}
	}
	if dev != nil {
		for _, c := range dev.Certificates {
			if c.IsCA && isSelfSigned(c) {
				roots.AddCert(c)
			} else {
				intermediates = append(intermediates, c)
			}
		}
	}
	return roots, intermediates, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}
