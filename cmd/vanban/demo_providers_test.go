package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"vanban/signing/signtest"
)

// runDemoWithProvider runs the demo against an embedded server with the
// leader signing through the named simulated remote-signing provider, over
// real HTTP, and checks the final PDF with pdfsig and qpdf.
func runDemoWithProvider(t *testing.T, provider string) string {
	t.Helper()
	clearServeEnv(t)
	t.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-demo")
	dataDir := t.TempDir()
	var out, errb lockedBuffer
	if code := run(context.Background(), []string{"init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân xã Thành Long", "--place", "Thành Long", "--data-dir", dataDir}, &out, &errb); code != 0 {
		t.Fatalf("init: %d\n%s\n%s", code, &out, &errb)
	}
	s := serveVanban(t, "--data-dir", dataDir)
	final := filepath.Join(t.TempDir(), "final.pdf")
	out = lockedBuffer{}
	if code := run(context.Background(), []string{"demo", "--url", s.URL, "--out", final, "--provider", provider}, &out, &errb); code != 0 {
		t.Fatalf("demo: %d\n%s\nserver log:\n%s", code, &out, s.stderr)
	}
	text := out.String()
	for _, want := range []string{"the leader signs with " + provider, "leader signed on the phone", "issued", "done: both signatures TOTAL-PASSED"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// The demo archives the document: the leader's, the seal and the
	// document time-stamp (which poppler does not judge).
	sigs := signtest.PDFSig(t, final)
	if len(sigs) != 3 {
		t.Fatalf("pdfsig sees %d signatures, want the leader's, the seal and the document time-stamp", len(sigs))
	}
	for _, sig := range sigs[:2] {
		if !sig.SignatureValid() {
			t.Errorf("pdfsig: signature %s: %s", sig.Field, sig.SignatureValidation)
		}
	}
	if err := signtest.QPDFCheck(t, final); err != nil {
		t.Error(err)
	}
	return s.stderr.String()
}

// TestDemoSmartCA: the whole outgoing flow with the leader on VNPT SmartCA
// (the embedded simulator, which also calls the server back).
func TestDemoSmartCA(t *testing.T) {
	runDemoWithProvider(t, "smartca")
}

// TestDemoMySign: the whole outgoing flow with the leader on Viettel MySign.
func TestDemoMySign(t *testing.T) {
	runDemoWithProvider(t, "mysign")
}

// TestDemoESignCloud: the whole outgoing flow with the leader on FPT CA
// eSignCloud, the relying party authenticated with its PKCS#12 key.
func TestDemoESignCloud(t *testing.T) {
	runDemoWithProvider(t, "esigncloud")
}

// TestDemoGovernmentCA: the same with the Government CA's mobile PKI.
func TestDemoGovernmentCA(t *testing.T) {
	runDemoWithProvider(t, "vgca")
}
