package etsi204

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"vanban/signing"
)

// CertLookup finds the signing certificate chain registered for a phone
// number. ETSI TS 102 204 leaves this to each operator (a registration or
// profile call), so it is a separate seam: a real operator's call replaces
// HTTPLookup without touching the signing flow.
type CertLookup interface {
	// Lookup returns the chain for msisdn, leaf first. Errors are
	// *signing.Error: KindNoCertificate, KindUnauthorized, KindBadRequest,
	// KindUnavailable.
	Lookup(ctx context.Context, msisdn string) ([]*x509.Certificate, error)
}

// HTTPLookup is vanban's simple certificate lookup, which the simulator
// (signing/mssp) implements:
//
//	GET {URL}?msisdn=84912345678
//	X-MSS-AP-ID: <AP_ID>
//	X-MSS-AP-PWD: <AP_PWD>
//	Accept: application/pem-certificate-chain
//
// 200 returns the PEM chain, leaf first; 404 means no valid certificate for
// the number; 401/403 mean the application provider was refused. (Not HTTP
// Basic: AP_IDs are URIs and contain colons.)
type HTTPLookup struct {
	URL        string
	APID       string
	APPassword string
	// Client carries the mutual-TLS settings; nil means http.DefaultClient.
	Client *http.Client
}

var _ CertLookup = (*HTTPLookup)(nil)

// Headers carrying the application provider's credentials in HTTPLookup.
const (
	HeaderAPID       = "X-MSS-AP-ID"
	HeaderAPPassword = "X-MSS-AP-PWD"
)

// maxChainSize bounds the lookup response; a chain is a few kilobytes.
const maxChainSize = 256 << 10

func (l *HTTPLookup) Lookup(ctx context.Context, msisdn string) ([]*x509.Certificate, error) {
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "certificate lookup URL is not http(s): " + l.URL}
	}
	q := u.Query()
	q.Set("msisdn", msisdn)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "certificate lookup request", Err: err}
	}
	req.Header.Set("Accept", "application/pem-certificate-chain")
	if l.APID != "" {
		req.Header.Set(HeaderAPID, l.APID)
		req.Header.Set(HeaderAPPassword, l.APPassword)
	}
	hc := l.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError("certificate lookup", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxChainSize))
	if err != nil {
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "reading certificate lookup response", Err: err}
	}
	detail := strings.TrimSpace(string(body))
	if len(detail) > 200 {
		detail = detail[:200]
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Code: fmt.Sprint(resp.StatusCode), Message: "no valid signing certificate for " + msisdn}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, &signing.Error{Kind: signing.KindUnauthorized, Provider: Scheme, Code: fmt.Sprint(resp.StatusCode), Message: "certificate lookup refused: " + detail}
	case resp.StatusCode >= 500:
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Code: fmt.Sprint(resp.StatusCode), Message: "certificate lookup failed: " + detail}
	default:
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Code: fmt.Sprint(resp.StatusCode), Message: "certificate lookup rejected: " + detail}
	}
	chain, err := parsePEMChain(body)
	if err != nil {
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "certificate lookup returned no usable chain", Err: err}
	}
	return chain, nil
}

func parsePEMChain(b []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return chain, nil
}
