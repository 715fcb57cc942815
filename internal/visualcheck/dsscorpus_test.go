package visualcheck_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vanban/internal/visualcheck"
	"vanban/signing/verify"
)

// dssCorpus reads the files of the public PAdES validation corpus (EU
// DSS's suite, ../shared/corpora/pades-validation from the module root)
// that files.tsv lists. It skips when the corpus is absent, or fails when
// VANBAN_REQUIRE_SERVICES=1.
func dssCorpus(tb testing.TB) (names []string, data [][]byte) {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			tb.Fatal("no go.mod above the test directory")
		}
		dir = filepath.Dir(dir)
	}
	corpus := filepath.Join(dir, "..", "shared", "corpora", "pades-validation")
	f, err := os.Open(filepath.Join(corpus, "files.tsv"))
	if err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("PAdES validation corpus missing at %s: %v", corpus, err)
		}
		tb.Skipf("PAdES validation corpus missing at %s: %v", corpus, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if first || name == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(corpus, "files", name))
		if err != nil {
			tb.Fatal(err)
		}
		names, data = append(names, name), append(data, b)
	}
	return names, data
}

var corpusTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestVisualCheckDSSCorpus runs the visual check over the corpus: it never
// turns a permitted verdict into another, every signature whose permitted
// later changes hold a fill or an annotation gets checked (or a warning
// saying why not), and the check adds no more than 10 s to any file. The differences it finds are logged: they
// are what a reader of those files would see change after signing.
func TestVisualCheckDSSCorpus(t *testing.T) {
	names, data := dssCorpus(t)
	checker := visualcheck.New(sharedEngine(t))
	checked, found := 0, 0
	for i, d := range data {
		ctx := context.Background()
		start := time.Now()
		plain, err := verify.Verify(ctx, bytes.NewReader(d), int64(len(d)), verify.Options{Now: corpusTime})
		if err != nil {
			continue // unreadable files are the corpus test's business
		}
		base := time.Since(start)
		start = time.Now()
		visual, err := verify.Verify(ctx, bytes.NewReader(d), int64(len(d)), verify.Options{Now: corpusTime, Visual: checker})
		if err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
		// The check's own cost; the race detector slows PDFium's
		// interpreter tenfold, so the bound is for normal builds.
		if extra := time.Since(start) - base; extra > 10*time.Second && !raceEnabled {
			t.Errorf("%s: the visual check took %s more", names[i], extra)
		}
		for j, s := range visual.Signatures {
			p := plain.Signatures[j]
			if s.Indication != p.Indication || s.Modifications.Permitted != p.Modifications.Permitted {
				t.Errorf("%s %s: the visual check changed the verdict %s → %s", names[i], s.Field, p.Indication, s.Indication)
			}
			m := s.Modifications
			if !m.Permitted || !(slices.Contains(m.Categories, verify.ModFormFill) || slices.Contains(m.Categories, verify.ModAnnotations)) {
				continue
			}
			if !m.VisualChecked {
				if !hasPrefix(s.Warnings, "visual check not made") {
					t.Errorf("%s %s: permitted changes neither checked nor explained: %v", names[i], s.Field, s.Warnings)
				}
				continue
			}
			checked++
			for _, v := range m.Visual {
				found++
				t.Logf("%s %s: page %d, revision %d: %s", names[i], s.Field, v.Page, v.Revision, v.Detail)
			}
		}
	}
	t.Logf("%d signatures checked visually, %d differences outside the filled fields and signature widgets", checked, found)
	if checked == 0 {
		t.Fatal("no signature of the corpus was checked visually")
	}
}

func hasPrefix(ss []string, p string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// BenchmarkVisualCheckDSSCorpus validates every corpus file once per
// iteration, without and with the visual check, and reports files per
// second and the signatures checked visually per pass.
func BenchmarkVisualCheckDSSCorpus(b *testing.B) {
	_, data := dssCorpus(b)
	for _, c := range []struct {
		name   string
		visual verify.VisualChecker
	}{{"off", nil}, {"on", visualcheck.New(sharedEngine(b))}} {
		b.Run(c.name, func(b *testing.B) {
			opts := verify.Options{Now: corpusTime, Visual: c.visual}
			checked := 0
			for b.Loop() {
				checked = 0
				for _, d := range data {
					rep, err := verify.Verify(context.Background(), bytes.NewReader(d), int64(len(d)), opts)
					if err != nil {
						continue
					}
					for _, s := range rep.Signatures {
						if s.Modifications.VisualChecked {
							checked++
						}
					}
				}
			}
			b.ReportMetric(float64(b.N*len(data))/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(checked), "checked-sigs/pass")
		})
	}
}
