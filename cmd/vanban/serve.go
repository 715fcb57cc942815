package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/storage/local"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	// The registry is made here so the services opened below can add
	// their own metrics to /metrics.
	registry := httpapi.NewMetricsRegistry()
	// The services open after the router; /readyz answers only once the
	// server runs, with svc set.
	var svc *services
	router := httpapi.NewRouter(httpapi.Options{
		Logger:           log,
		Version:          version,
		Registry:         registry,
		MetricsToken:     cfg.MetricsToken,
		TrustedProxies:   cfg.TrustedProxies,
		MetricsElsewhere: cfg.MetricsAddr != "",
		Checks: []httpapi.Check{
			{Name: "database", Ping: a.db.Ping},
			{Name: "storage", Ping: a.blobs.Ping},
		},
		Reports: []httpapi.Report{{Name: "signing", Report: func(ctx context.Context) (any, error) {
			return svc.signing.Report(ctx)
		}}},
	})
	httpapi.MountBlobLinks(router, local.LinkPrefix, func(path string, q map[string][]string, now time.Time) (string, error) {
		return local.VerifyLink(a.linkSecret, path, q, now)
	}, a.blobs)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on VANBAN_ADDR %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Info("vanban listening", "url", "http://"+ln.Addr().String(), "public_url", cfg.PublicURL, "database", a.db.Dialect(), "embedded", cfg.IsEmbedded())
	if a.db.Dialect() == store.SQLite {
		// Leases and work notifications assume one process per SQLite
		// file; several nodes need PostgreSQL.
		log.Info("SQLite database: this is a single-node installation; run one vanban serve on it (several nodes need PostgreSQL)")
	}
	fmt.Fprintf(stdout, "vanban %s is running at http://%s\n", version, ln.Addr())
	// The development PKI and SIM simulator (embedded default): mounted
	// once the port is known, because their URLs go into certificates.
	dev, err := startDevServices(router, cfg, ln.Addr(), log, stdout)
	if err != nil {
		ln.Close()
		return err
	}
	defer dev.Close()
	svc, err = openServices(a, dev)
	if err != nil {
		ln.Close()
		return err
	}
	registry.MustRegister(newArchiveCollector(svc.archive.Metrics))
	svc.mountAPI(router, a)
	// The workers stop after the HTTP server, so a request in flight can
	// still hand them work; svc.Close waits for them.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	svc.start(workCtx)
	defer svc.Close()
	defer stopWork()

	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening on VANBAN_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", httpapi.MetricsHandler(registry, cfg.MetricsToken, false))
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("metrics listening", "url", "http://"+mln.Addr().String()+"/metrics")
		fmt.Fprintf(stdout, "metrics at http://%s/metrics\n", mln.Addr())
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Finish in-flight requests (a signing callback, an upload) before
	// closing the database they use.
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("migrate", args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(stdout, "database %s is up to date\n", a.db.Dialect())
	return nil
}
