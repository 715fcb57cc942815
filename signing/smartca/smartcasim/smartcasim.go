// Package smartcasim is a VNPT SmartCA remote-signing service for tests,
// development and the default install. It speaks the JSON API that
// signing/smartca uses, over HTTP (mount it under any prefix), holds one
// RSA-2048 key per user under a CA it is given (or its own), keeps
// transactions with expiry, and is driven by a virtual phone page (the
// SmartCA app's confirmation) or by scenario user ids.
//
// # Endpoints (relative to where the Server is mounted)
//
//	POST v1/credentials/get_certificate   {sp_id, sp_password, user_id} -> the user's certificates with chains
//	POST v1/signatures/sign               {sp_id, sp_password, user_id, transaction_id, transaction_desc,
//	                                       serial_number, sign_files[{data_to_be_signed, doc_id, file_type, sign_type}]}
//	POST v1/signatures/sign/{id}/status   {sp_id, sp_password} -> tran_status and signatures[{doc_id, signature_value, timestamp_signature}]
//	GET  phone/{user}                     the virtual phone of a user; POST phone/{user}/confirm, phone/{user}/decline
//	GET  phone/{user}/status              its state as JSON
//	GET  (the mount point)                this documentation for a browser, with the scenario users
//
// Every answer is {"status_code": N, "message": "...", "data": {...}}: 200
// success; 400 bad request; 401 invalid service-provider credentials; 4001
// user without a certificate; 4002 certificate status invalid (revoked or
// expired); 4003 unknown transaction; 4004 transaction_id reused for other
// data; 4005 another transaction is waiting on the user's phone; 500 and
// 503 service errors (the HTTP status is 200 for 4xxx codes, 4xx/5xx
// otherwise). A transaction's tran_status is one of WAITING, SUCCESS,
// REJECTED, EXPIRED, FAILED.
//
// Several sign_files in one transaction are confirmed once: the phone shows
// one request naming every document, and the status (and callback) carry
// one signature per doc_id. A sign request repeated with the same
// transaction_id and the same files is the same transaction.
//
// # Callbacks
//
// With Options.CallbackURL set, the simulator POSTs the outcome of every
// transaction that ends (signed, rejected, expired, failed) to that URL, as
// SmartCA notifies a service provider:
//
//	{"transaction_id", "tran_status", "user_id", "serial_number",
//	 "signatures": [{"doc_id", "data_to_be_signed", "signature_value", "timestamp_signature"}]}
//
// (a failed transaction lists its files without signature_value),
// authenticated by the header X-SmartCA-Signature: t=UNIX,v1=HEX, where HEX
// is the HMAC-SHA256 under Options.CallbackSecret of "UNIX." followed by
// the body. Failed deliveries are retried a few times with backoff.
//
// # Scenario users
//
// User ids 079000000CCC answer by themselves after Options.Latency; CCC
// picks the scenario (ScenarioUser builds them):
//
//	500 approve   401 decline   208 expire   990 wrong key (a signature by another key)
//	991 other digest   501 revoked certificate (4002)   900 service error (500 on sign)
//	422 no certificate (4001)   406 busy (4005)
//
// Every other id of 9 to 13 digits (a CCCD, a tax code) waits for its
// virtual phone, unless Options.AutoApprove is set.
package smartcasim

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Status codes of the API.
const (
	CodeOK              = 200
	CodeBadRequest      = 400
	CodeUnauthorized    = 401
	CodeNoCertificate   = 4001
	CodeCertInvalid     = 4002
	CodeUnknownTx       = 4003
	CodeTxReused        = 4004
	CodeBusy            = 4005
	CodeInternalError   = 500
	CodeUnavailable     = 503
	TranWaiting         = "WAITING"
	TranSuccess         = "SUCCESS"
	TranRejected        = "REJECTED"
	TranExpired         = "EXPIRED"
	TranFailed          = "FAILED"
	SignatureHeader     = "X-SmartCA-Signature"
	maxSignFiles        = 100
	maxDescriptionRunes = 500
)

// Scenario is the behaviour of a scenario user id.
type Scenario int

const (
	ScenarioNone          Scenario = 0
	ScenarioApprove       Scenario = 500
	ScenarioDecline       Scenario = 401
	ScenarioExpire        Scenario = 208
	ScenarioWrongKey      Scenario = 990
	ScenarioOtherDigest   Scenario = 991
	ScenarioRevoked       Scenario = 501
	ScenarioServiceError  Scenario = 900
	ScenarioNoCertificate Scenario = 422
	ScenarioBusy          Scenario = 406
)

var scenarioNames = map[Scenario]string{
	ScenarioApprove: "approve", ScenarioDecline: "decline", ScenarioExpire: "expire",
	ScenarioWrongKey: "wrong-key", ScenarioOtherDigest: "other-digest", ScenarioRevoked: "revoked-certificate",
	ScenarioServiceError: "service-error", ScenarioNoCertificate: "no-certificate", ScenarioBusy: "busy",
}

func (s Scenario) String() string {
	if n, ok := scenarioNames[s]; ok {
		return n
	}
	return "none"
}

// Scenarios lists every scenario.
func Scenarios() []Scenario {
	return []Scenario{ScenarioApprove, ScenarioDecline, ScenarioExpire, ScenarioWrongKey, ScenarioOtherDigest,
		ScenarioRevoked, ScenarioServiceError, ScenarioNoCertificate, ScenarioBusy}
}

// ScenarioUser returns the user id of scenario s.
func ScenarioUser(s Scenario) string { return fmt.Sprintf("079000000%03d", int(s)) }

func scenarioOf(user string) Scenario {
	rest, ok := strings.CutPrefix(user, "079000000")
	if !ok || len(rest) != 3 {
		return ScenarioNone
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return ScenarioNone
	}
	if _, ok := scenarioNames[Scenario(n)]; !ok {
		return ScenarioNone
	}
	return Scenario(n)
}

func validUser(u string) bool {
	if len(u) < 9 || len(u) > 13 {
		return false
	}
	for _, c := range u {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IssuerFunc issues a user's key and chain (leaf first). The server calls
// it once per user, lazily; the embedded default plugs in the development
// PKI so simulator signatures chain to its root.
type IssuerFunc func(userID, commonName string) (crypto.Signer, []*x509.Certificate, error)

// Options configure a Server. Zero values get the defaults noted.
type Options struct {
	// SPID and SPPassword are the service-provider credentials accepted.
	// Defaults "vanban" and "vanban-sp-secret".
	SPID, SPPassword string
	// CallbackURL receives the outcome of every transaction that ends;
	// empty sends none. CallbackSecret keys its HMAC.
	CallbackURL, CallbackSecret string
	// Issuer issues users' keys; nil uses an in-memory CA.
	Issuer IssuerFunc
	// KeyDir, if set, keeps each user's key and chain in
	// KeyDir/<user>.pem, so users keep their certificates across restarts.
	// Default StateDir/users when StateDir is set.
	KeyDir string
	// StateDir, if set, keeps every transaction and the phones' counters
	// on disk (fsync'd, see persist.go), so that a restarted simulator
	// still answers the status of a transaction, shows a waiting one on
	// the phone, and delivers an undelivered callback.
	StateDir string
	// Names gives users' common names; others get "Người dùng <id>".
	Names map[string]string
	// AutoApprove confirms every request of an ordinary user after
	// Latency (load tests).
	AutoApprove bool
	// Latency is how long scenario users take to answer; default 20 ms.
	Latency time.Duration
	// Timeout is how long a transaction waits for the user; default 5 min.
	Timeout time.Duration
	// Retention keeps ended transactions queryable; default 1 hour.
	Retention time.Duration
	// PhonePath is the absolute path prefix of the phone pages as the
	// browser sees them, e.g. "/dev/smartca/phone/"; default "phone/"
	// relative to the request.
	PhonePath string
	// HTTPClient delivers callbacks; default a 10 s timeout client.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server is the simulated SmartCA service; it is an http.Handler.
type Server struct {
	opts  Options
	caKey crypto.Signer
	ca    *x509.Certificate

	mu     sync.Mutex
	users  map[string]*user
	txs    map[string]*transaction
	calls  map[string]int
	down   bool
	closed bool
	// storedCounts are the phones' counters read from StateDir.
	storedCounts map[string]phoneCounts
	wg           sync.WaitGroup
	done         chan struct{}
}

type user struct {
	id    string
	key   crypto.Signer
	chain []*x509.Certificate
	rogue crypto.Signer // wrong-key scenario
	// pending is the transaction waiting on the phone.
	pending *transaction
	// prompts counts the requests the phone was shown, confirmations
	// those the user confirmed.
	prompts, confirmations int
}

type signFile struct {
	DataToBeSigned string `json:"data_to_be_signed"`
	DocID          string `json:"doc_id"`
	FileType       string `json:"file_type"`
	SignType       string `json:"sign_type"`
}

// SignedFile is one signature of a transaction.
type SignedFile struct {
	DocID              string `json:"doc_id"`
	DataToBeSigned     string `json:"data_to_be_signed,omitempty"`
	SignatureValue     string `json:"signature_value"`
	TimestampSignature string `json:"timestamp_signature"`
}

type transaction struct {
	id          string
	user        *user
	serial      string
	description string
	files       []signFile
	fingerprint string
	status      string
	message     string
	signatures  []SignedFile
	created     time.Time
	expires     time.Time
	ended       time.Time
	// callbackPending: the outcome is not delivered to the callback URL yet.
	callbackPending bool
}

// NewServer returns a simulator.
func NewServer(opts Options) (*Server, error) {
	if opts.SPID == "" {
		opts.SPID = "vanban"
	}
	if opts.SPPassword == "" {
		opts.SPPassword = "vanban-sp-secret"
	}
	if opts.Latency <= 0 {
		opts.Latency = 20 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.Retention <= 0 {
		opts.Retention = time.Hour
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StateDir != "" && opts.KeyDir == "" {
		opts.KeyDir = filepath.Join(opts.StateDir, "users")
	}
	s := &Server{opts: opts, users: map[string]*user{}, txs: map[string]*transaction{}, calls: map[string]int{}, done: make(chan struct{})}
	if opts.Issuer == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		ca, err := issue(key, key.Public(), nil, "vanban SmartCA simulator CA (development only)", true)
		if err != nil {
			return nil, err
		}
		s.ca, s.caKey = ca, key
	}
	if opts.StateDir != "" {
		if err := s.load(); err != nil {
			s.Close()
			return nil, fmt.Errorf("smartcasim: state in %s: %w", opts.StateDir, err)
		}
	}
	return s, nil
}

// CA returns the in-memory CA, nil when Options.Issuer issues.
func (s *Server) CA() *x509.Certificate { return s.ca }

// Close stops callback deliveries and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// SetDown makes every API call answer 503 while down.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Calls counts the API calls that reached method ("get_certificate",
// "sign", "status").
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Prompts counts the requests user's phone has been shown.
func (s *Server) Prompts(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[userID]; ok {
		return u.prompts
	}
	return 0
}

// Certificates returns a user's chain, issuing the key on first use.
func (s *Server) Certificates(userID string) ([]*x509.Certificate, error) {
	u, err := s.user(userID)
	if err != nil {
		return nil, err
	}
	return append([]*x509.Certificate(nil), u.chain...), nil
}

// ErrNoPending is returned when a phone has no request to confirm.
var ErrNoPending = errors.New("smartcasim: no pending request on this phone")

// ErrBadUser is returned for an id that is not a user id.
var ErrBadUser = errors.New("smartcasim: not a user id (9 to 13 digits)")

func (s *Server) user(id string) (*user, error) {
	if !validUser(id) {
		return nil, ErrBadUser
	}
	s.mu.Lock()
	u, ok := s.users[id]
	s.mu.Unlock()
	if ok {
		return u, nil
	}
	name := s.opts.Names[id]
	if name == "" {
		name = "Người dùng " + id
	}
	var key crypto.Signer
	var chain []*x509.Certificate
	var err error
	stored := false
	if s.opts.KeyDir != "" {
		key, chain, stored = loadKey(s.opts.KeyDir, id)
	}
	if stored {
		// kept from an earlier run
	} else if s.opts.Issuer != nil {
		key, chain, err = s.opts.Issuer(id, name)
	} else {
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
			var leaf *x509.Certificate
			leaf, err = issue(s.caKey, k.Public(), s.ca, name, false)
			key, chain = k, []*x509.Certificate{leaf, s.ca}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("smartcasim: issuing %s's key: %w", id, err)
	}
	if s.opts.KeyDir != "" && !stored {
		if err := saveKey(s.opts.KeyDir, id, key, chain); err != nil {
			return nil, fmt.Errorf("smartcasim: keeping %s's key: %w", id, err)
		}
	}
	nu := &user{id: id, key: key, chain: chain}
	s.mu.Lock()
	c := s.storedCounts[id]
	s.mu.Unlock()
	nu.prompts, nu.confirmations = c.Requests, c.Confirmations
	if scenarioOf(id) == ScenarioWrongKey {
		if nu.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		return u, nil // issued concurrently; keep the first
	}
	s.users[id] = nu
	return nu, nil
}

func issue(caKey crypto.Signer, pub crypto.PublicKey, parent *x509.Certificate, cn string, isCA bool) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{Country: []string{"VN"}, Organization: []string{"VNPT SmartCA simulator"}, CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.NotAfter = time.Now().AddDate(10, 0, 0)
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, caKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// ServeHTTP routes API calls and the phone pages, whatever prefix the
// server is mounted under.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/v1/credentials/get_certificate"):
		s.api(w, r, "get_certificate", s.getCertificate)
	case strings.HasSuffix(path, "/status") && strings.Contains(path, "/v1/signatures/sign/"):
		i := strings.LastIndex(path, "/v1/signatures/sign/")
		id := strings.TrimSuffix(path[i+len("/v1/signatures/sign/"):], "/status")
		s.api(w, r, "status", func(w http.ResponseWriter, body []byte) { s.status(w, body, id) })
	case strings.HasSuffix(path, "/v1/signatures/sign"):
		s.api(w, r, "sign", s.sign)
	case strings.Contains(path, "/phone/"):
		s.phone(w, r)
	case r.Method == http.MethodGet:
		s.index(w, r)
	default:
		writeAnswer(w, http.StatusNotFound, CodeBadRequest, "unknown method "+path, nil)
	}
}

// api checks the method, availability and service-provider credentials
// common to every call, then runs fn on the body.
func (s *Server) api(w http.ResponseWriter, r *http.Request, method string, fn func(http.ResponseWriter, []byte)) {
	if r.Method != http.MethodPost {
		writeAnswer(w, http.StatusMethodNotAllowed, CodeBadRequest, "use POST", nil)
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeAnswer(w, http.StatusBadRequest, CodeBadRequest, "unreadable body", nil)
		return
	}
	s.mu.Lock()
	down := s.down
	if !down {
		s.calls[method]++
	}
	s.mu.Unlock()
	if down {
		writeAnswer(w, http.StatusServiceUnavailable, CodeUnavailable, "service temporarily unavailable", nil)
		return
	}
	var cred struct {
		SPID       string `json:"sp_id"`
		SPPassword string `json:"sp_password"`
	}
	if err := json.Unmarshal(body, &cred); err != nil {
		writeAnswer(w, http.StatusBadRequest, CodeBadRequest, "malformed JSON", nil)
		return
	}
	if !hmac.Equal([]byte(cred.SPID), []byte(s.opts.SPID)) || !hmac.Equal([]byte(cred.SPPassword), []byte(s.opts.SPPassword)) {
		writeAnswer(w, http.StatusUnauthorized, CodeUnauthorized, "invalid credentials", nil)
		return
	}
	fn(w, body)
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 4<<20))
	return buf.Bytes(), err
}

func writeAnswer(w http.ResponseWriter, httpStatus, code int, msg string, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httpStatus)
	_ = json.NewEncoder(w).Encode(map[string]any{"status_code": code, "message": msg, "data": data})
}

// refuse answers a business error: HTTP 200 with the code, as the service does.
func refuse(w http.ResponseWriter, code int, msg string) {
	writeAnswer(w, http.StatusOK, code, msg, nil)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func serialOf(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }

func (s *Server) getCertificate(w http.ResponseWriter, body []byte) {
	var req struct {
		UserID       string `json:"user_id"`
		SerialNumber string `json:"serial_number"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.UserID == "" {
		refuse(w, CodeBadRequest, "user_id is required")
		return
	}
	sc := scenarioOf(req.UserID)
	if sc == ScenarioNoCertificate || !validUser(req.UserID) {
		refuse(w, CodeNoCertificate, "user has no certificate")
		return
	}
	u, err := s.user(req.UserID)
	if err != nil {
		writeAnswer(w, http.StatusInternalServerError, CodeInternalError, err.Error(), nil)
		return
	}
	status := "VALID"
	if sc == ScenarioRevoked {
		status = "REVOKED"
	}
	leaf := u.chain[0]
	var chain []string
	for _, c := range u.chain[1:] {
		chain = append(chain, b64(c.Raw))
	}
	certs := []map[string]any{{
		"serial_number":   serialOf(leaf),
		"cert_status":     status,
		"cert_subject":    leaf.Subject.String(),
		"cert_valid_from": leaf.NotBefore.UTC().Format(time.RFC3339),
		"cert_valid_to":   leaf.NotAfter.UTC().Format(time.RFC3339),
		"cert_data":       b64(leaf.Raw),
		"chain_data":      chain,
	}}
	writeAnswer(w, http.StatusOK, CodeOK, "success", map[string]any{"user_certificates": certs})
}

func (s *Server) sign(w http.ResponseWriter, body []byte) {
	var req struct {
		UserID          string     `json:"user_id"`
		TransactionID   string     `json:"transaction_id"`
		TransactionDesc string     `json:"transaction_desc"`
		SerialNumber    string     `json:"serial_number"`
		SignFiles       []signFile `json:"sign_files"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		refuse(w, CodeBadRequest, "malformed JSON")
		return
	}
	switch {
	case req.UserID == "" || req.TransactionID == "" || len(req.TransactionID) > 64:
		refuse(w, CodeBadRequest, "user_id and transaction_id (at most 64 characters) are required")
		return
	case len(req.SignFiles) == 0 || len(req.SignFiles) > maxSignFiles:
		refuse(w, CodeBadRequest, fmt.Sprintf("sign_files must hold 1 to %d files", maxSignFiles))
		return
	case len([]rune(req.TransactionDesc)) > maxDescriptionRunes:
		refuse(w, CodeBadRequest, "transaction_desc is too long")
		return
	}
	docs := map[string]bool{}
	for _, f := range req.SignFiles {
		d, err := hex.DecodeString(f.DataToBeSigned)
		if err != nil || len(d) != sha256.Size || f.SignType != "hash" || f.DocID == "" || docs[f.DocID] {
			refuse(w, CodeBadRequest, "every sign_file needs a hex SHA-256 data_to_be_signed, sign_type hash and its own doc_id")
			return
		}
		docs[f.DocID] = true
	}
	sc := scenarioOf(req.UserID)
	switch sc {
	case ScenarioNoCertificate:
		refuse(w, CodeNoCertificate, "user has no certificate")
		return
	case ScenarioRevoked:
		refuse(w, CodeCertInvalid, "certificate status invalid")
		return
	case ScenarioServiceError:
		writeAnswer(w, http.StatusInternalServerError, CodeInternalError, "internal error", nil)
		return
	case ScenarioBusy:
		refuse(w, CodeBusy, "another transaction is waiting for the user's confirmation")
		return
	}
	u, err := s.user(req.UserID)
	if err != nil {
		refuse(w, CodeNoCertificate, "user has no certificate")
		return
	}
	if req.SerialNumber != "" && req.SerialNumber != serialOf(u.chain[0]) {
		refuse(w, CodeCertInvalid, "certificate status invalid: unknown serial number")
		return
	}
	fp := fingerprint(req.UserID, req.SerialNumber, req.SignFiles)
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	if tx, ok := s.txs[req.TransactionID]; ok {
		if tx.fingerprint != fp {
			refuse(w, CodeTxReused, "transaction_id was used for another request")
			return
		}
		writeAnswer(w, http.StatusOK, CodeOK, "success", s.txData(tx))
		return
	}
	if p := u.pending; p != nil && p.status == TranWaiting {
		refuse(w, CodeBusy, "another transaction is waiting for the user's confirmation")
		return
	}
	tx := &transaction{id: req.TransactionID, user: u, serial: serialOf(u.chain[0]), description: req.TransactionDesc,
		files: req.SignFiles, fingerprint: fp, status: TranWaiting, created: now, expires: now.Add(s.opts.Timeout)}
	s.txs[tx.id] = tx
	u.pending = tx
	u.prompts++
	// Kept before the answer: once vanban holds the transaction id, a
	// restart of the simulator must still know it.
	err = s.saveTxLocked(tx)
	if err == nil {
		err = s.savePhonesLocked()
	}
	if err != nil {
		delete(s.txs, tx.id)
		u.pending = nil
		u.prompts--
		s.removeTxLocked(tx)
		s.opts.Logger.Error("smartcasim: keeping a transaction", "transaction", tx.id, "err", err)
		writeAnswer(w, http.StatusInternalServerError, CodeInternalError, "internal error", nil)
		return
	}
	if sc != ScenarioNone || s.opts.AutoApprove {
		s.wg.Add(1)
		go s.answerLater(tx, sc)
	}
	writeAnswer(w, http.StatusOK, CodeOK, "success", s.txData(tx))
}

func fingerprint(user, serial string, files []signFile) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", user, serial)
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", f.DocID, strings.ToLower(f.DataToBeSigned), f.FileType, f.SignType)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) txData(tx *transaction) map[string]any {
	return map[string]any{
		"transaction_id": tx.id,
		"tran_code":      verificationCode(tx),
		"expired_in":     int(time.Until(tx.expires).Seconds()),
	}
}

// verificationCode is what the phone shows next to the request, so the
// user can match it with vanban's page: a short code of the transaction.
func verificationCode(tx *transaction) string {
	h := sha256.Sum256([]byte(tx.id))
	return fmt.Sprintf("%04d", (int(h[0])<<8|int(h[1]))%10000)
}

// answerLater plays a scenario user's (or an auto-approving user's) part.
func (s *Server) answerLater(tx *transaction, sc Scenario) {
	defer s.wg.Done()
	select {
	case <-s.done:
		return
	case <-time.After(s.opts.Latency):
	}
	switch sc {
	case ScenarioDecline:
		s.decide(tx, false)
	case ScenarioExpire:
		s.mu.Lock()
		if tx.status == TranWaiting {
			s.endLocked(tx, TranExpired, "the user did not confirm in time")
		}
		s.mu.Unlock()
	default:
		s.decide(tx, true)
	}
}

// decide confirms or rejects tx as the user would on the phone.
func (s *Server) decide(tx *transaction, confirm bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(s.opts.Now())
	if tx.status != TranWaiting {
		return ErrNoPending
	}
	if !confirm {
		s.endLocked(tx, TranRejected, "the user rejected the request")
		return nil
	}
	sc := scenarioOf(tx.user.id)
	key := tx.user.key
	if sc == ScenarioWrongKey {
		key = tx.user.rogue
	}
	ts := s.opts.Now().UTC().Format(time.RFC3339)
	var sigs []SignedFile
	for _, f := range tx.files {
		d, _ := hex.DecodeString(f.DataToBeSigned) // checked on sign
		if sc == ScenarioOtherDigest {
			d[0] ^= 0xff
		}
		sig, err := key.Sign(rand.Reader, d, crypto.SHA256)
		if err != nil {
			s.endLocked(tx, TranFailed, "signing failed: "+err.Error())
			return nil
		}
		sigs = append(sigs, SignedFile{DocID: f.DocID, DataToBeSigned: f.DataToBeSigned, SignatureValue: b64(sig), TimestampSignature: ts})
	}
	tx.signatures = sigs
	tx.user.confirmations++
	if err := s.savePhonesLocked(); err != nil {
		s.opts.Logger.Error("smartcasim: keeping the phones' counters", "err", err)
	}
	s.endLocked(tx, TranSuccess, "signed")
	return nil
}

// expireLocked ends waiting transactions past their expiry and forgets
// those ended long ago. Caller holds s.mu.
func (s *Server) expireLocked(now time.Time) {
	for id, tx := range s.txs {
		if tx.status == TranWaiting && !now.Before(tx.expires) {
			s.endLocked(tx, TranExpired, "the user did not confirm in time")
		}
		if tx.status != TranWaiting && now.Sub(tx.ended) > s.opts.Retention {
			delete(s.txs, id)
			s.removeTxLocked(tx)
		}
	}
}

// endLocked records tx's outcome and sends the callback. Caller holds s.mu.
func (s *Server) endLocked(tx *transaction, status, msg string) {
	tx.status, tx.message, tx.ended = status, msg, s.opts.Now()
	if tx.user.pending == tx {
		tx.user.pending = nil
	}
	s.opts.Logger.Info("smartcasim: transaction ended", "transaction", tx.id, "user", tx.user.id, "status", status, "files", len(tx.files))
	tx.callbackPending = s.opts.CallbackURL != ""
	if err := s.saveTxLocked(tx); err != nil {
		// The outcome stays in memory; only a restart would lose it.
		s.opts.Logger.Error("smartcasim: keeping a transaction's outcome", "transaction", tx.id, "err", err)
	}
	s.sendCallbackLocked(tx)
}

// sendCallbackLocked starts delivering tx's outcome. Caller holds s.mu.
func (s *Server) sendCallbackLocked(tx *transaction) {
	if s.opts.CallbackURL == "" || s.closed {
		return
	}
	body, _ := json.Marshal(s.callbackBody(tx))
	s.wg.Add(1)
	go s.deliver(tx, body)
}

// delivered records that tx's callback needs no more delivery.
func (s *Server) delivered(tx *transaction) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !tx.callbackPending {
		return
	}
	tx.callbackPending = false
	if s.txs[tx.id] != tx {
		return // forgotten meanwhile
	}
	if err := s.saveTxLocked(tx); err != nil {
		s.opts.Logger.Warn("smartcasim: recording a delivered callback", "transaction", tx.id, "err", err)
	}
}

func (s *Server) callbackBody(tx *transaction) map[string]any {
	sigs := tx.signatures
	if tx.status != TranSuccess {
		// A failure still names its documents, so the service provider
		// can end each one's request.
		for _, f := range tx.files {
			sigs = append(sigs, SignedFile{DocID: f.DocID, DataToBeSigned: f.DataToBeSigned})
		}
	}
	return map[string]any{
		"transaction_id": tx.id,
		"tran_status":    tx.status,
		"message":        tx.message,
		"user_id":        tx.user.id,
		"serial_number":  tx.serial,
		"signatures":     sigs,
	}
}

// SignCallback returns the X-SmartCA-Signature header value for body at t.
func SignCallback(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// deliver POSTs a callback, retrying failed deliveries with backoff. An
// answer, even a refusal, ends the delivery; a callback still undelivered
// when the retries or the process end is sent again by the next run.
func (s *Server) deliver(tx *transaction, body []byte) {
	defer s.wg.Done()
	delay := 200 * time.Millisecond
	for attempt := 1; attempt <= 5; attempt++ {
		req, err := http.NewRequest(http.MethodPost, s.opts.CallbackURL, bytes.NewReader(body))
		if err != nil {
			s.opts.Logger.Error("smartcasim: callback URL", "err", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(SignatureHeader, SignCallback(s.opts.CallbackSecret, s.opts.Now(), body))
		resp, err := s.opts.HTTPClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				s.delivered(tx)
				return
			}
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusTooManyRequests {
				s.opts.Logger.Warn("smartcasim: callback refused", "status", resp.StatusCode)
				s.delivered(tx)
				return
			}
		}
		select {
		case <-s.done:
			return
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (s *Server) status(w http.ResponseWriter, _ []byte, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(s.opts.Now())
	tx, ok := s.txs[id]
	if !ok {
		refuse(w, CodeUnknownTx, "transaction not found")
		return
	}
	data := map[string]any{
		"transaction_id": tx.id,
		"tran_status":    tx.status,
		"message":        tx.message,
		"signatures":     tx.signatures,
	}
	writeAnswer(w, http.StatusOK, CodeOK, "success", data)
}
