package pipe

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestCopy checks that every sink gets exactly the ranges, in order, for
// sizes on both sides of the inline threshold and of block boundaries.
func TestCopy(t *testing.T) {
	for _, n := range []int{1, 1000, inline, inline + 1, 5*blockSize + 12345} {
		data := randomBytes(n)
		ra := bytes.NewReader(data)
		cut := n / 3
		ranges := []Range{{ra, 0, int64(cut)}, {ra, int64(cut + n/5), int64(n - cut - n/5)}}
		want := append(append([]byte(nil), data[:cut]...), data[cut+n/5:]...)
		var a, b bytes.Buffer
		h := sha256.New()
		if err := Copy(ranges, &a, h, &b); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(a.Bytes(), want) || !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%d bytes: sinks got %d and %d bytes, differing from the ranges", n, a.Len(), b.Len())
		}
		if got, w := h.Sum(nil), sha256.Sum256(want); !bytes.Equal(got, w[:]) {
			t.Errorf("%d bytes: hash differs", n)
		}
	}
}

type failWriter struct {
	after int
	n     int
}

var errSink = errors.New("sink failed")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.after {
		return 0, errSink
	}
	f.n += len(p)
	return len(p), nil
}

// TestCopyErrors checks that a failing sink or a short source stops the
// copy with that error, inline and pipelined, without hanging.
func TestCopyErrors(t *testing.T) {
	for _, n := range []int{1000, 6 * blockSize} {
		data := randomBytes(n)
		ra := bytes.NewReader(data)
		for _, pos := range []int{0, 1} {
			sinks := []io.Writer{io.Discard, io.Discard}
			sinks[pos] = &failWriter{after: n / 2}
			if err := Copy([]Range{{ra, 0, int64(n)}}, sinks...); !errors.Is(err, errSink) {
				t.Errorf("%d bytes, sink %d failing: err = %v", n, pos, err)
			}
		}
		if err := Copy([]Range{{ra, 0, int64(n) + 10}}, io.Discard); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d bytes, range past the end: err = %v", n, err)
		}
	}
}

// TestCopyFileToFile checks the in-kernel path: file ranges and byte
// ranges mixed, the destination written in order, the source's own offset
// untouched, and a range past the end of the source reported.
func TestCopyFileToFile(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(3*inline + 7)
	srcPath := filepath.Join(dir, "src")
	if err := os.WriteFile(srcPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	tail := []byte("increment")
	n := int64(len(data))
	ranges := []Range{{src, 0, n - 100}, {bytes.NewReader(tail), 0, int64(len(tail))}, {src, n - 50, 50}}
	if err := Copy(ranges, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte(nil), data[:n-100]...), tail...), data[n-50:]...)
	if !bytes.Equal(got, want) {
		t.Errorf("destination has %d bytes, differing from the %d expected", len(got), len(want))
	}
	if pos, _ := src.Seek(0, io.SeekCurrent); pos != 0 {
		t.Errorf("source offset moved to %d", pos)
	}
	if err := Copy([]Range{{src, n - inline, 2 * inline}}, dst); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("range past the end: err = %v", err)
	}
}
