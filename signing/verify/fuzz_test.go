package verify

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify feeds damaged signed PDFs to Verify: it may refuse them or
// report failures, but must never panic or hang.
func FuzzVerify(f *testing.F) {
	for _, name := range []string{"itext-signed.pdf", "two-signatures.pdf", "itext-certified-form-filled.pdf"} {
		b, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			f.Skipf("corpus not present: %v", err)
		}
		f.Add(b, int64(len(b)/2), byte(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, at int64, x byte) {
		if len(data) == 0 {
			return
		}
		b := bytes.Clone(data)
		b[int(uint64(at)%uint64(len(b)))] ^= x
		rep, err := Verify(context.Background(), bytes.NewReader(b), int64(len(b)), Options{})
		if err == nil && rep == nil {
			t.Fatal("nil report without error")
		}
	})
}

// TestDamagedFiles flips bytes across a signed file with two signatures:
// every variant must give a report or an error, never a panic, and a flip
// inside a signed range must never leave a signature TOTAL-PASSED with
// its message digest intact.
func TestDamagedFiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(corpusDir, "two-signatures.pdf"))
	if err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	roots := corpusRoots(t)
	step := len(b)/80 + 1
	for at := 0; at < len(b); at += step {
		d := bytes.Clone(b)
		d[at] ^= 0x20
		rep, err := Verify(context.Background(), bytes.NewReader(d), int64(len(d)), Options{Roots: roots})
		if err != nil {
			continue
		}
		for _, s := range rep.Signatures {
			br := s.Coverage.ByteRange
			inside := int64(at) < br[1] || (int64(at) >= br[2] && int64(at) < br[2]+br[3])
			if inside && s.Indication == TotalPassed {
				t.Fatalf("flip at %d inside the signed range of %s left it TOTAL-PASSED", at, s.Field)
			}
		}
	}
}
