package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
)

// VerifySignature checks that sig is a valid signature by cert's key over
// digest, which was computed with hash. Every signature a provider returns
// passes through here before anyone uses it: a SIM that signed another
// digest, or a provider that mixed up keys, must fail closed.
//
// For ECDSA, sig may be ASN.1 DER or raw r||s; for RSA-PSS the salt length
// is accepted whether it equals the hash length or is automatic.
func VerifySignature(cert *x509.Certificate, hash crypto.Hash, alg Algorithm, digest, sig []byte) error {
	if cert == nil {
		return &Error{Kind: KindBadSignature, Message: "no pinned certificate"}
	}
	if !hash.Available() || len(digest) != hash.Size() {
		return &Error{Kind: KindBadSignature, Message: "digest length does not match hash"}
	}
	bad := func(err error) error {
		return &Error{Kind: KindBadSignature, Message: "signature does not verify against the pinned certificate and our digest", Err: err}
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		switch alg {
		case RSAPKCS1v15:
			if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
				return bad(err)
			}
		case RSAPSS:
			if err := rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
				return bad(err)
			}
		default:
			return bad(errors.New("algorithm " + alg.String() + " does not fit an RSA key"))
		}
	case *ecdsa.PublicKey:
		if alg != ECDSA {
			return bad(errors.New("algorithm " + alg.String() + " does not fit an EC key"))
		}
		der, err := ECDSAToDER(sig, pub)
		if err != nil {
			return bad(err)
		}
		if !ecdsa.VerifyASN1(pub, digest, der) {
			return bad(errors.New("ecdsa verification failed"))
		}
	default:
		return bad(errors.New("unsupported public key type"))
	}
	return nil
}

// ECDSAToDER returns sig as an ASN.1 DER ECDSA-Sig-Value. A SIM or HSM often
// returns the raw concatenation r||s (PKCS#11 CKM_ECDSA does); CMS needs DER.
// A signature already in DER is returned unchanged.
func ECDSAToDER(sig []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) == 2*size && !isECDSADER(sig) {
		return ECDSARawToDER(sig)
	}
	if isECDSADER(sig) {
		return sig, nil
	}
	return nil, errors.New("ecdsa signature is neither DER nor raw r||s of the curve's size")
}

// ECDSARawToDER converts a raw r||s signature (two equal-length big-endian
// integers) to ASN.1 DER.
func ECDSARawToDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, errors.New("raw ecdsa signature must have even, non-zero length")
	}
	half := len(raw) / 2
	r := new(big.Int).SetBytes(raw[:half])
	s := new(big.Int).SetBytes(raw[half:])
	if r.Sign() == 0 || s.Sign() == 0 {
		return nil, errors.New("raw ecdsa signature has a zero component")
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

func isECDSADER(sig []byte) bool {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &v)
	return err == nil && len(rest) == 0 && v.R != nil && v.S != nil && v.R.Sign() > 0 && v.S.Sign() > 0
}
