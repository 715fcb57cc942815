package etsi204

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// With MSS_Format PKCS7 the MSSP wraps the SIM's signature in a CMS
// SignedData (RFC 5652). We need only the signature value and the
// certificates, so we parse just that much. The SIM signed our DataToBeSigned
// directly; a SignerInfo with signed attributes means the signature is over
// something else, which cannot be embedded in our own signed data.

var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

type cmsContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type cmsSignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo asn1.RawValue
	Certificates     asn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []cmsSignerInfo `asn1:"set"`
}

type cmsSignerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    asn1.RawValue
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm asn1.RawValue
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

// errSignedAttrs tells the caller the CMS signature is not over our digest.
var errSignedAttrs = errors.New("CMS SignerInfo carries signed attributes, so its signature is not over our data to be signed")

// parseCMSSignature returns the signature value and certificates of a DER
// CMS ContentInfo holding SignedData with exactly one SignerInfo.
func parseCMSSignature(der []byte) ([]byte, []*x509.Certificate, error) {
	var ci cmsContentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, nil, fmt.Errorf("CMS ContentInfo: %w", err)
	}
	if len(rest) != 0 {
		return nil, nil, errors.New("trailing data after CMS ContentInfo")
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, nil, fmt.Errorf("CMS content type %v is not SignedData", ci.ContentType)
	}
	var sd cmsSignedData
	rest, err = asn1.Unmarshal(ci.Content.Bytes, &sd)
	if err != nil {
		return nil, nil, fmt.Errorf("CMS SignedData: %w", err)
	}
	if len(rest) != 0 {
		return nil, nil, errors.New("trailing data after CMS SignedData")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, nil, fmt.Errorf("CMS SignedData has %d SignerInfos, want 1", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	if len(si.SignedAttrs.FullBytes) != 0 {
		return nil, nil, errSignedAttrs
	}
	if len(si.Signature) == 0 {
		return nil, nil, errors.New("CMS SignerInfo has an empty signature")
	}
	var certs []*x509.Certificate
	if len(sd.Certificates.Bytes) != 0 {
		// [0] IMPLICIT SET OF CertificateChoices: the content is a run of
		// DER certificates (other choices are not expected from an MSSP).
		certs, err = x509.ParseCertificates(sd.Certificates.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("CMS certificates: %w", err)
		}
	}
	return si.Signature, certs, nil
}
