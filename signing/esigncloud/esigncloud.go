// Package esigncloud signs through the relying-party remote-signing
// services of FPT CA (eSignCloud) and of the Government CA's mobile PKI,
// which share one shape: the relying party (vanban) authenticates every
// call with its user, its password and a signature made with its own key
// (a PKCS#12) over them and the time; each signer has an agreement
// (agreementUUID) holding the certificate; a hash is prepared for signing,
// the signer authorizes on the phone, and the signature value is fetched.
// It registers two URI schemes with the same parameters:
//
//	esigncloud:https://host/eSignCloud/restapi?relying-party=VANBAN&rp-user=vanban&rp-password-env=ESC_PASSWORD&rp-key=/etc/vanban/rp.p12&rp-key-pass-env=ESC_P12_PASS
//	vgca:https://host/path?...   the Government CA's mobile PKI
//
// Parameters: relying-party, rp-user, rp-password-env= (or -file=), rp-key
// (the relying party's PKCS#12) with rp-key-pass-env= (or -file=);
// agreement (the default agreementUUID; a request's SignerID overrides
// it); methods (the three method names, comma-separated, when a service
// names them differently from eSignCloud's getCertificateDetailForSignCloud,
// prepareHashSigningForSignCloud, authorizeSingletonSigningForSignCloud);
// authorize-method (default 4, approval on the phone); ca-file, timeout,
// poll-interval and retries as for the other remote providers.
//
// Start sends prepareHashSigning and keeps the bill code; Poll sends
// authorizeSingletonSigning with the bill code, which answers "waiting"
// (1007) until the signer approves, then the signature value, verified
// against the agreement's certificate and our digest. Response codes map
// to kinds: 1001 unauthorized, 1002 and 1003 no certificate, 1004 and 1005
// bad request, 1006 declined, 1008 expired, 1009 busy, 5000 and HTTP 5xx
// unavailable. Transaction ids are self-describing (bill code, agreement,
// certificate serial, digest), so a restarted process continues a request.
//
// The OTP variant of authorization (the signer types a code received by
// SMS) needs the code typed into vanban; it is not offered yet.
package esigncloud

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"software.sslmate.com/src/go-pkcs12"

	"vanban/signing"
)

// Schemes this package registers.
const (
	Scheme     = "esigncloud"
	SchemeVGCA = "vgca"
)

// Response codes.
const (
	codeOK           = 0
	codeUnauthorized = 1001
	codeNoAgreement  = 1002
	codeCertInvalid  = 1003
	codeBadParameter = 1004
	codeUnknownBill  = 1005
	codeRejected     = 1006
	codeWaiting      = 1007
	codeExpired      = 1008
	codeBusy         = 1009
)

func init() {
	for _, scheme := range []string{Scheme, SchemeVGCA} {
		signing.Register(scheme, func(u *url.URL, env signing.Env) (signing.Provider, error) {
			p, err := Open(u, env)
			if err != nil {
				return nil, err
			}
			return p, nil
		})
	}
}

// Methods names the three calls.
type Methods struct{ Certificate, Prepare, Authorize string }

// DefaultMethods are eSignCloud's names.
var DefaultMethods = Methods{"getCertificateDetailForSignCloud", "prepareHashSigningForSignCloud", "authorizeSingletonSigningForSignCloud"}

// Config configures a Client.
type Config struct {
	// Name is the provider's name in errors: Scheme or SchemeVGCA.
	Name             string
	BaseURL          string
	RelyingParty     string
	RPUser, Password string
	// Key signs the credential data; an RSA key from the relying party's
	// PKCS#12.
	Key             crypto.Signer
	Agreement       string
	Methods         Methods
	AuthorizeMethod int
	HTTPClient      *http.Client
	PollInterval    time.Duration
	Retries         int
	Backoff         time.Duration
}

// Client is a signing.Provider over an eSignCloud-shaped service.
type Client struct {
	cfg  Config
	base string

	mu    sync.Mutex
	certs map[string]cachedCert
	byKey map[string]started
}

type cachedCert struct {
	chain   []*x509.Certificate
	serial  string
	fetched time.Time
}

type started struct {
	digest    []byte
	agreement string
	session   signing.Session
}

const certTTL = 5 * time.Minute

var (
	_ signing.Provider = (*Client)(nil)
	_ signing.Closer   = (*Client)(nil)
)

// Open parses an esigncloud: or vgca: URI.
func Open(u *url.URL, env signing.Env) (*Client, error) {
	cfg, err := ParseURI(u, env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// ParseURI reads a URI into a Config, loading the relying party's key.
func ParseURI(u *url.URL, env signing.Env) (Config, error) {
	cfg := Config{Name: u.Scheme}
	if env == nil {
		env = signing.OSEnv
	}
	bad := func(msg string, err error) (Config, error) {
		return cfg, &signing.Error{Kind: signing.KindBadRequest, Provider: cfg.Name, Message: msg, Err: err}
	}
	if (u.Scheme != Scheme && u.Scheme != SchemeVGCA) || u.Opaque == "" {
		return bad("want esigncloud:https://host/path?... or vgca:https://host/path?...", nil)
	}
	cfg.BaseURL = u.Opaque
	q := u.Query()
	cfg.RelyingParty, cfg.RPUser, cfg.Agreement = q.Get("relying-party"), q.Get("rp-user"), q.Get("agreement")
	var err error
	if cfg.Password, _, err = signing.Secret(q, env, "rp-password"); err != nil {
		return cfg, withProvider(err, cfg.Name)
	}
	keyPass, _, err := signing.Secret(q, env, "rp-key-pass")
	if err != nil {
		return cfg, withProvider(err, cfg.Name)
	}
	if path := q.Get("rp-key"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return bad("cannot read rp-key "+path, err)
		}
		// A CA's PKCS#12 usually carries the chain too.
		key, _, _, err := pkcs12.DecodeChain(data, keyPass)
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return cfg, &signing.Error{Kind: signing.KindUnauthorized, Provider: cfg.Name, Message: "rp-key: the PKCS#12 does not open with rp-key-pass", Err: err}
		}
		if err != nil {
			return bad("rp-key: unreadable PKCS#12", err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return bad("rp-key holds no signing key", nil)
		}
		cfg.Key = signer
	}
	cfg.Methods = DefaultMethods
	if m := q.Get("methods"); m != "" {
		parts := strings.Split(m, ",")
		if len(parts) != 3 {
			return bad("methods= wants three comma-separated names (certificate, prepare, authorize)", nil)
		}
		cfg.Methods = Methods{parts[0], parts[1], parts[2]}
	}
	cfg.AuthorizeMethod = 4
	if s := q.Get("authorize-method"); s != "" {
		if cfg.AuthorizeMethod, err = strconv.Atoi(s); err != nil || cfg.AuthorizeMethod != 4 {
			return bad("authorize-method="+s+": only 4 (approval on the phone) is supported", err)
		}
	}
	timeout := 30 * time.Second
	if s := q.Get("timeout"); s != "" {
		if timeout, err = time.ParseDuration(s); err != nil || timeout <= 0 {
			return bad("timeout="+s+": want a positive duration", err)
		}
	}
	if s := q.Get("poll-interval"); s != "" {
		if cfg.PollInterval, err = time.ParseDuration(s); err != nil || cfg.PollInterval <= 0 {
			return bad("poll-interval="+s+": want a positive duration", err)
		}
	}
	if s := q.Get("retries"); s != "" {
		if cfg.Retries, err = strconv.Atoi(s); err != nil || cfg.Retries < 1 || cfg.Retries > 10 {
			return bad("retries="+s+": want 1 to 10", err)
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile := q.Get("ca-file"); caFile != "" {
		pemData, err := os.ReadFile(caFile)
		if err != nil {
			return bad("cannot read ca-file "+caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return bad("ca-file "+caFile+" holds no PEM certificate", nil)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cfg.HTTPClient = &http.Client{Timeout: timeout, Transport: transport}
	return cfg, nil
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Name == "" {
		cfg.Name = Scheme
	}
	bad := func(msg string, err error) (*Client, error) {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: cfg.Name, Message: msg, Err: err}
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" {
		return bad(fmt.Sprintf("service URL %q is not an absolute URL", cfg.BaseURL), err)
	}
	if err := signing.CheckTransport(base); err != nil {
		return nil, withProvider(err, cfg.Name)
	}
	if cfg.RelyingParty == "" || cfg.RPUser == "" || cfg.Password == "" || cfg.Key == nil {
		return bad("relying-party, rp-user, rp-password-env and rp-key (with rp-key-pass-env) are required", nil)
	}
	if _, ok := cfg.Key.Public().(*rsa.PublicKey); !ok {
		return bad("the relying party's key must be RSA", nil)
	}
	if cfg.Methods == (Methods{}) {
		cfg.Methods = DefaultMethods
	}
	if cfg.AuthorizeMethod == 0 {
		cfg.AuthorizeMethod = 4
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	return &Client{cfg: cfg, base: base.String(), certs: map[string]cachedCert{}, byKey: map[string]started{}}, nil
}

// Close releases idle connections.
func (c *Client) Close() error { c.cfg.HTTPClient.CloseIdleConnections(); return nil }

// Capabilities: asynchronous, polled, RSA keys.
func (c *Client) Capabilities() signing.Capabilities {
	return signing.Capabilities{MaxDisplayText: 200, Algorithms: []signing.Algorithm{signing.RSAPKCS1v15}, Hashes: []crypto.Hash{crypto.SHA256}}
}

func (c *Client) agreement(s string) string {
	if s != "" {
		return s
	}
	return c.cfg.Agreement
}

func (c *Client) fail(kind signing.Kind, msg string, err error) *signing.Error {
	return &signing.Error{Kind: kind, Provider: c.cfg.Name, Message: msg, Err: err}
}

// credentialData authenticates one call: user, password, time and the
// relying party's signature over them.
func (c *Client) credentialData() (map[string]string, error) {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	h := sha256.Sum256([]byte(c.cfg.RPUser + c.cfg.Password + ts))
	sig, err := c.cfg.Key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, c.fail(signing.KindBadRequest, "signing the credential data with the relying party's key", err)
	}
	return map[string]string{"relyingPartyUser": c.cfg.RPUser, "relyingPartyPassword": c.cfg.Password, "timestamp": ts,
		"signature": base64.StdEncoding.EncodeToString(sig)}, nil
}

type answer struct {
	ResponseCode      int      `json:"responseCode"`
	ResponseMessage   string   `json:"responseMessage"`
	Certificate       string   `json:"certificate"`
	CertificateChain  []string `json:"certificateChain"`
	CertificateStatus string   `json:"certificateStatus"`
	BillCode          string   `json:"billCode"`
	RemainingSeconds  int      `json:"remainingSeconds"`
	SignatureValue    string   `json:"signatureValue"`
}

// call sends method with the relying party's credentials; transient
// failures are retried with backoff when retry is set. Business codes are
// returned in the answer for the caller to read.
func (c *Client) call(ctx context.Context, method, agreement string, fields map[string]any, retry bool) (*answer, error) {
	delay := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		a, err := c.once(ctx, method, agreement, fields)
		if err == nil || !retry || !signing.IsRetryable(err) || attempt >= c.cfg.Retries {
			return a, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (c *Client) once(ctx context.Context, method, agreement string, fields map[string]any) (*answer, error) {
	cd, err := c.credentialData()
	if err != nil {
		return nil, err
	}
	body := map[string]any{"relyingParty": c.cfg.RelyingParty, "agreementUUID": agreement, "credentialData": cd}
	for k, v := range fields {
		body[k] = v
	}
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+method, bytes.NewReader(raw))
	if err != nil {
		return nil, c.fail(signing.KindBadRequest, "building request", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.fail(signing.KindUnavailable, method+": service unreachable", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, c.fail(signing.KindUnavailable, method+": reading the answer", err)
	}
	var a answer
	if jerr := json.Unmarshal(data, &a); jerr != nil {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: c.cfg.Name, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: method}
		}
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: c.cfg.Name, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: method + ": not a service answer", Err: jerr}
	}
	if resp.StatusCode >= 500 {
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: c.cfg.Name, Code: strconv.Itoa(a.ResponseCode), Message: method + ": " + a.ResponseMessage}
	}
	return &a, nil
}

// codeError maps a response code other than success and waiting.
func (c *Client) codeError(method string, a *answer) *signing.Error {
	return &signing.Error{Kind: KindForCode(a.ResponseCode), Provider: c.cfg.Name, Code: strconv.Itoa(a.ResponseCode), Message: method + ": " + a.ResponseMessage}
}

// KindForCode maps a response code to a kind.
func KindForCode(code int) signing.Kind {
	switch code {
	case codeUnauthorized:
		return signing.KindUnauthorized
	case codeNoAgreement, codeCertInvalid:
		return signing.KindNoCertificate
	case codeBadParameter, codeUnknownBill:
		return signing.KindBadRequest
	case codeRejected:
		return signing.KindDeclined
	case codeExpired:
		return signing.KindExpired
	case codeBusy:
		return signing.KindBusy
	}
	if code >= 5000 {
		return signing.KindUnavailable
	}
	return signing.KindBadRequest
}

// Certificates returns the agreement's certificate chain.
func (c *Client) Certificates(ctx context.Context, signerID string) ([]*x509.Certificate, error) {
	cc, err := c.certificate(ctx, c.agreement(signerID), false)
	if err != nil {
		return nil, err
	}
	return append([]*x509.Certificate(nil), cc.chain...), nil
}

func (c *Client) certificate(ctx context.Context, agreement string, fresh bool) (cachedCert, error) {
	if agreement == "" {
		return cachedCert{}, c.fail(signing.KindBadRequest, "no agreement: set agreement= in the URI or the signer's identity", nil)
	}
	c.mu.Lock()
	cc, ok := c.certs[agreement]
	c.mu.Unlock()
	if ok && !fresh && time.Since(cc.fetched) < certTTL {
		return cc, nil
	}
	a, err := c.call(ctx, c.cfg.Methods.Certificate, agreement, nil, true)
	if err != nil {
		return cachedCert{}, err
	}
	if a.ResponseCode != codeOK {
		return cachedCert{}, c.codeError(c.cfg.Methods.Certificate, a)
	}
	switch strings.ToUpper(a.CertificateStatus) {
	case "OPERATED", "VALID", "ACTIVE":
	default:
		return cachedCert{}, c.fail(signing.KindNoCertificate, "the agreement's certificate is "+strings.ToLower(a.CertificateStatus), nil)
	}
	var chain []*x509.Certificate
	for _, b := range append([]string{a.Certificate}, a.CertificateChain...) {
		der, err := base64.StdEncoding.DecodeString(b)
		if err == nil {
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(der); err == nil {
				chain = append(chain, cert)
				continue
			}
		}
		return cachedCert{}, c.fail(signing.KindUnavailable, "unreadable certificate in the answer", err)
	}
	if now := time.Now(); now.Before(chain[0].NotBefore) || now.After(chain[0].NotAfter) {
		return cachedCert{}, c.fail(signing.KindNoCertificate, "the agreement's certificate is not valid now", nil)
	}
	cc = cachedCert{chain: chain, serial: hex.EncodeToString(chain[0].SerialNumber.Bytes()), fetched: time.Now()}
	c.mu.Lock()
	c.certs[agreement] = cc
	c.mu.Unlock()
	return cc, nil
}

type txRef struct {
	Bill      string `json:"b"`
	Agreement string `json:"a"`
	Serial    string `json:"s"`
	Digest    string `json:"g"`
}

const txPrefix = "esc1."

func (r txRef) id() string {
	b, _ := json.Marshal(r)
	return txPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func (c *Client) parseTxID(id string) (txRef, error) {
	var r txRef
	bad := func(err error) (txRef, error) {
		return r, c.fail(signing.KindBadRequest, "unknown transaction id", err)
	}
	rest, ok := strings.CutPrefix(id, txPrefix)
	if !ok || len(rest) > 2048 {
		return bad(nil)
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return bad(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return bad(err)
	}
	if d, err := hex.DecodeString(r.Digest); err != nil || len(d) != sha256.Size || r.Bill == "" || r.Agreement == "" || r.Serial == "" {
		return bad(errors.New("transaction id does not describe a request"))
	}
	return r, nil
}

// Start prepares the hash for signing; the signer is asked on the phone.
// prepareHashSigning is not retried automatically: the service cannot tell
// a retry from a second request.
func (c *Client) Start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	if err := signing.CheckRequest(c.cfg.Name, req); err != nil {
		return nil, err
	}
	if req.Hash != crypto.SHA256 || req.Algorithm != signing.RSAPKCS1v15 {
		return nil, c.fail(signing.KindBadRequest, "the service signs SHA-256 hashes with RSA PKCS#1 v1.5, not "+req.Hash.String()+" with "+req.Algorithm.String(), nil)
	}
	agreement := c.agreement(req.SignerID)
	if key := req.IdempotencyKey; key != "" {
		c.mu.Lock()
		prev, ok := c.byKey[key]
		c.mu.Unlock()
		if ok {
			if !bytes.Equal(prev.digest, req.Digest) || prev.agreement != agreement {
				return nil, c.fail(signing.KindBadRequest, "idempotency key "+key+" was used for another digest or agreement", nil)
			}
			s := prev.session
			return &s, nil
		}
	}
	cc, err := c.certificate(ctx, agreement, false)
	if err != nil {
		return nil, err
	}
	msg := req.DisplayText
	if utf8.RuneCountInString(msg) > 200 {
		msg = string([]rune(msg)[:200])
	}
	a, err := c.call(ctx, c.cfg.Methods.Prepare, agreement, map[string]any{
		"hash": base64.StdEncoding.EncodeToString(req.Digest), "hashAlgorithm": "SHA-256", "authorizeMethod": c.cfg.AuthorizeMethod,
		"notificationMessage": msg, "messagingMode": "ASYNCHRONOUS_CLIENTSERVER",
	}, false)
	if err != nil {
		return nil, err
	}
	if a.ResponseCode != codeWaiting && a.ResponseCode != codeOK || a.BillCode == "" {
		if a.ResponseCode == codeWaiting || a.ResponseCode == codeOK {
			return nil, c.fail(signing.KindUnavailable, "prepare answered without a bill code", nil)
		}
		return nil, c.codeError(c.cfg.Methods.Prepare, a)
	}
	life := time.Duration(a.RemainingSeconds) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	if req.Timeout > 0 && req.Timeout < life {
		life = req.Timeout
	}
	ref := txRef{Bill: a.BillCode, Agreement: agreement, Serial: cc.serial, Digest: hex.EncodeToString(req.Digest)}
	s := signing.Session{TxID: ref.id(), ExpiresAt: time.Now().Add(life), PollInterval: c.cfg.PollInterval}
	if key := req.IdempotencyKey; key != "" {
		c.mu.Lock()
		c.byKey[key] = started{digest: append([]byte(nil), req.Digest...), agreement: agreement, session: s}
		c.mu.Unlock()
	}
	return &s, nil
}

// Poll asks for the authorization's outcome and the signature value.
func (c *Client) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	ref, err := c.parseTxID(txID)
	if err != nil {
		return nil, err
	}
	a, err := c.call(ctx, c.cfg.Methods.Authorize, ref.Agreement, map[string]any{"billCode": ref.Bill, "authorizeCode": "", "messagingMode": "ASYNCHRONOUS_CLIENTSERVER"}, true)
	if err != nil {
		return nil, err
	}
	failed := func(e *signing.Error) *signing.Result {
		return &signing.Result{TxID: txID, Status: signing.StatusFailed, Err: e}
	}
	switch a.ResponseCode {
	case codeWaiting:
		return &signing.Result{TxID: txID, Status: signing.StatusPending}, nil
	case codeOK:
	case codeUnauthorized:
		return nil, c.codeError(c.cfg.Methods.Authorize, a) // our credentials, not the request
	default:
		e := c.codeError(c.cfg.Methods.Authorize, a)
		if e.Kind == signing.KindUnavailable {
			return nil, e
		}
		return failed(e), nil
	}
	sig, err := base64.StdEncoding.DecodeString(a.SignatureValue)
	if err != nil || len(sig) == 0 {
		return failed(c.fail(signing.KindBadSignature, "signatureValue is not Base64", err)), nil
	}
	cc, err := c.certificate(ctx, ref.Agreement, false)
	if err == nil && cc.serial != ref.Serial {
		cc, err = c.certificate(ctx, ref.Agreement, true)
	}
	if err != nil {
		return nil, err
	}
	if cc.serial != ref.Serial {
		return failed(c.fail(signing.KindBadSignature, "the certificate the digest was made for is no longer the agreement's", nil)), nil
	}
	digest, _ := hex.DecodeString(ref.Digest)
	if err := signing.VerifySignature(cc.chain[0], crypto.SHA256, signing.RSAPKCS1v15, digest, sig); err != nil {
		return failed(c.fail(signing.KindBadSignature, "the service returned a signature that does not verify against the agreement's certificate and our digest", err)), nil
	}
	return &signing.Result{TxID: txID, Status: signing.StatusSigned, Signature: sig, Certificates: cc.chain}, nil
}

func withProvider(err error, name string) error {
	var e *signing.Error
	if errors.As(err, &e) && e.Provider == "" {
		e.Provider = name
	}
	return err
}
