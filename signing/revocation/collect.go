package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Limits on what a status source may send.
const (
	maxOCSPSize = 1 << 20
	maxCRLSize  = 32 << 20
	// clockSkew tolerates a responder clock slightly ahead of ours.
	clockSkew = 5 * time.Minute
)

// Collect gathers validated revocation evidence for every certificate of
// chain (leaf first; intermediates as needed; the root may be left out)
// except the trust anchor and OCSP responders marked id-pkix-ocsp-nocheck.
// For each it tries the OCSP responders of the AIA extension first and
// falls back to the CRL distribution points. Everything returned has been
// validated: signature by the issuer or an authorized responder, current
// (nextUpdate in the future), issuer matching.
//
// Evidence.Certs holds the path up to the root and any responder
// certificates, for a /DSS. The evidence is returned even with an error,
// which is KindNoChain, KindRevoked (a certificate of the chain is
// revoked now), or KindUnavailable/KindBadEvidence for certificates
// without usable status (several errors are joined).
func Collect(ctx context.Context, chain []*x509.Certificate, roots *x509.CertPool, client *http.Client) (Evidence, error) {
	var ev Evidence
	if len(chain) == 0 || chain[0] == nil {
		return ev, &Error{Kind: KindInvalidParams, Message: "empty chain"}
	}
	if roots == nil {
		return ev, &Error{Kind: KindInvalidParams, Message: "no trust anchors"}
	}
	path, err := buildPath(chain, roots)
	if err != nil {
		return ev, err
	}
	for _, c := range path {
		ev.Certs = appendUnique(ev.Certs, c.Raw)
	}
	var errs []error
	for i := 0; i+1 < len(path); i++ {
		cert, issuer := path[i], path[i+1]
		if hasNoCheck(cert) {
			continue
		}
		got, err := Fetch(ctx, cert, issuer, client)
		ev.Merge(got)
		if err != nil {
			if ctx.Err() != nil {
				return ev, ctx.Err()
			}
			if KindOf(err) == KindRevoked {
				errs = append([]error{err}, errs...) // what matters most comes first
			} else {
				errs = append(errs, err)
			}
		}
	}
	return ev, errors.Join(errs...)
}

// buildPath verifies chain[0] up to a root, now or, failing that, at the
// end of its validity (a renewal of evidence for an old signature).
func buildPath(chain []*x509.Certificate, roots *x509.CertPool) ([]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	paths, err := chain[0].Verify(opts)
	if err != nil {
		opts.CurrentTime = chain[0].NotAfter.Add(-time.Second)
		var err2 error
		if paths, err2 = chain[0].Verify(opts); err2 != nil {
			return nil, &Error{Kind: KindNoChain, Subject: chain[0].Subject.String(), Err: err}
		}
	}
	return paths[0], nil
}

// Fetch gets validated status for one certificate from its issuer's
// services: OCSP first, then CRLs. On KindRevoked the evidence proving it
// is returned along with the error.
func Fetch(ctx context.Context, cert, issuer *x509.Certificate, client *http.Client) (Evidence, error) {
	var ev Evidence
	if cert == nil || issuer == nil {
		return ev, &Error{Kind: KindInvalidParams, Message: "certificate and issuer are required"}
	}
	if client == nil {
		client = http.DefaultClient
	}
	subject := cert.Subject.String()
	now := time.Now()
	var problems []error
	for _, u := range cert.OCSPServer {
		if !isHTTP(u) {
			continue
		}
		der, err := fetchOCSP(ctx, client, u, cert, issuer)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		resp, err := validateOCSP(der, cert, issuer, nil)
		if err != nil {
			problems = append(problems, &Error{Kind: KindBadEvidence, Subject: subject, Message: "OCSP " + u, Err: err})
			continue
		}
		if err := current(resp.ThisUpdate, resp.NextUpdate, now); err != nil {
			problems = append(problems, &Error{Kind: KindBadEvidence, Subject: subject, Message: "OCSP " + u, Err: err})
			continue
		}
		switch resp.Status {
		case ocsp.Good:
			ev.OCSPs = append(ev.OCSPs, der)
			if resp.Certificate != nil && !resp.Certificate.Equal(issuer) {
				ev.Certs = appendUnique(ev.Certs, resp.Certificate.Raw)
			}
			return ev, nil
		case ocsp.Revoked:
			ev.OCSPs = append(ev.OCSPs, der)
			return ev, &Error{Kind: KindRevoked, Subject: subject,
				Message: fmt.Sprintf("revoked at %s, reason %d (OCSP)", resp.RevokedAt.UTC().Format(time.RFC3339), resp.RevocationReason)}
		default:
			problems = append(problems, &Error{Kind: KindBadEvidence, Subject: subject, Message: "OCSP " + u + " does not know the certificate"})
		}
	}
	for _, u := range cert.CRLDistributionPoints {
		if !isHTTP(u) {
			continue
		}
		der, err := fetch(ctx, client, http.MethodGet, u, "", nil, maxCRLSize)
		if err != nil {
			problems = append(problems, &Error{Kind: KindUnavailable, Subject: subject, Message: "CRL " + u, Err: err})
			continue
		}
		if blk, _ := pem.Decode(der); blk != nil && blk.Type == "X509 CRL" {
			der = blk.Bytes
		}
		crl, err := validateCRL(der, issuer)
		if err == nil {
			err = current(crl.ThisUpdate, crl.NextUpdate, now)
		}
		if err != nil {
			problems = append(problems, &Error{Kind: KindBadEvidence, Subject: subject, Message: "CRL " + u, Err: err})
			continue
		}
		ev.CRLs = append(ev.CRLs, der)
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 && e.ReasonCode != 8 {
				return ev, &Error{Kind: KindRevoked, Subject: subject,
					Message: fmt.Sprintf("revoked at %s, reason %d (CRL)", e.RevocationTime.UTC().Format(time.RFC3339), e.ReasonCode)}
			}
		}
		return ev, nil
	}
	if len(problems) == 0 {
		return ev, &Error{Kind: KindUnavailable, Subject: subject, Message: "the certificate names no HTTP OCSP responder or CRL distribution point"}
	}
	return ev, errors.Join(problems...)
}

// current checks that status information is valid now.
func current(thisUpdate, nextUpdate, now time.Time) error {
	if thisUpdate.After(now.Add(clockSkew)) {
		return fmt.Errorf("thisUpdate %s is in the future", thisUpdate.UTC().Format(time.RFC3339))
	}
	if !nextUpdate.IsZero() && now.After(nextUpdate) {
		return fmt.Errorf("expired at nextUpdate %s", nextUpdate.UTC().Format(time.RFC3339))
	}
	return nil
}

func isHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func fetchOCSP(ctx context.Context, client *http.Client, u string, cert, issuer *x509.Certificate) ([]byte, error) {
	// SHA-1 CertIDs are what every responder understands (RFC 5019).
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return nil, &Error{Kind: KindInvalidParams, Subject: cert.Subject.String(), Message: "OCSP request", Err: err}
	}
	der, err := fetch(ctx, client, http.MethodPost, u, "application/ocsp-request", req, maxOCSPSize)
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Subject: cert.Subject.String(), Message: "OCSP " + u, Err: err}
	}
	return der, nil
}

func fetch(ctx context.Context, client *http.Client, method, u, contentType string, body []byte, limit int64) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, contextErr(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, contextErr(ctx, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	return b, nil
}
