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
	"strconv"
	"strings"
	"time"
)

// Config is the server's configuration.
type Config struct {
	Addr      string
	PublicURL string
	DataDir   string
	// CacheDir holds what can be rebuilt: rendered page images and the
	// compiled PDFium module (VANBAN_CACHE_DIR, default <data-dir>/cache).
	// Several installations on one machine may share it: entries are
	// keyed by content and written atomically.
	CacheDir        string
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
	// DevServicesOnNetwork acknowledges development services on a
	// listen address other than loopback (VANBAN_DEV_SERVICES_ON_NETWORK).
	DevServicesOnNetwork bool
	// TrustedProxies are the reverse proxies (addresses or CIDRs) whose
	// forwarding headers name the client (VANBAN_TRUSTED_PROXIES).
	TrustedProxies []string
	// TokenMaxTTL caps the life of API tokens (VANBAN_TOKEN_MAX_TTL).
	TokenMaxTTL time.Duration
	// MetricsToken is the bearer token /metrics requires
	// (VANBAN_METRICS_TOKEN); MetricsAddr a separate listener for it
	// (VANBAN_METRICS_ADDR). With neither, /metrics answers loopback
	// clients only.
	MetricsToken string
	MetricsAddr  string
	// WebhookAllow lists the intranet webhook targets allowed besides
	// public addresses: CIDRs, addresses and host names
	// (VANBAN_WEBHOOK_ALLOW; cmd parses it with webhook.ParseTargets).
	WebhookAllow string
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
	// AuditAnchorInterval is how often serve time-stamps the head of the
	// audit chain (internal/audit Anchorer).
	AuditAnchorInterval time.Duration
	// UploadQuota is how many bytes one person may upload per 24 hours
	// (VANBAN_UPLOAD_QUOTA); 0 turns the quota off.
	UploadQuota int64
	// Exchange is the transport URI of the document interconnection axis
	// (hub: or vdxp:); empty means none, or the development hub when the
	// development services run.
	Exchange string
	// RenewalMargin and RenewalMinStrength say when the proof of archived
	// documents is renewed (internal/archive RenewalPolicy).
	RenewalMargin      time.Duration
	RenewalMinStrength int
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
	{Env: "VANBAN_CACHE_DIR", Flag: "cache-dir", Default: "<data-dir>/cache", Usage: "directory for what can be rebuilt (rendered page images, the compiled PDFium module); safe to delete and to share between installations on one machine"},
	{Env: "VANBAN_DATABASE_URL", Flag: "database-url", Default: "sqlite:<data-dir>/vanban.db", Usage: "postgres://user:pass@host:5432/db?sslmode=... or sqlite:PATH"},
	{Env: "VANBAN_STORAGE_URL", Flag: "storage-url", Default: "file://<data-dir>/blobs", Usage: "file:///abs/dir or s3://bucket?endpoint=host:9000&secure=true&region=..."},
	{Env: "VANBAN_S3_ACCESS_KEY", Flag: "s3-access-key", Usage: "S3 access key (also VANBAN_S3_ACCESS_KEY_FILE)", Secret: true},
	{Env: "VANBAN_S3_SECRET_KEY", Flag: "s3-secret-key", Usage: "S3 secret key (also VANBAN_S3_SECRET_KEY_FILE)", Secret: true},
	{Env: "VANBAN_SECRET_KEY", Flag: "secret-key", Default: "generated in <data-dir>/secret.key", Usage: "at least 32 bytes; signs sessions, CSRF tokens and download links and seals the audit log (also VANBAN_SECRET_KEY_FILE); required with PostgreSQL, the same on every node (checked at start against a keyed fingerprint in the database)", Secret: true},
	{Env: "VANBAN_LOG_FORMAT", Flag: "log-format", Default: "auto", Usage: "json, text, or auto (text on a terminal, JSON otherwise)"},
	{Env: "VANBAN_LOG_LEVEL", Flag: "log-level", Default: "info", Usage: "debug, info, warn or error"},
	{Env: "VANBAN_SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Default: "30s", Usage: "how long graceful shutdown waits for in-flight requests"},
	{Env: "VANBAN_TRUSTED_PROXIES", Flag: "trusted-proxies", Usage: "addresses or CIDRs of the reverse proxies in front of vanban, separated by commas or spaces; only their X-Forwarded-For / X-Real-IP headers are believed (default: none, the connection's address is the client's)"},
	{Env: "VANBAN_TOKEN_MAX_TTL", Flag: "token-max-ttl", Default: "90d", Usage: "longest life of an API token, in days (90d) or as a duration (720h); tokens are also revoked when their user's password changes"},
	{Env: "VANBAN_METRICS_TOKEN", Flag: "metrics-token", Usage: "bearer token that /metrics requires (also VANBAN_METRICS_TOKEN_FILE); without it and without VANBAN_METRICS_ADDR, /metrics answers loopback clients only", Secret: true},
	{Env: "VANBAN_METRICS_ADDR", Flag: "metrics-addr", Usage: "separate host:port serving /metrics (then not served on VANBAN_ADDR); keep it on an internal network"},
	{Env: "VANBAN_WEBHOOK_ALLOW", Flag: "webhook-allow", Usage: "intranet webhook targets allowed besides public addresses: CIDRs, addresses and host names separated by commas or spaces (e.g. '10.20.0.0/16 motcua.intranet.gov.vn'); loopback, private, link-local and metadata addresses are refused otherwise"},
	{Env: "VANBAN_SIGNERS", Flag: "signers", Usage: "signing providers as name=URI, separated by spaces or newlines, e.g. 'sim=etsi204:https://mssp/soap?... seal=pkcs11:token=vanban;object=seal?module-path=...&pin-env=SEAL_PIN' (also VANBAN_SIGNERS_FILE); the development services add sim and seal", Secret: true},
	{Env: "VANBAN_TSA_URL", Flag: "tsa-url", Usage: "RFC 3161 time-stamping authority for PAdES B-T and above (default: the development TSA when it runs)"},
	{Env: "VANBAN_TRUST_PEM", Flag: "trust-pem", Usage: "comma-separated PEM files of trust anchors for validating signatures (the development root is added when it runs)"},
	{Env: "VANBAN_PADES_LEVEL", Flag: "pades-level", Default: "B-T with a TSA, else B-B", Usage: "PAdES level of new signatures: B-B, B-T, B-LT or B-LTA"},
	{Env: "VANBAN_EXCHANGE", Flag: "exchange", Usage: "document interconnection axis (liên thông văn bản) as a transport URI: hub:https://hub/?system=ID&secret-env=VAR or vdxp:https://axis/api?system=ID&secret-env=VAR (default: the development hub when it runs)", Secret: true},
	{Env: "VANBAN_AUDIT_ANCHOR_INTERVAL", Flag: "audit-anchor-interval", Default: "1h", Usage: "how often the head of the audit chain is time-stamped by the TSA (and sealed into <data-dir>/audit-anchors.jsonl); 0 turns it off"},
	{Env: "VANBAN_UPLOAD_QUOTA", Flag: "upload-quota", Default: "2GiB", Usage: "bytes one person may upload (drafts, revisions, received documents, attachments) in any 24 hours, e.g. 500MiB or 2GiB; refused uploads do not count; 0 turns the quota off"},
	{Env: "VANBAN_RENEWAL_MARGIN", Flag: "renewal-margin", Default: "4320h", Usage: "archived documents get a new document time-stamp with fresh validation data when their newest one stops being provable within this (180 days), and permanent ones their retention extended"},
	{Env: "VANBAN_RENEWAL_MIN_STRENGTH", Flag: "renewal-min-strength", Default: "112", Usage: "bits of security (NIST SP 800-57) below which an archived document's newest time-stamp (hash or TSA key) is renewed at once"},
	{Env: "VANBAN_DEV_SERVICES", Flag: "dev-services", Default: "auto", Usage: "auto, on or off: serve the development PKI and SIM simulator under /dev/ (auto: on with SQLite and local disk and a loopback VANBAN_ADDR); never in production"},
	{Env: "VANBAN_DEV_SERVICES_ON_NETWORK", Flag: "dev-services-on-network", Default: "no", Usage: "yes lets VANBAN_DEV_SERVICES=on serve the development PKI and SIM simulator on a non-loopback VANBAN_ADDR, where anyone who reaches the server can sign with development keys"},
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
	c.CacheDir = str("VANBAN_CACHE_DIR", filepath.Join(c.DataDir, "cache"))
	if abs, err := filepath.Abs(c.CacheDir); err == nil {
		c.CacheDir = abs
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
	switch {
	case c.SecretKey != "" && len(c.SecretKey) < 32:
		errs = append(errs, &Error{Setting: "VANBAN_SECRET_KEY", Reason: "must be at least 32 bytes"})
	case c.SecretKey == "" && c.IsPostgres():
		// A key generated per node would make the cookies, CSRF tokens and
		// download links of one node fail on the others.
		errs = append(errs, &Error{Setting: "VANBAN_SECRET_KEY", Reason: "required with PostgreSQL (VANBAN_DATABASE_URL): every node must hold the same key of at least 32 bytes, e.g. from `openssl rand -hex 32` (also VANBAN_SECRET_KEY_FILE)"})
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
	switch v := str("VANBAN_DEV_SERVICES_ON_NETWORK", "no"); v {
	case "yes":
		c.DevServicesOnNetwork = true
	case "no":
	default:
		errs = append(errs, &Error{Setting: "VANBAN_DEV_SERVICES_ON_NETWORK", Value: v, Reason: "want yes or no"})
	}
	if c.DevServices == "on" && !c.DevServicesOnNetwork && !c.LoopbackAddr() {
		errs = append(errs, &Error{Setting: "VANBAN_DEV_SERVICES", Value: c.DevServices, Reason: "VANBAN_ADDR " + c.Addr + " is not a loopback address: the development PKI and SIM simulator would let anyone who reaches it sign; set VANBAN_DEV_SERVICES_ON_NETWORK=yes to serve them there anyway"})
	}
	c.WebhookAllow = str("VANBAN_WEBHOOK_ALLOW", "")
	for _, p := range strings.FieldsFunc(str("VANBAN_TRUSTED_PROXIES", ""), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			errs = append(errs, &Error{Setting: "VANBAN_TRUSTED_PROXIES", Value: p, Reason: "want an IP address or a CIDR such as 10.0.0.0/8"})
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	ttl := str("VANBAN_TOKEN_MAX_TTL", "90d")
	if d, err := parseDays(ttl); err != nil || d < 24*time.Hour {
		errs = append(errs, &Error{Setting: "VANBAN_TOKEN_MAX_TTL", Value: ttl, Reason: "want a number of days such as 90d, or a duration of at least 24h"})
	} else {
		c.TokenMaxTTL = d
	}
	c.MetricsToken = str("VANBAN_METRICS_TOKEN", "")
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, &Error{Setting: "VANBAN_METRICS_TOKEN", Reason: "must be at least 16 characters"})
	}
	c.MetricsAddr = str("VANBAN_METRICS_ADDR", "")
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, &Error{Setting: "VANBAN_METRICS_ADDR", Value: c.MetricsAddr, Reason: "want host:port"})
		} else if c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
			errs = append(errs, &Error{Setting: "VANBAN_METRICS_ADDR", Value: c.MetricsAddr, Reason: "must differ from VANBAN_ADDR"})
		}
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
	c.Exchange = str("VANBAN_EXCHANGE", "")
	if c.Exchange != "" && !strings.HasPrefix(c.Exchange, "hub:") && !strings.HasPrefix(c.Exchange, "vdxp:") {
		errs = append(errs, &Error{Setting: "VANBAN_EXCHANGE", Reason: "want hub:https://... or vdxp:https://..."})
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
	quota := str("VANBAN_UPLOAD_QUOTA", "2GiB")
	if n, err := parseBytes(quota); err != nil {
		errs = append(errs, &Error{Setting: "VANBAN_UPLOAD_QUOTA", Value: quota, Reason: "want a size such as 500MiB, 2GiB or 0"})
	} else {
		c.UploadQuota = n
	}
	ai := str("VANBAN_AUDIT_ANCHOR_INTERVAL", "1h")
	if c.AuditAnchorInterval, err = time.ParseDuration(ai); err != nil || c.AuditAnchorInterval < 0 ||
		(c.AuditAnchorInterval > 0 && c.AuditAnchorInterval < time.Second) {
		errs = append(errs, &Error{Setting: "VANBAN_AUDIT_ANCHOR_INTERVAL", Value: ai, Reason: "want a duration of at least 1s such as 1h, or 0 for off"})
	}
	rm := str("VANBAN_RENEWAL_MARGIN", "4320h")
	if c.RenewalMargin, err = time.ParseDuration(rm); err != nil || c.RenewalMargin <= 0 {
		errs = append(errs, &Error{Setting: "VANBAN_RENEWAL_MARGIN", Value: rm, Reason: "want a positive duration such as 4320h"})
	}
	ms := str("VANBAN_RENEWAL_MIN_STRENGTH", "112")
	if c.RenewalMinStrength, err = strconv.Atoi(ms); err != nil || c.RenewalMinStrength < 80 || c.RenewalMinStrength > 256 {
		errs = append(errs, &Error{Setting: "VANBAN_RENEWAL_MIN_STRENGTH", Value: ms, Reason: "want bits of security between 80 and 256, such as 112 or 128"})
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

// IsPostgres tells whether the database is PostgreSQL, where several
// nodes may share it (and must share the secret key).
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// DevServicesEnabled tells whether serve mounts the development PKI and the
// SIM simulator: VANBAN_DEV_SERVICES=on, or auto (the default) with the
// embedded configuration on a loopback address, so that a newcomer can sign
// without any operator contract while a server others can reach never
// exposes test keys unless asked to twice (on, and
// VANBAN_DEV_SERVICES_ON_NETWORK=yes when not on loopback; Load refuses on
// without it).
func (c *Config) DevServicesEnabled() bool {
	switch c.DevServices {
	case "on":
		return c.LoopbackAddr() || c.DevServicesOnNetwork
	case "off":
		return false
	}
	return c.IsEmbedded() && c.LoopbackAddr()
}

// LoopbackAddr tells whether VANBAN_ADDR listens on loopback only
// (127.0.0.0/8, ::1 or localhost); an empty host or 0.0.0.0 listens on every
// interface.
func (c *Config) LoopbackAddr() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
	if c.DevServicesOnNetwork {
		m["dev_services_on_network"] = "yes"
	}
	if len(c.TrustedProxies) > 0 {
		m["trusted_proxies"] = strings.Join(c.TrustedProxies, ",")
	}
	if c.MetricsAddr != "" {
		m["metrics_addr"] = c.MetricsAddr
	}
	if c.WebhookAllow != "" {
		m["webhook_allow"] = c.WebhookAllow
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

// parseDays reads "90d" as 90 days, else a Go duration.
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("not a number of days")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func oneOf(v string, options ...string) bool {
	for _, o := range options {
		if v == o {
			return true
		}
	}
	return false
}

// parseBytes reads a size: a number of bytes, or a number with KiB, MiB,
// GiB or TiB (KB, MB, GB, TB are read as the same binary units).
func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"TB", 40}, {"GB", 30}, {"MB", 20}, {"KB", 10}, {"B", 0}}
	shift := uint(0)
	for _, u := range units {
		if len(v) > len(u.suffix) && strings.EqualFold(v[len(v)-len(u.suffix):], u.suffix) {
			v, shift = strings.TrimSpace(v[:len(v)-len(u.suffix)]), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("not a size: %q", v)
	}
	return n << shift, nil
}
