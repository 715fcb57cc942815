// Package etsi204 is a signing.Provider for mobile signatures over ETSI TS
// 102 204 (MSS, SOAP): the key lives on the signer's SIM, an MSSP (mobile
// signature service provider) forwards our request to the phone, the signer
// reads the display text, types a PIN, and the signature comes back seconds
// or minutes later.
//
// It registers the URI scheme "etsi204":
//
//	etsi204:https://mssp.example/soap?msisdn=84912345678&ap-id=...&ap-pwd-env=AP_PWD
//	    &mssp-id=http://mssp.example/&profile=http://mssp.example/profile
//	    &mode=async|sync&format=pkcs1|cms&dtbs=auto|digestinfo|digest
//	    &cert-lookup=https://mssp.example/certificates
//	    &client-cert=/etc/vanban/ap.crt&client-key=/etc/vanban/ap.key&ca=/etc/vanban/mssp-ca.pem
//
// Other parameters: ap-pwd-file, format-uri (the MSS_Format URI, if the
// operator does not use ...#PKCS1 / ...#PKCS7), soap=1.1|1.2, timeout=300s
// (the TimeOut sent to the MSSP), poll=2s, max-display=50, country=84 (put
// in place of the leading 0 of national numbers such as 0912345678). Every
// identifier and endpoint is configuration; see Config for programmatic use.
//
// # Protocol
//
// Start sends MSS_SignatureReq. In async mode (asynchClientServer) the MSSP
// acknowledges with status 100 and an MSSP_TransID, and Poll sends
// MSS_StatusReq until the status is no longer 504 OUTSTANDING_TRANSACTION. In
// sync mode (synch, what the Vietnamese government profile uses) the MSSP
// answers only when the signer did; Start then runs the call in the
// background and Poll reads its outcome, blocking up to its wait argument.
//
// DataToBeSigned is the DER DigestInfo of our digest for RSA keys (the SIM
// pads it with PKCS#1 v1.5 and returns the raw signature) and the bare digest
// for EC keys; dtbs= overrides the choice. With format=cms the MSSP returns a
// CMS SignedData and the signature value is taken from its SignerInfo.
//
// Every signature is verified with signing.VerifySignature against the
// certificate pinned for the signer before Poll reports it signed; a
// mismatch is a KindBadSignature failure. Status codes and SOAP fault
// subcodes map to signing kinds as in the operator's failure table (see
// KindForStatus).
//
// The certificate of a phone number comes from a CertLookup; HTTPLookup is
// the simple REST call the simulator in signing/mssp implements.
//
// Session.TxID is self-describing in async mode (it carries the
// MSSP_TransID, the phone number and our digest), so a process that
// restarted can still poll and verify a request started before. A sync-mode
// call dies with the process; its TxID then polls as a retryable failure.
package etsi204

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"vanban/signing"
	"vanban/signing/etsi204/wire"
)

// Scheme is the provider's URI scheme and the Provider name in its errors.
const Scheme = "etsi204"

func init() {
	signing.Register(Scheme, Open)
}

// Mode is the MSS messaging mode.
type Mode int

const (
	// ModeAsync sends asynchClientServer and polls with MSS_StatusReq.
	ModeAsync Mode = iota + 1
	// ModeSync sends synch: the MSSP holds the HTTP call until the signer
	// answered.
	ModeSync
)

// Format is the MSS_Format the MSSP returns the signature in.
type Format int

const (
	// FormatPKCS1 returns the raw signature value.
	FormatPKCS1 Format = iota + 1
	// FormatCMS returns a CMS SignedData holding the signature.
	FormatCMS
)

// DTBS says what DataToBeSigned carries.
type DTBS int

const (
	// DTBSAuto sends a DigestInfo for RSA certificates and the bare digest
	// for EC certificates.
	DTBSAuto DTBS = iota
	// DTBSDigestInfo sends the DER DigestInfo (RSA PKCS#1 v1.5 SIMs).
	DTBSDigestInfo
	// DTBSDigest sends the bare digest (ECDSA SIMs).
	DTBSDigest
)

// Config configures a Client. Endpoint, APID and a MSISDN (here or per
// request) are required; the rest has defaults.
type Config struct {
	// Endpoint is the MSSP's SOAP URL.
	Endpoint string
	// MSISDN is the default signer's phone number, e.g. 84912345678;
	// Request.SignerID overrides it. National numbers (0912345678) get
	// CountryCode in place of the leading 0.
	MSISDN string
	// CountryCode for national numbers; default "84" (Vietnam).
	CountryCode string
	// APID and APPassword identify us (AP_Info AP_ID and AP_PWD).
	APID       string
	APPassword string
	// MSSPID is the MSSP_ID URI; it may be empty if the MSSP does not check.
	MSSPID string
	// SignatureProfile is the profile URI; empty omits the element.
	SignatureProfile string
	Mode             Mode
	Format           Format
	// FormatURI overrides the MSS_Format URI derived from Format.
	FormatURI string
	DTBS      DTBS
	// SOAP is the envelope version; default SOAP 1.1.
	SOAP wire.SOAPVersion
	// Timeout is the TimeOut sent to the MSSP when the request names none;
	// default 300 s.
	Timeout time.Duration
	// PollInterval is suggested to callers in Session; default 2 s.
	PollInterval time.Duration
	// MaxDisplayText bounds DataToBeDisplayed in characters; default 50,
	// about what a SIM shows of Vietnamese in UCS-2.
	MaxDisplayText int
	// RequestTimeout bounds one asynchronous HTTP exchange and a certificate
	// lookup; default 30 s.
	RequestTimeout time.Duration
	// MaxAttempts and Backoff govern retries of transient failures (network,
	// HTTP 5xx, fault 900) with the same AP_TransID; defaults 3 and 500 ms,
	// doubling.
	MaxAttempts int
	Backoff     time.Duration
	// BreakerThreshold consecutive failed exchanges (network, HTTP 5xx,
	// fault 900) open a circuit breaker: calls then fail at once with
	// KindUnavailable for BreakerCooldown. Defaults 5 and 30 s; a negative
	// threshold disables the breaker.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// TLS is used for the MSSP and the lookup: client certificate of the
	// application provider and the CAs trusted for the MSSP. Ignored when
	// HTTPClient is set.
	TLS *tls.Config
	// HTTPClient overrides the client built from TLS.
	HTTPClient *http.Client
	// Lookup finds the certificate of a phone number. If nil and
	// CertLookupURL is set, an HTTPLookup with our AP credentials is used.
	Lookup        CertLookup
	CertLookupURL string
	// CertCacheTTL is how long a looked-up chain stays pinned for a phone
	// number; default 1 h.
	CertCacheTTL time.Duration
}

func (c *Config) setDefaults() {
	if c.Mode == 0 {
		c.Mode = ModeAsync
	}
	if c.CountryCode == "" {
		c.CountryCode = "84"
	}
	if c.Format == 0 {
		c.Format = FormatPKCS1
	}
	if c.FormatURI == "" {
		c.FormatURI = wire.FormatPKCS1URI
		if c.Format == FormatCMS {
			c.FormatURI = wire.FormatPKCS7URI
		}
	}
	if c.SOAP == 0 {
		c.SOAP = wire.SOAP11
	}
	if c.Timeout <= 0 {
		c.Timeout = 300 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.MaxDisplayText <= 0 {
		c.MaxDisplayText = 50
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	if c.BreakerThreshold == 0 {
		c.BreakerThreshold = 5
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = 30 * time.Second
	}
	if c.CertCacheTTL <= 0 {
		c.CertCacheTTL = time.Hour
	}
}

func badConfig(format string, args ...any) error {
	return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: fmt.Sprintf(format, args...)}
}

func (c *Config) validate() error {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badConfig("MSSP endpoint %q is not an http(s) URL", c.Endpoint)
	}
	if c.APID == "" {
		return badConfig("ap-id is required")
	}
	for _, r := range c.CountryCode {
		if r < '0' || r > '9' {
			return badConfig("country code %q must be digits", c.CountryCode)
		}
	}
	if c.MSISDN != "" {
		if err := checkMSISDN(c.MSISDN); err != nil {
			return err
		}
	}
	if c.Mode != ModeAsync && c.Mode != ModeSync {
		return badConfig("unknown mode %d", c.Mode)
	}
	if c.Format != FormatPKCS1 && c.Format != FormatCMS {
		return badConfig("unknown format %d", c.Format)
	}
	if c.DTBS < DTBSAuto || c.DTBS > DTBSDigest {
		return badConfig("unknown dtbs %d", c.DTBS)
	}
	if c.SOAP != wire.SOAP11 && c.SOAP != wire.SOAP12 {
		return badConfig("unknown SOAP version %d", c.SOAP)
	}
	return nil
}

// checkMSISDN accepts phone numbers of 8 to 15 digits, with or without a
// leading "+"; normMSISDN turns them into the international form MSSPs want.
func checkMSISDN(s string) error {
	d := strings.TrimPrefix(s, "+")
	if len(d) < 8 || len(d) > 15 {
		return badConfig("phone number %q must have 8 to 15 digits", s)
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return badConfig("phone number %q must be digits only", s)
		}
	}
	return nil
}

// normMSISDN returns s in international form without "+": a national
// number with a trunk prefix ("0912345678") gets the country code instead of
// its leading 0, as people in Vietnam write their numbers that way.
func normMSISDN(s, countryCode string) string {
	switch {
	case strings.HasPrefix(s, "+"):
		return s[1:]
	case strings.HasPrefix(s, "00"):
		return s[2:]
	case strings.HasPrefix(s, "0") && countryCode != "":
		return countryCode + s[1:]
	}
	return s
}

// Open builds a Client from an "etsi204:" URI (see the package doc).
func Open(u *url.URL, env signing.Env) (signing.Provider, error) {
	cfg, err := ParseURI(u, env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// ParseURI turns an "etsi204:" URI into a Config, reading secrets through
// env and the TLS files it names.
func ParseURI(u *url.URL, env signing.Env) (Config, error) {
	if env == nil {
		env = signing.OSEnv
	}
	var cfg Config
	endpoint := u.Opaque
	if endpoint == "" {
		return cfg, badConfig("etsi204 URI needs the MSSP endpoint: etsi204:https://mssp.example/soap?...")
	}
	cfg.Endpoint = endpoint
	q := u.Query()
	known := map[string]bool{
		"msisdn": true, "ap-id": true, "ap-pwd-env": true, "ap-pwd-file": true, "mssp-id": true, "profile": true,
		"mode": true, "format": true, "format-uri": true, "dtbs": true, "cert-lookup": true, "client-cert": true,
		"client-key": true, "ca": true, "soap": true, "timeout": true, "poll": true, "max-display": true,
		"country": true,
	}
	for k := range q {
		if !known[k] {
			return cfg, badConfig("unknown etsi204 URI parameter %q", k)
		}
	}
	cfg.MSISDN = q.Get("msisdn")
	cfg.CountryCode = q.Get("country")
	cfg.APID = q.Get("ap-id")
	pwd, _, err := signing.Secret(q, env, "ap-pwd")
	if err != nil {
		return cfg, err
	}
	cfg.APPassword = pwd
	cfg.MSSPID = q.Get("mssp-id")
	cfg.SignatureProfile = q.Get("profile")
	cfg.CertLookupURL = q.Get("cert-lookup")
	cfg.FormatURI = q.Get("format-uri")
	switch q.Get("mode") {
	case "", "async":
		cfg.Mode = ModeAsync
	case "sync":
		cfg.Mode = ModeSync
	default:
		return cfg, badConfig("mode must be async or sync, not %q", q.Get("mode"))
	}
	switch q.Get("format") {
	case "", "pkcs1":
		cfg.Format = FormatPKCS1
	case "cms", "pkcs7":
		cfg.Format = FormatCMS
	default:
		return cfg, badConfig("format must be pkcs1 or cms, not %q", q.Get("format"))
	}
	switch q.Get("dtbs") {
	case "", "auto":
		cfg.DTBS = DTBSAuto
	case "digestinfo":
		cfg.DTBS = DTBSDigestInfo
	case "digest":
		cfg.DTBS = DTBSDigest
	default:
		return cfg, badConfig("dtbs must be auto, digestinfo or digest, not %q", q.Get("dtbs"))
	}
	if s := q.Get("soap"); s != "" {
		v, err := wire.ParseSOAPVersion(s)
		if err != nil {
			return cfg, badConfig("%v", err)
		}
		cfg.SOAP = v
	}
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"timeout", &cfg.Timeout}, {"poll", &cfg.PollInterval}} {
		if s := q.Get(p.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return cfg, badConfig("%s must be a positive duration such as 300s, not %q", p.name, s)
			}
			*p.dst = d
		}
	}
	if s := q.Get("max-display"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return cfg, badConfig("max-display must be a positive number, not %q", s)
		}
		cfg.MaxDisplayText = n
	}
	certFile, keyFile, caFile := q.Get("client-cert"), q.Get("client-key"), q.Get("ca")
	if (certFile == "") != (keyFile == "") {
		return cfg, badConfig("client-cert and client-key go together")
	}
	if certFile != "" || caFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if certFile != "" {
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return cfg, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "loading the application provider's client certificate", Err: err}
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		if caFile != "" {
			pemBytes, err := os.ReadFile(caFile)
			if err != nil {
				return cfg, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "reading ca", Err: err}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemBytes) {
				return cfg, badConfig("ca file %s holds no PEM certificate", caFile)
			}
			tc.RootCAs = pool
		}
		cfg.TLS = tc
	}
	return cfg, nil
}

// hashes we accept: SIM applets sign SHA-2 DigestInfos; SHA-1 is refused.
var acceptedHashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
