package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
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

// asyncHash computes a SHA-256 on its own goroutine, fed with copies of
// what was read, so hashing overlaps with the network or disk instead of
// adding to the transfer time. The goroutine starts at the first write and
// ends at sum or stop.
type asyncHash struct {
	chunks chan *[]byte // nil until the first write
	sums   chan []byte
	// cur collects small reads until it is full: a network read often
	// returns a few KiB, and a channel send per read costs more than
	// hashing it would.
	cur    *[]byte
	closed bool
}

const hashChunk = 64 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, hashChunk); return &b }}

func (a *asyncHash) write(b []byte) {
	if a.closed || len(b) == 0 {
		return
	}
	if a.chunks == nil {
		a.chunks = make(chan *[]byte, 16)
		a.sums = make(chan []byte, 1)
		go hashChunks(a.chunks, a.sums)
	}
	for len(b) > 0 {
		if a.cur == nil {
			a.cur = chunkPool.Get().(*[]byte)
		}
		c := *a.cur
		k := copy(c[len(c):cap(c)], b)
		*a.cur = c[:len(c)+k]
		b = b[k:]
		if len(*a.cur) == cap(*a.cur) {
			a.chunks <- a.cur
			a.cur = nil
		}
	}
}

func hashChunks(chunks <-chan *[]byte, sums chan<- []byte) {
	h := sha256.New()
	for c := range chunks {
		h.Write(*c)
		*c = (*c)[:0]
		chunkPool.Put(c)
	}
	sums <- h.Sum(nil)
}

// sum waits for the digest of everything written.
func (a *asyncHash) sum() []byte {
	if a.chunks == nil {
		s := sha256.Sum256(nil)
		return s[:]
	}
	a.flush()
	a.stop()
	return <-a.sums
}

// flush hands the partly filled chunk to the hashing goroutine.
func (a *asyncHash) flush() {
	if a.cur != nil && !a.closed {
		a.chunks <- a.cur
		a.cur = nil
	}
}

// stop ends the goroutine without waiting (it drains, sends to the
// buffered sums and exits). A partly filled chunk not flushed is dropped:
// stop without sum means the digest is not wanted.
func (a *asyncHash) stop() {
	if a.chunks != nil && !a.closed {
		a.closed = true
		close(a.chunks)
	}
	if a.cur != nil {
		*a.cur = (*a.cur)[:0]
		chunkPool.Put(a.cur)
		a.cur = nil
	}
}

// VerifyingReader passes reads through and, at EOF, compares the SHA-256 of
// everything read with the expected digest. On a mismatch it returns an
// ErrIntegrity *Error instead of io.EOF, so a caller that copies to the end
// cannot mistake corrupted content for a complete download.
type VerifyingReader struct {
	rc   io.ReadCloser
	key  string
	want []byte
	err  error
	h    asyncHash
}

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
	v.h.write(p[:n])
	if err == io.EOF {
		if got := v.h.sum(); !bytes.Equal(got, v.want) {
			err = E("read", v.key, ErrIntegrity, fmt.Errorf("got sha256 %x, want %x", got, v.want))
		}
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

// Close closes the underlying reader and stops hashing.
func (v *VerifyingReader) Close() error {
	v.h.stop()
	return v.rc.Close()
}

// HashingReader computes the SHA-256 of what is read through it, stops with
// ctx's error once ctx is done, and, when Expected is set, returns an
// ErrDigestMismatch error instead of io.EOF on a mismatch. Backends feed
// uploads through it so that a wrong digest or a cancelled ctx aborts the
// upload before it completes. Like VerifyingReader it hashes on its own
// goroutine; a HashingReader must be read to EOF or have Close called.
type HashingReader struct {
	ctx      context.Context
	r        io.Reader
	key      string
	expected []byte
	h        asyncHash
	n        int64
	sum      []byte
	err      error
}

// NewHashingReader wraps r for a put to key ("" for content-addressed puts).
func NewHashingReader(ctx context.Context, r io.Reader, key string, expected []byte) *HashingReader {
	return &HashingReader{ctx: ctx, r: r, key: key, expected: expected}
}

func (hr *HashingReader) Read(p []byte) (int, error) {
	if hr.sum != nil {
		return 0, io.EOF
	}
	if hr.err != nil {
		return 0, hr.err
	}
	if err := hr.ctx.Err(); err != nil {
		hr.fail(err)
		return 0, err
	}
	n, err := hr.r.Read(p)
	hr.h.write(p[:n])
	hr.n += int64(n)
	switch {
	case err == io.EOF:
		hr.sum = hr.h.sum()
		if len(hr.expected) > 0 && !bytes.Equal(hr.sum, hr.expected) {
			return n, hr.mismatch()
		}
	case err != nil:
		hr.fail(err)
	}
	return n, err
}

func (hr *HashingReader) fail(err error) {
	hr.err = err
	hr.h.stop()
}

// Close stops the hashing goroutine of a reader abandoned before EOF.
func (hr *HashingReader) Close() error {
	hr.h.stop()
	return nil
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
		if hr.err != nil {
			return hr.err
		}
		return E("put", hr.key, nil, io.ErrUnexpectedEOF)
	}
	if len(hr.expected) > 0 && !bytes.Equal(hr.sum, hr.expected) {
		return hr.mismatch()
	}
	return nil
}
