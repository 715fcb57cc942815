// Package mysignsim is a Viettel MySign (Viettel-CA remote signing)
// service for tests, development and the default install. It speaks the
// REST API that signing/mysign uses, over HTTP under any prefix, holds one
// RSA-2048 key (one credential) per user under a CA it is given (or its
// own), and is driven by a virtual phone page (the MySign app's approval)
// or by scenario user ids.
//
// # Endpoints (relative to where the Server is mounted)
//
//	POST vtss/service/ras/v1/login     {client_id, client_secret, profile_id, user_id} -> {access_token, token_type, expires_in}
//	POST vtss/service/certificates/info  Bearer; {client_id, client_secret, profile_id, user_id, certificates: "chain"}
//	                                   -> [{credential_id, cert: {status, serialNumber, certificates: [base64 DER, leaf first]}}]
//	POST vtss/service/signHash         Bearer; {client_id, client_secret, credentialID, numSignatures,
//	                                   documents: [{document_id, document_name}], hash: [base64], hashAlgo, signAlgo, async: 1}
//	                                   -> {transactionId, expiresIn}
//	POST vtss/service/requests/status  Bearer; {transactionId} -> {transactionId, status, signatures: [base64]}
//	GET  phone/{user}                  the virtual phone; POST phone/{user}/approve, phone/{user}/decline
//
// status is one of pending, signed, rejected, expired, failed. Errors are
// {"error", "error_description"} with HTTP 400 (invalid_request,
// invalid_credential: no or no valid certificate, busy: a request is
// already waiting on the user's phone, unknown_transaction), 401
// (invalid_client, invalid_token) or 5xx (server_error).
//
// # Scenario users
//
// User ids 079000000CCC answer by themselves after Options.Latency:
//
//	500 approve   401 decline   208 expire   990 wrong key   991 other digest
//	501 revoked certificate   900 service error   422 no certificate   406 busy
//
// Other ids of 9 to 13 digits wait for their phone, unless AutoApprove.
package mysignsim

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OIDs the service accepts.
const (
	OIDSHA256        = "2.16.840.1.101.3.4.2.1"
	OIDRSAEncryption = "1.2.840.113549.1.1.1"
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

// ScenarioUser returns the user id of scenario s.
func ScenarioUser(s Scenario) string { return fmt.Sprintf("079000000%03d", int(s)) }

func scenarioOf(user string) Scenario {
	rest, ok := strings.CutPrefix(user, "079000000")
	if !ok || len(rest) != 3 {
		return ScenarioNone
	}
	n, _ := strconv.Atoi(rest)
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

// IssuerFunc issues a user's key and chain, leaf first.
type IssuerFunc func(userID, commonName string) (crypto.Signer, []*x509.Certificate, error)

// Options configure a Server.
type Options struct {
	// ClientID, ClientSecret and ProfileID are the relying application's
	// credentials; defaults "vanban", "vanban-client-secret", "adss:ras:profile:001".
	ClientID, ClientSecret, ProfileID string
	Issuer                            IssuerFunc
	Names                             map[string]string
	AutoApprove                       bool
	// Latency of scenario users; default 20 ms. Timeout of a request;
	// default 5 min. TokenLifetime; default 1 h.
	Latency, Timeout, TokenLifetime time.Duration
	// PhonePath is the absolute prefix of the phone pages; default
	// relative to the request.
	PhonePath string
	Logger    *slog.Logger
}

// Server is the simulated service; an http.Handler.
type Server struct {
	opts  Options
	ca    *x509.Certificate
	caKey crypto.Signer

	mu     sync.Mutex
	users  map[string]*user
	tokens map[string]tokenInfo
	txs    map[string]*transaction
	calls  map[string]int
	down   bool
	wg     sync.WaitGroup
	done   chan struct{}
	closed bool
}

type tokenInfo struct {
	user    string
	expires time.Time
}

type user struct {
	id      string
	key     crypto.Signer
	rogue   crypto.Signer
	chain   []*x509.Certificate
	pending *transaction
	prompts int
}

type transaction struct {
	id         string
	user       *user
	docs       []string
	hashes     [][]byte
	status     string
	signatures []string
	expires    time.Time
}

// NewServer returns a simulator.
func NewServer(opts Options) (*Server, error) {
	if opts.ClientID == "" {
		opts.ClientID = "vanban"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "vanban-client-secret"
	}
	if opts.ProfileID == "" {
		opts.ProfileID = "adss:ras:profile:001"
	}
	if opts.Latency <= 0 {
		opts.Latency = 20 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, users: map[string]*user{}, tokens: map[string]tokenInfo{}, txs: map[string]*transaction{}, calls: map[string]int{}, done: make(chan struct{})}
	if opts.Issuer == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		if s.ca, err = issue(key, key.Public(), nil, "vanban MySign simulator CA (development only)", true); err != nil {
			return nil, err
		}
		s.caKey = key
	}
	return s, nil
}

// CA returns the in-memory CA, nil with Options.Issuer.
func (s *Server) CA() *x509.Certificate { return s.ca }

// Close stops the scenario timers.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// SetDown makes every call answer 503.
func (s *Server) SetDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// Calls counts the calls that reached method ("login", "info", "signHash", "status").
func (s *Server) Calls(method string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls[method] }

// Prompts counts the requests a user's phone was shown.
func (s *Server) Prompts(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[userID]; u != nil {
		return u.prompts
	}
	return 0
}

// ExpireTokens makes every issued access token expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.tokens {
		v.expires = time.Now().Add(-time.Second)
		s.tokens[k] = v
	}
}

var (
	// ErrNoPending: the phone has no request waiting.
	ErrNoPending = errors.New("mysignsim: no pending request on this phone")
	// ErrBadUser: not a user id.
	ErrBadUser = errors.New("mysignsim: not a user id (9 to 13 digits)")
)

func (s *Server) user(id string) (*user, error) {
	if !validUser(id) {
		return nil, ErrBadUser
	}
	s.mu.Lock()
	u := s.users[id]
	s.mu.Unlock()
	if u != nil {
		return u, nil
	}
	name := s.opts.Names[id]
	if name == "" {
		name = "Người dùng " + id
	}
	var key crypto.Signer
	var chain []*x509.Certificate
	var err error
	if s.opts.Issuer != nil {
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
		return nil, fmt.Errorf("mysignsim: issuing %s's key: %w", id, err)
	}
	nu := &user{id: id, key: key, chain: chain}
	if scenarioOf(id) == ScenarioWrongKey {
		if nu.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		return u, nil
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
		Subject:      pkix.Name{Country: []string{"VN"}, Organization: []string{"Viettel MySign simulator"}, CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(2, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageCRLSign
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, caKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func credentialID(userID string) string { return "mysign-" + userID }

// ServeHTTP routes by path suffix, whatever the mount prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var method string
	switch {
	case strings.HasSuffix(p, "/vtss/service/ras/v1/login"):
		method = "login"
	case strings.HasSuffix(p, "/vtss/service/certificates/info"):
		method = "info"
	case strings.HasSuffix(p, "/vtss/service/signHash"):
		method = "signHash"
	case strings.HasSuffix(p, "/vtss/service/requests/status"):
		method = "status"
	case strings.Contains(p, "/phone/"):
		s.phone(w, r)
		return
	case r.Method == http.MethodGet:
		s.index(w, r)
		return
	default:
		writeError(w, http.StatusNotFound, "invalid_request", "unknown method")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 4<<20)); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "unreadable body")
		return
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed JSON")
		return
	}
	s.mu.Lock()
	down := s.down
	if !down {
		s.calls[method]++
	}
	s.mu.Unlock()
	if down {
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "service is down")
		return
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(body[k], &v)
		return v
	}
	if method == "login" {
		s.login(w, str("client_id"), str("client_secret"), str("profile_id"), str("user_id"))
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	ti, known := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !known || time.Now().After(ti.expires) {
		writeError(w, http.StatusUnauthorized, "invalid_token", "missing, unknown or expired access token")
		return
	}
	switch method {
	case "info":
		s.info(w, ti.user)
	case "signHash":
		s.signHash(w, ti.user, buf.Bytes())
	case "status":
		s.status(w, ti.user, str("transactionId"))
	}
}

func (s *Server) login(w http.ResponseWriter, clientID, secret, profile, userID string) {
	if !hmac.Equal([]byte(clientID), []byte(s.opts.ClientID)) || !hmac.Equal([]byte(secret), []byte(s.opts.ClientSecret)) || profile != s.opts.ProfileID {
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if !validUser(userID) {
		writeError(w, http.StatusBadRequest, "invalid_request", "user_id is not a user")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = tokenInfo{user: userID, expires: time.Now().Add(s.opts.TokenLifetime)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.opts.TokenLifetime / time.Second)})
}

func (s *Server) info(w http.ResponseWriter, userID string) {
	sc := scenarioOf(userID)
	if sc == ScenarioNoCertificate {
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	u, err := s.user(userID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	status := "valid"
	if sc == ScenarioRevoked {
		status = "revoked"
	}
	var certs []string
	for _, c := range u.chain {
		certs = append(certs, b64(c.Raw))
	}
	writeJSON(w, http.StatusOK, []any{map[string]any{
		"credential_id": credentialID(userID),
		"key":           map[string]any{"status": "enabled", "algo": []string{OIDRSAEncryption}, "len": 2048},
		"cert":          map[string]any{"status": status, "serialNumber": hex.EncodeToString(u.chain[0].SerialNumber.Bytes()), "certificates": certs},
	}})
}

func (s *Server) signHash(w http.ResponseWriter, userID string, raw []byte) {
	var req struct {
		CredentialID  string `json:"credentialID"`
		NumSignatures int    `json:"numSignatures"`
		Documents     []struct {
			DocumentID   string `json:"document_id"`
			DocumentName string `json:"document_name"`
		} `json:"documents"`
		Hash     []string `json:"hash"`
		HashAlgo string   `json:"hashAlgo"`
		SignAlgo string   `json:"signAlgo"`
		Async    int      `json:"async"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed JSON")
		return
	}
	switch {
	case req.CredentialID != credentialID(userID):
		writeError(w, http.StatusBadRequest, "invalid_credential", "the credential is not the user's")
		return
	case req.HashAlgo != OIDSHA256 || req.SignAlgo != OIDRSAEncryption:
		writeError(w, http.StatusBadRequest, "invalid_request", "hashAlgo must be SHA-256 and signAlgo RSA")
		return
	case req.NumSignatures < 1 || req.NumSignatures != len(req.Hash) || len(req.Documents) != len(req.Hash) || len(req.Hash) > 100:
		writeError(w, http.StatusBadRequest, "invalid_request", "numSignatures, documents and hash must agree (at most 100)")
		return
	case req.Async != 1:
		writeError(w, http.StatusBadRequest, "invalid_request", "only async mode is supported")
		return
	}
	var hashes [][]byte
	var docs []string
	for i, h := range req.Hash {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != 32 {
			writeError(w, http.StatusBadRequest, "invalid_request", "every hash must be a Base64 SHA-256 digest")
			return
		}
		hashes, docs = append(hashes, b), append(docs, req.Documents[i].DocumentID)
	}
	sc := scenarioOf(userID)
	switch sc {
	case ScenarioRevoked, ScenarioNoCertificate:
		writeError(w, http.StatusBadRequest, "invalid_credential", "the certificate is not valid")
		return
	case ScenarioServiceError:
		writeError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	case ScenarioBusy:
		writeError(w, http.StatusBadRequest, "busy", "another request is waiting on the user's phone")
		return
	}
	u, err := s.user(userID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tx := &transaction{id: hex.EncodeToString(b), user: u, docs: docs, hashes: hashes, status: "pending", expires: time.Now().Add(s.opts.Timeout)}
	s.mu.Lock()
	s.expireLocked()
	if p := u.pending; p != nil && p.status == "pending" {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "busy", "another request is waiting on the user's phone")
		return
	}
	s.txs[tx.id] = tx
	u.pending = tx
	u.prompts++
	if sc != ScenarioNone || s.opts.AutoApprove {
		s.wg.Add(1)
		go s.answerLater(tx, sc)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"transactionId": tx.id, "expiresIn": int(s.opts.Timeout / time.Second)})
}

func (s *Server) answerLater(tx *transaction, sc Scenario) {
	defer s.wg.Done()
	select {
	case <-s.done:
		return
	case <-time.After(s.opts.Latency):
	}
	switch sc {
	case ScenarioDecline:
		_ = s.decide(tx, false)
	case ScenarioExpire:
		s.mu.Lock()
		if tx.status == "pending" {
			tx.status, tx.user.pending = "expired", nil
		}
		s.mu.Unlock()
	default:
		_ = s.decide(tx, true)
	}
}

func (s *Server) decide(tx *transaction, approve bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if tx.status != "pending" {
		return ErrNoPending
	}
	tx.user.pending = nil
	if !approve {
		tx.status = "rejected"
		return nil
	}
	key := tx.user.key
	if scenarioOf(tx.user.id) == ScenarioWrongKey {
		key = tx.user.rogue
	}
	for _, h := range tx.hashes {
		if scenarioOf(tx.user.id) == ScenarioOtherDigest {
			h = append([]byte(nil), h...)
			h[0] ^= 0xff
		}
		sig, err := key.Sign(rand.Reader, h, crypto.SHA256)
		if err != nil {
			tx.status = "failed"
			return nil
		}
		tx.signatures = append(tx.signatures, b64(sig))
	}
	tx.status = "signed"
	return nil
}

func (s *Server) expireLocked() {
	now := time.Now()
	for _, tx := range s.txs {
		if tx.status == "pending" && now.After(tx.expires) {
			tx.status = "expired"
			if tx.user.pending == tx {
				tx.user.pending = nil
			}
		}
	}
}

func (s *Server) status(w http.ResponseWriter, userID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	tx, ok := s.txs[id]
	if !ok || tx.user.id != userID {
		writeError(w, http.StatusBadRequest, "unknown_transaction", "no such transaction for this user")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactionId": tx.id, "status": tx.status, "signatures": tx.signatures})
}

// Pending returns the documents waiting on a user's phone.
func (s *Server) Pending(userID string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if u := s.users[userID]; u != nil && u.pending != nil {
		return append([]string(nil), u.pending.docs...), true
	}
	return nil, false
}

// Approve approves the request waiting on a user's phone; Decline refuses it.
func (s *Server) Approve(userID string) error { return s.act(userID, true) }

// Decline refuses the request waiting on a user's phone.
func (s *Server) Decline(userID string) error { return s.act(userID, false) }

func (s *Server) act(userID string, approve bool) error {
	s.mu.Lock()
	u := s.users[userID]
	var tx *transaction
	if u != nil {
		tx = u.pending
	}
	s.mu.Unlock()
	if tx == nil {
		return ErrNoPending
	}
	return s.decide(tx, approve)
}

// Parsed on first use: start-up pays only for what a command uses.
var phonePage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("phone").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Viettel MySign (giả lập) {{.User}}</title>
<style>body{font-family:system-ui,sans-serif;background:#eee;padding:1rem}main{max-width:22rem;margin:auto;background:#fff;border:10px solid #b3001b;border-radius:2rem;padding:1.2rem}small{display:block;color:#666}button{font-size:1.1rem;width:100%;margin:.3rem 0;padding:.4rem}</style>
</head><body><main>
<h1>Viettel MySign <small>simulator, development only</small></h1>
<p>Người dùng <small>User</small> <b>{{.User}}</b></p>
{{with .Message}}<p id="message">{{.}}</p>{{end}}
{{if .Docs}}<section id="pending"><h2>Yêu cầu ký {{len .Docs}} tài liệu <small>Signature request</small></h2>
<form method="post" action="{{.Base}}/approve"><button>Đồng ý <small>Approve</small></button></form>
<form method="post" action="{{.Base}}/decline"><button>Từ chối <small>Decline</small></button></form></section>
{{else}}<p id="idle">Không có yêu cầu nào đang chờ. <small>No pending request.</small></p>{{end}}
</main></body></html>`))
})

func (s *Server) phone(w http.ResponseWriter, r *http.Request) {
	i := strings.LastIndex(r.URL.Path, "/phone/")
	userID, action, _ := strings.Cut(r.URL.Path[i+len("/phone/"):], "/")
	base := s.opts.PhonePath
	if base == "" {
		base = r.URL.Path[:i] + "/phone/"
	}
	if userID == "" && validUser(r.URL.Query().Get("user")) {
		http.Redirect(w, r, base+r.URL.Query().Get("user"), http.StatusSeeOther)
		return
	}
	if !validUser(userID) {
		http.Error(w, "Mã người dùng không hợp lệ / invalid user id", http.StatusNotFound)
		return
	}
	base += url.PathEscape(userID)
	switch {
	case action == "" && r.Method == http.MethodGet:
		docs, _ := s.Pending(userID)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		msg := map[string]string{"signed": "Đã ký. / Signed.", "declined": "Đã từ chối. / Declined.", "no-pending": "Không có yêu cầu. / Nothing pending."}[r.URL.Query().Get("r")]
		_ = phonePage().Execute(w, struct {
			User, Base, Message string
			Docs                []string
		}{userID, base, msg, docs})
	case (action == "approve" || action == "decline") && r.Method == http.MethodPost:
		err := s.act(userID, action == "approve")
		out := map[bool]string{true: "signed", false: "declined"}[action == "approve"]
		if err != nil {
			out = "no-pending"
		}
		http.Redirect(w, r, base+"?r="+out, http.StatusSeeOther)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	b.WriteString("<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>Viettel MySign (giả lập)</title><h1>Trình giả lập Viettel MySign <small>development only</small></h1><table><tr><th>Kịch bản / scenario</th><th>user_id</th></tr>")
	for _, sc := range []Scenario{ScenarioApprove, ScenarioDecline, ScenarioExpire, ScenarioWrongKey, ScenarioOtherDigest, ScenarioRevoked, ScenarioServiceError, ScenarioNoCertificate, ScenarioBusy} {
		fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s</code></td></tr>", template.HTMLEscapeString(sc.String()), ScenarioUser(sc))
	}
	b.WriteString("</table><p>Điện thoại ảo: phone/&lt;user_id&gt; <small>virtual phones</small></p></html>")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_, _ = w.Write([]byte(b.String()))
}
