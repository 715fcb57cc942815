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

	"vanban/internal/document"
	"vanban/internal/render"
	"vanban/storage"
)

// pageDPI renders an A4 page about 910 pixels wide: sharp on a 390-point
// phone screen at 2-3x, small enough to send over a mobile network.
const pageDPI = 110

// Renderer is the pages' cache of page images in front of the bounded
// PDFium engine (internal/render). Images are cached on disk by the
// version's SHA-256, the page number and the width, so a page is rendered
// once per version whoever looks at it; versions never change.
type Renderer struct {
	dir    string
	blobs  storage.Store
	log    *slog.Logger
	engine *render.Engine
	// ownEngine: Close closes the engine (not a shared one).
	ownEngine bool
	// mu serialises work on one cache key so that two viewers of a fresh
	// page do not render it twice.
	mu    sync.Mutex
	locks map[string]*lockEntry
}

type lockEntry struct {
	sync.Mutex
	refs int
}

// NewRenderer caches under dir (a temporary directory when empty).
func NewRenderer(dir string, blobs storage.Store, log *slog.Logger) *Renderer {
	return newRenderer(dir, blobs, log, nil)
}

// newRenderer uses engine, shared with others, when not nil.
func newRenderer(dir string, blobs storage.Store, log *slog.Logger, engine *render.Engine) *Renderer {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vanban-pages")
	}
	r := &Renderer{dir: dir, blobs: blobs, log: log, locks: map[string]*lockEntry{}, engine: engine}
	if engine == nil {
		r.engine = render.New(render.Options{CacheDir: filepath.Join(dir, "wazero"), Logger: log})
		r.ownEngine = true
	}
	return r
}

// Engine is the PDFium engine behind the cache, for text extraction.
func (r *Renderer) Engine() *render.Engine { return r.engine }

// Close releases PDFium.
func (r *Renderer) Close() {
	if r.ownEngine {
		r.engine.Close()
	}
}

func (r *Renderer) lock(key string) func() {
	r.mu.Lock()
	m, ok := r.locks[key]
	if !ok {
		m = &lockEntry{}
		r.locks[key] = m
	}
	m.refs++
	r.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		r.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(r.locks, key)
		}
		r.mu.Unlock()
	}
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
	err := r.withDocument(ctx, blobKey, func(d *render.Document) error {
		n = d.PageCount()
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

// Page returns the path of the cached PNG of page n (1-based) at the
// default resolution, rendering it first when needed.
func (r *Renderer) Page(ctx context.Context, sha, blobKey string, n int) (string, error) {
	return r.PageAt(ctx, sha, blobKey, n, pageDPI)
}

// PageAt is Page at dpi (the engine caps the pixels whatever the page
// size).
func (r *Renderer) PageAt(ctx context.Context, sha, blobKey string, n int, dpi int) (string, error) {
	if !validDigest(sha) || n < 1 || dpi < 1 || dpi > 600 {
		return "", fmt.Errorf("bad page %s/%d", sha, n)
	}
	name := strconv.Itoa(n) + ".png"
	if dpi != pageDPI {
		name = strconv.Itoa(n) + "@" + strconv.Itoa(dpi) + ".png"
	}
	out := filepath.Join(r.dir, sha[:2], sha, name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	defer r.lock(sha + "/" + name)()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	err := r.withDocument(ctx, blobKey, func(d *render.Document) error {
		if n > d.PageCount() {
			return errNoPage
		}
		img, err := d.Render(n, float64(dpi))
		if err != nil {
			return err
		}
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		return writeAtomic(out, func(w io.Writer) error { return enc.Encode(w, img) })
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

var errNoPage = errors.New("no such page")

// withDocument opens the stored PDF in the engine, counted against the
// share of the user in ctx (render.WithUser). A document PDFium cannot
// read or finish in time is the uploader's problem: EINVALID.
func (r *Renderer) withDocument(ctx context.Context, blobKey string, fn func(*render.Document) error) error {
	f, err := r.blobs.Open(ctx, blobKey)
	if err != nil {
		return err
	}
	if f.Size() > render.MaxDocument {
		f.Close()
		return document.Errorf(document.EINVALID, "the PDF is too large to show (%d bytes)", f.Size())
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	f.Close()
	if err != nil {
		return err
	}
	err = r.engine.Open(ctx, render.UserFrom(ctx), data, fn)
	switch {
	case errors.Is(err, render.ErrNoPage):
		return errNoPage
	case errors.Is(err, render.ErrUnreadable):
		return document.Errorf(document.EINVALID, "the PDF cannot be shown: PDFium cannot read it")
	case errors.Is(err, render.ErrDeadline):
		return document.Errorf(document.EINVALID, "the PDF cannot be shown: its page is too costly to draw")
	}
	return err
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
