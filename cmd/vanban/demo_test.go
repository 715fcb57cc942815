package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/store/pgtest"
	"vanban/signing/signtest"
	"vanban/signing/verify"
	"vanban/storage/s3/s3test"
)

// TestMain stops the PostgreSQL cluster and MinIO server the helpers may
// have started for this package.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	s3test.Stop()
	os.Exit(code)
}

// runDemoAgainst initialises an organization in the server's database,
// serves vanban with the given flags and drives the demo over HTTP. The
// final PDF must satisfy the independent validators too.
func runDemoAgainst(t *testing.T, serveFlags ...string) {
	t.Helper()
	clearServeEnv(t)
	t.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-demo")
	var out, errb lockedBuffer
	initArgs := append([]string{"init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân xã Thành Long", "--place", "Thành Long"}, serveFlags...)
	if code := run(context.Background(), initArgs, &out, &errb); code != 0 {
		t.Fatalf("init: %d\n%s\n%s", code, &out, &errb)
	}
	s := serveVanban(t, serveFlags...)
	final := filepath.Join(t.TempDir(), "final.pdf")
	out = lockedBuffer{}
	if code := run(context.Background(), []string{"demo", "--url", s.URL, "--out", final}, &out, &errb); code != 0 {
		t.Fatalf("demo: %d\n%s\nserver log:\n%s", code, &out, s.stderr)
	}
	text := out.String()
	for _, want := range []string{"leader signed on the phone", "Số 01/QĐ-UBND", "issued", "archived", "done: both signatures TOTAL-PASSED"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// Tools we did not write agree: both signatures valid, the seal
	// covers the whole file, the structure is sound.
	sigs := signtest.PDFSig(t, final)
	if len(sigs) != 2 {
		t.Fatalf("pdfsig sees %d signatures", len(sigs))
	}
	for _, sig := range sigs {
		if !sig.SignatureValid() {
			t.Errorf("pdfsig: signature %s: %s", sig.Field, sig.SignatureValidation)
		}
	}
	// The seal is B-LT: only its /DSS update follows it (checked in
	// verifyOffline), so pdfsig rightly says it does not cover the end.
	if err := signtest.QPDFCheck(t, final); err != nil {
		t.Error(err)
	}
	verifyOffline(t, s.URL+"/dev/pki/root.pem", final)
}

// verifyOffline validates the final PDF as a recipient without network
// access would on the day of issue: only the development root is
// trusted, nothing is fetched. The seal's B-LT /DSS must carry the
// certificates and OCSP/CRL data of the leader's, the seal's and the
// time-stamps' chains.
func verifyOffline(t *testing.T, rootURL, path string) {
	t.Helper()
	resp, err := http.Get(rootURL)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("development root: %v %d", err, resp.StatusCode)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("development root is not PEM")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Verify(context.Background(), bytes.NewReader(data), int64(len(data)), verify.Options{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 2 {
		t.Fatalf("%d signatures", len(rep.Signatures))
	}
	for _, sig := range rep.Signatures {
		if sig.Indication != verify.TotalPassed {
			t.Errorf("offline: %s is %s/%s %v", sig.Field, sig.Indication, sig.SubIndication, sig.Errors)
		}
		for _, rr := range sig.Revocation {
			if rr.Online {
				t.Errorf("offline: %s: status of %s fetched online", sig.Field, rr.Subject)
			}
		}
	}
	seal := rep.Signatures[1]
	if seal.Level != "B-LT" && seal.Level != "B-LTA" {
		t.Errorf("seal level %q, want B-LT or above", seal.Level)
	}
	for _, ch := range seal.Modifications.Objects {
		if ch.Rule != verify.RuleDSS && ch.Rule != verify.RuleCatalog && ch.Rule != verify.RuleMetadata && ch.Rule != verify.RuleDocTimestamp &&
			ch.Rule != verify.RuleUnchanged && ch.Rule != verify.RuleStructure {
			t.Errorf("after the seal: %+v; want only its validation data", ch)
		}
	}
}

func TestDemoEmbedded(t *testing.T) {
	runDemoAgainst(t, "--data-dir", t.TempDir())
}

// The production configuration: PostgreSQL and MinIO, with the development
// PKI and simulator switched on explicitly.
func TestDemoPostgresMinIO(t *testing.T) {
	db := pgtest.URL(t)
	srv := s3test.StartServer(t)
	t.Setenv("VANBAN_S3_ACCESS_KEY", srv.AccessKey)
	t.Setenv("VANBAN_S3_SECRET_KEY", srv.SecretKey)
	flags := []string{"--data-dir", t.TempDir(), "--database-url", db,
		"--storage-url", srv.StoreURL("vanban-demo", "t"+strings.ToLower(t.Name()[len(t.Name())-5:])+"/"), "--dev-services", "on"}
	// clearServeEnv in runDemoAgainst empties VANBAN_*; the keys go by
	// flag instead.
	flags = append(flags, "--s3-access-key", srv.AccessKey, "--s3-secret-key", srv.SecretKey)
	runDemoAgainst(t, flags...)
}
