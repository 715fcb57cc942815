package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/signtest"
	"vanban/signing/verify"
	"vanban/storage"
	"vanban/storage/s3/s3test"
)

// TestMain stops the PostgreSQL cluster and MinIO server the helpers may
// have started for this package.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	pgtest.Stop()
	s3test.Stop()
	os.Exit(code)
}

// demoRun is a served vanban after the demo: its archived document is in
// final, the development root in root.
type demoRun struct {
	s           *servedVanban
	final, root string
	serveFlags  []string
}

// demoArchived initialises an organization in the server's database, serves
// vanban with the given flags and drives the demo over HTTP, leaving the
// server running.
func demoArchived(t testing.TB, serveFlags ...string) *demoRun {
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
	for _, want := range []string{"accounts (sign in at", "password demo-", "leader signed on the phone", "Số 01/QĐ-UBND", "issued", "archived", "done: both signatures TOTAL-PASSED"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	resp, err := http.Get(s.URL + "/dev/pki/root.pem")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("root.pem: %d %v", resp.StatusCode, err)
	}
	root := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(root, rootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return &demoRun{s: s, final: final, root: root, serveFlags: serveFlags}
}

// runDemoAgainst runs the demo and checks its archived document: offline
// TOTAL-PASSED, the independent validators agree, the objects retained.
func runDemoAgainst(t *testing.T, serveFlags ...string) {
	t.Helper()
	d := demoArchived(t, serveFlags...)
	s, final, root := d.s, d.final, d.root
	var out, errb lockedBuffer
	// Archived means B-LTA: with the server stopped (no OCSP, CRL or TSA
	// to reach) our validator says TOTAL-PASSED for both signatures and
	// the document time-stamp, from what the file carries.
	s.stop(t)
	checkArchivedRetention(t, serveFlags)
	out = lockedBuffer{}
	if code := run(context.Background(), []string{"pdf", "verify", "--in", final, "--trust", root}, &out, &errb); code != 0 {
		t.Fatalf("pdf verify offline: exit %d\n%s\n%s", code, &out, &errb)
	}
	if text := out.String(); strings.Count(text, "TOTAL-PASSED") < 3 || !strings.Contains(text, "B-LTA") {
		t.Errorf("offline report lacks three TOTAL-PASSED or B-LTA:\n%s", text)
	}
	// Tools we did not write agree: both signatures valid (pdfsig), the
	// document time-stamp valid (openssl) and covering the whole file, the
	// structure sound (qpdf).
	sigs := signtest.PDFSig(t, final)
	if len(sigs) != 3 {
		t.Fatalf("pdfsig sees %d signatures, want the leader's, the seal and the document time-stamp", len(sigs))
	}
	for _, sig := range sigs[:2] {
		if !sig.SignatureValid() {
			t.Errorf("pdfsig: signature %s: %s", sig.Field, sig.SignatureValidation)
		}
	}
	// poppler does not verify ETSI.RFC3161 document time-stamps; openssl
	// ts -verify judges that one against the development root.
	if err := signtest.OpenSSLVerifyLastSignature(t, final, root); err != nil {
		t.Errorf("openssl: the document time-stamp: %v", err)
	}
	if !sigs[2].TotalDocumentSigned {
		t.Error("pdfsig: the document time-stamp does not cover the whole document")
	}
	if err := signtest.QPDFCheck(t, final); err != nil {
		t.Error(err)
	}
	rootPEM, err := os.ReadFile(root)
	if err != nil {
		t.Fatal(err)
	}
	verifyFinalOffline(t, rootPEM, final)
}

// verifyFinalOffline validates the final PDF as a recipient without network
// access would on the day of issue: only the development root is
// trusted, nothing is fetched. The seal's B-LT /DSS must carry the
// certificates and OCSP/CRL data of the leader's, the seal's and the
// time-stamps' chains.
func verifyFinalOffline(t *testing.T, rootPEM []byte, path string) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
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
	// The leader's, the seal and, once archived, the document time-stamp.
	if len(rep.Signatures) < 2 {
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
	// After the seal come only validation data and, once archived, the
	// document time-stamp with its (invisible) field: no form fill, no
	// other content.
	allowed := map[string]bool{verify.RuleDSS: true, verify.RuleCatalog: true, verify.RuleMetadata: true, verify.RuleDocTimestamp: true,
		verify.RuleUnchanged: true, verify.RuleStructure: true, verify.RuleSignatureField: true, verify.RuleAcroForm: true, verify.RulePageAnnots: true}
	for _, ch := range seal.Modifications.Objects {
		if !allowed[ch.Rule] {
			t.Errorf("after the seal: %+v; want only validation data and the document time-stamp", ch)
		}
	}
}

// checkArchivedRetention opens the server's database and blob store after
// it stopped and checks that every stored object of the archived document
// is under the retention of its archive record: deleting one is refused.
func checkArchivedRetention(t *testing.T, serveFlags []string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := loadConfig("serve", serveFlags, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	admin, err := a.db.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := a.db.Documents(ctx, store.DocumentFilter{OrgID: admin.OrgID, States: []document.State{document.StateArchived}})
	if err != nil || len(docs) != 1 {
		t.Fatalf("archived documents: %d, %v", len(docs), err)
	}
	rec, err := a.db.ArchiveRecord(ctx, docs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Permanent || time.Until(rec.RetainUntil) < 99*365*24*time.Hour || rec.ProofUntil.IsZero() || rec.ProofHashBits != 256 {
		t.Errorf("archive record: %+v", rec)
	}
	versions, err := a.db.Versions(ctx, docs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := versions[len(versions)-1]; last.Kind != document.VersionArchived || rec.ProofVersion != last.Seq {
		t.Errorf("newest version %d is %s; the record's proof is version %d", last.Seq, last.Kind, rec.ProofVersion)
	}
	for _, v := range versions {
		obj, err := a.blobs.Stat(ctx, v.BlobKey)
		if err != nil {
			t.Fatal(err)
		}
		if obj.RetainUntil.Before(rec.RetainUntil.Add(-time.Second)) {
			t.Errorf("version %d (%s) retained until %v, want %v", v.Seq, v.Kind, obj.RetainUntil, rec.RetainUntil)
		}
		if err := a.blobs.Delete(ctx, v.BlobKey); !errors.Is(err, storage.ErrRetained) {
			t.Errorf("deleting version %d of an archived document: %v", v.Seq, err)
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
	flags = append(flags, "--s3-access-key", srv.AccessKey, "--s3-secret-key", srv.SecretKey, "--secret-key", nodeSecretKey)
	runDemoAgainst(t, flags...)
}

// TestDemoURLFollowsVanbanAddr: without --url the demo goes where vanban
// serve listens.
func TestDemoURLFollowsVanbanAddr(t *testing.T) {
	for addr, want := range map[string]string{"": "http://127.0.0.1:8080", "127.0.0.1:9191": "http://127.0.0.1:9191",
		"0.0.0.0:7000": "http://127.0.0.1:7000", "[::]:7001": "http://127.0.0.1:7001", "localhost:7002": "http://localhost:7002"} {
		t.Setenv("VANBAN_ADDR", addr)
		if got := demoURL(); got != want {
			t.Errorf("VANBAN_ADDR=%q: demo URL %s, want %s", addr, got, want)
		}
	}
}
