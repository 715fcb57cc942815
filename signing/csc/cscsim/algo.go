package cscsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"net/http"
)

// Object identifiers the service advertises and accepts. They are spelled
// out here rather than shared with the client package, so that a mistake
// on one side is not silently mirrored on the other.
const (
	oidRSAEncryption   = "1.2.840.113549.1.1.1"
	oidSHA256WithRSA   = "1.2.840.113549.1.1.11"
	oidSHA384WithRSA   = "1.2.840.113549.1.1.12"
	oidSHA512WithRSA   = "1.2.840.113549.1.1.13"
	oidRSAPSS          = "1.2.840.113549.1.1.10"
	oidMGF1            = "1.2.840.113549.1.1.8"
	oidECPublicKey     = "1.2.840.10045.2.1"
	oidECDSAWithSHA256 = "1.2.840.10045.4.3.2"
	oidECDSAWithSHA384 = "1.2.840.10045.4.3.3"
	oidECDSAWithSHA512 = "1.2.840.10045.4.3.4"
)

var hashOIDs = map[string]crypto.Hash{
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

func hashByOID(oid string) (crypto.Hash, bool) {
	h, ok := hashOIDs[oid]
	return h, ok
}

// pssParams is RSASSA-PSS-params (RFC 8017 A.2.3).
type pssParams struct {
	Hash         pkix.AlgorithmIdentifier `asn1:"explicit,tag:0,optional"`
	MGF          pkix.AlgorithmIdentifier `asn1:"explicit,tag:1,optional"`
	SaltLength   int                      `asn1:"explicit,tag:2,optional,default:20"`
	TrailerField int                      `asn1:"explicit,tag:3,optional,default:1"`
}

// signerOpts checks signAlgo against the credential's key and the hash, and
// returns the options to sign with.
func signerOpts(w http.ResponseWriter, c *credential, signAlgo, params string, hash crypto.Hash) (crypto.SignerOpts, bool) {
	bad := func(msg string) (crypto.SignerOpts, bool) {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return nil, false
	}
	implied := map[string]crypto.Hash{
		oidSHA256WithRSA: crypto.SHA256, oidSHA384WithRSA: crypto.SHA384, oidSHA512WithRSA: crypto.SHA512,
		oidECDSAWithSHA256: crypto.SHA256, oidECDSAWithSHA384: crypto.SHA384, oidECDSAWithSHA512: crypto.SHA512,
	}
	if h, ok := implied[signAlgo]; ok && h != hash {
		return bad("signAlgo implies another hash than hashAlgorithmOID")
	}
	switch c.key.Public().(type) {
	case *rsa.PublicKey:
		switch signAlgo {
		case oidRSAEncryption, oidSHA256WithRSA, oidSHA384WithRSA, oidSHA512WithRSA:
			return hash, true
		case oidRSAPSS:
			salt := hash.Size()
			if params != "" {
				der, err := base64.StdEncoding.DecodeString(params)
				if err != nil {
					return bad("signAlgoParams is not Base64")
				}
				var p pssParams
				if rest, err := asn1.Unmarshal(der, &p); err != nil || len(rest) != 0 {
					return bad("signAlgoParams is not RSASSA-PSS-params")
				}
				if h, ok := hashByOID(p.Hash.Algorithm.String()); !ok || h != hash {
					return bad("RSASSA-PSS-params names another hash")
				}
				if p.MGF.Algorithm.String() != oidMGF1 {
					return bad("RSASSA-PSS-params: only MGF1 is supported")
				}
				salt = p.SaltLength
			}
			return &rsa.PSSOptions{SaltLength: salt, Hash: hash}, true
		}
	case *ecdsa.PublicKey:
		switch signAlgo {
		case oidECDSAWithSHA256, oidECDSAWithSHA384, oidECDSAWithSHA512, oidECPublicKey:
			return hash, true
		}
	}
	return bad("signAlgo " + signAlgo + " is not allowed for this credential")
}
