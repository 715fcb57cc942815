package evidence

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"time"

	"vanban/signing"
	"vanban/signing/cms"
)

// Timestamper obtains RFC 3161 tokens (*tsa.Client is one).
type Timestamper interface {
	Timestamp(ctx context.Context, imprint []byte, h crypto.Hash) ([]byte, error)
}

// CMSSeal makes the detached, time-stamped CMS SignedData of content with
// the seal key signerID of provider p: SHA-256, signed attributes naming
// the certificate (signing-certificate-v2), and a signature time-stamp
// from tsa (CAdES-T), so the seal can be checked after its certificate
// expires. The provider is a seal's (key file, PKCS#11): it answers at
// once; a provider that needs a person is waited for up to two minutes.
func CMSSeal(ctx context.Context, p signing.Provider, signerID string, tsa Timestamper, content []byte) ([]byte, error) {
	certs, err := p.Certificates(ctx, signerID)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("evidence: the seal provider has no certificate")
	}
	alg, err := signing.AlgorithmFor(certs[0])
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(content)
	attrs, err := cms.SignedAttributes(digest[:], crypto.SHA256, certs[0])
	if err != nil {
		return nil, err
	}
	toSign := sha256.Sum256(attrs)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sig, err := signing.SignAndWait(ctx, p, certs[0], signing.Request{SignerID: signerID, Digest: toSign[:], Hash: crypto.SHA256,
		Algorithm: alg, DisplayText: "Niêm phong hồ sơ chứng cứ / seal an evidence package"}, signing.WaitOptions{})
	if err != nil {
		return nil, err
	}
	sd, err := cms.Build(cms.Params{SignedAttributes: attrs, Hash: crypto.SHA256, Algorithm: alg, Signature: sig, Certificates: certs})
	if err != nil {
		return nil, err
	}
	if tsa == nil {
		return nil, fmt.Errorf("evidence: sealing needs a time-stamping authority")
	}
	parsed, err := cms.Parse(sd)
	if err != nil {
		return nil, err
	}
	token, err := tsa.Timestamp(ctx, parsed.SignatureDigest(crypto.SHA256), crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return cms.AddSignatureTimestamp(sd, token)
}
