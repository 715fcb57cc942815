package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vanban/internal/audit"
	"vanban/internal/config"
	"vanban/internal/store"
	"vanban/storage"
	_ "vanban/storage/local" // file:// blob store
	_ "vanban/storage/s3"    // s3:// blob store
)

// app is everything a running vanban holds open. cmd is the only place that
// knows how the pieces fit.
type app struct {
	cfg   *config.Config
	log   *slog.Logger
	db    *store.DB
	blobs storage.Store
	// linkSecret signs local download links; it also keys sessions later.
	linkSecret []byte
	// auditKey seals the head of the audit chain and its anchors; derived
	// from the secret key.
	auditKey []byte
}

// loadConfig parses the command's flags and the environment.
func loadConfig(name string, args []string, stderr io.Writer) (*config.Config, error) {
	fs := flag.NewFlagSet("vanban "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return config.Load(fs, args, nil)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openApp opens the database (migrating it) and the blob store.
func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, &config.Error{Setting: "VANBAN_DATA_DIR", Value: cfg.DataDir, Reason: err.Error()}
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return nil, err
	}
	a.linkSecret = secret

	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	a.db = db
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating database: %w", err)
	}
	if len(applied) > 0 {
		log.Info("database migrated", "applied", strings.Join(applied, ","))
	}
	if cfg.IsPostgres() {
		if err := checkSecretFingerprint(ctx, db, secret, log); err != nil {
			db.Close()
			return nil, err
		}
	}
	a.auditKey = audit.HeadKey(secret)
	db.SetAuditKey(a.auditKey)
	if sealed, err := db.SealAuditHead(ctx); err != nil {
		db.Close()
		return nil, err
	} else if sealed {
		log.Info("audit head sealed with the server key (first start since seals exist)")
	}
	blobs, err := storage.Open(ctx, cfg.StorageURL, storage.OpenOptions{
		AccessKey:   cfg.S3AccessKey,
		SecretKey:   cfg.S3SecretKey,
		LinkSecret:  secret,
		LinkBaseURL: cfg.PublicURL,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening storage (VANBAN_STORAGE_URL): %w", err)
	}
	a.blobs = blobs
	return a, nil
}

func (a *app) Close() error {
	var errs []error
	if c, ok := a.blobs.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

// loadSecret returns VANBAN_SECRET_KEY, or a key generated once and kept in
// the data directory so that links and sessions survive a restart of the
// embedded default.
func loadSecret(cfg *config.Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return []byte(cfg.SecretKey), nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		key, derr := parseSecretFile(b)
		if derr != nil {
			return nil, &config.Error{Setting: "VANBAN_SECRET_KEY", Reason: path + " is damaged; remove it to generate a new one"}
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, &config.Error{Setting: "VANBAN_SECRET_KEY", Reason: err.Error()}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, &config.Error{Setting: "VANBAN_DATA_DIR", Value: cfg.DataDir, Reason: err.Error()}
	}
	return key, nil
}

// parseSecretFile decodes <data-dir>/secret.key: the key in hex, at least
// 32 bytes.
func parseSecretFile(b []byte) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, errors.New("secret.key is not hexadecimal")
	}
	if len(key) < 32 {
		return nil, errors.New("secret.key holds fewer than 32 bytes")
	}
	return key, nil
}

// secretFingerprintLabel is what the secret key's fingerprint is an HMAC
// of; changing it would make every node refuse the stored fingerprint.
const secretFingerprintLabel = "vanban secret key fingerprint v1"

// secretFingerprint is a keyed hash of the secret key that tells keys apart
// without revealing them.
func secretFingerprint(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(secretFingerprintLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// checkSecretFingerprint makes every node on one PostgreSQL database hold
// the same secret key: the first node stores the key's fingerprint, the
// others must match it, or a cookie, CSRF token or download link made on
// one node would fail on the next.
func checkSecretFingerprint(ctx context.Context, db *store.DB, secret []byte, log *slog.Logger) error {
	stored, err := db.CheckSecretKeyFingerprint(ctx, secretFingerprint(secret))
	var mm *store.SecretKeyMismatchError
	switch {
	case errors.As(err, &mm):
		return &config.Error{Setting: "VANBAN_SECRET_KEY", Reason: "differs from the key the other nodes of this database use (its fingerprint was stored " +
			mm.StoredAt.Format(time.RFC3339) + "): give every node the same key (README, \"Backup and restore\")"}
	case err != nil:
		return err
	case stored:
		log.Info("secret key fingerprint stored: every node on this database must use the same VANBAN_SECRET_KEY")
	}
	return nil
}
