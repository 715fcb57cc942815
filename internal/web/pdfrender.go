package web

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"vanban/storage"
)

// pageDPI renders an A4 page about 910 pixels wide: sharp on a 390-point
// phone screen at 2-3x, small enough to send over a mobile network.
const pageDPI = 110

// Renderer turns PDF pages into PNG images with PDFium compiled to
// WebAssembly (pure Go, no cgo, no external program). Images are cached on
// disk by the version's SHA-256 and the page number, so a page is rendered
// once per version whoever looks at it; versions never change.
type Renderer struct {
	dir   string
	blobs storage.Store
	log   *slog.Logger

	once    sync.Once
	pool    pdfium.Pool
	initErr error
	// sem bounds concurrent renders: the machine may have two cores, and
	// each PDFium instance holds its own WebAssembly memory.
	sem chan struct{}
	// mu serialises work on one cache key so that two viewers of a fresh
	// page do not render it twice.
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// NewRenderer caches under dir (a temporary directory when empty).
func NewRenderer(dir string, blobs storage.Store, log *slog.Logger) *Renderer {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vanban-pages")
	}
	return &Renderer{dir: dir, blobs: blobs, log: log, sem: make(chan struct{}, 1), locks: map[string]*sync.Mutex{}}
}

// start compiles PDFium on first use; the compiled code is cached in the
// cache directory, so later starts take a fraction of the first.
func (r *Renderer) start() error {
	r.once.Do(func() {
		// PDFium's build needs the exception-handling proposal, as in
		// go-pdfium's own default configuration.
		cfg := wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling)
		if cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(r.dir, "wazero")); err == nil {
			cfg = cfg.WithCompilationCache(cache)
		}
		t := time.Now()
		r.pool, r.initErr = webassembly.Init(webassembly.Config{MinIdle: 0, MaxIdle: 1, MaxTotal: 1, RuntimeConfig: cfg})
		r.log.Info("PDF page renderer ready", "took", time.Since(t).Round(time.Millisecond), "err", r.initErr)
	})
	return r.initErr
}

// Close releases PDFium.
func (r *Renderer) Close() {
	if r.pool != nil {
		_ = r.pool.Close()
	}
}

func (r *Renderer) lock(key string) func() {
	r.mu.Lock()
	m, ok := r.locks[key]
	if !ok {
		m = &sync.Mutex{}
		r.locks[key] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// validDigest keeps cache paths inside the cache directory.
func validDigest(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for _, c := range sha {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// PageCount returns the number of pages of a stored version.
func (r *Renderer) PageCount(ctx context.Context, sha, blobKey string) (int, error) {
	if !validDigest(sha) {
		return 0, fmt.Errorf("bad digest %q", sha)
	}
	countFile := filepath.Join(r.dir, sha[:2], sha, "pages")
	if b, err := os.ReadFile(countFile); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n, nil
		}
	}
	defer r.lock(sha)()
	var n int
	err := r.withDocument(ctx, blobKey, func(inst pdfium.Pdfium, doc *requests.OpenDocument, ref requestsDoc) error {
		pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: ref})
		if err != nil {
			return err
		}
		n = pc.PageCount
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := writeAtomic(countFile, func(w io.Writer) error {
		_, err := io.WriteString(w, strconv.Itoa(n))
		return err
	}); err != nil {
		r.log.Warn("page count cache", "err", err)
	}
	return n, nil
}

// Page returns the path of the cached PNG of page n (1-based), rendering it
// first when needed.
func (r *Renderer) Page(ctx context.Context, sha, blobKey string, n int) (string, error) {
	if !validDigest(sha) || n < 1 {
		return "", fmt.Errorf("bad page %s/%d", sha, n)
	}
	out := filepath.Join(r.dir, sha[:2], sha, strconv.Itoa(n)+".png")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	defer r.lock(sha + "/" + strconv.Itoa(n))()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	err := r.withDocument(ctx, blobKey, func(inst pdfium.Pdfium, _ *requests.OpenDocument, ref requestsDoc) error {
		pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: ref})
		if err != nil {
			return err
		}
		if n > pc.PageCount {
			return errNoPage
		}
		res, err := inst.RenderPageInDPI(&requests.RenderPageInDPI{DPI: pageDPI, RenderForm: true, Document: &ref,
			Page: requests.Page{ByIndex: &requests.PageByIndex{Document: ref, Index: n - 1}}})
		if err != nil {
			return err
		}
		defer res.Cleanup()
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		return writeAtomic(out, func(w io.Writer) error { return enc.Encode(w, res.Result.Image) })
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

var errNoPage = errors.New("no such page")

type requestsDoc = references.FPDF_DOCUMENT

// withDocument opens the stored PDF in a PDFium instance, within the
// concurrency bound.
func (r *Renderer) withDocument(ctx context.Context, blobKey string, fn func(pdfium.Pdfium, *requests.OpenDocument, requestsDoc) error) error {
	if err := r.start(); err != nil {
		return fmt.Errorf("starting the PDF renderer: %w", err)
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	f, err := r.blobs.Open(ctx, blobKey)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	f.Close()
	if err != nil {
		return err
	}
	inst, err := r.pool.GetInstanceWithContext(ctx)
	if err != nil {
		return err
	}
	defer inst.Close()
	req := &requests.OpenDocument{File: &data}
	doc, err := inst.OpenDocument(req)
	if err != nil {
		return err
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
	return fn(inst, req, doc.Document)
}

// writeAtomic writes through a temporary file and a rename, so a reader
// never sees half an image.
func writeAtomic(path string, fn func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if err := fn(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
