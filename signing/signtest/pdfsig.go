package signtest

import (
	"bufio"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PDFSigResult is poppler's pdfsig verdict on one signature.
type PDFSigResult struct {
	// Number is pdfsig's 1-based signature number, in the document's field order.
	Number   int
	Field    string
	SignerCN string
	SignerDN string
	// SigningTimeText is the "Signing Time" text; SigningTime its value in UTC (pdfsig runs with
	// TZ=UTC), zero when absent or not parseable.
	SigningTimeText string
	SigningTime     time.Time
	Hash            string // e.g. "SHA-256"
	SignatureType   string // the SubFilter, e.g. "ETSI.CAdES.detached"
	// Ranges are the signed ranges as pdfsig prints them: [start, end] byte offsets.
	Ranges [][2]int64
	// TotalDocumentSigned is true for "Total document signed", false for "Not total document signed".
	TotalDocumentSigned bool
	// SignatureValidation and CertificateValidation are pdfsig's texts, e.g. "Signature is Valid."
	// and "Certificate is Trusted.". CertificateValidation is empty when pdfsig skipped it (it does
	// so after a digest mismatch).
	SignatureValidation   string
	CertificateValidation string
	// Fields holds every "- key: value" line, for details this struct does not name.
	Fields map[string]string
}

// pdfsig's exact verdict texts (poppler 22.12).
const (
	PDFSigSignatureValid      = "Signature is Valid."
	PDFSigDigestMismatch      = "Digest Mismatch."
	PDFSigCertTrusted         = "Certificate is Trusted."
	PDFSigCertIssuerUntrusted = "Certificate issuer isn't Trusted."
)

// SignatureValid reports whether pdfsig found the digest and the CMS signature correct.
func (r PDFSigResult) SignatureValid() bool { return r.SignatureValidation == PDFSigSignatureValid }

// CertificateTrusted reports whether pdfsig chained the signer to a trusted certificate.
func (r PDFSigResult) CertificateTrusted() bool { return r.CertificateValidation == PDFSigCertTrusted }

// PDFSig runs pdfsig on file with a fresh NSS database in which each PEM file of trustPEMs is
// imported as a trusted CA, and returns one result per signature (none for an unsigned file).
//
// OCSP stays enabled: poppler 22.12 reports every certificate as "Unknown issue" with -no-ocsp,
// and our test certificates carry no AIA, so no network request is made for them.
//
// The certificates embedded in the file's signatures are also imported, untrusted (flags ",,"):
// poppler 22.12 otherwise reports "Unknown issue with Certificate" for the second of two
// signatures that carry the same certificate in differently built CMS structures (iText, then
// PDFBox). Importing them adds no trust: the chain must still end at one of trustPEMs.
func PDFSig(tb testing.TB, file string, trustPEMs ...string) []PDFSigResult {
	tb.Helper()
	results, err := RunPDFSig(tb, file, trustPEMs...)
	if err != nil {
		tb.Fatal(err)
	}
	return results
}

// RunPDFSig is PDFSig for inputs that pdfsig may refuse (damaged files in negative tests): it
// returns a *ToolError when pdfsig fails on the file instead of failing the test. A missing tool
// still skips (or fails under VANBAN_REQUIRE_SERVICES=1).
func RunPDFSig(tb testing.TB, file string, trustPEMs ...string) ([]PDFSigResult, error) {
	tb.Helper()
	nssDir := newNSSDB(tb, trustPEMs)
	importEmbeddedCerts(tb, nssDir, file, trustPEMs)
	res, err := run(tb, []string{"TZ=UTC"}, "pdfsig", "-nssdir", "sql:"+nssDir, file)
	if err != nil {
		return nil, err
	}
	// Exit 2 with this message is pdfsig's way of saying "unsigned"; any other failure is real.
	if res.exitCode == 2 && strings.Contains(res.stdout+res.stderr, "does not contain any signatures") {
		return nil, nil
	}
	if res.exitCode != 0 {
		return nil, &ToolError{Tool: "pdfsig", File: file, ExitCode: res.exitCode, Output: res.stdout + res.stderr}
	}
	results, err := ParsePDFSig(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("%w\npdfsig output:\n%s", err, res.stdout)
	}
	return results, nil
}

// newNSSDB creates an NSS database in a test temp directory with the given CA certificates
// trusted for signing (trust flags CT,C,C as certutil writes them).
func newNSSDB(tb testing.TB, trustPEMs []string) string {
	tb.Helper()
	dir := tb.TempDir()
	if res, err := run(tb, nil, "certutil", "-N", "-d", "sql:"+dir, "--empty-password"); err != nil || res.exitCode != 0 {
		tb.Fatalf("certutil -N: %v %s%s", err, res.stdout, res.stderr)
	}
	for i, pem := range trustPEMs {
		if _, err := os.Stat(pem); err != nil {
			tb.Fatalf("signtest: trust anchor: %v", err)
		}
		nick := fmt.Sprintf("trusted-%d-%s", i, filepath.Base(pem))
		res, err := run(tb, nil, "certutil", "-A", "-d", "sql:"+dir, "-n", nick, "-t", "CT,C,C", "-a", "-i", pem)
		if err != nil || res.exitCode != 0 {
			tb.Fatalf("certutil -A %s: %v %s%s", pem, err, res.stdout, res.stderr)
		}
	}
	return dir
}

// importEmbeddedCerts adds the certificates of every signature in file to the NSS database
// without trust. A file whose signatures cannot be extracted is left to pdfsig to judge.
func importEmbeddedCerts(tb testing.TB, nssDir, file string, trustPEMs []string) {
	tb.Helper()
	ranges, err := SignedRanges(file)
	if err != nil {
		return
	}
	seen := make(map[[32]byte]bool)
	for _, p := range trustPEMs {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		for _, der := range pemCertificates(data) {
			seen[sha256.Sum256(der)] = true
		}
	}
	dir := tb.TempDir()
	for i, r := range ranges {
		cmsPath := filepath.Join(dir, fmt.Sprintf("sig%d.der", i))
		if err := os.WriteFile(cmsPath, r.CMS, 0o600); err != nil {
			tb.Fatal(err)
		}
		res, err := run(tb, nil, "openssl", "pkcs7", "-inform", "DER", "-in", cmsPath, "-print_certs")
		if err != nil || res.exitCode != 0 {
			tb.Logf("signtest: cannot list certificates of signature %d in %s: %v %s", i+1, file, err, res.stderr)
			continue
		}
		for j, der := range pemCertificates([]byte(res.stdout)) {
			sum := sha256.Sum256(der)
			if seen[sum] {
				continue
			}
			seen[sum] = true
			certPath := filepath.Join(dir, fmt.Sprintf("sig%d-cert%d.der", i, j))
			if err := os.WriteFile(certPath, der, 0o600); err != nil {
				tb.Fatal(err)
			}
			nick := fmt.Sprintf("embedded-%x", sum[:8])
			if res, err := run(tb, nil, "certutil", "-A", "-d", "sql:"+nssDir, "-n", nick, "-t", ",,", "-i", certPath); err != nil || res.exitCode != 0 {
				tb.Logf("signtest: certutil could not import an embedded certificate: %v %s", err, res.stderr)
			}
		}
	}
}

// pemCertificates returns the DER of every CERTIFICATE block in data.
func pemCertificates(data []byte) [][]byte {
	var out [][]byte
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		if block.Type == "CERTIFICATE" {
			out = append(out, block.Bytes)
		}
	}
}

// ParsePDFSig parses pdfsig's report. It accepts the output of poppler 22.x and later, which
// prints "Signature #N:" headers followed by "  - Key: value" lines.
func ParsePDFSig(out string) ([]PDFSigResult, error) {
	var results []PDFSigResult
	var cur *PDFSigResult
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(text, "Signature #"):
			numText := strings.TrimSuffix(strings.TrimPrefix(text, "Signature #"), ":")
			n, err := strconv.Atoi(numText)
			if err != nil {
				return nil, fmt.Errorf("signtest: pdfsig line %d: bad signature header %q", line, text)
			}
			results = append(results, PDFSigResult{Number: n, Fields: map[string]string{}})
			cur = &results[len(results)-1]
		case strings.HasPrefix(text, "  - "):
			if cur == nil {
				return nil, fmt.Errorf("signtest: pdfsig line %d: detail before any signature header", line)
			}
			if err := cur.setLine(strings.TrimPrefix(text, "  - ")); err != nil {
				return nil, fmt.Errorf("signtest: pdfsig line %d: %w", line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("signtest: reading pdfsig output: %w", err)
	}
	return results, nil
}

func (r *PDFSigResult) setLine(s string) error {
	// Two lines have no "key: value" form.
	switch s {
	case "Total document signed":
		r.TotalDocumentSigned = true
		r.Fields[s] = ""
		return nil
	case "Not total document signed":
		r.TotalDocumentSigned = false
		r.Fields[s] = ""
		return nil
	}
	key, value, ok := strings.Cut(s, ": ")
	if !ok {
		key, value = strings.TrimSuffix(s, ":"), ""
	}
	r.Fields[key] = value
	switch key {
	case "Signature Field Name":
		r.Field = value
	case "Signer Certificate Common Name":
		r.SignerCN = value
	case "Signer full Distinguished Name":
		r.SignerDN = value
	case "Signing Time":
		r.SigningTimeText = value
		if t, err := time.ParseInLocation("Jan 02 2006 15:04:05", value, time.UTC); err == nil {
			r.SigningTime = t
		}
	case "Signing Hash Algorithm":
		r.Hash = value
	case "Signature Type":
		r.SignatureType = value
	case "Signed Ranges":
		ranges, err := parsePDFSigRanges(value)
		if err != nil {
			return err
		}
		r.Ranges = ranges
	case "Signature Validation":
		r.SignatureValidation = value
	case "Certificate Validation":
		r.CertificateValidation = value
	}
	return nil
}

// parsePDFSigRanges parses "[0 - 46836], [63222 - 64811]".
func parsePDFSigRanges(s string) ([][2]int64, error) {
	var out [][2]int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "[") || !strings.HasSuffix(part, "]") {
			return nil, fmt.Errorf("bad signed range %q", part)
		}
		a, b, ok := strings.Cut(part[1:len(part)-1], " - ")
		if !ok {
			return nil, fmt.Errorf("bad signed range %q", part)
		}
		start, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
		end, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if err1 != nil || err2 != nil || start < 0 || end < start {
			return nil, fmt.Errorf("bad signed range %q", part)
		}
		out = append(out, [2]int64{start, end})
	}
	return out, nil
}
