// Package esigncloudsim simulates the relying-party signing services of
// FPT CA (eSignCloud) and of the Government CA's mobile PKI, which share
// one shape: a relying party authenticates every call with its user, its
// password and a signature made with its own key over them and a time;
// each signer has an agreement (agreementUUID) holding an RSA-2048
// certificate; a hash is prepared for signing, the signer authorizes on the
// phone, and the signature value is then fetched. It speaks JSON over HTTP
// under any prefix, for tests, development and the default install.
//
// # Endpoints (relative to the mount point; Options.Methods may rename them)
//
//	POST getCertificateDetailForSignCloud      {relyingParty, agreementUUID, credentialData}
//	                                           -> {responseCode, certificate, certificateChain[], certificateStatus}
//	POST prepareHashSigningForSignCloud        {relyingParty, agreementUUID, credentialData, hash, hashAlgorithm,
//	                                            authorizeMethod, notificationMessage, messagingMode}
//	                                           -> {responseCode 1007, billCode, remainingSeconds}
//	POST authorizeSingletonSigningForSignCloud {relyingParty, agreementUUID, credentialData, billCode, authorizeCode}
//	                                           -> {responseCode 0, signatureValue} | {responseCode 1007} while waiting
//	GET  phone/{agreement}                     the signer's phone; POST phone/{agreement}/approve, /decline
//
// credentialData is {relyingPartyUser, relyingPartyPassword, timestamp
// (Unix milliseconds), signature}: signature is the Base64 RSA PKCS#1 v1.5
// SHA-256 signature of user + password + timestamp by the relying party's
// key, verified against its registered certificate; a timestamp more than
// five minutes off is refused as a replay.
//
// responseCode: 0 success; 1001 relying party not authenticated; 1002 no
// agreement; 1003 certificate revoked or expired; 1004 invalid parameter;
// 1005 unknown bill code; 1006 the signer rejected; 1007 waiting for the
// signer; 1008 authorization expired; 1009 another request is waiting on
// the signer's phone; 5000 internal error.
//
// Scenario agreements 079000000CCC answer by themselves after Latency:
// 500 approve, 401 decline, 208 expire, 990 wrong key, 991 other digest,
// 501 revoked, 900 service error, 422 no agreement, 406 busy.
package esigncloudsim

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

// Response codes.
const (
	CodeOK            = 0
	CodeUnauthorized  = 1001
	CodeNoAgreement   = 1002
	CodeCertInvalid   = 1003
	CodeBadParameter  = 1004
	CodeUnknownBill   = 1005
	CodeRejected      = 1006
	CodeWaiting       = 1007
	CodeExpired       = 1008
	CodeBusy          = 1009
	CodeInternalError = 5000
)

// Methods names the three calls; the two services name them differently.
type Methods struct {
	Certificate, Prepare, Authorize string
}

// FPTMethods are eSignCloud's names.
var FPTMethods = Methods{"getCertificateDetailForSignCloud", "prepareHashSigningForSignCloud", "authorizeSingletonSigningForSignCloud"}

// Scenario is a scenario agreement's behaviour.
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

// ScenarioAgreement returns the agreement id of scenario s.
func ScenarioAgreement(s Scenario) string { return fmt.Sprintf("079000000%03d", int(s)) }

func scenarioOf(a string) Scenario {
	rest, ok := strings.CutPrefix(a, "079000000")
	if !ok || len(rest) != 3 {
		return ScenarioNone
	}
	n, _ := strconv.Atoi(rest)
	if _, ok := scenarioNames[Scenario(n)]; !ok {
		return ScenarioNone
	}
	return Scenario(n)
}

// validAgreement accepts ids of 6 to 64 letters, digits and dashes.
func validAgreement(a string) bool {
	if len(a) < 6 || len(a) > 64 {
		return false
	}
	for _, c := range a {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// RelyingParty is a registered relying party.
type RelyingParty struct {
	User, Password string
	// Certificate holds the public key of the relying party's PKCS#12.
	Certificate *x509.Certificate
}

// IssuerFunc issues a signer's key and chain, leaf first.
type IssuerFunc func(agreement, commonName string) (crypto.Signer, []*x509.Certificate, error)

// Options configure a Server.
type Options struct {
	// Name is shown on the pages ("FPT CA eSignCloud").
	Name string
	// Methods default to FPTMethods.
	Methods Methods
	// RelyingParties by relyingParty name.
	RelyingParties map[string]RelyingParty
	Issuer         IssuerFunc
	AutoApprove    bool
	// Latency of scenario agreements (default 20 ms); Timeout of a request
	// (default 5 min).
	Latency, Timeout time.Duration
	PhonePath        string
	Logger           *slog.Logger
}

// Server is the simulated service; an http.Handler.
type Server struct {
	opts  Options
	ca    *x509.Certificate
	caKey crypto.Signer

	mu     sync.Mutex
	signer map[string]*signer
	bills  map[string]*bill
	calls  map[string]int
	down   bool
	wg     sync.WaitGroup
	done   chan struct{}
	closed bool
}

type signer struct {
	id      string
	key     crypto.Signer
	rogue   crypto.Signer
	chain   []*x509.Certificate
	pending *bill
	prompts int
}

type bill struct {
	code      string
	signer    *signer
	hash      []byte
	message   string
	state     string // waiting, approved, rejected, expired, failed
	signature []byte
	expires   time.Time
}

// NewServer returns a simulator.
func NewServer(opts Options) (*Server, error) {
	if opts.Name == "" {
		opts.Name = "FPT CA eSignCloud"
	}
	if opts.Methods == (Methods{}) {
		opts.Methods = FPTMethods
	}
	if opts.Latency <= 0 {
		opts.Latency = 20 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, signer: map[string]*signer{}, bills: map[string]*bill{}, calls: map[string]int{}, done: make(chan struct{})}
	if opts.Issuer == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		if s.ca, err = issue(key, key.Public(), nil, opts.Name+" simulator CA (development only)", true); err != nil {
			return nil, err
		}
		s.caKey = key
	}
	return s, nil
}

// CA returns the in-memory CA (nil with an Issuer).
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

// Calls counts the calls that reached a method.
func (s *Server) Calls(method string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls[method] }

// Prompts counts the requests a signer's phone was shown.
func (s *Server) Prompts(agreement string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.signer[agreement]; g != nil {
		return g.prompts
	}
	return 0
}

var (
	// ErrNoPending: nothing waits on the phone.
	ErrNoPending = errors.New("esigncloudsim: no pending request on this phone")
	// ErrBadAgreement: not an agreement id.
	ErrBadAgreement = errors.New("esigncloudsim: not an agreement id")
)

func (s *Server) get(id string) (*signer, error) {
	if !validAgreement(id) {
		return nil, ErrBadAgreement
	}
	s.mu.Lock()
	g := s.signer[id]
	s.mu.Unlock()
	if g != nil {
		return g, nil
	}
	name := "Người ký " + id
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
		return nil, err
	}
	ng := &signer{id: id, key: key, chain: chain}
	if scenarioOf(id) == ScenarioWrongKey {
		if ng.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.signer[id]; g != nil {
		return g, nil
	}
	s.signer[id] = ng
	return ng, nil
}

func issue(caKey crypto.Signer, pub crypto.PublicKey, parent *x509.Certificate, cn string, isCA bool) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{Country: []string{"VN"}, Organization: []string{"eSignCloud simulator"}, CommonName: cn},
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

// CredentialSignature is what a relying party signs: user, password and
// timestamp concatenated.
func CredentialSignature(user, password, timestamp string) []byte {
	return []byte(user + password + timestamp)
}

type credentialData struct {
	User      string `json:"relyingPartyUser"`
	Password  string `json:"relyingPartyPassword"`
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature"`
}

type request struct {
	RelyingParty        string         `json:"relyingParty"`
	AgreementUUID       string         `json:"agreementUUID"`
	CredentialData      credentialData `json:"credentialData"`
	Hash                string         `json:"hash"`
	HashAlgorithm       string         `json:"hashAlgorithm"`
	AuthorizeMethod     int            `json:"authorizeMethod"`
	NotificationMessage string         `json:"notificationMessage"`
	BillCode            string         `json:"billCode"`
	AuthorizeCode       string         `json:"authorizeCode"`
}

func answer(w http.ResponseWriter, code int, msg string, extra map[string]any) {
	out := map[string]any{"responseCode": code, "responseMessage": msg}
	for k, v := range extra {
		out[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusOK
	if code == CodeInternalError {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// authenticate checks the relying party's credentials and request signature.
func (s *Server) authenticate(req *request) bool {
	rp, ok := s.opts.RelyingParties[req.RelyingParty]
	cd := req.CredentialData
	if !ok || !hmac.Equal([]byte(cd.User), []byte(rp.User)) || !hmac.Equal([]byte(cd.Password), []byte(rp.Password)) || rp.Certificate == nil {
		return false
	}
	ms, err := strconv.ParseInt(cd.Timestamp, 10, 64)
	if err != nil || time.Since(time.UnixMilli(ms)).Abs() > 5*time.Minute {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(cd.Signature)
	if err != nil {
		return false
	}
	pub, ok := rp.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return false
	}
	h := sha256.Sum256(CredentialSignature(cd.User, cd.Password, cd.Timestamp))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
}

// ServeHTTP routes by the path's last segment, whatever the mount prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.Contains(p, "/phone/") {
		s.phone(w, r)
		return
	}
	method := p[strings.LastIndex(p, "/")+1:]
	m := s.opts.Methods
	if method != m.Certificate && method != m.Prepare && method != m.Authorize {
		if r.Method == http.MethodGet {
			s.index(w)
			return
		}
		http.Error(w, "unknown method", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
		answer(w, CodeBadParameter, "unreadable body", nil)
		return
	}
	var req request
	if err := json.Unmarshal(buf.Bytes(), &req); err != nil {
		answer(w, CodeBadParameter, "malformed JSON", nil)
		return
	}
	s.mu.Lock()
	down := s.down
	if !down {
		s.calls[method]++
	}
	s.mu.Unlock()
	if down {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if !s.authenticate(&req) {
		answer(w, CodeUnauthorized, "relying party authentication failed", nil)
		return
	}
	sc := scenarioOf(req.AgreementUUID)
	if sc == ScenarioNoCertificate || !validAgreement(req.AgreementUUID) {
		answer(w, CodeNoAgreement, "agreement not found", nil)
		return
	}
	switch method {
	case m.Certificate:
		s.certificate(w, &req, sc)
	case m.Prepare:
		s.prepare(w, &req, sc)
	case m.Authorize:
		s.authorize(w, &req)
	}
}

func (s *Server) certificate(w http.ResponseWriter, req *request, sc Scenario) {
	g, err := s.get(req.AgreementUUID)
	if err != nil {
		answer(w, CodeInternalError, err.Error(), nil)
		return
	}
	status := "OPERATED"
	if sc == ScenarioRevoked {
		status = "REVOKED"
	}
	var chain []string
	for _, c := range g.chain[1:] {
		chain = append(chain, b64(c.Raw))
	}
	answer(w, CodeOK, "success", map[string]any{"certificate": b64(g.chain[0].Raw), "certificateChain": chain, "certificateStatus": status})
}

func (s *Server) prepare(w http.ResponseWriter, req *request, sc Scenario) {
	h, err := base64.StdEncoding.DecodeString(req.Hash)
	switch {
	case err != nil || len(h) != sha256.Size || !strings.EqualFold(req.HashAlgorithm, "SHA-256"):
		answer(w, CodeBadParameter, "hash must be a Base64 SHA-256 digest with hashAlgorithm SHA-256", nil)
		return
	case req.AuthorizeMethod != 4:
		answer(w, CodeBadParameter, "only authorizeMethod 4 (approval on the phone) is simulated", nil)
		return
	case sc == ScenarioRevoked:
		answer(w, CodeCertInvalid, "certificate revoked", nil)
		return
	case sc == ScenarioServiceError:
		answer(w, CodeInternalError, "internal error", nil)
		return
	case sc == ScenarioBusy:
		answer(w, CodeBusy, "another request is waiting on the signer's phone", nil)
		return
	}
	g, err := s.get(req.AgreementUUID)
	if err != nil {
		answer(w, CodeInternalError, err.Error(), nil)
		return
	}
	code := make([]byte, 10)
	_, _ = rand.Read(code)
	b := &bill{code: hex.EncodeToString(code), signer: g, hash: h, message: req.NotificationMessage, state: "waiting", expires: time.Now().Add(s.opts.Timeout)}
	s.mu.Lock()
	s.expireLocked()
	if p := g.pending; p != nil && p.state == "waiting" {
		s.mu.Unlock()
		answer(w, CodeBusy, "another request is waiting on the signer's phone", nil)
		return
	}
	s.bills[b.code] = b
	g.pending = b
	g.prompts++
	if sc != ScenarioNone || s.opts.AutoApprove {
		s.wg.Add(1)
		go s.answerLater(b, sc)
	}
	s.mu.Unlock()
	answer(w, CodeWaiting, "waiting for the signer's authorization", map[string]any{"billCode": b.code, "remainingSeconds": int(s.opts.Timeout / time.Second)})
}

func (s *Server) answerLater(b *bill, sc Scenario) {
	defer s.wg.Done()
	select {
	case <-s.done:
		return
	case <-time.After(s.opts.Latency):
	}
	switch sc {
	case ScenarioDecline:
		_ = s.decide(b, false)
	case ScenarioExpire:
		s.mu.Lock()
		if b.state == "waiting" {
			b.state, b.signer.pending = "expired", nil
		}
		s.mu.Unlock()
	default:
		_ = s.decide(b, true)
	}
}

func (s *Server) decide(b *bill, approve bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if b.state != "waiting" {
		return ErrNoPending
	}
	b.signer.pending = nil
	if !approve {
		b.state = "rejected"
		return nil
	}
	key, h := b.signer.key, b.hash
	switch scenarioOf(b.signer.id) {
	case ScenarioWrongKey:
		key = b.signer.rogue
	case ScenarioOtherDigest:
		h = append([]byte(nil), h...)
		h[0] ^= 0xff
	}
	sig, err := key.Sign(rand.Reader, h, crypto.SHA256)
	if err != nil {
		b.state = "failed"
		return nil
	}
	b.state, b.signature = "approved", sig
	return nil
}

func (s *Server) expireLocked() {
	now := time.Now()
	for _, b := range s.bills {
		if b.state == "waiting" && now.After(b.expires) {
			b.state = "expired"
			if b.signer.pending == b {
				b.signer.pending = nil
			}
		}
	}
}

func (s *Server) authorize(w http.ResponseWriter, req *request) {
	s.mu.Lock()
	s.expireLocked()
	b, ok := s.bills[req.BillCode]
	if !ok || b.signer.id != req.AgreementUUID {
		s.mu.Unlock()
		answer(w, CodeUnknownBill, "bill code not found", nil)
		return
	}
	state, sig := b.state, b.signature
	s.mu.Unlock()
	switch state {
	case "waiting":
		answer(w, CodeWaiting, "waiting for the signer's authorization", nil)
	case "approved":
		answer(w, CodeOK, "success", map[string]any{"signatureValue": b64(sig)})
	case "rejected":
		answer(w, CodeRejected, "the signer rejected the request", nil)
	case "expired":
		answer(w, CodeExpired, "the authorization expired", nil)
	default:
		answer(w, CodeInternalError, "signing failed", nil)
	}
}

// Pending reports whether a request waits on the agreement's phone, and
// its message.
func (s *Server) Pending(agreement string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if g := s.signer[agreement]; g != nil && g.pending != nil {
		return g.pending.message, true
	}
	return "", false
}

// Approve approves the waiting request on the agreement's phone.
func (s *Server) Approve(agreement string) error { return s.act(agreement, true) }

// Decline rejects it.
func (s *Server) Decline(agreement string) error { return s.act(agreement, false) }

func (s *Server) act(agreement string, approve bool) error {
	s.mu.Lock()
	g := s.signer[agreement]
	var b *bill
	if g != nil {
		b = g.pending
	}
	s.mu.Unlock()
	if b == nil {
		return ErrNoPending
	}
	return s.decide(b, approve)
}

// Parsed on first use: start-up pays only for what a command uses.
var phonePage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("phone").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}} (giả lập)</title>
<style>body{font-family:system-ui,sans-serif;background:#eee;padding:1rem}main{max-width:22rem;margin:auto;background:#fff;border:10px solid #f37021;border-radius:2rem;padding:1.2rem}small{display:block;color:#666}button{font-size:1.1rem;width:100%;margin:.3rem 0;padding:.4rem}</style>
</head><body><main>
<h1>{{.Name}} <small>simulator, development only</small></h1>
<p>Thỏa thuận <small>Agreement</small> <b>{{.Agreement}}</b></p>
{{with .Result}}<p id="message">{{.}}</p>{{end}}
{{if .Pending}}<section id="pending"><h2>Yêu cầu ký số <small>Signature request</small></h2><p id="display">{{.Message}}</p>
<form method="post" action="{{.Base}}/approve"><button>Đồng ý <small>Approve</small></button></form>
<form method="post" action="{{.Base}}/decline"><button>Từ chối <small>Reject</small></button></form></section>
{{else}}<p id="idle">Không có yêu cầu nào đang chờ. <small>No pending request.</small></p>{{end}}
</main></body></html>`))
})

func (s *Server) phone(w http.ResponseWriter, r *http.Request) {
	i := strings.LastIndex(r.URL.Path, "/phone/")
	id, action, _ := strings.Cut(r.URL.Path[i+len("/phone/"):], "/")
	base := s.opts.PhonePath
	if base == "" {
		base = r.URL.Path[:i] + "/phone/"
	}
	if !validAgreement(id) {
		http.Error(w, "Thỏa thuận không hợp lệ / invalid agreement", http.StatusNotFound)
		return
	}
	base += url.PathEscape(id)
	switch {
	case action == "" && r.Method == http.MethodGet:
		msg, pending := s.Pending(id)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		res := map[string]string{"signed": "Đã ký. / Signed.", "declined": "Đã từ chối. / Rejected.", "no-pending": "Không có yêu cầu. / Nothing pending."}[r.URL.Query().Get("r")]
		_ = phonePage().Execute(w, struct {
			Name, Agreement, Base, Message, Result string
			Pending                                bool
		}{s.opts.Name, id, base, msg, res, pending})
	case (action == "approve" || action == "decline") && r.Method == http.MethodPost:
		out := map[bool]string{true: "signed", false: "declined"}[action == "approve"]
		if err := s.act(id, action == "approve"); err != nil {
			out = "no-pending"
		}
		http.Redirect(w, r, base+"?r="+out, http.StatusSeeOther)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *Server) index(w http.ResponseWriter) {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>%s (giả lập)</title><h1>%s <small>simulator, development only</small></h1><table><tr><th>Kịch bản / scenario</th><th>agreementUUID</th></tr>",
		template.HTMLEscapeString(s.opts.Name), template.HTMLEscapeString(s.opts.Name))
	for _, sc := range []Scenario{ScenarioApprove, ScenarioDecline, ScenarioExpire, ScenarioWrongKey, ScenarioOtherDigest, ScenarioRevoked, ScenarioServiceError, ScenarioNoCertificate, ScenarioBusy} {
		fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s</code></td></tr>", sc, ScenarioAgreement(sc))
	}
	b.WriteString("</table><p>Điện thoại ảo: phone/&lt;agreementUUID&gt;</p></html>")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_, _ = w.Write([]byte(b.String()))
}
