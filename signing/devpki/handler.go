package devpki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Validity of the status information this PKI publishes. Short enough
// that a revocation shows within the hour, long enough for a verifier.
const (
	ocspValidity = time.Hour
	crlValidity  = 24 * time.Hour
)

// Handler serves the PKI under /pki/ (see the package documentation).
func (p *PKI) Handler() http.Handler {
	mux := http.NewServeMux()
	certPEM := func(c *x509.Certificate) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-pem-file")
			_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
	}
	certDER := func(c *x509.Certificate) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pkix-cert")
			_, _ = w.Write(c.Raw)
		}
	}
	mux.HandleFunc("GET /pki/root.pem", certPEM(p.root))
	mux.HandleFunc("GET /pki/root.cer", certDER(p.root))
	mux.HandleFunc("GET /pki/issuing.pem", certPEM(p.issuing))
	mux.HandleFunc("GET /pki/issuing.cer", certDER(p.issuing))
	mux.HandleFunc("GET /pki/crl/root.crl", p.serveCRL("root"))
	mux.HandleFunc("GET /pki/crl/issuing.crl", p.serveCRL("issuing"))
	mux.HandleFunc("POST /pki/ocsp", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.writeOCSP(w, body)
	})
	// RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}.
	mux.HandleFunc("GET /pki/ocsp/{req...}", func(w http.ResponseWriter, r *http.Request) {
		raw := strings.TrimPrefix(r.URL.EscapedPath(), "/pki/ocsp/")
		unescaped, err := url.PathUnescape(raw)
		if err != nil {
			p.writeOCSPBytes(w, ocsp.MalformedRequestErrorResponse)
			return
		}
		der, err := base64.StdEncoding.DecodeString(unescaped)
		if err != nil {
			p.writeOCSPBytes(w, ocsp.MalformedRequestErrorResponse)
			return
		}
		p.writeOCSP(w, der)
	})
	mux.Handle("/pki/tsa", p.tsaServer)
	return mux
}

func (p *PKI) writeOCSPBytes(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(b)
}

func (p *PKI) writeOCSP(w http.ResponseWriter, der []byte) {
	p.writeOCSPBytes(w, p.OCSPResponse(der))
}

// OCSPResponse answers a DER OCSP request with a DER OCSP response. The
// issuing CA's certificates get answers from the delegated responder; the
// root answers for the issuing CA itself.
func (p *PKI) OCSPResponse(der []byte) []byte {
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return ocsp.MalformedRequestErrorResponse
	}
	var issuer, responder *x509.Certificate
	var key crypto.Signer
	var issuerName string
	switch {
	case matchesIssuer(req, p.issuing):
		issuer, responder, key, issuerName = p.issuing, p.ocspCert, p.ocspKey, "issuing"
	case matchesIssuer(req, p.root):
		issuer, responder, key, issuerName = p.root, p.root, p.rootKey, "root"
	default:
		return ocsp.UnauthorizedErrorResponse
	}
	now := p.now().UTC().Truncate(time.Second)
	tmpl := ocsp.Response{
		SerialNumber: req.SerialNumber, IssuerHash: req.HashAlgorithm,
		ThisUpdate: now, NextUpdate: now.Add(ocspValidity), Status: ocsp.Good,
	}
	if responder != issuer {
		tmpl.Certificate = responder
	}
	p.mu.Lock()
	entry, known := p.issued[req.SerialNumber.Text(16)]
	rev, revoked := p.revoked[req.SerialNumber.Text(16)]
	p.mu.Unlock()
	switch {
	case !known || entry.Issuer != issuerName:
		// Never issued by this CA: "unknown" rather than a false "good".
		tmpl.Status = ocsp.Unknown
	case revoked:
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, rev.Time, rev.Reason
	}
	resp, err := ocsp.CreateResponse(issuer, responder, tmpl, key)
	if err != nil {
		return ocsp.InternalErrorErrorResponse
	}
	return resp
}

// matchesIssuer checks the request's CertID issuer hashes against ca.
func matchesIssuer(req *ocsp.Request, ca *x509.Certificate) bool {
	if !req.HashAlgorithm.Available() {
		return false
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(ca.RawSubjectPublicKeyInfo, &spki); err != nil {
		return false
	}
	h := req.HashAlgorithm.New()
	h.Write(spki.PublicKey.RightAlign())
	keyHash := h.Sum(nil)
	h.Reset()
	h.Write(ca.RawSubject)
	return bytes.Equal(keyHash, req.IssuerKeyHash) && bytes.Equal(h.Sum(nil), req.IssuerNameHash)
}

func (p *PKI) serveCRL(issuerName string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		der, err := p.CRL(issuerName)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(der)
	}
}

// CRL returns a freshly signed CRL of "root" or "issuing".
func (p *PKI) CRL(issuerName string) ([]byte, error) {
	issuer, key := p.issuing, p.issuingKey
	if issuerName == "root" {
		issuer, key = p.root, p.rootKey
	}
	now := p.now().UTC().Truncate(time.Second)
	var entries []x509.RevocationListEntry
	p.mu.Lock()
	for _, r := range p.revoked {
		if r.Issuer == issuerName {
			entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.Time, ReasonCode: r.Reason})
		}
	}
	p.mu.Unlock()
	// The CRL number must grow with each CRL; the clock in nanoseconds does.
	tmpl := &x509.RevocationList{
		Number: big.NewInt(p.now().UnixNano()), ThisUpdate: now, NextUpdate: now.Add(crlValidity),
		RevokedCertificateEntries: entries,
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
}
