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

// OpenSSLVerifyLastSignature extracts the last signature of a PDF with
// ExtractByteRangeAndContents and checks it with OpenSSLCMSVerify.
func OpenSSLVerifyLastSignature(tb testing.TB, pdf, caPEM string) error {
	tb.Helper()
	content, cms, err := ExtractByteRangeAndContents(pdf)
	if err != nil {
		return err
	}
	contentPath := filepath.Join(tb.TempDir(), "signed-content.bin")
	if err := os.WriteFile(contentPath, content, 0o600); err != nil {
		tb.Fatal(err)
	}
	return OpenSSLCMSVerify(tb, cms, contentPath, caPEM)
}
