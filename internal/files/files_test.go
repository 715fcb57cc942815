package files_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/workflow"
	"vanban/storage"
	"vanban/storage/local"
)

type fixture struct {
	dir   string
	blobs *local.Store
	fs    *files.Store
	// referenced is what Referenced answers.
	referenced bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: filepath.Join(t.TempDir(), "blobs")}
	var err error
	f.blobs, err = local.New(f.dir, local.Options{LinkSecret: bytes.Repeat([]byte("k"), 32), LinkBaseURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	f.fs = &files.Store{Blobs: f.blobs, Referenced: func(context.Context, string) (bool, error) { return f.referenced, nil }}
	return f
}

// count is the number of regular files the blob store holds.
func (f *fixture) count(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(f.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func samplePDF(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/corpus/libreoffice-writer.pdf")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutPDFAcceptsAPDFAndRemovesWhatItRefuses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pdf := samplePDF(t)
	got, err := f.fs.PutPDF(ctx, bytes.NewReader(pdf), "du-thao.pdf")
	if err != nil || got.Size != int64(len(pdf)) || len(got.SHA256) != 64 {
		t.Fatalf("PutPDF of a PDF: %+v %v", got, err)
	}
	kept := f.count(t)
	for name, body := range map[string][]byte{
		"empty":                {},
		"not a PDF":            []byte("xin chào"),
		"a damaged PDF":        append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0xff}, 3000)...),
		"a cut PDF":            pdf[:len(pdf)/2],
		"a DOCX, no converter": []byte("PK\x03\x04 word/document.xml"),
	} {
		_, err := f.fs.PutPDF(ctx, bytes.NewReader(body), "x.docx")
		if !files.IsBadFile(err) || document.ErrorField(err) != "file" || document.ErrorCode(err) != document.EINVALID {
			t.Errorf("%s: %v, want a bad-file EINVALID about the field file", name, err)
		}
		if n := f.count(t); n != kept {
			t.Errorf("%s: the store holds %d files, %d before", name, n, kept)
		}
	}
}

func TestDiscardKeepsReferencedBytes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	stored, err := f.fs.PutFile(ctx, strings.NewReader("phụ lục"))
	if err != nil {
		t.Fatal(err)
	}
	f.referenced = true
	f.fs.Discard(ctx, stored)
	if _, err := f.blobs.Stat(ctx, stored.BlobKey); err != nil {
		t.Fatalf("a referenced object was removed: %v", err)
	}
	f.referenced = false
	f.fs.Discard(ctx, stored)
	if _, err := f.blobs.Stat(ctx, stored.BlobKey); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("an unreferenced refused upload stayed: %v", err)
	}
	if _, err := f.fs.PutFile(ctx, strings.NewReader("")); document.ErrorCode(err) != document.EINVALID {
		t.Errorf("an empty attachment: %v", err)
	}
	if n := f.count(t); n != 0 {
		t.Errorf("%d files left", n)
	}
}

func TestServeChecksTheDigestFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pdf := samplePDF(t)
	stored, err := f.fs.PutPDF(ctx, bytes.NewReader(pdf), "a.pdf")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := f.fs.Serve(ctx, rec, stored.BlobKey, "van-ban.pdf"); err != nil {
		t.Fatal(err)
	}
	h := rec.Header()
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), pdf) || h.Get("Content-Type") != "application/pdf" ||
		h.Get("Content-Security-Policy") != files.DownloadCSP || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("served %d %v", rec.Code, h)
	}
	for name, want := range map[string]string{"a.PDF": "application/pdf", "b.png": "image/png", "c.html": "application/octet-stream", "d": "application/octet-stream"} {
		if got := files.ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %s, want %s", name, got, want)
		}
	}
	// One byte changed on disk: refused before any header.
	obj := filepath.Join(f.dir, "objects", filepath.FromSlash(stored.BlobKey))
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(obj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	err = f.fs.Serve(ctx, rec, stored.BlobKey, "van-ban.pdf")
	if !errors.Is(err, storage.ErrIntegrity) || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Fatalf("a corrupt object: %v, %d bytes written, headers %v", err, rec.Body.Len(), rec.Header())
	}
}

func TestLimitAndQuota(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	read := func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }

	r, err := f.fs.Limit(ctx, "u1", strings.NewReader(strings.Repeat("x", 11)), 10)
	var maxErr *http.MaxBytesError
	if err != nil || !errors.As(read(r), &maxErr) || maxErr.Limit != 10 {
		t.Errorf("11 bytes over a limit of 10 without a quota: %v %v", err, maxErr)
	}
	if r, _ := f.fs.Limit(ctx, "u1", strings.NewReader(strings.Repeat("x", 10)), 10); read(r) != nil {
		t.Errorf("exactly the limit is refused")
	}

	var since time.Time
	used := int64(90)
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	f.fs.Quota = files.Quota{Bytes: 100, Now: func() time.Time { return now },
		Used: func(_ context.Context, user string, t time.Time) (int64, error) { since = t; return used, nil }}
	r, err = f.fs.Limit(ctx, "u1", strings.NewReader(strings.Repeat("x", 11)), 1000)
	var quota *files.QuotaExceeded
	if err != nil || !errors.As(read(r), &quota) || quota.Limit != 100 || quota.Used != 90 {
		t.Errorf("11 bytes with 10 left of the quota: %v %+v", err, quota)
	}
	if !since.Equal(now.Add(-24 * time.Hour)) {
		t.Errorf("the quota counts since %v, want 24 hours before %v", since, now)
	}
	if r, err := f.fs.Limit(ctx, "u1", strings.NewReader(strings.Repeat("x", 10)), 1000); err != nil || read(r) != nil {
		t.Errorf("what is left of the quota is refused: %v", err)
	}
	used = 100
	if _, err := f.fs.Limit(ctx, "u1", strings.NewReader("x"), 1000); !errors.As(err, &quota) {
		t.Errorf("a quota used up: %v, want QuotaExceeded before reading", err)
	}
	if msg := quota.Error(); !strings.Contains(msg, "100 bytes per 24 hours") {
		t.Errorf("quota message %q", msg)
	}
	if got := files.FormatBytes(2 << 30); got != "2 GiB" {
		t.Errorf("FormatBytes(2 GiB) = %q", got)
	}
}

func TestCheckPNG(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	img.Set(3, 3, color.NRGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	put := func(b []byte) workflow.File {
		stored, err := f.fs.PutFile(ctx, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return stored
	}
	if err := f.fs.CheckPNG(ctx, put(buf.Bytes())); err != nil {
		t.Errorf("a PNG: %v", err)
	}
	for name, b := range map[string][]byte{"a PDF": samplePDF(t), "a cut PNG": buf.Bytes()[:buf.Len()/2]} {
		if err := f.fs.CheckPNG(ctx, put(b)); document.ErrorCode(err) != document.EINVALID || document.ErrorField(err) != "file" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidatorOnStoredFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := &files.Validator{Blobs: f.blobs, Offline: true}
	stored, err := f.fs.PutPDF(ctx, bytes.NewReader(samplePDF(t)), "a.pdf")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := v.Validate(ctx, stored.BlobKey)
	if err != nil || rep == nil || len(rep.Signatures) != 0 {
		t.Fatalf("an unsigned PDF: %+v %v", rep, err)
	}
	junk, err := f.fs.PutFile(ctx, strings.NewReader("không phải PDF"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, junk.BlobKey); document.ErrorCode(err) != document.EINVALID {
		t.Errorf("an unreadable stored file: %v, want EINVALID", err)
	}
	if _, err := v.Validate(ctx, "sha256/"+strings.Repeat("0", 64)); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("a missing object: %v", err)
	}

	// A signed file read whole (the default for its size) and read in
	// parts gives the same report.
	pdf, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", "two-signatures.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := f.fs.PutPDF(ctx, bytes.NewReader(pdf), "signed.pdf")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := v.Validate(ctx, signed.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	inParts := &files.Validator{Blobs: f.blobs, Offline: true, WholeFileMax: -1}
	parts, err := inParts.Validate(ctx, signed.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Signatures) == 0 {
		t.Fatal("no signature found in a signed file")
	}
	// The reports differ only in when they were made.
	now := regexp.MustCompile(`"(validation_time|best_signature_time)":"[^"]*"`)
	wj, _ := json.Marshal(whole)
	pj, _ := json.Marshal(parts)
	wj, pj = now.ReplaceAll(wj, []byte("$1")), now.ReplaceAll(pj, []byte("$1"))
	if !bytes.Equal(wj, pj) {
		t.Errorf("read whole:\n%s\nread in parts:\n%s", wj, pj)
	}
}
