package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"vanban/storage"
	"vanban/storage/s3"
	"vanban/storage/s3/s3test"
	"vanban/storage/storagetest"
)

func TestMain(m *testing.M) { s3test.Main(m) }

const testBucket = "vanban-test"

func randomPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "p" + hex.EncodeToString(b[:]) + "/"
}

// newStore opens the shared lock-enabled test bucket under a fresh prefix,
// so tests cannot see each other's objects.
func newStore(t testing.TB) *s3.Store {
	t.Helper()
	srv := s3test.StartServer(t)
	s, err := s3.New(context.Background(), s3.Options{
		Endpoint: srv.Endpoint, Secure: srv.Secure, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Bucket: testBucket, Prefix: randomPrefix(), CreateBucket: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Locking() {
		t.Fatal("bucket created by the store has no Object Lock")
	}
	t.Cleanup(func() { removePrefix(s) })
	return s
}

// removePrefix deletes what a test left under its prefix (all versions), so
// a long-lived server named by VANBAN_TEST_S3 does not fill up. Versions
// still retained are left to expire.
func removePrefix(s *s3.Store) {
	ctx := context.Background()
	for v := range s.Client().ListObjects(ctx, s.Bucket(), minio.ListObjectsOptions{Prefix: s.ObjectName(""), Recursive: true, WithVersions: true}) {
		if v.Err != nil {
			return
		}
		s.Client().RemoveObject(ctx, s.Bucket(), v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID})
	}
}

// harness adds the suite's test-only hook: it rewrites an object through the
// raw client, with the same metadata, as tampering on the server would.
type harness struct{ *s3.Store }

func (h harness) Corrupt(t testing.TB, key string) {
	t.Helper()
	ctx := context.Background()
	c, name := h.Client(), h.ObjectName(key)
	o, err := c.GetObject(ctx, h.Bucket(), name, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := o.Stat()
	o.Close()
	b[0] ^= 0xff
	t2, err := c.GetObjectTagging(ctx, h.Bucket(), name, minio.GetObjectTaggingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PutObject(ctx, h.Bucket(), name, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{UserMetadata: info.UserMetadata, UserTags: t2.ToMap(), ContentType: info.ContentType})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := newStore(t)
		t.Cleanup(func() { checkNoLeftovers(t, s) })
		return harness{s}
	})
}

// checkNoLeftovers asserts that no temporary object and no unfinished
// multipart upload remains under the store's prefix.
func checkNoLeftovers(t *testing.T, s *s3.Store) {
	ctx := context.Background()
	prefix := s.ObjectName("")
	for obj := range s.Client().ListObjects(ctx, s.Bucket(), minio.ListObjectsOptions{Prefix: prefix + ".tmp/", Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		t.Errorf("leftover temporary object %s (version %s)", obj.Key, obj.VersionID)
	}
	for up := range s.Client().ListIncompleteUploads(ctx, s.Bucket(), prefix, true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		t.Errorf("leftover multipart upload of %s", up.Key)
	}
}

func TestAnonymousAccessDenied(t *testing.T) {
	s := newStore(t)
	srv := s3test.StartServer(t)
	if _, err := s.Put(t.Context(), "secret.pdf", strings.NewReader("official"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"http://" + srv.Endpoint + "/" + testBucket + "/" + s.ObjectName("secret.pdf"),
		"http://" + srv.Endpoint + "/" + testBucket + "?list-type=2",
	} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || bytes.Contains(body, []byte("official")) {
			t.Fatalf("anonymous GET %s: %s %q", u, resp.Status, body)
		}
	}
}

func rawClient(t *testing.T) *minio.Client {
	srv := s3test.StartServer(t)
	c, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Secure: srv.Secure})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPublicBucketRefused(t *testing.T) {
	srv := s3test.StartServer(t)
	c := rawClient(t)
	bucket := "vanban-public-" + strings.TrimSuffix(randomPrefix(), "/")
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.RemoveBucketWithOptions(context.Background(), bucket, minio.RemoveBucketOptions{ForceDelete: true})
	})
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/*"]}]}`
	if err := c.SetBucketPolicy(t.Context(), bucket, policy); err != nil {
		t.Fatal(err)
	}
	_, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: bucket})
	if err == nil || !strings.Contains(err.Error(), "anonymous") {
		t.Fatalf("opening a public bucket: %v", err)
	}
}

func TestBucketWithoutLock(t *testing.T) {
	srv := s3test.StartServer(t)
	c := rawClient(t)
	bucket := "vanban-nolock-" + strings.TrimSuffix(randomPrefix(), "/")
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.RemoveBucketWithOptions(context.Background(), bucket, minio.RemoveBucketOptions{ForceDelete: true})
	})
	s, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	if s.Locking() {
		t.Fatal("Locking() on a bucket without Object Lock")
	}
	_, err = s.Put(t.Context(), "k", strings.NewReader("x"), storage.PutOptions{RetainUntil: time.Now().Add(time.Hour)})
	if !errors.Is(err, storage.ErrRetentionUnsupported) {
		t.Fatalf("retained Put on a bucket without lock: %v", err)
	}
	// Everything else works on an unversioned bucket.
	if _, err := s.Put(t.Context(), "k", strings.NewReader("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	_, err = s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: "vanban-absent"})
	if !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("missing bucket without CreateBucket: %v", err)
	}
}

func TestDeleteRemovesAllVersions(t *testing.T) {
	s := newStore(t)
	for _, v := range []string{"v1", "v2", "v3"} {
		if _, err := s.Put(t.Context(), "doc", strings.NewReader(v), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(t.Context(), "doc"); err != nil {
		t.Fatal(err)
	}
	for v := range s.Client().ListObjects(t.Context(), s.Bucket(), minio.ListObjectsOptions{Prefix: s.ObjectName("doc"), WithVersions: true}) {
		t.Errorf("left behind: %s version %s (delete marker %v, err %v)", v.Key, v.VersionID, v.IsDeleteMarker, v.Err)
	}
}

func TestServerEnforcesRetention(t *testing.T) {
	// Our own check refuses first; the server must refuse too, so a
	// retained document survives a buggy or hostile client.
	s := newStore(t)
	obj, err := s.Put(t.Context(), "sealed", strings.NewReader("x"), storage.PutOptions{RetainUntil: time.Now().Add(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Client().StatObject(t.Context(), s.Bucket(), s.ObjectName(obj.Key), minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Client().RemoveObject(t.Context(), s.Bucket(), s.ObjectName(obj.Key), minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
	if err == nil {
		t.Fatal("server deleted a COMPLIANCE-retained version")
	}
	if code := minio.ToErrorResponse(err).Code; !errors.Is(s3.WrapError(err), storage.ErrRetained) {
		t.Errorf("server refusal %q (%v) does not map to ErrRetained", code, err)
	}
	time.Sleep(3 * time.Second)
	if err := s.Delete(t.Context(), obj.Key); err != nil {
		t.Fatal(err)
	}
}

func TestOpenURL(t *testing.T) {
	srv := s3test.StartServer(t)
	env := map[string]string{"VANBAN_S3_ACCESS_KEY": srv.AccessKey, "VANBAN_S3_SECRET_KEY": srv.SecretKey}
	getenv := func(k string) string { return env[k] }
	st, err := storage.Open(t.Context(), srv.StoreURL(testBucket, randomPrefix()), storage.OpenOptions{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Credentials passed by the caller win over the environment.
	_, err = storage.Open(t.Context(), srv.StoreURL(testBucket, ""), storage.OpenOptions{AccessKey: "wrong", SecretKey: "wrongwrong", Getenv: getenv})
	if err == nil {
		t.Fatal("Open with wrong injected credentials succeeded")
	}
	for raw, why := range map[string]string{
		"s3://":                                 "bucket missing",
		"s3://b/path?endpoint=x":                "prefix parameter",
		"s3://b?endpoint=x&color=red":           `unknown parameter "color"`,
		"s3://b?endpoint=x&secure=maybe":        `"secure"`,
		"s3://b?endpoint=x&prefix=/abs/":        "prefix",
		"s3://b?endpoint=x&prefix=a&prefix=b":   "2 times",
		"s3://b?endpoint=x&part-size=1024":      "5 MiB",
		"s3://b?endpoint=x&create=false&secure": `"secure"`,
	} {
		_, err := storage.Open(t.Context(), raw, storage.OpenOptions{Getenv: getenv})
		if !errors.Is(err, storage.ErrInvalidURL) || !strings.Contains(err.Error(), why) {
			t.Errorf("Open(%q) = %v; want ErrInvalidURL naming %s", raw, err, why)
		}
	}
	_, err = storage.Open(t.Context(), "s3://b?endpoint=x", storage.OpenOptions{Getenv: func(string) string { return "" }})
	if !errors.Is(err, storage.ErrInvalidURL) || !strings.Contains(err.Error(), "VANBAN_S3_ACCESS_KEY") {
		t.Errorf("Open without credentials = %v", err)
	}
}

func TestCreatedBucket(t *testing.T) {
	srv := s3test.StartServer(t)
	bucket := "vanban-new-" + strings.TrimSuffix(randomPrefix(), "/")
	s, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: bucket, Prefix: "docs/", CreateBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Client().RemoveBucketWithOptions(context.Background(), bucket, minio.RemoveBucketOptions{ForceDelete: true})
	})
	if !s.Locking() {
		t.Fatal("created bucket has no Object Lock")
	}
	cfg, err := s.Client().GetBucketLifecycle(t.Context(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	var tmpRule bool
	for _, r := range cfg.Rules {
		tmpRule = tmpRule || r.RuleFilter.Prefix == "docs/.tmp/" && r.Expiration.Days == 1 && r.NoncurrentVersionExpiration.NoncurrentDays == 1
		if r.RuleFilter.Prefix != "docs/.tmp/" && (r.Expiration.Days != 0 || r.NoncurrentVersionExpiration.NoncurrentDays != 0) {
			t.Errorf("rule %s expires documents", r.ID)
		}
	}
	if !tmpRule {
		t.Fatalf("lifecycle rules: %+v", cfg.Rules)
	}
	if p, err := s.Client().GetBucketPolicy(t.Context(), bucket); p != "" || err != nil {
		t.Fatalf("created bucket has a policy: %q, %v", p, err)
	}
}

func TestDeleteChecksOlderVersions(t *testing.T) {
	// Two versions of one key, the older retained longer (as concurrent
	// puts with different retention can leave): Delete must refuse
	// without removing anything.
	s := newStore(t)
	c, name := s.Client(), s.ObjectName("doc")
	long := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	_, err := c.PutObject(t.Context(), s.Bucket(), name, strings.NewReader("old"), 3, minio.PutObjectOptions{Mode: minio.Compliance, RetainUntilDate: long})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(t.Context(), s.Bucket(), name, strings.NewReader("new"), 3, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "doc"); !errors.Is(err, storage.ErrRetained) {
		t.Fatalf("Delete with a retained older version: %v", err)
	}
	rc, _, err := s.Get(t.Context(), "doc")
	if err != nil {
		t.Fatalf("refused Delete removed the current version: %v", err)
	}
	rc.Close()
	time.Sleep(time.Until(long) + time.Second)
	if err := s.Delete(t.Context(), "doc"); err != nil {
		t.Fatal(err)
	}
}

// TestRetainIsEnforcedByTheServer: after Retain, MinIO itself refuses to
// remove the version (COMPLIANCE mode), even to a client that bypasses our
// Store's checks and names the version, and refuses to shorten the date.
func TestRetainIsEnforcedByTheServer(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	obj, err := s.PutContentAddressed(ctx, strings.NewReader("an archived decision"), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	if _, err := s.Retain(ctx, obj.Key, until); err != nil {
		t.Fatal(err)
	}
	c, name := s.Client(), s.ObjectName(obj.Key)
	info, err := c.StatObject(ctx, s.Bucket(), name, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mode, date, err := c.GetObjectRetention(ctx, s.Bucket(), name, info.VersionID)
	if err != nil || mode == nil || *mode != minio.Compliance || date == nil || !date.Equal(until) {
		t.Fatalf("retention on the server: %v %v %v", mode, date, err)
	}
	err = c.RemoveObject(ctx, s.Bucket(), name, minio.RemoveObjectOptions{VersionID: info.VersionID})
	if !errors.Is(s3.WrapError(err), storage.ErrRetained) {
		t.Fatalf("raw versioned delete of a retained object: %v", err)
	}
	err = c.RemoveObject(ctx, s.Bucket(), name, minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
	if !errors.Is(s3.WrapError(err), storage.ErrRetained) {
		t.Fatalf("governance bypass deleted a COMPLIANCE object: %v", err)
	}
	shorter := until.Add(-2 * time.Second)
	compliance := minio.Compliance
	if err := c.PutObjectRetention(ctx, s.Bucket(), name, minio.PutObjectRetentionOptions{Mode: &compliance, RetainUntilDate: &shorter, VersionID: info.VersionID}); err == nil {
		t.Fatal("the server let the retention be shortened")
	}
	time.Sleep(time.Until(until) + 1500*time.Millisecond)
	if err := s.Delete(ctx, obj.Key); err != nil {
		t.Fatalf("Delete after the date: %v", err)
	}
}

// TestRetainWithoutObjectLock: a bucket without Object Lock says so.
func TestRetainWithoutObjectLock(t *testing.T) {
	srv := s3test.StartServer(t)
	c := rawClient(t)
	bucket := "vanban-nolock-" + strings.TrimSuffix(randomPrefix(), "/")
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.RemoveBucketWithOptions(context.Background(), bucket, minio.RemoveBucketOptions{ForceDelete: true})
	})
	s, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Put(t.Context(), "doc", strings.NewReader("x"), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retain(t.Context(), obj.Key, time.Now().Add(time.Hour)); !errors.Is(err, storage.ErrRetentionUnsupported) {
		t.Fatalf("Retain without Object Lock: %v", err)
	}
}
