package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vanban/internal/audit"
	"vanban/internal/config"
	"vanban/internal/store"
	"vanban/signing/tsa"
)

// auditAnchorFile is where this node keeps a copy of every anchor it took,
// outside the database, so restoring an older copy of the database is seen.
func auditAnchorFile(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "audit-anchors.jsonl")
}

// runAudit dispatches "vanban audit <sub>".
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: vanban audit verify|anchor [flags]")
		fmt.Fprintln(stderr, "\n  verify   walk the whole audit log, check the head's seal and every anchor; report the first break (exit 1 if any)")
		fmt.Fprintln(stderr, "  anchor   time-stamp the head of the chain now with the configured TSA and keep the token")
		if len(args) == 0 {
			return exitError{2}
		}
		return nil
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, args[1:], stdout, stderr)
	case "anchor":
		return runAuditAnchor(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "vanban audit: unknown subcommand %q (want verify or anchor)\n", args[0])
		return exitError{2}
	}
}

// openAuditDB opens the configured database without migrating it or
// creating it (opening a missing SQLite file would), and returns the key
// that seals the head. Neither verify nor anchor may change the schema or
// invent a key: a key generated here would not be the server's and every
// seal would look forged.
func openAuditDB(ctx context.Context, cfg *config.Config) (*store.DB, []byte, error) {
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:"); ok {
		path, _, _ = strings.Cut(path, "?")
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("VANBAN_DATABASE_URL: %w", err)
		}
	}
	if cfg.SecretKey == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "secret.key")); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &config.Error{Setting: "VANBAN_SECRET_KEY", Reason: "the server's key is needed to check the audit seal: set it, or point --data-dir at the directory holding secret.key"}
		}
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	key := audit.HeadKey(secret)
	db.SetAuditKey(key)
	return db, key, nil
}

// runAuditVerify checks the hash chain of the configured database, the
// keyed seal of its head and every anchor (in the database and in
// <data-dir>/audit-anchors.jsonl). It exits 0 only when all of it holds; a
// break prints the first bad sequence number and exits 1, and a failure to
// read is an ordinary error (also exit 1, with the cause on stderr) so a
// script can never mistake "could not check" for "OK".
func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, nil)
	if err != nil {
		return err
	}
	db, key, err := openAuditDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	opts := audit.Options{Key: key, AnchorFile: auditAnchorFile(cfg)}
	if len(cfg.TrustFiles) > 0 {
		roots := x509.NewCertPool()
		for _, f := range cfg.TrustFiles {
			certs, err := readCertificates(f)
			if err != nil {
				return fmt.Errorf("VANBAN_TRUST_PEM: %w", err)
			}
			for _, c := range certs {
				roots.AddCert(c)
			}
		}
		opts.TSARoots = roots
	}
	// The entries are read in pages of a bounded size, so memory stays flat
	// however long the log is.
	r, err := audit.VerifyWith(ctx, db, opts)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	if !r.OK {
		fmt.Fprintf(stdout, "audit log BROKEN at sequence %d: %s\n", r.FirstBadSeq, r.Problem)
		fmt.Fprintf(stdout, "entries verified before the break: %d; head record: seq %d, hash %s\n", r.Entries, r.HeadSeq, r.HeadHash)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries, head seq %d, head hash %s\n", r.Entries, r.HeadSeq, r.HeadHash)
	fmt.Fprintf(stdout, "head seal valid under the server key; %d anchors verified", r.Anchors)
	if r.Anchors > 0 {
		fmt.Fprintf(stdout, ", the newest at seq %d time-stamped %s", r.AnchorSeq, r.AnchorTime.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	if r.Anchors > 0 && opts.TSARoots == nil {
		fmt.Fprintln(stdout, "note: the TSA certificates were not checked against a trust anchor (set VANBAN_TRUST_PEM)")
	}
	return nil
}

// runAuditAnchor time-stamps the head now. The TSA is VANBAN_TSA_URL or,
// with the development services, the running server's development TSA.
func runAuditAnchor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban audit anchor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, nil)
	if err != nil {
		return err
	}
	tsaURL := cfg.TSAURL
	if tsaURL == "" && cfg.DevServicesEnabled() {
		tsaURL = strings.TrimSuffix(cfg.PublicURL, "/") + devPKIPrefix + "tsa"
	}
	if tsaURL == "" {
		return &config.Error{Setting: "VANBAN_TSA_URL", Reason: "anchoring the audit log needs a time-stamping authority"}
	}
	db, key, err := openAuditDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	an := &audit.Anchorer{Store: db, Key: key, File: auditAnchorFile(cfg),
		TSA: &tsa.Client{URL: tsaURL, HTTPClient: &http.Client{Timeout: 30 * time.Second}}}
	a, fresh, err := an.Anchor(ctx)
	switch {
	case err != nil:
		return err
	case !fresh && a.Seq == 0:
		fmt.Fprintln(stdout, "the audit log is empty: nothing to anchor")
	case !fresh:
		fmt.Fprintf(stdout, "head seq %d is already anchored (%s)\n", a.Seq, a.Time.Format(time.RFC3339))
	default:
		fmt.Fprintf(stdout, "anchored head seq %d, hash %s, at %s\n", a.Seq, a.Hash, a.Time.Format(time.RFC3339))
	}
	return nil
}
