package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"image"
	"image/color"
	"image/png"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/signing/devpki"
	"vanban/signing/pdf"
	"vanban/signing/signtest"
	"vanban/signing/verify"
)

// pdfCLI runs the vanban command line in process and returns the exit
// status and what it printed.
func pdfCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// pdfVerifyJSON runs "pdf verify --json" and decodes the report.
func pdfVerifyJSON(t *testing.T, args ...string) (int, *verify.Report) {
	t.Helper()
	code, stdout, stderr := pdfCLI(t, append([]string{"pdf", "verify", "--json"}, args...)...)
	var rep verify.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("pdf verify --json printed no JSON report (exit %d): %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
	}
	return code, &rep
}

// testP12Signer returns a "file:" signer URI for the committed test PKI's
// PKCS#12 file, with the password passed through the environment as in
// production.
func testP12Signer(t *testing.T) (uri string, pki signtest.PKI) {
	t.Helper()
	pki = signtest.TestPKI(t)
	t.Setenv("VANBAN_TEST_P12_PASS", pki.P12Password)
	return "file:" + pki.SignerP12 + "?pass-env=VANBAN_TEST_P12_PASS", pki
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustWrite(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sealImage is a red ring on a transparent background.
func sealImage(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			dx, dy := x-32, y-32
			if r := dx*dx + dy*dy; r < 30*30 && r > 24*24 {
				img.Set(x, y, color.NRGBA{200, 0, 0, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// otherCA writes a self-signed CA certificate that signed nothing in the
// tests: a trust anchor that must not make any signature valid.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Unrelated Root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return mustWrite(t, filepath.Join(t.TempDir(), "other-ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// flipInFirstRange flips one byte inside a content stream of the first
// signed byte range, so the file still parses but the digest is wrong.
func flipInFirstRange(t *testing.T, path string) []byte {
	t.Helper()
	ranges, err := signtest.SignedRanges(path)
	if err != nil || len(ranges) == 0 {
		t.Fatalf("signed ranges of %s: %v", path, err)
	}
	data := mustRead(t, path)
	first := data[:ranges[len(ranges)-1].ByteRange[1]]
	i := bytes.Index(first, []byte("stream\n"))
	if i < 0 {
		i = bytes.Index(first, []byte("stream\r\n"))
	}
	if i < 0 {
		t.Fatal("no stream in the signed range")
	}
	out := bytes.Clone(data)
	out[i+10] ^= 0x01
	return out
}

// TestPDFSignVerify signs a corpus file through the command line with a
// PKCS#12 key, visibly, and verifies it: TOTAL-PASSED with the right
// anchor, INDETERMINATE without one or with an unrelated one, TOTAL-FAILED
// after one byte changes.
func TestPDFSignVerify(t *testing.T) {
	signer, pki := testP12Signer(t)
	src := signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path
	dir := t.TempDir()
	out := filepath.Join(dir, "signed.pdf")
	img := mustWrite(t, filepath.Join(dir, "seal.png"), sealImage(t))

	code, stdout, stderr := pdfCLI(t, "pdf", "sign", "--in", src, "--out", out, "--signer", signer,
		"--reason", "Phê duyệt", "--location", "Hà Nội", "--page", "1", "--rect", "330,100,200,70", "--image", img)
	if code != 0 {
		t.Fatalf("pdf sign: exit %d\n%s%s", code, stdout, stderr)
	}
	if !bytes.HasPrefix(mustRead(t, out), mustRead(t, src)) {
		t.Fatal("the original is not a prefix of the signed file")
	}
	// An independent validator agrees before ours is asked.
	if res := signtest.PDFSig(t, out, pki.CAPEM); len(res) != 1 || !res[0].SignatureValid() || !res[0].TotalDocumentSigned {
		t.Fatalf("pdfsig: %+v", res)
	}

	code, stdout, stderr = pdfCLI(t, "pdf", "verify", "--in", out, "--trust", pki.CAPEM)
	if code != 0 {
		t.Fatalf("pdf verify: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"Chữ ký / Signature 1/1: Signature", "Nguyễn Văn Thử", "ETSI.CAdES.detached", "Phê duyệt", "Hà Nội",
		"toàn bộ tệp / whole file", "tin cậy / trusted", "Vanban Test Root CA", "B-B", "TOTAL-PASSED",
		"Thay đổi sau khi ký / Changes after signing: không có / none", "HỢP LỆ / VALID (1/1 TOTAL-PASSED)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, stdout)
		}
	}

	code, rep := pdfVerifyJSON(t, "--in", out, "--trust", pki.CAPEM)
	if code != 0 || len(rep.Signatures) != 1 {
		t.Fatalf("--json: exit %d, %d signatures", code, len(rep.Signatures))
	}
	s := rep.Signatures[0]
	if s.Indication != verify.TotalPassed || s.Level != "B-B" || !s.Coverage.WholeFile || !s.Integrity.MessageDigestOK ||
		s.Signer == nil || s.Signer.CommonName != "Nguyễn Văn Thử" || s.Reason != "Phê duyệt" {
		t.Fatalf("--json report: %+v", s)
	}

	t.Run("no-anchor", func(t *testing.T) {
		code, stdout, _ := pdfCLI(t, "pdf", "verify", "--in", out)
		if code != 1 || !strings.Contains(stdout, "INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND") {
			t.Fatalf("exit %d, want 1 and NO_CERTIFICATE_CHAIN_FOUND:\n%s", code, stdout)
		}
	})
	t.Run("unknown-anchor", func(t *testing.T) {
		code, rep := pdfVerifyJSON(t, "--in", out, "--trust", otherCA(t))
		if code != 1 || rep.Signatures[0].Indication != verify.Indeterminate || rep.Signatures[0].SubIndication != verify.NoCertificateChainFound {
			t.Fatalf("exit %d, %s/%s; want 1, INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND", code, rep.Signatures[0].Indication, rep.Signatures[0].SubIndication)
		}
	})
	t.Run("flipped-byte", func(t *testing.T) {
		bad := mustWrite(t, filepath.Join(t.TempDir(), "tampered.pdf"), flipInFirstRange(t, out))
		code, stdout, _ := pdfCLI(t, "pdf", "verify", "--in", bad, "--trust", pki.CAPEM)
		if code != 1 || !strings.Contains(stdout, "TOTAL-FAILED / HASH_FAILURE") || !strings.Contains(stdout, "LỖI / FAILED") {
			t.Fatalf("exit %d, want 1 and TOTAL-FAILED / HASH_FAILURE:\n%s", code, stdout)
		}
		code, rep := pdfVerifyJSON(t, "--in", bad, "--trust", pki.CAPEM)
		if code != 1 || rep.Signatures[0].Indication != verify.TotalFailed || rep.Signatures[0].Integrity.MessageDigestOK {
			t.Fatalf("--json: exit %d, %+v", code, rep.Signatures[0])
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		// "Is this signed document valid?" must not be answered yes for a
		// file with no signature at all.
		code, stdout, _ := pdfCLI(t, "pdf", "verify", "--in", src, "--trust", pki.CAPEM)
		if code != 1 || !strings.Contains(stdout, "No signatures") {
			t.Fatalf("exit %d, want 1:\n%s", code, stdout)
		}
	})
	t.Run("second-signature", func(t *testing.T) {
		// Signing again keeps the first signature valid; both pass.
		twice := filepath.Join(t.TempDir(), "twice.pdf")
		if code, _, stderr := pdfCLI(t, "pdf", "sign", "--in", out, "--out", twice, "--signer", signer, "--field", "DauCoQuan"); code != 0 {
			t.Fatalf("second pdf sign: exit %d\n%s", code, stderr)
		}
		code, rep := pdfVerifyJSON(t, "--in", twice, "--trust", pki.CAPEM)
		if code != 0 || len(rep.Signatures) != 2 || rep.Signatures[1].Field != "DauCoQuan" {
			t.Fatalf("exit %d, %+v", code, rep.Signatures)
		}
		if m := rep.Signatures[0].Modifications; !m.Permitted || len(m.Categories) == 0 {
			t.Fatalf("first signature's later changes: %+v", m)
		}
	})
}

// pdfDevPKI serves a development PKI (CA, OCSP, CRLs, TSA) on a loopback
// port and writes a signer's key and chain as PEM files.
func pdfDevPKI(t *testing.T) (p *devpki.PKI, signerURI, rootPEM string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err = devpki.New("http://"+ln.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: p.Handler()}}
	srv.Start()
	t.Cleanup(srv.Close)
	key, chain, err := p.IssueSigner("Trần Thị Ký", "UBND tỉnh Thành Long", devpki.KeyP256, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := mustWrite(t, filepath.Join(dir, "signer.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	var chainPEM []byte
	for _, c := range chain {
		chainPEM = append(chainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	chainPath := mustWrite(t, filepath.Join(dir, "chain.pem"), chainPEM)
	rootPEM = mustWrite(t, filepath.Join(dir, "root.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root().Raw}))
	return p, "file:" + keyPath + "?cert=" + chainPath, rootPEM
}

// TestPDFLevels signs at every PAdES level through the command line
// against a development PKI served over HTTP, and verifies each output:
// B-B and B-T need --online for revocation (the certificate names an OCSP
// responder and the document carries no status), B-LT and B-LTA pass
// offline from the /DSS. "pdf extend" brings a B-T file to B-LTA.
func TestPDFLevels(t *testing.T) {
	p, signer, root := pdfDevPKI(t)
	src := signtest.CorpusFileNamed(t, "pdftex.pdf").Path
	dir := t.TempDir()
	outputs := map[string]string{}
	for _, level := range []string{"B-B", "B-T", "B-LT", "B-LTA"} {
		out := filepath.Join(dir, level+".pdf")
		args := []string{"pdf", "sign", "--in", src, "--out", out, "--signer", signer, "--level", level}
		if level != "B-B" {
			args = append(args, "--tsa", p.TSAURL())
		}
		if level == "B-LT" || level == "B-LTA" {
			args = append(args, "--trust", root)
		}
		if code, stdout, stderr := pdfCLI(t, args...); code != 0 {
			t.Fatalf("pdf sign --level %s: exit %d\n%s%s", level, code, stdout, stderr)
		}
		outputs[level] = out
		if err := signtest.QPDFCheck(t, out); err != nil {
			t.Errorf("%s: %v", level, err)
		}

		offline, rep := pdfVerifyJSON(t, "--in", out, "--trust", root)
		online, repOnline := pdfVerifyJSON(t, "--in", out, "--trust", root, "--online")
		if online != 0 || repOnline.Signatures[0].Indication != verify.TotalPassed {
			t.Fatalf("%s online: exit %d, %+v", level, online, repOnline.Signatures[0])
		}
		s := rep.Signatures[0]
		switch level {
		case "B-B", "B-T":
			if offline != 1 || s.Indication != verify.Indeterminate || s.SubIndication != verify.TryLater {
				t.Errorf("%s offline: exit %d, %s/%s; want 1, INDETERMINATE/TRY_LATER", level, offline, s.Indication, s.SubIndication)
			}
		default:
			if offline != 0 || s.Indication != verify.TotalPassed {
				t.Errorf("%s offline: exit %d, %s/%s; want 0, TOTAL-PASSED", level, offline, s.Indication, s.SubIndication)
			}
		}
		if s.Level != level {
			t.Errorf("signed at %s, verify reports level %q", level, s.Level)
		}
		if level == "B-LTA" && (len(rep.Signatures) != 2 || rep.Signatures[1].Type != "document-timestamp") {
			t.Errorf("B-LTA: %d signatures, want the signature and a document time-stamp", len(rep.Signatures))
		}
	}

	_, stdout, _ := pdfCLI(t, "pdf", "verify", "--in", outputs["B-LTA"], "--trust", root)
	for _, want := range []string{"Dấu thời gian tài liệu / Document time-stamp 2/2", "ETSI.RFC3161", "B-LTA", "hợp lệ / valid", "trong tệp / from the document"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("B-LTA verify output lacks %q:\n%s", want, stdout)
		}
	}

	extended := filepath.Join(dir, "extended.pdf")
	if code, _, stderr := pdfCLI(t, "pdf", "extend", "--in", outputs["B-T"], "--out", extended, "--level", "B-LTA", "--tsa", p.TSAURL(), "--trust", root); code != 0 {
		t.Fatalf("pdf extend: exit %d\n%s", code, stderr)
	}
	code, rep := pdfVerifyJSON(t, "--in", extended, "--trust", root)
	if code != 0 || rep.Signatures[0].Level != "B-LTA" {
		t.Fatalf("extended to B-LTA: exit %d, level %q", code, rep.Signatures[0].Level)
	}
}

// TestPDFBadArguments: wrong usage exits 2 with a message, a file that
// cannot be read exits 1; nothing panics.
func TestPDFBadArguments(t *testing.T) {
	signer, _ := testP12Signer(t)
	src := signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path
	dir := t.TempDir()
	out := filepath.Join(dir, "out.pdf")
	notPEM := mustWrite(t, filepath.Join(dir, "not.pem"), []byte("not a certificate"))
	notPDF := mustWrite(t, filepath.Join(dir, "not.pdf"), []byte("hello, this is no PDF"))
	cases := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no subcommand", []string{"pdf"}, 2, "Usage: vanban pdf"},
		{"unknown subcommand", []string{"pdf", "stamp"}, 2, "Usage: vanban pdf"},
		{"verify without --in", []string{"pdf", "verify"}, 2, "--in is required"},
		{"verify unknown flag", []string{"pdf", "verify", "--in", src, "--bogus"}, 2, "flag provided but not defined"},
		{"verify extra argument", []string{"pdf", "verify", "--in", src, "extra"}, 2, "unexpected argument"},
		{"verify bad --at", []string{"pdf", "verify", "--in", src, "--at", "yesterday"}, 2, "--at"},
		{"verify unset --password-env", []string{"pdf", "verify", "--in", src, "--password-env", "VANBAN_TEST_SURELY_UNSET"}, 2, "is not set"},
		{"verify missing file", []string{"pdf", "verify", "--in", filepath.Join(dir, "missing.pdf")}, 1, "no such file"},
		{"verify directory", []string{"pdf", "verify", "--in", dir}, 1, "not a regular file"},
		{"verify not a PDF", []string{"pdf", "verify", "--in", notPDF}, 1, "unreadable PDF"},
		{"verify --trust not PEM", []string{"pdf", "verify", "--in", src, "--trust", notPEM}, 1, "no PEM certificate"},
		{"verify --trust missing", []string{"pdf", "verify", "--in", src, "--trust", filepath.Join(dir, "missing.pem")}, 1, "--trust"},
		{"sign without --signer", []string{"pdf", "sign", "--in", src, "--out", out}, 2, "--signer is required"},
		{"sign without --out", []string{"pdf", "sign", "--in", src, "--signer", signer}, 2, "give --in and --out"},
		{"sign --out-dir with --in", []string{"pdf", "sign", "--in", src, "--out-dir", filepath.Dir(out), "--signer", signer}, 2, "not --in or --out"},
		{"sign --out-dir without files", []string{"pdf", "sign", "--out-dir", filepath.Dir(out), "--signer", signer}, 2, "needs the PDFs"},
		{"sign --out-dir not a directory", []string{"pdf", "sign", "--out-dir", src, "--signer", signer, src}, 2, "not a directory"},
		{"sign into the input's directory", []string{"pdf", "sign", "--out-dir", filepath.Dir(src), "--signer", signer, src}, 2, "would replace it"},
		{"sign two files of one name", []string{"pdf", "sign", "--out-dir", filepath.Dir(out), "--signer", signer, src, src}, 2, "would both be signed"},
		{"sign bad level", []string{"pdf", "sign", "--in", src, "--out", out, "--signer", signer, "--level", "B-Q"}, 2, "--level"},
		{"sign bad rect", []string{"pdf", "sign", "--in", src, "--out", out, "--signer", signer, "--rect", "1,2,3"}, 2, "--rect"},
		{"sign negative rect", []string{"pdf", "sign", "--in", src, "--out", out, "--signer", signer, "--rect", "1,2,-3,4"}, 2, "--rect"},
		{"sign unknown scheme", []string{"pdf", "sign", "--in", src, "--out", out, "--signer", "nope:x"}, 1, "--signer"},
		{"sign B-LT without --trust", []string{"pdf", "sign", "--in", src, "--out", out, "--signer", signer, "--level", "B-LT", "--tsa", "http://127.0.0.1:1"}, 1, "need --trust"},
		{"extend without --out", []string{"pdf", "extend", "--in", src}, 2, "are required"},
		{"extend bad level", []string{"pdf", "extend", "--in", src, "--out", out, "--level", "LTA"}, 2, "--level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := pdfCLI(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, want %d; stderr should contain %q:\n%s", code, c.code, c.want, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("a failed command left %s (stat: %v)", out, err)
			}
		})
	}
	// --help is not an error.
	if code, _, stderr := pdfCLI(t, "pdf", "verify", "--help"); code != 0 || !strings.Contains(stderr, "Exit status") {
		t.Fatalf("--help: exit %d\n%s", code, stderr)
	}
}

// TestPDFSignAtomic: when signing fails, no output appears, an existing
// output is left as it was, and no temporary file stays behind.
func TestPDFSignAtomic(t *testing.T) {
	signer, _ := testP12Signer(t)
	src := signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path
	dir := t.TempDir()
	notPDF := mustWrite(t, filepath.Join(dir, "not.pdf"), []byte("%PDF-1.7\nthis is truncated"))
	newOut := filepath.Join(dir, "new.pdf")
	oldOut := mustWrite(t, filepath.Join(dir, "old.pdf"), []byte("previous content"))

	t.Setenv("VANBAN_TEST_WRONG_PASS", "wrong")
	wrongPass := strings.Replace(signer, "VANBAN_TEST_P12_PASS", "VANBAN_TEST_WRONG_PASS", 1)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"wrong password", []string{"--in", src, "--signer", wrongPass}},
		{"not a PDF", []string{"--in", notPDF, "--signer", signer}},
		{"page out of range", []string{"--in", src, "--signer", signer, "--page", "99", "--rect", "10,10,100,50"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, out := range []string{newOut, oldOut} {
				code, _, stderr := pdfCLI(t, append([]string{"pdf", "sign", "--out", out}, c.args...)...)
				if code == 0 {
					t.Fatalf("pdf sign succeeded")
				}
				if stderr == "" {
					t.Error("no message on stderr")
				}
			}
			if _, err := os.Stat(newOut); !os.IsNotExist(err) {
				t.Errorf("failed signing created %s", newOut)
			}
			if got := string(mustRead(t, oldOut)); got != "previous content" {
				t.Errorf("failed signing changed the existing output: %q", got)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".vanban-*"))
			if len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

// TestPDFSignMany: --out-dir signs many files in one process, each into
// the directory under its own name, each signature valid for pdfsig and
// qpdf; a file that cannot be signed is reported by name, leaves nothing
// behind, and does not stop the others, and the exit status says that one
// failed.
func TestPDFSignMany(t *testing.T) {
	signer, pki := testP12Signer(t)
	dir := t.TempDir()
	outDir := filepath.Join(dir, "signed")
	if err := os.Mkdir(outDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, name := range []string{"libreoffice-writer.pdf", "pdftex.pdf", "itext-signed.pdf", "qpdf-objstm.pdf"} {
		files = append(files, signtest.CorpusFileNamed(t, name).Path)
	}
	code, stdout, stderr := pdfCLI(t, append([]string{"pdf", "sign", "--signer", signer, "--reason", "Ban hành", "--out-dir", outDir}, files...)...)
	if code != 0 {
		t.Fatalf("pdf sign --out-dir: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range files {
		out := filepath.Join(outDir, filepath.Base(f))
		if !bytes.HasPrefix(mustRead(t, out), mustRead(t, f)) {
			t.Fatalf("%s: the original is not a prefix of the signed copy", f)
		}
		res := signtest.PDFSig(t, out, pki.CAPEM)
		if len(res) == 0 || !res[len(res)-1].SignatureValid() || !res[len(res)-1].TotalDocumentSigned {
			t.Errorf("%s: pdfsig %+v", filepath.Base(f), res)
		}
		if err := signtest.QPDFCheck(t, out); err != nil {
			t.Error(err)
		}
	}

	notPDF := mustWrite(t, filepath.Join(dir, "hong.pdf"), []byte("%PDF-1.7\ntruncated"))
	again := t.TempDir()
	code, _, stderr = pdfCLI(t, "pdf", "sign", "--signer", signer, "--out-dir", again, files[0], notPDF, files[1])
	if code == 0 {
		t.Fatal("a batch with an unreadable file succeeded")
	}
	if !strings.Contains(stderr, "hong.pdf") || !strings.Contains(stderr, "1 of 3 files not signed") {
		t.Errorf("stderr does not name the failed file and the count:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(again, "hong.pdf")); !os.IsNotExist(err) {
		t.Errorf("the failed file has an output: %v", err)
	}
	for _, f := range []string{files[0], files[1]} {
		if res := signtest.PDFSig(t, filepath.Join(again, filepath.Base(f)), pki.CAPEM); len(res) == 0 || !res[len(res)-1].SignatureValid() {
			t.Errorf("%s after the failure: pdfsig %+v", filepath.Base(f), res)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(again, ".vanban-*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestPDFVerifyPasswordEnv: a document with a user password opens only
// with --password-env. qpdf encrypts a signed file by rewriting it, so the
// signed bytes are no longer those the signer hashed: with the password
// the report reads the signature field (its name decrypted) and says the
// signed bytes moved; without it the command says a password is
// needed, and a wrong one is refused the same way. (A valid signature on a
// user-password document needs a signer that opens one: pades.Sign opens
// documents with the empty user password only.)
func TestPDFVerifyPasswordEnv(t *testing.T) {
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			t.Fatal("qpdf is not installed")
		}
		t.Skip("qpdf is not installed")
	}
	signer, pki := testP12Signer(t)
	dir := t.TempDir()
	signed := filepath.Join(dir, "signed.pdf")
	if code, stdout, stderr := pdfCLI(t, "pdf", "sign", "--in", signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path,
		"--out", signed, "--signer", signer); code != 0 {
		t.Fatalf("pdf sign: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, bits := range []string{"256", "128"} {
		t.Run("aes"+bits, func(t *testing.T) {
			enc := filepath.Join(t.TempDir(), "encrypted.pdf")
			args := []string{"--encrypt", "mật khẩu người đọc", "owner-" + bits, bits}
			if bits == "128" {
				args = append(args, "--use-aes=y")
			}
			args = append(args, "--", signed, enc)
			if out, err := exec.Command(qpdf, args...).CombinedOutput(); err != nil {
				t.Fatalf("qpdf: %v\n%s", err, out)
			}
			if out, err := exec.Command(qpdf, "--show-encryption", "--password=mật khẩu người đọc", enc).CombinedOutput(); err != nil ||
				!strings.Contains(string(out), "AES") {
				t.Fatalf("qpdf --show-encryption: %v\n%s", err, out)
			}

			code, stdout, stderr := pdfCLI(t, "pdf", "verify", "--in", enc, "--trust", pki.CAPEM)
			if code != 1 || !strings.Contains(stdout+stderr, "password") {
				t.Fatalf("without a password: exit %d\n%s%s", code, stdout, stderr)
			}
			t.Setenv("VANBAN_TEST_PDF_PASSWORD", "không phải mật khẩu")
			code, stdout, stderr = pdfCLI(t, "pdf", "verify", "--in", enc, "--password-env", "VANBAN_TEST_PDF_PASSWORD")
			if code != 1 || !strings.Contains(stdout+stderr, "password") {
				t.Fatalf("with a wrong password: exit %d\n%s%s", code, stdout, stderr)
			}

			t.Setenv("VANBAN_TEST_PDF_PASSWORD", "mật khẩu người đọc")
			code, rep := pdfVerifyJSON(t, "--in", enc, "--trust", pki.CAPEM, "--password-env", "VANBAN_TEST_PDF_PASSWORD")
			if code != 1 || len(rep.Signatures) != 1 {
				t.Fatalf("with the password: exit %d, %d signatures", code, len(rep.Signatures))
			}
			// The field name is an encrypted string: read as signed, it
			// proves the document was decrypted. The rewrite moved the
			// signed bytes, which the report says.
			s := rep.Signatures[0]
			if s.Field != "Signature1" || s.Indication != verify.TotalFailed || s.SubIndication != verify.FormatFailure ||
				len(s.Errors) == 0 || !strings.Contains(s.Errors[0], "/ByteRange") {
				js, _ := json.MarshalIndent(s, "", "  ")
				t.Fatalf("the rewritten signature: %s", js)
			}
		})
	}
}

// TestPDFVerifyVisual: an annotation added after an approval signature
// is a permitted change; when its appearance covers the page's text,
// --visual (the default) says what changed where.
func TestPDFVerifyVisual(t *testing.T) {
	signer, pki := testP12Signer(t)
	dir := t.TempDir()
	signed := filepath.Join(dir, "signed.pdf")
	if code, stdout, stderr := pdfCLI(t, "pdf", "sign", "--in", signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path,
		"--out", signed, "--signer", signer); code != 0 {
		t.Fatalf("pdf sign: exit %d\n%s%s", code, stdout, stderr)
	}
	src := mustRead(t, signed)
	r, err := pdf.Open(bytes.NewReader(src), int64(len(src)), nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	u := pdf.NewUpdate(r)
	apDict := pdf.NewDict()
	apDict.Set("Type", pdf.Name("XObject"))
	apDict.Set("Subtype", pdf.Name("Form"))
	apDict.Set("BBox", pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(300), pdf.Integer(100)})
	ap := u.Add(pdf.NewStream(apDict, []byte("1 1 1 rg 0 0 300 100 re f 0 0 1 rg 20 20 260 60 re f")))
	annot := pdf.NewDict()
	annot.Set("Type", pdf.Name("Annot"))
	annot.Set("Subtype", pdf.Name("Square"))
	annot.Set("F", pdf.Integer(4))
	box := page.CropBox
	annot.Set("Rect", pdf.Array{pdf.Real(box[0] + 60), pdf.Real(box[3] - 240), pdf.Real(box[0] + 360), pdf.Real(box[3] - 140)})
	annot.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: ap}))
	pd := page.Dict.Clone()
	annots, _ := r.ResolveArray(pd.Get("Annots"))
	pd.Set("Annots", append(append(pdf.Array{}, annots...), u.Add(annot)))
	if err := u.Replace(page.Ref, pd); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := u.Write(&out); err != nil {
		t.Fatal(err)
	}
	shadowed := mustWrite(t, filepath.Join(dir, "shadowed.pdf"), out.Bytes())

	_, stdout, stderr := pdfCLI(t, "pdf", "verify", "--in", shadowed, "--trust", pki.CAPEM)
	if !strings.Contains(stdout, "Kiểm tra hiển thị / Visual check") || !strings.Contains(stdout, "KHÁC / CHANGED: trang / page 1, r3") {
		t.Fatalf("--visual output:\n%s%s", stdout, stderr)
	}
	_, rep := pdfVerifyJSON(t, "--in", shadowed, "--trust", pki.CAPEM)
	if m := rep.Signatures[0].Modifications; !m.Permitted || len(m.Visual) != 1 || m.Visual[0].Page != 1 {
		t.Fatalf("--json: %+v", m)
	}
	_, rep = pdfVerifyJSON(t, "--in", shadowed, "--trust", pki.CAPEM, "--visual=false")
	if m := rep.Signatures[0].Modifications; m.VisualChecked || len(m.Visual) != 0 {
		t.Fatalf("--visual=false: %+v", m)
	}
}
