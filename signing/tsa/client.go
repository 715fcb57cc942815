package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maxResponseSize bounds a response; tokens with a full chain are a few KB.
const maxResponseSize = 1 << 20

// Client asks an RFC 3161 time-stamp authority over HTTP.
type Client struct {
	URL string
	// HTTPClient defaults to http.DefaultClient. Set a timeout on it (or a
	// deadline on the context): a TSA that never answers blocks signing.
	HTTPClient *http.Client
	// Username and Password, when set, are sent as HTTP basic auth, which
	// most commercial TSAs use.
	Username, Password string
	// Policy, when set, is sent as reqPolicy and required in the token.
	Policy asn1.ObjectIdentifier
}

// Timestamp requests a token over messageImprint (a digest computed with
// hash). It sends a random nonce and asks for the TSA certificate, and
// accepts the answer only if it is granted, carries a token whose imprint
// and nonce are ours, and whose signature verifies (Token.Verify). It
// returns the token's DER, ready for cms.AddSignatureTimestamp or a PDF
// document time-stamp. Trust in the TSA is checked by the verifier.
//
// Errors: KindInvalidParams, KindUnavailable, KindRejected,
// KindBadResponse, KindBadToken.
func (c *Client) Timestamp(ctx context.Context, messageImprint []byte, hash crypto.Hash) ([]byte, error) {
	switch hash {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, errorf(KindInvalidParams, "imprint hash %v is not SHA-256/384/512", hash)
	}
	if len(messageImprint) != hash.Size() {
		return nil, errorf(KindInvalidParams, "imprint has %d bytes, %v needs %d", len(messageImprint), hash, hash.Size())
	}
	if c.URL == "" {
		return nil, errorf(KindInvalidParams, "no TSA URL configured")
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Message: "no randomness for the nonce", Err: err}
	}
	req := timestamp.Request{HashAlgorithm: hash, HashedMessage: messageImprint, Certificates: true, Nonce: nonce, TSAPolicyOID: c.Policy}
	body, err := req.Marshal()
	if err != nil {
		return nil, &Error{Kind: KindInvalidParams, Message: "encoding request", Err: err}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: KindInvalidParams, Message: "TSA URL", Err: err}
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	hreq.Header.Set("Accept", "application/timestamp-reply")
	if c.Username != "" || c.Password != "" {
		hreq.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Message: "POST " + c.URL, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Message: "reading response", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errorf(KindUnavailable, "TSA answered HTTP %d", resp.StatusCode)
	}
	if len(raw) > maxResponseSize {
		return nil, errorf(KindBadResponse, "response larger than %d bytes", maxResponseSize)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/timestamp-re") {
		// application/timestamp-reply per RFC 3161; some TSAs say -response.
		return nil, errorf(KindBadResponse, "unexpected content type %q", ct)
	}
	token, err := ParseResponse(raw)
	if err != nil {
		return nil, err
	}
	tok, err := Parse(token)
	if err != nil {
		return nil, err
	}
	if err := tok.Covers(messageImprint, hash); err != nil {
		return nil, err
	}
	if tok.Nonce == nil || tok.Nonce.Cmp(nonce) != 0 {
		return nil, errorf(KindBadResponse, "the token's nonce is not ours (replayed or mixed-up response)")
	}
	if c.Policy != nil && !tok.Policy.Equal(c.Policy) {
		return nil, errorf(KindBadResponse, "token policy %v, requested %v", tok.Policy, c.Policy)
	}
	if err := tok.Verify(); err != nil {
		return nil, err
	}
	return token, nil
}

// ParseResponse reads a DER TimeStampResp and returns its token, or a
// KindRejected error carrying the PKIStatus and failure information.
// Errors: KindRejected, KindBadResponse.
func ParseResponse(der []byte) ([]byte, error) {
	s := cryptobyte.String(der)
	var resp, status cryptobyte.String
	var code int64
	if !s.ReadASN1(&resp, casn1.SEQUENCE) || !resp.ReadASN1(&status, casn1.SEQUENCE) ||
		!status.ReadASN1Int64WithTag(&code, casn1.INTEGER) {
		return nil, errorf(KindBadResponse, "not a TimeStampResp")
	}
	if code != StatusGranted && code != StatusGrantedWithMods {
		e := &Error{Kind: KindRejected, Status: int(code), FailureInfo: -1, Message: fmt.Sprintf("PKIStatus %d", code)}
		if status.PeekASN1Tag(casn1.SEQUENCE) {
			var text cryptobyte.String
			status.ReadASN1(&text, casn1.SEQUENCE)
			var parts []string
			for !text.Empty() {
				var str cryptobyte.String
				if !text.ReadASN1(&str, casn1.UTF8String) {
					break
				}
				parts = append(parts, string(str))
			}
			if len(parts) > 0 {
				e.Message += ": " + strings.Join(parts, "; ")
			}
		}
		var bits asn1.BitString
		if status.PeekASN1Tag(casn1.BIT_STRING) && status.ReadASN1BitString(&bits) {
			for i := 0; i < bits.BitLength; i++ {
				if bits.At(i) == 1 {
					e.FailureInfo = i
					e.Message += fmt.Sprintf(" (failInfo bit %d)", i)
					break
				}
			}
		}
		return nil, e
	}
	// The rest is the token. It is handed on as is: cms.Parse copes with
	// a BER token from a TSA that streams its encoding.
	if len(resp) == 0 || resp[0] != 0x30 {
		return nil, errorf(KindBadResponse, "granted response without a token")
	}
	return []byte(resp), nil
}
