package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"vanban/signing/signtest"
)

// TestSignLargeFileStreams signs a file of several MB, beyond the size
// signing/internal/pipe copies inline: file to file (the copy in the
// kernel), into memory (the pipelined copy), and through Prepare and
// Finish between files. Each result passes pdfsig, qpdf and openssl, and
// starts with the original bytes; a failed Sign leaves the output empty.
func TestSignLargeFileStreams(t *testing.T) {
	s := loadTestSigner(t)
	in := signtest.LargePDFFile(t, 400, 10000)
	orig := readFile(t, in)
	if len(orig) < 3<<20 {
		t.Fatalf("generated file has %d bytes, want several MB", len(orig))
	}
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *os.File {
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	check := func(name string, out []byte) {
		t.Helper()
		if !bytes.HasPrefix(out, orig) {
			t.Errorf("%s: output does not start with the original file", name)
		}
		checkSigned(t, writeTemp(t, name+".pdf", out), 1, s.caPEM)
	}

	// File to file.
	outPath := filepath.Join(dir, "file.pdf")
	dst, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := Sign(ctx, open(), int64(len(orig)), dst, s.key, s.chain, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	check("file", readFile(t, outPath))

	// Into memory.
	var buf bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &buf, s.key, s.chain, Options{}); err != nil {
		t.Fatal(err)
	}
	check("memory", buf.Bytes())

	// A failure writes nothing, file to file too.
	failPath := filepath.Join(dir, "fail.pdf")
	fail, err := os.Create(failPath)
	if err != nil {
		t.Fatal(err)
	}
	err = Sign(ctx, open(), int64(len(orig)), fail, s.key, s.chain, Options{ContentsSize: 1000})
	fail.Close()
	if !errors.Is(err, ErrContentsTooSmall) {
		t.Errorf("err = %v, want ErrContentsTooSmall", err)
	}
	if b := readFile(t, failPath); len(b) != 0 {
		t.Errorf("failed Sign wrote %d bytes", len(b))
	}

	// Prepare and Finish between files.
	prepPath := filepath.Join(dir, "prepared.pdf")
	prep, err := os.Create(prepPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Prepare(ctx, open(), int64(len(orig)), prep, Options{Chain: s.chain})
	if err != nil {
		t.Fatal(err)
	}
	if err := prep.Close(); err != nil {
		t.Fatal(err)
	}
	sig, err := s.key.Sign(rand.Reader, st.Digest(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	prepared, err := os.Open(prepPath)
	if err != nil {
		t.Fatal(err)
	}
	defer prepared.Close()
	finalPath := filepath.Join(dir, "final.pdf")
	final, err := os.Create(finalPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := Finish(ctx, st, prepared, sig, final); err != nil {
		t.Fatal(err)
	}
	if err := final.Close(); err != nil {
		t.Fatal(err)
	}
	check("finished", readFile(t, finalPath))
}
