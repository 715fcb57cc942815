package s3_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/minio/minio-go/v7"

	"vanban/storage"
)

// The benchmarks compare our Store with minio-go used directly for the same
// transfer against the same MinIO. The raw Put is given the size, its best
// case; ours streams an io.Reader of unknown size and hashes it. Our Get reads
// a content-addressed object, so its figure includes the SHA-256 check.

var benchSizes = []struct {
	name string
	size int
}{{"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

func benchData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

// onlyReader hides bytes.Reader's Len and Seek, so the store cannot learn
// the size: callers stream uploads from HTTP bodies.
type onlyReader struct{ io.Reader }

func BenchmarkPut(b *testing.B) {
	s := newStore(b)
	for _, bs := range benchSizes {
		data := benchData(bs.size)
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				if _, err := s.Put(context.Background(), "bench/put", onlyReader{bytes.NewReader(data)}, storage.PutOptions{ContentType: "application/pdf"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawMinioPut(b *testing.B) {
	s := newStore(b)
	for _, bs := range benchSizes {
		data := benchData(bs.size)
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				_, err := s.Client().PutObject(context.Background(), s.Bucket(), s.ObjectName("bench/raw-put"), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: "application/pdf"})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	s := newStore(b)
	for _, bs := range benchSizes {
		obj, err := s.PutContentAddressed(context.Background(), bytes.NewReader(benchData(bs.size)), storage.PutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				rc, _, err := s.Get(context.Background(), obj.Key)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(bs.size) {
					b.Fatal(n, err)
				}
				rc.Close()
			}
		})
	}
}

func BenchmarkRawMinioGet(b *testing.B) {
	s := newStore(b)
	for _, bs := range benchSizes {
		name := s.ObjectName("bench/raw-get-" + bs.name)
		data := benchData(bs.size)
		if _, err := s.Client().PutObject(context.Background(), s.Bucket(), name, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				o, err := s.Client().GetObject(context.Background(), s.Bucket(), name, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, o); err != nil || n != int64(bs.size) {
					b.Fatal(n, err)
				}
				o.Close()
			}
		})
	}
}
