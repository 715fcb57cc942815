package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"vanban/signing"
)

// Params are the inputs of Build.
type Params struct {
	// SignedAttributes exactly as returned by SignedAttributes (a DER SET).
	SignedAttributes []byte
	// Hash is the digest algorithm: SHA-256, SHA-384 or SHA-512.
	Hash crypto.Hash
	// Algorithm is the signature scheme of Signature.
	Algorithm signing.Algorithm
	// Signature is the signature value over Hash(SignedAttributes). ECDSA
	// signatures may be DER or raw r||s.
	Signature []byte
	// Certificates: the signer first, then its chain (the root may be left out).
	Certificates []*x509.Certificate
	// SignatureTimestamp is an optional RFC 3161 TimeStampToken (DER
	// ContentInfo) over the signature value, stored as the unsigned
	// attribute id-aa-signatureTimeStampToken (PAdES B-T).
	SignatureTimestamp []byte

	// ContentType is the eContentType; nil means id-data. It must match
	// the content-type signed attribute.
	ContentType asn1.ObjectIdentifier
	// Content is encapsulated as eContent when non-nil (time-stamp tokens
	// carry their TSTInfo this way); nil makes a detached signature.
	Content []byte
	// OmitCertificates leaves the certificates field out (RFC 3161 requires
	// it when the requester did not ask for the TSA certificate). The
	// signature is still checked against Certificates[0].
	OmitCertificates bool
}

// Build returns the DER ContentInfo of a SignedData with one SignerInfo
// identified by issuer and serial number. Before it embeds the signature it
// verifies it with Certificates[0] over the signed attributes and checks
// that the attributes name that certificate; any mismatch fails with
// KindBadSignature or KindCertificateMismatch, so a wrong answer from a SIM
// or HSM never ends up in a document.
//
// Errors: KindInvalidParams, KindBadSignature, KindCertificateMismatch,
// KindTimestampMismatch.
func Build(p Params) ([]byte, error) {
	if !signingHash(p.Hash) {
		return nil, errorf(KindInvalidParams, "digest algorithm %v is not one of SHA-256/384/512", p.Hash)
	}
	if len(p.Certificates) == 0 || p.Certificates[0] == nil {
		return nil, errorf(KindInvalidParams, "no signer certificate")
	}
	for i, c := range p.Certificates {
		if c == nil || len(c.Raw) == 0 {
			return nil, errorf(KindInvalidParams, "certificate %d is empty", i)
		}
	}
	signer := p.Certificates[0]
	contentType := p.ContentType
	if contentType == nil {
		contentType = OIDData
	}

	// The signed attributes must be a well-formed SET that binds this
	// signer, this content type and a digest of the right size.
	if len(p.SignedAttributes) == 0 || p.SignedAttributes[0] != 0x31 {
		return nil, errorf(KindInvalidParams, "signed attributes must be a DER SET (tag 0x31)")
	}
	hdr, content, err := splitTLV(p.SignedAttributes)
	if err != nil || hdr+len(content) != len(p.SignedAttributes) {
		return nil, errorf(KindInvalidParams, "signed attributes are not one DER element")
	}
	attrs, err := parseAttributes(content)
	if err != nil {
		return nil, wrap(KindInvalidParams, "signed attributes", err)
	}
	check := &SignedData{Attributes: attrs}
	if err := check.readSignedAttributes(); err != nil {
		return nil, wrap(KindInvalidParams, "signed attributes", err)
	}
	if len(check.MessageDigest) != p.Hash.Size() {
		return nil, errorf(KindInvalidParams, "message-digest attribute missing or not a %v digest", p.Hash)
	}
	if !check.SignedContentType.Equal(contentType) {
		return nil, errorf(KindInvalidParams, "content-type attribute %v does not match content type %v", check.SignedContentType, contentType)
	}
	if p.Content != nil {
		h := p.Hash.New()
		h.Write(p.Content)
		if !bytes.Equal(h.Sum(nil), check.MessageDigest) {
			return nil, errorf(KindDigestMismatch, "message-digest attribute does not match the encapsulated content")
		}
	}
	if len(check.SigningCertificates) == 0 || !check.SigningCertificates[0].Matches(signer) {
		return nil, errorf(KindCertificateMismatch, "signing-certificate-v2 attribute does not name Certificates[0]")
	}

	// Verify the signature value before embedding it.
	h := p.Hash.New()
	h.Write(p.SignedAttributes)
	digest := h.Sum(nil)
	sa := sigAlg{alg: p.Algorithm, hash: p.Hash}
	sig := p.Signature
	switch p.Algorithm {
	case signing.RSAPKCS1v15:
		if _, ok := signer.PublicKey.(*rsa.PublicKey); !ok {
			return nil, errorf(KindBadSignature, "RSA algorithm but the certificate key is %v", signer.PublicKeyAlgorithm)
		}
	case signing.RSAPSS:
		pub, ok := signer.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, errorf(KindBadSignature, "RSA-PSS algorithm but the certificate key is %v", signer.PublicKeyAlgorithm)
		}
		salt, err := pssSaltLength(pub, p.Hash, digest, sig)
		if err != nil {
			return nil, err
		}
		sa.pssSalt = salt
	case signing.ECDSA:
		pub, ok := signer.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			return nil, errorf(KindBadSignature, "ECDSA algorithm but the certificate key is %v", signer.PublicKeyAlgorithm)
		}
		der, err := signing.ECDSAToDER(sig, pub)
		if err != nil {
			return nil, wrap(KindBadSignature, "ECDSA signature", err)
		}
		sig = der
	default:
		return nil, errorf(KindInvalidParams, "unknown signature algorithm %v", p.Algorithm)
	}
	if err := verifyWith(signer, p.Hash, sa, digest, sig); err != nil {
		return nil, err
	}

	var unsigned [][]byte
	if p.SignatureTimestamp != nil {
		attr, err := timestampAttribute(p.SignatureTimestamp, sig)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, attr)
	}

	version := int64(1)
	if !contentType.Equal(OIDData) {
		version = 3 // RFC 5652 5.1: eContentType other than id-data
	}
	var enc encoder
	raw := rawSignedData{
		version: version,
		digestAlgs: enc.bytes(func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SET, func(b *cryptobyte.Builder) { addDigestAlgID(b, p.Hash) })
		}),
		siVersion:     1,
		digestAlg:     enc.bytes(func(b *cryptobyte.Builder) { addDigestAlgID(b, p.Hash) }),
		sigAlg:        enc.bytes(func(b *cryptobyte.Builder) { addSignatureAlgID(b, sa) }),
		signature:     enc.bytes(func(b *cryptobyte.Builder) { b.AddASN1OctetString(sig) }),
		unsignedAttrs: unsigned,
	}
	raw.encap = enc.bytes(func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(contentType)
			if p.Content != nil {
				b.AddASN1(casn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(p.Content)
				})
			}
		})
	})
	if !p.OmitCertificates {
		raw.certs = enc.bytes(func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				for _, c := range p.Certificates {
					b.AddBytes(c.Raw)
				}
			})
		})
	}
	raw.sid = enc.bytes(func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(signer.RawIssuer)
			b.AddASN1BigInt(signer.SerialNumber)
		})
	})
	attrsIm := append([]byte(nil), p.SignedAttributes...)
	attrsIm[0] = 0xa0 // [0] IMPLICIT SET OF Attribute
	raw.signedAttrs = attrsIm
	if enc.err != nil {
		return nil, wrap(KindInvalidParams, "encoding SignedData", enc.err)
	}
	return raw.encode()
}

// AddSignatureTimestamp returns signedData with token added as a
// signature-time-stamp unsigned attribute, turning a B-B signature into
// B-T. The token must be a time-stamp token whose message imprint is the
// hash of the signature value. Everything else is copied unchanged.
//
// Errors: KindMalformed, KindUnsupported, KindTimestampMismatch.
func AddSignatureTimestamp(signedData, token []byte) ([]byte, error) {
	sd, err := Parse(signedData)
	if err != nil {
		return nil, err
	}
	attr, err := timestampAttribute(token, sd.Signature)
	if err != nil {
		return nil, err
	}
	raw := sd.raw
	raw.unsignedAttrs = append(append([][]byte(nil), raw.unsignedAttrs...), attr)
	return raw.encode()
}

// timestampAttribute checks that token covers sig and wraps it as an
// id-aa-signatureTimeStampToken attribute.
func timestampAttribute(token, sig []byte) ([]byte, error) {
	tok, err := Parse(token)
	if err != nil {
		return nil, wrap(KindTimestampMismatch, "time-stamp token", err)
	}
	if !tok.ContentType.Equal(OIDTSTInfo) {
		return nil, errorf(KindTimestampMismatch, "time-stamp token content type %v is not TSTInfo", tok.ContentType)
	}
	h, imprint, err := tstImprint(tok.EncapsulatedContent)
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(sig)
	if !bytes.Equal(d.Sum(nil), imprint) {
		return nil, errorf(KindTimestampMismatch, "time-stamp message imprint is not the hash of the signature value")
	}
	// Re-encode the token as the normalized DER Parse produced: it is what
	// a validator will hash and parse.
	norm, _, err := normalizeBER(token)
	if err != nil {
		return nil, wrap(KindTimestampMismatch, "time-stamp token", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDAttrSignatureTimeStamp)
		b.AddASN1(casn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(norm) })
	})
	return b.Bytes()
}

// tstImprint reads the messageImprint of a TSTInfo.
func tstImprint(tstInfo []byte) (crypto.Hash, []byte, error) {
	s := cryptobyte.String(tstInfo)
	var info, mi, alg, hashed cryptobyte.String
	var version int64
	var policy, oid asn1.ObjectIdentifier
	if !s.ReadASN1(&info, casn1.SEQUENCE) || !info.ReadASN1Int64WithTag(&version, casn1.INTEGER) ||
		!info.ReadASN1ObjectIdentifier(&policy) || !info.ReadASN1(&mi, casn1.SEQUENCE) ||
		!mi.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) ||
		!mi.ReadASN1(&hashed, casn1.OCTET_STRING) {
		return 0, nil, errorf(KindTimestampMismatch, "time-stamp token holds no well-formed TSTInfo")
	}
	h, ok := HashFromOID(oid)
	if !ok || !h.Available() {
		return 0, nil, errorf(KindUnsupported, "time-stamp imprint hash %v", oid)
	}
	return h, []byte(hashed), nil
}

func (r *rawSignedData) encode() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(casn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(r.version)
				b.AddBytes(r.digestAlgs)
				b.AddBytes(r.encap)
				b.AddBytes(r.certs)
				b.AddBytes(r.crls)
				b.AddASN1(casn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(r.siVersion)
						b.AddBytes(r.sid)
						b.AddBytes(r.digestAlg)
						b.AddBytes(r.signedAttrs)
						b.AddBytes(r.sigAlg)
						b.AddBytes(r.signature)
						if len(r.unsignedAttrs) > 0 {
							b.AddASN1(casn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								// SET OF in DER order.
								set := encodeSetOf(r.unsignedAttrs)
								_, content, _ := splitTLV(set)
								b.AddBytes(content)
							})
						}
					})
				})
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, wrap(KindInvalidParams, "encoding SignedData", err)
	}
	return out, nil
}

// encoder runs several small encodings and keeps the first error, so that
// Build reads as a list of fields.
type encoder struct{ err error }

func (e *encoder) bytes(f func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	out, err := b.Bytes()
	if err != nil && e.err == nil {
		e.err = err
	}
	return out
}
