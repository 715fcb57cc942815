package etsi204

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"vanban/signing"
	"vanban/signing/etsi204/wire"
)

// Client is the ETSI TS 102 204 provider.
type Client struct {
	cfg     Config
	hc      *http.Client
	lookup  CertLookup
	breaker *breaker

	// bg bounds the background calls of sync mode; Close cancels it.
	bg     context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed bool

	mu sync.Mutex
	// notify is told of each sync-mode outcome (NotifyOutcomes).
	notify func(txID string)
	txs    map[string]*transaction // by TxID
	keys   map[string]*transaction // by idempotency key (AP_TransID)
	certs  map[string]pinnedChain  // by MSISDN
}

type pinnedChain struct {
	chain   []*x509.Certificate
	expires time.Time
}

// transaction is what the client remembers of a started request.
type transaction struct {
	// ready is closed once Start finished (successfully or not), so that a
	// concurrent Start with the same idempotency key waits for it.
	ready    chan struct{}
	startErr error
	session  signing.Session

	apTransID string
	msisdn    string
	req       signing.Request
	cert      *x509.Certificate

	// done is closed when result is final; result is guarded by Client.mu.
	done   chan struct{}
	result *signing.Result
}

var (
	_ signing.Provider        = (*Client)(nil)
	_ signing.OutcomeNotifier = (*Client)(nil)
	_ signing.Closer          = (*Client)(nil)
)

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.TLS != nil {
			tr.TLSClientConfig = cfg.TLS.Clone()
		}
		// Many sync-mode calls to one MSSP wait at once.
		tr.MaxIdleConnsPerHost = 32
		hc = &http.Client{Transport: tr}
	}
	lookup := cfg.Lookup
	if lookup == nil && cfg.CertLookupURL != "" {
		lookup = &HTTPLookup{URL: cfg.CertLookupURL, APID: cfg.APID, APPassword: cfg.APPassword, Client: hc}
	}
	bg, stop := context.WithCancel(context.Background())
	return &Client{
		cfg: cfg, hc: hc, lookup: lookup, bg: bg, stop: stop,
		breaker: &breaker{threshold: cfg.BreakerThreshold, cooldown: cfg.BreakerCooldown},
		txs:     map[string]*transaction{}, keys: map[string]*transaction{}, certs: map[string]pinnedChain{},
	}, nil
}

// Close stops background sync-mode calls and waits for them.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.wg.Wait()
	return nil
}

// Capabilities reports what this client does.
func (c *Client) Capabilities() signing.Capabilities {
	return signing.Capabilities{
		// Sync mode's Poll blocks on the background call's outcome.
		LongPoll:         c.cfg.Mode == ModeSync,
		VerificationCode: true,
		MaxDisplayText:   c.cfg.MaxDisplayText,
		Algorithms:       []signing.Algorithm{signing.RSAPKCS1v15, signing.ECDSA},
		Hashes:           slices.Clone(acceptedHashes),
	}
}

func (c *Client) signer(id string) (string, error) {
	if id == "" {
		id = c.cfg.MSISDN
	}
	if id == "" {
		return "", badConfig("no phone number: set msisdn= in the URI or Request.SignerID")
	}
	if err := checkMSISDN(id); err != nil {
		return "", err
	}
	n := normMSISDN(id, c.cfg.CountryCode)
	if err := checkMSISDN(n); err != nil {
		return "", err
	}
	return n, nil
}

// Certificates looks up the chain of signerID (a phone number) and pins it:
// Start verifies signatures against this leaf for CertCacheTTL.
func (c *Client) Certificates(ctx context.Context, signerID string) ([]*x509.Certificate, error) {
	msisdn, err := c.signer(signerID)
	if err != nil {
		return nil, err
	}
	chain, err := c.fetchChain(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.certs[msisdn] = pinnedChain{chain: chain, expires: time.Now().Add(c.cfg.CertCacheTTL)}
	c.mu.Unlock()
	return slices.Clone(chain), nil
}

func (c *Client) fetchChain(ctx context.Context, msisdn string) ([]*x509.Certificate, error) {
	if c.lookup == nil {
		return nil, badConfig("no certificate lookup configured (cert-lookup=)")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	chain, err := c.lookup.Lookup(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: "no certificate for " + msisdn}
	}
	now := time.Now()
	if now.Before(chain[0].NotBefore) || now.After(chain[0].NotAfter) {
		return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: "certificate of " + msisdn + " is not valid now"}
	}
	return chain, nil
}

// pinned returns the leaf pinned for msisdn, looking it up if needed.
func (c *Client) pinned(ctx context.Context, msisdn string) (*x509.Certificate, error) {
	c.mu.Lock()
	p, ok := c.certs[msisdn]
	c.mu.Unlock()
	if ok && time.Now().Before(p.expires) {
		return p.chain[0], nil
	}
	chain, err := c.Certificates(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	return chain[0], nil
}

// Start sends MSS_SignatureReq. In async mode it returns once the MSSP
// acknowledged; in sync mode it returns at once and the call continues in
// the background. Starting again with the same IdempotencyKey returns the
// first session without a second request.
func (c *Client) Start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	if req.IdempotencyKey == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		req.IdempotencyKey = "VB" + hex.EncodeToString(b[:])
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "client closed"}
	}
	if prev, ok := c.keys[req.IdempotencyKey]; ok {
		c.mu.Unlock()
		select {
		case <-prev.ready:
		case <-ctx.Done():
			return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "start interrupted", Err: ctx.Err()}
		}
		if prev.startErr == nil && !bytes.Equal(prev.req.Digest, req.Digest) {
			return nil, badConfig("idempotency key %s was already used for another digest", req.IdempotencyKey)
		}
		c.mu.Lock()
		retry := prev.startErr != nil ||
			(prev.result != nil && prev.result.Status == signing.StatusFailed && prev.result.Err.Retryable())
		if !retry {
			c.mu.Unlock()
			s := prev.session
			return &s, nil
		}
		// The previous attempt failed in a way a retry may cure (the phone
		// was out of reach, the MSSP down): send the request again under
		// the same AP_TransID.
		if c.keys[req.IdempotencyKey] == prev {
			delete(c.keys, req.IdempotencyKey)
		}
		if c.txs[prev.session.TxID] == prev {
			delete(c.txs, prev.session.TxID)
		}
	}
	c.sweepLocked()
	tx := &transaction{ready: make(chan struct{}), done: make(chan struct{}), apTransID: req.IdempotencyKey}
	c.keys[req.IdempotencyKey] = tx
	c.mu.Unlock()

	err := c.start(ctx, tx, req)
	c.mu.Lock()
	tx.startErr = err
	if err != nil {
		if c.keys[req.IdempotencyKey] == tx {
			delete(c.keys, req.IdempotencyKey)
		}
	} else {
		c.txs[tx.session.TxID] = tx
	}
	c.mu.Unlock()
	close(tx.ready)
	if err != nil {
		return nil, err
	}
	s := tx.session
	return &s, nil
}

// sweepLocked forgets transactions long past their expiry.
func (c *Client) sweepLocked() {
	cutoff := time.Now().Add(-time.Hour)
	for id, tx := range c.txs {
		if tx.session.ExpiresAt.Before(cutoff) {
			delete(c.txs, id)
			if c.keys[tx.apTransID] == tx {
				delete(c.keys, tx.apTransID)
			}
		}
	}
}

func (c *Client) start(ctx context.Context, tx *transaction, req signing.Request) error {
	if err := signing.CheckRequest(Scheme, req); err != nil {
		return err
	}
	if !slices.Contains(acceptedHashes, req.Hash) {
		return badConfig("hash %v not accepted (want SHA-256, SHA-384 or SHA-512)", req.Hash)
	}
	if req.Algorithm == signing.RSAPSS {
		return badConfig("SIMs sign RSA PKCS#1 v1.5, not PSS")
	}
	if n := utf8.RuneCountInString(req.DisplayText); n > c.cfg.MaxDisplayText {
		return badConfig("display text has %d characters, the phone shows at most %d", n, c.cfg.MaxDisplayText)
	}
	msisdn, err := c.signer(req.SignerID)
	if err != nil {
		return err
	}
	cert, err := c.pinned(ctx, msisdn)
	if err != nil {
		return err
	}
	if alg, err := signing.AlgorithmFor(cert); err != nil || alg != req.Algorithm {
		return badConfig("request asks for %v but the certificate of %s holds a %v key", req.Algorithm, msisdn, cert.PublicKeyAlgorithm)
	}
	dtbs, err := c.dataToBeSigned(req)
	if err != nil {
		return err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = c.cfg.Timeout
	}
	secs := int((timeout + time.Second - 1) / time.Second)
	tx.msisdn, tx.req, tx.cert = msisdn, req, cert
	tx.req.Digest = slices.Clone(req.Digest)

	mode := wire.ModeAsynchClientServer
	if c.cfg.Mode == ModeSync {
		mode = wire.ModeSynch
	}
	sreq := wire.SignatureReq{
		MajorVersion: "1", MinorVersion: "1", MessagingMode: mode, TimeOut: strconv.Itoa(secs),
		APInfo:         c.apInfo(tx.apTransID),
		MSSPInfo:       wire.MSSPInfo{MSSPID: wire.MSSPID{URI: c.cfg.MSSPID}},
		MobileUser:     wire.MobileUser{MSISDN: msisdn},
		DataToBeSigned: wire.Data{MimeType: "application/octet-stream", Encoding: "base64", Value: base64.StdEncoding.EncodeToString(dtbs)},
		MSSFormat:      &wire.MssURI{URI: c.cfg.FormatURI},
	}
	if req.DisplayText != "" {
		sreq.DataToBeDisplayed = &wire.Data{MimeType: "text/plain", Encoding: "UTF-8", Value: req.DisplayText}
	}
	if c.cfg.SignatureProfile != "" {
		sreq.SignatureProfile = &wire.MssURI{URI: c.cfg.SignatureProfile}
	}
	now := time.Now()
	tx.session = signing.Session{
		VerificationCode: wire.VerificationCode(req.Digest),
		ExpiresAt:        now.Add(time.Duration(secs) * time.Second),
		PollInterval:     c.cfg.PollInterval,
	}

	if c.cfg.Mode == ModeSync {
		tx.session.TxID = encodeTxID(txSync, tx.apTransID, msisdn, req)
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "client closed"}
		}
		c.wg.Add(1)
		c.mu.Unlock()
		// The call outlives Start's context: it ends with the signer's
		// answer, the MSSP's timeout (plus a margin) or Close.
		callCtx, cancel := context.WithTimeout(c.bg, time.Duration(secs)*time.Second+30*time.Second)
		go func() {
			defer c.wg.Done()
			defer cancel()
			var resp wire.SignatureResp
			err := c.call(callCtx, wire.ActionSignature, "MSS_Signature", &sreq, "MSS_SignatureResp", &resp, 0)
			c.finish(tx, c.outcome(tx, err, resp.Status, resp.MSSSignature))
			c.mu.Lock()
			notify := c.notify
			c.mu.Unlock()
			if notify != nil {
				notify(tx.session.TxID)
			}
		}()
		return nil
	}

	var resp wire.SignatureResp
	if err := c.call(ctx, wire.ActionSignature, "MSS_Signature", &sreq, "MSS_SignatureResp", &resp, c.cfg.RequestTimeout); err != nil {
		return err
	}
	code := resp.Status.StatusCode.Value
	switch code {
	case wire.StatusRequestOK, wire.StatusOutstandingTransaction, wire.StatusSignature, wire.StatusValidSignature:
	default:
		return statusError(resp.Status)
	}
	if resp.MSSPTransID == "" {
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "MSSP acknowledged without an MSSP_TransID"}
	}
	tx.session.TxID = encodeTxID(txAsync, resp.MSSPTransID, msisdn, req)
	if code == wire.StatusSignature || code == wire.StatusValidSignature {
		// An MSSP may answer at once even when asked to be asynchronous.
		c.finish(tx, c.outcome(tx, nil, resp.Status, resp.MSSSignature))
	}
	return nil
}

func (c *Client) apInfo(apTransID string) wire.APInfo {
	return wire.APInfo{APID: c.cfg.APID, APTransID: apTransID, APPWD: c.cfg.APPassword, Instant: wire.Instant(time.Now())}
}

func (c *Client) dataToBeSigned(req signing.Request) ([]byte, error) {
	mode := c.cfg.DTBS
	if mode == DTBSAuto {
		mode = DTBSDigest
		if req.Algorithm == signing.RSAPKCS1v15 {
			mode = DTBSDigestInfo
		}
	}
	if mode == DTBSDigest {
		return slices.Clone(req.Digest), nil
	}
	di, err := wire.DigestInfo(req.Hash, req.Digest)
	if err != nil {
		return nil, badConfig("%v", err)
	}
	return di, nil
}

// outcome turns an MSSP answer into a final Result, verifying the signature.
func (c *Client) outcome(tx *transaction, err error, st wire.Status, sig *wire.Signature) *signing.Result {
	res := &signing.Result{TxID: tx.session.TxID, Status: signing.StatusFailed}
	if err != nil {
		res.Err = asSigningError(err)
		return res
	}
	switch st.StatusCode.Value {
	case wire.StatusSignature, wire.StatusValidSignature:
	default:
		res.Err = asSigningError(statusError(st))
		return res
	}
	if sig == nil || strings.TrimSpace(sig.Base64Signature) == "" {
		res.Err = &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Code: strconv.Itoa(st.StatusCode.Value), Message: "MSSP reported a signature but sent none"}
		return res
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sig.Base64Signature), ""))
	if err != nil {
		res.Err = &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "signature is not base64", Err: err}
		return res
	}
	var certs []*x509.Certificate
	if c.cfg.Format == FormatCMS {
		raw, certs, err = parseCMSSignature(raw)
		if err != nil {
			res.Err = &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "unusable CMS signature", Err: err}
			return res
		}
	}
	if err := signing.VerifySignature(tx.cert, tx.req.Hash, tx.req.Algorithm, tx.req.Digest, raw); err != nil {
		e := asSigningError(err)
		e.Provider = Scheme
		res.Err = e
		return res
	}
	if pub, ok := tx.cert.PublicKey.(*ecdsa.PublicKey); ok {
		// Callers embed DER; a SIM may have returned raw r||s.
		der, err := signing.ECDSAToDER(raw, pub)
		if err != nil {
			res.Err = &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "ECDSA signature encoding", Err: err}
			return res
		}
		raw = der
	}
	res.Status = signing.StatusSigned
	res.Signature = raw
	res.Certificates = certs
	return res
}

// NotifyOutcomes implements signing.OutcomeNotifier: fn learns of every
// synchronous call's answer as it arrives, so the caller need not wait for
// its next poll. Async mode has nothing to tell: its outcomes come from
// polls.
func (c *Client) NotifyOutcomes(fn func(txID string)) {
	c.mu.Lock()
	c.notify = fn
	c.mu.Unlock()
}

// finish records a final result once; later outcomes are ignored, so a
// poll racing the background call cannot overwrite the first answer.
func (c *Client) finish(tx *transaction, res *signing.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tx.result != nil {
		return
	}
	tx.result = res
	close(tx.done)
}

// Poll returns the outcome of txID. In sync mode it waits up to wait for the
// background call; in async mode it sends one MSS_StatusReq.
func (c *Client) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	c.mu.Lock()
	tx, ok := c.txs[txID]
	c.mu.Unlock()
	if !ok {
		return c.pollUnknown(ctx, txID)
	}
	if r := c.final(tx); r != nil {
		return r, nil
	}
	if strings.HasPrefix(txID, txSync) {
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-tx.done:
			case <-t.C:
			case <-ctx.Done():
				return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "poll interrupted", Err: ctx.Err()}
			}
		}
		if r := c.final(tx); r != nil {
			return r, nil
		}
		return &signing.Result{TxID: txID, Status: signing.StatusPending}, nil
	}
	mssp, _, _, err := decodeTxID(txID)
	if err != nil {
		return nil, err
	}
	return c.pollAsync(ctx, tx, mssp)
}

func (c *Client) final(tx *transaction) *signing.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tx.result == nil {
		return nil
	}
	r := *tx.result
	return &r
}

// pollUnknown handles a TxID this process did not start: after a restart an
// async request is rebuilt from its TxID; a sync call died with the process.
func (c *Client) pollUnknown(ctx context.Context, txID string) (*signing.Result, error) {
	id, msisdn, req, err := decodeTxID(txID)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(txID, txSync) {
		return &signing.Result{TxID: txID, Status: signing.StatusFailed, Err: &signing.Error{
			Kind: signing.KindUnavailable, Provider: Scheme,
			Message: "the synchronous request was lost with the process that started it; start it again with the same idempotency key",
		}}, nil
	}
	cert, err := c.pinned(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	tx := &transaction{ready: make(chan struct{}), done: make(chan struct{}), msisdn: msisdn, req: req, cert: cert}
	close(tx.ready)
	tx.session.TxID = txID
	c.mu.Lock()
	if prev, ok := c.txs[txID]; ok {
		tx = prev
	} else {
		c.txs[txID] = tx
	}
	c.mu.Unlock()
	if r := c.final(tx); r != nil {
		return r, nil
	}
	return c.pollAsync(ctx, tx, id)
}

func (c *Client) pollAsync(ctx context.Context, tx *transaction, msspTransID string) (*signing.Result, error) {
	sreq := wire.StatusReq{
		MajorVersion: "1", MinorVersion: "1", MSSPTransID: msspTransID,
		APInfo:   c.apInfo(tx.apTransID),
		MSSPInfo: wire.MSSPInfo{MSSPID: wire.MSSPID{URI: c.cfg.MSSPID}},
	}
	if sreq.APInfo.APTransID == "" {
		// After a restart our AP_TransID is unknown; a status request gets
		// a fresh one, as each AP message is its own transaction.
		sreq.APInfo.APTransID = "VBS" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	var resp wire.StatusResp
	err := c.call(ctx, wire.ActionStatusQuery, "MSS_StatusQuery", &sreq, "MSS_StatusResp", &resp, c.cfg.RequestTimeout)
	if err != nil {
		e := asSigningError(err)
		if requestOutcome(e) {
			res := &signing.Result{TxID: tx.session.TxID, Status: signing.StatusFailed, Err: e}
			c.finish(tx, res)
			return c.final(tx), nil
		}
		// Our misconfiguration, an MSSP failure or the network: the poll
		// failed, the request may still be alive.
		return nil, e
	}
	if resp.Status.StatusCode.Value == wire.StatusOutstandingTransaction {
		return &signing.Result{TxID: tx.session.TxID, Status: signing.StatusPending}, nil
	}
	res := c.outcome(tx, nil, resp.Status, resp.MSSSignature)
	if res.Status == signing.StatusFailed && !requestOutcome(res.Err) {
		return nil, res.Err
	}
	c.finish(tx, res)
	return c.final(tx), nil
}

// requestOutcome tells whether an error ends the request itself (the signer
// declined, the SIM is blocked...) rather than only the exchange that
// reported it.
func requestOutcome(e *signing.Error) bool {
	switch e.Kind {
	case signing.KindDeclined, signing.KindExpired, signing.KindUnreachable, signing.KindPINBlocked,
		signing.KindNoCertificate, signing.KindBusy, signing.KindBadSignature:
		return true
	}
	return false
}

// call sends one SOAP request and decodes the response element named
// respName into resp, retrying transient failures with backoff. timeout
// bounds each attempt; zero leaves it to ctx.
func (c *Client) call(ctx context.Context, action, wrapper string, body any, respName string, resp any, timeout time.Duration) error {
	payload, err := wire.Envelope(c.cfg.SOAP, wrapper, body)
	if err != nil {
		return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "encoding request", Err: err}
	}
	delay := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		if err := c.breaker.allow(); err != nil {
			return err
		}
		err = c.exchange(ctx, action, payload, respName, resp, timeout)
		if ctx.Err() == nil {
			// Our own cancellation says nothing about the MSSP.
			c.breaker.record(err)
		}
		if err == nil || signing.KindOf(err) != signing.KindUnavailable || attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay *= 2
	}
}

// maxErrorBody bounds how much of a non-SOAP error body we keep for the log.
const maxErrorBody = 200

func (c *Client) exchange(ctx context.Context, action string, payload []byte, respName string, resp any, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Endpoint, bytes.NewReader(payload))
	if err != nil {
		return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "building request", Err: err}
	}
	hreq.Header.Set("Content-Type", c.cfg.SOAP.ContentType(action))
	if c.cfg.SOAP == wire.SOAP11 {
		hreq.Header.Set("SOAPAction", `"`+action+`"`)
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return transportError("MSSP request", err)
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hresp.Body, wire.MaxMessageSize))
	if err != nil {
		return transportError("reading MSSP response", err)
	}
	_, _, derr := wire.Decode(bytes.NewReader(body), map[string]any{respName: resp})
	var fault *wire.Fault
	switch {
	case errors.As(derr, &fault):
		return faultError(fault)
	case derr == nil && hresp.StatusCode < 300:
		return nil
	}
	// Not a usable SOAP answer: judge by the HTTP status.
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > maxErrorBody {
		snippet = snippet[:maxErrorBody]
	}
	code := strconv.Itoa(hresp.StatusCode)
	switch {
	case hresp.StatusCode == http.StatusUnauthorized || hresp.StatusCode == http.StatusForbidden:
		return &signing.Error{Kind: signing.KindUnauthorized, Provider: Scheme, Code: "HTTP " + code, Message: "MSSP refused the application provider: " + snippet}
	case hresp.StatusCode >= 500 || hresp.StatusCode == http.StatusTooManyRequests:
		return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Code: "HTTP " + code, Message: "MSSP failed: " + snippet}
	case hresp.StatusCode >= 300:
		return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Code: "HTTP " + code, Message: "MSSP rejected the request: " + snippet}
	}
	return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "malformed MSSP response", Err: derr}
}

// transportError classifies a failed HTTP exchange. A TLS refusal in either
// direction (the MSSP rejected our client certificate, or we do not trust
// its certificate) is an authentication problem that retrying will not fix;
// an endpoint that does not speak TLS is our misconfiguration; the rest
// (refused connections, timeouts, resets) is the provider being down.
func transportError(what string, err error) error {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var ierr x509.CertificateInvalidError
	var rerr tls.RecordHeaderError
	var oerr *net.OpError
	switch {
	case errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &ierr):
		return &signing.Error{Kind: signing.KindUnauthorized, Provider: Scheme, Message: what + ": the MSSP's TLS certificate is not trusted", Err: err}
	case errors.As(err, &oerr) && oerr.Op == "remote error":
		// crypto/tls reports a TLS alert from the peer this way: the MSSP
		// refused the handshake, in practice our client certificate.
		return &signing.Error{Kind: signing.KindUnauthorized, Provider: Scheme, Message: what + ": the MSSP refused our TLS client certificate", Err: err}
	case errors.As(err, &rerr) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http replaces the tls.RecordHeaderError by that message
		// when the answer looks like plain HTTP.
		return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: what + ": the endpoint does not speak TLS", Err: err}
	}
	var nerr net.Error
	msg := what + ": MSSP unreachable"
	if errors.As(err, &nerr) && nerr.Timeout() {
		msg = what + ": MSSP did not answer in time"
	}
	return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: msg, Err: err}
}

// KindForStatus maps an ETSI TS 102 204 status or fault code to a signing
// kind, following the failure table in the operator notes.
func KindForStatus(code int) signing.Kind {
	switch code {
	case wire.StatusUserCancel:
		return signing.KindDeclined
	case wire.StatusExpiredTransaction:
		return signing.KindExpired
	case wire.StatusOTAError:
		return signing.KindUnreachable
	case wire.StatusPINNrBlocked, wire.StatusCardBlocked:
		return signing.KindPINBlocked
	case wire.StatusUnknownClient, wire.StatusNoKeyFound, wire.StatusNoCertFound, wire.StatusRevokedCertificate:
		return signing.KindNoCertificate
	case wire.StatusInvalidSignature:
		return signing.KindBadSignature
	case wire.StatusPBSignatureProcess:
		return signing.KindBusy
	case wire.StatusUnauthorizedAccess:
		return signing.KindUnauthorized
	case wire.StatusWrongParam, wire.StatusMissingParam, wire.StatusWrongDataLength,
		wire.StatusInappropriateData, wire.StatusIncompatibleInterface, wire.StatusUnsupportedProfile:
		return signing.KindBadRequest
	}
	// 900 INTERNAL_ERROR and anything the standard does not define.
	return signing.KindUnavailable
}

func faultError(f *wire.Fault) error {
	if f.Subcode == 0 {
		kind := signing.KindUnavailable
		if f.Code == "Sender" || f.Code == "Client" {
			kind = signing.KindBadRequest
		}
		return &signing.Error{Kind: kind, Provider: Scheme, Code: f.Code, Message: strings.TrimSpace(f.Reason + " " + f.Detail)}
	}
	msg := wire.StatusMessage(f.Subcode)
	if f.Detail != "" {
		msg += ": " + f.Detail
	}
	return &signing.Error{Kind: KindForStatus(f.Subcode), Provider: Scheme, Code: "_" + strconv.Itoa(f.Subcode), Message: msg}
}

func statusError(st wire.Status) error {
	msg := st.StatusMessage
	if msg == "" {
		msg = wire.StatusMessage(st.StatusCode.Value)
	}
	if st.StatusDetail != "" {
		msg += ": " + st.StatusDetail
	}
	return &signing.Error{Kind: KindForStatus(st.StatusCode.Value), Provider: Scheme, Code: strconv.Itoa(st.StatusCode.Value), Message: msg}
}

func asSigningError(err error) *signing.Error {
	var e *signing.Error
	if errors.As(err, &e) {
		return e
	}
	return &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: fmt.Sprint(err), Err: err}
}
