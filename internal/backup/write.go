package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"vanban/internal/audit"
	"vanban/internal/store"
	"vanban/storage"
)

// Source is the installation Write copies.
type Source struct {
	// DB is the live SQLite database; a server may be using it.
	DB *store.DB
	// Blobs is the blob store, local or S3.
	Blobs storage.Store
	// DataDir is copied file by file, except the top-level names in Skip
	// (the live database, the local blob root, the cache) and names
	// starting with a dot (temporary files). SQLite files met there (the
	// development exchange hub's) are snapshotted, not copied.
	DataDir string
	Skip    []string
	// SecretInDataDir: the secret key is <data-dir>/secret.key (and so in
	// the archive); otherwise it comes from VANBAN_SECRET_KEY and the
	// operator must keep it.
	SecretInDataDir bool
	// AuditKey (audit.HeadKey of the secret key) checks the snapshot's
	// audit chain, seal and anchors; nil skips the check.
	AuditKey []byte
	// Version is the vanban version, recorded in the manifest.
	Version string
	// TempDir receives the snapshots while the archive is written;
	// "" means os.TempDir().
	TempDir string
}

// Result is what Write wrote.
type Result struct {
	Manifest *Manifest
	// Skipped lists the data-directory entries left out, with the reason:
	// not regular files (symbolic links, sockets), or names restore would
	// refuse.
	Skipped []string
	// References is how many object references the database holds (all
	// of them checked against the objects).
	References int
	// AuditProblem, when not empty, is why the snapshot's audit log does
	// not verify: the archive is complete, but the log was already broken.
	AuditProblem string
}

// staged is a file copied or snapshotted into the temporary directory.
type staged struct {
	entry Entry
	path  string
}

// Write streams a backup of src to w. Nothing is written to w until the
// database is snapshotted and checked, every file is staged and every
// object's digest is known; an error after that leaves w with a partial
// archive, which Restore refuses (write to a temporary file and rename).
func Write(ctx context.Context, src Source, w io.Writer) (*Result, error) {
	if src.DB == nil || src.DB.Dialect() != store.SQLite {
		return nil, errors.New("backup: the database is not SQLite; back PostgreSQL up with pg_dump (see the README)")
	}
	tmp, err := os.MkdirTemp(src.TempDir, ".vanban-backup-*")
	if err != nil {
		return nil, fmt.Errorf("backup: temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	res := &Result{Manifest: &Manifest{Format: Format, CreatedAt: time.Now().UTC().Truncate(time.Second), Vanban: src.Version, SecretKey: SecretInEnvironment}}
	m := res.Manifest
	if src.SecretInDataDir {
		m.SecretKey = SecretInArchive
	}

	// The files first, then the database: the audit anchors copied this
	// way never name an entry the database snapshot lacks.
	files, skipped, err := stageDataDir(ctx, src, filepath.Join(tmp, "data"))
	if err != nil {
		return nil, err
	}
	res.Skipped = skipped
	if src.SecretInDataDir {
		found := false
		for _, f := range files {
			found = found || f.entry.Name == dataPrefix+"secret.key"
		}
		if !found {
			return nil, fmt.Errorf("backup: %s has no secret.key", src.DataDir)
		}
	}

	dbPath := filepath.Join(tmp, "vanban.db")
	if err := src.DB.SnapshotSQLite(ctx, dbPath); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	refs, err := checkSnapshot(ctx, dbPath, m, res, src.AuditKey, filepath.Join(tmp, "data", "audit-anchors.jsonl"))
	if err != nil {
		return nil, err
	}
	res.References = len(refs)
	dbEntry, err := hashFile(dbPath)
	if err != nil {
		return nil, err
	}
	dbEntry.Name, dbEntry.Kind = databaseName, KindDatabase
	m.Entries = append(m.Entries, dbEntry)
	for _, f := range files {
		m.Entries = append(m.Entries, f.entry)
	}

	blobs, err := listBlobs(ctx, src.Blobs)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]Entry, len(blobs))
	for _, b := range blobs {
		byKey[b.Key] = b
	}
	for _, r := range refs {
		b, ok := byKey[r.Key]
		switch {
		case !ok:
			return nil, fmt.Errorf("backup: the database refers to object %q (%s) but the blob store has no such object", r.Key, r.Where)
		case r.SHA256 != "" && r.SHA256 != b.SHA256:
			return nil, fmt.Errorf("backup: the database records SHA-256 %s for object %q (%s) but the store holds %s", r.SHA256, r.Key, r.Where, b.SHA256)
		}
	}
	m.Entries = append(m.Entries, blobs...)
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("backup: the manifest it would write is invalid: %w", err)
	}

	mb, err := marshalManifest(m)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(w)
	if err := writeEntry(tw, manifestName, int64(len(mb)), 0o600, m.CreatedAt, bytes.NewReader(mb)); err != nil {
		return nil, err
	}
	if err := copyStaged(tw, dbEntry, dbPath, m.CreatedAt); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := copyStaged(tw, f.entry, f.path, m.CreatedAt); err != nil {
			return nil, err
		}
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := copyBlob(ctx, tw, src.Blobs, b, m.CreatedAt); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return res, nil
}

// checkSnapshot opens the snapshot read-only and checks it before anything
// is written: sound, known schema, its references, its audit log.
func checkSnapshot(ctx context.Context, path string, m *Manifest, res *Result, auditKey []byte, anchors string) ([]store.BlobRef, error) {
	snap, err := store.OpenSnapshot(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer snap.Close()
	if err := snap.IntegrityCheck(ctx); err != nil {
		return nil, fmt.Errorf("backup: the live database: %w", err)
	}
	recorded, unknown, err := snap.Migrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("backup: the database has migrations this vanban does not know (%s): back it up with the vanban that serves it", strings.Join(unknown, ", "))
	}
	m.Migrations = recorded
	if m.AuditHeadSeq, _, err = snap.AuditHead(ctx); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if auditKey != nil {
		rep, err := audit.VerifyWith(ctx, snap, audit.Options{Key: auditKey, AnchorFile: anchors})
		switch {
		case err != nil:
			res.AuditProblem = err.Error()
		case !rep.OK:
			res.AuditProblem = fmt.Sprintf("broken at sequence %d: %s", rep.FirstBadSeq, rep.Problem)
		}
	}
	refs, err := snap.BlobRefs(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return refs, nil
}

// stageDataDir copies the files of the data directory into dir: regular
// files byte for byte, SQLite databases through VACUUM INTO (their -wal,
// -shm and -journal companions are left out).
func stageDataDir(ctx context.Context, src Source, dir string) ([]staged, []string, error) {
	skip := map[string]bool{}
	for _, s := range src.Skip {
		skip[s] = true
	}
	var files []staged
	var skipped []string
	err := filepath.WalkDir(src.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == src.DataDir {
			return nil
		}
		rel, err := filepath.Rel(src.DataDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if (!strings.Contains(rel, "/") && skip[rel]) || strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			skipped = append(skipped, rel+" (not a regular file)")
			return nil
		case isSQLiteCompanion(p):
			return nil
		}
		if err := dataPath(rel); err != nil {
			skipped = append(skipped, rel+" (a name restore refuses: "+err.Error()+")")
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			return err
		}
		if sqliteFile(p) {
			err = snapshotForeignSQLite(ctx, p, out)
		} else {
			err = copyFile(p, out)
		}
		if err != nil {
			return fmt.Errorf("copying %s: %w", rel, err)
		}
		e, err := hashFile(out)
		if err != nil {
			return err
		}
		e.Name, e.Kind, e.Mode = dataPrefix+rel, KindFile, uint32(info.Mode().Perm())
		files = append(files, staged{entry: e, path: out})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("backup: data directory %s: %w", src.DataDir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].entry.Name < files[j].entry.Name })
	return files, skipped, nil
}

var sqliteMagic = []byte("SQLite format 3\x00")

func sqliteFile(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	_, err = io.ReadFull(f, head)
	return err == nil && bytes.Equal(head, sqliteMagic)
}

// isSQLiteCompanion tells a -wal, -shm or -journal file next to a SQLite
// database: its content is in the database's snapshot.
func isSQLiteCompanion(p string) bool {
	for _, suf := range []string{"-wal", "-shm", "-journal"} {
		if base, ok := strings.CutSuffix(p, suf); ok && sqliteFile(base) {
			return true
		}
	}
	return false
}

// snapshotForeignSQLite snapshots a SQLite database that is not vanban's
// own (a development service's), which its owner may be writing.
func snapshotForeignSQLite(ctx context.Context, src, dst string) error {
	if strings.ContainsAny(src, "?#") {
		return fmt.Errorf("path %q holds ? or #", src)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, dst)
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func hashFile(p string) (Entry, error) {
	f, err := os.Open(p)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// listBlobs lists every object with its recorded digest, sorted by key.
// An object with no recorded digest (not written through a Store) is read
// once to learn it.
func listBlobs(ctx context.Context, s storage.Store) ([]Entry, error) {
	var out []Entry
	for obj, err := range s.List(ctx, "") {
		if err != nil {
			return nil, fmt.Errorf("backup: listing the blob store: %w", err)
		}
		st, err := s.Stat(ctx, obj.Key)
		if err != nil {
			if errors.Is(err, storage.ErrNotExist) {
				continue // deleted since it was listed: the database cannot need it
			}
			return nil, fmt.Errorf("backup: %w", err)
		}
		sum := storage.ExpectedDigest(st.Key, st.SHA256)
		if sum == nil {
			if sum, err = digestOf(ctx, s, st.Key); err != nil {
				return nil, err
			}
		}
		out = append(out, Entry{Name: blobPrefix + st.Key, Kind: KindBlob, Key: st.Key, Size: st.Size, SHA256: hex.EncodeToString(sum),
			ContentType: st.ContentType, RetainUntil: st.RetainUntil.UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func digestOf(ctx context.Context, s storage.Store, key string) ([]byte, error) {
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return nil, fmt.Errorf("backup: reading %q: %w", key, err)
	}
	return h.Sum(nil), nil
}

func writeEntry(tw *tar.Writer, name string, size int64, mode uint32, mtime time.Time, r io.Reader) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: int64(mode), ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	if _, err := io.Copy(tw, r); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	return nil
}

func copyStaged(tw *tar.Writer, e Entry, p string, mtime time.Time) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	mode := e.Mode
	if mode == 0 {
		mode = 0o600
	}
	return writeEntry(tw, e.Name, e.Size, mode, mtime, f)
}

// copyBlob streams one object into the archive, checking its size and
// digest against what the manifest already promised.
func copyBlob(ctx context.Context, tw *tar.Writer, s storage.Store, e Entry, mtime time.Time) error {
	rc, _, err := s.Get(ctx, e.Key)
	if err != nil {
		return fmt.Errorf("backup: object %q: %w", e.Key, err)
	}
	defer rc.Close()
	h := sha256.New()
	cr := io.TeeReader(io.LimitReader(rc, e.Size+1), h)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.Name, Size: e.Size, Mode: 0o600, ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %s: %w", e.Name, err)
	}
	if _, err := io.CopyN(tw, cr, e.Size); err != nil {
		return fmt.Errorf("backup: object %q (changed or damaged while it was read?): %w", e.Key, err)
	}
	// Read on to the end, so the store's own digest check runs and a longer
	// object is seen.
	n, err := io.Copy(io.Discard, cr)
	switch {
	case err != nil:
		return fmt.Errorf("backup: object %q: %w", e.Key, err)
	case n != 0:
		return fmt.Errorf("backup: object %q grew while it was read; run the backup again", e.Key)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		return fmt.Errorf("backup: object %q: %w: SHA-256 %s, recorded %s", e.Key, storage.ErrIntegrity, got, e.SHA256)
	}
	return nil
}
