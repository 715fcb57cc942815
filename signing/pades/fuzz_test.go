package pades

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"vanban/signing/pades/appearance"
	"vanban/signing/signtest"
)

// fuzzChain is a throwaway ECDSA certificate: Prepare needs a chain but no
// key.
func fuzzChain(t testing.TB) []*x509.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return []*x509.Certificate{c}
}

var sentinels = []error{ErrNotPDF, ErrUserPassword, ErrUnsupported, ErrOptions, ErrField, ErrNotPermitted}

// FuzzPrepare feeds mutated small PDFs to Prepare (with a visible
// signature and extra fields, to reach the form and page code). It must
// never panic; it either fails with one of our typed errors or writes a
// file that starts with the input.
func FuzzPrepare(f *testing.F) {
	for _, name := range []string{"chromium.pdf", "libreoffice-form.pdf", "pdftex.pdf", "hybrid.pdf"} {
		f.Add(readFile(f, signtest.CorpusFileNamed(f, name).Path))
	}
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000056 00000 n \n0000000111 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n180\n%%EOF\n"))
	chain := fuzzChain(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<20 {
			return
		}
		var out bytes.Buffer
		st, err := Prepare(context.Background(), bytes.NewReader(in), int64(len(in)), &out, Options{
			Chain:      chain,
			Appearance: &Appearance{Rect: Rect{10, 10, 110, 40}, Lines: []string{"Ký bởi"}},
			Fields:     []ExtraField{{Name: "So", Kind: TextField, Rect: Rect{10, 50, 110, 70}, Align: appearance.AlignRight}},
		})
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		if !bytes.HasPrefix(out.Bytes(), in) {
			t.Fatal("prepared file does not start with the input")
		}
		if int64(out.Len()) != st.PreparedSize || st.validate() != nil {
			t.Fatalf("state does not describe the output: %v", st.validate())
		}
	})
}
