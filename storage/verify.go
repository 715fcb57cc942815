package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"sync"
)

// ExpectedDigest is the SHA-256 a full read of key must produce: the one its
// content key names, else the recorded one, else nil (nothing to check).
func ExpectedDigest(key string, recorded []byte) []byte {
	if sum, ok := ParseContentKey(key); ok {
		return sum
	}
	return recorded
}

// VerifyingReader passes reads through and, at EOF, compares the SHA-256 of
// everything read with the expected digest. On a mismatch it returns an
// ErrIntegrity *Error instead of io.EOF, so a caller that copies to the end
// cannot mistake corrupted content for a complete download.
//
// Hashing runs on its own goroutine, fed with copies of what was read, so it
// overlaps with the network or disk instead of adding to the read time.
type VerifyingReader struct {
	rc   io.ReadCloser
	key  string
	want []byte
	err  error

	chunks chan *[]byte // to the hashing goroutine; nil until the first read
	sum    chan []byte  // its result, once chunks is closed
	closed bool         // chunks closed
}

const verifyChunk = 64 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, verifyChunk); return &b }}

// NewVerifyingReader wraps rc. With an empty want it only passes reads
// through.
func NewVerifyingReader(rc io.ReadCloser, key string, want []byte) io.ReadCloser {
	if len(want) == 0 {
		return rc
	}
	return &VerifyingReader{rc: rc, key: key, want: want}
}

func (v *VerifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	if n > 0 && !v.closed {
		v.feed(p[:n])
	}
	if err == io.EOF {
		if got := v.finish(); !bytes.Equal(got, v.want) {
			err = E("read", v.key, ErrIntegrity, fmt.Errorf("got sha256 %x, want %x", got, v.want))
		}
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

func (v *VerifyingReader) feed(b []byte) {
	if v.chunks == nil {
		v.chunks = make(chan *[]byte, 16)
		v.sum = make(chan []byte, 1)
		go hashChunks(v.chunks, v.sum)
	}
	for len(b) > 0 {
		c := chunkPool.Get().(*[]byte)
		k := copy(*c, b)
		*c = (*c)[:k]
		v.chunks <- c
		b = b[k:]
	}
}

func hashChunks(chunks <-chan *[]byte, sum chan<- []byte) {
	h := sha256.New()
	for c := range chunks {
		h.Write(*c)
		*c = (*c)[:cap(*c)]
		chunkPool.Put(c)
	}
	sum <- h.Sum(nil)
}

// finish stops the hashing goroutine and returns the digest of everything
// fed to it.
func (v *VerifyingReader) finish() []byte {
	if v.chunks == nil {
		s := sha256.Sum256(nil)
		return s[:]
	}
	if !v.closed {
		v.closed = true
		close(v.chunks)
	}
	return <-v.sum
}

// Close closes the underlying reader and stops hashing.
func (v *VerifyingReader) Close() error {
	if v.chunks != nil && !v.closed {
		v.closed = true
		close(v.chunks) // the goroutine drains, sends to the buffered sum and exits
	}
	return v.rc.Close()
}

// HashingReader computes the SHA-256 of what is read through it, stops with
// ctx's error once ctx is done, and, when Expected is set, returns an
// ErrDigestMismatch error instead of io.EOF on a mismatch. Backends feed
// uploads through it so that a wrong digest or a cancellation aborts the
// upload before it completes.
type HashingReader struct {
	ctx      context.Context
	r        io.Reader
	key      string
	expected []byte
	h        hash.Hash
	n        int64
	sum      []byte
}

// NewHashingReader wraps r for a put to key ("" for content-addressed puts).
func NewHashingReader(ctx context.Context, r io.Reader, key string, expected []byte) *HashingReader {
	return &HashingReader{ctx: ctx, r: r, key: key, expected: expected, h: sha256.New()}
}

func (hr *HashingReader) Read(p []byte) (int, error) {
	if hr.sum != nil {
		return 0, io.EOF
	}
	if err := hr.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	if err == io.EOF {
		hr.sum = hr.h.Sum(nil)
		if len(hr.expected) > 0 && !bytes.Equal(hr.sum, hr.expected) {
			return n, hr.mismatch()
		}
	}
	return n, err
}

func (hr *HashingReader) mismatch() error {
	return E("put", hr.key, ErrDigestMismatch, fmt.Errorf("got sha256 %x, want %x", hr.sum, hr.expected))
}

// Sum returns the digest once EOF was read, else nil.
func (hr *HashingReader) Sum() []byte { return hr.sum }

// N is the number of bytes read so far.
func (hr *HashingReader) N() int64 { return hr.n }

// Check reports whether the whole input was read and matched Expected. Call
// it after the upload returned, as the upload library may not surface the
// reader's own error verbatim.
func (hr *HashingReader) Check() error {
	if hr.sum == nil {
		if err := hr.ctx.Err(); err != nil {
			return err
		}
		return E("put", hr.key, nil, io.ErrUnexpectedEOF)
	}
	if len(hr.expected) > 0 && !bytes.Equal(hr.sum, hr.expected) {
		return hr.mismatch()
	}
	return nil
}
