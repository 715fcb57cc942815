// Package render opens PDFs in PDFium (compiled to WebAssembly, run by
// wazero: pure Go, no cgo, no external program) to render page images and
// to extract text with its position on the page.
//
// PDFium runs untrusted input, so every use is bounded: a document is
// opened in a fresh WebAssembly instance whose linear memory is capped, a
// rendered image never exceeds MaxPixels whatever the page's MediaBox,
// an operation past its deadline is abandoned and its instance destroyed
// (wazero stops the guest when the instance's context ends), and work
// runs in a small pool where each user holds at most PerUser slots, so a
// slow page of one user does not block another's.
//
// The package knows nothing of HTTP, the database or storage: it takes
// bytes and returns images and text.
package render

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/enums"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Errors callers map: bad input is ErrUnreadable or ErrNoPage (a client's
// fault, 4xx); ErrDeadline is a document too costly to process in time
// (also the client's document: 422); ErrClosed after Close.
var (
	ErrUnreadable = errors.New("render: PDFium cannot read the document")
	ErrNoPage     = errors.New("render: no such page")
	ErrDeadline   = errors.New("render: the document took too long to process")
	ErrClosed     = errors.New("render: the engine is closed")
)

// Defaults for Options' zero values.
const (
	DefaultMaxPixels = 4_000_000
	DefaultMaxMemory = 512 << 20
	DefaultTimeout   = 20 * time.Second
	DefaultWorkers   = 2
	DefaultPerUser   = 1
	// MaxDocument bounds the input handed to PDFium: it is copied into
	// the instance's memory, which MaxMemory caps anyway.
	MaxDocument = 200 << 20
)

const wasmPage = 64 << 10

// Options configure an Engine; zero values take the defaults.
type Options struct {
	// CacheDir keeps wazero's compiled PDFium between runs ("" compiles
	// on every start, which takes seconds).
	CacheDir string
	// MaxPixels bounds a rendered image (width × height); a larger
	// request is scaled down keeping the aspect ratio.
	MaxPixels int
	// MaxMemory caps the WebAssembly linear memory of one instance, in
	// bytes; PDFium's allocations past it fail inside the instance.
	MaxMemory uint64
	// Timeout bounds one Open call, the whole work on one document.
	Timeout time.Duration
	// Workers is how many documents are processed at once (instances).
	Workers int
	// PerUser is how many of the Workers one user may hold at once.
	PerUser int
	Logger  *slog.Logger
}

func (o *Options) setDefaults() {
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.PerUser <= 0 {
		o.PerUser = DefaultPerUser
	}
	if o.PerUser > o.Workers {
		o.PerUser = o.Workers
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Engine is a bounded pool of PDFium instances, safe for concurrent use.
// PDFium is compiled on first use.
type Engine struct {
	opt Options

	once    sync.Once
	pool    pdfium.Pool
	initErr error

	slots chan struct{} // global: one per worker

	mu     sync.Mutex
	users  map[string]*userShare
	closed bool

	texts *textCache
}

// userShare is one user's slots; it is dropped when unused.
type userShare struct {
	slots chan struct{}
	refs  int
}

// New returns an engine; PDFium starts on first use.
func New(o Options) *Engine {
	o.setDefaults()
	return &Engine{opt: o, slots: make(chan struct{}, o.Workers), users: map[string]*userShare{}, texts: newTextCache()}
}

// Options returns the engine's effective options.
func (e *Engine) Options() Options { return e.opt }

func (e *Engine) start() error {
	e.once.Do(func() {
		pages := e.opt.MaxMemory / wasmPage
		if pages > 65536 {
			pages = 65536
		}
		// PDFium's build needs the exception-handling proposal, as in
		// go-pdfium's own default configuration. CloseOnContextDone lets
		// a killed instance stop in the middle of a guest call.
		cfg := wazero.NewRuntimeConfig().
			WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
			WithMemoryLimitPages(uint32(pages)).
			WithCloseOnContextDone(true)
		if e.opt.CacheDir != "" {
			if cache, err := wazero.NewCompilationCacheWithDir(e.opt.CacheDir); err == nil {
				cfg = cfg.WithCompilationCache(cache)
			}
		}
		t := time.Now()
		// ReuseWorkers false: every document gets a fresh instance,
		// so memory a document made PDFium grow is returned when the
		// document is done, and no document sees another's state.
		ctx := experimental.WithMemoryAllocator(context.Background(), memoryAllocator())
		e.pool, e.initErr = webassembly.Init(webassembly.Config{Context: ctx, MinIdle: 0, MaxIdle: e.opt.Workers,
			MaxTotal: e.opt.Workers, RuntimeConfig: cfg, ReuseWorkers: false})
		e.opt.Logger.Info("PDFium ready", "took", time.Since(t).Round(time.Millisecond), "err", e.initErr)
	})
	return e.initErr
}

// Warm compiles PDFium now (seconds, the first time for a cache
// directory) so that the first document does not wait for it.
func (e *Engine) Warm() error { return e.start() }

// Close releases PDFium. Work in progress fails.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	if e.pool != nil {
		_ = e.pool.Close()
	}
}

// acquire takes one of the user's slots, then a global one.
func (e *Engine) acquire(ctx context.Context, user string) (release func(), err error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	u := e.users[user]
	if u == nil {
		u = &userShare{slots: make(chan struct{}, e.opt.PerUser)}
		e.users[user] = u
	}
	u.refs++
	e.mu.Unlock()
	drop := func() {
		e.mu.Lock()
		if u.refs--; u.refs == 0 {
			delete(e.users, user)
		}
		e.mu.Unlock()
	}
	select {
	case u.slots <- struct{}{}:
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		<-u.slots
		drop()
		return nil, ctx.Err()
	}
	return func() {
		<-e.slots
		<-u.slots
		drop()
	}, nil
}

// Open loads pdf in a fresh instance and calls fn with it, within the
// user's share of the pool and the engine's deadline (the earlier of
// ctx's and Timeout). Past the deadline the instance is destroyed, fn's
// pending call fails, and Open returns ErrDeadline. user names whose share
// the work counts against ("" is a share of its own).
func (e *Engine) Open(ctx context.Context, user string, pdf []byte, fn func(*Document) error) error {
	if len(pdf) == 0 || len(pdf) > MaxDocument {
		return fmt.Errorf("%w: %d bytes", ErrUnreadable, len(pdf))
	}
	// A slot first: a closed engine refuses here, before it would start
	// PDFium for nothing.
	release, err := e.acquire(ctx, user)
	if err != nil {
		return err
	}
	defer release()
	if err := e.start(); err != nil {
		return fmt.Errorf("starting PDFium: %w", err)
	}
	opCtx, cancel := context.WithTimeout(ctx, e.opt.Timeout)
	defer cancel()
	inst, err := e.pool.GetInstanceWithContext(opCtx)
	if err != nil {
		if opCtx.Err() != nil {
			return fmt.Errorf("%w: %v", ErrDeadline, err)
		}
		return err
	}
	done := make(chan error, 1)
	go func() {
		done <- e.run(inst, pdf, fn)
	}()
	// The engine's own limit, which a caller's cancellation does not end.
	limit := time.NewTimer(e.opt.Timeout)
	defer limit.Stop()
	select {
	case err := <-done:
		_ = inst.Close()
		return err
	case <-opCtx.Done():
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The caller went away (a page closed while its images
			// loaded). Killing the instance in the middle of a guest call
			// races with the call inside wazero, so the call may finish
			// within the engine's limit and the instance goes back
			// whole; only past the limit is it killed like any other.
			select {
			case <-done:
				_ = inst.Close()
				return ctx.Err()
			case <-limit.C:
			}
		}
		// Destroy the instance: wazero ends the guest call in progress,
		// the instance's memory goes with it, and the pool makes a
		// fresh one for the next document. This is the last resort for a
		// document that runs past the limit.
		_ = inst.Kill()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			e.opt.Logger.Error("PDFium did not stop after its instance was killed")
		}
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err()
		}
		return fmt.Errorf("%w (limit %s)", ErrDeadline, e.opt.Timeout)
	}
}

func (e *Engine) run(inst pdfium.Pdfium, pdf []byte, fn func(*Document) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: PDFium failed: %v", ErrUnreadable, p)
		}
	}()
	doc, err := inst.OpenDocument(&requests.OpenDocument{File: &pdf})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
	pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc.Document})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return fn(&Document{e: e, inst: inst, ref: doc.Document, pages: pc.PageCount, pdf: pdf})
}

// Document is a PDF open in an instance, valid during Open's callback.
type Document struct {
	e     *Engine
	inst  pdfium.Pdfium
	ref   references.FPDF_DOCUMENT
	pages int

	pdf    []byte
	hashed bool
	hash   [sha256.Size]byte // of pdf, the text cache's key; on first use
}

func (d *Document) textKey(page int, styles bool) textKey {
	if !d.hashed {
		d.hash, d.hashed = sha256.Sum256(d.pdf), true
	}
	return textKey{doc: d.hash, page: page, styles: styles}
}

// PageCount is the number of pages.
func (d *Document) PageCount() int { return d.pages }

func (d *Document) page(n int) (requests.Page, error) {
	if n < 1 || n > d.pages {
		return requests.Page{}, fmt.Errorf("%w: page %d of %d", ErrNoPage, n, d.pages)
	}
	return requests.Page{ByIndex: &requests.PageByIndex{Document: d.ref, Index: n - 1}}, nil
}

// PageSize returns page n's size (1-based) in PDF points, as displayed
// (after the page's rotation).
func (d *Document) PageSize(n int) (width, height float64, err error) {
	if _, err := d.page(n); err != nil {
		return 0, 0, err
	}
	s, err := d.inst.FPDF_GetPageSizeByIndexF(&requests.FPDF_GetPageSizeByIndexF{Document: d.ref, Index: n - 1})
	if err != nil {
		return 0, 0, fmt.Errorf("%w: page %d: %v", ErrUnreadable, n, err)
	}
	return float64(s.Size.Width), float64(s.Size.Height), nil
}

// PixelSize returns the image size Render gives page n at dpi: the page
// at that resolution, scaled down to fit MaxPixels.
func (d *Document) PixelSize(n int, dpi float64) (w, h int, err error) {
	pw, ph, err := d.PageSize(n)
	if err != nil {
		return 0, 0, err
	}
	w, h = FitPixels(pw, ph, dpi, d.e.opt.MaxPixels)
	return w, h, nil
}

// FitPixels is the pixel size of a page of width × height points at dpi,
// scaled down (aspect kept) so that w × h ≤ maxPixels, at least 1 × 1.
func FitPixels(width, height, dpi float64, maxPixels int) (w, h int) {
	if !(width > 0) || !(height > 0) || !(dpi > 0) || math.IsInf(width, 0) || math.IsInf(height, 0) {
		return 1, 1
	}
	fw, fh := width*dpi/72, height*dpi/72
	if area := fw * fh; area > float64(maxPixels) {
		s := math.Sqrt(float64(maxPixels) / area)
		fw, fh = fw*s, fh*s
	}
	w, h = int(math.Floor(fw)), int(math.Floor(fh))
	return max(w, 1), max(h, 1)
}

// Render draws page n (1-based) at dpi, with its form fields, scaled down
// to at most MaxPixels. The image belongs to the caller.
func (d *Document) Render(n int, dpi float64) (*image.RGBA, error) {
	return d.render(n, dpi, 0)
}

// RenderAnnotated draws page n as Render does, with the appearances of
// its other annotations too (comments, stamps, shapes), as a PDF viewer
// shows them: what a visual comparison of revisions must see.
func (d *Document) RenderAnnotated(n int, dpi float64) (*image.RGBA, error) {
	return d.render(n, dpi, enums.FPDF_RENDER_FLAG_ANNOT)
}

func (d *Document) render(n int, dpi float64, flags enums.FPDF_RENDER_FLAG) (*image.RGBA, error) {
	p, err := d.page(n)
	if err != nil {
		return nil, err
	}
	w, h, err := d.PixelSize(n, dpi)
	if err != nil {
		return nil, err
	}
	res, err := d.inst.RenderPageInPixels(&requests.RenderPageInPixels{Page: p, Width: w, Height: h,
		RenderFlags: flags, RenderForm: true, Document: &d.ref})
	if err != nil {
		return nil, fmt.Errorf("%w: page %d: %v", ErrUnreadable, n, err)
	}
	defer res.Cleanup()
	src := res.Result.Image
	if src == nil {
		return nil, fmt.Errorf("%w: page %d rendered no image", ErrUnreadable, n)
	}
	// The pixels live in the instance's memory until Cleanup.
	out := image.NewRGBA(src.Rect)
	copy(out.Pix, src.Pix)
	return out, nil
}

type userKey struct{}

// WithUser returns a context naming the user whose share of the pool work
// done under it counts against; adapters that cannot pass a user to Open
// directly read it back with UserFrom.
func WithUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

// UserFrom returns the user WithUser put in ctx, "" when none.
func UserFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}
