package pades

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"vanban/signing/signtest"
)

// TestSignCorpusBB signs every corpus file (PDFs from LibreOffice,
// Chromium, Ghostscript, pdfTeX, qpdf, iText, PDFBox, encrypted, hybrid,
// linearized, already signed) invisibly at B-B and checks each output with
// pdfsig, qpdf, openssl and a rendering comparison.
func TestSignCorpusBB(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	signtest.RequireTool(t, "qpdf")
	signtest.RequireTool(t, "openssl")
	s := loadTestSigner(t)
	for _, f := range signtest.Corpus(t) {
		t.Run(f.Name, func(t *testing.T) {
			opts := Options{Reason: "Phê duyệt", Location: "Thành Long", SigningTime: time.Date(2026, 11, 24, 7, 5, 9, 0, time.UTC)}
			if certifiedNoChanges(f) {
				// A certification with P<=2 permits signing existing empty
				// signature fields only; these files have none, so adding
				// a signature field must be refused.
				in := readFile(t, f.Path)
				err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), io.Discard, s.key, s.chain, opts)
				if !errors.Is(err, ErrNotPermitted) {
					t.Fatalf("err = %v, want ErrNotPermitted", err)
				}
				return
			}
			out := signFile(t, f.Path, s, opts)
			checkSigned(t, out, len(f.Signatures)+1, s.caPEM)
			if err := signtest.SamePages(t, f.Path, out); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestSignCorpusVisible adds a visible signature with Vietnamese text to
// every unsigned, unencrypted corpus file.
func TestSignCorpusVisible(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	s := loadTestSigner(t)
	for _, f := range signtest.Corpus(t) {
		if f.Signed() {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			opts := Options{
				Appearance: &Appearance{Page: 2, Rect: Rect{300, 100, 520, 160}, Lines: []string{"Ký bởi: Nguyễn Văn Thử", "Ủy ban nhân dân tỉnh Thành Long", "Thời gian: 2026-11-24 14:05:09 +07:00"}},
			}
			out := signFile(t, f.Path, s, opts)
			checkSigned(t, out, 1, s.caPEM)
			compareOutsideRect(t, f.Path, out, 2, opts.Appearance.Rect)
			text := pdftotext(t, out, 2)
			if !strings.Contains(text, "Nguyễn Văn Thử") || !strings.Contains(text, "Ủy ban nhân dân tỉnh Thành Long") {
				t.Errorf("signature text does not extract from page 2:\n%s", text)
			}
		})
	}
}

// certifiedNoChanges reports whether a corpus file carries a certification
// signature that forbids new signature fields (DocMDP P=1 or P=2).
func certifiedNoChanges(f signtest.CorpusFile) bool {
	for _, sig := range f.Signatures {
		if sig.Certification && sig.DocMDPP <= 2 {
			return true
		}
	}
	return false
}
