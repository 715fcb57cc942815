// Package smartca signs through VNPT SmartCA, the remote-signing service
// most Vietnamese officials hold a certificate with: the key lives in
// VNPT's HSM and the user confirms each transaction in the SmartCA app. It
// registers the URI scheme "smartca":
//
//	smartca:https://host/path?sp-id=VANBAN&sp-password-env=SMARTCA_SP_PASSWORD&callback-secret-env=SMARTCA_CALLBACK_SECRET
//
// Parameters: sp-id and sp-password-env= (or -file=), the service
// provider's credentials; user (the default user id, a CCCD or tax code; a
// request's SignerID overrides it); callback-secret-env= (or -file=), the
// key of the callbacks' HMAC, without which callbacks are refused;
// file-type (sent in sign_files, default "pdf"); ca-file (PEM roots for the
// service's TLS); timeout (per HTTP call, default 30s); poll-interval
// (suggested to callers, default 2s); retries (attempts per call on a
// network or server error, default 3). Plain http is refused except to a
// loopback address.
//
// # Protocol
//
// Certificates calls v1/credentials/get_certificate with the user id and
// takes the first certificate whose cert_status is valid, with its chain.
// Start calls v1/signatures/sign with our transaction_id, the description,
// the pinned certificate's serial_number and one sign_file whose
// data_to_be_signed is the hex digest (sign_type "hash"); StartBatch sends
// several sign_files in one transaction, which the user confirms once.
// Poll calls v1/signatures/sign/{transaction_id}/status and picks the
// signature of its doc_id. The transaction_id is derived from the
// idempotency keys, so a retry (even after a restart) is the same
// transaction at SmartCA, which refuses the same id over other data.
//
// Every signature is verified against the pinned certificate and our
// digest before it is reported signed. Transaction ids are self-describing
// (transaction, document, user, serial, digest), so a restarted process
// polls and verifies a request it did not start, and a callback, which
// names the same fields, maps to the same id without any state.
//
// Status codes map to signing kinds: 400 and 4004 bad request, 401
// unauthorized, 4001 and 4002 no certificate, 4003 unknown transaction
// (bad request), 4005 busy, 5xx unavailable; tran_status REJECTED
// declined, EXPIRED expired, FAILED unavailable.
package smartca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
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

	"vanban/signing"
)

// Scheme is the URI scheme this package registers.
const Scheme = "smartca"

// SignatureHeader authenticates callbacks: t=UNIX,v1=HEX(HMAC-SHA256(secret, "UNIX." + body)).
const SignatureHeader = "X-SmartCA-Signature"

// callbackSkew is how old (or how far in the future) a callback's time may
// be; older ones are replays.
const callbackSkew = 5 * time.Minute

// maxDisplayText is the longest transaction_desc the app shows.
const maxDisplayText = 200

// MaxBatch is the most documents one transaction carries.
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
	// BaseURL is the service's base, under which v1/... are served.
	BaseURL          string
	SPID, SPPassword string
	// User is the default user id.
	User string
	// CallbackSecret keys the HMAC of callbacks; empty refuses them all.
	CallbackSecret string
	// FileType is sent with every sign_file; default "pdf".
	FileType string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// PollInterval is suggested in Sessions; default 2 s.
	PollInterval time.Duration
	// Retries is how many attempts a call gets on a network or server
	// error; default 3. Backoff is the first delay, doubled per attempt;
	// default 200 ms.
	Retries int
	Backoff time.Duration
	// Now is the clock for callback freshness; default time.Now.
	Now func() time.Time
}

// Client is a signing.Provider over SmartCA. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string

	mu    sync.Mutex
	certs map[string]cachedCert // user id -> certificate
}

type cachedCert struct {
	chain   []*x509.Certificate
	serial  string
	fetched time.Time
}

// certTTL bounds how long a user's certificate is reused.
const certTTL = 5 * time.Minute

var (
	_ signing.Provider            = (*Client)(nil)
	_ signing.BatchStarter        = (*Client)(nil)
	_ signing.CallbackParser      = (*Client)(nil)
	_ signing.BatchCallbackParser = (*Client)(nil)
	_ signing.Closer              = (*Client)(nil)
)

// Open parses a smartca: URI.
func Open(u *url.URL, env signing.Env) (*Client, error) {
	cfg, err := ParseURI(u, env)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// ParseURI reads a smartca: URI into a Config. Errors are KindBadRequest.
func ParseURI(u *url.URL, env signing.Env) (Config, error) {
	var cfg Config
	if env == nil {
		env = signing.OSEnv
	}
	if u.Scheme != Scheme {
		return cfg, badRequest(fmt.Sprintf("URI scheme %q is not %q", u.Scheme, Scheme), nil)
	}
	if u.Opaque == "" {
		return cfg, badRequest("smartca URI must carry the service URL after the colon (smartca:https://host/path?...)", nil)
	}
	cfg.BaseURL = u.Opaque
	q := u.Query()
	cfg.SPID, cfg.User, cfg.FileType = q.Get("sp-id"), q.Get("user"), q.Get("file-type")
	var err error
	if cfg.SPPassword, _, err = signing.Secret(q, env, "sp-password"); err != nil {
		return cfg, withProvider(err)
	}
	if cfg.CallbackSecret, _, err = signing.Secret(q, env, "callback-secret"); err != nil {
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
	if cfg.SPID == "" || cfg.SPPassword == "" {
		return nil, badRequest("sp-id and sp-password-env (or sp-password-file) are required", nil)
	}
	if cfg.FileType == "" {
		cfg.FileType = "pdf"
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, base: base.String(), certs: map[string]cachedCert{}}, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.cfg.HTTPClient.CloseIdleConnections()
	return nil
}

// Capabilities: asynchronous, polled or called back, batches, RSA keys.
func (c *Client) Capabilities() signing.Capabilities {
	return signing.Capabilities{
		Callback:       true,
		Batch:          true,
		MaxBatch:       MaxBatch,
		MaxDisplayText: maxDisplayText,
		Algorithms:     []signing.Algorithm{signing.RSAPKCS1v15},
		Hashes:         []crypto.Hash{crypto.SHA256},
	}
}

func (c *Client) userID(signerID string) string {
	if signerID != "" {
		return signerID
	}
	return c.cfg.User
}

// answer is the envelope of every SmartCA answer.
type answer struct {
	StatusCode int             `json:"status_code"`
	Message    string          `json:"message"`
	Data       json.RawMessage `json:"data"`
}

// call POSTs method with the service-provider credentials merged into
// body, retrying network and server errors with backoff (every call is
// idempotent: sign by its transaction_id), and decodes data into out.
func (c *Client) call(ctx context.Context, method string, body map[string]any, out any) error {
	body["sp_id"], body["sp_password"] = c.cfg.SPID, c.cfg.SPPassword
	raw, err := json.Marshal(body)
	if err != nil {
		return badRequest("encoding "+method, err)
	}
	delay := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, method, raw, out)
		if err == nil || !signing.IsRetryable(err) || signing.KindOf(err) == signing.KindBusy || attempt >= c.cfg.Retries {
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

func (c *Client) once(ctx context.Context, method string, raw []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+method, bytes.NewReader(raw))
	if err != nil {
		return badRequest("building request", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: method + ": service unreachable", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: method + ": reading the answer", Err: err}
	}
	var a answer
	if jerr := json.Unmarshal(data, &a); jerr != nil || a.StatusCode == 0 {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: method}
		}
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: method + ": not a SmartCA answer", Err: jerr}
	}
	if a.StatusCode != 200 {
		return &signing.Error{Kind: KindForCode(a.StatusCode), Provider: Scheme, Code: strconv.Itoa(a.StatusCode), Message: method + ": " + a.Message}
	}
	if out != nil {
		if err := json.Unmarshal(a.Data, out); err != nil {
			return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: method + ": malformed data", Err: err}
		}
	}
	return nil
}

// KindForCode maps a SmartCA status_code to a signing kind.
func KindForCode(code int) signing.Kind {
	switch code {
	case 400, 4003, 4004:
		return signing.KindBadRequest
	case 401, 403:
		return signing.KindUnauthorized
	case 4001, 4002:
		return signing.KindNoCertificate
	case 4005:
		return signing.KindBusy
	}
	if code >= 500 && code < 600 {
		return signing.KindUnavailable
	}
	return signing.KindBadRequest
}

// kindForTranStatus maps a final tran_status.
func kindForTranStatus(s string) signing.Kind {
	switch strings.ToUpper(s) {
	case "REJECTED":
		return signing.KindDeclined
	case "EXPIRED":
		return signing.KindExpired
	}
	return signing.KindUnavailable
}

// Certificates returns the user's valid certificate with its chain.
func (c *Client) Certificates(ctx context.Context, signerID string) ([]*x509.Certificate, error) {
	cc, err := c.certificate(ctx, c.userID(signerID), false)
	if err != nil {
		return nil, err
	}
	return append([]*x509.Certificate(nil), cc.chain...), nil
}

func (c *Client) certificate(ctx context.Context, user string, fresh bool) (cachedCert, error) {
	if user == "" {
		return cachedCert{}, badRequest("no user id: set user= in the URI or the signer's identity", nil)
	}
	c.mu.Lock()
	cc, ok := c.certs[user]
	c.mu.Unlock()
	if ok && !fresh && time.Since(cc.fetched) < certTTL {
		return cc, nil
	}
	var out struct {
		UserCertificates []struct {
			SerialNumber string   `json:"serial_number"`
			CertStatus   string   `json:"cert_status"`
			CertData     string   `json:"cert_data"`
			ChainData    []string `json:"chain_data"`
		} `json:"user_certificates"`
	}
	if err := c.call(ctx, "v1/credentials/get_certificate", map[string]any{"user_id": user}, &out); err != nil {
		return cachedCert{}, err
	}
	now := time.Now()
	for _, uc := range out.UserCertificates {
		if !validStatus(uc.CertStatus) {
			continue
		}
		leaf, err := parseCert(uc.CertData)
		if err != nil {
			return cachedCert{}, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "get_certificate: unreadable certificate", Err: err}
		}
		if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			continue
		}
		chain := []*x509.Certificate{leaf}
		for _, d := range uc.ChainData {
			ca, err := parseCert(d)
			if err != nil {
				return cachedCert{}, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "get_certificate: unreadable chain certificate", Err: err}
			}
			chain = append(chain, ca)
		}
		cc = cachedCert{chain: chain, serial: hex.EncodeToString(leaf.SerialNumber.Bytes()), fetched: now}
		c.mu.Lock()
		c.certs[user] = cc
		c.mu.Unlock()
		return cc, nil
	}
	return cachedCert{}, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: "user " + user + " has no valid certificate"}
}

func validStatus(s string) bool {
	switch strings.ToUpper(s) {
	case "VALID", "ACTIVE", "ĐANG HOẠT ĐỘNG", "1":
		return true
	}
	return false
}

func parseCert(b64 string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// txRef is what a transaction id carries.
type txRef struct {
	Transaction string `json:"t"`
	Doc         string `json:"d"`
	User        string `json:"u"`
	Serial      string `json:"s"`
	Digest      string `json:"g"` // hex
}

const txPrefix = "sca1."

func (r txRef) id() string {
	b, _ := json.Marshal(r) // plain strings; cannot fail
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
	if d, err := hex.DecodeString(r.Digest); err != nil || len(d) != sha256.Size || r.Transaction == "" || r.Doc == "" || r.User == "" || r.Serial == "" {
		return bad(errors.New("transaction id does not describe a request"))
	}
	return r, nil
}

// transactionID derives our SmartCA transaction_id from the idempotency
// keys, so that a retry is the same transaction; without keys it is random.
func transactionID(reqs []signing.Request) string {
	h := sha256.New()
	for _, r := range reqs {
		if r.IdempotencyKey == "" {
			var b [16]byte
			_, _ = rand.Read(b[:])
			return "vb-" + hex.EncodeToString(b[:])
		}
		fmt.Fprintf(h, "%d:%s\n", len(r.IdempotencyKey), r.IdempotencyKey)
	}
	return "vb-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// docID names a request's file within its transaction.
func docID(r signing.Request, i int) string {
	if r.IdempotencyKey != "" {
		return r.IdempotencyKey
	}
	return "doc-" + strconv.Itoa(i+1)
}

// Start sends one digest to the user's phone.
func (c *Client) Start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	ss, err := c.StartBatch(ctx, []signing.Request{req})
	if err != nil {
		return nil, err
	}
	return ss[0], nil
}

// StartBatch sends several digests of one user in one transaction, which
// the user confirms once on the phone. Errors: KindBadRequest (a malformed
// request, requests of different users, a transaction id reused over other
// data), KindNoCertificate, KindBusy, KindUnauthorized, KindUnavailable.
func (c *Client) StartBatch(ctx context.Context, reqs []signing.Request) ([]*signing.Session, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatch {
		return nil, badRequest(fmt.Sprintf("a batch has 1 to %d requests, not %d", MaxBatch, len(reqs)), nil)
	}
	user := c.userID(reqs[0].SignerID)
	docs := map[string]bool{}
	for i, r := range reqs {
		if err := signing.CheckRequest(Scheme, r); err != nil {
			return nil, err
		}
		if r.Hash != crypto.SHA256 {
			return nil, badRequest("SmartCA signs SHA-256 hashes, not "+r.Hash.String(), nil)
		}
		if r.Algorithm != signing.RSAPKCS1v15 {
			return nil, badRequest("SmartCA keys sign RSA PKCS#1 v1.5, not "+r.Algorithm.String(), nil)
		}
		if c.userID(r.SignerID) != user {
			return nil, badRequest("every request of a batch must name the same user", nil)
		}
		if d := docID(r, i); docs[d] {
			return nil, badRequest("idempotency key "+d+" appears twice in the batch", nil)
		} else {
			docs[d] = true
		}
	}
	cc, err := c.certificate(ctx, user, false)
	if err != nil {
		return nil, err
	}
	tid := transactionID(reqs)
	files := make([]map[string]string, len(reqs))
	for i, r := range reqs {
		files[i] = map[string]string{"data_to_be_signed": hex.EncodeToString(r.Digest), "doc_id": docID(r, i), "file_type": c.cfg.FileType, "sign_type": "hash"}
	}
	desc := reqs[0].DisplayText
	if len(reqs) > 1 {
		desc = fmt.Sprintf("%d văn bản: %s", len(reqs), desc)
	}
	var out struct {
		TransactionID string `json:"transaction_id"`
		TranCode      string `json:"tran_code"`
		ExpiredIn     int    `json:"expired_in"`
	}
	body := map[string]any{"user_id": user, "transaction_id": tid, "transaction_desc": truncate(desc, maxDisplayText),
		"serial_number": cc.serial, "time_stamp": time.Now().UTC().Format("20060102150405"), "sign_files": files}
	if err := c.call(ctx, "v1/signatures/sign", body, &out); err != nil {
		return nil, err
	}
	if out.TransactionID != "" && out.TransactionID != tid {
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "sign answered for transaction " + out.TransactionID}
	}
	life := time.Duration(out.ExpiredIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	if reqs[0].Timeout > 0 && reqs[0].Timeout < life {
		life = reqs[0].Timeout
	}
	exp := time.Now().Add(life)
	ss := make([]*signing.Session, len(reqs))
	for i, r := range reqs {
		ref := txRef{Transaction: tid, Doc: docID(r, i), User: user, Serial: cc.serial, Digest: hex.EncodeToString(r.Digest)}
		ss[i] = &signing.Session{TxID: ref.id(), VerificationCode: out.TranCode, ExpiresAt: exp, PollInterval: c.cfg.PollInterval}
	}
	return ss, nil
}

// signatureFile is one signature in a status answer or callback.
type signatureFile struct {
	DocID          string `json:"doc_id"`
	DataToBeSigned string `json:"data_to_be_signed"`
	SignatureValue string `json:"signature_value"`
}

// Poll asks for the transaction's status and returns this document's
// outcome, its signature verified.
func (c *Client) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	ref, err := parseTxID(txID)
	if err != nil {
		return nil, err
	}
	var out struct {
		TranStatus string          `json:"tran_status"`
		Message    string          `json:"message"`
		Signatures []signatureFile `json:"signatures"`
	}
	if err := c.call(ctx, "v1/signatures/sign/"+url.PathEscape(ref.Transaction)+"/status", map[string]any{}, &out); err != nil {
		return nil, err
	}
	return c.outcome(ctx, ref, txID, out.TranStatus, out.Message, out.Signatures), nil
}

// outcome turns a transaction's status into this document's result.
func (c *Client) outcome(ctx context.Context, ref txRef, txID, status, msg string, sigs []signatureFile) *signing.Result {
	fail := func(kind signing.Kind, code, m string) *signing.Result {
		return &signing.Result{TxID: txID, Status: signing.StatusFailed, Err: &signing.Error{Kind: kind, Provider: Scheme, Code: code, Message: m}}
	}
	switch strings.ToUpper(status) {
	case "WAITING", "PENDING", "":
		return &signing.Result{TxID: txID, Status: signing.StatusPending}
	case "SUCCESS", "SIGNED":
	default:
		if msg == "" {
			msg = "transaction " + strings.ToLower(status)
		}
		return fail(kindForTranStatus(status), status, msg)
	}
	for _, s := range sigs {
		if s.DocID != ref.Doc {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(s.SignatureValue)
		if err != nil {
			return fail(signing.KindBadSignature, "", "signature_value is not Base64")
		}
		cc, err := c.certificate(ctx, ref.User, false)
		if err == nil && cc.serial != ref.Serial {
			cc, err = c.certificate(ctx, ref.User, true)
		}
		if err != nil || cc.serial != ref.Serial {
			return fail(signing.KindBadSignature, "", "the certificate the digest was made for (serial "+ref.Serial+") is no longer the user's")
		}
		digest, _ := hex.DecodeString(ref.Digest)
		if err := signing.VerifySignature(cc.chain[0], crypto.SHA256, signing.RSAPKCS1v15, digest, sig); err != nil {
			return &signing.Result{TxID: txID, Status: signing.StatusFailed, Err: &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme,
				Message: "SmartCA returned a signature that does not verify against the user's certificate and our digest", Err: err}}
		}
		return &signing.Result{TxID: txID, Status: signing.StatusSigned, Signature: sig, Certificates: cc.chain}
	}
	return fail(signing.KindBadSignature, "", "the signed transaction carries no signature for document "+ref.Doc)
}

// ParseCallback authenticates a SmartCA callback and returns the outcome of
// its first document; ParseBatchCallback returns every document's.
func (c *Client) ParseCallback(r *http.Request) (*signing.Result, error) {
	rs, err := c.ParseBatchCallback(r)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// ParseBatchCallback checks the callback's HMAC and time, then maps each
// signature to its transaction id (built from the callback's fields, as
// Start built it) with the signature verified. A failed transaction
// yields one result per document it names, or one without a document id
// when it names none (which matches no session). Errors: KindUnauthorized
// for a missing, stale or wrong signature header; KindBadRequest for a
// malformed body.
func (c *Client) ParseBatchCallback(r *http.Request) ([]*signing.Result, error) {
	if c.cfg.CallbackSecret == "" {
		return nil, &signing.Error{Kind: signing.KindUnauthorized, Provider: Scheme, Message: "callbacks are not configured (callback-secret-env)"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20+1))
	if err != nil || len(body) > 8<<20 {
		return nil, badRequest("unreadable or oversized callback body", err)
	}
	if err := verifyCallback(c.cfg.CallbackSecret, r.Header.Get(SignatureHeader), body, c.cfg.Now()); err != nil {
		return nil, err
	}
	var cb struct {
		TransactionID string          `json:"transaction_id"`
		TranStatus    string          `json:"tran_status"`
		Message       string          `json:"message"`
		UserID        string          `json:"user_id"`
		SerialNumber  string          `json:"serial_number"`
		Signatures    []signatureFile `json:"signatures"`
	}
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, badRequest("malformed callback JSON", err)
	}
	if cb.TransactionID == "" || cb.UserID == "" {
		return nil, badRequest("the callback names no transaction or user", nil)
	}
	ctx := r.Context()
	var out []*signing.Result
	for _, s := range cb.Signatures {
		d, err := hex.DecodeString(s.DataToBeSigned)
		if err != nil || len(d) != sha256.Size || s.DocID == "" {
			return nil, badRequest("a callback signature lacks its doc_id or data_to_be_signed", err)
		}
		ref := txRef{Transaction: cb.TransactionID, Doc: s.DocID, User: cb.UserID, Serial: cb.SerialNumber, Digest: hex.EncodeToString(d)}
		out = append(out, c.outcome(ctx, ref, ref.id(), cb.TranStatus, cb.Message, cb.Signatures))
	}
	if len(out) == 0 {
		if strings.EqualFold(cb.TranStatus, "SUCCESS") {
			return nil, badRequest("a successful callback without signatures", nil)
		}
		// A failure names no documents; polling will find it.
		out = append(out, &signing.Result{TxID: txPrefix + "unmatched." + cb.TransactionID, Status: signing.StatusFailed,
			Err: &signing.Error{Kind: kindForTranStatus(cb.TranStatus), Provider: Scheme, Code: cb.TranStatus, Message: cb.Message}})
	}
	return out, nil
}

// verifyCallback checks a "t=UNIX,v1=HEX" header against body.
func verifyCallback(secret, header string, body []byte, now time.Time) error {
	unauthorized := func(msg string) error {
		return &signing.Error{Kind: signing.KindUnauthorized, Provider: Scheme, Message: "callback: " + msg}
	}
	var ts, mac string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			mac = v
		}
	}
	if ts == "" || mac == "" {
		return unauthorized("no " + SignatureHeader + " header")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return unauthorized("malformed time")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > callbackSkew || d < -callbackSkew {
		return unauthorized("stale time (a replay?)")
	}
	want := hmac.New(sha256.New, []byte(secret))
	want.Write([]byte(ts + "."))
	want.Write(body)
	got, err := hex.DecodeString(mac)
	if err != nil || !hmac.Equal(got, want.Sum(nil)) {
		return unauthorized("signature does not match")
	}
	return nil
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

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
