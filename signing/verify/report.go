// Package verify validates the signatures of a PDF and reports, per
// signature, in the vocabulary of ETSI EN 319 102-1 (indications and
// sub-indications) and ETSI EN 319 142-1 (PAdES baseline levels).
//
// For each signature and document time-stamp it checks the format
// (ByteRange, SubFilter, CMS), integrity (message digest over the byte
// ranges, signature value), the certificate chain to the configured trust
// anchors at the best proven signing time, revocation status from the
// document's /DSS (and online when allowed), the time-stamps, and what
// changed in the document after the signature, classified and judged
// against the DocMDP permissions of a certification signature.
package verify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"time"

	"vanban/signing/revocation"
)

// Indication is the main validation status (ETSI EN 319 102-1 5.1.2).
type Indication string

const (
	TotalPassed   Indication = "TOTAL-PASSED"
	TotalFailed   Indication = "TOTAL-FAILED"
	Indeterminate Indication = "INDETERMINATE"
)

// SubIndication refines INDETERMINATE and TOTAL-FAILED (ETSI EN 319 102-1 5.1.3).
type SubIndication string

const (
	FormatFailure              SubIndication = "FORMAT_FAILURE"
	HashFailure                SubIndication = "HASH_FAILURE"
	SigCryptoFailure           SubIndication = "SIG_CRYPTO_FAILURE"
	Revoked                    SubIndication = "REVOKED"
	SigConstraintsFailure      SubIndication = "SIG_CONSTRAINTS_FAILURE"
	ChainConstraintsFailure    SubIndication = "CHAIN_CONSTRAINTS_FAILURE"
	NoCertificateChainFound    SubIndication = "NO_CERTIFICATE_CHAIN_FOUND"
	NoSigningCertificateFound  SubIndication = "NO_SIGNING_CERTIFICATE_FOUND"
	RevokedNoPOE               SubIndication = "REVOKED_NO_POE"
	OutOfBoundsNoPOE           SubIndication = "OUT_OF_BOUNDS_NO_POE"
	NotYetValid                SubIndication = "NOT_YET_VALID"
	TryLater                   SubIndication = "TRY_LATER"
	CryptoConstraintsFailureNP SubIndication = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
)

// Modification categories of changes made after a signature.
const (
	ModFormFill    = "form-fill"
	ModSignatures  = "signatures"
	ModDSS         = "dss"
	ModAnnotations = "annotations"
	ModMetadata    = "metadata"
	ModOther       = "other"
	// ModUnreferenced: objects added after the signature that nothing in
	// the final document refers to (an appearance replaced by a later
	// fill, say). A reader never sees them, so they are permitted.
	ModUnreferenced = "unreferenced"
)

// Report is the validation report of a document.
type Report struct {
	FileSize  int64 `json:"file_size"`
	Revisions int   `json:"revisions"`
	// DocMDP is the permission level (1-3) of the certification signature, 0 if none.
	DocMDP int `json:"docmdp,omitempty"`
	// ValidationTime is when the validation ran.
	ValidationTime time.Time         `json:"validation_time"`
	Signatures     []SignatureReport `json:"signatures"`
	// UnsignedFields are the fully qualified names of signature fields
	// that hold no signature (yet).
	UnsignedFields []string `json:"unsigned_signature_fields,omitempty"`
}

// CertInfo describes a certificate for a report.
type CertInfo struct {
	Subject      string    `json:"subject"`
	CommonName   string    `json:"common_name,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Issuer       string    `json:"issuer"`
	Serial       string    `json:"serial"`
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
	SHA256       string    `json:"sha256"`
}

func certInfo(c *x509.Certificate) *CertInfo {
	if c == nil {
		return nil
	}
	sum := sha256.Sum256(c.Raw)
	ci := &CertInfo{
		Subject: c.Subject.String(), CommonName: c.Subject.CommonName, Issuer: c.Issuer.String(),
		Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore, NotAfter: c.NotAfter, SHA256: hex.EncodeToString(sum[:]),
	}
	if len(c.Subject.Organization) > 0 {
		ci.Organization = c.Subject.Organization[0]
	}
	return ci
}

// SignatureReport is the validation of one signature or document time-stamp.
type SignatureReport struct {
	// Field is the fully qualified name of the signature field.
	Field string `json:"field"`
	// Type is "signature" or "document-timestamp".
	Type      string    `json:"type"`
	SubFilter string    `json:"sub_filter"`
	Signer    *CertInfo `json:"signer,omitempty"`
	Name      string    `json:"name,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Location  string    `json:"location,omitempty"`
	// ClaimedSigningTime is /M (PAdES) or the CMS signing-time attribute:
	// what the signer's computer claimed, not proven.
	ClaimedSigningTime time.Time `json:"claimed_signing_time,omitzero"`
	// Timestamp is the signature time-stamp (B-T), or for a document
	// time-stamp the token itself.
	Timestamp *TimestampReport `json:"timestamp,omitempty"`
	// BestSignatureTime is the earliest proven time the signature existed
	// (a valid time-stamp), or the validation time.
	BestSignatureTime time.Time `json:"best_signature_time"`
	// Certification is set for a certification (DocMDP) signature.
	Certification bool `json:"certification,omitempty"`
	DocMDP        int  `json:"docmdp,omitempty"`

	Coverage      Coverage           `json:"coverage"`
	Integrity     Integrity          `json:"integrity"`
	Chain         ChainReport        `json:"chain"`
	Revocation    []RevocationReport `json:"revocation,omitempty"`
	Modifications Modifications      `json:"modifications"`
	// Level is the PAdES baseline level reached: "B-B", "B-T", "B-LT",
	// "B-LTA", or "" for signatures that are not PAdES baseline
	// (adbe.pkcs7.detached).
	Level         string        `json:"level,omitempty"`
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"sub_indication,omitempty"`
	Errors        []string      `json:"errors,omitempty"`
	Warnings      []string      `json:"warnings,omitempty"`
}

// Coverage says which bytes the signature covers.
type Coverage struct {
	ByteRange [4]int64 `json:"byte_range"`
	// Revision is the 1-based revision the signature covers.
	Revision int `json:"revision"`
	// WholeFile: the signature covers the file up to its end (nothing was
	// appended after it).
	WholeFile bool `json:"whole_file"`
}

// Integrity reports the cryptographic checks.
type Integrity struct {
	DigestAlgorithm    string `json:"digest_algorithm,omitempty"`
	SignatureAlgorithm string `json:"signature_algorithm,omitempty"`
	// MessageDigestOK: the digest of the byte ranges equals the signed digest.
	MessageDigestOK bool `json:"message_digest_ok"`
	// SignatureOK: the signature value verifies with the signer's key.
	SignatureOK bool `json:"signature_ok"`
	// SigningCertificateOK: the ESS signing-certificate attribute names
	// the signer (false when absent).
	SigningCertificateOK bool `json:"signing_certificate_ok"`
}

// ChainReport is the certificate path validation.
type ChainReport struct {
	// Trusted: a path to a configured trust anchor was found and is valid
	// at ValidationTime.
	Trusted        bool        `json:"trusted"`
	ValidationTime time.Time   `json:"validation_time"`
	Certificates   []*CertInfo `json:"certificates,omitempty"`
	KeyUsageOK     bool        `json:"key_usage_ok"`
	Detail         string      `json:"detail,omitempty"`
}

// RevocationReport is the status of one certificate of the path.
type RevocationReport struct {
	Subject string            `json:"subject"`
	Status  revocation.Status `json:"status"`
	// Online: the status was fetched during validation, not read from
	// the document.
	Online bool `json:"online,omitempty"`
	// NotApplicable: the certificate names no status service (or is an
	// OCSP responder with ocsp-nocheck); its status cannot be checked.
	NotApplicable bool `json:"not_applicable,omitempty"`
}

// TimestampReport describes a time-stamp token.
type TimestampReport struct {
	Time time.Time `json:"time"`
	TSA  *CertInfo `json:"tsa,omitempty"`
	// Valid: the token is intact, covers what it should and its TSA
	// chains to a trust anchor.
	Valid  bool   `json:"valid"`
	Detail string `json:"detail,omitempty"`
}

// Modifications are the changes made after the signature.
type Modifications struct {
	// Categories present among the changes (see the Mod* constants);
	// empty when nothing changed.
	Categories []string `json:"categories,omitempty"`
	// Permitted: the changes are allowed (DocMDP and the nature of the
	// signature).
	Permitted bool `json:"permitted"`
	// Details are readable lines: the first not permitted change, or a
	// count of changes per rule.
	Details []string `json:"details,omitempty"`
	// Objects lists every object added, changed or deleted after the
	// signature with the whitelist rule it matched (or "no rule"), the
	// not permitted ones first; at most 300, Omitted counts the rest.
	Objects []ObjectChange `json:"objects,omitempty"`
	Omitted int            `json:"omitted,omitempty"`
	// Visual lists what a visual check (Options.Visual) saw change on the
	// pages outside the areas the permitted changes may paint: a change
	// the whitelist accepts but the reader sees, as shadow attacks make.
	// VisualChecked says the check ran.
	Visual        []VisualDifference `json:"visual,omitempty"`
	VisualChecked bool               `json:"visual_checked,omitempty"`
}

// VisualDifference is a visible change on a page outside the rectangles
// the permitted changes of one revision may paint (filled fields and
// signature widgets).
type VisualDifference struct {
	// Revision is the 1-based revision whose changes showed it.
	Revision int `json:"revision"`
	Page     int `json:"page"` // 1-based
	// Rect bounds the differing pixels in PDF user space
	// (llx, lly, urx, ury).
	Rect   [4]float64 `json:"rect"`
	Pixels int        `json:"pixels"`
	Detail string     `json:"detail"`
}
