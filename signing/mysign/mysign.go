// Package mysign signs through Viettel MySign (Viettel-CA remote signing):
// the key lives in Viettel's HSM and the user approves each request in the
// MySign app. It registers the URI scheme "mysign":
//
//	mysign:https://remotesigning.example.vn:8773?client-id=ID&client-secret-env=MYSIGN_SECRET&profile-id=adss:ras:profile:001
//
// Parameters: client-id, client-secret-env= (or -file=) and profile-id,
// the relying application's credentials; user (the default user id; a
// request's SignerID overrides it); ca-file, timeout, poll-interval and
// retries as for the other remote providers. Plain http is refused except
// to a loopback address.
//
// # Protocol
//
// vtss/service/ras/v1/login with the client id, secret, profile id and the
// user's id gives a bearer token for that user (cached until it expires,
// renewed once when refused). vtss/service/certificates/info lists the
// user's credentials; the first whose certificate status is valid is used,
// its chain pinned. vtss/service/signHash, in async mode, sends the
// credential id, the number of signatures, one document per hash and the
// hashes (Base64) with the SHA-256 and RSA OIDs, and returns a transaction
// id; several hashes in one call are approved once (BatchStarter).
// vtss/service/requests/status is polled until the status is final.
//
// signHash carries no idempotency key the service knows, so Start
// remembers its idempotency keys in memory: a retry in the same process is
// the same transaction. signHash itself is never retried automatically
// (a lost answer could otherwise put a second request on the phone, which
// the service refuses as busy); the other calls are retried with backoff.
//
// Every signature is verified against the pinned certificate and our
// digest. Transaction ids are self-describing, so a restarted process
// polls and verifies a request it did not start.
//
// Errors map to kinds: invalid_request and unknown_transaction bad
// request; invalid_credential no certificate; busy busy; invalid_client,
// invalid_token and HTTP 401/403 unauthorized; server_error,
// temporarily_unavailable and 5xx unavailable; status rejected declined,
// expired expired, failed unavailable.
package mysign

import (
	"bytes"
	"context"
	"crypto"
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

	"vanban/signing"
)

// Scheme is the URI scheme this package registers.
const Scheme = "mysign"

// OIDs sent with signHash.
const (
	oidSHA256        = "2.16.840.1.101.3.4.2.1"
	oidRSAEncryption = "1.2.840.113549.1.1.1"
)

// MaxBatch is the most hashes one signHash carries.
const MaxBatch = 50

func init() {
	signing.Register(Scheme, func(u *url.URL, env signing.Env) (signing.Provider, error) {
		p, err := Open(u, env)
		if err != nil {
			return nil, err
		}
		return p, nil
	})
}

// Config configures a Client.
type Config struct {
	BaseURL                           string
	ClientID, ClientSecret, ProfileID string
	User                              string
	HTTPClient                        *http.Client
	PollInterval                      time.Duration
	Retries                           int
	Backoff                           time.Duration
}

// Client is a signing.Provider over MySign; safe for concurrent use.
type Client struct {
	cfg  Config
	base string

	mu     sync.Mutex
	tokens map[string]token      // user -> bearer token
	creds  map[string]credential // user -> credential
	byKey  map[string]started    // idempotency key -> what it started
}

type token struct {
	value   string
	expires time.Time
}

type credential struct {
	id      string
	serial  string
	chain   []*x509.Certificate
	fetched time.Time
}

type started struct {
	digest  []byte
	user    string
	session signing.Session
}

const credTTL = 5 * time.Minute

var (
	_ signing.Provider     = (*Client)(nil)
	_ signing.BatchStarter = (*Client)(nil)
	_ signing.Closer       = (*Client)(nil)
)

// Open parses a mysign: URI.
func Open(u *url.URL, env signing.Env) (*Client, error) {
	cfg, err := ParseURI(u, env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// ParseURI reads a mysign: URI into a Config.
func ParseURI(u *url.URL, env signing.Env) (Config, error) {
	var cfg Config
	if env == nil {
		env = signing.OSEnv
	}
	if u.Scheme != Scheme || u.Opaque == "" {
		return cfg, badRequest("want mysign:https://host/...?client-id=...", nil)
	}
	cfg.BaseURL = u.Opaque
	q := u.Query()
	cfg.ClientID, cfg.ProfileID, cfg.User = q.Get("client-id"), q.Get("profile-id"), q.Get("user")
	var err error
	if cfg.ClientSecret, _, err = signing.Secret(q, env, "client-secret"); err != nil {
		return cfg, withProvider(err)
	}
	timeout := 30 * time.Second
	if s := q.Get("timeout"); s != "" {
		if timeout, err = time.ParseDuration(s); err != nil || timeout <= 0 {
			return cfg, badRequest("timeout="+s+": want a positive duration", err)
		}
	}
	if s := q.Get("poll-interval"); s != "" {
		if cfg.PollInterval, err = time.ParseDuration(s); err != nil || cfg.PollInterval <= 0 {
			return cfg, badRequest("poll-interval="+s+": want a positive duration", err)
		}
	}
	if s := q.Get("retries"); s != "" {
		if cfg.Retries, err = strconv.Atoi(s); err != nil || cfg.Retries < 1 || cfg.Retries > 10 {
			return cfg, badRequest("retries="+s+": want 1 to 10", err)
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
	if err := signing.CheckTransport(base); err != nil {
		return nil, withProvider(err)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.ProfileID == "" {
		return nil, badRequest("client-id, client-secret-env (or -file) and profile-id are required", nil)
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
	return &Client{cfg: cfg, base: base.String(), tokens: map[string]token{}, creds: map[string]credential{}, byKey: map[string]started{}}, nil
}

// Close releases idle connections.
func (c *Client) Close() error { c.cfg.HTTPClient.CloseIdleConnections(); return nil }

// Capabilities: asynchronous, polled, batches of hashes, RSA keys.
func (c *Client) Capabilities() signing.Capabilities {
	return signing.Capabilities{Batch: true, MaxBatch: MaxBatch, MaxDisplayText: 200,
		Algorithms: []signing.Algorithm{signing.RSAPKCS1v15}, Hashes: []crypto.Hash{crypto.SHA256}}
}

func (c *Client) userID(s string) string {
	if s != "" {
		return s
	}
	return c.cfg.User
}

// post sends one JSON call; token is empty for login.
func (c *Client) post(ctx context.Context, path, tok string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return badRequest("encoding "+path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+path, bytes.NewReader(raw))
	if err != nil {
		return badRequest("building request", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: path + ": service unreachable", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: path + ": reading the answer", Err: err}
	}
	if resp.StatusCode == http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return errorFrom(path, resp.StatusCode, data)
		}
		if err := json.Unmarshal(data, out); err != nil {
			return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: path + ": malformed answer", Err: err}
		}
		return nil
	}
	return errorFrom(path, resp.StatusCode, data)
}

func errorFrom(path string, status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	code := e.Error
	if code == "" {
		code = "http_" + strconv.Itoa(status)
	}
	return &signing.Error{Kind: KindFor(status, code), Provider: Scheme, Code: code, Message: strings.TrimSpace(path + ": " + e.Description)}
}

// KindFor maps an error answer to a kind.
func KindFor(status int, code string) signing.Kind {
	switch code {
	case "invalid_request", "unknown_transaction":
		return signing.KindBadRequest
	case "invalid_credential":
		return signing.KindNoCertificate
	case "busy":
		return signing.KindBusy
	case "invalid_client", "invalid_token", "unauthorized_client":
		return signing.KindUnauthorized
	case "server_error", "temporarily_unavailable":
		return signing.KindUnavailable
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return signing.KindUnauthorized
	case status >= 500 || status == http.StatusTooManyRequests:
		return signing.KindUnavailable
	}
	return signing.KindBadRequest
}

// call runs an authenticated call for user, logging in when needed and
// once more when the token is refused; retry says whether transient
// failures are retried with backoff.
func (c *Client) call(ctx context.Context, user, path string, body, out any, retry bool) error {
	delay := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := c.callOnce(ctx, user, path, body, out)
		if err == nil || !retry || !signing.IsRetryable(err) || signing.KindOf(err) == signing.KindBusy || attempt >= c.cfg.Retries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (c *Client) callOnce(ctx context.Context, user, path string, body, out any) error {
	for renew := false; ; renew = true {
		tok, err := c.token(ctx, user, renew)
		if err != nil {
			return err
		}
		err = c.post(ctx, path, tok, body, out)
		var se *signing.Error
		if !renew && errors.As(err, &se) && se.Code == "invalid_token" {
			continue
		}
		return err
	}
}

func (c *Client) token(ctx context.Context, user string, renew bool) (string, error) {
	if user == "" {
		return "", badRequest("no user id: set user= in the URI or the signer's identity", nil)
	}
	c.mu.Lock()
	t, ok := c.tokens[user]
	c.mu.Unlock()
	if ok && !renew && time.Now().Before(t.expires) {
		return t.value, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	body := map[string]string{"client_id": c.cfg.ClientID, "client_secret": c.cfg.ClientSecret, "profile_id": c.cfg.ProfileID, "user_id": user}
	var err error
	delay := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err = c.post(ctx, "vtss/service/ras/v1/login", "", body, &out)
		if err == nil || !signing.IsRetryable(err) || attempt >= c.cfg.Retries {
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
	if err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "login: no access_token in the answer"}
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	if life <= 0 {
		life = 30 * time.Minute
	}
	if life > time.Minute {
		life -= 30 * time.Second
	}
	c.mu.Lock()
	c.tokens[user] = token{value: out.AccessToken, expires: time.Now().Add(life)}
	c.mu.Unlock()
	return out.AccessToken, nil
}

// Certificates returns the chain of the user's valid credential.
func (c *Client) Certificates(ctx context.Context, signerID string) ([]*x509.Certificate, error) {
	cr, err := c.credential(ctx, c.userID(signerID), false)
	if err != nil {
		return nil, err
	}
	return append([]*x509.Certificate(nil), cr.chain...), nil
}

func (c *Client) credential(ctx context.Context, user string, fresh bool) (credential, error) {
	c.mu.Lock()
	cr, ok := c.creds[user]
	c.mu.Unlock()
	if ok && !fresh && time.Since(cr.fetched) < credTTL {
		return cr, nil
	}
	var out []struct {
		CredentialID string `json:"credential_id"`
		Cert         struct {
			Status       string   `json:"status"`
			Certificates []string `json:"certificates"`
		} `json:"cert"`
	}
	body := map[string]any{"client_id": c.cfg.ClientID, "client_secret": c.cfg.ClientSecret, "profile_id": c.cfg.ProfileID,
		"user_id": user, "certificates": "chain", "certInfo": true, "authInfo": true}
	if err := c.call(ctx, user, "vtss/service/certificates/info", body, &out, true); err != nil {
		return credential{}, err
	}
	now := time.Now()
	for _, item := range out {
		if !strings.EqualFold(item.Cert.Status, "valid") || len(item.Cert.Certificates) == 0 || item.CredentialID == "" {
			continue
		}
		var chain []*x509.Certificate
		for _, b := range item.Cert.Certificates {
			der, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return credential{}, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "certificates/info: certificate is not Base64", Err: err}
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return credential{}, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "certificates/info: unreadable certificate", Err: err}
			}
			chain = append(chain, cert)
		}
		if now.Before(chain[0].NotBefore) || now.After(chain[0].NotAfter) {
			continue
		}
		cr = credential{id: item.CredentialID, serial: hex.EncodeToString(chain[0].SerialNumber.Bytes()), chain: chain, fetched: now}
		c.mu.Lock()
		c.creds[user] = cr
		c.mu.Unlock()
		return cr, nil
	}
	return credential{}, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: "user " + user + " has no valid certificate"}
}

type txRef struct {
	Transaction string `json:"t"`
	Index       int    `json:"i"`
	User        string `json:"u"`
	Credential  string `json:"c"`
	Serial      string `json:"s"`
	Digest      string `json:"g"`
}

const txPrefix = "mys1."

func (r txRef) id() string {
	b, _ := json.Marshal(r)
	return txPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func parseTxID(id string) (txRef, error) {
	var r txRef
	bad := func(err error) (txRef, error) {
		return r, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "unknown transaction id", Err: err}
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
	if d, err := hex.DecodeString(r.Digest); err != nil || len(d) != sha256.Size || r.Transaction == "" || r.User == "" || r.Credential == "" || r.Index < 0 || r.Index >= MaxBatch {
		return bad(errors.New("transaction id does not describe a request"))
	}
	return r, nil
}

// Start sends one hash for the user's approval.
func (c *Client) Start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	ss, err := c.StartBatch(ctx, []signing.Request{req})
	if err != nil {
		return nil, err
	}
	return ss[0], nil
}

// StartBatch sends several hashes of one user in one signHash, approved
// once on the phone.
func (c *Client) StartBatch(ctx context.Context, reqs []signing.Request) ([]*signing.Session, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatch {
		return nil, badRequest(fmt.Sprintf("a batch has 1 to %d requests, not %d", MaxBatch, len(reqs)), nil)
	}
	user := c.userID(reqs[0].SignerID)
	seen := map[string]bool{}
	known := 0
	var out []*signing.Session
	for _, r := range reqs {
		if err := signing.CheckRequest(Scheme, r); err != nil {
			return nil, err
		}
		if r.Hash != crypto.SHA256 || r.Algorithm != signing.RSAPKCS1v15 {
			return nil, badRequest("MySign signs SHA-256 hashes with RSA PKCS#1 v1.5, not "+r.Hash.String()+" with "+r.Algorithm.String(), nil)
		}
		if c.userID(r.SignerID) != user {
			return nil, badRequest("every request of a batch must name the same user", nil)
		}
		if r.IdempotencyKey == "" {
			continue
		}
		if seen[r.IdempotencyKey] {
			return nil, badRequest("idempotency key "+r.IdempotencyKey+" appears twice in the batch", nil)
		}
		seen[r.IdempotencyKey] = true
		c.mu.Lock()
		prev, ok := c.byKey[r.IdempotencyKey]
		c.mu.Unlock()
		if ok {
			if !bytes.Equal(prev.digest, r.Digest) || prev.user != user {
				return nil, badRequest("idempotency key "+r.IdempotencyKey+" was used for another digest or user", nil)
			}
			known++
			s := prev.session
			out = append(out, &s)
		}
	}
	if known == len(reqs) {
		return out, nil // a retry of what was started
	}
	if known > 0 {
		return nil, badRequest("a batch mixes requests already started with new ones", nil)
	}
	cr, err := c.credential(ctx, user, false)
	if err != nil {
		return nil, err
	}
	docs := make([]map[string]string, len(reqs))
	hashes := make([]string, len(reqs))
	for i, r := range reqs {
		id := r.IdempotencyKey
		if id == "" {
			id = "doc-" + strconv.Itoa(i+1)
		}
		docs[i] = map[string]string{"document_id": id, "document_name": r.DisplayText}
		hashes[i] = base64.StdEncoding.EncodeToString(r.Digest)
	}
	body := map[string]any{"client_id": c.cfg.ClientID, "client_secret": c.cfg.ClientSecret, "credentialID": cr.id,
		"numSignatures": len(reqs), "documents": docs, "hash": hashes, "hashAlgo": oidSHA256, "signAlgo": oidRSAEncryption, "async": 1}
	var resp struct {
		TransactionID string `json:"transactionId"`
		ExpiresIn     int    `json:"expiresIn"`
	}
	// Not retried: the service cannot tell a retry from a new request.
	if err := c.call(ctx, user, "vtss/service/signHash", body, &resp, false); err != nil {
		return nil, err
	}
	if resp.TransactionID == "" {
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "signHash: no transactionId in the answer"}
	}
	life := time.Duration(resp.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	if t := reqs[0].Timeout; t > 0 && t < life {
		life = t
	}
	exp := time.Now().Add(life)
	out = out[:0]
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range reqs {
		ref := txRef{Transaction: resp.TransactionID, Index: i, User: user, Credential: cr.id, Serial: cr.serial, Digest: hex.EncodeToString(r.Digest)}
		s := signing.Session{TxID: ref.id(), ExpiresAt: exp, PollInterval: c.cfg.PollInterval}
		if r.IdempotencyKey != "" {
			c.byKey[r.IdempotencyKey] = started{digest: append([]byte(nil), r.Digest...), user: user, session: s}
		}
		out = append(out, &s)
	}
	return out, nil
}

// Poll reads the request's status and, once signed, its verified signature.
func (c *Client) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	ref, err := parseTxID(txID)
	if err != nil {
		return nil, err
	}
	var out struct {
		Status     string   `json:"status"`
		Signatures []string `json:"signatures"`
	}
	if err := c.call(ctx, ref.User, "vtss/service/requests/status", map[string]string{"transactionId": ref.Transaction}, &out, true); err != nil {
		return nil, err
	}
	fail := func(kind signing.Kind, code, msg string, cause error) *signing.Result {
		return &signing.Result{TxID: txID, Status: signing.StatusFailed, Err: &signing.Error{Kind: kind, Provider: Scheme, Code: code, Message: msg, Err: cause}}
	}
	switch strings.ToLower(out.Status) {
	case "pending", "":
		return &signing.Result{TxID: txID, Status: signing.StatusPending}, nil
	case "signed":
	case "rejected":
		return fail(signing.KindDeclined, out.Status, "the user declined in the MySign app", nil), nil
	case "expired":
		return fail(signing.KindExpired, out.Status, "the user did not approve in time", nil), nil
	default:
		return fail(signing.KindUnavailable, out.Status, "the service could not sign", nil), nil
	}
	if ref.Index >= len(out.Signatures) {
		return fail(signing.KindBadSignature, "", "the signed request carries no signature for this hash", nil), nil
	}
	sig, err := base64.StdEncoding.DecodeString(out.Signatures[ref.Index])
	if err != nil {
		return fail(signing.KindBadSignature, "", "signature is not Base64", err), nil
	}
	cr, err := c.credential(ctx, ref.User, false)
	if err == nil && cr.serial != ref.Serial {
		cr, err = c.credential(ctx, ref.User, true)
	}
	if err != nil {
		return nil, err
	}
	if cr.serial != ref.Serial || cr.id != ref.Credential {
		return fail(signing.KindBadSignature, "", "the certificate the digest was made for is no longer the user's", nil), nil
	}
	digest, _ := hex.DecodeString(ref.Digest)
	if err := signing.VerifySignature(cr.chain[0], crypto.SHA256, signing.RSAPKCS1v15, digest, sig); err != nil {
		return fail(signing.KindBadSignature, "", "MySign returned a signature that does not verify against the user's certificate and our digest", err), nil
	}
	return &signing.Result{TxID: txID, Status: signing.StatusSigned, Signature: sig, Certificates: cr.chain}, nil
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
