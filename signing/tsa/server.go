package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"vanban/signing"
	"vanban/signing/cms"
)

// PKIStatus values (RFC 3161 2.4.2).
const (
	StatusGranted         = 0
	StatusGrantedWithMods = 1
	StatusRejection       = 2
)

// PKIFailureInfo bit numbers.
const (
	FailBadAlg              = 0
	FailBadRequest          = 2
	FailBadDataFormat       = 5
	FailUnacceptedPolicy    = 15
	FailUnacceptedExtension = 16
	FailSystemFailure       = 25
)

// maxRequestSize bounds a request body; a real request is under 200 bytes.
const maxRequestSize = 16 << 10

// Server is a minimal RFC 3161 time-stamp authority over HTTP
// (application/timestamp-query in, application/timestamp-reply out).
// It is meant for the development PKI, tests and single-office setups;
// production deployments point the Client at an accredited TSA.
type Server struct {
	signer crypto.Signer
	chain  []*x509.Certificate
	policy asn1.ObjectIdentifier
	alg    signing.Algorithm
	// Now returns the current time; tests may replace it.
	Now func() time.Time
}

// NewServer returns a TSA that signs tokens with signer, whose certificate
// is chain[0] (it should carry the critical id-kp-timeStamping extended
// key usage), under the given policy OID.
func NewServer(signer crypto.Signer, chain []*x509.Certificate, policy asn1.ObjectIdentifier) *Server {
	s := &Server{signer: signer, chain: chain, policy: policy, Now: time.Now}
	if signer == nil {
		return s // answers every request with systemFailure
	}
	switch signer.Public().(type) {
	case *ecdsa.PublicKey:
		s.alg = signing.ECDSA
	case *rsa.PublicKey:
		s.alg = signing.RSAPKCS1v15
	}
	return s
}

var _ http.Handler = (*Server)(nil)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "time-stamp requests are POSTed as application/timestamp-query", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestSize+1))
	if err != nil {
		http.Error(w, "reading request: "+err.Error(), http.StatusBadRequest)
		return
	}
	var resp []byte
	if len(body) > maxRequestSize {
		resp = rejection(FailBadDataFormat, "request too large")
	} else {
		resp = s.Respond(body)
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// Respond answers one DER TimeStampReq with a DER TimeStampResp; failures
// are rejections inside the response, as RFC 3161 wants.
func (s *Server) Respond(req []byte) []byte {
	tok, fail, msg := s.stamp(req)
	if tok == nil {
		return rejection(fail, msg)
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(StatusGranted) })
		b.AddBytes(tok)
	})
	out, err := b.Bytes()
	if err != nil {
		return rejection(FailSystemFailure, "encoding response")
	}
	return out
}

func (s *Server) stamp(der []byte) (token []byte, failInfo int, msg string) {
	if len(s.chain) == 0 || s.alg == 0 {
		return nil, FailSystemFailure, "TSA has no usable key or certificate"
	}
	req, err := timestamp.ParseRequest(der)
	if err != nil {
		return nil, FailBadDataFormat, "malformed request"
	}
	if version, ok := requestVersion(der); !ok || version != 1 {
		return nil, FailBadRequest, "request version is not 1"
	}
	switch req.HashAlgorithm {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, FailBadAlg, "imprint hash must be SHA-256, SHA-384 or SHA-512"
	}
	if len(req.HashedMessage) != req.HashAlgorithm.Size() {
		return nil, FailBadDataFormat, "imprint length does not match its hash"
	}
	if req.TSAPolicyOID != nil && !req.TSAPolicyOID.Equal(s.policy) {
		return nil, FailUnacceptedPolicy, "unknown policy"
	}
	if len(req.Extensions) > 0 {
		return nil, FailUnacceptedExtension, "extensions are not supported"
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, FailSystemFailure, "no randomness"
	}
	serial.Add(serial, big.NewInt(1)) // never zero
	info, err := s.tstInfo(req, serial)
	if err != nil {
		return nil, FailSystemFailure, "encoding TSTInfo"
	}
	tok, err := s.sign(info, !req.Certificates)
	if err != nil {
		return nil, FailSystemFailure, "signing failed"
	}
	return tok, 0, ""
}

// requestVersion reads the version field that timestamp.ParseRequest skips.
func requestVersion(der []byte) (int64, bool) {
	s := cryptobyte.String(der)
	var req cryptobyte.String
	var v int64
	ok := s.ReadASN1(&req, casn1.SEQUENCE) && req.ReadASN1Int64WithTag(&v, casn1.INTEGER)
	return v, ok
}

func (s *Server) tstInfo(req *timestamp.Request, serial *big.Int) ([]byte, error) {
	hashOID, _ := cms.HashOID(req.HashAlgorithm)
	// Whole seconds with an accuracy of one second keep the encoding
	// simple for every verifier; a TSA clock is not better than that here.
	now := s.Now().UTC().Truncate(time.Second)
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(s.policy)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(hashOID)
			})
			b.AddASN1OctetString(req.HashedMessage)
		})
		b.AddASN1BigInt(serial)
		b.AddASN1GeneralizedTime(now)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) }) // accuracy: 1 s
		if req.Nonce != nil {
			b.AddASN1BigInt(req.Nonce)
		}
	})
	return b.Bytes()
}

func (s *Server) sign(info []byte, omitCerts bool) ([]byte, error) {
	d := sha256.Sum256(info)
	attrs, err := cms.SignedAttributesFor(cms.OIDTSTInfo, d[:], crypto.SHA256, s.chain[0])
	if err != nil {
		return nil, err
	}
	ad := sha256.Sum256(attrs)
	sig, err := s.signer.Sign(rand.Reader, ad[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return cms.Build(cms.Params{
		SignedAttributes: attrs, Hash: crypto.SHA256, Algorithm: s.alg, Signature: sig,
		Certificates: s.chain, ContentType: cms.OIDTSTInfo, Content: info, OmitCertificates: omitCerts,
	})
}

// rejection encodes a TimeStampResp with status rejection.
func rejection(failInfo int, msg string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(StatusRejection)
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(casn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(msg)) })
			})
			// A named bit list in DER drops trailing zero bits.
			bits := make([]byte, failInfo/8+1)
			bits[failInfo/8] = 0x80 >> (failInfo % 8)
			b.AddASN1(casn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(uint8(7 - failInfo%8))
				b.AddBytes(bits)
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		// Not reachable with the short messages of this file; answer a
		// bare rejection rather than nothing.
		return []byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, StatusRejection}
	}
	return out
}
