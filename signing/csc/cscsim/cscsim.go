// Package cscsim is a Cloud Signature Consortium API v2 remote signing
// service for tests and development. It speaks HTTP like a real service
// (use it with httptest.NewServer), holds its own keys in memory under a
// small test CA, and enforces what a client must get right:
//
//   - OAuth2 client credentials (POST /oauth2/token) and Bearer tokens on
//     every other method except /info;
//   - SCAL2 hash binding: the SAD from credentials/authorize is valid only
//     for the hashes it was issued for, at most numSignatures times, and
//     only until it expires;
//   - asynchronous approval: for an Async credential, credentials/authorize
//     answers 202 Accepted with a responseID, and credentials/authorizeCheck
//     answers 202 until the signer approves (Approve, or by itself after
//     Options.ApprovalDelay) or declines (Decline); then it returns the SAD
//     or the error access_denied; unanswered requests end with
//     expired_token;
//   - error scenarios: Fail injects an error answer, SetDown makes every
//     method answer 503, SignOtherHash makes a credential sign a different
//     hash than asked, as a broken or malicious service would.
//
// Errors use the CSC/OAuth2 form {"error": "...", "error_description": "..."}.
package cscsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// CredentialSpec describes one signing credential the server holds.
type CredentialSpec struct {
	ID string
	// Key is "rsa" (RSA-2048) or "ec" (P-256). Default "rsa".
	Key string
	// SCAL is 1 or 2. With SCAL 2 the SAD binds the authorized hashes.
	// Default 2.
	SCAL int
	// Async credentials wait for the signer's approval on a device.
	Async bool
	// PIN, when set, must be sent in authData as {"id": "PIN"}.
	PIN string
	// Subject is the certificate's common name. Default: the ID.
	Subject string
	// Disabled reports the key as disabled in credentials/info and refuses
	// to authorize.
	Disabled bool
	// RawECDSA returns ECDSA signatures as raw r||s instead of DER, as some
	// services do.
	RawECDSA bool
	// WrongKey signs with a key other than the certificate's, as a
	// service that mixed up its keys would; clients must refuse it.
	WrongKey bool
	// Signer, when set, is the credential's key instead of a fresh one (an
	// *rsa.PrivateKey or *ecdsa.PrivateKey matching Key); tests reuse keys
	// because RSA generation is slow.
	Signer crypto.Signer
}

// Options configure a Server. Zero values get the defaults noted.
type Options struct {
	// ClientID and ClientSecret are the OAuth2 client credentials the
	// server accepts. Defaults "vanban" and "vanban-secret".
	ClientID, ClientSecret string
	// Credentials to hold. Default: "seal-rsa" (RSA, SCAL2, synchronous)
	// and "leader-ec" (P-256, SCAL2, asynchronous approval).
	Credentials []CredentialSpec
	// ApprovalDelay, when positive, approves asynchronous authorizations
	// by itself this long after they were requested.
	ApprovalDelay time.Duration
	// ApprovalTimeout is how long an asynchronous authorization waits for
	// the signer. Default 2 minutes.
	ApprovalTimeout time.Duration
	// SADLifetime is how long a SAD stays valid. Default 5 minutes.
	SADLifetime time.Duration
	// TokenLifetime is how long an access token stays valid. Default 1 hour.
	TokenLifetime time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Fault is an error answer injected with Server.Fail.
type Fault struct {
	// Status is the HTTP status; 0 (or anything invalid) means 500.
	Status      int
	Error       string
	Description string
	// Times is how many requests get the fault; 0 means once.
	Times int
}

// Pending is an asynchronous authorization waiting for the signer, what a
// signer's phone would show.
type Pending struct {
	ResponseID   string
	CredentialID string
	Description  string
	Hashes       [][]byte
	Requested    time.Time
}

// Server is the simulated service. It is an http.Handler; mount it at the
// root of an httptest.Server and use that server's URL as the CSC base URL.
type Server struct {
	opts Options
	ca   *x509.Certificate

	mu        sync.Mutex
	creds     map[string]*credential
	tokens    map[string]time.Time // access token -> expiry
	sads      map[string]*sad
	auths     map[string]*authorization // responseID -> authorization
	faults    map[string][]Fault
	down      bool
	otherHash map[string]bool
	calls     map[string]int
}

type credential struct {
	spec  CredentialSpec
	key   crypto.Signer
	chain []*x509.Certificate
	// rogue signs instead of key for a WrongKey credential.
	rogue crypto.Signer
}

type sad struct {
	credentialID string
	hashes       map[string]bool // base64 of each authorized hash
	remaining    int
	expires      time.Time
}

type authorization struct {
	Pending
	numSignatures int
	state         string // "pending", "approved", "declined", "expired"
	sad           string
}

// NewServer makes a server with fresh keys and a fresh test CA.
func NewServer(opts Options) (*Server, error) {
	if opts.ClientID == "" {
		opts.ClientID = "vanban"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "vanban-secret"
	}
	if opts.Credentials == nil {
		opts.Credentials = []CredentialSpec{
			{ID: "seal-rsa", Key: "rsa", Subject: "Con dấu Văn phòng (cscsim)"},
			{ID: "leader-ec", Key: "ec", Async: true, Subject: "Nguyễn Văn Lãnh Đạo (cscsim)"},
		}
	}
	if opts.ApprovalTimeout <= 0 {
		opts.ApprovalTimeout = 2 * time.Minute
	}
	if opts.SADLifetime <= 0 {
		opts.SADLifetime = 5 * time.Minute
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		creds:     map[string]*credential{},
		tokens:    map[string]time.Time{},
		sads:      map[string]*sad{},
		auths:     map[string]*authorization{},
		faults:    map[string][]Fault{},
		otherHash: map[string]bool{},
		calls:     map[string]int{},
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	if s.ca, err = issue(1, "cscsim Test CA", true, caKey.Public(), nil, caKey, now); err != nil {
		return nil, err
	}
	for i, spec := range opts.Credentials {
		if spec.ID == "" {
			return nil, errors.New("cscsim: credential without ID")
		}
		if _, dup := s.creds[spec.ID]; dup {
			return nil, fmt.Errorf("cscsim: credential %q listed twice", spec.ID)
		}
		if spec.SCAL == 0 {
			spec.SCAL = 2
		}
		if spec.SCAL != 1 && spec.SCAL != 2 {
			return nil, fmt.Errorf("cscsim: credential %q: SCAL must be 1 or 2", spec.ID)
		}
		if spec.Subject == "" {
			spec.Subject = spec.ID
		}
		key := spec.Signer
		switch spec.Key {
		case "", "rsa":
			spec.Key = "rsa"
			if key == nil {
				key, err = rsa.GenerateKey(rand.Reader, 2048)
			} else if _, ok := key.(*rsa.PrivateKey); !ok {
				err = fmt.Errorf("cscsim: credential %q: Signer %T is not an RSA key", spec.ID, key)
			}
		case "ec":
			if key == nil {
				key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			} else if k, ok := key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
				err = fmt.Errorf("cscsim: credential %q: Signer %T is not a P-256 key", spec.ID, key)
			}
		default:
			err = fmt.Errorf("cscsim: credential %q: key type %q, want rsa or ec", spec.ID, spec.Key)
		}
		if err != nil {
			return nil, err
		}
		leaf, err := issue(int64(i+2), spec.Subject, false, key.Public(), s.ca, caKey, now)
		if err != nil {
			return nil, err
		}
		cred := &credential{spec: spec, key: key, chain: []*x509.Certificate{leaf, s.ca}}
		if spec.WrongKey {
			// The impostor key is of the same type, so the signature
			// is well formed and only verification can tell.
			if spec.Key == "ec" {
				cred.rogue, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			} else {
				cred.rogue, err = rsa.GenerateKey(rand.Reader, 2048)
			}
			if err != nil {
				return nil, err
			}
		}
		s.creds[spec.ID] = cred
	}
	return s, nil
}

// CA returns the test CA that issued every credential's certificate.
func (s *Server) CA() *x509.Certificate { return s.ca }

// Certificate returns a credential's end-entity certificate, or nil.
func (s *Server) Certificate(credentialID string) *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.creds[credentialID]; ok {
		return c.chain[0]
	}
	return nil
}

// Approve approves a pending asynchronous authorization, as the signer
// would on the phone.
func (s *Server) Approve(responseID string) error { return s.decide(responseID, "approved") }

// Decline declines a pending asynchronous authorization.
func (s *Server) Decline(responseID string) error { return s.decide(responseID, "declined") }

func (s *Server) decide(responseID, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[responseID]
	if !ok {
		return fmt.Errorf("cscsim: no authorization %q", responseID)
	}
	s.settle(a)
	if a.state != "pending" {
		return fmt.Errorf("cscsim: authorization %q is already %s", responseID, a.state)
	}
	a.state = state
	if state == "approved" {
		a.sad = s.newSAD(a.CredentialID, a.Hashes, a.numSignatures)
	}
	return nil
}

// Pending lists the asynchronous authorizations waiting for the signer,
// oldest first.
func (s *Server) Pending() []Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Pending
	for _, a := range s.auths {
		s.settle(a)
		if a.state == "pending" {
			out = append(out, a.Pending)
		}
	}
	slices.SortFunc(out, func(a, b Pending) int { return a.Requested.Compare(b.Requested) })
	return out
}

// Fail makes the next requests to method (e.g. "signatures/signHash",
// "oauth2/token") answer with f instead of being served.
func (s *Server) Fail(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Status < 100 || f.Status > 599 {
		f.Status = http.StatusInternalServerError
	}
	s.faults[strings.Trim(method, "/")] = append(s.faults[strings.Trim(method, "/")], f)
}

// SetDown makes every method answer 503 Service Unavailable while down.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SignOtherHash makes a credential sign a different hash than it was asked
// to, so clients can prove they check what they get.
func (s *Server) SignOtherHash(credentialID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.otherHash[credentialID] = on
}

// ExpireSADs makes every SAD issued so far expired.
func (s *Server) ExpireSADs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-time.Second)
	for _, v := range s.sads {
		v.expires = past
	}
}

// Calls returns how many requests reached method (after faults and down
// checks), for tests that count round trips.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.Trim(method, "/")]
}

// ServeHTTP routes a request. Paths may carry a prefix (such as /csc/v2);
// the method is the last one or two path segments.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := methodOf(r.URL.Path)
	handler, ok := s.routes()[method]
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request", "unknown method "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "service is down")
		return
	}
	if fs := s.faults[method]; len(fs) > 0 {
		f := fs[0]
		if f.Times--; f.Times <= 0 {
			s.faults[method] = fs[1:]
		} else {
			fs[0] = f
		}
		s.mu.Unlock()
		writeError(w, f.Status, f.Error, f.Description)
		return
	}
	s.calls[method]++
	s.mu.Unlock()

	if method != "info" && method != "oauth2/token" && !s.authenticated(r) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "missing, unknown or expired access token")
		return
	}
	handler(w, r)
}

func (s *Server) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"info":                       s.info,
		"oauth2/token":               s.token,
		"credentials/list":           s.credentialsList,
		"credentials/info":           s.credentialsInfo,
		"credentials/authorize":      s.authorize,
		"credentials/authorizeCheck": s.authorizeCheck,
		"signatures/signHash":        s.signHash,
	}
}

// methodOf finds the CSC method a path names, whatever prefix the service
// is mounted under (/csc/v2/credentials/info -> credentials/info).
func methodOf(path string) string {
	path = "/" + strings.Trim(path, "/")
	for _, m := range methods {
		if strings.HasSuffix(path, "/"+m) {
			return m
		}
	}
	return strings.Trim(path, "/")
}

// "info" comes last: it is a suffix of "credentials/info".
var methods = []string{"oauth2/token", "credentials/list", "credentials/info", "credentials/authorize", "credentials/authorizeCheck", "signatures/signHash", "info"}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"specs":       "2.0.0.2",
		"name":        "vanban cscsim",
		"region":      "VN",
		"lang":        "vi-VN",
		"description": "CSC API v2 simulator for tests",
		"authType":    []string{"oauth2client"},
		"methods":     methods[:len(methods)-1],
	})
}

// token implements the OAuth2 client credentials grant (RFC 6749 4.4),
// with the client authenticated by HTTP Basic or by form parameters.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+gt+" is not supported")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.opts.ClientID || secret != s.opts.ClientSecret {
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	tok := randomID(24)
	s.mu.Lock()
	s.tokens[tok] = s.opts.Now().Add(s.opts.TokenLifetime)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(s.opts.TokenLifetime / time.Second),
	})
}

func (s *Server) authenticated(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.opts.Now().Before(exp)
}

func (s *Server) credentialsList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CredentialInfo bool   `json:"credentialInfo"`
		Certificates   string `json:"certificates"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.creds))
	for id := range s.creds {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	slices.Sort(ids)
	resp := map[string]any{"credentialIDs": ids}
	if req.CredentialInfo {
		infos := make([]map[string]any, 0, len(ids))
		for _, id := range ids {
			info := s.describe(s.creds[id], req.Certificates)
			info["credentialID"] = id
			infos = append(infos, info)
		}
		resp["credentialInfos"] = infos
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) credentialsInfo(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CredentialID string `json:"credentialID"`
		Certificates string `json:"certificates"`
		CertInfo     bool   `json:"certInfo"`
		AuthInfo     bool   `json:"authInfo"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	c, ok := s.credential(w, req.CredentialID)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.describe(c, req.Certificates))
}

func (s *Server) describe(c *credential, certs string) map[string]any {
	key := map[string]any{"status": "enabled"}
	if c.spec.Disabled {
		key["status"] = "disabled"
	}
	switch c.spec.Key {
	case "rsa":
		key["algo"] = []string{oidRSAEncryption, oidSHA256WithRSA, oidRSAPSS}
		key["len"] = 2048
	case "ec":
		key["algo"] = []string{oidECPublicKey, oidECDSAWithSHA256, oidECDSAWithSHA384, oidECDSAWithSHA512}
		key["len"] = 256
		key["curve"] = "1.2.840.10045.3.1.7"
	}
	leaf := c.chain[0]
	cert := map[string]any{
		"status":       "valid",
		"issuerDN":     leaf.Issuer.String(),
		"subjectDN":    leaf.Subject.String(),
		"serialNumber": hex.EncodeToString(leaf.SerialNumber.Bytes()),
		"validFrom":    leaf.NotBefore.UTC().Format("20060102150405Z"),
		"validTo":      leaf.NotAfter.UTC().Format("20060102150405Z"),
	}
	switch certs {
	case "none":
	case "chain":
		cert["certificates"] = []string{b64(leaf.Raw), b64(c.chain[1].Raw)}
	default: // "single" is the CSC default
		cert["certificates"] = []string{b64(leaf.Raw)}
	}
	auth := map[string]any{"mode": "explicit"}
	if c.spec.PIN != "" {
		auth["expression"] = "PIN"
		auth["objects"] = []map[string]any{{"type": "Password", "id": "PIN", "format": "N", "label": "PIN"}}
	}
	if c.spec.Async {
		// The signer approves on a device; no authData is needed.
		auth["mode"] = "explicit"
		auth["description"] = "approval on the signer's mobile device"
	}
	return map[string]any{
		"description": "cscsim credential " + c.spec.ID,
		"key":         key,
		"cert":        cert,
		"auth":        auth,
		"SCAL":        fmt.Sprint(c.spec.SCAL),
		"multisign":   10,
		"lang":        "vi-VN",
	}
}

func (s *Server) credential(w http.ResponseWriter, id string) (*credential, bool) {
	if id == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "missing (or invalid type) string parameter credentialID")
		return nil, false
	}
	s.mu.Lock()
	c, ok := s.creds[id]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request", "invalid parameter credentialID")
		return nil, false
	}
	return c, true
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CredentialID     string   `json:"credentialID"`
		NumSignatures    int      `json:"numSignatures"`
		Hashes           []string `json:"hashes"`
		HashAlgorithmOID string   `json:"hashAlgorithmOID"`
		AuthData         []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		} `json:"authData"`
		Description string `json:"description"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	c, ok := s.credential(w, req.CredentialID)
	if !ok {
		return
	}
	if c.spec.Disabled {
		writeError(w, http.StatusBadRequest, "invalid_request", "the credential is disabled")
		return
	}
	if req.NumSignatures < 1 {
		writeError(w, http.StatusBadRequest, "invalid_request", "missing (or invalid type) integer parameter numSignatures")
		return
	}
	hashes, ok := decodeHashes(w, req.Hashes, req.HashAlgorithmOID)
	if !ok {
		return
	}
	if c.spec.SCAL == 2 && len(hashes) != req.NumSignatures {
		writeError(w, http.StatusBadRequest, "invalid_request", "SCAL2 needs exactly numSignatures hashes")
		return
	}
	if c.spec.PIN != "" {
		pin := ""
		for _, a := range req.AuthData {
			if a.ID == "PIN" {
				pin = a.Value
			}
		}
		if pin != c.spec.PIN {
			writeError(w, http.StatusBadRequest, "invalid_pin", "the PIN is not correct")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.spec.Async {
		writeJSON(w, http.StatusOK, map[string]any{
			"SAD":       s.newSAD(c.spec.ID, hashes, req.NumSignatures),
			"expiresIn": int(s.opts.SADLifetime / time.Second),
		})
		return
	}
	id := randomID(16)
	s.auths[id] = &authorization{
		Pending: Pending{
			ResponseID:   id,
			CredentialID: c.spec.ID,
			Description:  req.Description,
			Hashes:       hashes,
			Requested:    s.opts.Now(),
		},
		numSignatures: req.NumSignatures,
		state:         "pending",
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"responseID": id,
		"expiresIn":  int(s.opts.ApprovalTimeout / time.Second),
	})
}

func (s *Server) authorizeCheck(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ResponseID string `json:"responseID"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[req.ResponseID]
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request", "invalid parameter responseID")
		return
	}
	s.settle(a)
	switch a.state {
	case "pending":
		writeJSON(w, http.StatusAccepted, map[string]any{"responseID": a.ResponseID, "status": "pending"})
	case "approved":
		writeJSON(w, http.StatusOK, map[string]any{"SAD": a.sad, "expiresIn": int(s.opts.SADLifetime / time.Second)})
	case "declined":
		writeError(w, http.StatusBadRequest, "access_denied", "the signer declined the request")
	default:
		writeError(w, http.StatusBadRequest, "expired_token", "the signer did not answer in time")
	}
}

// settle applies the passage of time to an authorization: auto-approval
// after ApprovalDelay, expiry after ApprovalTimeout. Caller holds s.mu.
func (s *Server) settle(a *authorization) {
	if a.state != "pending" {
		return
	}
	now := s.opts.Now()
	switch {
	case s.opts.ApprovalDelay > 0 && !now.Before(a.Requested.Add(s.opts.ApprovalDelay)):
		a.state = "approved"
		a.sad = s.newSAD(a.CredentialID, a.Hashes, a.numSignatures)
	case !now.Before(a.Requested.Add(s.opts.ApprovalTimeout)):
		a.state = "expired"
	}
}

// newSAD issues a SAD bound to hashes. Caller holds s.mu.
func (s *Server) newSAD(credentialID string, hashes [][]byte, n int) string {
	v := &sad{credentialID: credentialID, hashes: map[string]bool{}, remaining: n, expires: s.opts.Now().Add(s.opts.SADLifetime)}
	for _, h := range hashes {
		v.hashes[b64(h)] = true
	}
	id := randomID(24)
	s.sads[id] = v
	return id
}

func (s *Server) signHash(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CredentialID     string   `json:"credentialID"`
		SAD              string   `json:"SAD"`
		Hashes           []string `json:"hashes"`
		HashAlgorithmOID string   `json:"hashAlgorithmOID"`
		SignAlgo         string   `json:"signAlgo"`
		SignAlgoParams   string   `json:"signAlgoParams"`
		OperationMode    string   `json:"operationMode"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	c, ok := s.credential(w, req.CredentialID)
	if !ok {
		return
	}
	if req.OperationMode != "" && req.OperationMode != "S" {
		writeError(w, http.StatusBadRequest, "invalid_request", "only operationMode S is supported")
		return
	}
	hashes, ok := decodeHashes(w, req.Hashes, req.HashAlgorithmOID)
	if !ok {
		return
	}
	hash, _ := hashByOID(req.HashAlgorithmOID)
	opts, ok := signerOpts(w, c, req.SignAlgo, req.SignAlgoParams, hash)
	if !ok {
		return
	}

	s.mu.Lock()
	v, ok := s.sads[req.SAD]
	switch {
	case req.SAD == "" || !ok || v.credentialID != c.spec.ID:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "invalid_request", "invalid parameter SAD")
		return
	case !s.opts.Now().Before(v.expires):
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "invalid_request", "SAD expired")
		return
	case v.remaining < len(hashes):
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "invalid_request", "numSignatures exceeded for this SAD")
		return
	}
	if c.spec.SCAL == 2 {
		for _, h := range hashes {
			if !v.hashes[b64(h)] {
				s.mu.Unlock()
				writeError(w, http.StatusBadRequest, "invalid_request", "hash not authorized by the SAD")
				return
			}
		}
	}
	v.remaining -= len(hashes)
	if v.remaining == 0 {
		delete(s.sads, req.SAD)
	}
	other := s.otherHash[c.spec.ID]
	s.mu.Unlock()

	sigs := make([]string, 0, len(hashes))
	for _, h := range hashes {
		if other {
			h = append([]byte(nil), h...)
			h[0] ^= 0xff
		}
		sig, err := sign(c, h, opts)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		sigs = append(sigs, b64(sig))
	}
	writeJSON(w, http.StatusOK, map[string]any{"signatures": sigs})
}

func sign(c *credential, h []byte, opts crypto.SignerOpts) ([]byte, error) {
	key := c.key
	if c.rogue != nil {
		key = c.rogue
	}
	sig, err := key.Sign(rand.Reader, h, opts)
	if err != nil || !c.spec.RawECDSA {
		return sig, err
	}
	pub := c.key.Public().(*ecdsa.PublicKey)
	var v struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &v); err != nil {
		return nil, err
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	raw := make([]byte, 2*size)
	v.R.FillBytes(raw[:size])
	v.S.FillBytes(raw[size:])
	return raw, nil
}

func decodeHashes(w http.ResponseWriter, in []string, hashOID string) ([][]byte, bool) {
	hash, ok := hashByOID(hashOID)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request", "missing or unsupported hashAlgorithmOID")
		return nil, false
	}
	if len(in) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "missing (or invalid type) array parameter hashes")
		return nil, false
	}
	out := make([][]byte, 0, len(in))
	for _, h := range in {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != hash.Size() {
			writeError(w, http.StatusBadRequest, "invalid_request", "invalid Base64 hash string parameter")
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed JSON body: "+err.Error())
		return false
	}
	return true
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

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func issue(serial int64, cn string, ca bool, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, now time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"cscsim"}, CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		id := sha256.Sum256([]byte(cn))
		tmpl.SubjectKeyId = id[:20]
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
