package signtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// OpenSSLCMSVerify checks a detached CMS signature with openssl cms -verify over the content in
// signedContentPath, trusting caPEM. -purpose any lets document-signing certificates pass without
// the S/MIME key-usage rules. It returns nil when openssl says "Verification successful", or a
// *ToolError with openssl's messages.
func OpenSSLCMSVerify(tb testing.TB, cmsDER []byte, signedContentPath, caPEM string) error {
	tb.Helper()
	sigPath := filepath.Join(tb.TempDir(), "signature.der")
	if err := os.WriteFile(sigPath, cmsDER, 0o600); err != nil {
		tb.Fatal(err)
	}
	res, err := run(tb, nil, "openssl", "cms", "-verify", "-binary", "-inform", "DER",
		"-in", sigPath, "-content", signedContentPath, "-CAfile", caPEM, "-purpose", "any",
		"-out", os.DevNull)
	if err != nil {
		tb.Fatal(err)
	}
	out := res.stdout + res.stderr
	if res.exitCode != 0 || !strings.Contains(out, "Verification successful") {
		return &ToolError{Tool: "openssl cms -verify", File: signedContentPath, ExitCode: res.exitCode, Output: out}
	}
	return nil
}

// OpenSSLTSVerify checks an RFC 3161 time-stamp token (DER ContentInfo) over the data in
// dataPath with openssl ts -verify, trusting caPEM. openssl also requires the TSA certificate to
// have the critical timeStamping extended key usage. It returns nil when openssl says
// "Verification: OK", or a *ToolError.
func OpenSSLTSVerify(tb testing.TB, tokenDER []byte, dataPath, caPEM string) error {
	tb.Helper()
	tokenPath := filepath.Join(tb.TempDir(), "token.der")
	if err := os.WriteFile(tokenPath, tokenDER, 0o600); err != nil {
		tb.Fatal(err)
	}
	res, err := run(tb, nil, "openssl", "ts", "-verify", "-data", dataPath, "-in", tokenPath, "-token_in", "-CAfile", caPEM)
	if err != nil {
		tb.Fatal(err)
	}
	out := res.stdout + res.stderr
	if res.exitCode != 0 || !strings.Contains(out, "Verification: OK") {
		return &ToolError{Tool: "openssl ts -verify", File: dataPath, ExitCode: res.exitCode, Output: out}
	}
	return nil
}

// OpenSSLVerifyLastSignature extracts the last signature of a PDF with
// ExtractByteRangeAndContents and checks it with OpenSSLCMSVerify, or with OpenSSLTSVerify when it
// is a document time-stamp (SubFilter ETSI.RFC3161).
func OpenSSLVerifyLastSignature(tb testing.TB, pdf, caPEM string) error {
	tb.Helper()
	ranges, err := SignedRanges(pdf)
	if err != nil {
		return err
	}
	return OpenSSLVerifySignature(tb, pdf, ranges[len(ranges)-1], caPEM)
}

// OpenSSLVerifySignature checks one signature found by SignedRanges, as
// OpenSSLVerifyLastSignature does for the last one.
func OpenSSLVerifySignature(tb testing.TB, pdf string, sig SignedRange, caPEM string) error {
	tb.Helper()
	contentPath := filepath.Join(tb.TempDir(), "signed-content.bin")
	f, err := os.Create(contentPath)
	if err != nil {
		tb.Fatal(err)
	}
	if err := WriteSignedContent(f, pdf, sig.ByteRange); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if sig.SubFilter == "ETSI.RFC3161" {
		return OpenSSLTSVerify(tb, sig.CMS, contentPath, caPEM)
	}
	return OpenSSLCMSVerify(tb, sig.CMS, contentPath, caPEM)
}
