// Package storagetest is the conformance suite every vanban/storage backend
// must pass: the same behaviour on a laptop's disk as on S3.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/storage"
)

// Corrupter is implemented by the test harness of a backend (not by the
// backend itself): it replaces the stored bytes of key behind the store's
// back, with different bytes of the same length, leaving every recorded
// digest as it was, as bit rot or tampering would.
type Corrupter interface {
	Corrupt(t testing.TB, key string)
}

// LinkVerifier is implemented by stores whose PresignGet links are relative
// and served by vanban's HTTP layer (the local backend). The suite serves
// them with a minimal handler built on it, the way the HTTP layer does.
type LinkVerifier interface {
	VerifyLink(path string, query url.Values, now time.Time) (string, error)
}

// LargeSize is the size of the streamed object; large enough to need several
// multipart parts on S3 and to show a backend that buffers whole objects.
const LargeSize = 64 << 20

// Run runs the suite. newStore is called once per subtest; stores may share
// a backend, as each subtest uses its own key prefix. The store must also
// implement Corrupter, and LinkVerifier if its links are relative.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store, p string)
	}{
		{"PutGetStat", testPutGetStat},
		{"EmptyObject", testEmptyObject},
		{"Overwrite", testOverwrite},
		{"ExpectedSHA256", testExpectedSHA256},
		{"ContentAddressed", testContentAddressed},
		{"ConcurrentSameContent", testConcurrentSameContent},
		{"Large", testLarge},
		{"GetRange", testGetRange},
		{"OpenReaderAt", testOpenReaderAt},
		{"Integrity", testIntegrity},
		{"Retention", testRetention},
		{"RetainExisting", testRetainExisting},
		{"Presign", testPresign},
		{"InvalidKeys", testInvalidKeys},
		{"NotFound", testNotFound},
		{"List", testList},
		{"Delete", testDelete},
		{"CancelPut", testCancelPut},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s, fmt.Sprintf("t/%s-%d/", tc.name, time.Now().UnixNano()))
		})
	}
}

func ctxT(t *testing.T) context.Context { return t.Context() }

func put(t *testing.T, s storage.Store, key string, b []byte, opts storage.PutOptions) storage.Object {
	t.Helper()
	obj, err := s.Put(ctxT(t), key, bytes.NewReader(b), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return obj
}

func readAll(t *testing.T, s storage.Store, key string) ([]byte, storage.Object) {
	t.Helper()
	rc, obj, err := s.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b, obj
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func wantErr(t *testing.T, what string, err error, kinds ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got nil error, want %v", what, kinds)
	}
	for _, k := range kinds {
		if !errors.Is(err, k) {
			t.Fatalf("%s: got %v, want errors.Is %v", what, err, k)
		}
	}
	var se *storage.Error
	if !errors.As(err, &se) {
		t.Fatalf("%s: got %T (%v), want *storage.Error", what, err, err)
	}
}

func testPutGetStat(t *testing.T, s storage.Store, p string) {
	data := []byte("%PDF-1.7\nQuyết định số 05/QĐ-UBND\n%%EOF\n")
	key := p + "quyết định/05.pdf"
	obj := put(t, s, key, data, storage.PutOptions{ContentType: "application/pdf"})
	if obj.Key != key || obj.Size != int64(len(data)) || !bytes.Equal(obj.SHA256, sum(data)) || obj.ContentType != "application/pdf" {
		t.Fatalf("Put returned %+v", obj)
	}
	got, gobj := readAll(t, s, key)
	if !bytes.Equal(got, data) {
		t.Fatalf("Get returned %q, want %q", got, data)
	}
	st, err := s.Stat(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []storage.Object{gobj, st} {
		if o.Key != key || o.Size != int64(len(data)) || o.ContentType != "application/pdf" {
			t.Errorf("Get/Stat returned %+v", o)
		}
		// Small objects have their digest recorded by every backend.
		if !bytes.Equal(o.SHA256, sum(data)) {
			t.Errorf("Get/Stat SHA256 = %x, want %x", o.SHA256, sum(data))
		}
		if o.ModTime.IsZero() || time.Since(o.ModTime) > time.Hour || !o.RetainUntil.IsZero() {
			t.Errorf("Get/Stat times: %+v", o)
		}
	}
	def := put(t, s, p+"untyped", []byte("x"), storage.PutOptions{})
	if st, _ := s.Stat(ctxT(t), def.Key); st.ContentType != "application/octet-stream" {
		t.Errorf("default content type = %q", st.ContentType)
	}
}

func testEmptyObject(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"empty", nil, storage.PutOptions{})
	got, obj := readAll(t, s, p+"empty")
	if len(got) != 0 || obj.Size != 0 {
		t.Fatalf("empty object: %d bytes, %+v", len(got), obj)
	}
	ca, err := s.PutContentAddressed(ctxT(t), strings.NewReader(""), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ca.Key != storage.ContentKey(sum(nil)) {
		t.Fatalf("empty content key = %q", ca.Key)
	}
	rc, _, err := s.GetRange(ctxT(t), p+"empty", 0, -1)
	if err != nil {
		t.Fatalf("GetRange of empty object from 0: %v", err)
	}
	rc.Close()
}

func testOverwrite(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"k", []byte("first version"), storage.PutOptions{})
	put(t, s, p+"k", []byte("second"), storage.PutOptions{ContentType: "text/plain"})
	got, obj := readAll(t, s, p+"k")
	if string(got) != "second" || obj.Size != 6 || obj.ContentType != "text/plain" {
		t.Fatalf("after overwrite: %q %+v", got, obj)
	}
}

func testExpectedSHA256(t *testing.T, s storage.Store, p string) {
	data := []byte("signed output")
	obj := put(t, s, p+"ok", data, storage.PutOptions{ExpectedSHA256: sum(data)})
	if !bytes.Equal(obj.SHA256, sum(data)) {
		t.Fatalf("SHA256 = %x", obj.SHA256)
	}
	bad := sum([]byte("something else"))
	_, err := s.Put(ctxT(t), p+"bad", bytes.NewReader(data), storage.PutOptions{ExpectedSHA256: bad})
	wantErr(t, "Put with wrong digest", err, storage.ErrDigestMismatch)
	if _, err := s.Stat(ctxT(t), p+"bad"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("after rejected Put, Stat: %v; want ErrNotExist", err)
	}
	// A rejected put leaves an existing object untouched, also for
	// content larger than one S3 part.
	big := pattern(7, 0, 20<<20)
	_, err = s.Put(ctxT(t), p+"ok", bytes.NewReader(big), storage.PutOptions{ExpectedSHA256: bad})
	wantErr(t, "large Put with wrong digest", err, storage.ErrDigestMismatch)
	if got, _ := readAll(t, s, p+"ok"); !bytes.Equal(got, data) {
		t.Fatalf("rejected Put changed the object to %d bytes", len(got))
	}
	_, err = s.PutContentAddressed(ctxT(t), bytes.NewReader(big), storage.PutOptions{ExpectedSHA256: bad})
	wantErr(t, "PutContentAddressed with wrong digest", err, storage.ErrDigestMismatch)
	for _, k := range []string{storage.ContentKey(sum(big)), storage.ContentKey(bad)} {
		if _, err := s.Stat(ctxT(t), k); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("after rejected PutContentAddressed, Stat(%s): %v", k, err)
		}
	}
}

func testContentAddressed(t *testing.T, s storage.Store, p string) {
	data := fmt.Appendf(nil, "document version %s", p)
	obj, err := s.PutContentAddressed(ctxT(t), bytes.NewReader(data), storage.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Key != storage.ContentKey(sum(data)) || !bytes.Equal(obj.SHA256, sum(data)) || obj.Size != int64(len(data)) {
		t.Fatalf("PutContentAddressed returned %+v", obj)
	}
	if d, ok := storage.ParseContentKey(obj.Key); !ok || !bytes.Equal(d, sum(data)) {
		t.Fatalf("ParseContentKey(%q) = %x, %v", obj.Key, d, ok)
	}
	again, err := s.PutContentAddressed(ctxT(t), bytes.NewReader(data), storage.PutOptions{ExpectedSHA256: sum(data)})
	if err != nil {
		t.Fatalf("second PutContentAddressed: %v", err)
	}
	if again.Key != obj.Key || again.ContentType != "application/pdf" {
		t.Fatalf("second put returned %+v, want the existing object", again)
	}
	got, gobj := readAll(t, s, obj.Key)
	if !bytes.Equal(got, data) || !bytes.Equal(gobj.SHA256, sum(data)) {
		t.Fatalf("Get: %q %+v", got, gobj)
	}
}

func testConcurrentSameContent(t *testing.T, s storage.Store, p string) {
	data := fmt.Appendf(nil, "same content %s", p)
	const n = 8
	var wg sync.WaitGroup
	keys := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			obj, err := s.PutContentAddressed(ctxT(t), bytes.NewReader(data), storage.PutOptions{})
			keys[i], errs[i] = obj.Key, err
		})
	}
	wg.Wait()
	want := storage.ContentKey(sum(data))
	for i := range n {
		if errs[i] != nil || keys[i] != want {
			t.Fatalf("put %d: key %q, err %v", i, keys[i], errs[i])
		}
	}
	var found int
	for obj, err := range s.List(ctxT(t), want) {
		if err != nil {
			t.Fatal(err)
		}
		if obj.Key == want {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("List found the key %d times", found)
	}
	if got, _ := readAll(t, s, want); !bytes.Equal(got, data) {
		t.Fatal("content differs after concurrent puts")
	}
}

// pattern returns n bytes of the deterministic stream seed at offset off;
// patternReader streams the same bytes without holding them.
func pattern(seed uint64, off, n int64) []byte {
	b := make([]byte, n)
	patternAt(seed, off, b)
	return b
}

const patternBlock = 64 << 10

func patternAt(seed uint64, off int64, b []byte) {
	var blk [patternBlock]byte
	for len(b) > 0 {
		i := off / patternBlock
		var s [32]byte
		binary.LittleEndian.PutUint64(s[:], seed)
		binary.LittleEndian.PutUint64(s[8:], uint64(i))
		rand.NewChaCha8(s).Read(blk[:])
		n := copy(b, blk[off%patternBlock:])
		b, off = b[n:], off+int64(n)
	}
}

type patternReader struct {
	seed    uint64
	off, n  int64
	onChunk func(off int64)
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if r.onChunk != nil {
		r.onChunk(r.off)
	}
	p = p[:min(int64(len(p)), r.n-r.off, patternBlock)]
	patternAt(r.seed, r.off, p)
	r.off += int64(len(p))
	return len(p), nil
}

func patternSum(seed uint64, n int64) []byte {
	h := sha256.New()
	io.Copy(h, &patternReader{seed: seed, n: n})
	return h.Sum(nil)
}

func testLarge(t *testing.T, s storage.Store, p string) {
	if testing.Short() {
		t.Skip("skipping 64 MiB transfer in -short mode")
	}
	seed := uint64(time.Now().UnixNano())
	want := patternSum(seed, LargeSize)
	peak := watchHeap(t)
	obj, err := s.PutContentAddressed(ctxT(t), &patternReader{seed: seed, n: LargeSize}, storage.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		t.Fatal(err)
	}
	grew := peak()
	t.Logf("heap growth during put: %d MiB", grew>>20)
	if grew >= LargeSize {
		t.Errorf("heap grew by %d MiB during a %d MiB put: the store buffers whole objects", grew>>20, LargeSize>>20)
	}
	if obj.Size != LargeSize || !bytes.Equal(obj.SHA256, want) || obj.Key != storage.ContentKey(want) {
		t.Fatalf("PutContentAddressed returned %+v", obj)
	}
	rc, _, err := s.Get(ctxT(t), obj.Key)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != LargeSize || !bytes.Equal(h.Sum(nil), want) {
		t.Fatalf("Get: %d bytes, err %v, sha256 match %v", n, err, bytes.Equal(h.Sum(nil), want))
	}
	f, err := s.Open(ctxT(t), obj.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The places a PDF reader looks: the header, the trailer, objects in
	// between.
	for _, off := range []int64{0, LargeSize - 1024, LargeSize / 2, 17, LargeSize - 1024 + 100} {
		buf := make([]byte, 1024)
		k, err := f.ReadAt(buf, off)
		if err != nil && !(err == io.EOF && off+int64(k) == LargeSize) {
			t.Fatalf("ReadAt(%d): %d, %v", off, k, err)
		}
		if !bytes.Equal(buf[:k], pattern(seed, off, int64(k))) {
			t.Fatalf("ReadAt(%d) returned wrong bytes", off)
		}
	}
	if err := s.Delete(ctxT(t), obj.Key); err != nil {
		t.Fatal(err)
	}
}

// watchHeap samples the live heap until the returned function is called,
// which reports the peak growth over the starting point. The GC runs eagerly
// meanwhile so that garbage is not mistaken for buffering.
func watchHeap(t *testing.T) func() uint64 {
	old := debug.SetGCPercent(10)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		debug.SetGCPercent(old)
		return peak - base
	}
}

func testGetRange(t *testing.T, s storage.Store, p string) {
	data := []byte("0123456789abcdefghij")
	put(t, s, p+"r", data, storage.PutOptions{})
	for _, c := range []struct {
		off, n int64
		want   string
	}{
		{0, 5, "01234"},
		{10, 3, "abc"},
		{15, -1, "fghij"},
		{15, 100, "fghij"},
		{19, 1, "j"},
		{0, -1, string(data)},
		{3, 0, ""},
	} {
		rc, obj, err := s.GetRange(ctxT(t), p+"r", c.off, c.n)
		if err != nil {
			t.Fatalf("GetRange(%d,%d): %v", c.off, c.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != c.want || obj.Size != int64(len(data)) {
			t.Fatalf("GetRange(%d,%d) = %q, %v, size %d; want %q", c.off, c.n, got, err, obj.Size, c.want)
		}
	}
	for _, off := range []int64{20, 21, -1} {
		_, _, err := s.GetRange(ctxT(t), p+"r", off, 1)
		wantErr(t, fmt.Sprintf("GetRange(%d)", off), err, storage.ErrInvalidRange)
	}
}

func testOpenReaderAt(t *testing.T, s storage.Store, p string) {
	data := pattern(3, 0, 300<<10)
	put(t, s, p+"f", data, storage.PutOptions{ContentType: "application/pdf"})
	f, err := s.Open(ctxT(t), p+"f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != int64(len(data)) || f.Stat().Key != p+"f" || f.Stat().ContentType != "application/pdf" {
		t.Fatalf("Size %d, Stat %+v", f.Size(), f.Stat())
	}
	// Replacing the key must not change what the open File reads.
	put(t, s, p+"f", []byte("replaced"), storage.PutOptions{})
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 20 {
				off := r.Int64N(int64(len(data)))
				n := r.Int64N(100 << 10)
				buf := make([]byte, n)
				k, err := f.ReadAt(buf, off)
				end := min(off+n, int64(len(data)))
				if int64(k) != end-off || (err != nil && !(err == io.EOF && end == int64(len(data)))) {
					errc <- fmt.Errorf("ReadAt(%d, len %d) = %d, %v", off, n, k, err)
					return
				}
				if !bytes.Equal(buf[:k], data[off:end]) {
					errc <- fmt.Errorf("ReadAt(%d, len %d) returned wrong bytes", off, n)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if k, err := f.ReadAt(buf, int64(len(data))-4); k != 4 || err != io.EOF {
		t.Fatalf("ReadAt across the end = %d, %v; want 4, io.EOF", k, err)
	}
	if k, err := f.ReadAt(buf, int64(len(data))+5); k != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v; want 0, io.EOF", k, err)
	}
	if _, err := f.ReadAt(buf, -1); err == nil {
		t.Fatal("ReadAt(-1) succeeded")
	}
}

func testIntegrity(t *testing.T, s storage.Store, p string) {
	c, ok := s.(Corrupter)
	if !ok {
		t.Fatalf("%T does not implement storagetest.Corrupter; the integrity check cannot be tested", s)
	}
	data := fmt.Appendf(nil, "genuine decision %s", p)
	obj, err := s.PutContentAddressed(ctxT(t), bytes.NewReader(data), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain := put(t, s, p+"recorded", data, storage.PutOptions{})
	// Larger than one S3 part, and put without a known digest: the digest
	// is only known at the end of the stream, and must be recorded anyway.
	big := pattern(11, 0, 20<<20)
	large := put(t, s, p+"large", big, storage.PutOptions{})
	if st, err := s.Stat(ctxT(t), large.Key); err != nil || !bytes.Equal(st.SHA256, sum(big)) {
		t.Fatalf("Stat of a large object: SHA256 %x, %v; want %x", st.SHA256, err, sum(big))
	}
	for _, key := range []string{obj.Key, plain.Key, large.Key} {
		c.Corrupt(t, key)
		rc, _, err := s.Get(ctxT(t), key)
		if err != nil {
			t.Fatalf("Get(%s) after corruption: %v", key, err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		wantErr(t, "reading corrupted "+key, err, storage.ErrIntegrity)
		wantErr(t, "Verify", storage.Verify(ctxT(t), s, key), storage.ErrIntegrity)
	}
}

func testRetention(t *testing.T, s storage.Store, p string) {
	until := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	obj := put(t, s, p+"sealed", []byte("sealed decision"), storage.PutOptions{RetainUntil: until})
	if !obj.RetainUntil.Equal(until) {
		t.Fatalf("Put RetainUntil = %v, want %v", obj.RetainUntil, until)
	}
	st, err := s.Stat(ctxT(t), p+"sealed")
	if err != nil || !st.RetainUntil.Equal(until) {
		t.Fatalf("Stat RetainUntil = %v (%v), want %v", st.RetainUntil, err, until)
	}
	wantErr(t, "Delete before retention date", s.Delete(ctxT(t), p+"sealed"), storage.ErrRetained)
	_, err = s.Put(ctxT(t), p+"sealed", strings.NewReader("forged"), storage.PutOptions{})
	wantErr(t, "overwrite before retention date", err, storage.ErrRetained)
	if got, _ := readAll(t, s, p+"sealed"); string(got) != "sealed decision" {
		t.Fatalf("retained object changed to %q", got)
	}

	data := fmt.Appendf(nil, "retained version %s", p)
	ca, err := s.PutContentAddressed(ctxT(t), bytes.NewReader(data), storage.PutOptions{RetainUntil: until.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	// A later put of the same content extends, never shortens, retention.
	ext, err := s.PutContentAddressed(ctxT(t), bytes.NewReader(data), storage.PutOptions{RetainUntil: until})
	if err != nil || !ext.RetainUntil.Equal(until) {
		t.Fatalf("extending retention: %+v, %v", ext, err)
	}
	short, err := s.PutContentAddressed(ctxT(t), bytes.NewReader(data), storage.PutOptions{RetainUntil: until.Add(-2 * time.Second)})
	if err != nil || !short.RetainUntil.Equal(until) {
		t.Fatalf("shorter retention: %+v, %v", short, err)
	}
	wantErr(t, "Delete retained content key", s.Delete(ctxT(t), ca.Key), storage.ErrRetained)

	time.Sleep(time.Until(until) + 1500*time.Millisecond)
	for _, k := range []string{p + "sealed", ca.Key} {
		if err := s.Delete(ctxT(t), k); err != nil {
			t.Fatalf("Delete(%s) after retention date: %v", k, err)
		}
		if _, err := s.Stat(ctxT(t), k); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("Stat after Delete: %v", err)
		}
	}
}

// testRetainExisting: the Retainer capability puts an object already
// stored under retention, only ever later, and Delete and overwrite are
// then refused with ErrRetained until the date.
func testRetainExisting(t *testing.T, s storage.Store, p string) {
	if _, ok := s.(storage.Retainer); !ok {
		t.Fatalf("%T does not implement storage.Retainer", s)
	}
	key := p + "archived"
	put(t, s, key, []byte("archived decision"), storage.PutOptions{})
	until := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	obj, err := storage.Retain(ctxT(t), s, key, until)
	if err != nil || !obj.RetainUntil.Equal(until) {
		t.Fatalf("Retain = %v (%v), want %v", obj.RetainUntil, err, until)
	}
	if st, err := s.Stat(ctxT(t), key); err != nil || !st.RetainUntil.Equal(until) || st.SHA256 == nil {
		t.Fatalf("Stat after Retain = %+v (%v)", st, err)
	}
	wantErr(t, "Delete of a retained object", s.Delete(ctxT(t), key), storage.ErrRetained)
	_, err = s.Put(ctxT(t), key, strings.NewReader("forged"), storage.PutOptions{})
	wantErr(t, "overwrite of a retained object", err, storage.ErrRetained)
	// An earlier date changes nothing.
	if obj, err := storage.Retain(ctxT(t), s, key, until.Add(-2*time.Second)); err != nil || !obj.RetainUntil.Equal(until) {
		t.Fatalf("shortening Retain = %v (%v), want %v kept", obj.RetainUntil, err, until)
	}
	_, err = storage.Retain(ctxT(t), s, p+"missing", until)
	wantErr(t, "Retain of a missing object", err, storage.ErrNotExist)
	_, err = storage.Retain(ctxT(t), s, "../escape", until)
	wantErr(t, "Retain of an invalid key", err, storage.ErrInvalidKey)
	if got, _ := readAll(t, s, key); string(got) != "archived decision" {
		t.Fatalf("retained object reads %q", got)
	}
	if perm := storage.PermanentUntil(s, time.Now()); time.Until(perm) < 99*365*24*time.Hour {
		t.Fatalf("PermanentUntil = %v, want about a century ahead", perm)
	}
	time.Sleep(time.Until(until) + 1500*time.Millisecond)
	if err := s.Delete(ctxT(t), key); err != nil {
		t.Fatalf("Delete after the retention date: %v", err)
	}
}

func testPresign(t *testing.T, s storage.Store, p string) {
	data := []byte("%PDF-1.7 published decision")
	key := p + "công văn 123.pdf"
	put(t, s, key, data, storage.PutOptions{ContentType: "application/pdf"})
	fetch := linkFetcher(t, s)

	link, err := s.PresignGet(ctxT(t), key, 0, "Quyết định 05.pdf")
	if err != nil {
		t.Fatal(err)
	}
	status, body, hdr := fetch(link)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET %s: %d %q", link, status, body)
	}
	if _, params, err := mime.ParseMediaType(hdr.Get("Content-Disposition")); err != nil || params["filename"] != "Quyết định 05.pdf" {
		t.Fatalf("Content-Disposition %q: %v %v", hdr.Get("Content-Disposition"), params, err)
	}
	if exp := linkLifetime(t, link); exp > storage.DefaultLinkTTL+2*time.Second || exp < storage.DefaultLinkTTL-time.Minute {
		t.Fatalf("default link lifetime %v, want %v", exp, storage.DefaultLinkTTL)
	}
	long, err := s.PresignGet(ctxT(t), key, 24*time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if exp := linkLifetime(t, long); exp > storage.MaxLinkTTL+2*time.Second {
		t.Fatalf("link lifetime %v exceeds the %v cap", exp, storage.MaxLinkTTL)
	}

	u, _ := url.Parse(link)
	q := u.Query()
	for name, tamper := range map[string]func(){
		"other key": func() { u.Path = strings.Replace(u.Path, "123", "124", 1); u.RawPath = "" },
		"filename": func() {
			q.Set("filename", "x.pdf")
			q.Set("response-content-disposition", "attachment; filename=x.pdf")
		},
	} {
		u, _ = url.Parse(link)
		q = u.Query()
		tamper()
		u.RawQuery = q.Encode()
		if status, _, _ := fetch(u.String()); status == http.StatusOK {
			t.Errorf("tampered link (%s) was served", name)
		}
	}

	short, err := s.PresignGet(ctxT(t), key, time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if status, _, _ := fetch(short); status == http.StatusOK {
		t.Error("expired link was served")
	}
	_, err = s.PresignGet(ctxT(t), p+"missing", 0, "")
	wantErr(t, "PresignGet of a missing key", err, storage.ErrNotExist)
}

// linkLifetime reads the expiry a link carries: exp= for local links,
// X-Amz-Date + X-Amz-Expires for S3 presigned URLs.
func linkLifetime(t *testing.T, link string) time.Duration {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if exp := q.Get("exp"); exp != "" {
		n, _ := strconv.ParseInt(exp, 10, 64)
		return time.Until(time.Unix(n, 0))
	}
	if e := q.Get("X-Amz-Expires"); e != "" {
		n, _ := strconv.Atoi(e)
		return time.Duration(n) * time.Second
	}
	t.Fatalf("cannot tell the lifetime of %s", link)
	return 0
}

// linkFetcher fetches links with net/http: absolute URLs directly, relative
// ones through a test server that does what vanban's HTTP layer does.
func linkFetcher(t *testing.T, s storage.Store) func(string) (int, []byte, http.Header) {
	base := ""
	if lv, ok := s.(LinkVerifier); ok {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, err := lv.VerifyLink(r.URL.Path, r.URL.Query(), time.Now())
			if err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			rc, obj, err := s.Get(r.Context(), key)
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			defer rc.Close()
			w.Header().Set("Content-Type", obj.ContentType)
			if fn := r.URL.Query().Get("filename"); fn != "" {
				w.Header().Set("Content-Disposition", storage.ContentDisposition(fn))
			}
			io.Copy(w, rc)
		}))
		t.Cleanup(srv.Close)
		base = srv.URL
	}
	return func(link string) (int, []byte, http.Header) {
		t.Helper()
		if !strings.HasPrefix(link, "http://") && !strings.HasPrefix(link, "https://") {
			if base == "" {
				t.Fatalf("relative link %q but %T does not implement storagetest.LinkVerifier", link, s)
			}
			link = base + link
		}
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b, resp.Header
	}
}

// BadKeys are keys every backend must refuse.
var BadKeys = []string{
	"", "/abs", "a/../b", "..", "../x", "a/./b", "a//b", "a/", ".hidden", "a/.tmp/b",
	"nul\x00byte", "tab\tkey", "back\\slash", "\xff\xfe", strings.Repeat("k", storage.MaxKeyLen+1),
	strings.Repeat("s", storage.MaxSegmentLen+1),
}

func testInvalidKeys(t *testing.T, s storage.Store, p string) {
	ctx := ctxT(t)
	for _, k := range BadKeys {
		_, err := s.Put(ctx, k, strings.NewReader("x"), storage.PutOptions{})
		wantErr(t, fmt.Sprintf("Put(%q)", k), err, storage.ErrInvalidKey)
		_, _, err = s.Get(ctx, k)
		wantErr(t, fmt.Sprintf("Get(%q)", k), err, storage.ErrInvalidKey)
		_, _, err = s.GetRange(ctx, k, 0, 1)
		wantErr(t, fmt.Sprintf("GetRange(%q)", k), err, storage.ErrInvalidKey)
		_, err = s.Open(ctx, k)
		wantErr(t, fmt.Sprintf("Open(%q)", k), err, storage.ErrInvalidKey)
		_, err = s.Stat(ctx, k)
		wantErr(t, fmt.Sprintf("Stat(%q)", k), err, storage.ErrInvalidKey)
		wantErr(t, fmt.Sprintf("Delete(%q)", k), s.Delete(ctx, k), storage.ErrInvalidKey)
		_, err = s.PresignGet(ctx, k, 0, "")
		wantErr(t, fmt.Sprintf("PresignGet(%q)", k), err, storage.ErrInvalidKey)
	}
	for _, prefix := range []string{"/abs", "a/../", "nul\x00"} {
		for _, err := range s.List(ctx, prefix) {
			wantErr(t, fmt.Sprintf("List(%q)", prefix), err, storage.ErrInvalidKey)
		}
	}
}

func testNotFound(t *testing.T, s storage.Store, p string) {
	ctx, k := ctxT(t), p+"missing.pdf"
	check := func(what string, err error) {
		t.Helper()
		wantErr(t, what, err, storage.ErrNotExist, fs.ErrNotExist)
	}
	_, _, err := s.Get(ctx, k)
	check("Get", err)
	_, _, err = s.GetRange(ctx, k, 0, 1)
	check("GetRange", err)
	_, err = s.Open(ctx, k)
	check("Open", err)
	_, err = s.Stat(ctx, k)
	check("Stat", err)
	check("Delete", s.Delete(ctx, k))
	_, _, err = s.Get(ctx, storage.ContentKey(sum([]byte(p))))
	check("Get content key", err)
}

func testList(t *testing.T, s storage.Store, p string) {
	want := map[string]int{p + "a/1": 1, p + "a/2": 2, p + "ab": 3, p + "b/c/d": 4}
	for k, n := range want {
		put(t, s, k, bytes.Repeat([]byte("x"), n), storage.PutOptions{})
	}
	list := func(prefix string) map[string]int64 {
		got := map[string]int64{}
		for obj, err := range s.List(ctxT(t), prefix) {
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			got[obj.Key] = obj.Size
		}
		return got
	}
	if got := list(p); len(got) != 4 || got[p+"b/c/d"] != 4 || got[p+"ab"] != 3 {
		t.Fatalf("List(%q) = %v", p, got)
	}
	if got := list(p + "a"); len(got) != 3 {
		t.Fatalf("List(%q) = %v", p+"a", got)
	}
	if got := list(p + "a/"); len(got) != 2 || got[p+"a/2"] != 2 {
		t.Fatalf("List(%q) = %v", p+"a/", got)
	}
	if got := list(p + "b/c/d"); len(got) != 1 {
		t.Fatalf("List(%q) = %v", p+"b/c/d", got)
	}
	if got := list(p + "zz"); len(got) != 0 {
		t.Fatalf("List(%q) = %v", p+"zz", got)
	}
	n := 0
	for range s.List(ctxT(t), p) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("breaking out of List yielded %d", n)
	}
}

func testDelete(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"d", []byte("draft"), storage.PutOptions{})
	put(t, s, p+"d", []byte("draft 2"), storage.PutOptions{})
	if err := s.Delete(ctxT(t), p+"d"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctxT(t), p+"d"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	if _, _, err := s.Get(ctxT(t), p+"d"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Get after Delete: %v", err)
	}
	wantErr(t, "second Delete", s.Delete(ctxT(t), p+"d"), storage.ErrNotExist)
	for obj, err := range s.List(ctxT(t), p) {
		t.Fatalf("List after Delete yielded %+v, %v", obj, err)
	}
}

func testCancelPut(t *testing.T, s storage.Store, p string) {
	const size = 40 << 20
	for _, contentAddressed := range []bool{false, true} {
		ctx, cancel := context.WithCancel(ctxT(t))
		r := &patternReader{seed: 9, n: size, onChunk: func(off int64) {
			if off >= 24<<20 {
				cancel()
			}
		}}
		var err error
		if contentAddressed {
			_, err = s.PutContentAddressed(ctx, r, storage.PutOptions{})
		} else {
			_, err = s.Put(ctx, p+"cancelled", r, storage.PutOptions{})
		}
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put (content addressed %v) with cancelled context: %v", contentAddressed, err)
		}
	}
	if _, err := s.Stat(ctxT(t), p+"cancelled"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after cancelled Put: %v", err)
	}
	if _, err := s.Stat(ctxT(t), storage.ContentKey(patternSum(9, size))); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat of content key after cancelled Put: %v", err)
	}
}

func testPing(t *testing.T, s storage.Store, p string) {
	if err := s.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}
