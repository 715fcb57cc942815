package cms

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Attribute is one CMS attribute as read from a SignerInfo.
type Attribute struct {
	Type asn1.ObjectIdentifier
	// Values holds the DER encoding of each AttributeValue.
	Values [][]byte
}

// CertID identifies a certificate the way ESS signing-certificate(-v2)
// attributes do: by a hash of the whole certificate and optionally by
// issuer and serial number.
type CertID struct {
	Hash     crypto.Hash
	CertHash []byte
	// IssuerRaw is the DER Name from issuerSerial, nil when absent.
	IssuerRaw []byte
	Serial    *big.Int
}

// Matches reports whether id names cert.
func (id CertID) Matches(cert *x509.Certificate) bool {
	if cert == nil || !id.Hash.Available() {
		return false
	}
	h := id.Hash.New()
	h.Write(cert.Raw)
	if !bytes.Equal(h.Sum(nil), id.CertHash) {
		return false
	}
	if id.Serial != nil && id.Serial.Cmp(cert.SerialNumber) != 0 {
		return false
	}
	if id.IssuerRaw != nil && !bytes.Equal(id.IssuerRaw, cert.RawIssuer) {
		return false
	}
	return true
}

// SignedAttributes returns the DER encoding (a SET OF Attribute, tag 0x31)
// of the CAdES-baseline signed attributes: content-type (id-data),
// message-digest and signing-certificate-v2 (ESS, SHA-256 certificate hash
// with issuerSerial). There is no signing-time attribute: PAdES puts the
// claimed time in the signature dictionary's /M. The returned bytes are
// what gets hashed and signed, and what Params.SignedAttributes takes back.
func SignedAttributes(contentDigest []byte, hash crypto.Hash, signer *x509.Certificate) ([]byte, error) {
	return SignedAttributesFor(OIDData, contentDigest, hash, signer)
}

// SignedAttributesFor is SignedAttributes for another encapsulated content
// type, such as id-ct-TSTInfo in a time-stamp token.
func SignedAttributesFor(contentType asn1.ObjectIdentifier, contentDigest []byte, hash crypto.Hash, signer *x509.Certificate) ([]byte, error) {
	if !signingHash(hash) {
		return nil, errorf(KindInvalidParams, "digest algorithm %v is not one of SHA-256/384/512", hash)
	}
	if len(contentDigest) != hash.Size() {
		return nil, errorf(KindInvalidParams, "content digest has %d bytes, %v needs %d", len(contentDigest), hash, hash.Size())
	}
	if signer == nil || len(signer.Raw) == 0 {
		return nil, errorf(KindInvalidParams, "no signer certificate")
	}
	if len(contentType) == 0 {
		return nil, errorf(KindInvalidParams, "no content type")
	}
	certHash := sha256.Sum256(signer.Raw)

	attrs := make([][]byte, 0, 3)
	add := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) error {
		var b cryptobyte.Builder
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(casn1.SET, value)
		})
		der, err := b.Bytes()
		if err != nil {
			return wrap(KindInvalidParams, "encoding attribute", err)
		}
		attrs = append(attrs, der)
		return nil
	}
	if err := add(OIDAttrContentType, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(contentType)
	}); err != nil {
		return nil, err
	}
	if err := add(OIDAttrMessageDigest, func(b *cryptobyte.Builder) {
		b.AddASN1OctetString(contentDigest)
	}); err != nil {
		return nil, err
	}
	if err := add(OIDAttrSigningCertV2, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2
					// hashAlgorithm is omitted: SHA-256 is its DEFAULT, and DER forbids encoding a default.
					b.AddASN1OctetString(certHash[:])
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
						b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
							b.AddASN1(casn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddBytes(signer.RawIssuer) // directoryName
							})
						})
						b.AddASN1BigInt(signer.SerialNumber)
					})
				})
			})
		})
	}); err != nil {
		return nil, err
	}
	return encodeSetOf(attrs), nil
}

// encodeSetOf returns a DER SET OF the given element encodings, sorted as
// DER requires.
func encodeSetOf(elems [][]byte) []byte {
	sorted := slices.Clone(elems)
	slices.SortFunc(sorted, bytes.Compare)
	return appendTLV(nil, []byte{0x31}, bytes.Join(sorted, nil))
}

// parseAttributes reads the content of a SET OF Attribute.
func parseAttributes(content cryptobyte.String) ([]Attribute, error) {
	var out []Attribute
	for !content.Empty() {
		var attr, values cryptobyte.String
		var a Attribute
		if !content.ReadASN1(&attr, casn1.SEQUENCE) ||
			!attr.ReadASN1ObjectIdentifier(&a.Type) ||
			!attr.ReadASN1(&values, casn1.SET) || !attr.Empty() {
			return nil, errorf(KindMalformed, "bad attribute")
		}
		for !values.Empty() {
			var v cryptobyte.String
			if !values.ReadAnyASN1Element(&v, nil) {
				return nil, errorf(KindMalformed, "bad value in attribute %v", a.Type)
			}
			a.Values = append(a.Values, []byte(v))
		}
		out = append(out, a)
	}
	return out, nil
}

// parseSigningCertificate decodes SigningCertificateV2 (v2=true) or the
// SHA-1 SigningCertificate of ESS v1, which older time-stamp authorities use.
func parseSigningCertificate(value []byte, v2 bool) ([]CertID, error) {
	s := cryptobyte.String(value)
	var sc, certs cryptobyte.String
	if !s.ReadASN1(&sc, casn1.SEQUENCE) || !sc.ReadASN1(&certs, casn1.SEQUENCE) {
		return nil, errorf(KindMalformed, "bad signing-certificate attribute")
	}
	var ids []CertID
	for !certs.Empty() {
		var e cryptobyte.String
		if !certs.ReadASN1(&e, casn1.SEQUENCE) {
			return nil, errorf(KindMalformed, "bad ESSCertID")
		}
		id := CertID{Hash: crypto.SHA1}
		if v2 {
			id.Hash = crypto.SHA256
			if e.PeekASN1Tag(casn1.SEQUENCE) {
				var alg cryptobyte.String
				var oid asn1.ObjectIdentifier
				if !e.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
					return nil, errorf(KindMalformed, "bad ESSCertIDv2 hash algorithm")
				}
				h, ok := HashFromOID(oid)
				if !ok {
					return nil, errorf(KindUnsupported, "ESSCertIDv2 hash algorithm %v", oid)
				}
				id.Hash = h
			}
		}
		var hash cryptobyte.String
		if !e.ReadASN1(&hash, casn1.OCTET_STRING) {
			return nil, errorf(KindMalformed, "bad ESSCertID hash")
		}
		id.CertHash = []byte(hash)
		if !e.Empty() {
			var is, names cryptobyte.String
			serial := new(big.Int)
			if !e.ReadASN1(&is, casn1.SEQUENCE) || !is.ReadASN1(&names, casn1.SEQUENCE) || !is.ReadASN1Integer(serial) {
				return nil, errorf(KindMalformed, "bad ESSCertID issuerSerial")
			}
			id.Serial = serial
			for !names.Empty() {
				var gn cryptobyte.String
				var tag casn1.Tag
				if !names.ReadAnyASN1(&gn, &tag) {
					return nil, errorf(KindMalformed, "bad GeneralName in issuerSerial")
				}
				if tag == casn1.Tag(4).Constructed().ContextSpecific() {
					id.IssuerRaw = []byte(gn)
				}
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}
