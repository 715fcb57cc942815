// Package tsa is an RFC 3161 time-stamping client, a small time-stamp
// authority for the development PKI and tests, and a parser/verifier for
// time-stamp tokens.
//
// A PAdES B-T signature carries a token over its signature value (see
// cms.AddSignatureTimestamp); a B-LTA document carries a document
// time-stamp over the byte ranges. Both are ordinary RFC 3161 tokens: a CMS
// SignedData whose encapsulated content is a TSTInfo.
package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"vanban/signing/cms"
)

// Kind classifies tsa errors.
type Kind int

const (
	// KindInvalidParams: the caller passed an imprint or hash we cannot use.
	KindInvalidParams Kind = iota + 1
	// KindUnavailable: the TSA could not be reached or answered with an
	// HTTP error. Retrying later may help.
	KindUnavailable
	// KindRejected: the TSA answered with a PKIStatus other than granted.
	KindRejected
	// KindBadResponse: the answer is malformed, or its token does not
	// match the request (imprint, nonce).
	KindBadResponse
	// KindBadToken: the token is malformed or its signature, signer
	// certificate or key usage does not check out.
	KindBadToken
)

var kindNames = map[Kind]string{
	KindInvalidParams: "invalid parameters",
	KindUnavailable:   "time-stamp authority unavailable",
	KindRejected:      "request rejected by the time-stamp authority",
	KindBadResponse:   "bad time-stamp response",
	KindBadToken:      "bad time-stamp token",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error type of this package.
type Error struct {
	Kind    Kind
	Message string
	// Status and FailureInfo are set for KindRejected (RFC 3161 PKIStatus
	// and the bit number of PKIFailureInfo, -1 if absent).
	Status      int
	FailureInfo int
	Err         error
}

func (e *Error) Error() string {
	msg := "tsa: " + e.Kind.String()
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// KindOf returns the Kind of err, or 0.
func KindOf(err error) Kind {
	for err != nil {
		if e, ok := err.(*Error); ok {
			return e.Kind
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return 0
		}
		err = u.Unwrap()
	}
	return 0
}

func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Token is a parsed RFC 3161 time-stamp token.
type Token struct {
	// Time is genTime: when the TSA saw the imprint.
	Time time.Time
	// Accuracy is the TSA's stated accuracy, zero when absent.
	Accuracy time.Duration
	// Hash and Imprint are the messageImprint.
	Hash    crypto.Hash
	Imprint []byte
	Policy  asn1.ObjectIdentifier
	// SerialNumber is the TSA's unique serial for this token.
	SerialNumber *big.Int
	Nonce        *big.Int
	Ordering     bool
	// Certificates carried in the token (the TSA chain when requested).
	Certificates []*x509.Certificate
	// Signer is the TSA certificate, nil if the token does not carry it.
	Signer *x509.Certificate
	// SignedData is the CMS structure of the token.
	SignedData *cms.SignedData
	// Raw is the token as given to Parse.
	Raw []byte
}

// Parse reads a TimeStampToken (a DER ContentInfo).
// Errors: KindBadToken.
func Parse(token []byte) (*Token, error) {
	sd, err := cms.Parse(token)
	if err != nil {
		return nil, &Error{Kind: KindBadToken, Message: "not a CMS SignedData", Err: err}
	}
	if !sd.ContentType.Equal(cms.OIDTSTInfo) {
		return nil, errorf(KindBadToken, "content type %v is not id-ct-TSTInfo", sd.ContentType)
	}
	if sd.EncapsulatedContent == nil {
		return nil, errorf(KindBadToken, "no encapsulated TSTInfo")
	}
	t, err := parseTSTInfo(sd.EncapsulatedContent)
	if err != nil {
		return nil, err
	}
	t.SignedData = sd
	t.Certificates = sd.Certificates
	t.Signer = sd.Signer
	t.Raw = token
	return t, nil
}

func parseTSTInfo(der []byte) (*Token, error) {
	bad := func(what string) error { return errorf(KindBadToken, "bad TSTInfo: %s", what) }
	t := &Token{}
	s := cryptobyte.String(der)
	var info, mi, alg cryptobyte.String
	var version int64
	var hashOID asn1.ObjectIdentifier
	if !s.ReadASN1(&info, casn1.SEQUENCE) || !s.Empty() {
		return nil, bad("not a SEQUENCE")
	}
	if !info.ReadASN1Int64WithTag(&version, casn1.INTEGER) || version != 1 {
		return nil, bad("version is not 1")
	}
	if !info.ReadASN1ObjectIdentifier(&t.Policy) {
		return nil, bad("policy")
	}
	var hashed cryptobyte.String
	if !info.ReadASN1(&mi, casn1.SEQUENCE) || !mi.ReadASN1(&alg, casn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&hashOID) || !mi.ReadASN1(&hashed, casn1.OCTET_STRING) {
		return nil, bad("messageImprint")
	}
	h, ok := cms.HashFromOID(hashOID)
	if !ok {
		return nil, errorf(KindBadToken, "unsupported imprint hash %v", hashOID)
	}
	t.Hash, t.Imprint = h, []byte(hashed)
	if len(t.Imprint) != h.Size() {
		return nil, bad("imprint length does not match its hash")
	}
	t.SerialNumber = new(big.Int)
	if !info.ReadASN1Integer(t.SerialNumber) {
		return nil, bad("serialNumber")
	}
	var gt cryptobyte.String
	if !info.ReadASN1(&gt, casn1.GeneralizedTime) {
		return nil, bad("genTime")
	}
	tm, err := parseGeneralizedTime(string(gt))
	if err != nil {
		return nil, bad("genTime: " + err.Error())
	}
	t.Time = tm
	if info.PeekASN1Tag(casn1.SEQUENCE) {
		var acc cryptobyte.String
		info.ReadASN1(&acc, casn1.SEQUENCE)
		var sec, ms, us int64
		if acc.PeekASN1Tag(casn1.INTEGER) && !acc.ReadASN1Int64WithTag(&sec, casn1.INTEGER) {
			return nil, bad("accuracy seconds")
		}
		if acc.PeekASN1Tag(casn1.Tag(0).ContextSpecific()) && !acc.ReadASN1Int64WithTag(&ms, casn1.Tag(0).ContextSpecific()) {
			return nil, bad("accuracy millis")
		}
		if acc.PeekASN1Tag(casn1.Tag(1).ContextSpecific()) && !acc.ReadASN1Int64WithTag(&us, casn1.Tag(1).ContextSpecific()) {
			return nil, bad("accuracy micros")
		}
		if sec < 0 || ms < 0 || us < 0 || sec > 1<<31 {
			return nil, bad("negative accuracy")
		}
		t.Accuracy = time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond + time.Duration(us)*time.Microsecond
	}
	if info.PeekASN1Tag(casn1.BOOLEAN) {
		if !info.ReadASN1Boolean(&t.Ordering) {
			return nil, bad("ordering")
		}
	}
	if info.PeekASN1Tag(casn1.INTEGER) {
		t.Nonce = new(big.Int)
		if !info.ReadASN1Integer(t.Nonce) {
			return nil, bad("nonce")
		}
	}
	// tsa [0] and extensions [1] are not needed for validation.
	return t, nil
}

// parseGeneralizedTime accepts the RFC 3161 form YYYYMMDDhhmmss[.f*]Z,
// which crypto/x509's strict DER reader refuses when fractions are present.
func parseGeneralizedTime(s string) (time.Time, error) {
	if len(s) < 15 || s[len(s)-1] != 'Z' {
		return time.Time{}, fmt.Errorf("%q is not UTC GeneralizedTime", s)
	}
	t, err := time.Parse("20060102150405Z", s[:14]+"Z")
	if err != nil {
		return time.Time{}, err
	}
	if frac := s[14 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, fmt.Errorf("bad fraction in %q", s)
		}
		var ns int64
		digits := 0
		for _, c := range frac[1:] {
			if c < '0' || c > '9' {
				return time.Time{}, fmt.Errorf("bad fraction in %q", s)
			}
			ns = ns*10 + int64(c-'0')
			digits++
		}
		for ; digits < 9; digits++ {
			ns *= 10
		}
		t = t.Add(time.Duration(ns))
	}
	return t, nil
}

// Verify checks the token's own integrity: the CMS signature over the
// TSTInfo verifies with the TSA certificate, the ESS signing-certificate
// attribute names that certificate (RFC 3161 2.4.1 requires it), and the
// certificate is a time-stamping certificate (extended key usage
// id-kp-timeStamping, the only one, critical). Trust in the TSA (a chain
// to an anchor, revocation) is the caller's: see VerifyChain.
// Errors: KindBadToken.
func (t *Token) Verify() error {
	sd := t.SignedData
	if sd == nil {
		return errorf(KindBadToken, "token was not parsed")
	}
	if err := sd.VerifyEncapsulated(); err != nil {
		return &Error{Kind: KindBadToken, Message: "token signature", Err: err}
	}
	if len(sd.SigningCertificates) == 0 {
		return errorf(KindBadToken, "no ESS signing-certificate attribute")
	}
	return checkTSACert(sd.Signer)
}

// checkTSACert applies RFC 3161 2.3 to the TSA certificate.
func checkTSACert(c *x509.Certificate) error {
	if c == nil {
		return errorf(KindBadToken, "no TSA certificate")
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
		return errorf(KindBadToken, "TSA certificate %q does not have id-kp-timeStamping as its only extended key usage", c.Subject.CommonName)
	}
	oidEKU := asn1.ObjectIdentifier{2, 5, 29, 37}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidEKU) && !e.Critical {
			return errorf(KindBadToken, "TSA certificate %q: extended key usage is not critical", c.Subject.CommonName)
		}
	}
	return nil
}

// VerifyChain verifies the token (see Verify) and builds the TSA
// certificate's chain to roots at the token's time, using the token's
// certificates and extra as intermediates.
// Errors: KindBadToken.
func (t *Token) VerifyChain(roots *x509.CertPool, extra ...*x509.Certificate) ([][]*x509.Certificate, error) {
	if err := t.Verify(); err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	for _, c := range append(append([]*x509.Certificate(nil), t.Certificates...), extra...) {
		inter.AddCert(c)
	}
	chains, err := t.Signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: t.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, &Error{Kind: KindBadToken, Message: "TSA certificate chain", Err: err}
	}
	return chains, nil
}

// Covers reports an error unless the token's message imprint is digest,
// computed with hash.
// Errors: KindBadResponse.
func (t *Token) Covers(digest []byte, hash crypto.Hash) error {
	if t.Hash != hash || !bytes.Equal(t.Imprint, digest) {
		return errorf(KindBadResponse, "the token's message imprint is not the requested one")
	}
	return nil
}

// CoversData is Covers for the hash of data with the token's own hash.
func (t *Token) CoversData(data []byte) error {
	h := t.Hash.New()
	h.Write(data)
	return t.Covers(h.Sum(nil), t.Hash)
}
