package mssp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"vanban/signing/etsi204/wire"
)

// IssuerFunc issues the SIM key and certificate chain (leaf first) of a
// phone number. The server calls it once per number, lazily. A deployment
// plugs in the development PKI here so that simulator signatures chain to
// the same test root as everything else.
type IssuerFunc func(msisdn, commonName string, ec bool) (crypto.Signer, []*x509.Certificate, error)

// newDevCA makes the simulator's own in-memory CA, used when
// Options.Issuer is nil.
func newDevCA() (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject: pkix.Name{
			Country:      []string{"VN"},
			Organization: []string{"vanban"},
			CommonName:   "vanban MSSP simulator CA (development only)",
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// CAIssuer returns an IssuerFunc that issues SIM certificates from a CA
// whose key we hold, such as the development PKI's issuing CA. caChain is
// that CA's certificate followed by its own issuers, if any; the issued
// chains are the leaf followed by caChain. Serial numbers are random, so a
// persistent CA never issues the same one twice across restarts.
func CAIssuer(caChain []*x509.Certificate, caKey crypto.Signer) (IssuerFunc, error) {
	if len(caChain) == 0 || caKey == nil {
		return nil, errors.New("mssp: CAIssuer needs the CA certificate and key")
	}
	ca := caChain[0]
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("mssp: CAIssuer: " + ca.Subject.CommonName + " is not a CA certificate allowed to sign certificates")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := caKey.Public().(equaler); !ok || !pub.Equal(ca.PublicKey) {
		return nil, errors.New("mssp: CAIssuer: key does not match the CA certificate")
	}
	chain := append([]*x509.Certificate(nil), caChain...)
	return func(msisdn, commonName string, ec bool) (crypto.Signer, []*x509.Certificate, error) {
		key, err := newKey(ec)
		if err != nil {
			return nil, nil, err
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			return nil, nil, err
		}
		now := time.Now()
		notAfter := now.AddDate(2, 0, 0)
		if notAfter.After(ca.NotAfter) {
			notAfter = ca.NotAfter
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial.Add(serial, big.NewInt(1)), // never zero
			Subject: pkix.Name{
				Country:            []string{"VN"},
				Organization:       []string{"vanban MSSP simulator"},
				OrganizationalUnit: []string{DevelopmentMarker},
				CommonName:         commonName,
				// Vietnamese mobile PKI certificates name the
				// subscriber's number; the UID attribute is where it
				// usually goes.
				ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: "MSISDN:" + msisdn}},
			},
			NotBefore: now.Add(-time.Hour),
			NotAfter:  notAfter,
			KeyUsage:  x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			return nil, nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, err
		}
		return key, append([]*x509.Certificate{cert}, chain...), nil
	}, nil
}

func newKey(ec bool) (crypto.Signer, error) {
	if ec {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return rsa.GenerateKey(rand.Reader, 2048)
}

// simSign signs dtbs the way a SIM applet does: RSA keys pad the data (a
// DigestInfo) with PKCS#1 v1.5 as is; EC keys sign the data as a digest.
// EC signatures are returned as ASN.1 DER.
func simSign(key crypto.Signer, dtbs []byte) ([]byte, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		// Hash 0 tells crypto/rsa the data is already a DigestInfo.
		return key.Sign(rand.Reader, dtbs, crypto.Hash(0))
	case *ecdsa.PublicKey:
		return key.Sign(rand.Reader, dtbs, hashForSize(len(dtbs)))
	}
	return nil, errors.New("unsupported SIM key type")
}

func hashForSize(n int) crypto.Hash {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if h.Size() == n {
			return h
		}
	}
	return crypto.Hash(0)
}

// ecdsaDERToRaw converts a DER ECDSA-Sig-Value to the raw r||s a SIM
// returns in PKCS1 format.
func ecdsaDERToRaw(der []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	var v struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		return nil, err
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out, nil
}

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA  = map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA256: {1, 2, 840, 10045, 4, 3, 2},
		crypto.SHA384: {1, 2, 840, 10045, 4, 3, 3},
		crypto.SHA512: {1, 2, 840, 10045, 4, 3, 4},
	}
)

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type cmsSignerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

type cmsEncap struct {
	ContentType asn1.ObjectIdentifier
}

type cmsSignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo cmsEncap
	Certificates     asn1.RawValue
	SignerInfos      []cmsSignerInfo `asn1:"set"`
}

type cmsContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

// buildCMS wraps a SIM signature over dtbs (detached, no signed attributes)
// in a CMS SignedData with the signer's chain, as MSS_Format PKCS7 asks.
func buildCMS(sig, dtbs []byte, chain []*x509.Certificate) ([]byte, error) {
	leaf := chain[0]
	h := hashForSize(len(dtbs))
	if dh, _, err := wire.ParseDigestInfo(dtbs); err == nil {
		h = dh
	}
	hashOID, ok := wire.HashOID(h)
	if !ok {
		return nil, fmt.Errorf("cannot name the hash of %d-byte data", len(dtbs))
	}
	sigAlg := pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	if leaf.PublicKeyAlgorithm == x509.ECDSA {
		oid, ok := oidECDSAWithSHA[h]
		if !ok {
			return nil, fmt.Errorf("no ECDSA algorithm for %v", h)
		}
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oid}
	}
	var certs []byte
	for _, c := range chain {
		certs = append(certs, c.Raw...)
	}
	sd := cmsSignedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: hashOID, Parameters: asn1.NullRawValue}},
		EncapContentInfo: cmsEncap{ContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos: []cmsSignerInfo{{
			Version:            1,
			SID:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: leaf.RawIssuer}, Serial: leaf.SerialNumber},
			DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: hashOID, Parameters: asn1.NullRawValue},
			SignatureAlgorithm: sigAlg,
			Signature:          sig,
		}},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(cmsContentInfo{
		ContentType: oidSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER},
	})
}
