package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store/pgtest"
	"vanban/signing/signtest"
)

// nodeSecretKey is the VANBAN_SECRET_KEY of test servers on PostgreSQL,
// where every node must hold the same key.
const nodeSecretKey = "a-secret-key-shared-by-every-node-0123456789"

// backupCLI runs a vanban command and returns its exit code and output.
func backupCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb lockedBuffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String() + errb.String()
}

// docSummary is what must survive a backup and restore of a document.
type docSummary struct {
	ID, Subject, Symbol string
	State               document.State
	Number              int
}

func listDocs(t *testing.T, p *person) []docSummary {
	t.Helper()
	var page httpapi.DocumentPage
	if err := p.call(context.Background(), "GET", "/api/v1/documents?limit=100", nil, &page); err != nil {
		t.Fatal(err)
	}
	var out []docSummary
	for _, d := range page.Items {
		out = append(out, docSummary{ID: d.ID, Subject: d.Subject, Symbol: d.Symbol, State: d.State, Number: d.Number})
	}
	return out
}

// TestBackupRestoreServed backs up a served installation with issued and
// archived documents (once while a second demo is writing, once at rest),
// restores into empty directories and serves the copy: the same documents,
// the same signed bytes that validate offline (our validator and pdfsig),
// the audit chain under its seal, and a session and a download link made
// before the backup work on the restored server. Damaged archives are
// refused with nothing written.
func TestBackupRestoreServed(t *testing.T) {
	if testing.Short() {
		t.Skip("serves two installations and runs the demo twice")
	}
	ctx := context.Background()
	clearServeEnv(t)
	t.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-demo")
	src := t.TempDir()
	if code, out := backupCLI(t, "init", "--data-dir", src, "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân xã Thành Long", "--place", "Thành Long"); code != 0 {
		t.Fatalf("init: %d\n%s", code, out)
	}
	s := serveVanban(t, "--data-dir", src)
	const pass = "mật-khẩu-sao-lưu"
	final := filepath.Join(t.TempDir(), "final.pdf")
	if code, out := backupCLI(t, "demo", "--url", s.URL, "--out", final, "--password", pass, "--username-prefix", "bk1-"); code != 0 {
		t.Fatalf("demo: %d\n%s\nserver:\n%s", code, out, s.stderr)
	}
	code, rootPEM := httpGet(t, s.URL+"/dev/pki/root.pem")
	if code != 200 {
		t.Fatalf("root.pem: %d", code)
	}
	root := mustWrite(t, filepath.Join(t.TempDir(), "root.pem"), rootPEM)

	// A backup while the server is busy with a second document.
	busy := filepath.Join(t.TempDir(), "busy.tar")
	demoDone := make(chan string, 1)
	go func() {
		code, out := backupCLI(t, "demo", "--url", s.URL, "--password", pass, "--username-prefix", "bk2-")
		if code != 0 {
			out = "FAILED: " + out
		}
		demoDone <- out
	}()
	time.Sleep(1500 * time.Millisecond)
	if code, out := backupCLI(t, "backup", "--data-dir", src, "--out", busy); code != 0 {
		t.Fatalf("backup while serving: %d\n%s", code, out)
	}
	if out := <-demoDone; strings.HasPrefix(out, "FAILED") {
		t.Fatalf("second demo: %s\nserver:\n%s", out, s.stderr)
	}

	// What the running server shows, and a session and a link made on it.
	archivist, err := (&demo{base: s.URL, out: io.Discard}).login(ctx, "bk1-archivist", pass)
	if err != nil {
		t.Fatal(err)
	}
	before := listDocs(t, archivist)
	var archived *docSummary
	for i, d := range before {
		if d.State == document.StateArchived && d.Symbol != "" {
			archived = &before[i]
		}
	}
	if len(before) < 2 || archived == nil {
		t.Fatalf("documents before the backup: %+v", before)
	}
	// The newest version of every document, as the running server serves it.
	files := map[string][]byte{}
	for _, d := range before {
		var raw []byte
		if err := archivist.call(ctx, "GET", "/api/v1/documents/"+d.ID+"/versions/latest/file", nil, &raw); err != nil {
			t.Fatal(err)
		}
		files[d.ID] = raw
	}
	if !bytes.Equal(files[archived.ID], mustRead(t, final)) {
		t.Fatal("the server's archived PDF is not the one the demo received")
	}
	var link struct {
		URL string `json:"url"`
	}
	if err := archivist.call(ctx, "GET", "/api/v1/documents/"+archived.ID+"/versions/latest/link", nil, &link); err != nil || link.URL == "" {
		t.Fatalf("download link: %+v %v", link, err)
	}

	// The backup at rest, while the server still runs.
	arch := filepath.Join(t.TempDir(), "vanban.tar")
	code, out := backupCLI(t, "backup", "--data-dir", src, "--out", arch)
	if code != 0 || !strings.Contains(out, "secret key (secret.key) is in the archive") || strings.Contains(out, "WARNING") {
		t.Fatalf("backup: %d\n%s", code, out)
	}
	t.Logf("backup: %s", out)
	s.stop(t)
	checkArchiveLayout(t, arch)

	// Damaged archives: refused, nothing written.
	for name, damage := range map[string]func([]byte) []byte{
		"a flipped byte in a signed PDF": func(b []byte) []byte { return rewriteEntry(t, b, "blobs/", flipMiddle) },
		"a flipped byte in the database": func(b []byte) []byte { return rewriteEntry(t, b, "database/", flipMiddle) },
		"a changed key file":             func(b []byte) []byte { return rewriteEntry(t, b, "data/secret.key", flipMiddle) },
		"cut in half":                    func(b []byte) []byte { return b[:len(b)/2] },
		"an entry the manifest lacks":    func(b []byte) []byte { return appendEntry(t, b, "data/extra.txt", []byte("x")) },
		"not a backup":                   func(b []byte) []byte { return []byte("%PDF-1.7 not a tar file") },
	} {
		data, err := os.ReadFile(arch)
		if err != nil {
			t.Fatal(err)
		}
		bad := mustWrite(t, filepath.Join(t.TempDir(), "bad.tar"), damage(data))
		dst := filepath.Join(t.TempDir(), "restored")
		code, out := backupCLI(t, "restore", "--data-dir", dst, "--in", bad)
		if code == 0 || !strings.Contains(out, "backup archive") || !strings.Contains(out, "nothing was restored") {
			t.Errorf("%s: restore exit %d:\n%s", name, code, out)
		}
		if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
			entries, _ := os.ReadDir(dst)
			t.Errorf("%s: the refused restore left %s with %d entries", name, dst, len(entries))
		}
	}
	// An existing empty directory stays empty after a refusal.
	empty := t.TempDir()
	if code, _ := backupCLI(t, "restore", "--data-dir", empty, "--in", mustWrite(t, filepath.Join(t.TempDir(), "cut.tar"), mustRead(t, arch)[:4096])); code == 0 {
		t.Error("a truncated archive was restored")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a refused restore left %d entries in an existing empty directory", len(entries))
	}
	// A directory that holds anything is refused.
	if code, out := backupCLI(t, "restore", "--data-dir", src, "--in", arch); code == 0 || !strings.Contains(out, "not empty") {
		t.Errorf("restore over the live data directory: %d\n%s", code, out)
	}

	// The busy backup restores and verifies on its own.
	busyDir := t.TempDir()
	if code, out := backupCLI(t, "restore", "--data-dir", busyDir, "--in", busy); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Fatalf("restore of the backup taken while writing: %d\n%s", code, out)
	}
	if code, out := backupCLI(t, "audit", "verify", "--data-dir", busyDir); code != 0 {
		t.Errorf("audit verify of the busy backup: %d\n%s", code, out)
	}

	// The backup at rest, restored into an empty directory and served.
	dst := t.TempDir()
	code, out = backupCLI(t, "restore", "--data-dir", dst, "--in", arch)
	if code != 0 || !strings.Contains(out, "audit log intact") || !strings.Contains(out, "seal valid under the restored key") {
		t.Fatalf("restore: %d\n%s", code, out)
	}
	t.Logf("restore: %s", out)
	r := serveVanban(t, "--data-dir", dst)
	// The session made on the old server works here: same database, same key.
	archivist.d = &demo{base: r.URL, out: io.Discard}
	after := listDocs(t, archivist)
	if !equalDocs(before, after) {
		t.Errorf("documents after restore differ:\nbefore %+v\nafter  %+v", before, after)
	}
	// Every document's newest version is byte for byte what the old server
	// served.
	restoredFiles := map[string][]byte{}
	for _, d := range after {
		var raw []byte
		if err := archivist.call(ctx, "GET", "/api/v1/documents/"+d.ID+"/versions/latest/file", nil, &raw); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, files[d.ID]) {
			t.Errorf("document %s (%s): the restored newest version differs", d.ID, d.Symbol)
		}
		restoredFiles[d.ID] = raw
	}
	raw := restoredFiles[archived.ID]
	// A download link signed before the backup, on the restored server.
	lu, err := url.Parse(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	ru, _ := url.Parse(r.URL)
	lu.Scheme, lu.Host = ru.Scheme, ru.Host
	resp, err := http.Get(lu.String())
	if err != nil {
		t.Fatal(err)
	}
	linked, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(linked, raw) {
		t.Errorf("download link made before the backup: %d, %d bytes", resp.StatusCode, len(linked))
	}
	r.stop(t)

	// Every archived document validates: both signatures and the document
	// time-stamp, by our validator and by pdfsig.
	for _, d := range after {
		if d.State != document.StateArchived {
			continue
		}
		restored := mustWrite(t, filepath.Join(t.TempDir(), "restored.pdf"), restoredFiles[d.ID])
		code, out = backupCLI(t, "pdf", "verify", "--in", restored, "--trust", root)
		if code != 0 || strings.Count(out, "TOTAL-PASSED") < 3 {
			t.Errorf("pdf verify of the restored %s: %d\n%s", d.Symbol, code, out)
		}
		sigs := signtest.PDFSig(t, restored)
		if len(sigs) != 3 {
			t.Fatalf("pdfsig sees %d signatures in %s", len(sigs), d.Symbol)
		}
		for _, sig := range sigs[:2] {
			if !sig.SignatureValid() {
				t.Errorf("pdfsig: %s %s: %s", d.Symbol, sig.Field, sig.SignatureValidation)
			}
		}
	}
	if code, out := backupCLI(t, "audit", "verify", "--data-dir", dst); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify after restore: %d\n%s", code, out)
	}
}

func equalDocs(a, b []docSummary) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[docSummary]int{}
	for _, d := range a {
		seen[d]++
	}
	for _, d := range b {
		seen[d]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// checkArchiveLayout reads the archive as any tar reader would: the
// manifest first, then the database, the data files (the key, the
// development keys) and the objects.
func checkArchiveLayout(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	var manifest struct {
		Format  string `json:"format"`
		Entries []struct {
			Name, Kind string
		} `json:"entries"`
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(names) == 0 {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatal(err)
			}
		}
		names = append(names, hdr.Name)
	}
	if len(names) == 0 || names[0] != "manifest.json" || manifest.Format != "vanban-backup/1" || len(manifest.Entries) != len(names)-1 {
		t.Fatalf("archive entries %v, manifest %+v", names, manifest)
	}
	joined := strings.Join(names, "\n")
	var files []string
	for _, n := range names {
		if strings.HasPrefix(n, "data/") {
			files = append(files, n)
		}
	}
	t.Logf("data directory files in the archive: %v", files)
	for _, want := range []string{"database/vanban.db", "data/secret.key", "data/dev/seal.p12", "data/dev/mssp-ap.pass", "blobs/sha256/"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the archive lacks %s:\n%s", want, joined)
		}
	}
	for _, unwanted := range []string{"data/cache/", "data/blobs/", "data/vanban.db", "-wal"} {
		if strings.Contains(joined, unwanted) {
			t.Errorf("the archive holds %s", unwanted)
		}
	}
}

func flipMiddle(b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) > 0 {
		b[len(b)/2] ^= 0x01
	}
	return b
}

// rewriteEntry copies a tar archive, passing the content of the first
// entry whose name starts with prefix through change (same size).
func rewriteEntry(t *testing.T, archive []byte, prefix string, change func([]byte) []byte) []byte {
	t.Helper()
	done := false
	out := copyTar(t, archive, func(hdr *tar.Header, body []byte) []byte {
		if !done && strings.HasPrefix(hdr.Name, prefix) {
			body, done = change(body), true
		}
		return body
	}, nil, nil)
	if !done {
		t.Fatalf("no entry %s* in the archive", prefix)
	}
	return out
}

// appendEntry copies a tar archive with one more entry at its end.
func appendEntry(t *testing.T, archive []byte, name string, body []byte) []byte {
	t.Helper()
	return copyTar(t, archive, nil, &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o600}, body)
}

// copyTar copies a tar archive, each entry's content passed through edit
// (nil keeps it), then appends the entry extra with its content, if any.
func copyTar(t *testing.T, archive []byte, edit func(hdr *tar.Header, body []byte) []byte, extra *tar.Header, extraBody []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	write := func(hdr *tar.Header, body []byte) {
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			body = edit(hdr, body)
		}
		write(hdr, body)
	}
	if extra != nil {
		write(extra, extraBody)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestBackupRefusesPostgres: with PostgreSQL the command explains what to
// do instead of writing half a backup.
func TestBackupRefusesPostgres(t *testing.T) {
	clearServeEnv(t)
	code, out := backupCLI(t, "backup", "--data-dir", t.TempDir(), "--database-url", "postgres://u@db.invalid/vanban",
		"--secret-key", nodeSecretKey, "--out", filepath.Join(t.TempDir(), "x.tar"))
	if code == 0 || !strings.Contains(out, "pg_dump") || !strings.Contains(out, "Backup and restore") {
		t.Errorf("backup on PostgreSQL: %d\n%s", code, out)
	}
	code, out = backupCLI(t, "backup", "--data-dir", t.TempDir())
	if code != 2 || !strings.Contains(out, "--out") {
		t.Errorf("backup without --out: %d\n%s", code, out)
	}
}

// TestSecretKeyAcrossNodes: two nodes on one PostgreSQL with the same key
// both start, and a session (cookie and CSRF token) made on one works on
// the other; a node with another key, or none, refuses to start.
func TestSecretKeyAcrossNodes(t *testing.T) {
	ctx := context.Background()
	clearServeEnv(t)
	db := pgtest.URL(t)
	t.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-hai-nút")
	node := func() []string {
		return []string{"--data-dir", t.TempDir(), "--database-url", db, "--dev-services", "off"}
	}
	if code, out := backupCLI(t, append([]string{"init", "--secret-key", nodeSecretKey, "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân tỉnh", "--place", "Tây Ninh"}, node()...)...); code != 0 {
		t.Fatalf("init: %d\n%s", code, out)
	}
	if code, out := backupCLI(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, node()...)...); code == 0 || !strings.Contains(out, "VANBAN_SECRET_KEY") || !strings.Contains(out, "required with PostgreSQL") {
		t.Errorf("a node without a key: %d\n%s", code, out)
	}
	a := serveVanban(t, append(node(), "--secret-key", nodeSecretKey)...)
	b := serveVanban(t, append(node(), "--secret-key", nodeSecretKey)...)

	admin, err := (&demo{base: a.URL, out: io.Discard}).login(ctx, "admin", "mật-khẩu-quản-trị-hai-nút")
	if err != nil {
		t.Fatal(err)
	}
	admin.d = &demo{base: b.URL, out: io.Discard}
	var me json.RawMessage
	if err := admin.call(ctx, "GET", "/api/v1/me", nil, &me); err != nil {
		t.Errorf("node A's cookie on node B: %v", err)
	}
	// A write needs the CSRF token node A issued.
	var unit httpapi.UnitJSON
	if err := admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: admin.user.OrgID, Abbrev: "VP", Name: "Văn phòng"}, &unit); err != nil || unit.ID == "" {
		t.Errorf("node A's CSRF token on node B: %+v %v", unit, err)
	}

	code, out := backupCLI(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--secret-key", "another-key-of-at-least-32-bytes-0123456789"}, node()...)...)
	if code == 0 || !strings.Contains(out, "VANBAN_SECRET_KEY") || !strings.Contains(out, "differs from the key the other nodes") {
		t.Errorf("a node with another key: %d\n%s", code, out)
	}
	a.stop(t)
	b.stop(t)
}

// TestPostgresBackupProcedure follows the README's production procedure on
// a served installation on PostgreSQL: pg_dump while it runs, pg_restore
// into an empty database, the objects and the data directory copied, and a
// node with the same key serves the same documents, whose audit log
// verifies.
func TestPostgresBackupProcedure(t *testing.T) {
	if testing.Short() {
		t.Skip("serves an installation on PostgreSQL and runs the demo")
	}
	pgDump, err1 := exec.LookPath("pg_dump")
	pgRestore, err2 := exec.LookPath("pg_restore")
	if err1 != nil || err2 != nil {
		t.Skip("pg_dump and pg_restore are not installed")
	}
	ctx := context.Background()
	clearServeEnv(t)
	t.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-demo")
	srcDB, dstDB := pgtest.URL(t), pgtest.URL(t)
	srcDir, blobs := t.TempDir(), t.TempDir()
	flags := func(dataDir, db, blobDir string) []string {
		return []string{"--data-dir", dataDir, "--database-url", db, "--storage-url", "file://" + blobDir,
			"--dev-services", "on", "--secret-key", nodeSecretKey}
	}
	if code, out := backupCLI(t, append([]string{"init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân tỉnh", "--place", "Tây Ninh"}, flags(srcDir, srcDB, blobs)...)...); code != 0 {
		t.Fatalf("init: %d\n%s", code, out)
	}
	s := serveVanban(t, flags(srcDir, srcDB, blobs)...)
	const pass = "mật-khẩu-sao-lưu"
	final := filepath.Join(t.TempDir(), "final.pdf")
	if code, out := backupCLI(t, "demo", "--url", s.URL, "--out", final, "--password", pass, "--username-prefix", "pg-"); code != 0 {
		t.Fatalf("demo: %d\n%s\nserver:\n%s", code, out, s.stderr)
	}
	archivist, err := (&demo{base: s.URL, out: io.Discard}).login(ctx, "pg-archivist", pass)
	if err != nil {
		t.Fatal(err)
	}
	before := listDocs(t, archivist)

	// 2. The database, while the node runs.
	dump := filepath.Join(t.TempDir(), "vanban.dump")
	if out, err := exec.Command(pgDump, "--format=custom", "--file="+dump, srcDB).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	// 3. and 4. The objects and the data directory, after the dump.
	dstBlobs, dstDir := filepath.Join(t.TempDir(), "blobs"), filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(dstBlobs, os.DirFS(blobs)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dstDir, os.DirFS(srcDir)); err != nil {
		t.Fatal(err)
	}
	s.stop(t)

	if out, err := exec.Command(pgRestore, "--no-owner", "--exit-on-error", "--dbname="+dstDB, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	r := serveVanban(t, flags(dstDir, dstDB, dstBlobs)...)
	archivist.d = &demo{base: r.URL, out: io.Discard}
	if after := listDocs(t, archivist); !equalDocs(before, after) || len(after) == 0 {
		t.Errorf("documents after pg_restore differ:\nbefore %+v\nafter  %+v", before, after)
	}
	var raw []byte
	for _, d := range before {
		if d.State == document.StateArchived {
			if err := archivist.call(ctx, "GET", "/api/v1/documents/"+d.ID+"/versions/latest/file", nil, &raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !bytes.Equal(raw, mustRead(t, final)) {
		t.Error("the archived PDF after pg_restore is not the one the demo received")
	}
	r.stop(t)
	if code, out := backupCLI(t, "audit", "verify", "--data-dir", dstDir, "--database-url", dstDB, "--secret-key", nodeSecretKey); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify after pg_restore: %d\n%s", code, out)
	}
}

// TestBackupKeyFromEnvironment: with VANBAN_SECRET_KEY the key is not in
// the archive (nor a stale secret.key): restore says so, checks the seal
// only when given the key, and refuses another one. The archive also
// streams to standard output, and never into the data directory.
func TestBackupKeyFromEnvironment(t *testing.T) {
	clearServeEnv(t)
	t.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-demo")
	src := t.TempDir()
	if code, out := backupCLI(t, "init", "--data-dir", src, "--secret-key", nodeSecretKey, "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân xã", "--place", "Thành Long"); code != 0 {
		t.Fatalf("init: %d\n%s", code, out)
	}
	// A stale key file left from before the key was configured.
	mustWrite(t, filepath.Join(src, "secret.key"), []byte(strings.Repeat("ab", 32)+"\n"))

	if code, out := backupCLI(t, "backup", "--data-dir", src, "--secret-key", nodeSecretKey, "--out", filepath.Join(src, "inside.tar")); code == 0 || !strings.Contains(out, "inside the data directory") {
		t.Errorf("--out inside the data directory: %d\n%s", code, out)
	}
	var archive, report lockedBuffer
	if code := run(context.Background(), []string{"backup", "--data-dir", src, "--secret-key", nodeSecretKey, "--out", "-"}, &archive, &report); code != 0 {
		t.Fatalf("backup to stdout: %d\n%s", code, &report)
	}
	if !strings.Contains(report.String(), "NOT in the archive") {
		t.Errorf("report on stderr:\n%s", &report)
	}
	arch := mustWrite(t, filepath.Join(t.TempDir(), "env.tar"), []byte(archive.String()))
	tr := tar.NewReader(bytes.NewReader(mustRead(t, arch)))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "data/secret.key" {
			t.Error("the stale secret.key went into the archive")
		}
	}

	if code, out := backupCLI(t, "restore", "--data-dir", filepath.Join(t.TempDir(), "r"), "--in", arch); code != 0 || !strings.Contains(out, "seal was not checked") || !strings.Contains(out, "same VANBAN_SECRET_KEY") {
		t.Errorf("restore without the key: %d\n%s", code, out)
	}
	dst := filepath.Join(t.TempDir(), "r")
	if code, out := backupCLI(t, "restore", "--data-dir", dst, "--secret-key", nodeSecretKey, "--in", arch); code != 0 || !strings.Contains(out, "seal valid under the restored key") {
		t.Errorf("restore with the key: %d\n%s", code, out)
	}
	if code, out := backupCLI(t, "audit", "verify", "--data-dir", dst, "--secret-key", nodeSecretKey); code != 0 {
		t.Errorf("audit verify: %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "r")
	if code, out := backupCLI(t, "restore", "--data-dir", bad, "--secret-key", "another-key-of-at-least-32-bytes-0123456789", "--in", arch); code == 0 || !strings.Contains(out, "does not verify") {
		t.Errorf("restore with another key: %d\n%s", code, out)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused restore left its directory")
	}
}
