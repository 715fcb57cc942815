// Package storage is vanban's blob store: it keeps document PDFs (uploaded
// versions, signed outputs) and knows nothing of HTTP, databases or signing.
//
// Objects are addressed by a slash-separated key. Immutable document versions
// are stored content-addressed, under a key derived from their SHA-256
// (see ContentKey), so the key itself proves what the bytes must be and every
// full read is checked against it.
//
// Backends live in their own packages (storage/local, storage/s3) and register
// a URL scheme with Register in their init function; the binary chooses which
// backends it links by blank-importing them, and Open picks one by URL.
package storage

import (
	"context"
	"io"
	"iter"
	"time"
)

// Object describes a stored object.
type Object struct {
	Key  string
	Size int64
	// SHA256 is the digest of the content, as recorded when it was put.
	// List may leave it (and ContentType, RetainUntil) empty; Stat fills
	// it. It is nil only for objects that were not written through a Store.
	SHA256      []byte
	ContentType string
	ModTime     time.Time
	// RetainUntil is the end of the retention period; zero means none.
	RetainUntil time.Time
}

// PutOptions tune Put and PutContentAddressed.
type PutOptions struct {
	// ContentType is recorded with the object; empty means
	// application/octet-stream.
	ContentType string
	// ExpectedSHA256, when set, must equal the SHA-256 of the streamed
	// content, otherwise the put fails with ErrDigestMismatch and nothing is
	// stored.
	ExpectedSHA256 []byte
	// RetainUntil, when non-zero, protects the object from Delete and from
	// being overwritten until that time (S3 Object Lock in COMPLIANCE mode on
	// s3: not even the bucket owner can shorten it).
	RetainUntil time.Time
}

// File is random read access to one object, as the PDF signer needs it.
// ReadAt may be called concurrently. Reads through File are not checked
// against the object's digest (a partial read cannot be); use Verify when the
// whole object must be proven.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
	Stat() Object
}

// Store is a blob store. Every method validates keys (ErrInvalidKey) and maps
// missing objects to ErrNotExist, which is fs.ErrNotExist.
type Store interface {
	// Put streams r into key, replacing an existing object unless that one
	// is retained (ErrRetained). The SHA-256 is computed while streaming;
	// a mismatch with opts.ExpectedSHA256 gives ErrDigestMismatch. On any
	// error, including a cancelled ctx, nothing new is left behind.
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Object, error)

	// PutContentAddressed streams r and stores it under ContentKey of its
	// SHA-256. Putting the same content again is a no-op that returns the
	// existing object (a later RetainUntil extends the retention).
	PutContentAddressed(ctx context.Context, r io.Reader, opts PutOptions) (Object, error)

	// Get returns the whole object. When the digest is known (content key or
	// recorded SHA-256), the reader returns an ErrIntegrity error instead of
	// io.EOF if the bytes do not match it.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)

	// GetRange returns length bytes starting at offset; length < 0 means up
	// to the end, and a range past the end is cut at the end. An offset past
	// the end gives ErrInvalidRange. Ranged reads are not digest-checked.
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Object, error)

	// Open gives random access to the object as it is now; later puts to
	// the same key do not change what an open File reads.
	Open(ctx context.Context, key string) (File, error)

	Stat(ctx context.Context, key string) (Object, error)

	// Delete removes the object; before its retention date it fails with
	// ErrRetained.
	Delete(ctx context.Context, key string) error

	// List yields the objects whose key starts with prefix (a plain string
	// prefix, not a directory), in no guaranteed order. Iteration stops at
	// the first error, which is yielded.
	List(ctx context.Context, prefix string) iter.Seq2[Object, error]

	// PresignGet returns a URL that downloads the object without further
	// credentials until ttl has passed. ttl <= 0 means DefaultLinkTTL; more
	// than MaxLinkTTL is cut to MaxLinkTTL. A non-empty filename is sent as
	// the attachment's file name.
	PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error)

	// Ping reports whether the store is usable, for readiness checks.
	Ping(ctx context.Context) error
}

// Verify reads the whole object and reports ErrIntegrity if its content does
// not match its content key or recorded digest. It is a no-op check (nil)
// when the backend has no digest for the object.
func Verify(ctx context.Context, s Store, key string) error {
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}
