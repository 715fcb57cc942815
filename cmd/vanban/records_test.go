package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing/keyfile"
	"vanban/signing/tsa"
	"vanban/signing/verify"
	"vanban/storage"
)

// openDemoApp opens the database and blob store of a demo's server, which
// keeps running (its development PKI answers OCSP, CRL and TSA requests),
// and returns them with the development root.
func openDemoApp(t testing.TB, d *demoRun) (*app, *x509.CertPool) {
	t.Helper()
	cfg, err := loadConfig("serve", d.serveFlags, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := openApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := os.ReadFile(d.root)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := keyfile.ParseCertificatesPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	for _, c := range certs {
		roots.AddCert(c)
	}
	return a, roots
}

// verifyStoredOffline validates a stored PDF without the network at when and
// returns the report.
func verifyStoredOffline(t *testing.T, blobs storage.Store, key string, roots *x509.CertPool, when time.Time) *verify.Report {
	t.Helper()
	rc, _, err := blobs.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), verify.Options{Roots: roots, Now: when})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestRenewalTwoYearsAhead: the demo's archived document, seen two years
// later (a fake clock), is due: its newest time-stamp's validation data
// (the development OCSP responder's two-year certificate) ends within the
// margin. The job adds a document time-stamp with fresh validation data
// as a new version, on the timeline by system:records; the document still
// verifies offline with every signature and time-stamp TOTAL-PASSED; a
// second run does nothing. Today, nothing is due.
func TestRenewalTwoYearsAhead(t *testing.T) {
	d := demoArchived(t, "--data-dir", t.TempDir())
	a, roots := openDemoApp(t, d)
	ctx := context.Background()
	admin, err := a.db.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := a.db.Documents(ctx, store.DocumentFilter{OrgID: admin.OrgID, States: []document.State{document.StateArchived}})
	if err != nil || len(docs) != 1 {
		t.Fatalf("archived documents: %d %v", len(docs), err)
	}
	doc := docs[0]
	before, err := a.db.ArchiveRecord(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 30 * time.Second}
	wf := workflow.New[*store.Tx](a.db, nil)
	svc := newArchiveService(a, wf, &tsa.Client{URL: d.s.URL + "/dev/pki/tsa", HTTPClient: client}, client, roots, nil)
	if res, err := svc.RenewDue(ctx); err != nil || res.Checked != 0 {
		t.Fatalf("today: %+v, %v (record %+v)", res, err, before)
	}

	later := time.Now().AddDate(2, 0, 0)
	svc.SetClock(func() time.Time { return later })
	wf.Now = func() time.Time { return later }
	res, err := svc.RenewDue(ctx)
	if err != nil || res.Checked != 1 || res.Renewed != 1 || res.Failed != 0 {
		t.Fatalf("two years later: %+v, %v", res, err)
	}
	versions, err := a.db.Versions(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := versions[len(versions)-1]
	if last.Kind != document.VersionRenewed || last.Seq != before.ProofVersion+1 {
		t.Fatalf("newest version %d is %s, want a renewal after version %d", last.Seq, last.Kind, before.ProofVersion)
	}
	rec, err := a.db.ArchiveRecord(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Renewals != 1 || rec.ProofVersion != last.Seq || !rec.NextCheck.After(later) || rec.LastError != "" {
		t.Errorf("record after renewal: %+v", rec)
	}
	// The renewed PDF keeps the retention of the archive.
	if obj, err := a.blobs.Stat(ctx, last.BlobKey); err != nil || obj.RetainUntil.Before(rec.RetainUntil.Add(-time.Second)) {
		t.Errorf("renewed PDF retention: %+v, %v", obj, err)
	}
	rep := verifyStoredOffline(t, a.blobs, last.BlobKey, roots, time.Time{})
	var sigs, stamps int
	for _, s := range rep.Signatures {
		if s.Indication != verify.TotalPassed {
			t.Errorf("%s %s: %s/%s %v", s.Type, s.Field, s.Indication, s.SubIndication, s.Errors)
		}
		if s.Type == "signature" {
			sigs++
		} else {
			stamps++
		}
	}
	if sigs != 2 || stamps != 2 {
		t.Errorf("%d signatures and %d document time-stamps, want 2 and 2", sigs, stamps)
	}
	entries, err := a.db.AuditEntriesFor(ctx, "document", doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e := entries[len(entries)-1]; e.Action != "document.renew" || e.Actor != "system:records" || !strings.Contains(string(e.Change), `"kind":"renewed"`) {
		t.Errorf("last timeline entry: %+v", e)
	}
	if m := svc.Metrics.Snapshot(); m.Renewed != 1 {
		t.Errorf("metrics: %+v", m)
	}
	// A second run the same day does nothing.
	if res, err := svc.RenewDue(ctx); err != nil || res.Checked != 0 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
}
