// Package devpki is a self-contained development PKI: a root CA, an
// issuing CA, a time-stamp authority and an OCSP responder, with CRLs, all
// served over HTTP by Handler. It lets vanban produce PAdES B-LT/B-LTA
// signatures end to end on a laptop or in CI, where no accredited CA, TSA
// or OCSP responder is reachable.
//
// Nothing here is meant for production: the CA keys sit in a file next to
// the application. Certificates say "development" in their organization.
//
// Layout under the base URL (the origin Handler is mounted at):
//
//	/pki/root.pem, /pki/root.cer         root certificate (trust anchor)
//	/pki/issuing.pem, /pki/issuing.cer   issuing CA certificate (AIA caIssuers)
//	/pki/ocsp                            OCSP (POST, or GET /pki/ocsp/{base64})
//	/pki/crl/root.crl, /pki/crl/issuing.crl
//	/pki/tsa                             RFC 3161 time-stamping
package devpki

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
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"vanban/signing/tsa"
)

// Usage says whom a signing certificate is for.
type Usage int

const (
	// Person: a leader signing in person; subject CN is the person's name
	// and O the office.
	Person Usage = iota + 1
	// Organization: an office seal; subject CN and O name the office.
	Organization
)

// Key types accepted by IssueSigner.
const (
	KeyRSA2048 = "rsa2048"
	KeyP256    = "p256"
)

var (
	// TSAPolicy is the policy OID of the development TSA (under a private
	// arc; it asserts nothing).
	TSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 59999, 1, 1}

	oidExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidOCSPNoCheck    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	oidKPTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	// id-kp-documentSigning (RFC 9336).
	oidKPDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
)

// ErrUnknownSerial is returned by Revoke for a serial this PKI never issued.
var ErrUnknownSerial = errors.New("devpki: no certificate with this serial number was issued here")

const stateFile = "devpki.json"

// PKI is a development PKI. Its methods are safe for concurrent use.
type PKI struct {
	baseURL string
	dir     string

	root, issuing, tsaCert, ocspCert *x509.Certificate
	rootKey, issuingKey, tsaKey      crypto.Signer
	ocspKey                          crypto.Signer
	tsaServer                        *tsa.Server

	// saveMu serializes save, so that a slower writer holding an older
	// snapshot cannot overwrite a newer state file.
	saveMu  sync.Mutex
	mu      sync.Mutex
	issued  map[string]issuedEntry // serial (hex) -> issuer
	revoked map[string]Revocation  // serial (hex)
	// now is the clock; tests replace it.
	now func() time.Time
}

type issuedEntry struct {
	// Issuer is "root" or "issuing".
	Issuer string `json:"issuer"`
}

// Revocation is one revoked certificate.
type Revocation struct {
	Serial *big.Int  `json:"serial"`
	Time   time.Time `json:"time"`
	// Reason is an RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise, ...).
	Reason int    `json:"reason"`
	Issuer string `json:"issuer"`
}

// state is what New persists in dir.
type state struct {
	BaseURL    string                 `json:"base_url"`
	RootKey    string                 `json:"root_key"`
	Root       string                 `json:"root"`
	IssuingKey string                 `json:"issuing_key"`
	Issuing    string                 `json:"issuing"`
	TSAKey     string                 `json:"tsa_key"`
	TSA        string                 `json:"tsa"`
	OCSPKey    string                 `json:"ocsp_key"`
	OCSP       string                 `json:"ocsp"`
	Issued     map[string]issuedEntry `json:"issued"`
	Revoked    []Revocation           `json:"revoked"`
}

// New creates a development PKI whose certificates point at baseURL (the
// origin where Handler will be served, e.g. "http://localhost:8080"). If
// dir is not empty, the PKI is loaded from dir when present and saved
// there otherwise, so that a restart keeps the same CA and revocations.
// When the saved PKI was made for another base URL, the same keys are
// kept and the issuing, TSA and OCSP certificates are re-issued with the
// new URLs; the root stays, so earlier signatures remain valid.
func New(baseURL, dir string) (*PKI, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("devpki: base URL %q must be an absolute http(s) URL", baseURL)
	}
	p := &PKI{
		baseURL: strings.TrimRight(baseURL, "/"), dir: dir,
		issued: map[string]issuedEntry{}, revoked: map[string]Revocation{}, now: time.Now,
	}
	if dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, stateFile))
		switch {
		case err == nil:
			if err := p.load(b); err != nil {
				return nil, err
			}
			p.tsaServer = tsa.NewServer(p.tsaKey, []*x509.Certificate{p.tsaCert, p.issuing}, TSAPolicy)
			return p, nil
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("devpki: %w", err)
		}
	}
	if err := p.create(); err != nil {
		return nil, err
	}
	p.tsaServer = tsa.NewServer(p.tsaKey, []*x509.Certificate{p.tsaCert, p.issuing}, TSAPolicy)
	if err := p.save(); err != nil {
		return nil, err
	}
	return p, nil
}

// URLs of the services, as written into certificates.
func (p *PKI) OCSPURL() string       { return p.baseURL + "/pki/ocsp" }
func (p *PKI) TSAURL() string        { return p.baseURL + "/pki/tsa" }
func (p *PKI) RootURL() string       { return p.baseURL + "/pki/root.pem" }
func (p *PKI) RootCRLURL() string    { return p.baseURL + "/pki/crl/root.crl" }
func (p *PKI) IssuingCRLURL() string { return p.baseURL + "/pki/crl/issuing.crl" }
func (p *PKI) rootCerURL() string    { return p.baseURL + "/pki/root.cer" }
func (p *PKI) issuingCerURL() string { return p.baseURL + "/pki/issuing.cer" }

// Root returns the root certificate, the trust anchor.
func (p *PKI) Root() *x509.Certificate { return p.root }

// Issuing returns the issuing CA certificate.
func (p *PKI) Issuing() *x509.Certificate { return p.issuing }

// TSACertificate returns the TSA certificate chain (TSA, issuing CA).
func (p *PKI) TSAChain() []*x509.Certificate { return []*x509.Certificate{p.tsaCert, p.issuing} }

// OCSPCertificate returns the delegated OCSP responder certificate.
func (p *PKI) OCSPCertificate() *x509.Certificate { return p.ocspCert }

// TSA returns the time-stamp authority (also served at TSAURL).
func (p *PKI) TSA() *tsa.Server { return p.tsaServer }

// Roots returns a pool holding the root certificate.
func (p *PKI) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

func (p *PKI) create() error {
	var err error
	if p.rootKey, err = newKey(KeyP256); err != nil {
		return err
	}
	if p.issuingKey, err = newKey(KeyP256); err != nil {
		return err
	}
	if p.tsaKey, err = newKey(KeyP256); err != nil {
		return err
	}
	if p.ocspKey, err = newKey(KeyP256); err != nil {
		return err
	}
	now := p.now()
	serial, err := newSerial()
	if err != nil {
		return err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Country: []string{"VN"}, Organization: []string{"Vanban (development, not for production)"}, CommonName: "Vanban Dev Root CA"},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 1,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if p.root, err = createCert(rootTmpl, rootTmpl, p.rootKey.Public(), p.rootKey); err != nil {
		return err
	}
	p.issued[serial.Text(16)] = issuedEntry{Issuer: "root"}
	return p.issueInfrastructure()
}

// issueInfrastructure (re-)issues the issuing CA, TSA and OCSP certificates
// for the current base URL with the existing keys.
func (p *PKI) issueInfrastructure() error {
	now := p.now()
	serial, err := newSerial()
	if err != nil {
		return err
	}
	issTmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Country: []string{"VN"}, Organization: []string{"Vanban (development, not for production)"}, CommonName: "Vanban Dev Issuing CA"},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		OCSPServer:            []string{p.OCSPURL()},
		IssuingCertificateURL: []string{p.rootCerURL()},
		CRLDistributionPoints: []string{p.RootCRLURL()},
	}
	if p.issuing, err = createCert(issTmpl, p.root, p.issuingKey.Public(), p.rootKey); err != nil {
		return err
	}
	p.issued[serial.Text(16)] = issuedEntry{Issuer: "root"}

	ekuTS, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamping})
	if p.tsaCert, err = p.issueLeaf(pkix.Name{Country: []string{"VN"}, Organization: []string{"Vanban (development, not for production)"}, CommonName: "Vanban Dev TSA"},
		p.tsaKey.Public(), x509.KeyUsageDigitalSignature, nil,
		[]pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: ekuTS}}, 10); err != nil {
		return err
	}
	noCheck := pkix.Extension{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}
	if p.ocspCert, err = p.issueLeaf(pkix.Name{Country: []string{"VN"}, Organization: []string{"Vanban (development, not for production)"}, CommonName: "Vanban Dev OCSP Responder"},
		p.ocspKey.Public(), x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		[]pkix.Extension{noCheck}, 2); err != nil {
		return err
	}
	return nil
}

// issueLeaf issues an end-entity certificate from the issuing CA with the
// PKI's AIA and CRL distribution point.
func (p *PKI) issueLeaf(subject pkix.Name, pub crypto.PublicKey, ku x509.KeyUsage, eku []x509.ExtKeyUsage, extra []pkix.Extension, years int) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := p.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(years, 0, 0),
		BasicConstraintsValid: true, KeyUsage: ku, ExtKeyUsage: eku, ExtraExtensions: extra,
		UnknownExtKeyUsage:    documentSigningIf(eku),
		OCSPServer:            []string{p.OCSPURL()},
		IssuingCertificateURL: []string{p.issuingCerURL()},
		CRLDistributionPoints: []string{p.IssuingCRLURL()},
	}
	cert, err := createCert(tmpl, p.issuing, pub, p.issuingKey)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.issued[serial.Text(16)] = issuedEntry{Issuer: "issuing"}
	p.mu.Unlock()
	return cert, nil
}

// IssueSigner creates a key of keyType ("rsa2048" or "p256") and a signing
// certificate for it (key usage digitalSignature and nonRepudiation,
// extended key usages emailProtection and documentSigning), and returns
// the key and the chain [signer, issuing CA]. For Person, commonName is the
// person and org the office; for Organization (a seal) both name the
// office. Vietnamese names are kept as UTF8String.
func (p *PKI) IssueSigner(commonName, org, keyType string, usage Usage) (crypto.Signer, []*x509.Certificate, error) {
	if strings.TrimSpace(commonName) == "" {
		return nil, nil, errors.New("devpki: empty common name")
	}
	if usage != Person && usage != Organization {
		return nil, nil, fmt.Errorf("devpki: unknown usage %d", usage)
	}
	key, err := newKey(keyType)
	if err != nil {
		return nil, nil, err
	}
	subject := pkix.Name{Country: []string{"VN"}, CommonName: commonName}
	if org != "" {
		subject.Organization = []string{org}
	}
	cert, err := p.issueLeaf(subject, key.Public(), x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, nil, 3)
	if err != nil {
		return nil, nil, err
	}
	if err := p.save(); err != nil {
		return nil, nil, err
	}
	return key, []*x509.Certificate{cert, p.issuing}, nil
}

// Revoke marks a certificate issued here as revoked from now on, with an
// RFC 5280 reason code. OCSP and CRLs reflect it at once.
func (p *PKI) Revoke(serial *big.Int, reason int) error {
	if serial == nil {
		return ErrUnknownSerial
	}
	if reason < 0 || reason > 10 || reason == 7 {
		return fmt.Errorf("devpki: %d is not a CRLReason code", reason)
	}
	p.mu.Lock()
	e, ok := p.issued[serial.Text(16)]
	if !ok {
		p.mu.Unlock()
		return ErrUnknownSerial
	}
	if _, done := p.revoked[serial.Text(16)]; !done {
		p.revoked[serial.Text(16)] = Revocation{Serial: new(big.Int).Set(serial), Time: p.now().UTC().Truncate(time.Second), Reason: reason, Issuer: e.Issuer}
	}
	p.mu.Unlock()
	return p.save()
}

// documentSigningIf adds id-kp-documentSigning next to emailProtection
// (signing certificates), not to the TSA or OCSP certificates.
func documentSigningIf(eku []x509.ExtKeyUsage) []asn1.ObjectIdentifier {
	if len(eku) == 1 && eku[0] == x509.ExtKeyUsageEmailProtection {
		return []asn1.ObjectIdentifier{oidKPDocumentSigning}
	}
	return nil
}

func newKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("devpki: unknown key type %q (want %q or %q)", keyType, KeyRSA2048, KeyP256)
}

// newSerial returns a positive random 127-bit serial (RFC 5280 allows 20 octets).
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func createCert(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	if tmpl.SubjectKeyId == nil {
		spki, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(spki)
		tmpl.SubjectKeyId = sum[:20]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("devpki: issuing %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// save persists the state when a directory is configured; it takes the
// lock itself.
func (p *PKI) save() error {
	if p.dir == "" {
		return nil
	}
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	p.mu.Lock()
	st := state{BaseURL: p.baseURL, Issued: map[string]issuedEntry{}}
	for k, v := range p.issued {
		st.Issued[k] = v
	}
	for _, r := range p.revoked {
		st.Revoked = append(st.Revoked, r)
	}
	p.mu.Unlock()
	var err error
	enc := func(k crypto.Signer) string {
		if err != nil {
			return ""
		}
		var der []byte
		der, err = x509.MarshalPKCS8PrivateKey(k)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	cert := func(c *x509.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	st.RootKey, st.IssuingKey, st.TSAKey, st.OCSPKey = enc(p.rootKey), enc(p.issuingKey), enc(p.tsaKey), enc(p.ocspKey)
	st.Root, st.Issuing, st.TSA, st.OCSP = cert(p.root), cert(p.issuing), cert(p.tsaCert), cert(p.ocspCert)
	if err != nil {
		return fmt.Errorf("devpki: encoding keys: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	// Write to a temporary file and rename, so a crash never leaves half a CA.
	tmp, err := os.CreateTemp(p.dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("devpki: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("devpki: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(p.dir, stateFile)); err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	return nil
}

func (p *PKI) load(b []byte) error {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("devpki: reading %s: %w", stateFile, err)
	}
	var err error
	key := func(s string) crypto.Signer {
		if err != nil {
			return nil
		}
		blk, _ := pem.Decode([]byte(s))
		if blk == nil {
			err = errors.New("missing key")
			return nil
		}
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
			return nil
		}
		signer, ok := k.(crypto.Signer)
		if !ok {
			err = errors.New("key is not a signer")
		}
		return signer
	}
	cert := func(s string) *x509.Certificate {
		if err != nil {
			return nil
		}
		blk, _ := pem.Decode([]byte(s))
		if blk == nil {
			err = errors.New("missing certificate")
			return nil
		}
		var c *x509.Certificate
		c, err = x509.ParseCertificate(blk.Bytes)
		return c
	}
	p.rootKey, p.issuingKey, p.tsaKey, p.ocspKey = key(st.RootKey), key(st.IssuingKey), key(st.TSAKey), key(st.OCSPKey)
	p.root, p.issuing, p.tsaCert, p.ocspCert = cert(st.Root), cert(st.Issuing), cert(st.TSA), cert(st.OCSP)
	if err != nil {
		return fmt.Errorf("devpki: reading %s: %w", stateFile, err)
	}
	for k, v := range st.Issued {
		p.issued[k] = v
	}
	for _, r := range st.Revoked {
		if r.Serial != nil {
			p.revoked[r.Serial.Text(16)] = r
		}
	}
	if st.BaseURL != p.baseURL {
		if err := p.issueInfrastructure(); err != nil {
			return err
		}
		return p.save()
	}
	return nil
}
