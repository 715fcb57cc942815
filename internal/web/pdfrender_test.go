package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vanban/storage"
	"vanban/storage/local"
)

// TestRendererCachesPages renders a real two-page decision with PDFium in
// WebAssembly: the page count, a page a phone can read, a second request
// served from the cache without rendering, and a page past the end.
func TestRendererCachesPages(t *testing.T) {
	pdfBytes, err := os.ReadFile(filepath.Join("..", "..", "cmd", "vanban", "demo-quyet-dinh.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := local.New(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	obj, err := blobs.PutContentAddressed(ctx, bytes.NewReader(pdfBytes), storage.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		t.Fatal(err)
	}
	sha := hex.EncodeToString(obj.SHA256)
	cache := t.TempDir()
	r := NewRenderer(cache, blobs, slog.Default())
	defer r.Close()

	n, err := r.PageCount(ctx, sha, obj.Key)
	if err != nil || n != 2 {
		t.Fatalf("page count %d, %v; want 2", n, err)
	}
	path, err := r.Page(ctx, sha, obj.Key, 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w < 800 || w > 1000 {
		t.Errorf("page 1 is %d pixels wide, want about 910 (A4 at %d dpi)", w, pageDPI)
	}
	st1, _ := os.Stat(path)
	time.Sleep(20 * time.Millisecond)
	// From the cache: the file is not written again, and the blob is not
	// even needed.
	again, err := r.Page(ctx, sha, "no-such-key", 1)
	if err != nil || again != path {
		t.Fatalf("cached page: %q, %v", again, err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("the cached page was rendered again")
	}
	if _, err := r.Page(ctx, sha, obj.Key, 3); err != errNoPage {
		t.Errorf("page 3 of 2: %v, want errNoPage", err)
	}
	if _, err := r.Page(ctx, "../../etc", obj.Key, 1); err == nil {
		t.Error("a malformed digest reached the file system")
	}
}
