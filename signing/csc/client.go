// Package csc signs through a remote signing service that speaks the Cloud
// Signature Consortium API v2. It registers the URI scheme "csc":
//
//	csc:https://host/csc/v2?client-id=vanban&client-secret-env=CSC_SECRET&credential=seal-01
//
// Query parameters: client-id and client-secret-env= or client-secret-file=
// (OAuth2 client credentials), credential (the default credential ID; a
// request's SignerID overrides it), pin-env= or pin-file= (a static PIN for
// credentials whose authorization needs one), token-url (default
// BASE/oauth2/token), ca-file (PEM roots to trust for the service's TLS
// certificate), poll-interval and timeout (Go durations). Plain http is
// refused except to a loopback address, so the client secret never travels
// in the clear.
//
// A signature takes two steps. credentials/authorize binds our hash into a
// SAD (SCAL2). A service that asks the signer to approve on a phone answers
// 202 Accepted with a responseID; Poll then asks credentials/authorizeCheck
// until the signer approves (200 with the SAD), declines (access_denied) or
// lets it expire (expired_token). With the SAD, signatures/signHash returns
// the signature, which is verified against the credential's certificate and
// our digest before anyone sees it.
//
// Transaction ids describe the request (credential, responseID, hash,
// digest), so a process that restarts while the signer is still deciding
// can poll the same transaction again.
package csc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"vanban/signing"
)

// Scheme is the URI scheme this package registers.
const Scheme = "csc"

func init() {
	signing.Register(Scheme, func(u *url.URL, env signing.Env) (signing.Provider, error) {
		// Return a nil interface, not a typed nil pointer, on error.
		p, err := Open(u, env)
		if err != nil {
			return nil, err
		}
		return p, nil
	})
}

// Config configures a Client.
type Config struct {
	// BaseURL is the service's CSC base, e.g. https://host/csc/v2.
	BaseURL string
	// TokenURL is the OAuth2 token endpoint. Default BaseURL/oauth2/token.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Credential is the default credential ID.
	Credential string
	// PIN is sent as authData {"id": "PIN"} when a credential needs one.
	PIN string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// PollInterval is suggested to callers in Sessions. Default 2 s.
	PollInterval time.Duration
}

// maxDisplayText is the CSC limit on an authorization's description.
const maxDisplayText = 500

// Client is a signing.Provider over a CSC v2 service. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	base *url.URL

	tokenMu  sync.Mutex
	token    string
	tokenExp time.Time

	infoMu sync.Mutex
	infos  map[string]cachedInfo

	txMu  sync.Mutex
	txs   map[string]*tx
	byKey map[string]string
}

type cachedInfo struct {
	info    *CredentialInfo
	fetched time.Time
}

// infoTTL bounds how long credential details are reused; a renewed
// certificate shows up after at most this long.
const infoTTL = 5 * time.Minute

var (
	_ signing.Provider = (*Client)(nil)
	_ signing.Closer   = (*Client)(nil)
)

// Open parses a csc: URI and returns a client for it.
func Open(u *url.URL, env signing.Env) (*Client, error) {
	cfg, err := ParseURI(u, env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// ParseURI reads a csc: URI into a Config. Errors are *signing.Error of
// kind KindBadRequest.
func ParseURI(u *url.URL, env signing.Env) (Config, error) {
	var cfg Config
	if env == nil {
		env = signing.OSEnv
	}
	if u.Scheme != Scheme {
		return cfg, badRequest(fmt.Sprintf("URI scheme %q is not %q", u.Scheme, Scheme), nil)
	}
	if u.Opaque == "" {
		return cfg, badRequest("csc URI must carry the service URL after the colon (csc:https://host/csc/v2?...)", nil)
	}
	cfg.BaseURL = u.Opaque
	q := u.Query()
	cfg.ClientID = q.Get("client-id")
	cfg.Credential = q.Get("credential")
	cfg.TokenURL = q.Get("token-url")
	secret, _, err := signing.Secret(q, env, "client-secret")
	if err != nil {
		return cfg, withProvider(err)
	}
	cfg.ClientSecret = secret
	if cfg.PIN, _, err = signing.Secret(q, env, "pin"); err != nil {
		return cfg, withProvider(err)
	}
	timeout := 30 * time.Second
	if s := q.Get("timeout"); s != "" {
		if timeout, err = time.ParseDuration(s); err != nil || timeout <= 0 {
			return cfg, badRequest("timeout="+s+": want a positive duration such as 30s", err)
		}
	}
	if s := q.Get("poll-interval"); s != "" {
		if cfg.PollInterval, err = time.ParseDuration(s); err != nil || cfg.PollInterval <= 0 {
			return cfg, badRequest("poll-interval="+s+": want a positive duration such as 2s", err)
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile := q.Get("ca-file"); caFile != "" {
		pemData, err := os.ReadFile(caFile)
		if err != nil {
			return cfg, badRequest("cannot read ca-file "+caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return cfg, badRequest("ca-file "+caFile+" holds no PEM certificate", nil)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cfg.HTTPClient = &http.Client{Timeout: timeout, Transport: transport}
	return cfg, nil
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" {
		return nil, badRequest(fmt.Sprintf("service URL %q is not an absolute URL", cfg.BaseURL), err)
	}
	if err := checkTransport(base); err != nil {
		return nil, err
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = base.String() + "/oauth2/token"
	} else {
		tu, err := url.Parse(cfg.TokenURL)
		if err != nil || tu.Host == "" {
			return nil, badRequest(fmt.Sprintf("token URL %q is not an absolute URL", cfg.TokenURL), err)
		}
		if err := checkTransport(tu); err != nil {
			return nil, err
		}
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, badRequest("client-id and client-secret-env (or client-secret-file) are required", nil)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	return &Client{
		cfg:   cfg,
		base:  base,
		infos: map[string]cachedInfo{},
		txs:   map[string]*tx{},
		byKey: map[string]string{},
	}, nil
}

// checkTransport refuses plain http except to this machine.
func checkTransport(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return badRequest("refusing plain http to "+host+": the client secret and signatures need https", nil)
	}
	return badRequest("service URL scheme "+u.Scheme+" is not https", nil)
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.cfg.HTTPClient.CloseIdleConnections()
	return nil
}

// Capabilities describes the service as this client uses it: asynchronous,
// polled, with the description shown to the signer.
func (c *Client) Capabilities() signing.Capabilities {
	caps := signing.Capabilities{
		MaxDisplayText: maxDisplayText,
		Algorithms:     []signing.Algorithm{signing.RSAPKCS1v15, signing.RSAPSS, signing.ECDSA},
		Hashes:         []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512},
	}
	// Narrow the algorithms to the default credential's key once known.
	c.infoMu.Lock()
	ci, ok := c.infos[c.cfg.Credential]
	c.infoMu.Unlock()
	if ok && len(ci.info.Chain) > 0 {
		caps.Algorithms = ci.info.algorithms()
	}
	return caps
}

// Certificates returns the credential's certificate chain, leaf first.
func (c *Client) Certificates(ctx context.Context, signerID string) ([]*x509.Certificate, error) {
	info, err := c.credentialInfo(ctx, c.credentialID(signerID), false)
	if err != nil {
		return nil, err
	}
	return append([]*x509.Certificate(nil), info.Chain...), nil
}

func (c *Client) credentialID(signerID string) string {
	if signerID != "" {
		return signerID
	}
	return c.cfg.Credential
}

// Credentials lists the credential IDs the service offers this client
// (credentials/list).
func (c *Client) Credentials(ctx context.Context) ([]string, error) {
	var out struct {
		CredentialIDs []string `json:"credentialIDs"`
	}
	if _, err := c.call(ctx, "credentials/list", map[string]any{}, &out); err != nil {
		return nil, err
	}
	return out.CredentialIDs, nil
}

// call POSTs a CSC method with the access token, renewing the token once
// if the service rejects it. It returns the HTTP status (200 or 202).
func (c *Client) call(ctx context.Context, method string, in, out any) (int, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.accessToken(ctx, attempt > 0)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/"+method, bytes.NewReader(body))
		if err != nil {
			return 0, badRequest("building request", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		status, err := c.do(ctx, req, method, out)
		if status == http.StatusUnauthorized && attempt == 0 {
			continue // the token expired or was revoked early; get a new one
		}
		return status, err
	}
}

// do sends req and decodes a 200/202 answer into out or maps the error.
func (c *Client) do(ctx context.Context, req *http.Request, method string, out any) (int, error) {
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: method + ": service unreachable", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: method + ": reading the answer", Err: err}
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted {
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return resp.StatusCode, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: method + ": malformed JSON answer", Err: err}
			}
		}
		return resp.StatusCode, nil
	}
	return resp.StatusCode, errorFromResponse(method, resp.StatusCode, data)
}

// accessToken returns a cached OAuth2 token, or fetches one with the
// client credentials grant.
func (c *Client) accessToken(ctx context.Context, renew bool) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if !renew && c.token != "" && time.Now().Before(c.tokenExp) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", badRequest("building token request", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 2.3.1: the credentials are form-encoded before Basic.
	req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if _, err := c.do(ctx, req, "oauth2/token", &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" || (out.TokenType != "" && !strings.EqualFold(out.TokenType, "bearer")) {
		return "", &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "oauth2/token: no bearer token in the answer"}
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	// Renew a little early so a token does not expire in flight.
	if life > time.Minute {
		life -= 30 * time.Second
	}
	c.token, c.tokenExp = out.AccessToken, time.Now().Add(life)
	return c.token, nil
}

// cscError is the error body of CSC v2 (and OAuth2); some services use the
// camel-case names.
type cscError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCode        string `json:"errorCode"`
	ErrorDesc2       string `json:"errorDescription"`
}

func errorFromResponse(method string, status int, body []byte) error {
	var e cscError
	_ = json.Unmarshal(body, &e)
	code, desc := e.Error, e.ErrorDescription
	if code == "" {
		code = e.ErrorCode
	}
	if desc == "" {
		desc = e.ErrorDesc2
	}
	if code == "" {
		code = fmt.Sprintf("http_%d", status)
	}
	msg := method
	if desc != "" {
		msg += ": " + desc
	}
	return &signing.Error{Kind: classify(status, code, desc), Provider: Scheme, Code: code, Message: msg}
}

// classify maps a CSC/OAuth2 error to a kind. The error code decides when
// it is known; the HTTP status otherwise.
func classify(status int, code, desc string) signing.Kind {
	d := strings.ToLower(desc)
	switch code {
	case "access_denied":
		return signing.KindDeclined
	case "expired_token":
		return signing.KindExpired
	case "invalid_pin", "invalid_otp", "invalid_client", "invalid_token", "unauthorized_client", "invalid_grant":
		return signing.KindUnauthorized
	case "temporarily_unavailable", "server_error":
		return signing.KindUnavailable
	case "invalid_request":
		switch {
		case strings.Contains(d, "sad") && strings.Contains(d, "expired"):
			return signing.KindExpired
		case strings.Contains(d, "credentialid"), strings.Contains(d, "disabled"):
			return signing.KindNoCertificate
		}
		return signing.KindBadRequest
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return signing.KindUnauthorized
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return signing.KindUnavailable
	}
	return signing.KindBadRequest
}

func badRequest(msg string, err error) error {
	return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: msg, Err: err}
}

func withProvider(err error) error {
	var e *signing.Error
	if errors.As(err, &e) && e.Provider == "" {
		e.Provider = Scheme
	}
	return err
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// truncate shortens s to at most n characters without splitting one.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
