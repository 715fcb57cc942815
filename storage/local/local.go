// Package local is the file-system backend of vanban/storage.
//
// Layout under the root directory:
//
//	objects/<key>   the content, byte for byte (an administrator can copy it out)
//	meta/<key>      JSON sidecar: sha256, size, content type, retain-until
//	tmp/            uploads in progress; renamed into place when complete
//
// All file access goes through os.Root, so no key, symlink or race can reach
// outside the root. Writes are temp file + fsync + rename + directory fsync,
// and the sidecar is written (atomically, the same way) before the content is
// renamed into place, so a crash can leave a sidecar without content (treated
// as absent) but never retained content without its retention date.
//
// One process should write a root at a time: the lock that keeps a reader from
// pairing new content with an old sidecar during an overwrite is in-process.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"vanban/storage"
)

const (
	objectsDir = "objects"
	metaDir    = "meta"
	tmpDir     = "tmp"

	// staleTempAge: temp files older than this are leftovers of a crash,
	// removed when a store is opened. Long enough that no live upload of
	// another process sharing the root is hit.
	staleTempAge = 24 * time.Hour

	defaultContentType = "application/octet-stream"
)

// Options configure a local store.
type Options struct {
	// LinkSecret signs PresignGet links (at least 32 bytes recommended).
	// When empty, a random per-process secret is used: links then stop
	// working after a restart and are not valid on another replica.
	LinkSecret []byte
	// LinkBaseURL is put in front of "/blobs/<key>?..." in links.
	LinkBaseURL string
}

// Store is a storage.Store on a local directory.
type Store struct {
	root    *os.Root
	dir     string
	secret  []byte
	baseURL string
	seed    maphash.Seed
	locks   [64]sync.RWMutex
}

var _ storage.Store = (*Store)(nil)

// New opens (creating if needed) a store rooted at dir, which must be an
// absolute path.
func New(dir string, opts Options) (*Store, error) {
	if !path.IsAbs(dir) {
		return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("root %q is not an absolute path", dir))
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, storage.E("open", "", nil, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, storage.E("open", "", nil, err)
	}
	for _, d := range []string{objectsDir, metaDir, tmpDir} {
		if err := root.Mkdir(d, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			root.Close()
			return nil, storage.E("open", "", nil, err)
		}
	}
	secret := opts.LinkSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	s := &Store{
		root:    root,
		dir:     dir,
		secret:  secret,
		baseURL: strings.TrimRight(opts.LinkBaseURL, "/"),
		seed:    maphash.MakeSeed(),
	}
	s.removeStaleTemps()
	return s, nil
}

// Close releases the root directory handle.
func (s *Store) Close() error { return s.root.Close() }

// Dir is the root directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) lock(key string) *sync.RWMutex {
	return &s.locks[maphash.String(s.seed, key)%uint64(len(s.locks))]
}

type meta struct {
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
}

func (m *meta) object(key string, fi fs.FileInfo) storage.Object {
	o := storage.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ContentType: defaultContentType}
	if m != nil {
		o.SHA256, _ = hex.DecodeString(m.SHA256)
		if m.ContentType != "" {
			o.ContentType = m.ContentType
		}
		o.RetainUntil = m.RetainUntil
	}
	return o
}

func objPath(key string) string  { return objectsDir + "/" + key }
func metaPath(key string) string { return metaDir + "/" + key }

// readMeta returns nil, nil when the object has no sidecar (written by an
// older version or lost): the object is then served without digest check.
func (s *Store) readMeta(key string) (*meta, error) {
	b, err := s.root.ReadFile(metaPath(key))
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("sidecar of %q: %w", key, err)
	}
	return &m, nil
}

// isNotExist also treats ENOTDIR as absent: "a/b" cannot exist when "a" is
// an object.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	if isNotExist(err) {
		return storage.E(op, key, storage.ErrNotExist, err)
	}
	return storage.E(op, key, nil, err)
}

// statObject returns the current object's info and sidecar. Callers hold
// the key's lock.
func (s *Store) statObject(key string) (fs.FileInfo, *meta, error) {
	fi, err := s.root.Stat(objPath(key))
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fs.ErrNotExist
	}
	m, err := s.readMeta(key)
	return fi, m, err
}

func retained(m *meta, now time.Time) bool {
	return m != nil && now.Before(m.RetainUntil)
}

func (s *Store) checkNotRetained(op, key string) error {
	_, m, err := s.statObject(key)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return wrap(op, key, err)
	}
	if retained(m, time.Now()) {
		return storage.E(op, key, storage.ErrRetained, fmt.Errorf("until %s", m.RetainUntil.UTC().Format(time.RFC3339)))
	}
	return nil
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts storage.PutOptions) (storage.Object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.Object{}, err
	}
	// Refuse early so a retained key does not cost a whole upload; the
	// check is repeated under the lock before anything is replaced.
	s.lock(key).RLock()
	err := s.checkNotRetained("put", key)
	s.lock(key).RUnlock()
	if err != nil {
		return storage.Object{}, err
	}
	tmp, hr, err := s.spool(ctx, key, r, opts.ExpectedSHA256)
	if err != nil {
		return storage.Object{}, err
	}
	m := &meta{SHA256: hex.EncodeToString(hr.Sum()), Size: hr.N(), ContentType: opts.ContentType, RetainUntil: opts.RetainUntil}
	l := s.lock(key)
	l.Lock()
	defer l.Unlock()
	if err := s.checkNotRetained("put", key); err != nil {
		s.root.Remove(tmp)
		return storage.Object{}, err
	}
	return s.commit("put", key, tmp, m)
}

// PutContentAddressed implements storage.Store. The content is spooled to a
// temp file while hashing (the key is only known at the end), then renamed
// to its content key; when that key already holds the content, the temp
// file is dropped and only a later retention date is recorded.
func (s *Store) PutContentAddressed(ctx context.Context, r io.Reader, opts storage.PutOptions) (storage.Object, error) {
	tmp, hr, err := s.spool(ctx, "", r, opts.ExpectedSHA256)
	if err != nil {
		return storage.Object{}, err
	}
	key := storage.ContentKey(hr.Sum())
	m := &meta{SHA256: hex.EncodeToString(hr.Sum()), Size: hr.N(), ContentType: opts.ContentType, RetainUntil: opts.RetainUntil}
	l := s.lock(key)
	l.Lock()
	defer l.Unlock()
	fi, old, err := s.statObject(key)
	switch {
	case err == nil && fi.Size() == hr.N() && s.contentMatches(key, hr.Sum()):
		s.root.Remove(tmp)
		if old == nil {
			// Content without sidecar (crash between the two
			// renames of an earlier put): record it now.
			return s.commitMeta("put", key, m, fi)
		}
		if old.RetainUntil.Before(opts.RetainUntil) {
			old.RetainUntil = opts.RetainUntil
			return s.commitMeta("put", key, old, fi)
		}
		return old.object(key, fi), nil
	case err != nil && !isNotExist(err):
		s.root.Remove(tmp)
		return storage.Object{}, wrap("put", key, err)
	}
	// Absent, or present but corrupted: the new
	// bytes are proven to match the key, so replacing them heals the
	// object even under retention. Keep the longer retention.
	if old != nil && old.RetainUntil.After(m.RetainUntil) {
		m.RetainUntil = old.RetainUntil
	}
	return s.commit("put", key, tmp, m)
}

// contentMatches re-hashes the stored content of a content key. Duplicate
// puts are rare and local reads are cheap, and it lets a re-put repair bit
// rot instead of silently keeping it.
func (s *Store) contentMatches(key string, want []byte) bool {
	f, err := s.root.Open(objPath(key))
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return bytes.Equal(h.Sum(nil), want)
}

// spool copies r to a new temp file, fsyncs it and returns its name. On
// error the temp file is already removed.
func (s *Store) spool(ctx context.Context, key string, r io.Reader, expected []byte) (string, *storage.HashingReader, error) {
	var rnd [12]byte
	rand.Read(rnd[:])
	tmp := tmpDir + "/put-" + hex.EncodeToString(rnd[:])
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", nil, wrap("put", key, err)
	}
	hr := storage.NewHashingReader(ctx, r, key, expected)
	defer hr.Close()
	_, err = io.Copy(f, hr)
	if err == nil {
		err = hr.Check()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(tmp)
		return "", nil, wrap("put", key, err)
	}
	return tmp, hr, nil
}

// commit writes the sidecar, then renames the spooled content into place.
// Callers hold the key's write lock.
func (s *Store) commit(op, key, tmp string, m *meta) (storage.Object, error) {
	if _, err := s.commitMeta(op, key, m, nil); err != nil {
		s.root.Remove(tmp)
		return storage.Object{}, err
	}
	dst := objPath(key)
	if err := s.mkdirAllSync(path.Dir(dst)); err != nil {
		s.root.Remove(tmp)
		return storage.Object{}, wrap(op, key, err)
	}
	if err := s.root.Rename(tmp, dst); err != nil {
		s.root.Remove(tmp)
		return storage.Object{}, wrap(op, key, err)
	}
	if err := s.syncDir(path.Dir(dst)); err != nil {
		return storage.Object{}, wrap(op, key, err)
	}
	fi, err := s.root.Stat(dst)
	if err != nil {
		return storage.Object{}, wrap(op, key, err)
	}
	return m.object(key, fi), nil
}

// commitMeta atomically replaces key's sidecar. fi, when given, is the
// content's info for the returned Object.
func (s *Store) commitMeta(op, key string, m *meta, fi fs.FileInfo) (storage.Object, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return storage.Object{}, wrap(op, key, err)
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	tmp := tmpDir + "/meta-" + hex.EncodeToString(rnd[:])
	err = s.writeFileSync(tmp, b)
	dst := metaPath(key)
	if err == nil {
		err = s.mkdirAllSync(path.Dir(dst))
	}
	if err == nil {
		err = s.root.Rename(tmp, dst)
	}
	if err != nil {
		s.root.Remove(tmp)
		return storage.Object{}, wrap(op, key, err)
	}
	if err := s.syncDir(path.Dir(dst)); err != nil {
		return storage.Object{}, wrap(op, key, err)
	}
	if fi == nil {
		return storage.Object{}, nil
	}
	return m.object(key, fi), nil
}

func (s *Store) writeFileSync(name string, b []byte) error {
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAllSync creates dir and its missing parents, fsyncing each parent
// that gained an entry so the new directories survive a crash.
func (s *Store) mkdirAllSync(dir string) error {
	if fi, err := s.root.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	parent := path.Dir(dir)
	if parent != "." {
		if err := s.mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := s.root.Mkdir(dir, 0o750); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return s.syncDir(parent)
}

func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// openObject opens key's content and reads its sidecar under the read lock,
// so both belong to the same put.
func (s *Store) openObject(op, key string) (*os.File, storage.Object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.Object{}, err
	}
	l := s.lock(key)
	l.RLock()
	f, err := s.root.Open(objPath(key))
	var m *meta
	if err == nil {
		m, err = s.readMeta(key)
		if err != nil {
			f.Close()
		}
	}
	l.RUnlock()
	if err != nil {
		return nil, storage.Object{}, wrap(op, key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, storage.Object{}, wrap(op, key, err)
	}
	return f, m.object(key, fi), nil
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.Object, error) {
	f, obj, err := s.openObject("get", key)
	if err != nil {
		return nil, storage.Object{}, err
	}
	return storage.NewVerifyingReader(f, key, storage.ExpectedDigest(key, obj.SHA256)), obj, nil
}

type sectionReadCloser struct {
	*io.SectionReader
	io.Closer
}

// GetRange implements storage.Store.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, storage.Object, error) {
	f, obj, err := s.openObject("get range", key)
	if err != nil {
		return nil, storage.Object{}, err
	}
	n, err := storage.ClipRange(obj.Size, offset, length)
	if err != nil {
		f.Close()
		return nil, storage.Object{}, storage.E("get range", key, storage.ErrInvalidRange, err)
	}
	return sectionReadCloser{io.NewSectionReader(f, offset, n), f}, obj, nil
}

type file struct {
	*os.File
	obj storage.Object
}

func (f *file) Size() int64          { return f.obj.Size }
func (f *file) Stat() storage.Object { return f.obj }

// Open implements storage.Store. The open descriptor keeps reading the
// content as it was, even if the key is replaced (rename swaps inodes).
func (s *Store) Open(ctx context.Context, key string) (storage.File, error) {
	f, obj, err := s.openObject("open", key)
	if err != nil {
		return nil, err
	}
	return &file{File: f, obj: obj}, nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.Object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.Object{}, err
	}
	l := s.lock(key)
	l.RLock()
	defer l.RUnlock()
	fi, m, err := s.statObject(key)
	if err != nil {
		return storage.Object{}, wrap("stat", key, err)
	}
	return m.object(key, fi), nil
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	l := s.lock(key)
	l.Lock()
	defer l.Unlock()
	_, m, err := s.statObject(key)
	if err != nil {
		return wrap("delete", key, err)
	}
	if retained(m, time.Now()) {
		return storage.E("delete", key, storage.ErrRetained, fmt.Errorf("until %s", m.RetainUntil.UTC().Format(time.RFC3339)))
	}
	// Content first: without it the sidecar alone means "absent".
	if err := s.root.Remove(objPath(key)); err != nil {
		return wrap("delete", key, err)
	}
	if err := s.syncDir(path.Dir(objPath(key))); err != nil {
		return wrap("delete", key, err)
	}
	if err := s.root.Remove(metaPath(key)); err != nil && !isNotExist(err) {
		return wrap("delete", key, err)
	}
	return nil
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.Object, error] {
	return func(yield func(storage.Object, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.Object{}, err)
			return
		}
		start := objectsDir
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			start += "/" + prefix[:i]
		}
		stop := false
		err := fs.WalkDir(s.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == start && isNotExist(err) {
					return fs.SkipAll
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			key := strings.TrimPrefix(p, objectsDir+"/")
			if d.IsDir() {
				// Skip subtrees that cannot match the prefix.
				if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) || storage.ValidateKey(key) != nil {
				return nil
			}
			obj, err := s.Stat(ctx, key)
			if isNotExist(err) {
				return nil // deleted while listing
			}
			if !yield(obj, err) {
				stop = true
				return fs.SkipAll
			}
			return nil
		})
		if err != nil && !stop {
			yield(storage.Object{}, wrap("list", prefix, err))
		}
	}
}

// Ping implements storage.Store: the root must be reachable and writable.
func (s *Store) Ping(ctx context.Context) error {
	var rnd [8]byte
	rand.Read(rnd[:])
	probe := tmpDir + "/ping-" + hex.EncodeToString(rnd[:])
	if err := s.writeFileSync(probe, nil); err != nil {
		return wrap("ping", "", err)
	}
	return wrap("ping", "", s.root.Remove(probe))
}

func (s *Store) removeStaleTemps() {
	entries, err := fs.ReadDir(s.root.FS(), tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTempAge {
			s.root.Remove(tmpDir + "/" + e.Name())
		}
	}
}

var _ storage.Retainer = (*Store)(nil)

// MaxRetention implements storage.Retainer.
func (s *Store) MaxRetention() time.Duration { return storage.DefaultMaxRetention }

// Retain implements storage.Retainer: the retention date is recorded in the
// object's sidecar, which Delete and Put consult. It only ever moves
// later. An object without a sidecar (an interrupted put) gets one, with
// the digest of its content.
func (s *Store) Retain(ctx context.Context, key string, until time.Time) (storage.Object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.Object{}, err
	}
	l := s.lock(key)
	l.Lock()
	defer l.Unlock()
	fi, m, err := s.statObject(key)
	if err != nil {
		return storage.Object{}, wrap("retain", key, err)
	}
	if m == nil {
		f, err := s.root.Open(objPath(key))
		if err != nil {
			return storage.Object{}, wrap("retain", key, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return storage.Object{}, wrap("retain", key, err)
		}
		m = &meta{SHA256: hex.EncodeToString(h.Sum(nil)), Size: fi.Size()}
	} else if !m.RetainUntil.Before(until) {
		return m.object(key, fi), nil
	}
	m.RetainUntil = until.UTC()
	return s.commitMeta("retain", key, m, fi)
}
