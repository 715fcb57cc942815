package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"testing"

	"vanban/signing"
	"vanban/signing/cms"
	"vanban/signing/signtest"
)

// TestAlgorithms signs with RSA PKCS#1 v1.5 and PSS, ECDSA P-256, and
// SHA-256/384/512, locally and through a signing.Provider.
func TestAlgorithms(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	ctx := context.Background()
	rsaSigner := loadTestSigner(t)
	ca := newTestCA(t, "Vanban Test EC CA")
	ecKey, ecChain := ca.issue(t, "Trần Thị Bình", "Sở Nội vụ", nil)
	orig := readFile(t, signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path)

	cases := []struct {
		name  string
		key   crypto.Signer
		chain []*x509.Certificate
		trust string
		opts  Options
		alg   signing.Algorithm
	}{
		{"rsa-sha256", rsaSigner.key, rsaSigner.chain, rsaSigner.caPEM, Options{}, signing.RSAPKCS1v15},
		{"rsa-sha512", rsaSigner.key, rsaSigner.chain, rsaSigner.caPEM, Options{Hash: crypto.SHA512}, signing.RSAPKCS1v15},
		{"rsa-pss-sha256", rsaSigner.key, rsaSigner.chain, rsaSigner.caPEM, Options{PSS: true}, signing.RSAPSS},
		{"ecdsa-sha256", ecKey, ecChain, ca.pem, Options{}, signing.ECDSA},
		{"ecdsa-sha384", ecKey, ecChain, ca.pem, Options{Hash: crypto.SHA384}, signing.ECDSA},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, via := range []string{"local", "provider"} {
				var out bytes.Buffer
				var err error
				if via == "local" {
					err = Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &out, c.key, c.chain, c.opts)
				} else {
					p, perr := signing.NewLocal("test", c.key, c.chain)
					if perr != nil {
						t.Fatal(perr)
					}
					err = SignWith(ctx, bytes.NewReader(orig), int64(len(orig)), &out, p, "", c.opts, signing.WaitOptions{})
				}
				if err != nil {
					t.Fatalf("%s: %v", via, err)
				}
				path := writeTemp(t, c.name+"-"+via+".pdf", out.Bytes())
				checkSigned(t, path, 1, c.trust)
				_, der, err := signtest.ExtractByteRangeAndContents(path)
				if err != nil {
					t.Fatal(err)
				}
				sd, err := cms.Parse(der)
				if err != nil {
					t.Fatal(err)
				}
				want := c.opts.Hash
				if want == 0 {
					want = crypto.SHA256
				}
				if sd.DigestAlgorithm != want || sd.SignatureAlgorithm != c.alg {
					t.Errorf("CMS uses %v/%v, want %v/%v", sd.DigestAlgorithm, sd.SignatureAlgorithm, want, c.alg)
				}
			}
		})
	}
	var out bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &out, ecKey, ecChain, Options{PSS: true}); !errors.Is(err, ErrOptions) {
		t.Errorf("PSS with an EC key: err = %v, want ErrOptions", err)
	}
	if err := Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &out, ecKey, ecChain, Options{Hash: crypto.SHA1}); !errors.Is(err, ErrOptions) {
		t.Errorf("SHA-1: err = %v, want ErrOptions", err)
	}
	// A provider that signs with another key than the pinned certificate.
	wrong, err := signing.NewLocal("test", rsaSigner.key, rsaSigner.chain)
	if err != nil {
		t.Fatal(err)
	}
	err = SignWith(ctx, bytes.NewReader(orig), int64(len(orig)), &out, wrong, "", Options{Chain: ecChain}, signing.WaitOptions{})
	if err == nil {
		t.Error("a signature by another key was accepted")
	}
}

// TestDocMDPP1 refuses any change to a document certified with P=1.
func TestDocMDPP1(t *testing.T) {
	ctx := context.Background()
	s := loadTestSigner(t)
	orig := readFile(t, signtest.CorpusFileNamed(t, "chromium.pdf").Path)
	var certified bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &certified, s.key, s.chain, Options{Certify: 1}); err != nil {
		t.Fatal(err)
	}
	in := certified.Bytes()
	var out bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(in), int64(len(in)), &out, s.key, s.chain, Options{}); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("sign after P=1: err = %v, want ErrNotPermitted", err)
	}
	if err := Sign(ctx, bytes.NewReader(in), int64(len(in)), &out, s.key, s.chain, Options{Certify: 2}); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("second certification: err = %v, want ErrNotPermitted", err)
	}
	if err := FillFields(ctx, bytes.NewReader(in), int64(len(in)), &out, map[string]string{"x": "y"}); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("fill after P=1: err = %v, want ErrNotPermitted", err)
	}
}
