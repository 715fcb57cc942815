// Package s3 is the S3 backend of vanban/storage, built on minio-go and
// tested against MinIO.
//
// Retention uses S3 Object Lock in COMPLIANCE mode, which needs a bucket
// created with Object Lock (the store creates its bucket that way when it may
// create it). Such buckets are versioned: Delete removes every version of the
// key so the bytes are really gone, and refuses while any is retained.
//
// The SHA-256 of every object is recorded, so every full read is checked.
// It goes in user metadata (x-amz-meta-sha256) whenever it is known before
// the upload starts: objects that fit in one part (PartSize, 16 MiB by
// default, which covers nearly every PDF) are read into memory first and sent
// in one PUT with their digest; larger ones carry it when the caller passed
// ExpectedSHA256 or when they are content-addressed. A large Put without
// ExpectedSHA256 streams as a multipart upload, and as S3 metadata is fixed
// when an upload starts, its digest goes in an object tag (sha256) instead.
package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/tags"

	"vanban/storage"
)

const (
	// DefaultPartSize is the multipart part size and the largest object
	// sent in a single PUT. It is also the memory one Put holds.
	DefaultPartSize = 16 << 20

	metaSHA256 = "Sha256"
	tagSHA256  = "sha256"
	// tmpDir holds content-addressed uploads until their digest, hence
	// their key, is known. Its leading dot keeps it out of valid keys.
	tmpDir = ".tmp/"

	defaultContentType = "application/octet-stream"

	// readAhead is how much Open's ReaderAt fetches for a small read: a
	// PDF parser reads many small pieces close together.
	readAhead = 128 << 10

	// uploadThreads is how many parts of a large upload are in flight.
	// With our own first-part buffer, a large Put holds at most
	// (uploadThreads+1)*PartSize = 48 MiB by default, whatever its size.
	uploadThreads = 2
)

// Options configure a Store.
type Options struct {
	Endpoint  string // host:port
	Secure    bool   // https
	Region    string
	Bucket    string
	Prefix    string // prepended to every key; "" or ends in "/"
	AccessKey string
	SecretKey string
	// CreateBucket creates a missing bucket, with Object Lock enabled.
	CreateBucket bool
	// PartSize overrides DefaultPartSize (at least 5 MiB).
	PartSize int64
	// Transport overrides the HTTP transport (tests, custom CAs).
	Transport http.RoundTripper
}

// Store is a storage.Store on an S3 bucket.
type Store struct {
	c        *minio.Client
	single   minio.Core
	bucket   string
	prefix   string
	partSize int64
	locking  bool // Object Lock enabled, hence versioning too
	bufs     sync.Pool
}

var _ storage.Store = (*Store)(nil)

// New connects to the bucket, creating it if allowed, and checks that it is
// not readable anonymously.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, storage.E("open", "", storage.ErrInvalidURL, errors.New("s3: endpoint and bucket are required"))
	}
	if opts.AccessKey == "" || opts.SecretKey == "" {
		return nil, storage.E("open", "", storage.ErrInvalidURL, errors.New("s3: credentials missing (set VANBAN_S3_ACCESS_KEY and VANBAN_S3_SECRET_KEY, or their _FILE variants)"))
	}
	if opts.Prefix != "" {
		if err := storage.ValidateKey(strings.TrimSuffix(opts.Prefix, "/")); err != nil || !strings.HasSuffix(opts.Prefix, "/") {
			return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("s3: prefix %q must be a valid key ending in /", opts.Prefix))
		}
	}
	partSize := opts.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < 5<<20 {
		return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("s3: part size %d below the S3 minimum of 5 MiB", partSize))
	}
	transport := opts.Transport
	if transport == nil {
		tr, err := minio.DefaultTransport(opts.Secure)
		if err != nil {
			return nil, storage.E("open", "", nil, fmt.Errorf("s3: %w", err))
		}
		transport = tr
	}
	// Two clients on one connection pool: c adds trailing CRC32C
	// checksums to multipart parts, whose payload SHA-256 we do not let
	// minio-go compute (see putOptions); single is for single PUTs signed
	// with our own SHA-256, which minio-go refuses to combine with a
	// trailer.
	newClient := func(trailing bool) (*minio.Client, error) {
		return minio.New(opts.Endpoint, &minio.Options{
			Creds:           credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
			Secure:          opts.Secure,
			Region:          opts.Region,
			Transport:       transport,
			TrailingHeaders: trailing,
		})
	}
	c, err := newClient(true)
	if err != nil {
		return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("s3: %w", err))
	}
	single, err := newClient(false)
	if err != nil {
		return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("s3: %w", err))
	}
	s := &Store{c: c, single: minio.Core{Client: single}, bucket: opts.Bucket, prefix: opts.Prefix, partSize: partSize}
	s.bufs.New = func() any { b := make([]byte, partSize); return &b }

	exists, err := c.BucketExists(ctx, opts.Bucket)
	if err != nil {
		return nil, storage.E("open", "", nil, fmt.Errorf("s3: bucket %s: %w", opts.Bucket, err))
	}
	if !exists {
		if !opts.CreateBucket {
			return nil, storage.E("open", "", storage.ErrNotExist, fmt.Errorf("s3: bucket %s does not exist", opts.Bucket))
		}
		err := c.MakeBucket(ctx, opts.Bucket, minio.MakeBucketOptions{Region: opts.Region, ObjectLocking: true})
		if err != nil && !isCode(err, "BucketAlreadyOwnedByYou") {
			return nil, storage.E("open", "", nil, fmt.Errorf("s3: creating bucket %s: %w", opts.Bucket, err))
		}
		if err == nil {
			if err := c.SetBucketLifecycle(ctx, opts.Bucket, cleanupRules(opts.Prefix)); err != nil {
				return nil, storage.E("open", "", nil, fmt.Errorf("s3: setting lifecycle of %s: %w", opts.Bucket, err))
			}
		}
	}
	lock, _, _, _, err := c.GetObjectLockConfig(ctx, opts.Bucket)
	switch {
	case err == nil:
		s.locking = lock == "Enabled"
	case isCode(err, "ObjectLockConfigurationNotFoundError"):
	default:
		return nil, storage.E("open", "", nil, fmt.Errorf("s3: reading object lock configuration of %s: %w", opts.Bucket, err))
	}
	if err := s.checkNotPublic(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// cleanupRules make the server remove the temporary objects of
// content-addressed puts that a crashed process leaves behind. Nothing else
// expires: documents are kept until deleted. Unfinished multipart uploads
// are not covered: MinIO rejects the AbortIncompleteMultipartUpload rule and
// removes them itself after 24 h; on AWS, add that rule to the bucket.
func cleanupRules(prefix string) *lifecycle.Configuration {
	cfg := lifecycle.NewConfiguration()
	cfg.Rules = []lifecycle.Rule{{
		ID:                          "vanban-expire-temporary-uploads",
		Status:                      "Enabled",
		RuleFilter:                  lifecycle.Filter{Prefix: prefix + tmpDir},
		Expiration:                  lifecycle.Expiration{Days: 1},
		NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 1},
	}}
	return cfg
}

// checkNotPublic refuses a bucket whose policy lets anyone read: official
// documents are only handed out through short-lived presigned links.
func (s *Store) checkNotPublic(ctx context.Context) error {
	policy, err := s.c.GetBucketPolicy(ctx, s.bucket)
	if err != nil {
		// A least-privilege key may not read the policy; then the
		// operator, not the store, answers for it.
		if isCode(err, "NoSuchBucketPolicy") || isCode(err, "AccessDenied") {
			return nil
		}
		return storage.E("open", "", nil, fmt.Errorf("s3: reading policy of %s: %w", s.bucket, err))
	}
	if policy != "" && policyAllowsAnonymous(policy) {
		return storage.E("open", "", nil, fmt.Errorf("s3: bucket %s has a policy that allows anonymous access; remove it", s.bucket))
	}
	return nil
}

func policyAllowsAnonymous(policy string) bool {
	var p struct {
		Statement []struct {
			Effect    string
			Principal json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		return true // unreadable: assume the worst
	}
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		var any string
		if json.Unmarshal(st.Principal, &any) == nil && any == "*" {
			return true
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(st.Principal, &m) == nil {
			for _, v := range m {
				var one string
				var many []string
				if json.Unmarshal(v, &one) == nil && one == "*" {
					return true
				}
				if json.Unmarshal(v, &many) == nil && contains(many, "*") {
					return true
				}
			}
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Client is the underlying minio client, for administration and tests.
func (s *Store) Client() *minio.Client { return s.c }

// Bucket is the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// ObjectName is the S3 object name of key.
func (s *Store) ObjectName(key string) string { return s.prefix + key }

// Locking reports whether the bucket has Object Lock, i.e. whether
// RetainUntil can be honoured.
func (s *Store) Locking() bool { return s.locking }

func isCode(err error, code string) bool {
	return minio.ToErrorResponse(err).Code == code
}

// wrap maps minio errors to storage kinds. A done ctx wins, so cancelled
// calls are recognisable whatever minio made of the cancellation.
func wrap(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", cerr, err)
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchVersion" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return storage.E(op, key, storage.ErrNotExist, err)
	case resp.Code == "InvalidRange":
		return storage.E(op, key, storage.ErrInvalidRange, err)
	case isWORM(resp):
		return storage.E(op, key, storage.ErrRetained, err)
	}
	return storage.E(op, key, nil, err)
}

// WrapError maps an error of the minio client (e.g. from Client) to the
// storage error kinds, as the Store's own methods do.
func WrapError(err error) error {
	return wrap(context.Background(), "s3", "", err)
}

// isWORM recognises the refusal to delete or overwrite a locked version:
// MinIO answers InvalidRequest or AccessDenied "Object is WORM protected",
// AWS AccessDenied "... protected by object lock".
func isWORM(resp minio.ErrorResponse) bool {
	if resp.Code != "AccessDenied" && resp.Code != "InvalidRequest" {
		return false
	}
	m := strings.ToLower(resp.Message)
	return strings.Contains(m, "worm") || strings.Contains(m, "object lock")
}

func (s *Store) object(key string, info minio.ObjectInfo) storage.Object {
	o := storage.Object{Key: key, Size: info.Size, ModTime: info.LastModified, ContentType: info.ContentType}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, metaSHA256) {
			o.SHA256, _ = hex.DecodeString(v)
		}
	}
	if o.ContentType == "" {
		o.ContentType = defaultContentType
	}
	if v := info.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); v != "" {
		o.RetainUntil, _ = time.Parse(time.RFC3339, v)
	}
	return o
}

func (s *Store) stat(ctx context.Context, op, key string) (minio.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return minio.ObjectInfo{}, err
	}
	info, err := s.c.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return minio.ObjectInfo{}, wrap(ctx, op, key, err)
	}
	return info, nil
}

func retainedUntil(info minio.ObjectInfo) (time.Time, bool) {
	v := info.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date")
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, true // unparsable: the server will decide; assume locked
	}
	return t, time.Now().Before(t)
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.Object, error) {
	info, err := s.stat(ctx, "stat", key)
	if err != nil {
		return storage.Object{}, err
	}
	return s.describe(ctx, "stat", key, info)
}

// describe is object plus the digest of large objects put without a known
// digest, which is kept in an object tag (see putLarge). The extra request
// is made only for objects that have tags and no digest metadata.
func (s *Store) describe(ctx context.Context, op, key string, info minio.ObjectInfo) (storage.Object, error) {
	obj := s.object(key, info)
	if obj.SHA256 != nil || info.UserTagCount == 0 {
		return obj, nil
	}
	t, err := s.c.GetObjectTagging(ctx, s.bucket, s.prefix+key, minio.GetObjectTaggingOptions{VersionID: info.VersionID})
	if err != nil {
		return storage.Object{}, wrap(ctx, op, key, err)
	}
	if v, ok := t.ToMap()[tagSHA256]; ok {
		obj.SHA256, _ = hex.DecodeString(v)
	}
	return obj, nil
}

func (s *Store) checkRetention(op string, opts storage.PutOptions) error {
	if !opts.RetainUntil.IsZero() && !s.locking {
		return storage.E(op, "", storage.ErrRetentionUnsupported, fmt.Errorf("bucket %s has no Object Lock", s.bucket))
	}
	return nil
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts storage.PutOptions) (storage.Object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.Object{}, err
	}
	if err := s.checkRetention("put", opts); err != nil {
		return storage.Object{}, err
	}
	// The server would keep a retained version anyway (a put adds a
	// version), but to readers the key would change; refuse as local does.
	info, err := s.c.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	switch {
	case err == nil:
		if until, locked := retainedUntil(info); locked {
			return storage.Object{}, storage.E("put", key, storage.ErrRetained, fmt.Errorf("until %s", until.UTC().Format(time.RFC3339)))
		}
	case !errors.Is(wrap(ctx, "put", key, err), storage.ErrNotExist):
		return storage.Object{}, wrap(ctx, "put", key, err)
	}
	hr := storage.NewHashingReader(ctx, r, key, opts.ExpectedSHA256)
	defer hr.Close()
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	n, err := io.ReadFull(hr, *bp)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		if err := hr.Check(); err != nil {
			return storage.Object{}, wrap(ctx, "put", key, err)
		}
		return s.putSmall(ctx, "put", key, (*bp)[:n], hr.Sum(), opts)
	case nil:
		return s.putLarge(ctx, "put", key, io.MultiReader(bytes.NewReader(*bp), hr), hr, opts.ExpectedSHA256, opts)
	default:
		return storage.Object{}, wrap(ctx, "put", key, err)
	}
}

func (s *Store) putOptions(sum []byte, opts storage.PutOptions) minio.PutObjectOptions {
	po := minio.PutObjectOptions{
		ContentType: opts.ContentType,
		PartSize:    uint64(s.partSize),
		// We hash every byte ourselves; letting minio-go hash them again
		// for the V4 payload signature (it does so on plain http only)
		// doubled the CPU cost of a put. Single PUTs are signed with our
		// own digest instead (putSmall), parts carry a CRC32C.
		DisableContentSha256: true,
	}
	if po.ContentType == "" {
		po.ContentType = defaultContentType
	}
	if sum != nil {
		po.UserMetadata = map[string]string{metaSHA256: hex.EncodeToString(sum)}
	}
	return po
}

// concurrentParts lets minio-go fill parts serially from the stream and
// upload up to uploadThreads of them at once, as it does on its own only
// when the size is known. minio-go then holds uploadThreads*PartSize, on top
// of our own first-part buffer.
func (s *Store) concurrentParts(po *minio.PutObjectOptions) {
	po.ConcurrentStreamParts = true
	po.NumThreads = uploadThreads
}

// putSmall sends content already in memory (and so already verified) in one
// PUT, with its digest and retention. The request is signed with our SHA-256
// as its payload hash, so the server itself rejects the upload if the bytes
// it receives differ from those we hashed.
func (s *Store) putSmall(ctx context.Context, op, key string, b, sum []byte, opts storage.PutOptions) (storage.Object, error) {
	po := s.putOptions(sum, opts)
	if !opts.RetainUntil.IsZero() {
		po.Mode = minio.Compliance
		po.RetainUntilDate = opts.RetainUntil
	}
	info, err := s.single.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(b), int64(len(b)), "", hex.EncodeToString(sum), po)
	if err != nil {
		return storage.Object{}, wrap(ctx, op, key, err)
	}
	return storage.Object{Key: key, Size: info.Size, SHA256: sum, ContentType: po.ContentType, ModTime: modTime(info), RetainUntil: opts.RetainUntil}, nil
}

func modTime(info minio.UploadInfo) time.Time {
	if info.LastModified.IsZero() {
		return time.Now()
	}
	return info.LastModified
}

// putLarge streams r as a multipart upload. hr is the hashing reader at the
// end of r: a digest mismatch or a cancelled ctx makes it fail the read, and
// minio-go then aborts the upload, so nothing is completed. Retention is
// applied only once the content is verified, because a COMPLIANCE-locked
// version could never be removed again.
func (s *Store) putLarge(ctx context.Context, op, key string, r io.Reader, hr *storage.HashingReader, recordSum []byte, opts storage.PutOptions) (storage.Object, error) {
	po := s.putOptions(recordSum, opts)
	s.concurrentParts(&po)
	info, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, r, -1, po)
	if err == nil {
		err = hr.Check()
		if err != nil {
			// Unreachable unless minio-go completed an upload without
			// reading to EOF; do not leave a wrong object behind.
			s.removeVersion(s.prefix+key, info.VersionID)
		}
	}
	if err != nil {
		return storage.Object{}, wrap(ctx, op, key, err)
	}
	if recordSum == nil {
		// The digest became known only now, too late for metadata.
		// An object without its digest could never be verified, so
		// failing to record it undoes the put.
		if err := s.tagDigest(ctx, s.prefix+key, info.VersionID, hr.Sum()); err != nil {
			s.removeVersion(s.prefix+key, info.VersionID)
			return storage.Object{}, wrap(ctx, op, key, err)
		}
	}
	obj := storage.Object{Key: key, Size: info.Size, SHA256: hr.Sum(), ContentType: po.ContentType, ModTime: modTime(info)}
	if !opts.RetainUntil.IsZero() {
		if err := s.setRetention(ctx, s.prefix+key, info.VersionID, opts.RetainUntil); err != nil {
			// Not locked yet, so it can still be undone.
			s.removeVersion(s.prefix+key, info.VersionID)
			return storage.Object{}, wrap(ctx, op, key, err)
		}
		obj.RetainUntil = opts.RetainUntil
	}
	return obj, nil
}

func (s *Store) tagDigest(ctx context.Context, name, versionID string, sum []byte) error {
	t, err := tags.NewTags(map[string]string{tagSHA256: hex.EncodeToString(sum)}, true)
	if err != nil {
		return err
	}
	return s.c.PutObjectTagging(ctx, s.bucket, name, t, minio.PutObjectTaggingOptions{VersionID: versionID})
}

func (s *Store) setRetention(ctx context.Context, name, versionID string, until time.Time) error {
	mode := minio.Compliance
	return s.c.PutObjectRetention(ctx, s.bucket, name, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until, VersionID: versionID})
}

// removeVersion deletes one version outright, even when ctx is done: it
// cleans up after a failed or cancelled operation.
func (s *Store) removeVersion(name, versionID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{VersionID: versionID})
}

// PutContentAddressed implements storage.Store. Small content is hashed in
// memory and put straight to its key. Large content whose digest the caller
// knows streams straight to its key as well. Otherwise the key is unknown
// until the last byte: the content streams to a temporary object, then a
// server-side copy puts it under its key, with its digest recorded (a copy,
// because S3 cannot rename, and metadata cannot be added to a finished
// multipart upload), and the temporary object is removed.
func (s *Store) PutContentAddressed(ctx context.Context, r io.Reader, opts storage.PutOptions) (storage.Object, error) {
	if err := s.checkRetention("put", opts); err != nil {
		return storage.Object{}, err
	}
	hr := storage.NewHashingReader(ctx, r, "", opts.ExpectedSHA256)
	defer hr.Close()
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	n, err := io.ReadFull(hr, *bp)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if err := hr.Check(); err != nil {
			return storage.Object{}, wrap(ctx, "put", "", err)
		}
		key := storage.ContentKey(hr.Sum())
		if obj, ok, err := s.existing(ctx, key, int64(n), opts); ok || err != nil {
			return obj, err
		}
		return s.putSmall(ctx, "put", key, (*bp)[:n], hr.Sum(), opts)
	case err != nil:
		return storage.Object{}, wrap(ctx, "put", "", err)
	}
	rest := io.MultiReader(bytes.NewReader(*bp), hr)
	if len(opts.ExpectedSHA256) > 0 {
		key := storage.ContentKey(opts.ExpectedSHA256)
		info, err := s.c.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
		if err == nil {
			// Already stored: still read everything, so a caller whose
			// stream does not match its claimed digest hears about it.
			if _, err := io.Copy(io.Discard, rest); err != nil {
				return storage.Object{}, wrap(ctx, "put", key, err)
			}
			if err := hr.Check(); err != nil {
				return storage.Object{}, wrap(ctx, "put", key, err)
			}
			obj, _, err := s.existing(ctx, key, info.Size, opts)
			return obj, err
		}
		return s.putLarge(ctx, "put", key, rest, hr, opts.ExpectedSHA256, opts)
	}

	var rnd [16]byte
	rand.Read(rnd[:])
	tmp := s.prefix + tmpDir + hex.EncodeToString(rnd[:])
	po := s.putOptions(nil, opts)
	s.concurrentParts(&po)
	info, err := s.c.PutObject(ctx, s.bucket, tmp, rest, -1, po)
	if err != nil {
		return storage.Object{}, wrap(ctx, "put", "", err)
	}
	defer s.removeVersion(tmp, info.VersionID)
	if err := hr.Check(); err != nil {
		return storage.Object{}, wrap(ctx, "put", "", err)
	}
	key := storage.ContentKey(hr.Sum())
	if obj, ok, err := s.existing(ctx, key, info.Size, opts); ok || err != nil {
		return obj, err
	}
	dst := minio.CopyDestOptions{
		Bucket:          s.bucket,
		Object:          s.prefix + key,
		UserMetadata:    map[string]string{metaSHA256: hex.EncodeToString(hr.Sum())},
		ReplaceMetadata: true,
		ContentType:     po.ContentType,
	}
	if !opts.RetainUntil.IsZero() {
		dst.Mode = minio.Compliance
		dst.RetainUntilDate = opts.RetainUntil
	}
	cinfo, err := s.c.ComposeObject(ctx, dst, minio.CopySrcOptions{Bucket: s.bucket, Object: tmp, VersionID: info.VersionID})
	if err != nil {
		return storage.Object{}, wrap(ctx, "put", key, err)
	}
	return storage.Object{Key: key, Size: info.Size, SHA256: hr.Sum(), ContentType: po.ContentType, ModTime: modTime(cinfo), RetainUntil: opts.RetainUntil}, nil
}

// existing returns the object already stored under a content key (ok), after
// extending its retention to opts.RetainUntil if that is later. An object of
// the wrong size is corrupt and reported as absent, so the caller replaces
// it with the proven content.
func (s *Store) existing(ctx context.Context, key string, size int64, opts storage.PutOptions) (storage.Object, bool, error) {
	info, err := s.c.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		if werr := wrap(ctx, "put", key, err); !errors.Is(werr, storage.ErrNotExist) {
			return storage.Object{}, false, werr
		}
		return storage.Object{}, false, nil
	}
	if info.Size != size {
		return storage.Object{}, false, nil
	}
	obj := s.object(key, info)
	if opts.RetainUntil.After(obj.RetainUntil) {
		if err := s.setRetention(ctx, s.prefix+key, info.VersionID, opts.RetainUntil); err != nil {
			return storage.Object{}, false, wrap(ctx, "put", key, err)
		}
		obj.RetainUntil = opts.RetainUntil
	}
	return obj, true, nil
}

// Get implements storage.Store, with a single GET (minio-go's Object.Stat
// would add a HEAD).
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.Object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.Object{}, err
	}
	body, info, _, err := s.core().GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, storage.Object{}, wrap(ctx, "get", key, err)
	}
	obj, err := s.describe(ctx, "get", key, info)
	if err != nil {
		body.Close()
		return nil, storage.Object{}, err
	}
	return largeReads{storage.NewVerifyingReader(body, key, storage.ExpectedDigest(key, obj.SHA256))}, obj, nil
}

// copyBlock is the block Get's reader is copied in. Callers' io.Copy buffers
// are small (8 KiB into io.Discard, 32 KiB into a net/http response), and
// every read costs the verifying reader a hand-off to its hashing goroutine;
// with 256 KiB reads the SHA-256 keeps up with the download instead of
// costing a third of it (BenchmarkGet against BenchmarkRawMinioGet).
const copyBlock = 256 << 10

var copyBlocks = sync.Pool{New: func() any { b := make([]byte, copyBlock); return &b }}

// largeReads is Get's reader: io.Copy prefers its WriteTo, which reads in
// copyBlock blocks.
type largeReads struct{ io.ReadCloser }

func (l largeReads) WriteTo(w io.Writer) (int64, error) {
	bp := copyBlocks.Get().(*[]byte)
	defer copyBlocks.Put(bp)
	// The anonymous structs hide w's ReadFrom and our own WriteTo, either
	// of which io.CopyBuffer would use instead of the buffer.
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{l.ReadCloser}, *bp)
}

func (s *Store) core() minio.Core { return minio.Core{Client: s.c} }

// GetRange implements storage.Store. The range is fetched from the version
// that was stat'ed, so size and bytes agree even if the key is replaced.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, storage.Object, error) {
	info, err := s.stat(ctx, "get range", key)
	if err != nil {
		return nil, storage.Object{}, err
	}
	n, err := storage.ClipRange(info.Size, offset, length)
	if err != nil {
		return nil, storage.Object{}, storage.E("get range", key, storage.ErrInvalidRange, err)
	}
	obj, err := s.describe(ctx, "get range", key, info)
	if err != nil {
		return nil, storage.Object{}, err
	}
	if n == 0 {
		return io.NopCloser(bytes.NewReader(nil)), obj, nil
	}
	body, _, _, err := s.core().GetObject(ctx, s.bucket, s.prefix+key, pinned(info, offset, offset+n-1))
	if err != nil {
		return nil, storage.Object{}, wrap(ctx, "get range", key, err)
	}
	return body, obj, nil
}

// pinned returns options reading [start, end] of exactly the version info
// describes: by version ID on versioned buckets, else by ETag.
func pinned(info minio.ObjectInfo, start, end int64) minio.GetObjectOptions {
	var o minio.GetObjectOptions
	if info.VersionID != "" && info.VersionID != "null" {
		o.VersionID = info.VersionID
	} else {
		o.SetMatchETag(info.ETag)
	}
	o.SetRange(start, end)
	return o
}

// Open implements storage.Store. Reads are ranged GETs of the version that
// was current at Open, through a small read-ahead cache. The File keeps ctx
// and fails its reads once ctx is done.
func (s *Store) Open(ctx context.Context, key string) (storage.File, error) {
	info, err := s.stat(ctx, "open", key)
	if err != nil {
		return nil, err
	}
	obj, err := s.describe(ctx, "open", key, info)
	if err != nil {
		return nil, err
	}
	return &file{ctx: ctx, s: s, key: key, info: info, obj: obj}, nil
}

type file struct {
	ctx  context.Context
	s    *Store
	key  string
	info minio.ObjectInfo
	obj  storage.Object

	mu       sync.Mutex
	blockOff int64
	block    []byte
}

func (f *file) Size() int64          { return f.obj.Size }
func (f *file) Stat() storage.Object { return f.obj }
func (f *file) Close() error         { return nil }

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, storage.E("read", f.key, storage.ErrInvalidRange, fmt.Errorf("negative offset %d", off))
	}
	if off >= f.obj.Size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.obj.Size-off)
	var eof error
	if want < int64(len(p)) {
		eof = io.EOF
	}
	f.mu.Lock()
	if off >= f.blockOff && off+want <= f.blockOff+int64(len(f.block)) {
		copy(p, f.block[off-f.blockOff:])
		f.mu.Unlock()
		return int(want), eof
	}
	f.mu.Unlock()
	if want >= readAhead {
		// Big reads go straight into p.
		if err := f.fetch(p[:want], off); err != nil {
			return 0, err
		}
		return int(want), eof
	}
	block := make([]byte, min(readAhead, f.obj.Size-off))
	if err := f.fetch(block, off); err != nil {
		return 0, err
	}
	copy(p, block)
	f.mu.Lock()
	f.blockOff, f.block = off, block
	f.mu.Unlock()
	return int(want), eof
}

func (f *file) fetch(dst []byte, off int64) error {
	body, _, _, err := f.s.core().GetObject(f.ctx, f.s.bucket, f.s.prefix+f.key, pinned(f.info, off, off+int64(len(dst))-1))
	if err != nil {
		return wrap(f.ctx, "read", f.key, err)
	}
	defer body.Close()
	if _, err := io.ReadFull(body, dst); err != nil {
		return wrap(f.ctx, "read", f.key, err)
	}
	return nil
}

// Delete implements storage.Store: every version of the key is removed, so
// the content is really gone, not hidden behind a delete marker. All versions
// are checked for retention before any is removed, so a refused Delete
// changes nothing.
func (s *Store) Delete(ctx context.Context, key string) error {
	info, err := s.stat(ctx, "delete", key)
	if err != nil {
		return err
	}
	if until, locked := retainedUntil(info); locked {
		return storage.E("delete", key, storage.ErrRetained, fmt.Errorf("until %s", until.UTC().Format(time.RFC3339)))
	}
	name := s.prefix + key
	if !s.locking {
		return wrap(ctx, "delete", key, s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}))
	}
	var versions []string
	for v := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: name, WithVersions: true, Recursive: true}) {
		if v.Err != nil {
			return wrap(ctx, "delete", key, v.Err)
		}
		if v.Key != name {
			continue
		}
		if !v.IsDeleteMarker && v.VersionID != info.VersionID {
			vi, err := s.c.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{VersionID: v.VersionID})
			if err != nil {
				return wrap(ctx, "delete", key, err)
			}
			if until, locked := retainedUntil(vi); locked {
				return storage.E("delete", key, storage.ErrRetained, fmt.Errorf("an older version is retained until %s", until.UTC().Format(time.RFC3339)))
			}
		}
		versions = append(versions, v.VersionID)
	}
	for _, id := range versions {
		if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{VersionID: id}); err != nil {
			return wrap(ctx, "delete", key, err)
		}
	}
	return nil
}

// List implements storage.Store. It fills Key, Size and ModTime only; Stat
// gives the rest.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.Object, error] {
	return func(yield func(storage.Object, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.Object{}, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops minio's listing goroutine on early break
		for info := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
			if info.Err != nil {
				yield(storage.Object{}, wrap(ctx, "list", prefix, info.Err))
				return
			}
			key := strings.TrimPrefix(info.Key, s.prefix)
			if storage.ValidateKey(key) != nil {
				continue // temporary uploads, foreign objects
			}
			if !yield(storage.Object{Key: key, Size: info.Size, ModTime: info.LastModified}, nil) {
				return
			}
		}
	}
}

// PresignGet implements storage.Store with an S3 presigned URL.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	if _, err := s.stat(ctx, "presign", key); err != nil {
		return "", err
	}
	params := url.Values{}
	if filename != "" {
		params.Set("response-content-disposition", storage.ContentDisposition(filename))
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, s.prefix+key, storage.ClampTTL(ttl), params)
	if err != nil {
		return "", wrap(ctx, "presign", key, err)
	}
	return u.String(), nil
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return wrap(ctx, "ping", "", err)
	}
	if !ok {
		return storage.E("ping", "", storage.ErrNotExist, fmt.Errorf("bucket %s is gone", s.bucket))
	}
	return nil
}

var _ storage.Retainer = (*Store)(nil)

// MaxRetention implements storage.Retainer.
func (s *Store) MaxRetention() time.Duration { return storage.DefaultMaxRetention }

// Retain implements storage.Retainer with S3 Object Lock in COMPLIANCE mode
// on the object's current version: until the date no one, the bucket's
// owner included, can delete that version or shorten its retention. It is
// only ever extended; a bucket without Object Lock gives
// ErrRetentionUnsupported.
func (s *Store) Retain(ctx context.Context, key string, until time.Time) (storage.Object, error) {
	if !s.locking {
		return storage.Object{}, storage.E("retain", key, storage.ErrRetentionUnsupported, fmt.Errorf("bucket %s has no Object Lock", s.bucket))
	}
	info, err := s.stat(ctx, "retain", key)
	if err != nil {
		return storage.Object{}, err
	}
	// S3 keeps whole seconds; round up so the date asked for is covered.
	until = until.UTC().Truncate(time.Second)
	if current, _ := retainedUntil(info); !current.Before(until) {
		return s.describe(ctx, "retain", key, info)
	}
	mode := minio.Compliance
	if err := s.c.PutObjectRetention(ctx, s.bucket, s.prefix+key, minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until, VersionID: info.VersionID,
	}); err != nil {
		return storage.Object{}, wrap(ctx, "retain", key, err)
	}
	info, err = s.stat(ctx, "retain", key)
	if err != nil {
		return storage.Object{}, err
	}
	return s.describe(ctx, "retain", key, info)
}
