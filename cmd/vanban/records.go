package main

import (
	"context"
	"crypto/x509"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"vanban/internal/archive"
	"vanban/internal/document"
	"vanban/internal/records"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing/pades"
)

// recordsWorkflow is the document use cases with archiving done by the
// archive service: raise the final PDF to B-LTA and retain every stored
// object before the state changes. The API and the pages use it in place
// of the bare workflow.
type recordsWorkflow struct {
	*workflow.Service[*store.Tx]
	archive *archive.Service
}

// Archive implements httpapi.Workflow.
func (w *recordsWorkflow) Archive(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error) {
	return w.archive.Archive(ctx, a, docID)
}

// newArchiveService wires the archive use case as serve runs it: the
// configured TSA (nil: archiving answers that it needs one), revocation
// data collected over client against roots, and the renewal policy of the
// configuration. Tests build it the same way with their own clock.
func newArchiveService(a *app, wf *workflow.Service[*store.Tx], tsa pades.Timestamper, client *http.Client,
	roots *x509.CertPool, intermediates []*x509.Certificate) *archive.Service {
	opts := archive.Options{Revocation: pades.CollectRevocation(roots, client), Roots: roots, Intermediates: intermediates,
		Logger: a.log.With("component", "archive"), Retention: records.RetentionOf(a.db),
		Renewal: archive.RenewalPolicy{Margin: a.cfg.RenewalMargin, MinStrength: a.cfg.RenewalMinStrength}}
	if tsa != nil {
		opts.TSA = tsa
	}
	return archive.New(wf, a.db, a.blobs, opts)
}

// archiveCollector exposes the archive's counters at /metrics.
type archiveCollector struct {
	m                                                  *archive.Metrics
	archived, archiveFailed, renewed, renewFailed, ret *prometheus.Desc
	seconds                                            *prometheus.Desc
}

func newArchiveCollector(m *archive.Metrics) *archiveCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &archiveCollector{m: m,
		archived:      d("vanban_archive_documents_total", "Documents archived (raised to B-LTA and retained)."),
		archiveFailed: d("vanban_archive_failures_total", "Archive attempts refused because the proof could not be made long-term."),
		renewed:       d("vanban_archive_renewals_total", "Document time-stamps added by the renewal job."),
		renewFailed:   d("vanban_archive_renewal_failures_total", "Renewals that failed and will be retried."),
		ret:           d("vanban_archive_retention_extensions_total", "Permanent records whose retention was extended."),
		seconds:       d("vanban_archive_seconds_total", "Time spent archiving documents."),
	}
}

func (c *archiveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.archived, c.archiveFailed, c.renewed, c.renewFailed, c.ret, c.seconds} {
		ch <- d
	}
}

func (c *archiveCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Snapshot()
	ch <- prometheus.MustNewConstMetric(c.archived, prometheus.CounterValue, float64(s.Archived))
	ch <- prometheus.MustNewConstMetric(c.archiveFailed, prometheus.CounterValue, float64(s.ArchiveFailures))
	ch <- prometheus.MustNewConstMetric(c.renewed, prometheus.CounterValue, float64(s.Renewed))
	ch <- prometheus.MustNewConstMetric(c.renewFailed, prometheus.CounterValue, float64(s.RenewalFailures))
	ch <- prometheus.MustNewConstMetric(c.ret, prometheus.CounterValue, float64(s.RetentionRenewed))
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.CounterValue, s.ArchiveSeconds)
}
