package pades

import (
	"crypto"
	"crypto/x509"

	"vanban/signing"
)

// stateVersion is bumped when State's meaning changes, so a Finish after an
// upgrade refuses a state it would misread instead of producing a bad file.
const stateVersion = 1

// State is what Prepare hands out and Finish needs: small, JSON-serializable,
// and free of secrets. The signer's device computes a signature over
// Digest(); Finish then embeds it. The state pins everything the signature
// commits to (the certificate, the signed attributes, the byte ranges and a
// hash of the whole prepared file), so a mismatched file or signature fails
// closed.
type State struct {
	Version int `json:"version"`
	// Hash is the digest algorithm name ("SHA-256").
	Hash string `json:"hash"`
	// Algorithm is the signature scheme name ("RSA-PKCS1v15", "RSA-PSS", "ECDSA").
	Algorithm string `json:"algorithm"`
	// Chain is the signer's certificate chain, leaf first, DER.
	Chain [][]byte `json:"chain"`
	// SignedAttributes is the DER SET whose hash is signed.
	SignedAttributes []byte `json:"signed_attributes"`
	// ContentDigest is the hash of the byte ranges (message-digest).
	ContentDigest []byte `json:"content_digest"`
	// ByteRange is the /ByteRange of the signature.
	ByteRange [4]int64 `json:"byte_range"`
	// ContentsOffset is the offset of the '<' of the /Contents hex
	// string; ContentsSize is how many bytes of CMS fit.
	ContentsOffset int64 `json:"contents_offset"`
	ContentsSize   int   `json:"contents_size"`
	// PreparedSize and PreparedSHA256 identify the prepared file.
	PreparedSize   int64  `json:"prepared_size"`
	PreparedSHA256 []byte `json:"prepared_sha256"`
	// Level is the target PAdES level.
	Level Level `json:"level"`
	// FieldName is the signature field, for reports and later extension.
	FieldName string `json:"field_name"`

	// TSA and Revocation are the services for B-T and above. They are not
	// serialized: after loading a state in another process, set them
	// again before calling Finish.
	TSA        Timestamper         `json:"-"`
	Revocation RevocationCollector `json:"-"`
}

// hashByName maps State.Hash back to crypto.Hash.
var hashByName = map[string]crypto.Hash{
	crypto.SHA256.String(): crypto.SHA256,
	crypto.SHA384.String(): crypto.SHA384,
	crypto.SHA512.String(): crypto.SHA512,
}

// HashFunc returns the digest algorithm.
func (st *State) HashFunc() (crypto.Hash, error) {
	h, ok := hashByName[st.Hash]
	if !ok {
		return 0, errorf(ErrState, "unknown hash %q", st.Hash)
	}
	return h, nil
}

// SignatureAlgorithm returns the signature scheme.
func (st *State) SignatureAlgorithm() (signing.Algorithm, error) {
	for _, a := range []signing.Algorithm{signing.RSAPKCS1v15, signing.RSAPSS, signing.ECDSA} {
		if a.String() == st.Algorithm {
			return a, nil
		}
	}
	return 0, errorf(ErrState, "unknown signature algorithm %q", st.Algorithm)
}

// Digest returns the hash of the signed attributes: what the signer's key
// must sign. It returns nil for a corrupt state (Finish reports why).
func (st *State) Digest() []byte {
	h, err := st.HashFunc()
	if err != nil {
		return nil
	}
	d := h.New()
	d.Write(st.SignedAttributes)
	return d.Sum(nil)
}

// Certificates parses the pinned chain.
func (st *State) Certificates() ([]*x509.Certificate, error) {
	if len(st.Chain) == 0 {
		return nil, errorf(ErrState, "no signer certificate")
	}
	certs := make([]*x509.Certificate, len(st.Chain))
	for i, der := range st.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, wrapErr(ErrState, err, "certificate %d", i)
		}
		certs[i] = c
	}
	return certs, nil
}

// Request returns the signing request for a provider: digest, hash and
// algorithm from the state.
func (st *State) Request(idempotencyKey, signerID, displayText string) (signing.Request, error) {
	h, err := st.HashFunc()
	if err != nil {
		return signing.Request{}, err
	}
	alg, err := st.SignatureAlgorithm()
	if err != nil {
		return signing.Request{}, err
	}
	return signing.Request{
		IdempotencyKey: idempotencyKey,
		SignerID:       signerID,
		Digest:         st.Digest(),
		Hash:           h,
		Algorithm:      alg,
		DisplayText:    displayText,
	}, nil
}

// validate checks the state's internal consistency before Finish trusts it.
func (st *State) validate() error {
	if st == nil {
		return errorf(ErrState, "nil state")
	}
	if st.Version != stateVersion {
		return errorf(ErrState, "state version %d, this build reads %d", st.Version, stateVersion)
	}
	h, err := st.HashFunc()
	if err != nil {
		return err
	}
	if _, err := st.SignatureAlgorithm(); err != nil {
		return err
	}
	if len(st.ContentDigest) != h.Size() {
		return errorf(ErrState, "content digest has %d bytes, %v needs %d", len(st.ContentDigest), h, h.Size())
	}
	br := st.ByteRange
	if br[0] != 0 || br[1] != st.ContentsOffset || br[1] < 0 || br[2] <= br[1] || br[3] < 0 ||
		br[2]+br[3] != st.PreparedSize || br[2]-br[1] != int64(2*st.ContentsSize+2) {
		return errorf(ErrState, "byte range %v does not fit /Contents at %d (%d bytes) in a %d-byte file",
			br, st.ContentsOffset, st.ContentsSize, st.PreparedSize)
	}
	if len(st.PreparedSHA256) != 32 || len(st.SignedAttributes) == 0 {
		return errorf(ErrState, "incomplete state")
	}
	if !st.Level.valid() {
		return errorf(ErrState, "unknown level %d", int(st.Level))
	}
	return nil
}

func (l Level) valid() bool { return l >= LevelBB && l <= LevelBLTA }

// VerifySignature checks a signature returned for this state against the
// pinned signer certificate and the digest handed out (fail closed): the
// same check Finish makes, for callers that want it before touching the
// prepared file.
func (st *State) VerifySignature(signature []byte) error {
	h, err := st.HashFunc()
	if err != nil {
		return err
	}
	alg, err := st.SignatureAlgorithm()
	if err != nil {
		return err
	}
	certs, err := st.Certificates()
	if err != nil {
		return err
	}
	return signing.VerifySignature(certs[0], h, alg, st.Digest(), signature)
}
