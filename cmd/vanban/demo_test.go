package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/store/pgtest"
	"vanban/signing/signtest"
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
	for _, want := range []string{"accounts (sign in at", "password demo-", "leader signed on the phone", "Số 01/QĐ-UBND", "issued", "archived", "done: both signatures TOTAL-PASSED"} {
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
	if !sigs[1].TotalDocumentSigned {
		t.Error("pdfsig: the seal does not cover the whole document")
	}
	if err := signtest.QPDFCheck(t, final); err != nil {
		t.Error(err)
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
