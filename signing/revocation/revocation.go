// Package revocation gathers and judges certificate status information:
// OCSP responses (RFC 6960) and CRLs (RFC 5280).
//
// At signing time, Collect fetches validated status for every certificate
// of a chain, in the DER form a PAdES /DSS dictionary stores (B-LT). At
// verification time, Check decides from such evidence whether a
// certificate was good, revoked or of unknown status at a given moment.
package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Kind classifies revocation errors.
type Kind int

const (
	// KindInvalidParams: missing certificate, empty chain.
	KindInvalidParams Kind = iota + 1
	// KindNoChain: the chain does not lead to one of the roots.
	KindNoChain
	// KindUnavailable: no status source answered (network, HTTP error, no URL).
	KindUnavailable
	// KindBadEvidence: a source answered with data that does not validate
	// (bad signature, unauthorized responder, expired, wrong issuer).
	KindBadEvidence
	// KindRevoked: a certificate of the chain is revoked.
	KindRevoked
)

var kindNames = map[Kind]string{
	KindInvalidParams: "invalid parameters",
	KindNoChain:       "no chain to a trusted root",
	KindUnavailable:   "revocation status unavailable",
	KindBadEvidence:   "invalid revocation data",
	KindRevoked:       "certificate revoked",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error type of this package.
type Error struct {
	Kind Kind
	// Subject names the certificate concerned, when there is one.
	Subject string
	Message string
	Err     error
}

func (e *Error) Error() string {
	msg := "revocation: " + e.Kind.String()
	if e.Subject != "" {
		msg += " for " + e.Subject
	}
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

// KindOf returns the Kind of err (the first one found when err joins
// several), or 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Evidence is revocation data in DER, as a PAdES /DSS stores it.
type Evidence struct {
	// OCSPs are complete OCSPResponse structures.
	OCSPs [][]byte `json:"ocsps,omitempty"`
	CRLs  [][]byte `json:"crls,omitempty"`
	// Certs are the certificates needed to validate the chain and the
	// evidence: the chain up to the root, and OCSP responder certificates.
	Certs [][]byte `json:"certs,omitempty"`
}

// Merge adds other's items that e does not hold yet.
func (e *Evidence) Merge(other Evidence) {
	e.OCSPs = appendUnique(e.OCSPs, other.OCSPs...)
	e.CRLs = appendUnique(e.CRLs, other.CRLs...)
	e.Certs = appendUnique(e.Certs, other.Certs...)
}

func appendUnique(list [][]byte, items ...[]byte) [][]byte {
next:
	for _, it := range items {
		for _, have := range list {
			if bytes.Equal(have, it) {
				continue next
			}
		}
		list = append(list, it)
	}
	return list
}

// State is a certificate status.
type State int

const (
	Unknown State = iota
	Good
	Revoked
)

func (s State) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	}
	return "unknown"
}

// MarshalText makes State read well in JSON reports.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote, so that a JSON validation
// report can be decoded again (by the command line's callers, an archive).
func (s *State) UnmarshalText(b []byte) error {
	switch string(b) {
	case "good":
		*s = Good
	case "revoked":
		*s = Revoked
	case "unknown":
		*s = Unknown
	default:
		return fmt.Errorf("revocation: unknown state %q", b)
	}
	return nil
}

// Status is the outcome of Check.
type Status struct {
	State State `json:"state"`
	// RevokedAt and Reason are set when a source lists the certificate as
	// revoked, even when that happened after the time of interest (the
	// State is then Good: the certificate was good at that time).
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Reason is the RFC 5280 CRLReason code.
	Reason int `json:"reason,omitempty"`
	// Source is "ocsp", "crl" or "ocsp-nocheck" (an OCSP responder
	// certificate that needs no check).
	Source string `json:"source,omitempty"`
	// ThisUpdate and NextUpdate of the evidence decided on.
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	// Detail says why the state is Unknown.
	Detail string `json:"detail,omitempty"`
}

// errOtherIssuer marks a CRL of another CA, normal in a DSS that holds
// the CRLs of a whole chain.
var errOtherIssuer = errors.New("CRL issued by another CA")

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

func hasNoCheck(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidOCSPNoCheck) {
			return true
		}
	}
	return false
}

// validateOCSP parses an OCSP response for cert and checks that it was
// signed by issuer or by a responder issuer authorized (a certificate
// issued by issuer with the OCSPSigning extended key usage, valid when the
// response was produced). extra holds candidate responder certificates
// for responses that do not embed theirs.
func validateOCSP(der []byte, cert, issuer *x509.Certificate, extra []*x509.Certificate) (*ocsp.Response, error) {
	// With a nil issuer the library checks the signature against the
	// embedded certificate only; authorization is decided here.
	resp, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		return nil, err
	}
	if resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return nil, errors.New("OCSP response is for another serial number")
	}
	authorized := func(r *x509.Certificate) error {
		if r.Equal(issuer) {
			return nil
		}
		if !bytes.Equal(r.RawIssuer, issuer.RawSubject) {
			return errors.New("OCSP responder certificate was not issued by the certificate's issuer")
		}
		if err := r.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("OCSP responder certificate: %w", err)
		}
		ok := false
		for _, u := range r.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageOCSPSigning
		}
		if !ok {
			return errors.New("OCSP responder certificate lacks the OCSPSigning extended key usage")
		}
		if resp.ProducedAt.Before(r.NotBefore.Add(-time.Minute)) || resp.ProducedAt.After(r.NotAfter) {
			return errors.New("OCSP responder certificate was not valid when the response was produced")
		}
		return nil
	}
	if resp.Certificate != nil {
		if err := authorized(resp.Certificate); err != nil {
			return nil, err
		}
		return resp, nil
	}
	if resp.CheckSignatureFrom(issuer) == nil {
		return resp, nil
	}
	for _, c := range extra {
		if resp.CheckSignatureFrom(c) == nil {
			if err := authorized(c); err != nil {
				return nil, err
			}
			resp.Certificate = c
			return resp, nil
		}
	}
	return nil, errors.New("OCSP response signature does not verify with the issuer or a known responder")
}

// validateCRL parses a CRL and checks that issuer issued and signed it.
func validateCRL(der []byte, issuer *x509.Certificate) (*x509.RevocationList, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, errOtherIssuer
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL signature: %w", err)
	}
	for _, e := range crl.Extensions {
		// Delta CRLs (2.5.29.27) and partitioned/indirect CRLs (issuing
		// distribution point, 2.5.29.28) would need more logic than a
		// full CRL; refuse them rather than misjudge.
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 27}) || (e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 28}) && e.Critical) {
			return nil, errors.New("delta or partitioned CRLs are not supported")
		}
	}
	return crl, nil
}

// Check decides the status of cert, issued by issuer, at time at, from
// the evidence. at is the time of interest (for a signature, the time it
// is proven to exist, such as its time-stamp). A source proves Good when
// it was issued after at, or when at falls within its validity
// (thisUpdate..nextUpdate); a revocation at or before at makes Revoked.
// Evidence that does not validate is ignored. Unknown comes with a Detail.
// The error is only for missing arguments.
func Check(cert, issuer *x509.Certificate, ev Evidence, at time.Time) (Status, error) {
	if cert == nil || issuer == nil {
		return Status{}, &Error{Kind: KindInvalidParams, Message: "certificate and issuer are required"}
	}
	if hasNoCheck(cert) {
		return Status{State: Good, Source: "ocsp-nocheck"}, nil
	}
	var extra []*x509.Certificate
	for _, der := range ev.Certs {
		if c, err := x509.ParseCertificate(der); err == nil {
			extra = append(extra, c)
		}
	}
	var good, revoked, later *Status
	var problems []string
	consider := func(s Status) {
		switch {
		case s.State == Revoked:
			if revoked == nil || s.RevokedAt.Before(revoked.RevokedAt) {
				revoked = &s
			}
		case s.State == Good && !s.RevokedAt.IsZero():
			later = &s
		case s.State == Good:
			if good == nil || s.ThisUpdate.After(good.ThisUpdate) {
				good = &s
			}
		}
	}
	proves := func(thisUpdate, nextUpdate time.Time) bool {
		return !thisUpdate.Before(at) || (!at.Before(thisUpdate) && !nextUpdate.IsZero() && at.Before(nextUpdate))
	}
	for _, der := range ev.OCSPs {
		resp, err := validateOCSP(der, cert, issuer, extra)
		if err != nil {
			if !isOtherCert(err) {
				problems = append(problems, "OCSP: "+err.Error())
			}
			continue
		}
		s := Status{Source: "ocsp", ThisUpdate: resp.ThisUpdate, NextUpdate: resp.NextUpdate}
		switch resp.Status {
		case ocsp.Revoked:
			s.RevokedAt, s.Reason = resp.RevokedAt, resp.RevocationReason
			if !resp.RevokedAt.After(at) {
				s.State = Revoked
			} else {
				s.State = Good // revoked only after the time of interest
			}
		case ocsp.Good:
			if proves(resp.ThisUpdate, resp.NextUpdate) {
				s.State = Good
			} else {
				problems = append(problems, "OCSP response is older than the time of interest")
			}
		default:
			problems = append(problems, "OCSP responder does not know the certificate")
		}
		consider(s)
	}
	for _, der := range ev.CRLs {
		crl, err := validateCRL(der, issuer)
		if err != nil {
			if !errors.Is(err, errOtherIssuer) {
				problems = append(problems, "CRL: "+err.Error())
			}
			continue
		}
		s := Status{Source: "crl", ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate}
		listed := false
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				listed = true
				s.RevokedAt, s.Reason = e.RevocationTime, e.ReasonCode
				if e.ReasonCode == 8 { // removeFromCRL: listed only in delta CRLs
					listed = false
					break
				}
				if !e.RevocationTime.After(at) {
					s.State = Revoked
				} else {
					s.State = Good
				}
			}
		}
		if !listed {
			s.RevokedAt, s.Reason = time.Time{}, 0
			if proves(crl.ThisUpdate, crl.NextUpdate) {
				s.State = Good
			} else {
				problems = append(problems, "CRL is older than the time of interest")
			}
		}
		consider(s)
	}
	switch {
	case revoked != nil:
		return *revoked, nil
	case later != nil:
		return *later, nil
	case good != nil:
		return *good, nil
	}
	detail := "no revocation data for this certificate"
	if len(problems) > 0 {
		detail = problems[0]
		for _, p := range problems[1:] {
			detail += "; " + p
		}
	}
	return Status{State: Unknown, Detail: detail}, nil
}

// isOtherCert tells the OCSP parse error for a response about another
// certificate, which is normal in a DSS holding responses for a whole chain.
func isOtherCert(err error) bool {
	var pe ocsp.ParseError
	return errors.As(err, &pe) && string(pe) == "no response matching the supplied certificate"
}

// contextErr keeps cancellations recognisable.
func contextErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
