package cms

import (
	"bytes"
	"crypto"
	_ "crypto/sha1" // SHA-1 signatures in older documents must still be readable
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"vanban/signing"
)

// SignedData is a parsed CMS SignedData with exactly one signer, which is
// what PAdES signatures and RFC 3161 tokens contain.
type SignedData struct {
	// Version is the SignedData version (1 for id-data, 3 for other content).
	Version int
	// ContentType is the eContentType of the encapsulated content.
	ContentType asn1.ObjectIdentifier
	// EncapsulatedContent is the eContent (a TSTInfo for time-stamp
	// tokens); nil for detached signatures.
	EncapsulatedContent []byte

	// DigestAlgorithm is the signer's digestAlgorithm.
	DigestAlgorithm crypto.Hash
	// SignedAttributes is the DER of the signed attributes re-tagged as a
	// SET (0x31), i.e. exactly the bytes whose hash was signed; nil if the
	// signer signed the content directly.
	SignedAttributes []byte
	// Attributes are the parsed signed attributes.
	Attributes []Attribute
	// MessageDigest is the message-digest attribute value.
	MessageDigest []byte
	// SignedContentType is the content-type attribute value.
	SignedContentType asn1.ObjectIdentifier
	// SigningCertificates holds the ESSCertIDv2 entries of the
	// signing-certificate-v2 attribute, or the SHA-1 ESSCertIDs of a v1
	// signing-certificate attribute; the first entry names the signer.
	SigningCertificates []CertID
	// SigningCertificateV2 reports whether the v2 attribute (what PAdES
	// baseline requires) was present.
	SigningCertificateV2 bool
	// SigningTime is the signing-time attribute, zero when absent.
	SigningTime time.Time

	SignatureAlgorithm signing.Algorithm
	// PSSSaltLength is the RSASSA-PSS salt length from the parameters.
	PSSSaltLength int
	Signature     []byte

	// Certificates are the certificates carried in the structure that
	// crypto/x509 could parse, in their order.
	Certificates []*x509.Certificate
	// CRLs holds the DER of each RevocationInfoChoice carried alongside.
	CRLs [][]byte
	// Signer is the certificate matching the SignerIdentifier, nil if the
	// structure does not carry it.
	Signer *x509.Certificate
	// SignerIssuer and SignerSerial, or SignerKeyID, identify the signer.
	SignerIssuer []byte
	SignerSerial *big.Int
	SignerKeyID  []byte

	// UnsignedAttributes are the signer's unsigned attributes.
	UnsignedAttributes []Attribute
	// SignatureTimestamp is the first signature-time-stamp token (DER
	// ContentInfo), nil if none; SignatureTimestamps lists all of them.
	SignatureTimestamp  []byte
	SignatureTimestamps [][]byte

	raw rawSignedData
	sa  sigAlg
}

// rawSignedData keeps the encoded pieces that AddSignatureTimestamp copies
// unchanged into the new structure.
type rawSignedData struct {
	version       int64
	digestAlgs    []byte
	encap         []byte
	certs         []byte
	crls          []byte
	siVersion     int64
	sid           []byte
	digestAlg     []byte
	signedAttrs   []byte // with its [0] tag
	sigAlg        []byte
	signature     []byte // OCTET STRING element
	unsignedAttrs [][]byte
}

// Parse reads a DER or BER ContentInfo holding a SignedData with a single
// SignerInfo. Trailing zero bytes (the padding of a PDF /Contents string)
// are ignored; any other trailing data is an error.
func Parse(der []byte) (*SignedData, error) {
	sd, trailing, err := ParseLenient(der)
	if err == nil && trailing > 0 {
		return nil, errorf(KindMalformed, "%d bytes of trailing data after the ContentInfo", trailing)
	}
	return sd, err
}

// ParseLenient is Parse that also accepts non-zero bytes after the
// ContentInfo, and says how many there were. Some producers leave garbage
// in the unused part of a PDF /Contents string; the signature is intact,
// but a verifier should say so.
func ParseLenient(der []byte) (sd *SignedData, trailing int, err error) {
	norm, rest, err := normalizeBER(der)
	if err != nil {
		return nil, 0, wrap(KindMalformed, "not a BER/DER element", err)
	}
	for _, b := range rest {
		if b != 0 {
			trailing = len(bytes.TrimRight(rest, "\x00"))
			break
		}
	}
	sd, err = parseNormalized(norm)
	return sd, trailing, err
}

func parseNormalized(norm []byte) (*SignedData, error) {
	s := cryptobyte.String(norm)
	var ci, content, sd cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !s.ReadASN1(&ci, casn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ct) {
		return nil, errorf(KindMalformed, "not a ContentInfo")
	}
	if !ct.Equal(OIDSignedData) {
		return nil, errorf(KindUnsupported, "content type %v is not signedData", ct)
	}
	if !ci.ReadASN1(&content, casn1.Tag(0).Constructed().ContextSpecific()) || !content.ReadASN1(&sd, casn1.SEQUENCE) {
		return nil, errorf(KindMalformed, "ContentInfo without SignedData")
	}
	out := &SignedData{}
	r := &out.raw
	var digestAlgs, encap, signerInfos cryptobyte.String
	if !sd.ReadASN1Int64WithTag(&r.version, casn1.INTEGER) ||
		!sd.ReadASN1Element(&digestAlgs, casn1.SET) ||
		!sd.ReadASN1Element(&encap, casn1.SEQUENCE) {
		return nil, errorf(KindMalformed, "bad SignedData header")
	}
	out.Version = int(r.version)
	r.digestAlgs, r.encap = digestAlgs, encap
	if err := out.parseEncap(encap); err != nil {
		return nil, err
	}
	certTag := casn1.Tag(0).Constructed().ContextSpecific()
	if sd.PeekASN1Tag(certTag) {
		var certs cryptobyte.String
		if !sd.ReadASN1Element(&certs, certTag) {
			return nil, errorf(KindMalformed, "bad certificates")
		}
		r.certs = certs
		var body cryptobyte.String
		certs.ReadASN1(&body, certTag)
		for !body.Empty() {
			var c cryptobyte.String
			var tag casn1.Tag
			if !body.ReadAnyASN1Element(&c, &tag) {
				return nil, errorf(KindMalformed, "bad certificate entry")
			}
			if tag != casn1.SEQUENCE {
				continue // attribute or other certificate formats
			}
			// A certificate crypto/x509 rejects cannot anchor anything;
			// skipping it keeps the rest of the signature readable.
			if cert, err := x509.ParseCertificate(c); err == nil {
				out.Certificates = append(out.Certificates, cert)
			}
		}
	}
	crlTag := casn1.Tag(1).Constructed().ContextSpecific()
	if sd.PeekASN1Tag(crlTag) {
		var crls, body cryptobyte.String
		if !sd.ReadASN1Element(&crls, crlTag) {
			return nil, errorf(KindMalformed, "bad crls")
		}
		r.crls = crls
		crls.ReadASN1(&body, crlTag)
		for !body.Empty() {
			var c cryptobyte.String
			if !body.ReadAnyASN1Element(&c, nil) {
				return nil, errorf(KindMalformed, "bad crl entry")
			}
			out.CRLs = append(out.CRLs, []byte(c))
		}
	}
	if !sd.ReadASN1(&signerInfos, casn1.SET) || !sd.Empty() {
		return nil, errorf(KindMalformed, "bad signerInfos")
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, casn1.SEQUENCE) {
		return nil, errorf(KindMalformed, "no SignerInfo")
	}
	if !signerInfos.Empty() {
		return nil, errorf(KindUnsupported, "more than one SignerInfo")
	}
	if err := out.parseSignerInfo(si); err != nil {
		return nil, err
	}
	return out, nil
}

func (sd *SignedData) parseEncap(encap cryptobyte.String) error {
	var body cryptobyte.String
	if !encap.ReadASN1(&body, casn1.SEQUENCE) || !body.ReadASN1ObjectIdentifier(&sd.ContentType) {
		return errorf(KindMalformed, "bad encapContentInfo")
	}
	if body.Empty() {
		return nil
	}
	var explicit, octets cryptobyte.String
	if !body.ReadASN1(&explicit, casn1.Tag(0).Constructed().ContextSpecific()) ||
		!explicit.ReadASN1(&octets, casn1.OCTET_STRING) || !body.Empty() {
		return errorf(KindMalformed, "bad eContent")
	}
	sd.EncapsulatedContent = []byte(octets)
	return nil
}

func (sd *SignedData) parseSignerInfo(si cryptobyte.String) error {
	r := &sd.raw
	var sid, digestAlg, sigAlgRaw, sig cryptobyte.String
	var sidTag casn1.Tag
	if !si.ReadASN1Int64WithTag(&r.siVersion, casn1.INTEGER) || !si.ReadAnyASN1Element(&sid, &sidTag) ||
		!si.ReadASN1Element(&digestAlg, casn1.SEQUENCE) {
		return errorf(KindMalformed, "bad SignerInfo")
	}
	r.sid, r.digestAlg = sid, digestAlg
	switch sidTag {
	case casn1.SEQUENCE: // IssuerAndSerialNumber
		var body, issuer cryptobyte.String
		serial := new(big.Int)
		if !sid.ReadASN1(&body, casn1.SEQUENCE) || !body.ReadASN1Element(&issuer, casn1.SEQUENCE) || !body.ReadASN1Integer(serial) {
			return errorf(KindMalformed, "bad IssuerAndSerialNumber")
		}
		sd.SignerIssuer, sd.SignerSerial = []byte(issuer), serial
	case casn1.Tag(0).ContextSpecific(): // SubjectKeyIdentifier
		var kid cryptobyte.String
		sid.ReadASN1(&kid, casn1.Tag(0).ContextSpecific())
		sd.SignerKeyID = []byte(kid)
	default:
		return errorf(KindMalformed, "bad SignerIdentifier")
	}
	var dAlg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !digestAlg.ReadASN1(&dAlg, casn1.SEQUENCE) || !dAlg.ReadASN1ObjectIdentifier(&oid) {
		return errorf(KindMalformed, "bad digestAlgorithm")
	}
	h, ok := HashFromOID(oid)
	if !ok {
		return errorf(KindUnsupported, "digest algorithm %v", oid)
	}
	sd.DigestAlgorithm = h

	saTag := casn1.Tag(0).Constructed().ContextSpecific()
	if si.PeekASN1Tag(saTag) {
		var elem cryptobyte.String
		if !si.ReadASN1Element(&elem, saTag) {
			return errorf(KindMalformed, "bad signedAttrs")
		}
		r.signedAttrs = elem
		set := append([]byte(nil), elem...)
		set[0] = 0x31 // the signature covers the EXPLICIT SET OF encoding (RFC 5652 5.4)
		sd.SignedAttributes = set
		_, content, err := splitTLV(set)
		if err != nil {
			return wrap(KindMalformed, "bad signedAttrs", err)
		}
		attrs, err := parseAttributes(content)
		if err != nil {
			return err
		}
		sd.Attributes = attrs
		if err := sd.readSignedAttributes(); err != nil {
			return err
		}
	}
	if !si.ReadASN1Element(&sigAlgRaw, casn1.SEQUENCE) || !si.ReadASN1Element(&sig, casn1.OCTET_STRING) {
		return errorf(KindMalformed, "bad signatureAlgorithm or signature")
	}
	r.sigAlg, r.signature = sigAlgRaw, sig
	var algBody cryptobyte.String
	sigAlgRaw.ReadASN1(&algBody, casn1.SEQUENCE)
	a, err := parseSignatureAlgID(algBody)
	if err != nil {
		return err
	}
	sd.sa = a
	sd.SignatureAlgorithm, sd.PSSSaltLength = a.alg, a.pssSalt
	var sigBytes cryptobyte.String
	sig.ReadASN1(&sigBytes, casn1.OCTET_STRING)
	sd.Signature = []byte(sigBytes)

	uaTag := casn1.Tag(1).Constructed().ContextSpecific()
	if si.PeekASN1Tag(uaTag) {
		var ua cryptobyte.String
		if !si.ReadASN1(&ua, uaTag) {
			return errorf(KindMalformed, "bad unsignedAttrs")
		}
		for c := ua; !c.Empty(); {
			var elem cryptobyte.String
			if !c.ReadASN1Element(&elem, casn1.SEQUENCE) {
				return errorf(KindMalformed, "bad unsigned attribute")
			}
			r.unsignedAttrs = append(r.unsignedAttrs, elem)
		}
		attrs, err := parseAttributes(ua)
		if err != nil {
			return err
		}
		sd.UnsignedAttributes = attrs
		for _, a := range attrs {
			if a.Type.Equal(OIDAttrSignatureTimeStamp) {
				sd.SignatureTimestamps = append(sd.SignatureTimestamps, a.Values...)
			}
		}
		if len(sd.SignatureTimestamps) > 0 {
			sd.SignatureTimestamp = sd.SignatureTimestamps[0]
		}
	}
	if !si.Empty() {
		return errorf(KindMalformed, "trailing data in SignerInfo")
	}
	sd.Signer = sd.findSigner()
	return nil
}

func (sd *SignedData) readSignedAttributes() error {
	for _, a := range sd.Attributes {
		single := func() (cryptobyte.String, error) {
			if len(a.Values) != 1 {
				return nil, errorf(KindMalformed, "attribute %v must have exactly one value", a.Type)
			}
			return cryptobyte.String(a.Values[0]), nil
		}
		switch {
		case a.Type.Equal(OIDAttrContentType):
			v, err := single()
			if err != nil {
				return err
			}
			if !v.ReadASN1ObjectIdentifier(&sd.SignedContentType) {
				return errorf(KindMalformed, "bad content-type attribute")
			}
		case a.Type.Equal(OIDAttrMessageDigest):
			v, err := single()
			if err != nil {
				return err
			}
			var d cryptobyte.String
			if !v.ReadASN1(&d, casn1.OCTET_STRING) {
				return errorf(KindMalformed, "bad message-digest attribute")
			}
			sd.MessageDigest = []byte(d)
		case a.Type.Equal(OIDAttrSigningTime):
			v, err := single()
			if err != nil {
				return err
			}
			t, err := parseTime(v)
			if err != nil {
				return err
			}
			sd.SigningTime = t
		case a.Type.Equal(OIDAttrSigningCertV2):
			v, err := single()
			if err != nil {
				return err
			}
			ids, err := parseSigningCertificate(v, true)
			if err != nil {
				return err
			}
			sd.SigningCertificates, sd.SigningCertificateV2 = ids, true
		case a.Type.Equal(OIDAttrSigningCertificate):
			if sd.SigningCertificateV2 {
				continue // v2 wins when both are present
			}
			v, err := single()
			if err != nil {
				return err
			}
			ids, err := parseSigningCertificate(v, false)
			if err != nil {
				return err
			}
			sd.SigningCertificates = ids
		}
	}
	return nil
}

// parseTime reads a UTCTime or GeneralizedTime.
func parseTime(v cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case v.PeekASN1Tag(casn1.UTCTime):
		if !v.ReadASN1UTCTime(&t) {
			return t, errorf(KindMalformed, "bad UTCTime")
		}
	case v.PeekASN1Tag(casn1.GeneralizedTime):
		if !v.ReadASN1GeneralizedTime(&t) {
			return t, errorf(KindMalformed, "bad GeneralizedTime")
		}
	default:
		return t, errorf(KindMalformed, "time is neither UTCTime nor GeneralizedTime")
	}
	return t, nil
}

func (sd *SignedData) findSigner() *x509.Certificate {
	for _, c := range sd.Certificates {
		if sd.SignerSerial != nil && c.SerialNumber.Cmp(sd.SignerSerial) == 0 && bytes.Equal(c.RawIssuer, sd.SignerIssuer) {
			return c
		}
		if sd.SignerKeyID != nil && bytes.Equal(c.SubjectKeyId, sd.SignerKeyID) {
			return c
		}
	}
	return nil
}

// Verify checks the signature for content whose digest (computed with
// sd.DigestAlgorithm) is contentDigest: the message-digest attribute
// matches, the content-type attribute matches eContentType, the signature
// over the signed attributes verifies with the signer's key, and the
// signing-certificate(-v2) attribute, when present, names the signer.
// It does not build or judge the certificate chain; see signing/verify.
//
// Errors: KindSignerNotFound, KindDigestMismatch, KindBadSignature,
// KindCertificateMismatch, KindMalformed, KindUnsupported.
func (sd *SignedData) Verify(contentDigest []byte) error {
	if sd.Signer == nil {
		return errorf(KindSignerNotFound, "the signer certificate is not in the signature")
	}
	if len(contentDigest) != sd.DigestAlgorithm.Size() {
		return errorf(KindInvalidParams, "content digest has %d bytes, %v needs %d", len(contentDigest), sd.DigestAlgorithm, sd.DigestAlgorithm.Size())
	}
	signedDigest := contentDigest
	if sd.SignedAttributes != nil {
		if sd.MessageDigest == nil {
			return errorf(KindMalformed, "signed attributes without message-digest")
		}
		if subtle.ConstantTimeCompare(sd.MessageDigest, contentDigest) != 1 {
			return errorf(KindDigestMismatch, "message-digest attribute does not match the content")
		}
		if sd.SignedContentType == nil || !sd.SignedContentType.Equal(sd.ContentType) {
			return errorf(KindMalformed, "content-type attribute %v does not match eContentType %v", sd.SignedContentType, sd.ContentType)
		}
		h := sd.DigestAlgorithm.New()
		h.Write(sd.SignedAttributes)
		signedDigest = h.Sum(nil)
	}
	if err := verifyWith(sd.Signer, sd.DigestAlgorithm, sd.sa, signedDigest, sd.Signature); err != nil {
		return err
	}
	if len(sd.SigningCertificates) > 0 && !sd.SigningCertificates[0].Matches(sd.Signer) {
		return errorf(KindCertificateMismatch, "signing-certificate attribute does not name the certificate that verifies the signature")
	}
	return nil
}

// VerifyEncapsulated is Verify for a structure that carries its content,
// such as a time-stamp token.
func (sd *SignedData) VerifyEncapsulated() error {
	if sd.EncapsulatedContent == nil {
		return errorf(KindInvalidParams, "detached signature: no encapsulated content")
	}
	h := sd.DigestAlgorithm.New()
	h.Write(sd.EncapsulatedContent)
	return sd.Verify(h.Sum(nil))
}

// SignatureDigest returns the hash of the signature value with h, which is
// what a signature-time-stamp token's message imprint must equal.
func (sd *SignedData) SignatureDigest(h crypto.Hash) []byte {
	d := h.New()
	d.Write(sd.Signature)
	return d.Sum(nil)
}
