package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"vanban/signing"
)

type signCase struct {
	name string
	hash crypto.Hash
	alg  signing.Algorithm
	// rawECDSA makes the test hand Build a raw r||s signature, as PKCS#11 returns.
	rawECDSA bool
	// pssSalt overrides the PSS salt length (0: hash length).
	pssSalt int
}

var signCases = []signCase{
	{name: "rsa-pkcs1-sha256", hash: crypto.SHA256, alg: signing.RSAPKCS1v15},
	{name: "rsa-pkcs1-sha384", hash: crypto.SHA384, alg: signing.RSAPKCS1v15},
	{name: "rsa-pkcs1-sha512", hash: crypto.SHA512, alg: signing.RSAPKCS1v15},
	{name: "rsa-pss-sha256", hash: crypto.SHA256, alg: signing.RSAPSS},
	{name: "rsa-pss-sha512", hash: crypto.SHA512, alg: signing.RSAPSS},
	{name: "rsa-pss-sha256-maxsalt", hash: crypto.SHA256, alg: signing.RSAPSS, pssSalt: rsa.PSSSaltLengthAuto},
	{name: "ecdsa-p256-sha256-der", hash: crypto.SHA256, alg: signing.ECDSA},
	{name: "ecdsa-p256-sha256-raw", hash: crypto.SHA256, alg: signing.ECDSA, rawECDSA: true},
	{name: "ecdsa-p256-sha384-raw", hash: crypto.SHA384, alg: signing.ECDSA, rawECDSA: true},
	{name: "ecdsa-p256-sha512-der", hash: crypto.SHA512, alg: signing.ECDSA},
}

func (c signCase) keys(p *testPKI) (crypto.Signer, *x509.Certificate) {
	if c.alg == signing.ECDSA {
		return p.ecKey, p.ecLeaf
	}
	return p.rsaKey, p.rsaLeaf
}

// signAttrs signs the DER signed attributes the way a provider would.
func signAttrs(t testing.TB, c signCase, key crypto.Signer, attrs []byte) []byte {
	t.Helper()
	h := c.hash.New()
	h.Write(attrs)
	digest := h.Sum(nil)
	var opts crypto.SignerOpts = c.hash
	if c.alg == signing.RSAPSS {
		salt := c.pssSalt
		if salt == 0 {
			salt = rsa.PSSSaltLengthEqualsHash
		}
		opts = &rsa.PSSOptions{SaltLength: salt, Hash: c.hash}
	}
	sig, err := key.Sign(rand.Reader, digest, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.rawECDSA {
		var v struct{ R, S *big.Int }
		s := cryptobyte.String(sig)
		var seq cryptobyte.String
		v.R, v.S = new(big.Int), new(big.Int)
		if !s.ReadASN1(&seq, casn1.SEQUENCE) || !seq.ReadASN1Integer(v.R) || !seq.ReadASN1Integer(v.S) {
			t.Fatal("cannot decode ECDSA signature")
		}
		size := (key.Public().(*ecdsa.PublicKey).Curve.Params().BitSize + 7) / 8
		raw := make([]byte, 2*size)
		v.R.FillBytes(raw[:size])
		v.S.FillBytes(raw[size:])
		sig = raw
	}
	return sig
}

func digestOf(h crypto.Hash, data []byte) []byte {
	d := h.New()
	d.Write(data)
	return d.Sum(nil)
}

func buildSigned(t testing.TB, p *testPKI, c signCase, content []byte) []byte {
	t.Helper()
	key, cert := c.keys(p)
	attrs, err := SignedAttributes(digestOf(c.hash, content), c.hash, cert)
	if err != nil {
		t.Fatal(err)
	}
	der, err := Build(Params{
		SignedAttributes: attrs, Hash: c.hash, Algorithm: c.alg,
		Signature: signAttrs(t, c, key, attrs), Certificates: []*x509.Certificate{cert, p.inter},
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return der
}

func TestBuildParseVerify(t *testing.T) {
	p := mustPKI(t)
	content := []byte("%PDF-1.7 quyết định số 12/QĐ-UBND ... bytes covered by /ByteRange")
	for _, c := range signCases {
		t.Run(c.name, func(t *testing.T) {
			der := buildSigned(t, p, c, content)
			_, cert := c.keys(p)

			sd, err := Parse(der)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if sd.DigestAlgorithm != c.hash || sd.SignatureAlgorithm != c.alg || sd.Version != 1 {
				t.Fatalf("parsed hash %v alg %v version %d", sd.DigestAlgorithm, sd.SignatureAlgorithm, sd.Version)
			}
			if sd.Signer == nil || !sd.Signer.Equal(cert) || len(sd.Certificates) != 2 {
				t.Fatalf("signer %v, %d certificates", sd.Signer, len(sd.Certificates))
			}
			if !sd.SigningCertificateV2 || len(sd.SigningCertificates) != 1 || !sd.SigningCertificates[0].Matches(cert) {
				t.Fatalf("signing-certificate-v2 not parsed back: %+v", sd.SigningCertificates)
			}
			if sd.SigningCertificates[0].Serial.Cmp(cert.SerialNumber) != 0 || !bytes.Equal(sd.SigningCertificates[0].IssuerRaw, cert.RawIssuer) {
				t.Fatal("issuerSerial not parsed back")
			}
			if !sd.SigningTime.IsZero() || sd.EncapsulatedContent != nil || !sd.ContentType.Equal(OIDData) {
				t.Fatal("unexpected signing-time or eContent in a PAdES signature")
			}
			if err := sd.Verify(digestOf(c.hash, content)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// A flipped byte in the signed content fails.
			changed := bytes.Clone(content)
			changed[3] ^= 1
			if err := sd.Verify(digestOf(c.hash, changed)); KindOf(err) != KindDigestMismatch {
				t.Fatalf("Verify(changed content) = %v, want digest mismatch", err)
			}

			// Cross-check with digitorus/pkcs7 (it cannot verify RSA-PSS).
			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatalf("pkcs7.Parse: %v", err)
			}
			if c.alg != signing.RSAPSS {
				p7.Content = content
				roots := x509.NewCertPool()
				roots.AddCert(p.root)
				if err := p7.VerifyWithChain(roots); err != nil {
					t.Fatalf("pkcs7 verify: %v", err)
				}
				p7.Content = changed
				if err := p7.VerifyWithChain(roots); err == nil {
					t.Fatal("pkcs7 accepted changed content")
				}
			}

			// The real openssl, with the chain to our root.
			if out, err := opensslVerify(t, der, content, p.root); err != nil {
				t.Fatalf("openssl cms -verify: %v\n%s", err, out)
			}
			if out, err := opensslVerify(t, der, changed, p.root); err == nil {
				t.Fatalf("openssl accepted changed content:\n%s", out)
			}
		})
	}
}

func TestFlippedSignatureByteFails(t *testing.T) {
	p := mustPKI(t)
	content := []byte("nội dung văn bản")
	for _, c := range []signCase{signCases[0], signCases[3], signCases[6]} {
		t.Run(c.name, func(t *testing.T) {
			der := buildSigned(t, p, c, content)
			sd, err := Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(der, sd.Signature)
			if i < 0 {
				t.Fatal("signature value not found in encoding")
			}
			bad := bytes.Clone(der)
			bad[i+len(sd.Signature)/2] ^= 0x40
			sd2, err := Parse(bad)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := sd2.Verify(digestOf(c.hash, content)); KindOf(err) != KindBadSignature {
				t.Fatalf("Verify = %v, want bad signature", err)
			}
			if out, err := opensslVerify(t, bad, content, p.root); err == nil {
				t.Fatalf("openssl accepted a flipped signature byte:\n%s", out)
			}

			// A flipped byte inside the signed attributes also fails.
			j := bytes.Index(der, sd.MessageDigest)
			bad = bytes.Clone(der)
			bad[j] ^= 1
			sd3, err := Parse(bad)
			if err != nil {
				t.Fatal(err)
			}
			// Claim the tampered digest as the content digest so that only the
			// signature check can fail.
			if err := sd3.Verify(bytes.Clone(sd3.MessageDigest)); KindOf(err) != KindBadSignature {
				t.Fatalf("Verify(tampered attrs) = %v, want bad signature", err)
			}
		})
	}
}

func TestBuildFailsClosed(t *testing.T) {
	p := mustPKI(t)
	content := []byte("content")
	d := digestOf(crypto.SHA256, content)
	attrs, err := SignedAttributes(d, crypto.SHA256, p.rsaLeaf)
	if err != nil {
		t.Fatal(err)
	}
	good := signAttrs(t, signCases[0], p.rsaKey, attrs)
	chain := []*x509.Certificate{p.rsaLeaf, p.inter}
	base := Params{SignedAttributes: attrs, Hash: crypto.SHA256, Algorithm: signing.RSAPKCS1v15, Signature: good, Certificates: chain}
	if _, err := Build(base); err != nil {
		t.Fatalf("baseline: %v", err)
	}

	otherAttrs, err := SignedAttributes(d, crypto.SHA256, p.otherRSALeaf)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Params)
		want   Kind
	}{
		{"signature by another key", func(q *Params) { q.Signature = signAttrs(t, signCases[0], p.otherRSAKey, attrs) }, KindBadSignature},
		{"signature over other data", func(q *Params) {
			a2, _ := SignedAttributes(digestOf(crypto.SHA256, []byte("other")), crypto.SHA256, p.rsaLeaf)
			q.Signature = signAttrs(t, signCases[0], p.rsaKey, a2)
		}, KindBadSignature},
		{"truncated signature", func(q *Params) { q.Signature = good[:len(good)-1] }, KindBadSignature},
		{"PSS claimed for PKCS1 signature", func(q *Params) { q.Algorithm = signing.RSAPSS }, KindBadSignature},
		{"ECDSA claimed for RSA key", func(q *Params) { q.Algorithm = signing.ECDSA }, KindBadSignature},
		{"hash mismatch", func(q *Params) { q.Hash = crypto.SHA512 }, KindInvalidParams},
		{"SHA-1", func(q *Params) { q.Hash = crypto.SHA1 }, KindInvalidParams},
		{"attributes name another certificate", func(q *Params) {
			q.SignedAttributes = otherAttrs
			q.Signature = signAttrs(t, signCases[0], p.rsaKey, otherAttrs)
		}, KindCertificateMismatch},
		{"no certificates", func(q *Params) { q.Certificates = nil }, KindInvalidParams},
		{"attributes not a SET", func(q *Params) { q.SignedAttributes = append([]byte{0x30}, attrs[1:]...) }, KindInvalidParams},
		{"attributes with trailing bytes", func(q *Params) { q.SignedAttributes = append(bytes.Clone(attrs), 0) }, KindInvalidParams},
		{"unknown algorithm", func(q *Params) { q.Algorithm = 99 }, KindInvalidParams},
		{"bad timestamp", func(q *Params) { q.SignatureTimestamp = []byte{0x30, 0x03, 0x02, 0x01, 0x01} }, KindTimestampMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := base
			tc.mutate(&q)
			out, err := Build(q)
			if KindOf(err) != tc.want {
				t.Fatalf("Build = %v, want kind %v", err, tc.want)
			}
			if out != nil {
				t.Fatal("Build returned bytes with an error")
			}
			if !errors.Is(err, &Error{Kind: tc.want}) {
				t.Fatal("errors.Is does not match the kind")
			}
		})
	}
	// A bad signature also carries the signing package's typed error.
	q := base
	q.Signature = signAttrs(t, signCases[0], p.otherRSAKey, attrs)
	_, err = Build(q)
	if signing.KindOf(err) != signing.KindBadSignature {
		t.Fatalf("Build error %v does not wrap signing.KindBadSignature", err)
	}
}

func TestSignedAttributesInvalid(t *testing.T) {
	p := mustPKI(t)
	d := digestOf(crypto.SHA256, []byte("x"))
	if _, err := SignedAttributes(d[:31], crypto.SHA256, p.rsaLeaf); KindOf(err) != KindInvalidParams {
		t.Fatalf("short digest: %v", err)
	}
	if _, err := SignedAttributes(d, crypto.SHA256, nil); KindOf(err) != KindInvalidParams {
		t.Fatalf("nil cert: %v", err)
	}
	if _, err := SignedAttributes(d, crypto.MD5, p.rsaLeaf); KindOf(err) != KindInvalidParams {
		t.Fatalf("md5: %v", err)
	}
	// Deterministic DER: the same inputs give the same bytes, attributes sorted.
	a1, _ := SignedAttributes(d, crypto.SHA256, p.rsaLeaf)
	a2, _ := SignedAttributes(d, crypto.SHA256, p.rsaLeaf)
	if !bytes.Equal(a1, a2) || a1[0] != 0x31 {
		t.Fatal("SignedAttributes is not deterministic DER")
	}
	_, content, _ := splitTLV(a1)
	attrs, err := parseAttributes(content)
	if err != nil || len(attrs) != 3 {
		t.Fatalf("parse back: %v, %d attrs", err, len(attrs))
	}
	for _, a := range attrs {
		if a.Type.Equal(OIDAttrSigningTime) {
			t.Fatal("signing-time must not be present")
		}
	}
}

// tstInfo encodes a minimal TSTInfo for tests.
func tstInfo(t testing.TB, h crypto.Hash, imprint []byte) []byte {
	t.Helper()
	oid, _ := HashOID(h)
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier([]int{1, 3, 6, 1, 4, 1, 99999, 1})
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
			b.AddASN1OctetString(imprint)
		})
		b.AddASN1Int64(42)
		b.AddASN1GeneralizedTime(time.Now().UTC().Truncate(time.Second))
	})
	return b.BytesOrPanic()
}

// makeToken builds a time-stamp token over imprint with the EC leaf as TSA.
func makeToken(t testing.TB, p *testPKI, imprint []byte) []byte {
	t.Helper()
	info := tstInfo(t, crypto.SHA256, imprint)
	attrs, err := SignedAttributesFor(OIDTSTInfo, digestOf(crypto.SHA256, info), crypto.SHA256, p.ecLeaf)
	if err != nil {
		t.Fatal(err)
	}
	c := signCase{hash: crypto.SHA256, alg: signing.ECDSA}
	tok, err := Build(Params{SignedAttributes: attrs, Hash: crypto.SHA256, Algorithm: signing.ECDSA,
		Signature: signAttrs(t, c, p.ecKey, attrs), Certificates: []*x509.Certificate{p.ecLeaf, p.inter},
		ContentType: OIDTSTInfo, Content: info})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestEncapsulatedToken(t *testing.T) {
	p := mustPKI(t)
	tok := makeToken(t, p, digestOf(crypto.SHA256, []byte("sig")))
	sd, err := Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Version != 3 || !sd.ContentType.Equal(OIDTSTInfo) || sd.EncapsulatedContent == nil {
		t.Fatalf("version %d content type %v", sd.Version, sd.ContentType)
	}
	if err := sd.VerifyEncapsulated(); err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := p7.Verify(); err != nil {
		t.Fatalf("pkcs7 verify of token: %v", err)
	}
	// Content that does not match the message digest is refused by Build.
	info := tstInfo(t, crypto.SHA256, make([]byte, 32))
	attrs, _ := SignedAttributesFor(OIDTSTInfo, digestOf(crypto.SHA256, []byte("else")), crypto.SHA256, p.ecLeaf)
	_, err = Build(Params{SignedAttributes: attrs, Hash: crypto.SHA256, Algorithm: signing.ECDSA,
		Signature:    signAttrs(t, signCase{hash: crypto.SHA256, alg: signing.ECDSA}, p.ecKey, attrs),
		Certificates: []*x509.Certificate{p.ecLeaf}, ContentType: OIDTSTInfo, Content: info})
	if KindOf(err) != KindDigestMismatch {
		t.Fatalf("Build with mismatching content = %v", err)
	}
}

func TestSignatureTimestamp(t *testing.T) {
	p := mustPKI(t)
	content := []byte("văn bản cần dấu thời gian")
	c := signCases[0]
	der := buildSigned(t, p, c, content)
	sd, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	tok := makeToken(t, p, sd.SignatureDigest(crypto.SHA256))

	withTS, err := AddSignatureTimestamp(der, tok)
	if err != nil {
		t.Fatalf("AddSignatureTimestamp: %v", err)
	}
	sd2, err := Parse(withTS)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sd2.SignatureTimestamp, tok) || len(sd2.SignatureTimestamps) != 1 {
		t.Fatal("token not found back as signature time-stamp")
	}
	if err := sd2.Verify(digestOf(c.hash, content)); err != nil {
		t.Fatalf("Verify after adding timestamp: %v", err)
	}
	if !bytes.Equal(sd2.SignedAttributes, sd.SignedAttributes) || !bytes.Equal(sd2.Signature, sd.Signature) {
		t.Fatal("adding a timestamp changed signed parts")
	}
	if out, err := opensslVerify(t, withTS, content, p.root); err != nil {
		t.Fatalf("openssl on B-T signature: %v\n%s", err, out)
	}

	// Build with the token directly gives the same structure.
	_, cert := c.keys(p)
	built, err := Build(Params{SignedAttributes: sd.SignedAttributes, Hash: c.hash, Algorithm: c.alg, Signature: sd.Signature,
		Certificates: []*x509.Certificate{cert, p.inter}, SignatureTimestamp: tok})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, withTS) {
		t.Fatal("Build with SignatureTimestamp differs from AddSignatureTimestamp")
	}

	// A token over something else is refused.
	wrong := makeToken(t, p, digestOf(crypto.SHA256, []byte("another signature")))
	if _, err := AddSignatureTimestamp(der, wrong); KindOf(err) != KindTimestampMismatch {
		t.Fatalf("AddSignatureTimestamp(wrong token) = %v", err)
	}
	// A second timestamp is kept alongside the first.
	twice, err := AddSignatureTimestamp(withTS, tok)
	if err != nil {
		t.Fatal(err)
	}
	sd3, err := Parse(twice)
	if err != nil || len(sd3.SignatureTimestamps) != 2 {
		t.Fatalf("two timestamps: %v, %d", err, len(sd3.SignatureTimestamps))
	}
}

// toIndefinite re-encodes the outer constructed levels of a DER element
// with indefinite lengths and splits an OCTET STRING, as streaming BER
// encoders do.
func toIndefinite(t *testing.T, der []byte, depth int) []byte {
	t.Helper()
	hdr, content, err := splitTLV(der)
	if err != nil {
		t.Fatal(err)
	}
	if der[0] == 0x04 && len(content) > 4 {
		// Constructed OCTET STRING in two segments.
		out := []byte{0x24, 0x80}
		out = appendTLV(out, []byte{0x04}, content[:3])
		out = appendTLV(out, []byte{0x04}, content[3:])
		return append(out, 0, 0)
	}
	if der[0]&0x20 == 0 || depth == 0 {
		return der[:hdr+len(content)]
	}
	out := []byte{der[0], 0x80}
	for rest := content; len(rest) > 0; {
		h, c, err := splitTLV(rest)
		if err != nil {
			t.Fatal(err)
		}
		elem := rest[:h+len(c)]
		rest = rest[h+len(c):]
		// Keep signed attributes and certificates as they are: they are hashed.
		if elem[0] == 0xa0 && depth < 3 || elem[0] == 0x31 && len(elem) > 0 && bytes.Contains(elem, OIDAttrMessageDigestDER()) {
			out = append(out, elem...)
			continue
		}
		out = append(out, toIndefinite(t, elem, depth-1)...)
	}
	return append(out, 0, 0)
}

// OIDAttrMessageDigestDER is the DER of the message-digest OID, used to
// recognise the signed attributes in toIndefinite.
func OIDAttrMessageDigestDER() []byte {
	return []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04}
}

func TestParseBERAndPadding(t *testing.T) {
	p := mustPKI(t)
	content := []byte("BER content")
	der := buildSigned(t, p, signCases[6], content)
	want, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	// Zero padding, as in a PDF /Contents hex string.
	padded := append(bytes.Clone(der), make([]byte, 4096)...)
	if sd, err := Parse(padded); err != nil || sd.Verify(digestOf(crypto.SHA256, content)) != nil {
		t.Fatalf("padded: %v", err)
	}
	if _, err := Parse(append(bytes.Clone(der), 0, 1, 0)); KindOf(err) != KindMalformed {
		t.Fatalf("trailing garbage: %v", err)
	}
	if sd, n, err := ParseLenient(append(bytes.Clone(der), 0, 1, 0)); err != nil || n != 2 || sd.Verify(digestOf(crypto.SHA256, content)) != nil {
		t.Fatalf("ParseLenient: %d %v", n, err)
	}
	// Indefinite-length outer levels.
	ber := toIndefinite(t, der, 3)
	if bytes.Equal(ber, der) {
		t.Fatal("test conversion did nothing")
	}
	sd, err := Parse(ber)
	if err != nil {
		t.Fatalf("Parse(BER): %v", err)
	}
	if err := sd.Verify(digestOf(crypto.SHA256, content)); err != nil {
		t.Fatalf("Verify(BER): %v", err)
	}
	if !bytes.Equal(sd.SignedAttributes, want.SignedAttributes) || !sd.Signer.Equal(want.Signer) {
		t.Fatal("BER parse differs from DER parse")
	}
	// The normalizer also flattens constructed OCTET STRINGs.
	seg := []byte{0x24, 0x80, 0x04, 0x02, 'a', 'b', 0x04, 0x01, 'c', 0x00, 0x00}
	norm, rest, err := normalizeBER(seg)
	if err != nil || len(rest) != 0 || !bytes.Equal(norm, []byte{0x04, 0x03, 'a', 'b', 'c'}) {
		t.Fatalf("flatten: %x %v", norm, err)
	}
	// Non-minimal long-form lengths become minimal.
	norm, _, err = normalizeBER([]byte{0x04, 0x81, 0x02, 'h', 'i'})
	if err != nil || !bytes.Equal(norm, []byte{0x04, 0x02, 'h', 'i'}) {
		t.Fatalf("minimal length: %x %v", norm, err)
	}
}

func TestParseMalformed(t *testing.T) {
	p := mustPKI(t)
	der := buildSigned(t, p, signCases[6], []byte("x"))
	for i := 0; i < len(der); i += 7 {
		if _, err := Parse(der[:i]); err == nil {
			t.Fatalf("Parse accepted a %d-byte prefix", i)
		} else if KindOf(err) == 0 {
			t.Fatalf("untyped error %v", err)
		}
	}
	cases := map[string][]byte{
		"empty":            nil,
		"not signed data":  {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01},
		"indefinite prim":  {0x04, 0x80, 0x00, 0x00},
		"deep nesting":     bytes.Repeat([]byte{0x30, 0x80}, 100),
		"huge length":      {0x30, 0x84, 0xff, 0xff, 0xff, 0xff},
		"unterminated ber": {0x30, 0x80, 0x02, 0x01, 0x01},
	}
	for name, in := range cases {
		if _, err := Parse(in); err == nil || KindOf(err) == 0 {
			t.Errorf("%s: Parse = %v, want typed error", name, err)
		}
	}
	// A signature without the signer certificate parses but does not verify.
	c := signCases[6]
	attrs, _ := SignedAttributes(digestOf(crypto.SHA256, []byte("x")), crypto.SHA256, p.ecLeaf)
	sig := signAttrs(t, c, p.ecKey, attrs)
	full, err := Build(Params{SignedAttributes: attrs, Hash: crypto.SHA256, Algorithm: signing.ECDSA, Signature: sig, Certificates: []*x509.Certificate{p.ecLeaf}})
	if err != nil {
		t.Fatal(err)
	}
	// Drop the certificates by re-encoding the raw structure without them.
	sd, err := Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	sd.raw.certs = nil
	noCert, err := sd.raw.encode()
	if err != nil {
		t.Fatal(err)
	}
	omitted, err := Build(Params{SignedAttributes: attrs, Hash: crypto.SHA256, Algorithm: signing.ECDSA, Signature: sig,
		Certificates: []*x509.Certificate{p.ecLeaf}, OmitCertificates: true})
	if err != nil {
		t.Fatal(err)
	}
	if sdo, err := Parse(omitted); err != nil || len(sdo.Certificates) != 0 || sdo.Signer != nil {
		t.Fatalf("OmitCertificates: %v", err)
	}
	if bytes.Contains(omitted, p.ecLeaf.Raw) {
		t.Fatal("OmitCertificates left the certificate in")
	}
	sd2, err := Parse(noCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd2.Verify(digestOf(crypto.SHA256, []byte("x"))); KindOf(err) != KindSignerNotFound {
		t.Fatalf("Verify without signer cert = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	p := mustPKI(f)
	f.Add(buildSigned(f, p, signCases[6], []byte("seed")))
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := Parse(data)
		if err != nil {
			if KindOf(err) == 0 {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		_ = sd.Verify(make([]byte, sd.DigestAlgorithm.Size()))
	})
}
