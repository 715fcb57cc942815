// Package textindex extracts, once per stored PDF version, the text of its
// pages with PDFium (internal/render, within its limits) and stores it: the
// accessible alternative of the page images and what the document search
// reads. It runs in the background, after the version is stored, so an
// upload never waits for it.
package textindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"vanban/internal/document"
	"vanban/internal/render"
	"vanban/storage"
)

// Store is what the indexer needs of the database.
type Store interface {
	PendingTextVersions(ctx context.Context, limit int) ([]*document.Version, error)
	SetVersionText(ctx context.Context, t document.VersionText) error
}

// MaxPages bounds the pages read of one version.
const MaxPages = 500

// MaxText bounds the stored text of one version (characters).
const MaxText = 2 << 20

// user is the share of the PDFium pool the indexer works in, apart from
// every person's.
const user = "textindex"

// Indexer extracts pending versions' text.
type Indexer struct {
	DB     Store
	Blobs  storage.Store
	Engine *render.Engine
	Logger *slog.Logger
	// Interval between passes when nothing is pending; default 2 s.
	Interval time.Duration
}

// RunOnce extracts the text of up to batch pending versions and returns
// how many it stored.
func (x *Indexer) RunOnce(ctx context.Context, batch int) (int, error) {
	vs, err := x.DB.PendingTextVersions(ctx, batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range vs {
		t, err := x.extract(ctx, v)
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			// A document PDFium cannot read (or not in time) is
			// recorded as such, not retried forever.
			t = document.VersionText{VersionID: v.ID, Failure: err.Error()}
		}
		if err := x.DB.SetVersionText(ctx, t); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (x *Indexer) extract(ctx context.Context, v *document.Version) (document.VersionText, error) {
	if v.Size > render.MaxDocument {
		return document.VersionText{}, fmt.Errorf("the PDF is %d bytes, more than the %d PDFium reads", v.Size, render.MaxDocument)
	}
	f, err := x.Blobs.Open(ctx, v.BlobKey)
	if err != nil {
		return document.VersionText{}, err
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	f.Close()
	if err != nil {
		return document.VersionText{}, err
	}
	t := document.VersionText{VersionID: v.ID}
	var b strings.Builder
	err = x.Engine.Open(ctx, user, data, func(d *render.Document) error {
		t.Pages = d.PageCount()
		for i := 1; i <= d.PageCount() && i <= MaxPages && b.Len() < MaxText; i++ {
			pt, err := d.Text(i)
			if err != nil {
				return err
			}
			if i > 1 {
				b.WriteByte('\f')
			}
			b.WriteString(pt.String())
		}
		return nil
	})
	if err != nil {
		return document.VersionText{}, err
	}
	t.Body = b.String()
	if len(t.Body) > MaxText {
		t.Body = t.Body[:MaxText]
	}
	return t, nil
}

// Run makes passes until ctx ends.
func (x *Indexer) Run(ctx context.Context) error {
	interval := x.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	log := x.Logger
	if log == nil {
		log = slog.Default()
	}
	for {
		n, err := x.RunOnce(ctx, 10)
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("text index pass", "err", err)
		}
		if n > 0 && err == nil {
			continue // more may be pending
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
