package mssp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"vanban/signing/etsi204/wire"
)

// KeyType chooses a phone's SIM key.
type KeyType int

const (
	// KeyAuto: RSA-2048 for numbers ending in an even digit, P-256 for odd.
	KeyAuto KeyType = iota
	KeyRSA
	KeyEC
)

// PhoneConfig overrides the defaults of one phone number.
type PhoneConfig struct {
	// PIN defaults to Options.DefaultPIN.
	PIN string
	// Name is the certificate's common name; default "Thuê bao <msisdn>".
	Name string
	Key  KeyType
}

// Options configure a Server. The zero value is a working simulator on
// plain HTTP that accepts any application provider.
type Options struct {
	// SOAPPath is where MSS_SignatureReq and MSS_StatusReq are served;
	// default "/soap".
	SOAPPath string
	// CertPath serves the certificate lookup (see etsi204.HTTPLookup);
	// default "/certificates".
	CertPath string
	// PhonePath prefixes the virtual phone pages; default "/phone/".
	PhonePath string
	// MSSPID is our MSSP_ID URI; requests naming another MSSP are refused
	// with 101. Default "http://mssp.vanban.invalid/".
	MSSPID string
	// APs maps AP_ID to AP_PWD. Nil accepts any AP_ID and password.
	APs map[string]string
	// RequireClientCert refuses SOAP and lookup calls that did not present
	// a client certificate verified against ClientCAs (use TLSConfig).
	// The phone pages stay open to browsers without one.
	RequireClientCert bool
	ClientCAs         *x509.CertPool
	// Issuer issues SIM keys; nil uses an in-memory development CA.
	Issuer IssuerFunc
	// KeyDir, if set, keeps each SIM's key and chain in KeyDir/<msisdn>.pem
	// so that phones keep their certificates across restarts. A file whose
	// certificate expired or whose key type no longer fits is replaced.
	KeyDir string
	// Phones configures individual numbers; others get the defaults.
	Phones map[string]PhoneConfig
	// DefaultPIN is the PIN of unconfigured phones; default "1234".
	DefaultPIN string
	// AutoApprove signs every request to an ordinary number after Latency,
	// without anyone at the phone (load tests).
	AutoApprove bool
	// Latency is how long the simulated signer takes to answer on
	// scenario numbers and in auto-approve mode.
	Latency time.Duration
	// ResponseDelay holds every SOAP and lookup answer back this long, to
	// simulate a slow MSSP or network.
	ResponseDelay time.Duration
	// MaxTimeout caps the TimeOut a request may ask for, and is used when
	// it asks for none; default 300 s.
	MaxTimeout time.Duration
	// Retention is how long a finished transaction can still be queried
	// (and a retry with its AP_TransID recognised); default 5 min.
	Retention time.Duration
	// Logger receives one line per transaction outcome; nil discards.
	Logger *slog.Logger
}

// Server is the MSSP simulator. It implements http.Handler.
type Server struct {
	opts Options
	mux  *http.ServeMux
	ca   *x509.Certificate // the in-memory CA; nil with an external Issuer
	log  *slog.Logger

	rogueMu sync.Mutex
	rogue   map[bool]crypto.Signer // "wrong key" scenario keys, by ec

	// linkKey keys the per-request secrets of the phone links (PhoneKey).
	linkKey []byte

	mu      sync.Mutex
	closed  bool
	phones  map[string]*phone
	byID    map[string]*transaction // by MSSP_TransID
	byAPTx  map[string]*transaction // by AP_ID + "\x00" + AP_TransID
	counter uint64
	// finished holds final transactions in the order they ended, so that
	// forgetting them after Retention costs O(1) per transaction even under
	// an auto-approve load test.
	finished []*transaction
}

type phone struct {
	msisdn   string
	cfg      PhoneConfig
	scenario Scenario

	keyOnce sync.Once
	key     crypto.Signer
	chain   []*x509.Certificate
	keyErr  error

	// Guarded by Server.mu.
	wrongPINs int
	blocked   bool
	pending   *transaction
}

type transaction struct {
	id        string
	apID      string
	apTransID string
	msisdn    string
	dtbs      []byte
	digest    []byte // what the verification code is computed from
	display   string
	cms       bool
	created   time.Time
	expires   time.Time
	ended     time.Time

	// Guarded by Server.mu; status is 504 while pending.
	status int
	detail string
	sig    []byte // Base64Signature content (raw signature or CMS)
	done   chan struct{}
	timers []*time.Timer
}

// NewServer returns a simulator configured by opts.
func NewServer(opts Options) (*Server, error) {
	if opts.SOAPPath == "" {
		opts.SOAPPath = "/soap"
	}
	if opts.CertPath == "" {
		opts.CertPath = "/certificates"
	}
	if opts.PhonePath == "" {
		opts.PhonePath = "/phone/"
	}
	if !strings.HasSuffix(opts.PhonePath, "/") {
		opts.PhonePath += "/"
	}
	for _, p := range []string{opts.SOAPPath, opts.CertPath, opts.PhonePath} {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("mssp: path %q must start with /", p)
		}
	}
	if opts.MSSPID == "" {
		opts.MSSPID = "http://mssp.vanban.invalid/"
	}
	if opts.DefaultPIN == "" {
		opts.DefaultPIN = "1234"
	}
	if opts.MaxTimeout <= 0 {
		opts.MaxTimeout = 300 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 5 * time.Minute
	}
	if opts.Latency < 0 || opts.ResponseDelay < 0 {
		return nil, errors.New("mssp: negative latency or response delay")
	}
	if opts.RequireClientCert && opts.ClientCAs == nil {
		return nil, errors.New("mssp: RequireClientCert needs ClientCAs")
	}
	for n := range opts.Phones {
		if !validMSISDN(n) {
			return nil, fmt.Errorf("mssp: phone %q is not an international number of 8 to 15 digits", n)
		}
	}
	s := &Server{
		opts: opts, mux: http.NewServeMux(), log: opts.Logger,
		rogue:  map[bool]crypto.Signer{},
		phones: map[string]*phone{}, byID: map[string]*transaction{}, byAPTx: map[string]*transaction{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.linkKey = make([]byte, 32)
	if _, err := rand.Read(s.linkKey); err != nil {
		return nil, err
	}
	if opts.Issuer == nil {
		caCert, caKey, err := newDevCA()
		if err != nil {
			return nil, fmt.Errorf("mssp: development CA: %w", err)
		}
		issuer, err := CAIssuer([]*x509.Certificate{caCert}, caKey)
		if err != nil {
			return nil, err
		}
		s.ca = caCert
		s.opts.Issuer = issuer
	}
	s.routes()
	return s, nil
}

// routes lists every endpoint of the simulator.
func (s *Server) routes() {
	pp := s.opts.PhonePath
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.HandleFunc("POST "+s.opts.SOAPPath, s.handleSOAP)
	s.mux.HandleFunc("GET "+s.opts.CertPath, s.handleCertificates)
	s.mux.HandleFunc("GET "+pp+"phone.js", s.handlePhoneScript)
	s.mux.HandleFunc("GET "+pp+"{msisdn}", s.handlePhonePage)
	s.mux.HandleFunc("GET "+pp+"{msisdn}/status", s.handlePhoneStatus)
	s.mux.HandleFunc("POST "+pp+"{msisdn}/pin", s.handlePhonePIN)
	s.mux.HandleFunc("POST "+pp+"{msisdn}/decline", s.handlePhoneDecline)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// CACertificate returns the in-memory development CA, or nil when an
// external Issuer is configured.
func (s *Server) CACertificate() *x509.Certificate {
	return s.ca
}

// TLSConfig returns a server TLS configuration presenting cert that asks
// for client certificates and verifies those given against ClientCAs. The
// SOAP and lookup handlers then refuse callers without one when
// RequireClientCert is set, while browsers can still open the phone pages.
func (s *Server) TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    s.opts.ClientCAs,
	}
}

// Close fails every pending transaction with 900 and stops the timers, so
// that waiting synchronous calls return.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, tx := range s.byID {
		if tx.status == wire.StatusOutstandingTransaction {
			s.finishLocked(tx, wire.StatusInternalError, "simulator shut down", nil)
		}
	}
}

// Certificates returns the chain of msisdn's SIM key, issuing it on first
// use. Scenario numbers without a certificate return ErrNoCertificate.
func (s *Server) Certificates(msisdn string) ([]*x509.Certificate, error) {
	p, err := s.phone(msisdn)
	if err != nil {
		return nil, err
	}
	if p.scenario == ScenarioNoCertificate || p.scenario == ScenarioNoKey {
		return nil, ErrNoCertificate
	}
	if err := s.ensureKey(p); err != nil {
		return nil, err
	}
	return append([]*x509.Certificate(nil), p.chain...), nil
}

// Errors of the Phone API and Certificates.
var (
	ErrNoCertificate = errors.New("mssp: this number has no signing certificate")
	ErrBadNumber     = errors.New("mssp: not an international phone number of 8 to 15 digits")
	ErrNoPending     = errors.New("mssp: no request pending on this phone")
	ErrWrongPIN      = errors.New("mssp: wrong PIN")
	ErrPINBlocked    = errors.New("mssp: PIN blocked")
)

func validMSISDN(s string) bool {
	if len(s) < 8 || len(s) > 15 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// phone returns the state of msisdn, creating it on first use.
func (s *Server) phone(msisdn string) (*phone, error) {
	msisdn = strings.TrimPrefix(msisdn, "+")
	if !validMSISDN(msisdn) {
		return nil, ErrBadNumber
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phoneLocked(msisdn), nil
}

func (s *Server) phoneLocked(msisdn string) *phone {
	if p, ok := s.phones[msisdn]; ok {
		return p
	}
	cfg := s.opts.Phones[msisdn]
	if cfg.PIN == "" {
		cfg.PIN = s.opts.DefaultPIN
	}
	if cfg.Name == "" {
		cfg.Name = "Thuê bao " + msisdn
	}
	p := &phone{msisdn: msisdn, cfg: cfg, scenario: scenarioOf(msisdn)}
	s.phones[msisdn] = p
	return p
}

func (p *phone) ec() bool {
	switch p.cfg.Key {
	case KeyRSA:
		return false
	case KeyEC:
		return true
	}
	last := p.msisdn[len(p.msisdn)-1] - '0'
	return last%2 == 1
}

// ensureKey issues the phone's key outside the server lock: RSA key
// generation takes a while and must not stall other phones.
func (s *Server) ensureKey(p *phone) error {
	p.keyOnce.Do(func() {
		if s.opts.KeyDir != "" {
			if key, chain, ok := loadSIM(s.opts.KeyDir, p.msisdn, p.ec()); ok {
				p.key, p.chain = key, chain
				return
			}
		}
		key, chain, err := s.opts.Issuer(p.msisdn, p.cfg.Name, p.ec())
		switch {
		case err != nil:
			p.keyErr = fmt.Errorf("mssp: issuing the SIM key of %s: %w", p.msisdn, err)
			return
		case key == nil || len(chain) == 0:
			p.keyErr = fmt.Errorf("mssp: issuer returned no key or certificate for %s", p.msisdn)
			return
		case !keyMatches(key, chain[0]):
			p.keyErr = fmt.Errorf("mssp: issuer returned a certificate that does not match the key of %s", p.msisdn)
			return
		}
		if s.opts.KeyDir != "" {
			if err := saveSIM(s.opts.KeyDir, p.msisdn, key, chain); err != nil {
				p.keyErr = fmt.Errorf("mssp: saving the SIM key of %s: %w", p.msisdn, err)
				return
			}
		}
		p.key, p.chain = key, chain
	})
	return p.keyErr
}

func keyMatches(key crypto.Signer, cert *x509.Certificate) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	eq, ok := key.Public().(equaler)
	return ok && eq.Equal(cert.PublicKey)
}

// rogueKey is the key the "wrong key" scenario signs with.
func (s *Server) rogueKey(ec bool) (crypto.Signer, error) {
	s.rogueMu.Lock()
	defer s.rogueMu.Unlock()
	if k, ok := s.rogue[ec]; ok {
		return k, nil
	}
	k, err := newKey(ec)
	if err != nil {
		return nil, err
	}
	s.rogue[ec] = k
	return k, nil
}

// clientAuthorized applies RequireClientCert.
func (s *Server) clientAuthorized(r *http.Request) bool {
	if !s.opts.RequireClientCert {
		return true
	}
	return r.TLS != nil && len(r.TLS.VerifiedChains) > 0
}

// apAuthorized checks AP_ID and AP_PWD against Options.APs.
func (s *Server) apAuthorized(apID, pwd string) bool {
	if apID == "" {
		return false
	}
	if s.opts.APs == nil {
		return true
	}
	want, ok := s.opts.APs[apID]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(pwd)) == 1
}

func (s *Server) handleCertificates(w http.ResponseWriter, r *http.Request) {
	if !s.delay(r) {
		return
	}
	if !s.clientAuthorized(r) {
		http.Error(w, "client certificate required", http.StatusForbidden)
		return
	}
	// The header names are etsi204.HeaderAPID and HeaderAPPassword.
	if !s.apAuthorized(r.Header.Get("X-MSS-AP-ID"), r.Header.Get("X-MSS-AP-PWD")) {
		http.Error(w, "unknown application provider or wrong password", http.StatusUnauthorized)
		return
	}
	chain, err := s.Certificates(r.URL.Query().Get("msisdn"))
	switch {
	case errors.Is(err, ErrBadNumber):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case errors.Is(err, ErrNoCertificate):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		s.log.Error("mssp: certificate lookup", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	for _, c := range chain {
		_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
}

// soapFault writes an ETSI fault. Like the operators we imitate, faults go
// out with HTTP 500.
func soapFault(w http.ResponseWriter, v wire.SOAPVersion, status, code int, detail string) {
	w.Header().Set("Content-Type", v.ContentType(""))
	w.WriteHeader(status)
	_, _ = w.Write(wire.FaultEnvelope(v, code, detail))
}

func soapReply(w http.ResponseWriter, v wire.SOAPVersion, wrapper string, body any) {
	b, err := wire.Envelope(v, wrapper, body)
	if err != nil {
		soapFault(w, v, http.StatusInternalServerError, wire.StatusInternalError, "encoding response")
		return
	}
	w.Header().Set("Content-Type", v.ContentType(""))
	_, _ = w.Write(b)
}

// delay applies ResponseDelay; false when the caller gave up meanwhile.
func (s *Server) delay(r *http.Request) bool {
	if s.opts.ResponseDelay <= 0 {
		return true
	}
	t := time.NewTimer(s.opts.ResponseDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) handleSOAP(w http.ResponseWriter, r *http.Request) {
	if !s.delay(r) {
		return
	}
	if !s.clientAuthorized(r) {
		// Refused before reading the body; the content type tells which
		// envelope the caller speaks.
		v := wire.SOAP11
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml") {
			v = wire.SOAP12
		}
		soapFault(w, v, http.StatusForbidden, wire.StatusUnauthorizedAccess, "client certificate required")
		return
	}
	var sreq wire.SignatureReq
	var streq wire.StatusReq
	v, name, err := wire.Decode(r.Body, map[string]any{"MSS_SignatureReq": &sreq, "MSS_StatusReq": &streq})
	if v == 0 {
		v = wire.SOAP11
	}
	if err != nil {
		soapFault(w, v, http.StatusInternalServerError, wire.StatusWrongParam, err.Error())
		return
	}
	switch name {
	case "MSS_SignatureReq":
		s.signature(w, r, v, &sreq)
	case "MSS_StatusReq":
		s.status(w, v, &streq)
	}
}

// reqError is a fault the request handlers answer with.
type reqError struct {
	code   int
	detail string
}

func (s *Server) checkCommon(ap wire.APInfo, msspID string) *reqError {
	if ap.APID == "" || ap.APTransID == "" {
		return &reqError{wire.StatusMissingParam, "AP_ID and AP_TransID are required"}
	}
	if !s.apAuthorized(ap.APID, ap.APPWD) {
		return &reqError{wire.StatusUnauthorizedAccess, "unknown AP_ID or wrong AP_PWD"}
	}
	if msspID != "" && msspID != s.opts.MSSPID {
		return &reqError{wire.StatusWrongParam, "MSSP_ID " + msspID + " is not this MSSP"}
	}
	return nil
}

// parseSignatureReq validates a request and extracts what the phone needs.
func (s *Server) parseSignatureReq(req *wire.SignatureReq) (*transaction, *reqError) {
	if e := s.checkCommon(req.APInfo, req.MSSPInfo.MSSPID.URI); e != nil {
		return nil, e
	}
	msisdn := strings.TrimPrefix(strings.TrimSpace(req.MobileUser.MSISDN), "+")
	if msisdn == "" {
		return nil, &reqError{wire.StatusMissingParam, "MSISDN is required"}
	}
	if !validMSISDN(msisdn) {
		return nil, &reqError{wire.StatusWrongParam, "illegal MSISDN"}
	}
	switch req.MessagingMode {
	case wire.ModeSynch, wire.ModeAsynchClientServer:
	case wire.ModeAsynchServerServer:
		return nil, &reqError{wire.StatusIncompatibleInterface, "asynchServerServer is not supported"}
	default:
		return nil, &reqError{wire.StatusWrongParam, "unknown MessagingMode " + req.MessagingMode}
	}
	if strings.TrimSpace(req.DataToBeSigned.Value) == "" {
		return nil, &reqError{wire.StatusMissingParam, "DataToBeSigned is required"}
	}
	if !strings.EqualFold(req.DataToBeSigned.Encoding, "base64") {
		return nil, &reqError{wire.StatusInappropriateData, "DataToBeSigned must be base64 encoded binary data"}
	}
	dtbs, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(req.DataToBeSigned.Value), ""))
	if err != nil {
		return nil, &reqError{wire.StatusWrongParam, "DataToBeSigned is not valid base64"}
	}
	digest := dtbs
	if _, d, err := wire.ParseDigestInfo(dtbs); err == nil {
		digest = d
	} else if hashForSize(len(dtbs)) == 0 {
		return nil, &reqError{wire.StatusWrongDataLength, fmt.Sprintf("DataToBeSigned of %d bytes is neither a DigestInfo nor a SHA-2 digest", len(dtbs))}
	}
	display := ""
	if req.DataToBeDisplayed != nil {
		display = req.DataToBeDisplayed.Value
		if n := utf8.RuneCountInString(display); n > maxDisplay {
			return nil, &reqError{wire.StatusWrongDataLength, fmt.Sprintf("DataToBeDisplayed has %d characters, a SIM shows %d", n, maxDisplay)}
		}
	}
	cms := false
	if req.MSSFormat != nil {
		switch f := req.MSSFormat.URI; {
		case strings.HasSuffix(f, "#PKCS1"):
		case strings.HasSuffix(f, "#PKCS7"), strings.HasSuffix(f, "#CMS"):
			cms = true
		default:
			return nil, &reqError{wire.StatusWrongParam, "unsupported MSS_Format " + f}
		}
	}
	timeout := s.opts.MaxTimeout
	if req.TimeOut != "" {
		secs, err := strconv.Atoi(req.TimeOut)
		if err != nil || secs <= 0 {
			return nil, &reqError{wire.StatusWrongParam, "TimeOut must be a positive number of seconds"}
		}
		if d := time.Duration(secs) * time.Second; d < timeout {
			timeout = d
		}
	}
	now := time.Now()
	return &transaction{
		apID: req.APInfo.APID, apTransID: req.APInfo.APTransID, msisdn: msisdn,
		dtbs: dtbs, digest: digest, display: display, cms: cms,
		created: now, expires: now.Add(timeout),
		status: wire.StatusOutstandingTransaction, done: make(chan struct{}),
	}, nil
}

// maxDisplay is the longest DataToBeDisplayed the simulated SIM accepts.
const maxDisplay = 160

func (s *Server) signature(w http.ResponseWriter, r *http.Request, v wire.SOAPVersion, req *wire.SignatureReq) {
	tx, rerr := s.parseSignatureReq(req)
	if rerr != nil {
		soapFault(w, v, http.StatusInternalServerError, rerr.code, rerr.detail)
		return
	}
	p, err := s.phone(tx.msisdn)
	if err != nil {
		soapFault(w, v, http.StatusInternalServerError, wire.StatusWrongParam, "illegal MSISDN")
		return
	}
	switch p.scenario {
	case ScenarioNoCertificate:
		soapFault(w, v, http.StatusInternalServerError, wire.StatusNoCertFound, "no certificate for "+tx.msisdn)
		return
	case ScenarioNoKey:
		soapFault(w, v, http.StatusInternalServerError, wire.StatusNoKeyFound, "no signing key on the SIM of "+tx.msisdn)
		return
	case ScenarioBusy:
		soapFault(w, v, http.StatusInternalServerError, wire.StatusPBSignatureProcess, "another request is pending on this phone")
		return
	}
	if err := s.ensureKey(p); err != nil {
		s.log.Error("mssp: SIM key", "msisdn", tx.msisdn, "err", err)
		soapFault(w, v, http.StatusInternalServerError, wire.StatusInternalError, "cannot issue the SIM key")
		return
	}

	tx, rerr = s.register(p, tx)
	if rerr != nil {
		soapFault(w, v, http.StatusInternalServerError, rerr.code, rerr.detail)
		return
	}
	if req.MessagingMode == wire.ModeAsynchClientServer {
		soapReply(w, v, "MSS_SignatureResponse", s.signatureResp(tx, wire.NewStatus(wire.StatusRequestOK), nil))
		return
	}
	// Synchronous: hold the call until the phone answered or expired.
	select {
	case <-tx.done:
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	status, detail, sig := tx.status, tx.detail, tx.sig
	s.mu.Unlock()
	if status != wire.StatusSignature {
		soapFault(w, v, http.StatusInternalServerError, status, detail)
		return
	}
	soapReply(w, v, "MSS_SignatureResponse", s.signatureResp(tx, wire.NewStatus(wire.StatusSignature), sig))
}

// register makes tx the phone's pending transaction, or returns the
// transaction already known under the same AP_ID and AP_TransID (a retry).
func (s *Server) register(p *phone, tx *transaction) (*transaction, *reqError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, &reqError{wire.StatusInternalError, "simulator shut down"}
	}
	s.sweepLocked()
	apKey := tx.apID + "\x00" + tx.apTransID
	if prev, ok := s.byAPTx[apKey]; ok {
		if prev.msisdn != tx.msisdn || !bytes.Equal(prev.dtbs, tx.dtbs) {
			return nil, &reqError{wire.StatusWrongParam, "AP_TransID " + tx.apTransID + " was already used for another request"}
		}
		if !retryable(prev.status) {
			// A retry of a pending or finished request: the same
			// transaction, no second prompt on the phone.
			return prev, nil
		}
		// The earlier attempt never reached the user (phone absent, our
		// own failure): a retry under the same AP_TransID tries again.
	}
	if p.blocked {
		return nil, &reqError{wire.StatusPINNrBlocked, "PIN blocked; contact the certificate authority"}
	}
	if p.pending != nil && p.pending.status == wire.StatusOutstandingTransaction {
		return nil, &reqError{wire.StatusPBSignatureProcess, "another request is pending on this phone"}
	}
	s.counter++
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	tx.id = fmt.Sprintf("S%d%s", s.counter, hex.EncodeToString(rnd[:]))
	s.byID[tx.id] = tx
	s.byAPTx[apKey] = tx
	p.pending = tx

	tx.timers = append(tx.timers, time.AfterFunc(time.Until(tx.expires), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.finishLocked(tx, wire.StatusExpiredTransaction, "no answer from the phone in time", nil)
	}))
	if act := s.automaticAnswer(p); act != nil {
		tx.timers = append(tx.timers, time.AfterFunc(s.opts.Latency, func() { act(tx) }))
	}
	// The log line carries the phone link with its per-request secret:
	// whoever runs the simulator (vanban mssp-sim) opens the phone from
	// there, as the application shows it to the signer.
	s.log.Info("mssp: request", "msisdn", tx.msisdn, "mssp_trans_id", tx.id, "ap_trans_id", tx.apTransID,
		"verification_code", wire.VerificationCode(tx.digest), "phone", s.PhoneLink(tx.msisdn, tx.id))
	return tx, nil
}

// retryable tells whether a final status lets the AP retry under the same
// AP_TransID.
func retryable(status int) bool {
	return status == wire.StatusOTAError || status == wire.StatusInternalError
}

// automaticAnswer returns what the simulated signer does by itself on a
// scenario number or in auto-approve mode; nil waits for the phone page.
func (s *Server) automaticAnswer(p *phone) func(*transaction) {
	fail := func(code int, detail string) func(*transaction) {
		return func(tx *transaction) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.finishLocked(tx, code, detail, nil)
		}
	}
	switch p.scenario {
	case ScenarioApprove:
		return func(tx *transaction) { s.sign(p, tx, signNormally) }
	case ScenarioWrongKey:
		return func(tx *transaction) { s.sign(p, tx, signWithRogueKey) }
	case ScenarioOtherDigest:
		return func(tx *transaction) { s.sign(p, tx, signOtherData) }
	case ScenarioDecline:
		return fail(wire.StatusUserCancel, "the user declined on the phone")
	case ScenarioTimeout:
		return fail(wire.StatusExpiredTransaction, "no answer from the phone in time")
	case ScenarioAbsent:
		return fail(wire.StatusOTAError, "the phone could not be reached")
	case ScenarioPINBlocked:
		return fail(wire.StatusPINNrBlocked, "PIN blocked; contact the certificate authority")
	}
	if s.opts.AutoApprove {
		return func(tx *transaction) { s.sign(p, tx, signNormally) }
	}
	return nil
}

type signMode int

const (
	signNormally signMode = iota
	signWithRogueKey
	signOtherData
)

// sign produces the SIM's signature for tx and completes it. The crypto
// runs outside the server lock.
func (s *Server) sign(p *phone, tx *transaction, mode signMode) {
	key := p.key
	data := tx.dtbs
	switch mode {
	case signWithRogueKey:
		k, err := s.rogueKey(p.ec())
		if err != nil {
			s.mu.Lock()
			s.finishLocked(tx, wire.StatusInternalError, "cannot make the wrong key", nil)
			s.mu.Unlock()
			return
		}
		key = k
	case signOtherData:
		data = bytes.Clone(data)
		data[len(data)-1] ^= 0xFF
	}
	sig, err := simSign(key, data)
	if err == nil {
		if pub, ok := key.Public().(*ecdsa.PublicKey); ok && !tx.cms {
			// A SIM applet returns EC signatures as raw r||s.
			sig, err = ecdsaDERToRaw(sig, pub)
		}
	}
	if err == nil && tx.cms {
		sig, err = buildCMS(sig, tx.dtbs, p.chain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.finishLocked(tx, wire.StatusInappropriateData, "the SIM could not sign the data: "+err.Error(), nil)
		return
	}
	s.finishLocked(tx, wire.StatusSignature, "", sig)
}

// finishLocked moves tx from pending to a final status once; later calls
// (a timer racing the phone) change nothing.
func (s *Server) finishLocked(tx *transaction, status int, detail string, sig []byte) {
	if tx.status != wire.StatusOutstandingTransaction {
		return
	}
	tx.status, tx.detail, tx.sig = status, detail, sig
	tx.ended = time.Now()
	s.finished = append(s.finished, tx)
	for _, t := range tx.timers {
		t.Stop()
	}
	close(tx.done)
	if p := s.phones[tx.msisdn]; p != nil && p.pending == tx {
		p.pending = nil
	}
	s.log.Info("mssp: outcome", "msisdn", tx.msisdn, "mssp_trans_id", tx.id, "status", status, "message", wire.StatusMessage(status))
}

// sweepLocked forgets transactions that ended more than Retention ago.
func (s *Server) sweepLocked() {
	cutoff := time.Now().Add(-s.opts.Retention)
	n := 0
	for n < len(s.finished) && s.finished[n].ended.Before(cutoff) {
		tx := s.finished[n]
		s.finished[n] = nil
		delete(s.byID, tx.id)
		if key := tx.apID + "\x00" + tx.apTransID; s.byAPTx[key] == tx {
			delete(s.byAPTx, key)
		}
		n++
	}
	s.finished = s.finished[n:]
}

func (s *Server) msspInfo() wire.MSSPInfo {
	return wire.MSSPInfo{Instant: wire.Instant(time.Now()), MSSPID: wire.MSSPID{URI: s.opts.MSSPID}}
}

func (s *Server) signatureResp(tx *transaction, st wire.Status, sig []byte) *wire.SignatureResp {
	resp := &wire.SignatureResp{
		MajorVersion: "1", MinorVersion: "1", MSSPTransID: tx.id,
		APInfo:     wire.APInfo{APID: tx.apID, APTransID: tx.apTransID, Instant: wire.Instant(tx.created)},
		MSSPInfo:   s.msspInfo(),
		MobileUser: wire.MobileUser{MSISDN: tx.msisdn},
		Status:     st,
	}
	if sig != nil {
		resp.MSSSignature = &wire.Signature{Base64Signature: base64.StdEncoding.EncodeToString(sig)}
	}
	return resp
}

func (s *Server) status(w http.ResponseWriter, v wire.SOAPVersion, req *wire.StatusReq) {
	if e := s.checkCommon(req.APInfo, req.MSSPInfo.MSSPID.URI); e != nil {
		soapFault(w, v, http.StatusInternalServerError, e.code, e.detail)
		return
	}
	s.mu.Lock()
	tx, ok := s.byID[req.MSSPTransID]
	if !ok || tx.apID != req.APInfo.APID {
		s.mu.Unlock()
		soapFault(w, v, http.StatusInternalServerError, wire.StatusWrongParam, "unknown MSSP_TransID "+req.MSSPTransID)
		return
	}
	status, detail, sig := tx.status, tx.detail, tx.sig
	s.mu.Unlock()
	switch status {
	case wire.StatusOutstandingTransaction, wire.StatusSignature:
		resp := &wire.StatusResp{
			MajorVersion: "1", MinorVersion: "1",
			APInfo:     wire.APInfo{APID: req.APInfo.APID, APTransID: req.APInfo.APTransID, Instant: req.APInfo.Instant},
			MSSPInfo:   s.msspInfo(),
			MobileUser: wire.MobileUser{MSISDN: tx.msisdn},
			Status:     wire.NewStatus(status),
		}
		if sig != nil {
			resp.MSSSignature = &wire.Signature{Base64Signature: base64.StdEncoding.EncodeToString(sig)}
		}
		soapReply(w, v, "MSS_StatusQueryResponse", resp)
	default:
		soapFault(w, v, http.StatusInternalServerError, status, detail)
	}
}
