package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vanban/internal/archive"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing/tsa"
)

// benchArchive is the demo's server (its development PKI answers OCSP,
// CRL and TSA requests in process), its database and an archive service
// built as serve builds it, plus the demo's documents to clone.
type benchArchive struct {
	a         *app
	svc       *archive.Service
	wf        *workflow.Service[*store.Tx]
	doc       *document.Document
	versions  []*document.Version
	archivist string
}

func newBenchArchive(b *testing.B) *benchArchive {
	b.Helper()
	d := demoArchived(b, "--data-dir", b.TempDir())
	a, roots := openDemoApp(b, d)
	if os.Getenv("VANBAN_BENCH_LOG") != "" {
		a.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx := context.Background()
	admin, err := a.db.UserByUsername(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	docs, err := a.db.Documents(ctx, store.DocumentFilter{OrgID: admin.OrgID, States: []document.State{document.StateArchived}})
	if err != nil || len(docs) != 1 {
		b.Fatalf("archived documents: %d %v", len(docs), err)
	}
	versions, err := a.db.Versions(ctx, docs[0].ID)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := a.db.ArchiveRecord(ctx, docs[0].ID)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	wf := workflow.New[*store.Tx](a.db, nil)
	svc := newArchiveService(a, wf, &tsa.Client{URL: d.s.URL + "/dev/pki/tsa", HTTPClient: client}, client, roots, nil)
	return &benchArchive{a: a, svc: svc, wf: wf, doc: docs[0], versions: versions, archivist: rec.ArchivedBy}
}

// clone makes a copy of the demo's document in state, with its versions
// up to and including the newest of kind upTo, and returns it.
func (ba *benchArchive) clone(b *testing.B, tx *store.Tx, state document.State, upTo document.VersionKind) *document.Document {
	ctx := context.Background()
	d := *ba.doc
	d.State = state
	d.RegisterID, d.Number = "", 0 // (register, number) is unique
	if err := tx.CreateDocument(ctx, &d); err != nil {
		b.Fatal(err)
	}
	for _, v := range ba.versions {
		nv := *v
		nv.DocumentID = d.ID
		if err := tx.AddVersion(ctx, &nv); err != nil {
			b.Fatal(err)
		}
		if v.Kind == upTo {
			break
		}
	}
	return &d
}

// BenchmarkArchive archives one issued document per iteration: B-LTA
// (revocation data for three chains and a document time-stamp from the
// in-process development PKI over loopback HTTP), offline validation,
// store, retain every object, state change. The document is the demo's
// decision (two signatures, about 240 KB), cloned b.N times.
func BenchmarkArchive(b *testing.B) {
	ba := newBenchArchive(b)
	ctx := context.Background()
	ids := make([]string, b.N)
	if err := ba.a.db.WithTx(ctx, func(tx *store.Tx) error {
		for i := range ids {
			ids[i] = ba.clone(b, tx, document.StateIssued, document.VersionSealed).ID
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := ba.svc.Archive(ctx, workflow.Actor{UserID: ba.archivist}, ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/document")
}

// BenchmarkRenewal runs one renewal pass over VANBAN_BENCH_RENEWALS
// (default 10,000) archived documents that are all due, each the demo's
// archived decision, and reports the time per document and the pass's
// peak heap (sampled every 10 ms) and peak RSS (VmHWM).
func BenchmarkRenewal(b *testing.B) {
	n := 10000
	if v := os.Getenv("VANBAN_BENCH_RENEWALS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ba := newBenchArchive(b)
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		seedStart := time.Now()
		now := time.Now().UTC()
		const chunk = 500
		for done := 0; done < n; done += chunk {
			if err := ba.a.db.WithTx(ctx, func(tx *store.Tx) error {
				for i := done; i < min(done+chunk, n); i++ {
					ba.clone(b, tx, document.StateArchived, document.VersionArchived)
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		// Records: every clone due now.
		seeded := 0
		for off := 0; ; off += 1000 {
			page, err := ba.a.db.Documents(ctx, store.DocumentFilter{OrgID: ba.doc.OrgID, States: []document.State{document.StateArchived}, Limit: 1000, Offset: off})
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range page {
				if d.ID == ba.doc.ID {
					continue
				}
				if err := ba.a.db.SaveArchiveRecord(ctx, &document.ArchiveRecord{DocumentID: d.ID, OrgID: d.OrgID, ArchivedBy: ba.archivist,
					ArchivedAt: now, Permanent: true, RetainUntil: now.AddDate(100, 0, 0), ProofVersion: len(ba.versions),
					ProofUntil: now.Add(time.Hour), ProofHashBits: 256, ProofKeyBits: 128, NextCheck: now.Add(-time.Minute)}); err != nil {
					b.Fatal(err)
				}
				seeded++
			}
			if len(page) < 1000 {
				break
			}
		}
		b.Logf("seeded %d archived documents in %v", seeded, time.Since(seedStart))

		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		res, err := ba.svc.RenewDue(ctx)
		elapsed := time.Since(start)
		b.StopTimer()
		close(stop)
		<-sampled
		if err != nil || res.Renewed != seeded || res.Failed != 0 {
			b.Fatalf("renewal pass: %+v, %v", res, err)
		}
		b.ReportMetric(float64(elapsed.Milliseconds())/float64(seeded), "ms/document")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(vmHWM())/(1<<10), "peak-rss-MiB")
		b.Logf("renewed %d documents in %v", seeded, elapsed)
	}
}

// vmHWM is the process's peak resident set in KiB (Linux), 0 elsewhere.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			return kb
		}
	}
	return 0
}
