package cms

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"vanban/signing"
)

// sigAlg is a parsed or to-be-written signatureAlgorithm.
type sigAlg struct {
	alg signing.Algorithm
	// hash is the hash the identifier implies (0 for rsaEncryption and
	// id-ecPublicKey, which leave it to the digestAlgorithm).
	hash crypto.Hash
	// pssSalt is the RSASSA-PSS salt length.
	pssSalt int
}

// addDigestAlgID writes an AlgorithmIdentifier for a SHA-2 digest with
// absent parameters, as RFC 5754 prefers.
func addDigestAlgID(b *cryptobyte.Builder, h crypto.Hash) {
	oid, _ := HashOID(h)
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
	})
}

// addSignatureAlgID writes the signatureAlgorithm of a SignerInfo.
func addSignatureAlgID(b *cryptobyte.Builder, a sigAlg) {
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		switch a.alg {
		case signing.RSAPKCS1v15:
			b.AddASN1ObjectIdentifier(map[crypto.Hash]asn1.ObjectIdentifier{
				crypto.SHA256: oidSHA256WithRSA, crypto.SHA384: oidSHA384WithRSA, crypto.SHA512: oidSHA512WithRSA,
			}[a.hash])
			b.AddASN1NULL()
		case signing.ECDSA:
			b.AddASN1ObjectIdentifier(map[crypto.Hash]asn1.ObjectIdentifier{
				crypto.SHA256: oidECDSAWithSHA256, crypto.SHA384: oidECDSAWithSHA384, crypto.SHA512: oidECDSAWithSHA512,
			}[a.hash])
		case signing.RSAPSS:
			b.AddASN1ObjectIdentifier(oidRSAPSS)
			oid, _ := HashOID(a.hash)
			hashAlg := func(b *cryptobyte.Builder) {
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oid)
					b.AddASN1NULL()
				})
			}
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // RSASSA-PSS-params
				b.AddASN1(casn1.Tag(0).Constructed().ContextSpecific(), hashAlg)
				b.AddASN1(casn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidMGF1)
						hashAlg(b)
					})
				})
				b.AddASN1(casn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(a.pssSalt))
				})
			})
		}
	})
}

// parseSignatureAlgID reads a signatureAlgorithm AlgorithmIdentifier.
func parseSignatureAlgID(der cryptobyte.String) (sigAlg, error) {
	var oid asn1.ObjectIdentifier
	if !der.ReadASN1ObjectIdentifier(&oid) {
		return sigAlg{}, errorf(KindMalformed, "bad signature algorithm")
	}
	switch {
	case oid.Equal(oidRSAEncryption):
		return sigAlg{alg: signing.RSAPKCS1v15}, nil
	case oid.Equal(oidSHA1WithRSA):
		return sigAlg{alg: signing.RSAPKCS1v15, hash: crypto.SHA1}, nil
	case oid.Equal(oidSHA224WithRSA):
		return sigAlg{alg: signing.RSAPKCS1v15, hash: crypto.SHA224}, nil
	case oid.Equal(oidSHA256WithRSA):
		return sigAlg{alg: signing.RSAPKCS1v15, hash: crypto.SHA256}, nil
	case oid.Equal(oidSHA384WithRSA):
		return sigAlg{alg: signing.RSAPKCS1v15, hash: crypto.SHA384}, nil
	case oid.Equal(oidSHA512WithRSA):
		return sigAlg{alg: signing.RSAPKCS1v15, hash: crypto.SHA512}, nil
	case oid.Equal(oidECPublicKey):
		return sigAlg{alg: signing.ECDSA}, nil
	case oid.Equal(oidECDSAWithSHA1):
		return sigAlg{alg: signing.ECDSA, hash: crypto.SHA1}, nil
	case oid.Equal(oidECDSAWithSHA224):
		return sigAlg{alg: signing.ECDSA, hash: crypto.SHA224}, nil
	case oid.Equal(oidECDSAWithSHA256):
		return sigAlg{alg: signing.ECDSA, hash: crypto.SHA256}, nil
	case oid.Equal(oidECDSAWithSHA384):
		return sigAlg{alg: signing.ECDSA, hash: crypto.SHA384}, nil
	case oid.Equal(oidECDSAWithSHA512):
		return sigAlg{alg: signing.ECDSA, hash: crypto.SHA512}, nil
	case oid.Equal(oidRSAPSS):
		return parsePSSParams(der)
	}
	return sigAlg{}, errorf(KindUnsupported, "signature algorithm %v", oid)
}

// parsePSSParams reads RSASSA-PSS-params (RFC 4055), applying its defaults
// (SHA-1, MGF1 with SHA-1, salt 20).
func parsePSSParams(der cryptobyte.String) (sigAlg, error) {
	out := sigAlg{alg: signing.RSAPSS, hash: crypto.SHA1, pssSalt: 20}
	mgfHash := crypto.SHA1
	bad := errorf(KindMalformed, "bad RSASSA-PSS parameters")
	var params cryptobyte.String
	if !der.ReadASN1(&params, casn1.SEQUENCE) {
		return out, bad
	}
	readHashAlg := func(s *cryptobyte.String) (crypto.Hash, bool) {
		var alg cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !s.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
			return 0, false
		}
		h, ok := HashFromOID(oid)
		return h, ok
	}
	var field cryptobyte.String
	var present bool
	if !params.ReadOptionalASN1(&field, &present, casn1.Tag(0).Constructed().ContextSpecific()) {
		return out, bad
	}
	if present {
		h, ok := readHashAlg(&field)
		if !ok {
			return out, errorf(KindUnsupported, "RSASSA-PSS hash algorithm")
		}
		out.hash = h
	}
	if !params.ReadOptionalASN1(&field, &present, casn1.Tag(1).Constructed().ContextSpecific()) {
		return out, bad
	}
	if present {
		var mgf cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !field.ReadASN1(&mgf, casn1.SEQUENCE) || !mgf.ReadASN1ObjectIdentifier(&oid) {
			return out, bad
		}
		if !oid.Equal(oidMGF1) {
			return out, errorf(KindUnsupported, "RSASSA-PSS mask generation function %v", oid)
		}
		h, ok := readHashAlg(&mgf)
		if !ok {
			return out, errorf(KindUnsupported, "RSASSA-PSS MGF1 hash algorithm")
		}
		mgfHash = h
	}
	if !params.ReadOptionalASN1(&field, &present, casn1.Tag(2).Constructed().ContextSpecific()) {
		return out, bad
	}
	if present {
		var salt int64
		if !field.ReadASN1Int64WithTag(&salt, casn1.INTEGER) || salt < 0 || salt > 1<<16 {
			return out, bad
		}
		out.pssSalt = int(salt)
	}
	if mgfHash != out.hash {
		// crypto/rsa ties the MGF1 hash to the message hash.
		return out, errorf(KindUnsupported, "RSASSA-PSS with MGF1 hash %v different from hash %v", mgfHash, out.hash)
	}
	return out, nil
}

// verifyWith checks sig over digest (computed with hash) by cert's key.
func verifyWith(cert *x509.Certificate, hash crypto.Hash, a sigAlg, digest, sig []byte) error {
	if a.hash != 0 && a.hash != hash {
		return errorf(KindUnsupported, "signature algorithm hash %v differs from digest algorithm %v", a.hash, hash)
	}
	if a.alg == signing.RSAPSS {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return errorf(KindBadSignature, "RSASSA-PSS signature but the certificate key is not RSA")
		}
		if err := rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: a.pssSalt, Hash: hash}); err != nil {
			return wrap(KindBadSignature, "RSASSA-PSS signature does not verify", err)
		}
		return nil
	}
	if err := signing.VerifySignature(cert, hash, a.alg, digest, sig); err != nil {
		return wrap(KindBadSignature, "signature does not verify with the signer certificate", err)
	}
	return nil
}

// pssSaltLength finds the salt length of a valid RSASSA-PSS signature, which
// Build must write into the parameters. Most signers use the hash length;
// others (some HSMs, "auto" in OpenSSL) use the maximum, so when the common
// case fails the salt length is recovered by opening the encoded message
// (RFC 8017 section 9.1.2) and then confirmed by a normal verification.
func pssSaltLength(pub *rsa.PublicKey, hash crypto.Hash, digest, sig []byte) (int, error) {
	if rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: hash.Size(), Hash: hash}) == nil {
		return hash.Size(), nil
	}
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return 0, errorf(KindBadSignature, "RSASSA-PSS signature has %d bytes, key needs %d", len(sig), k)
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return 0, errorf(KindBadSignature, "RSASSA-PSS signature out of range")
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	emBits := pub.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	hLen := hash.Size()
	if emLen < hLen+2 {
		return 0, errorf(KindBadSignature, "RSA key too small for RSASSA-PSS with %v", hash)
	}
	em := m.FillBytes(make([]byte, emLen))
	if em[emLen-1] != 0xbc {
		return 0, errorf(KindBadSignature, "RSASSA-PSS encoded message has no 0xbc trailer")
	}
	db := append([]byte(nil), em[:emLen-hLen-1]...)
	h := em[emLen-hLen-1 : emLen-1]
	mgf1XOR(db, hash, h)
	db[0] &= 0xff >> (8*emLen - emBits)
	i := 0
	for i < len(db) && db[i] == 0 {
		i++
	}
	if i == len(db) || db[i] != 0x01 {
		return 0, errorf(KindBadSignature, "RSASSA-PSS encoded message has no separator")
	}
	salt := len(db) - i - 1
	if err := rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: salt, Hash: hash}); err != nil {
		return 0, wrap(KindBadSignature, "RSASSA-PSS signature does not verify", err)
	}
	return salt, nil
}

// mgf1XOR XORs out with MGF1(seed) as RFC 8017 B.2.1 defines it.
func mgf1XOR(out []byte, hash crypto.Hash, seed []byte) {
	var counter [4]byte
	done := 0
	for done < len(out) {
		h := hash.New()
		h.Write(seed)
		h.Write(counter[:])
		for _, b := range h.Sum(nil) {
			if done == len(out) {
				break
			}
			out[done] ^= b
			done++
		}
		for i := 3; i >= 0; i-- {
			counter[i]++
			if counter[i] != 0 {
				break
			}
		}
	}
}
