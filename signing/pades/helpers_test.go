package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"image/png"
	"math/big"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"vanban/signing/signtest"
	"vanban/signing/tsa"
)

// testSigner is the committed test PKI's signer (RSA-2048).
type testSigner struct {
	key   crypto.Signer
	chain []*x509.Certificate
	caPEM string
}

func loadTestSigner(t testing.TB) testSigner {
	t.Helper()
	pki := signtest.TestPKI(t)
	keyPEM, err := os.ReadFile(pki.SignerKey)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		t.Fatal("signer key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for _, p := range []string{pki.SignerPEM, pki.CAPEM} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(data)
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	return testSigner{key: k.(crypto.Signer), chain: chain, caPEM: pki.CAPEM}
}

// testCA is an in-memory CA for keys the committed PKI lacks (ECDSA
// signers, the TSA).
type testCA struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pem  string // path of the CA certificate
}

func newTestCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Vanban Test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{key: key, cert: cert, pem: path}
}

var serial int64 = 100

func (ca *testCA) issue(t testing.TB, cn, org string, eku []x509.ExtKeyUsage) (*ecdsa.PrivateKey, []*x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:  eku,
	}
	if len(eku) == 1 && eku[0] == x509.ExtKeyUsageTimeStamping {
		// RFC 3161 requires the timeStamping EKU to be critical; Go marks
		// it non-critical, so add it by hand.
		ekuDER, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
		tmpl.ExtKeyUsage = nil
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: ekuDER}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, []*x509.Certificate{cert, ca.cert}
}

// newTSA starts the dev TSA on an httptest server and returns a client.
func newTSA(t testing.TB) (*tsa.Client, *testCA) {
	t.Helper()
	ca := newTestCA(t, "Vanban Test TSA CA")
	key, chain := ca.issue(t, "Vanban Test TSA", "Vanban Test", []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping})
	srv := httptest.NewServer(tsa.NewServer(key, chain, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}))
	t.Cleanup(srv.Close)
	return &tsa.Client{URL: srv.URL, HTTPClient: srv.Client()}, ca
}

// signFile signs the file at path and writes the result next to it in a
// temp dir, returning the output path.
func signFile(t testing.TB, path string, s testSigner, opts Options) string {
	t.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, s.key, s.chain, opts); err != nil {
		t.Fatalf("Sign(%s): %v", filepath.Base(path), err)
	}
	if !bytes.HasPrefix(out.Bytes(), in) {
		t.Fatalf("%s: the original is not a prefix of the signed file", filepath.Base(path))
	}
	dst := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".pdf")+"-signed.pdf")
	if err := os.WriteFile(dst, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// checkSigned runs the independent validators on a signed file: pdfsig
// (every signature valid, the last one covering the whole file), qpdf
// --check, and openssl cms -verify on the last signature.
func checkSigned(t *testing.T, path string, wantSigs int, trust ...string) []signtest.PDFSigResult {
	t.Helper()
	var res []signtest.PDFSigResult
	for _, r := range signtest.PDFSig(t, path, trust...) {
		if len(r.Ranges) > 0 { // empty signature fields are listed too
			res = append(res, r)
		}
	}
	if len(res) != wantSigs {
		t.Fatalf("%s: pdfsig found %d signatures, want %d", filepath.Base(path), len(res), wantSigs)
	}
	var ranges []signtest.SignedRange
	for i, r := range res {
		if r.SignatureValid() {
			continue
		}
		// poppler cannot validate ETSI.RFC3161 document time-stamps (a
		// documented corpus quirk); openssl ts judges those instead.
		if ranges == nil {
			ranges, _ = signtest.SignedRanges(path)
		}
		if i < len(ranges) && ranges[i].SubFilter == "ETSI.RFC3161" && len(trust) > 0 {
			if err := signtest.OpenSSLVerifySignature(t, path, ranges[i], trust[0]); err != nil {
				t.Errorf("%s: document time-stamp %d (%s): openssl: %v", filepath.Base(path), i+1, r.Field, err)
			}
			continue
		}
		t.Errorf("%s: signature %d (%s) not valid: %q", filepath.Base(path), i+1, r.Field, r.SignatureValidation)
	}
	if !res[len(res)-1].TotalDocumentSigned {
		t.Errorf("%s: the last signature does not cover the whole document", filepath.Base(path))
	}
	if err := signtest.QPDFCheck(t, path); err != nil {
		t.Errorf("%s: %v", filepath.Base(path), err)
	}
	if len(trust) > 0 {
		// openssl takes one CA file: concatenate the trusted roots.
		var all []byte
		for _, p := range trust {
			all = append(all, readFile(t, p)...)
		}
		if err := signtest.OpenSSLVerifyLastSignature(t, path, writeTemp(t, "trust.pem", all)); err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
	}
	return res
}

// pdftotext returns the text of one page as mutool extracts it, widget
// appearances included (poppler's pdftotext skips annotations).
func pdftotext(t testing.TB, path string, page int) string {
	t.Helper()
	mutool := signtest.RequireTool(t, "mutool")
	out, err := exec.Command(mutool, "draw", "-q", "-F", "txt", "-o", "-", path, strconv.Itoa(page)).CombinedOutput()
	if err != nil {
		t.Fatalf("mutool draw: %v\n%s", err, out)
	}
	return string(out)
}

// compareOutsideRect renders both files at 36 dpi with poppler and requires
// every pixel of every page to be identical except inside rect on page
// (1-based), where at least some pixels must differ (the appearance is
// visible). A form with /NeedAppearances true makes poppler redraw every
// field itself, the signature box empty: the outside stays poppler's test,
// the inside is then judged on MuPDF's rendering, which draws the
// appearance we wrote. It assumes unrotated pages whose MediaBox starts at
// the origin, which holds for the corpus.
func compareOutsideRect(t *testing.T, before, after string, page int, rect Rect) {
	t.Helper()
	const dpi = 36
	outside, inside := diffPixels(t, signtest.RenderPages(t, before, dpi), signtest.RenderPages(t, after, dpi), dpi, page, rect)
	for i, n := range outside {
		if n > 0 {
			t.Errorf("page %d: %d pixels changed outside the signature rectangle", i+1, n)
		}
	}
	if inside == 0 {
		orig, err := os.ReadFile(before)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(orig, []byte("/NeedAppearances true")) {
			_, inside = diffPixels(t, signtest.RenderPagesMuPDF(t, before, dpi), signtest.RenderPagesMuPDF(t, after, dpi), dpi, page, rect)
		}
	}
	if inside == 0 {
		t.Errorf("page %d: the signature appearance changed no pixel", page)
	}
}

// diffPixels counts, per page, the pixels that differ outside rect, and the
// pixels that differ inside rect on page.
func diffPixels(t *testing.T, a, b [][]byte, dpi, page int, rect Rect) (outside []int, inside int) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d pages before, %d after", len(a), len(b))
	}
	outside = make([]int, len(a))
	for i := range a {
		ia, err := png.Decode(bytes.NewReader(a[i]))
		if err != nil {
			t.Fatal(err)
		}
		ib, err := png.Decode(bytes.NewReader(b[i]))
		if err != nil {
			t.Fatal(err)
		}
		if ia.Bounds() != ib.Bounds() {
			t.Fatalf("page %d: size changed", i+1)
		}
		h := ia.Bounds().Dy()
		scale := float64(dpi) / 72
		in := func(x, y int) bool {
			const margin = 2
			return i+1 == page &&
				float64(x) >= rect.LLX*scale-margin && float64(x) <= rect.URX*scale+margin &&
				float64(y) >= float64(h)-rect.URY*scale-margin && float64(y) <= float64(h)-rect.LLY*scale+margin
		}
		for y := 0; y < h; y++ {
			for x := 0; x < ia.Bounds().Dx(); x++ {
				r1, g1, b1, _ := ia.At(x, y).RGBA()
				r2, g2, b2, _ := ib.At(x, y).RGBA()
				if r1 == r2 && g1 == g2 && b1 == b2 {
					continue
				}
				if in(x, y) {
					inside++
				} else {
					outside[i]++
				}
			}
		}
	}
	return outside, inside
}
