package pades

import (
	"bufio"
	"bytes"
	"context"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"vanban/signing/signtest"
)

// BenchmarkSign10Pages signs an ordinary 10-page document (RSA-2048,
// SHA-256, invisible, B-B) in memory.
func BenchmarkSign10Pages(b *testing.B) {
	s := loadTestSigner(b)
	var doc bytes.Buffer
	if err := signtest.GenerateLargePDF(&doc, 10, 4000); err != nil {
		b.Fatal(err)
	}
	in := doc.Bytes()
	b.SetBytes(int64(len(in)))
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, s.key, s.chain, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignVisible10Pages adds a visible signature with an image and
// Vietnamese text (font subsetting, PNG re-encoding).
func BenchmarkSignVisible10Pages(b *testing.B) {
	s := loadTestSigner(b)
	var doc bytes.Buffer
	if err := signtest.GenerateLargePDF(&doc, 10, 4000); err != nil {
		b.Fatal(err)
	}
	in := doc.Bytes()
	img := sealPNG(b, color.NRGBA{200, 0, 0, 255})
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, s.key, s.chain, Options{
			Appearance: &Appearance{Rect: Rect{300, 100, 520, 180}, Image: img, Lines: []string{"Ký bởi: Nguyễn Văn Thử", "Thời gian: 2026-11-24 14:05:09 +07:00"}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignLarge signs a ~250 MB, 50,000-page PDF from a file to a
// file, and reports the peak RSS of the process and the time openssl needs
// just to hash the same file, the floor for any signer.
func BenchmarkSignLarge(b *testing.B) {
	if testing.Short() {
		b.Skip("large benchmark skipped in -short mode")
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "large.pdf")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := signtest.GenerateLargePDF(bw, 50_000, 5_000); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	fi, _ := in.Stat()
	// ECDSA keeps the key operation out of the picture; the point is I/O
	// and parsing.
	ca := newTestCA(b, "Bench CA")
	signer, chain := ca.issue(b, "Bench signer", "Bench", nil)
	dst := filepath.Join(dir, "signed.pdf")
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		out, err := os.Create(dst)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(out, 1<<20)
		if err := Sign(context.Background(), in, fi.Size(), w, signer, chain, Options{}); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(vmHWM(b))/(1<<20), "peakRSS-MiB")
	if openssl, err := exec.LookPath("openssl"); err == nil {
		start := time.Now()
		if err := exec.Command(openssl, "dgst", "-sha256", src).Run(); err == nil {
			b.ReportMetric(time.Since(start).Seconds(), "openssl-dgst-s")
		}
	}
}

// vmHWM returns the process's peak resident set size in bytes, from
// /proc/self/status.
func vmHWM(tb testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Logf("no /proc/self/status: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				kb, _ := strconv.ParseInt(fields[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
