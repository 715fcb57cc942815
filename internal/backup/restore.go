package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"vanban/internal/audit"
	"vanban/internal/store"
	"vanban/storage"
	"vanban/storage/local"
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// SecretKey is VANBAN_SECRET_KEY, needed when the archive does not
	// hold the key; when it does, the two must agree. nil (and no key in
	// the archive) leaves the audit seal unchecked.
	SecretKey []byte
	// ParseSecret decodes data/secret.key into the key (cmd's file format).
	ParseSecret func([]byte) ([]byte, error)
	// AcceptAuditBreak restores even when the restored audit log does not
	// verify (the break is reported in the result).
	AcceptAuditBreak bool
}

// RestoreResult is what Restore put in place.
type RestoreResult struct {
	Manifest *Manifest
	// Audit is the verification of the restored audit log; Sealed says
	// whether its seal was checked under the restored key.
	Audit audit.Report
	// AuditProblem is why the log does not verify (only with
	// AcceptAuditBreak).
	AuditProblem string
}

// ErrAudit: the restored audit log does not verify under the restored key.
var ErrAudit = errors.New("the audit log in the archive does not verify")

// Restore reads an archive from r into dataDir, which must be missing or
// empty. The manifest is checked before anything is written (dataDir is
// created only then); every entry is
// staged in a hidden directory inside dataDir and checked against it; the
// database is checked (integrity, schema, references, audit chain under
// the restored key); only then is everything moved into place. On error
// dataDir is as it was (removed again if Restore created it).
func Restore(ctx context.Context, r io.Reader, dataDir string, opts RestoreOptions) (res *RestoreResult, err error) {
	exists, err := checkTarget(dataDir)
	if err != nil {
		return nil, err
	}
	created, staging := false, ""
	defer func() {
		if err == nil {
			return
		}
		if staging != "" {
			os.RemoveAll(staging)
		}
		if created {
			os.Remove(dataDir)
		}
	}()

	tr := tar.NewReader(r)
	m, err := readManifest(tr)
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, err
		}
		created = true
	}
	if staging, err = os.MkdirTemp(dataDir, ".restore-*"); err != nil {
		return nil, err
	}
	if err := stage(ctx, tr, m, staging); err != nil {
		return nil, err
	}
	res = &RestoreResult{Manifest: m}
	if err := checkRestored(ctx, m, staging, opts, res); err != nil {
		return nil, err
	}
	if err := moveIntoPlace(staging, dataDir); err != nil {
		return nil, err
	}
	os.Remove(staging)
	staging = ""
	if d, err := os.Open(dataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return res, nil
}

// checkTarget tells whether dataDir exists, and refuses it unless it is
// empty (a file system's lost+found aside).
func checkTarget(dataDir string) (exists bool, err error) {
	entries, err := os.ReadDir(dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".restore-") {
			return false, fmt.Errorf("%w: %s holds %s, left by an interrupted restore: empty the directory and restore again", ErrNotEmpty, dataDir, e.Name())
		}
		if e.Name() != "lost+found" {
			return false, fmt.Errorf("%w: %s holds %s; restore into a new or empty directory", ErrNotEmpty, dataDir, e.Name())
		}
	}
	return true, nil
}

func readManifest(tr *tar.Reader) (*Manifest, error) {
	hdr, err := tr.Next()
	if err != nil {
		return nil, formatErr("", "not a tar archive, or empty: %v", err)
	}
	if hdr.Name != manifestName || hdr.Typeflag != tar.TypeReg {
		return nil, formatErr("", "the first entry is %q, not %s: not a vanban backup", hdr.Name, manifestName)
	}
	if hdr.Size > maxManifest {
		return nil, formatErr(manifestName, "%d bytes, more than %d", hdr.Size, maxManifest)
	}
	b, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
	if err != nil || int64(len(b)) != hdr.Size {
		return nil, formatErr(manifestName, "truncated: %v", err)
	}
	m := &Manifest{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, formatErr(manifestName, "not valid JSON: %v", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// stage reads every entry into staging, in manifest order, checking each
// name, size and digest.
func stage(ctx context.Context, tr *tar.Reader, m *Manifest, staging string) error {
	root, err := os.OpenRoot(staging)
	if err != nil {
		return err
	}
	defer root.Close()
	var blobs *local.Store
	for _, want := range m.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return formatErr(want.Name, "missing: the archive ends before it (truncated?)")
		}
		if err != nil {
			return formatErr(want.Name, "unreadable: %v", err)
		}
		switch {
		case hdr.Name != want.Name:
			return formatErr(hdr.Name, "found where the manifest lists %s", want.Name)
		case hdr.Typeflag != tar.TypeReg:
			return formatErr(hdr.Name, "not a regular file")
		case hdr.Size != want.Size:
			return formatErr(hdr.Name, "%d bytes, the manifest says %d", hdr.Size, want.Size)
		}
		switch want.Kind {
		case KindDatabase:
			err = stageFile(root, "vanban.db", 0o600, tr, want)
		case KindFile:
			err = stageFile(root, strings.TrimPrefix(want.Name, dataPrefix), want.Mode, tr, want)
		case KindBlob:
			if blobs == nil {
				if blobs, err = local.New(filepath.Join(staging, "blobs"), local.Options{}); err != nil {
					return err
				}
				defer blobs.Close()
			}
			err = stageBlob(ctx, blobs, tr, want)
		}
		if err != nil {
			return err
		}
	}
	if hdr, err := tr.Next(); err == nil {
		return formatErr(hdr.Name, "not in the manifest")
	} else if !errors.Is(err, io.EOF) {
		return formatErr("", "after the last entry: %v", err)
	}
	if blobs == nil {
		// An installation with no objects yet still gets its blob root.
		if err := root.Mkdir("blobs", 0o750); err != nil {
			return err
		}
	}
	return nil
}

func stageFile(root *os.Root, rel string, mode uint32, r io.Reader, want Entry) error {
	if mode == 0 {
		mode = 0o600
	}
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(mode))
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, want.Size))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return formatErr(want.Name, "truncated: the archive ends inside it")
	case err != nil:
		return formatErr(want.Name, "reading: %v", err)
	case n != want.Size:
		return formatErr(want.Name, "truncated: %d of %d bytes", n, want.Size)
	case hex.EncodeToString(h.Sum(nil)) != want.SHA256:
		return formatErr(want.Name, "content does not match its SHA-256 in the manifest: the archive is damaged")
	}
	return nil
}

func stageBlob(ctx context.Context, blobs *local.Store, r io.Reader, want Entry) error {
	sum, _ := hex.DecodeString(want.SHA256)
	obj, err := blobs.Put(ctx, want.Key, io.LimitReader(r, want.Size), storage.PutOptions{
		ContentType: want.ContentType, ExpectedSHA256: sum, RetainUntil: want.RetainUntil})
	switch {
	case errors.Is(err, storage.ErrDigestMismatch):
		return formatErr(want.Name, "content does not match its SHA-256 in the manifest: the archive is damaged")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return formatErr(want.Name, "truncated: the archive ends inside it")
	case err != nil:
		return formatErr(want.Name, "%v", err)
	case obj.Size != want.Size:
		return formatErr(want.Name, "truncated: %d of %d bytes", obj.Size, want.Size)
	}
	return nil
}

// checkRestored checks the staged database on its own terms: sound, a
// schema this binary knows, every reference among the restored objects
// with the digest it recorded, and the audit chain, its seal and its
// anchors under the restored key.
func checkRestored(ctx context.Context, m *Manifest, staging string, opts RestoreOptions, res *RestoreResult) error {
	snap, err := store.OpenSnapshot(ctx, filepath.Join(staging, "vanban.db"))
	if err != nil {
		return formatErr(databaseName, "%v", err)
	}
	defer snap.Close()
	if err := snap.IntegrityCheck(ctx); err != nil {
		return formatErr(databaseName, "%v", err)
	}
	_, unknown, err := snap.Migrations(ctx)
	if err != nil {
		return formatErr(databaseName, "%v", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("backup archive: the database was migrated by a newer vanban (%s): restore it with that version", strings.Join(unknown, ", "))
	}
	refs, err := snap.BlobRefs(ctx)
	if err != nil {
		return formatErr(databaseName, "%v", err)
	}
	blobs := map[string]string{}
	for _, e := range m.Entries {
		if e.Kind == KindBlob {
			blobs[e.Key] = e.SHA256
		}
	}
	for _, r := range refs {
		sum, ok := blobs[r.Key]
		switch {
		case !ok:
			return formatErr(databaseName, "refers to object %q (%s), which the archive lacks", r.Key, r.Where)
		case r.SHA256 != "" && r.SHA256 != sum:
			return formatErr(databaseName, "records SHA-256 %s for object %q (%s); the archive holds %s", r.SHA256, r.Key, r.Where, sum)
		}
	}

	key := opts.SecretKey
	if m.SecretKey == SecretInArchive {
		b, err := os.ReadFile(filepath.Join(staging, "secret.key"))
		if err != nil {
			return err
		}
		if opts.ParseSecret == nil {
			return errors.New("backup: RestoreOptions.ParseSecret is not set")
		}
		archived, err := opts.ParseSecret(b)
		if err != nil {
			return formatErr(dataPrefix+"secret.key", "%v", err)
		}
		if key != nil && !bytes.Equal(key, archived) {
			return errors.New("backup: VANBAN_SECRET_KEY is set and differs from the secret.key in the archive, which the restored installation was using: unset it to restore")
		}
		key = archived
	}
	var aopts audit.Options
	if anchors := filepath.Join(staging, "audit-anchors.jsonl"); fileExists(anchors) {
		aopts.AnchorFile = anchors
	}
	if key != nil {
		aopts.Key = audit.HeadKey(key)
	}
	rep, err := audit.VerifyWith(ctx, snap, aopts)
	problem := ""
	switch {
	case err != nil:
		problem = err.Error()
	case !rep.OK:
		problem = fmt.Sprintf("broken at sequence %d: %s", rep.FirstBadSeq, rep.Problem)
	}
	res.Audit = rep
	if problem != "" {
		if !opts.AcceptAuditBreak {
			return fmt.Errorf("%w: %s (nothing was restored; --accept-audit-break restores it anyway)", ErrAudit, problem)
		}
		res.AuditProblem = problem
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// moveIntoPlace renames the staged top-level entries into dataDir; if one
// rename fails, those done are moved back.
func moveIntoPlace(staging, dataDir string) error {
	entries, err := os.ReadDir(staging)
	if err != nil {
		return err
	}
	var moved []string
	for _, e := range entries {
		from, to := filepath.Join(staging, e.Name()), filepath.Join(dataDir, e.Name())
		if err := os.Rename(from, to); err != nil {
			for _, name := range moved {
				os.Rename(filepath.Join(dataDir, name), filepath.Join(staging, name))
			}
			return fmt.Errorf("backup: moving the restored %s into place: %w", e.Name(), err)
		}
		moved = append(moved, e.Name())
	}
	return nil
}
