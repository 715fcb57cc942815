package backup_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/internal/audit"
	"vanban/internal/backup"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/storage"
	"vanban/storage/local"
	_ "vanban/storage/s3"
	"vanban/storage/s3/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

var testSecret = bytes.Repeat([]byte{7}, 32)

// installation is a small embedded installation: a database with one
// document whose two versions are stored objects (one retained), a secret
// key file and a development key.
type installation struct {
	dir   string
	db    *store.DB
	blobs storage.Store
	keys  []string // the versions' object keys
}

func newInstallation(t *testing.T, blobs storage.Store) *installation {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "vanban.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.SetAuditKey(audit.HeadKey(testSecret))
	if blobs == nil {
		ls, err := local.New(filepath.Join(dir, "blobs"), local.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ls.Close() })
		blobs = ls
	}
	in := &installation{dir: dir, db: db, blobs: blobs}
	org := &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã", Place: "Thành Long"}
	must(t, db.CreateOrganization(ctx, org))
	unit := &document.Unit{ParentID: org.ID, Abbrev: "VP", Name: "Văn phòng"}
	must(t, db.CreateUnit(ctx, unit))
	user := &document.User{OrgID: org.ID, Username: "an", FullName: "Nguyễn Văn An"}
	must(t, db.CreateUser(ctx, user))
	d := &document.Document{OrgID: org.ID, UnitID: unit.ID, Direction: document.Outgoing, TypeCode: document.TypeQuyetDinh,
		Subject: "Quyết định sao lưu", Urgency: document.UrgencyNormal, Confidentiality: document.ConfidentialityNormal, CreatedBy: user.ID}
	must(t, db.CreateDocument(ctx, d))
	for i, body := range []string{"%PDF-1.7 bản nháp", "%PDF-1.7 bản đã ký"} {
		opts := storage.PutOptions{ContentType: "application/pdf"}
		if i == 1 {
			opts.RetainUntil = time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		}
		obj, err := blobs.PutContentAddressed(ctx, strings.NewReader(body), opts)
		must(t, err)
		v := &document.Version{DocumentID: d.ID, Kind: document.VersionDraft, BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size, CreatedBy: user.ID}
		must(t, db.AddVersion(ctx, v))
		in.keys = append(in.keys, obj.Key)
	}
	for _, action := range []string{"document.create", "document.submit"} {
		_, err := db.AppendAudit(ctx, audit.Entry{Time: time.Now(), Actor: user.ID, Action: action, ObjectType: "document", ObjectID: d.ID})
		must(t, err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "secret.key"), []byte(hex.EncodeToString(testSecret)+"\n"), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "dev", "pki"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "dev", "pki", "ca.json"), []byte(`{"key":"development"}`), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "cache"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "cache", "page.png"), []byte("rebuildable"), 0o600))
	return in
}

func (in *installation) source() backup.Source {
	return backup.Source{DB: in.db, Blobs: in.blobs, DataDir: in.dir, Skip: []string{"vanban.db", "vanban.db-wal", "vanban.db-shm", "blobs", "cache"},
		SecretInDataDir: true, AuditKey: audit.HeadKey(testSecret), Version: "test"}
}

func (in *installation) write(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	res, err := backup.Write(context.Background(), in.source(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if res.References != 2 || res.AuditProblem != "" {
		t.Errorf("result: %d references, audit %q", res.References, res.AuditProblem)
	}
	return buf.Bytes()
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func parseSecret(b []byte) ([]byte, error) { return hex.DecodeString(strings.TrimSpace(string(b))) }

func restore(archive []byte, dir string) (*backup.RestoreResult, error) {
	return backup.Restore(context.Background(), bytes.NewReader(archive), dir, backup.RestoreOptions{ParseSecret: parseSecret})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	in := newInstallation(t, nil)
	archive := in.write(t)
	dst := filepath.Join(t.TempDir(), "restored")
	res, err := restore(archive, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Audit.OK || !res.Audit.Sealed || res.Audit.Entries == 0 {
		t.Errorf("audit of the restored log: %+v", res.Audit)
	}
	for _, name := range []string{"vanban.db", "secret.key", "dev/pki/ca.json"} {
		if _, err := os.Stat(filepath.Join(dst, name)); err != nil {
			t.Error(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode: %v %v", fi.Mode(), err)
	}
	for _, gone := range []string{"cache", "vanban.db-wal"} {
		if _, err := os.Stat(filepath.Join(dst, gone)); err == nil {
			t.Errorf("%s was restored", gone)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dst, ".restore-*")); len(m) != 0 {
		t.Errorf("staging left: %v", m)
	}
	blobs, err := local.New(filepath.Join(dst, "blobs"), local.Options{})
	must(t, err)
	defer blobs.Close()
	for i, k := range in.keys {
		want, err := in.blobs.Stat(ctx, k)
		must(t, err)
		got, err := blobs.Stat(ctx, k)
		must(t, err)
		if !bytes.Equal(got.SHA256, want.SHA256) || got.ContentType != "application/pdf" || !got.RetainUntil.Equal(want.RetainUntil) {
			t.Errorf("object %d restored as %+v, was %+v", i, got, want)
		}
		must(t, storage.Verify(ctx, blobs, k))
	}
	if err := blobs.Delete(ctx, in.keys[1]); !errors.Is(err, storage.ErrRetained) {
		t.Errorf("the retained object lost its retention: %v", err)
	}
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dst, "vanban.db"))
	must(t, err)
	defer db.Close()
	refs, err := db.BlobRefs(ctx)
	if err != nil || len(refs) != 2 {
		t.Errorf("restored references: %v %v", refs, err)
	}

	// Into a directory that holds anything: refused, untouched.
	if _, err := restore(archive, dst); !errors.Is(err, backup.ErrNotEmpty) {
		t.Errorf("restore over a restored directory: %v", err)
	}
}

// editManifest rewrites the archive's manifest with edit.
func editManifest(t *testing.T, archive []byte, edit func(m *backup.Manifest)) []byte {
	t.Helper()
	return rewrite(t, archive, func(hdr *tar.Header, body []byte) ([]byte, bool) {
		if hdr.Name != "manifest.json" {
			return body, true
		}
		var m backup.Manifest
		must(t, json.Unmarshal(body, &m))
		edit(&m)
		body, err := json.Marshal(&m)
		must(t, err)
		hdr.Size = int64(len(body))
		return body, true
	})
}

// TestRestoreRefusesBadManifests: an archive whose manifest asks for
// something unsafe or inconsistent is refused before anything is written.
func TestRestoreRefusesBadManifests(t *testing.T) {
	in := newInstallation(t, nil)
	archive := in.write(t)
	entry := func(m *backup.Manifest, prefix string) *backup.Entry {
		for i := range m.Entries {
			if strings.HasPrefix(m.Entries[i].Name, prefix) {
				return &m.Entries[i]
			}
		}
		t.Fatalf("no %s entry", prefix)
		return nil
	}
	for name, edit := range map[string]func(m *backup.Manifest){
		"a path out of the data directory": func(m *backup.Manifest) { entry(m, "data/dev/").Name = "data/../../etc/cron.d/x" },
		"an absolute path":                 func(m *backup.Manifest) { entry(m, "data/dev/").Name = "data//etc/passwd" },
		"a file over the database":         func(m *backup.Manifest) { entry(m, "data/dev/").Name = "data/vanban.db" },
		"a file into the blobs":            func(m *backup.Manifest) { entry(m, "data/dev/").Name = "data/blobs/objects/x" },
		"a hidden file":                    func(m *backup.Manifest) { entry(m, "data/dev/").Name = "data/.restore-x/y" },
		"a blob key with ..":               func(m *backup.Manifest) { e := entry(m, "blobs/"); e.Key = "../x"; e.Name = "blobs/../x" },
		"a content key not its digest":     func(m *backup.Manifest) { entry(m, "blobs/").SHA256 = strings.Repeat("ab", 32) },
		"an entry twice":                   func(m *backup.Manifest) { m.Entries = append(m.Entries, m.Entries[len(m.Entries)-1]) },
		"no database":                      func(m *backup.Manifest) { m.Entries = m.Entries[1:] },
		"another format":                   func(m *backup.Manifest) { m.Format = "vanban-backup/9" },
		"a key said to be there, missing": func(m *backup.Manifest) {
			e := entry(m, "data/secret.key")
			e.Name = "data/secret.key.old"
		},
		"a damaged digest": func(m *backup.Manifest) { entry(m, "database/").SHA256 = "zz" },
		"a file mode with set-uid": func(m *backup.Manifest) {
			entry(m, "data/dev/").Mode = 0o4755
		},
	} {
		dst := filepath.Join(t.TempDir(), "restored")
		_, err := restore(editManifest(t, archive, edit), dst)
		var fe *backup.FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v", name, err)
		}
		if _, serr := os.Stat(dst); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s: the refused restore left %s", name, dst)
		}
	}
}

// TestRestoreChecksTheDatabase: an archive consistent with its manifest
// whose database refers to an object it lacks, or whose key does not seal
// its audit log, is refused.
func TestRestoreChecksTheDatabase(t *testing.T) {
	in := newInstallation(t, nil)
	archive := in.write(t)
	// Drop an object from the manifest and the archive alike.
	dropped := dropEntry(t, archive, "blobs/"+in.keys[0])
	_, err := restore(dropped, filepath.Join(t.TempDir(), "r"))
	if err == nil || !strings.Contains(err.Error(), "which the archive lacks") {
		t.Errorf("a referenced object missing: %v", err)
	}
	// Another key in VANBAN_SECRET_KEY than in the archive.
	_, err = backup.Restore(context.Background(), bytes.NewReader(archive), filepath.Join(t.TempDir(), "r"),
		backup.RestoreOptions{ParseSecret: parseSecret, SecretKey: bytes.Repeat([]byte{8}, 32)})
	if err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("a different VANBAN_SECRET_KEY: %v", err)
	}
	// The archive's key replaced (manifest and all): the seal does not hold.
	other := []byte(hex.EncodeToString(bytes.Repeat([]byte{9}, 32)) + "\n")
	swapped := replaceEntry(t, archive, "data/secret.key", other)
	_, err = restore(swapped, filepath.Join(t.TempDir(), "r"))
	if !errors.Is(err, backup.ErrAudit) {
		t.Errorf("another key in the archive: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "r")
	res, err := backup.Restore(context.Background(), bytes.NewReader(swapped), dst, backup.RestoreOptions{ParseSecret: parseSecret, AcceptAuditBreak: true})
	if err != nil || res.AuditProblem == "" {
		t.Errorf("--accept-audit-break: %v, %+v", err, res)
	}
}

// dropEntry removes an entry from the archive and its manifest.
func dropEntry(t *testing.T, archive []byte, name string) []byte {
	t.Helper()
	archive = editManifest(t, archive, func(m *backup.Manifest) {
		for i, e := range m.Entries {
			if e.Name == name {
				m.Entries = append(m.Entries[:i], m.Entries[i+1:]...)
				return
			}
		}
		t.Fatalf("no %s", name)
	})
	return rewrite(t, archive, func(hdr *tar.Header, body []byte) ([]byte, bool) { return body, hdr.Name != name })
}

// replaceEntry gives an entry new content, in the manifest too.
func replaceEntry(t *testing.T, archive []byte, name string, content []byte) []byte {
	t.Helper()
	archive = editManifest(t, archive, func(m *backup.Manifest) {
		for i := range m.Entries {
			if m.Entries[i].Name == name {
				m.Entries[i].Size = int64(len(content))
				m.Entries[i].SHA256 = sha256hex(content)
			}
		}
	})
	return rewrite(t, archive, func(hdr *tar.Header, body []byte) ([]byte, bool) {
		if hdr.Name == name {
			hdr.Size = int64(len(content))
			return content, true
		}
		return body, true
	})
}

func rewrite(t *testing.T, archive []byte, fn func(hdr *tar.Header, body []byte) ([]byte, bool)) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		body, err := io.ReadAll(tr)
		must(t, err)
		body, keep := fn(hdr, body)
		if !keep {
			continue
		}
		must(t, tw.WriteHeader(hdr))
		_, err = tw.Write(body)
		must(t, err)
	}
	must(t, tw.Close())
	return out.Bytes()
}

// TestWriteRefusesMissingOrDamagedObjects: a backup never silently leaves
// out an object the database needs, nor copies damaged bytes.
func TestWriteRefusesMissingOrDamagedObjects(t *testing.T) {
	in := newInstallation(t, nil)
	// Damage the content of the first version on disk.
	obj := filepath.Join(in.dir, "blobs", "objects", filepath.FromSlash(in.keys[0]))
	b, err := os.ReadFile(obj)
	must(t, err)
	b[0] ^= 1
	must(t, os.WriteFile(obj, b, 0o600))
	_, err = backup.Write(context.Background(), in.source(), io.Discard)
	if !errors.Is(err, storage.ErrIntegrity) || !strings.Contains(err.Error(), in.keys[0]) {
		t.Errorf("a damaged object: %v", err)
	}
	// Remove it: the database still refers to it.
	must(t, os.Remove(obj))
	_, err = backup.Write(context.Background(), in.source(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refers to object") {
		t.Errorf("a missing object: %v", err)
	}
}

// TestBackupFromS3: SQLite with its objects in S3 (MinIO) is backed up
// through the bucket and restored into the embedded layout.
func TestBackupFromS3(t *testing.T) {
	ctx := context.Background()
	srv := s3test.StartServer(t)
	blobs, err := storage.Open(ctx, srv.StoreURL("vanban-backup", "t"+hex.EncodeToString([]byte(time.Now().Format("150405.000")))+"/"),
		storage.OpenOptions{AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	in := newInstallation(t, blobs)
	archive := in.write(t)
	dst := t.TempDir()
	if _, err := restore(archive, dst); err != nil {
		t.Fatal(err)
	}
	ls, err := local.New(filepath.Join(dst, "blobs"), local.Options{})
	must(t, err)
	defer ls.Close()
	for _, k := range in.keys {
		must(t, storage.Verify(ctx, ls, k))
		got, err := ls.Stat(ctx, k)
		must(t, err)
		want, err := blobs.Stat(ctx, k)
		must(t, err)
		if !got.RetainUntil.Equal(want.RetainUntil) {
			t.Errorf("%s retained until %v, in S3 %v", k, got.RetainUntil, want.RetainUntil)
		}
	}
}
