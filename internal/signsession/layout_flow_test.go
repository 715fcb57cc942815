package signsession_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"vanban/internal/document"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/internal/signsession/layoutcheck"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/signtest"
	"vanban/storage"
)

// pngOf encodes an image for the signature image store.
func (e *env) pngKey(img image.Image) string {
	var b bytes.Buffer
	e.must(png.Encode(&b, img))
	obj, err := e.blobs.PutContentAddressed(ctx, &b, storage.PutOptions{ContentType: "image/png"})
	e.must(err)
	return obj.Key
}

func readBlob(e *env, key string) []byte {
	rc, _, err := e.blobs.Get(ctx, key)
	e.must(err)
	defer rc.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(rc)
	e.must(err)
	return b.Bytes()
}

// TestDecree30TemplateProposedSignedAndIssued drafts a LibreOffice-made
// Decree 30 decision with an attachment: the upload proposes the layout,
// nobody adjusts it, the leader signs, the clerk numbers and seals. The
// final page, rendered by PDFium and read back (flattened by qpdf so the
// widgets' text is page text), has the number and date on the template's
// own lines over their placeholders, the handwritten signature between
// the position and the name, the seal over its left third with its text
// in 10 pt off the ring; the attachment's first page carries the number,
// time and organization at the top right; pdfsig finds both signatures
// valid.
func TestDecree30TemplateProposedSignedAndIssued(t *testing.T) {
	qpdf := signtest.RequireTool(t, "qpdf")
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "testdata", "decree30", "quyet-dinh-phu-luc.pdf"))
	e.must(err)
	e.pdf = tmpl
	eng := render.New(render.Options{CacheDir: filepath.Join(os.TempDir(), "vanban-render-test-wazero")})
	defer eng.Close()
	e.wf.Proposer = &signsession.Proposer{Engine: eng, Blobs: e.blobs}
	e.must(e.db.SetSignatureImage(ctx, store.ImageOfUser, e.signer.ID, e.pngKey(layoutcheck.Handwriting()), "x", e.admin.ID))
	e.must(e.db.SetSignatureImage(ctx, store.ImageOfOrg, e.org.ID, e.pngKey(layoutcheck.Seal()), "x", e.admin.ID))

	d := e.awaiting(e.signer, "Quyết định phê duyệt kế hoạch chuyển đổi số")
	l, err := e.svc.Layout(ctx, as(e.drafter), d.ID)
	e.must(err)
	if !l.Proposed || l.Block != signsession.BlockPrinted || !l.Cover || !l.DateItalic || l.NumberAlign != "center" ||
		len(l.AttachmentPages) != 1 || l.AttachmentPages[0] != 2 || l.SignaturePage != 1 {
		t.Fatalf("proposed layout %+v", l)
	}
	s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	if s = e.settle(e.svc, s.ID, e.signer); s.State != store.SigningCompleted {
		t.Fatalf("leader: %+v", s)
	}
	numbered, err := e.svc.NumberAndDate(ctx, as(e.clerk), d.ID)
	e.must(err)
	seal, err := e.svc.Seal(ctx, as(e.clerk), d.ID)
	e.must(err)
	if seal.State != store.SigningCompleted {
		seal = e.settle(e.svc, seal.ID, e.clerk)
	}
	v := e.doc(d.ID)
	final := readBlob(e, v.Versions[len(v.Versions)-1].BlobKey)
	dir := t.TempDir()
	path := filepath.Join(dir, "sealed.pdf")
	e.must(os.WriteFile(path, final, 0o600))
	if out := os.Getenv("VANBAN_LAYOUT_OUT"); out != "" {
		// For a person to look at: VANBAN_LAYOUT_OUT=/tmp/x go test ...
		e.must(os.WriteFile(filepath.Join(out, "decree30-sealed.pdf"), final, 0o644))
	}

	var signed []signtest.PDFSigResult
	for _, r := range signtest.PDFSig(t, path, e.trust...) {
		if len(r.Ranges) > 0 {
			signed = append(signed, r)
		}
	}
	if len(signed) != 2 || !signed[0].SignatureValid() || !signed[1].SignatureValid() || !signed[1].TotalDocumentSigned {
		t.Errorf("pdfsig: %+v", signed)
	}

	layoutcheck.Check(t, eng, qpdf, layoutcheck.Expect{Template: tmpl, Final: final, Layout: l,
		Symbol: numbered.Symbol, PlaceDate: document.PlaceDate(e.org.Place, numbered.NumberedAt),
		Position: "PHÓ CHỦ TỊCH", Name: "Trần Thị Bình", SealText: "Ủy ban nhân dân", OrgName: e.org.Name, AttachmentPage: 2})
}
