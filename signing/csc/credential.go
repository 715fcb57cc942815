package csc

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"time"

	"vanban/signing"
)

// CredentialInfo is what credentials/info says about a credential.
type CredentialInfo struct {
	ID          string
	Description string
	// KeyStatus is "enabled" or "disabled".
	KeyStatus string
	// KeyAlgos are the signature algorithm OIDs the key allows.
	KeyAlgos []string
	KeyLen   int
	// CertStatus is "valid", "expired", "revoked" or "suspended".
	CertStatus string
	// Chain is the certificate chain, leaf first.
	Chain []*x509.Certificate
	// AuthMode is "implicit", "explicit" or "oauth2code".
	AuthMode       string
	AuthExpression string
	// SCAL is the Sole Control Assurance Level, 1 or 2.
	SCAL      int
	Multisign int
}

type infoResponse struct {
	Description string `json:"description"`
	Key         struct {
		Status string   `json:"status"`
		Algo   []string `json:"algo"`
		Len    int      `json:"len"`
	} `json:"key"`
	Cert struct {
		Status       string   `json:"status"`
		Certificates []string `json:"certificates"`
	} `json:"cert"`
	Auth struct {
		Mode       string `json:"mode"`
		Expression string `json:"expression"`
	} `json:"auth"`
	// AuthMode is where CSC v1 and some v2 services put the mode.
	AuthMode  string `json:"authMode"`
	SCAL      string `json:"SCAL"`
	Multisign int    `json:"multisign"`
}

// Info returns credentials/info for a credential, with its certificate
// chain. It always asks the service.
func (c *Client) Info(ctx context.Context, credentialID string) (*CredentialInfo, error) {
	return c.credentialInfo(ctx, c.credentialID(credentialID), true)
}

// credentialInfo returns the credential's details, from a cache of
// infoTTL unless fresh is set. A credential whose key is disabled or whose
// certificate is not valid is an error of kind KindNoCertificate.
func (c *Client) credentialInfo(ctx context.Context, id string, fresh bool) (*CredentialInfo, error) {
	if id == "" {
		return nil, badRequest("no credential: set credential= in the URI or the request's SignerID", nil)
	}
	if !fresh {
		c.infoMu.Lock()
		ci, ok := c.infos[id]
		c.infoMu.Unlock()
		if ok && time.Since(ci.fetched) < infoTTL {
			return ci.info, nil
		}
	}
	var out infoResponse
	req := map[string]any{"credentialID": id, "certificates": "chain", "certInfo": true, "authInfo": true}
	if _, err := c.call(ctx, "credentials/info", req, &out); err != nil {
		return nil, err
	}
	info := &CredentialInfo{
		ID:             id,
		Description:    out.Description,
		KeyStatus:      out.Key.Status,
		KeyAlgos:       out.Key.Algo,
		KeyLen:         out.Key.Len,
		CertStatus:     out.Cert.Status,
		AuthMode:       out.Auth.Mode,
		AuthExpression: out.Auth.Expression,
		Multisign:      out.Multisign,
	}
	if info.AuthMode == "" {
		info.AuthMode = out.AuthMode
	}
	info.SCAL, _ = strconv.Atoi(out.SCAL)
	if info.SCAL == 0 {
		info.SCAL = 1 // the CSC default
	}
	for i, s := range out.Cert.Certificates {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: fmt.Sprintf("credential %s: certificate %d is not Base64", id, i), Err: err}
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: fmt.Sprintf("credential %s: certificate %d does not parse", id, i), Err: err}
		}
		info.Chain = append(info.Chain, cert)
	}
	noCert := func(msg string) error {
		return &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Code: "credential_" + id, Message: "credential " + id + ": " + msg}
	}
	switch {
	case len(info.Chain) == 0:
		return nil, noCert("the service returned no certificate")
	case info.KeyStatus != "" && info.KeyStatus != "enabled":
		return nil, noCert("key is " + info.KeyStatus)
	case info.CertStatus != "" && info.CertStatus != "valid":
		return nil, noCert("certificate is " + info.CertStatus)
	}
	if _, err := signing.AlgorithmFor(info.Chain[0]); err != nil {
		return nil, noCert("unsupported key type")
	}
	c.infoMu.Lock()
	c.infos[id] = cachedInfo{info: info, fetched: time.Now()}
	c.infoMu.Unlock()
	return info, nil
}

// Signature and hash algorithm identifiers used on the wire.
const (
	oidRSAEncryption = "1.2.840.113549.1.1.1"
	oidRSAPSS        = "1.2.840.113549.1.1.10"
	oidECPublicKey   = "1.2.840.10045.2.1"
)

var (
	oidMGF1  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	hashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
		crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
		crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
	}
	rsaWithHash = map[crypto.Hash]string{
		crypto.SHA256: "1.2.840.113549.1.1.11",
		crypto.SHA384: "1.2.840.113549.1.1.12",
		crypto.SHA512: "1.2.840.113549.1.1.13",
	}
	ecdsaWithHash = map[crypto.Hash]string{
		crypto.SHA256: "1.2.840.10045.4.3.2",
		crypto.SHA384: "1.2.840.10045.4.3.3",
		crypto.SHA512: "1.2.840.10045.4.3.4",
	}
)

// algorithms lists what the credential's key can do, from its key algos.
func (info *CredentialInfo) algorithms() []signing.Algorithm {
	var out []signing.Algorithm
	for _, alg := range []signing.Algorithm{signing.RSAPKCS1v15, signing.RSAPSS, signing.ECDSA} {
		if _, _, err := info.signAlgo(alg, crypto.SHA256); err == nil {
			out = append(out, alg)
		}
	}
	return out
}

// signAlgo picks signAlgo and signAlgoParams for signatures/signHash. The
// choice must be one of the key's algos: a service refuses others.
func (info *CredentialInfo) signAlgo(alg signing.Algorithm, hash crypto.Hash) (oid, params string, err error) {
	has := func(o string) bool { return slices.Contains(info.KeyAlgos, o) }
	certAlg, _ := signing.AlgorithmFor(info.Chain[0])
	fits := certAlg == alg || (certAlg == signing.RSAPKCS1v15 && alg == signing.RSAPSS)
	if fits {
		switch alg {
		case signing.RSAPKCS1v15:
			if has(rsaWithHash[hash]) {
				return rsaWithHash[hash], "", nil
			}
			if has(oidRSAEncryption) {
				return oidRSAEncryption, "", nil
			}
		case signing.RSAPSS:
			if has(oidRSAPSS) {
				p, err := pssParams(hash)
				return oidRSAPSS, p, err
			}
		case signing.ECDSA:
			if has(ecdsaWithHash[hash]) || has(oidECPublicKey) {
				return ecdsaWithHash[hash], "", nil
			}
		}
	}
	return "", "", &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme,
		Message: fmt.Sprintf("credential %s cannot sign %v with %v (key algos %v)", info.ID, alg, hash, info.KeyAlgos)}
}

// pssParams encodes RSASSA-PSS-params (RFC 8017 A.2.3) for hash with MGF1
// over the same hash and a salt as long as the hash, the profile ETSI and
// most CAs use.
func pssParams(hash crypto.Hash) (string, error) {
	oid, ok := hashOIDs[hash]
	if !ok {
		return "", &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: fmt.Sprintf("%v is not supported", hash)}
	}
	hashAlg := pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}
	hashDER, err := asn1.Marshal(hashAlg)
	if err != nil {
		return "", err
	}
	der, err := asn1.Marshal(struct {
		Hash       pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
		MGF        pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
		SaltLength int                      `asn1:"explicit,tag:2"`
	}{
		Hash:       hashAlg,
		MGF:        pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: hashDER}},
		SaltLength: hash.Size(),
	})
	if err != nil {
		return "", err
	}
	return b64(der), nil
}
