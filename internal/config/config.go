// Package config turns environment variables and command-line flags into a
// validated Config. Every setting has an environment variable and a flag
// twin; flags win. Secrets also accept NAME_FILE, a path to read the value
// from, which is how container platforms mount them.
//
// Invalid configuration fails at start with a message that names the setting.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Config is the server's configuration.
type Config struct {
	Addr            string
	PublicURL       string
	DataDir         string
	DatabaseURL     string
	StorageURL      string
	S3AccessKey     string
	S3SecretKey     string
	SecretKey       string
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration
	// DevServices is "auto", "on" or "off": whether serve mounts the
	// development PKI and the SIM simulator (see DevServicesEnabled).
	DevServices string
	// Signers are the signing providers by name, each a signer URI
	// (etsi204:, csc:, pkcs11:, file:). Leaders and organizations name
	// one of them in their signing identity.
	Signers map[string]string
	// TSAURL is the RFC 3161 time-stamping authority for PAdES B-T and up.
	TSAURL string
	// TrustFiles are PEM files of trust anchors for validation and for
	// collecting revocation data.
	TrustFiles []string
	// PadesLevel is B-B, B-T, B-LT or B-LTA; empty means B-T with a TSA,
	// else B-B.
	PadesLevel string
	// Notify: e-mail and chat for notices (notify.go).
	Notify Notify
}

// Setting describes one configuration setting, for the README and --help.
type Setting struct {
	Env     string
	Flag    string
	Default string
	Usage   string
	Secret  bool
}

// Settings lists every setting in the order the README shows them.
var Settings = []Setting{
	{Env: "VANBAN_ADDR", Flag: "addr", Default: "127.0.0.1:8080", Usage: "address to listen on (host:port)"},
	{Env: "VANBAN_PUBLIC_URL", Flag: "public-url", Default: "http://<addr>", Usage: "URL users reach the server at, for links and the development PKI"},
	{Env: "VANBAN_DATA_DIR", Flag: "data-dir", Default: "./data", Usage: "directory for the embedded database, local blobs and development keys"},
	{Env: "VANBAN_DATABASE_URL", Flag: "database-url", Default: "sqlite:<data-dir>/vanban.db", Usage: "postgres://user:pass@host:5432/db?sslmode=... or sqlite:PATH"},
	{Env: "VANBAN_STORAGE_URL", Flag: "storage-url", Default: "file://<data-dir>/blobs", Usage: "file:///abs/dir or s3://bucket?endpoint=host:9000&secure=true&region=..."},
	{Env: "VANBAN_S3_ACCESS_KEY", Flag: "s3-access-key", Usage: "S3 access key (also VANBAN_S3_ACCESS_KEY_FILE)", Secret: true},
	{Env: "VANBAN_S3_SECRET_KEY", Flag: "s3-secret-key", Usage: "S3 secret key (also VANBAN_S3_SECRET_KEY_FILE)", Secret: true},
	{Env: "VANBAN_SECRET_KEY", Flag: "secret-key", Default: "generated in <data-dir>/secret.key", Usage: "at least 32 bytes; signs download links and sessions (also VANBAN_SECRET_KEY_FILE)", Secret: true},
	{Env: "VANBAN_LOG_FORMAT", Flag: "log-format", Default: "auto", Usage: "json, text, or auto (text on a terminal, JSON otherwise)"},
	{Env: "VANBAN_LOG_LEVEL", Flag: "log-level", Default: "info", Usage: "debug, info, warn or error"},
	{Env: "VANBAN_SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Default: "30s", Usage: "how long graceful shutdown waits for in-flight requests"},
	{Env: "VANBAN_SIGNERS", Flag: "signers", Usage: "signing providers as name=URI, separated by spaces or newlines, e.g. 'sim=etsi204:https://mssp/soap?... seal=pkcs11:token=vanban;object=seal?module-path=...&pin-env=SEAL_PIN' (also VANBAN_SIGNERS_FILE); the development services add sim and seal", Secret: true},
	{Env: "VANBAN_TSA_URL", Flag: "tsa-url", Usage: "RFC 3161 time-stamping authority for PAdES B-T and above (default: the development TSA when it runs)"},
	{Env: "VANBAN_TRUST_PEM", Flag: "trust-pem", Usage: "comma-separated PEM files of trust anchors for validating signatures (the development root is added when it runs)"},
	{Env: "VANBAN_PADES_LEVEL", Flag: "pades-level", Default: "B-T with a TSA, else B-B", Usage: "PAdES level of new signatures: B-B, B-T, B-LT or B-LTA"},
	{Env: "VANBAN_DEV_SERVICES", Flag: "dev-services", Default: "auto", Usage: "auto, on or off: serve the development PKI and SIM simulator under /dev/ (auto: on with SQLite and local disk); never in production"},
}

// Error names the setting that is wrong.
type Error struct {
	Setting string // the environment variable name
	Value   string
	Reason  string
}

func (e *Error) Error() string {
	flagName := ""
	for _, s := range Settings {
		if s.Env == e.Setting {
			flagName = " (--" + s.Flag + ")"
		}
	}
	if e.Value == "" {
		return fmt.Sprintf("invalid %s%s: %s", e.Setting, flagName, e.Reason)
	}
	return fmt.Sprintf("invalid %s%s=%q: %s", e.Setting, flagName, e.Value, e.Reason)
}

// Lookup reads an environment variable; tests pass their own.
type Lookup func(string) (string, bool)

// Load builds a Config from the environment (through lookup, nil meaning
// os.LookupEnv) and the given flag arguments.
func Load(fs *flag.FlagSet, args []string, lookup Lookup) (*Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	values := map[string]*string{}
	for _, s := range Settings {
		v := new(string)
		values[s.Env] = v
		fs.StringVar(v, s.Flag, "", fmt.Sprintf("%s [env %s]", s.Usage, s.Env))
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	get := func(env string) (string, error) {
		if v := *values[env]; v != "" {
			return v, nil
		}
		if v, ok := lookup(env); ok && v != "" {
			return v, nil
		}
		if p, ok := lookup(env + "_FILE"); ok && p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return "", &Error{Setting: env + "_FILE", Value: p, Reason: err.Error()}
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		return "", nil
	}
	var errs []error
	str := func(env, def string) string {
		v, err := get(env)
		if err != nil {
			errs = append(errs, err)
		}
		if v == "" {
			return def
		}
		return v
	}

	c := &Config{}
	c.Addr = str("VANBAN_ADDR", "127.0.0.1:8080")
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, &Error{Setting: "VANBAN_ADDR", Value: c.Addr, Reason: "want host:port"})
	}
	c.DataDir = str("VANBAN_DATA_DIR", "./data")
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	c.PublicURL = str("VANBAN_PUBLIC_URL", "")
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, &Error{Setting: "VANBAN_PUBLIC_URL", Value: c.PublicURL, Reason: "want an absolute http(s) URL"})
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")

	c.DatabaseURL = str("VANBAN_DATABASE_URL", "sqlite:"+filepath.Join(c.DataDir, "vanban.db"))
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		errs = append(errs, &Error{Setting: "VANBAN_DATABASE_URL", Value: redact(c.DatabaseURL), Reason: "want postgres://... or sqlite:PATH"})
	}
	c.StorageURL = str("VANBAN_STORAGE_URL", "file://"+filepath.Join(c.DataDir, "blobs"))
	if u, err := url.Parse(c.StorageURL); err != nil || (u.Scheme != "file" && u.Scheme != "s3") {
		errs = append(errs, &Error{Setting: "VANBAN_STORAGE_URL", Value: c.StorageURL, Reason: "want file:///dir or s3://bucket?endpoint=host:port"})
	} else if u.Scheme == "s3" {
		c.S3AccessKey = str("VANBAN_S3_ACCESS_KEY", "")
		c.S3SecretKey = str("VANBAN_S3_SECRET_KEY", "")
		if u.Host == "" {
			errs = append(errs, &Error{Setting: "VANBAN_STORAGE_URL", Value: c.StorageURL, Reason: "s3 URL needs a bucket name: s3://bucket?endpoint=..."})
		}
		if u.Query().Get("endpoint") == "" {
			errs = append(errs, &Error{Setting: "VANBAN_STORAGE_URL", Value: c.StorageURL, Reason: "s3 URL needs ?endpoint=host:port"})
		}
		if c.S3AccessKey == "" || c.S3SecretKey == "" {
			errs = append(errs, &Error{Setting: "VANBAN_S3_ACCESS_KEY", Reason: "S3 storage needs VANBAN_S3_ACCESS_KEY and VANBAN_S3_SECRET_KEY"})
		}
	}
	c.SecretKey = str("VANBAN_SECRET_KEY", "")
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		errs = append(errs, &Error{Setting: "VANBAN_SECRET_KEY", Reason: "must be at least 32 bytes"})
	}
	c.LogFormat = str("VANBAN_LOG_FORMAT", "auto")
	if !oneOf(c.LogFormat, "auto", "json", "text") {
		errs = append(errs, &Error{Setting: "VANBAN_LOG_FORMAT", Value: c.LogFormat, Reason: "want json, text or auto"})
	}
	c.LogLevel = str("VANBAN_LOG_LEVEL", "info")
	if !oneOf(c.LogLevel, "debug", "info", "warn", "error") {
		errs = append(errs, &Error{Setting: "VANBAN_LOG_LEVEL", Value: c.LogLevel, Reason: "want debug, info, warn or error"})
	}
	st := str("VANBAN_SHUTDOWN_TIMEOUT", "30s")
	d, err := time.ParseDuration(st)
	if err != nil || d <= 0 {
		errs = append(errs, &Error{Setting: "VANBAN_SHUTDOWN_TIMEOUT", Value: st, Reason: "want a positive duration such as 30s"})
	}
	c.ShutdownTimeout = d
	c.DevServices = str("VANBAN_DEV_SERVICES", "auto")
	if !oneOf(c.DevServices, "auto", "on", "off") {
		errs = append(errs, &Error{Setting: "VANBAN_DEV_SERVICES", Value: c.DevServices, Reason: "want auto, on or off"})
	}
	signers := str("VANBAN_SIGNERS", "")
	c.Signers = map[string]string{}
	for _, entry := range strings.Fields(signers) {
		name, uri, ok := strings.Cut(entry, "=")
		if !ok || name == "" || uri == "" || !strings.Contains(uri, ":") {
			errs = append(errs, &Error{Setting: "VANBAN_SIGNERS", Reason: fmt.Sprintf("entry %q is not name=URI", redact(entry))})
			continue
		}
		if _, dup := c.Signers[name]; dup {
			errs = append(errs, &Error{Setting: "VANBAN_SIGNERS", Reason: fmt.Sprintf("provider %q is named twice", name)})
		}
		c.Signers[name] = uri
	}
	c.TSAURL = str("VANBAN_TSA_URL", "")
	if c.TSAURL != "" {
		if u, err := url.Parse(c.TSAURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, &Error{Setting: "VANBAN_TSA_URL", Value: c.TSAURL, Reason: "want an http(s) URL"})
		}
	}
	if t := str("VANBAN_TRUST_PEM", ""); t != "" {
		for _, f := range strings.Split(t, ",") {
			f = strings.TrimSpace(f)
			if _, err := os.Stat(f); err != nil {
				errs = append(errs, &Error{Setting: "VANBAN_TRUST_PEM", Value: f, Reason: err.Error()})
				continue
			}
			c.TrustFiles = append(c.TrustFiles, f)
		}
	}
	c.PadesLevel = str("VANBAN_PADES_LEVEL", "")
	if c.PadesLevel != "" && !oneOf(c.PadesLevel, "B-B", "B-T", "B-LT", "B-LTA") {
		errs = append(errs, &Error{Setting: "VANBAN_PADES_LEVEL", Value: c.PadesLevel, Reason: "want B-B, B-T, B-LT or B-LTA"})
	}
	errs = append(errs, c.loadNotify(str)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// IsEmbedded tells whether the configuration uses the embedded defaults
// (SQLite and local disk), where vanban also runs its development PKI and
// the SIM simulator in process unless VANBAN_DEV_SERVICES=off.
func (c *Config) IsEmbedded() bool {
	return strings.HasPrefix(c.DatabaseURL, "sqlite:") && strings.HasPrefix(c.StorageURL, "file:")
}

// DevServicesEnabled tells whether serve mounts the development PKI and the
// SIM simulator: VANBAN_DEV_SERVICES=on, or auto (the default) with the
// embedded configuration, so that a newcomer can sign without any operator
// contract while a production configuration never exposes test keys
// unless asked to.
func (c *Config) DevServicesEnabled() bool {
	return c.DevServices == "on" || (c.DevServices != "off" && c.IsEmbedded())
}

// Redacted returns the settings as key/value pairs safe to log: secrets and
// passwords in URLs are masked.
func (c *Config) Redacted() map[string]string {
	m := map[string]string{
		"addr":         c.Addr,
		"public_url":   c.PublicURL,
		"data_dir":     c.DataDir,
		"database_url": redact(c.DatabaseURL),
		"storage_url":  c.StorageURL,
		"log_format":   c.LogFormat,
		"log_level":    c.LogLevel,
		"dev_services": c.DevServices,
	}
	return m
}

// SortedKeys is a helper for stable log output.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func oneOf(v string, options ...string) bool {
	for _, o := range options {
		if v == o {
			return true
		}
	}
	return false
}
