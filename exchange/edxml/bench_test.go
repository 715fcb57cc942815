package edxml_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"vanban/exchange/edxml"
)

const benchSize = 10 << 20

// BenchmarkEncode10MB builds a package with a 10 MB attachment streamed
// from a reader into a discarding writer: allocated bytes per operation
// show that the base64 is never held whole.
func BenchmarkEncode10MB(b *testing.B) {
	p := samplePackage()
	p.Attachments, p.References = p.Attachments[:1], p.References[:1]
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := edxml.Encode(io.Discard, p, []io.Reader{io.LimitReader(&pattern{}, benchSize)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode10MB parses such a package from a file, the attachment
// streamed to a discarding sink.
func BenchmarkDecode10MB(b *testing.B) {
	p := samplePackage()
	p.Attachments, p.References = p.Attachments[:1], p.References[:1]
	f, err := os.CreateTemp(b.TempDir(), "bench-*.edxml")
	if err != nil {
		b.Fatal(err)
	}
	if err := edxml.Encode(f, p, []io.Reader{io.LimitReader(&pattern{}, benchSize)}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		_, err := edxml.Decode(f, edxml.DecodeOptions{Attachment: func(a *edxml.Attachment, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	f.Close()
}

// BenchmarkDecodeHeader parses a small package with a 100 KB attachment.
func BenchmarkDecodeSmall(b *testing.B) {
	p := samplePackage()
	p.Attachments, p.References = p.Attachments[:1], p.References[:1]
	var buf bytes.Buffer
	if err := edxml.Encode(&buf, p, []io.Reader{io.LimitReader(&pattern{}, 100<<10)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := edxml.Decode(bytes.NewReader(buf.Bytes()), edxml.DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
