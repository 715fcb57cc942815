package workflow_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
	"vanban/signing/devpki"
	"vanban/signing/pades"
	"vanban/signing/verify"
)

// memValidator validates PDFs kept in memory by blob key, with the real
// validator, and counts the validations.
type memValidator struct {
	mu    sync.Mutex
	files map[string][]byte
	opts  verify.Options
	calls int
}

func (m *memValidator) Validate(ctx context.Context, key string) (*verify.Report, error) {
	m.mu.Lock()
	b, ok := m.files[key]
	m.calls++
	m.mu.Unlock()
	if !ok {
		return nil, document.Errorf(document.ENOTFOUND, "blob %s not found", key)
	}
	return verify.Verify(ctx, bytes.NewReader(b), int64(len(b)), m.opts)
}

func (m *memValidator) put(b []byte) workflow.File {
	sum := sha256.Sum256(b)
	f := workflow.File{BlobKey: "blobs/" + hex.EncodeToString(sum[:8]), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
	m.mu.Lock()
	m.files[f.BlobKey] = b
	m.mu.Unlock()
	return f
}

// signedPDF signs the LibreOffice sample with a development PKI's person
// certificate (B-B: no network needed) and returns it with the PKI's roots.
func signedPDF(t *testing.T) ([]byte, *devpki.PKI) {
	t.Helper()
	src, err := os.ReadFile("../../testdata/corpus/libreoffice-writer.pdf")
	if err != nil {
		t.Fatal(err)
	}
	p, err := devpki.New("http://127.0.0.1:9", "")
	if err != nil {
		t.Fatal(err)
	}
	key, chain, err := p.IssueSigner("Trần Thị Giám Đốc", "Sở Y tế", devpki.KeyP256, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := pades.Sign(ctx, bytes.NewReader(src), int64(len(src)), &out, key, chain, pades.Options{Level: pades.LevelBB, Chain: chain}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), p
}

func TestVerificationOnReceipt(t *testing.T) {
	signed, p := signedPDF(t)
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		v := &memValidator{files: map[string][]byte{}, opts: verify.Options{Roots: p.Roots()}}
		w.svc.Validator = v

		// A registration keeps the report made on receipt, by the clerk.
		f := v.put(signed)
		in, _, err := w.svc.RegisterIncoming(ctx, as(w.clerkB), workflow.IncomingInput{UnitID: w.orgB.ID, TypeCode: document.TypeCongVan,
			Subject: "Về phòng chống dịch", SenderName: "Sở Y tế", SenderSymbol: "12/SYT-NVY", File: f})
		w.must(err)
		kept, err := w.svc.Verifications(ctx, as(w.clerkB), in.ID)
		w.must(err)
		if len(kept) != 1 || kept[0].VersionSeq != 1 || kept[0].CreatedBy != w.clerkB.ID {
			t.Fatalf("kept on registration: %+v", kept)
		}
		// Without revocation data or a reachable responder the signature
		// is INDETERMINATE; the kept indication is the signature's.
		sigs := kept[0].Report.Signatures
		if len(sigs) != 1 || sigs[0].Signer.CommonName != "Trần Thị Giám Đốc" || kept[0].Indication != string(sigs[0].Indication) ||
			sigs[0].Indication == verify.TotalFailed {
			t.Fatalf("kept report %s: %+v", kept[0].Indication, kept[0].Report)
		}

		// Re-running adds a record (the first stays as evidence) and an
		// audit entry; someone who cannot see the document cannot.
		again, err := w.svc.Verify(ctx, as(w.leaderB), in.ID, 0)
		w.must(err)
		if again.CreatedBy != w.leaderB.ID || again.Indication != kept[0].Indication {
			t.Fatalf("re-run: %+v", again)
		}
		_, err = w.svc.Verify(ctx, as(w.clerk), in.ID, 0)
		wantCode(t, err, document.ENOTFOUND)
		_, err = w.svc.Verify(ctx, as(w.clerkB), in.ID, 2)
		wantCode(t, err, document.ENOTFOUND)
		latest, err := w.svc.LatestVerification(ctx, as(w.clerkB), in.ID, 1)
		w.must(err)
		if latest.ID != again.ID {
			t.Fatalf("latest %s, want the re-run %s", latest.ID, again.ID)
		}
		entries, err := db.AuditEntriesFor(ctx, "document", in.ID)
		w.must(err)
		if last := entries[len(entries)-1]; last.Action != "document.verify" || last.Actor != w.leaderB.ID {
			t.Fatalf("last audit entry %+v", last)
		}

		// A validation that cannot be made leaves the registration
		// standing, without a report.
		missing := file("never stored")
		in2, _, err := w.svc.RegisterIncoming(ctx, as(w.clerkB), workflow.IncomingInput{UnitID: w.orgB.ID, TypeCode: document.TypeCongVan,
			Subject: "Công văn khác", SenderName: "Sở Tài chính", SenderSymbol: "3/STC", File: missing})
		w.must(err)
		if kept, err := w.svc.Verifications(ctx, as(w.clerkB), in2.ID); err != nil || len(kept) != 0 {
			t.Fatalf("unverifiable registration: %v %+v", err, kept)
		}
		if _, err := w.svc.Verify(ctx, as(w.clerkB), in2.ID, 0); document.ErrorCode(err) != document.ENOTFOUND {
			t.Fatalf("re-run of a missing blob: %v", err)
		}

		// An internal delivery is verified once, the report kept for the
		// recipient's incoming document.
		d := w.draft(document.TypeQuyetDinh, document.ConfidentialityNormal, w.orgB.ID)
		w.toSigned(d)
		_, err = w.svc.Number(ctx, as(w.clerk), d.ID)
		w.must(err)
		sealed := v.put(append(bytes.Clone(signed), "\n"...))
		_, err = w.svc.Seal(ctx, as(w.clerk), d.ID, sealed)
		w.must(err)
		calls := v.calls
		_, err = w.svc.Issue(ctx, as(w.clerk), d.ID)
		w.must(err)
		if v.calls != calls+1 {
			t.Errorf("%d validations for one issue", v.calls-calls)
		}
		recs, err := db.Verifications(ctx, deliveredTo(t, db, d.ID))
		w.must(err)
		if len(recs) != 1 || recs[0].CreatedBy != w.clerk.ID || recs[0].VersionSeq != 1 || recs[0].Indication == "" {
			t.Fatalf("delivery verifications: %+v", recs)
		}
	})
}

// deliveredTo is the incoming document of org delivered from source.
func deliveredTo(t *testing.T, db *store.DB, sourceID string) string {
	t.Helper()
	recs, err := db.Recipients(ctx, sourceID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.DeliveredID != "" {
			return r.DeliveredID
		}
	}
	t.Fatal("not delivered")
	return ""
}
