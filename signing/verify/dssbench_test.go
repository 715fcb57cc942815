package verify

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkValidateDSSCorpus validates every file of the public PAdES
// corpus once per iteration (files in memory, no trust anchors, offline)
// and reports validations (files) per second.
func BenchmarkValidateDSSCorpus(b *testing.B) {
	dir, files := loadDSSCorpus(b)
	var data [][]byte
	for _, f := range files {
		d, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
	}
	opts := Options{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b.ResetTimer()
	for b.Loop() {
		for _, d := range data {
			_, _ = Verify(context.Background(), bytes.NewReader(d), int64(len(d)), opts)
		}
	}
	b.ReportMetric(float64(b.N*len(data))/b.Elapsed().Seconds(), "files/s")
}
