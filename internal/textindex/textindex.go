// Package textindex extracts, once per stored PDF version, the text of its
// pages with PDFium (internal/render, within its limits) and stores it: the
// accessible alternative of the page images and what the document search
// reads. It runs in the background, after the version is stored, so an
// upload never waits for it.
package textindex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	PreviousVersionText(ctx context.Context, v *document.Version) (prev *document.Version, t document.VersionText, ok bool, err error)
	TextOfSameBytes(ctx context.Context, sum string) (t document.VersionText, ok bool, err error)
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
	// Failing to find an inherited text (the database or the blob store
	// out of reach a moment) is no reason to record the version as
	// unreadable: it is extracted instead.
	if t, ok, err := x.inherited(ctx, v); err == nil && ok {
		return t, nil
	}
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
			pt, err := d.Words(i)
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

// increments are the version kinds our own engine makes by appending to the
// version before: a signature, the number and date in their form fields,
// the seal, the archive's /DSS and document time-stamps. None of them
// touches a page's content, and PDFium's page text is made of the content
// only (widgets and filled fields are annotations), so their text is the
// previous version's: three PDFium passes of four saved on every issued
// document.
var increments = map[document.VersionKind]bool{
	document.VersionLeaderSigned: true, document.VersionNumbered: true, document.VersionSealed: true,
	document.VersionArchived: true, document.VersionRenewed: true,
}

// inherited returns the text v's bytes already have: that of another
// version with the same SHA-256 (an issued document delivered inside the
// installation is the sender's sealed file again), or the previous
// version's for an increment, after checking that v really begins with the
// previous version's bytes (an incremental update of it). ok is false when
// the text must be extracted.
func (x *Indexer) inherited(ctx context.Context, v *document.Version) (t document.VersionText, ok bool, err error) {
	if same, ok, err := x.DB.TextOfSameBytes(ctx, v.SHA256); err != nil || ok {
		return document.VersionText{VersionID: v.ID, Pages: same.Pages, Body: same.Body}, ok, err
	}
	if !increments[v.Kind] {
		return t, false, nil
	}
	prev, pt, found, err := x.DB.PreviousVersionText(ctx, v)
	if err != nil || !found || pt.Failure != "" || prev.Size <= 0 || prev.Size >= v.Size {
		return t, false, err
	}
	f, err := x.Blobs.Open(ctx, v.BlobKey)
	if err != nil {
		return t, false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, prev.Size)); err != nil {
		return t, false, err
	}
	if hex.EncodeToString(h.Sum(nil)) != prev.SHA256 {
		return t, false, nil
	}
	return document.VersionText{VersionID: v.ID, Pages: pt.Pages, Body: pt.Body}, true, nil
}
