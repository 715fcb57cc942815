package pades

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"vanban/signing"
	"vanban/signing/pades/appearance"
	"vanban/signing/revocation"
)

// Level is a PAdES baseline level (ETSI EN 319 142-1).
type Level int

const (
	// LevelBB: the CMS signature alone.
	LevelBB Level = iota + 1
	// LevelBT: plus a signature time-stamp from a TSA.
	LevelBT
	// LevelBLT: plus a /DSS with the certificates and revocation data that
	// validate the signer and the TSA.
	LevelBLT
	// LevelBLTA: plus a document time-stamp over everything, renewable.
	LevelBLTA
)

var levelNames = map[Level]string{LevelBB: "B-B", LevelBT: "B-T", LevelBLT: "B-LT", LevelBLTA: "B-LTA"}

func (l Level) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// ParseLevel accepts "B-B", "B-T", "B-LT", "B-LTA".
func ParseLevel(s string) (Level, error) {
	for l, n := range levelNames {
		if n == s {
			return l, nil
		}
	}
	return 0, errorf(ErrOptions, "unknown PAdES level %q", s)
}

// MarshalJSON writes the level by name, so stored states stay readable.
func (l Level) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

// UnmarshalJSON reads a level name.
func (l *Level) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Timestamper obtains RFC 3161 time-stamp tokens. signing/tsa.Client
// implements it; the token is the DER ContentInfo.
type Timestamper interface {
	Timestamp(ctx context.Context, imprint []byte, hash crypto.Hash) ([]byte, error)
}

// Evidence is validation material for the /DSS: DER certificates, OCSP
// responses and CRLs.
type Evidence struct {
	Certs [][]byte
	OCSPs [][]byte
	CRLs  [][]byte
}

// RevocationCollector gathers the evidence that validates chain (leaf
// first) at the time of the call: the certificates up to a trust anchor and
// OCSP responses or CRLs for each. signing/revocation provides one.
type RevocationCollector func(ctx context.Context, chain []*x509.Certificate) (*Evidence, error)

// Rect is a rectangle in default user space: lower-left and upper-right.
type Rect struct {
	LLX, LLY, URX, URY float64
}

// Width returns the rectangle's width.
func (r Rect) Width() float64 { return r.URX - r.LLX }

// Height returns the rectangle's height.
func (r Rect) Height() float64 { return r.URY - r.LLY }

// IsZero reports whether r has no area (an invisible signature).
func (r Rect) IsZero() bool { return r.Width() == 0 || r.Height() == 0 }

func (r Rect) valid() bool {
	for _, v := range []float64{r.LLX, r.LLY, r.URX, r.URY} {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e6 {
			return false
		}
	}
	return r.URX >= r.LLX && r.URY >= r.LLY
}

// Appearance describes a visible signature. A zero Rect makes the signature
// invisible (hidden, printed-but-empty widget).
type Appearance struct {
	// Page is the 1-based page number; 0 means the first page.
	Page int
	Rect Rect
	// Image is an optional transparent PNG (handwritten signature, seal).
	Image     []byte
	Placement appearance.Placement
	// Lines are drawn top to bottom. Empty Lines with a non-zero Rect
	// default to the signer's name, organization and signing time.
	Lines    []string
	FontSize float64
	TextRGB  [3]float64
}

// FieldLock is a FieldMDP lock (ISO 32000-1 12.7.4.5 and 12.8.2.4): the
// form fields that may not change once a signature is made. Standard
// validators (Adobe, pyHanko, EU DSS) and ours report a later change of a
// locked field as not permitted.
type FieldLock struct {
	// Action is "All", "Include" (the Fields) or "Exclude" (all but the Fields).
	Action string
	// Fields are fully qualified field names, for Include and Exclude.
	Fields []string
}

func (l *FieldLock) valid() error {
	if l == nil {
		return nil
	}
	switch l.Action {
	case "All":
		return nil
	case "Include", "Exclude":
		if len(l.Fields) == 0 && l.Action == "Include" {
			return errorf(ErrOptions, "a FieldMDP /Include lock needs field names")
		}
		return nil
	}
	return errorf(ErrOptions, "FieldMDP action %q is not All, Include or Exclude", l.Action)
}

// FieldKind is the type of an extra form field created with the signature.
type FieldKind int

const (
	// TextField is a single-line text field (document number, issue date).
	TextField FieldKind = iota + 1
	// SignatureField is an empty signature field (the office seal).
	SignatureField
)

// ExtraField is a form field created in the same update as the signature,
// so a DocMDP P=2 certification permits filling or signing it later.
type ExtraField struct {
	Name     string
	Kind     FieldKind
	Page     int // 1-based; 0 means the first page
	Rect     Rect
	FontSize float64 // text fields: 0 = auto
	Align    appearance.Align
	// Value is an initial value for a text field (usually empty).
	Value string
	// Lock, for a signature field, is the /Lock applied when the field
	// is signed: the signer's /Reference then carries the matching
	// FieldMDP transform.
	Lock *FieldLock
	// Background, for a text field, is its /MK /BG colour (1 gray or 3
	// RGB components, 0..1): {1} is white, covering the template text
	// beneath the field once it is filled. Nil leaves it transparent.
	Background []float64
	// Italic draws a text field's value slanted; it is kept in the
	// field (/VNBStyle /Italic) so that filling it later keeps the style.
	Italic bool
}

// Options tune Prepare and Sign.
type Options struct {
	// Chain is the signer's certificate chain, leaf first (required). The
	// leaf is pinned: the signed attributes name it and Finish verifies
	// the signature value against it.
	Chain []*x509.Certificate
	// Hash is the digest algorithm: crypto.SHA256 (default), SHA384, SHA512.
	Hash crypto.Hash
	// PSS selects RSASSA-PSS for RSA keys (PKCS#1 v1.5 otherwise).
	PSS bool
	// Level is the target PAdES level; zero means B-B, or B-T when TSA
	// is set.
	Level Level
	// TSA obtains the signature time-stamp (B-T and above) and the
	// document time-stamp (B-LTA). Not serialized: set State.TSA again
	// before Finish in another process.
	TSA Timestamper
	// Revocation collects DSS evidence for B-LT and above. Not serialized,
	// like TSA.
	Revocation RevocationCollector

	// FieldName names the signature field. If a field of that name exists
	// it must be an empty signature field and is signed (approval of a
	// prepared seal field); otherwise a new field is created. Default
	// "Signature<n>".
	FieldName string
	Reason    string
	Location  string
	Contact   string
	// Name is the signer's name for /Name; default the certificate's
	// common name.
	Name string
	// SigningTime goes into /M and the appearance; default now.
	SigningTime time.Time

	// Certify makes this a certification signature with DocMDP
	// permissions 1, 2 or 3; 0 makes an approval signature.
	Certify int
	// Fields are created in the same update (certification only makes
	// sense with them for P=2).
	Fields []ExtraField
	// Lock makes the signature lock form fields (FieldMDP): /Lock on its
	// field and the matching /Reference transform in its signature
	// dictionary. When nil and the field being signed already carries a
	// /Lock, the signature takes that lock, as Adobe's signers do.
	Lock *FieldLock

	// Appearance of the signature widget; nil or a zero Rect is invisible.
	Appearance *Appearance

	// ContentsSize overrides the bytes reserved for the CMS in /Contents.
	// Zero estimates it from the chain, the key and the level.
	ContentsSize int
}

// hash returns the digest algorithm, validated.
func (o *Options) hash() (crypto.Hash, error) {
	switch o.Hash {
	case 0:
		return crypto.SHA256, nil
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
		return o.Hash, nil
	}
	return 0, errorf(ErrOptions, "hash %v is not SHA-256, SHA-384 or SHA-512", o.Hash)
}

func (o *Options) level() Level {
	if o.Level != 0 {
		return o.Level
	}
	if o.TSA != nil {
		return LevelBT
	}
	return LevelBB
}

// algorithm derives the signature algorithm from the leaf certificate.
func (o *Options) algorithm(leaf *x509.Certificate) (signing.Algorithm, error) {
	alg, err := signing.AlgorithmFor(leaf)
	if err != nil {
		return 0, wrapErr(ErrOptions, err, "signer certificate")
	}
	if o.PSS {
		if alg != signing.RSAPKCS1v15 {
			return 0, errorf(ErrOptions, "RSA-PSS requested for a %s key", alg)
		}
		alg = signing.RSAPSS
	}
	return alg, nil
}

// CollectRevocation adapts signing/revocation.Collect: evidence for chain
// validated against roots, fetched with client (nil: http.DefaultClient).
// A certificate revoked now, or without obtainable status, fails the
// collection, so a B-LT signature is never made on a revoked certificate.
func CollectRevocation(roots *x509.CertPool, client *http.Client) RevocationCollector {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context, chain []*x509.Certificate) (*Evidence, error) {
		ev, err := revocation.Collect(ctx, chain, roots, client)
		if err != nil {
			return nil, err
		}
		return &Evidence{Certs: ev.Certs, OCSPs: ev.OCSPs, CRLs: ev.CRLs}, nil
	}
}
