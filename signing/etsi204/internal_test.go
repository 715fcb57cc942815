package etsi204

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"vanban/signing"
)

type testSignerInfo struct {
	Version     int
	SID         asn1.RawValue
	DigestAlg   pkix.AlgorithmIdentifier
	SignedAttrs asn1.RawValue `asn1:"optional,tag:0"`
	SigAlg      pkix.AlgorithmIdentifier
	Signature   []byte
}

type testSignedData struct {
	Version     int
	DigestAlgs  []pkix.AlgorithmIdentifier `asn1:"set"`
	Encap       struct{ ContentType asn1.ObjectIdentifier }
	Certs       asn1.RawValue    `asn1:"optional,tag:0"`
	SignerInfos []testSignerInfo `asn1:"set"`
}

func selfSigned(t testing.TB) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sim"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// makeCMS builds a ContentInfo/SignedData with the given signer infos.
func makeCMS(t testing.TB, contentType asn1.ObjectIdentifier, cert *x509.Certificate, infos ...testSignerInfo) []byte {
	t.Helper()
	sha256OID := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	sd := testSignedData{
		Version:     1,
		DigestAlgs:  []pkix.AlgorithmIdentifier{{Algorithm: sha256OID}},
		SignerInfos: infos,
	}
	sd.Encap.ContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	if cert != nil {
		sd.Certs = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: cert.Raw}
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{contentType, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func signerInfo(sig []byte) testSignerInfo {
	return testSignerInfo{
		Version:   1,
		SID:       asn1.RawValue{FullBytes: []byte{0x80, 0x01, 0x01}}, // [0] subjectKeyIdentifier
		DigestAlg: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}},
		SigAlg:    pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
		Signature: sig,
	}
}

func TestParseCMSSignature(t *testing.T) {
	cert := selfSigned(t)
	sig := []byte{1, 2, 3, 4}
	got, certs, err := parseCMSSignature(makeCMS(t, oidSignedData, cert, signerInfo(sig)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sig) || len(certs) != 1 || !certs[0].Equal(cert) {
		t.Fatalf("got sig %x, %d certs", got, len(certs))
	}
	if _, certs, err := parseCMSSignature(makeCMS(t, oidSignedData, nil, signerInfo(sig))); err != nil || certs != nil {
		t.Fatalf("without certificates: %v, %v", certs, err)
	}

	withAttrs := signerInfo(sig)
	withAttrs.SignedAttrs = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: []byte{0x30, 0x00}}
	if _, _, err := parseCMSSignature(makeCMS(t, oidSignedData, cert, withAttrs)); !errors.Is(err, errSignedAttrs) {
		t.Errorf("signed attributes: %v", err)
	}
	bad := map[string][]byte{
		"two signers":  makeCMS(t, oidSignedData, cert, signerInfo(sig), signerInfo(sig)),
		"no signer":    makeCMS(t, oidSignedData, cert),
		"empty sig":    makeCMS(t, oidSignedData, cert, signerInfo(nil)),
		"not signed":   makeCMS(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}, cert, signerInfo(sig)),
		"trailing":     append(makeCMS(t, oidSignedData, cert, signerInfo(sig)), 0),
		"raw sig":      sig,
		"empty":        nil,
		"certificates": cert.Raw,
	}
	for name, in := range bad {
		if _, _, err := parseCMSSignature(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseCMSSignature(f *testing.F) {
	cert := selfSigned(f)
	f.Add(makeCMS(f, oidSignedData, cert, signerInfo([]byte{1, 2})))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) {
		sig, _, err := parseCMSSignature(in)
		if err == nil && len(sig) == 0 {
			t.Fatal("success with an empty signature")
		}
	})
}

func TestTxIDRoundTrip(t *testing.T) {
	req := signing.Request{Digest: bytes.Repeat([]byte{0xAB}, 48), Hash: crypto.SHA384, Algorithm: signing.ECDSA}
	for _, prefix := range []string{txAsync, txSync} {
		id := encodeTxID(prefix, "h4.d/x+", "84912345671", req)
		got, msisdn, r, err := decodeTxID(id)
		if err != nil {
			t.Fatal(err)
		}
		if got != "h4.d/x+" || msisdn != "84912345671" || r.Hash != req.Hash || r.Algorithm != req.Algorithm || !bytes.Equal(r.Digest, req.Digest) {
			t.Fatalf("round trip: %q %q %+v", got, msisdn, r)
		}
	}
	for _, bad := range []string{"", "a1.", "x1.YQ.84912345671.5.3.AA", "a1.YQ.849.5.3.AA", "a1.YQ.84912345671.99.3.AA",
		"a1.YQ.84912345671.5.9.AA", "a1.YQ.84912345671.5.3.AA", "a1..84912345671.5.3.AA"} {
		if _, _, _, err := decodeTxID(bad); signing.KindOf(err) != signing.KindBadRequest {
			t.Errorf("decodeTxID(%q) = %v", bad, err)
		}
	}
}

func FuzzDecodeTxID(f *testing.F) {
	f.Add(encodeTxID(txAsync, "S1", "84912345671", signing.Request{Digest: make([]byte, 32), Hash: crypto.SHA256, Algorithm: signing.RSAPKCS1v15}))
	f.Fuzz(func(t *testing.T, s string) {
		id, msisdn, req, err := decodeTxID(s)
		if err != nil {
			return
		}
		if id == "" || msisdn == "" || len(req.Digest) != req.Hash.Size() {
			t.Fatalf("accepted %q as %q %q %+v", s, id, msisdn, req)
		}
	})
}
