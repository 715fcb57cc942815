package store_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/render"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/textindex"
	"vanban/storage"
	"vanban/storage/local"
)

// asciiPDF is one page of Helvetica text.
func asciiPDF(text string) []byte {
	content := fmt.Sprintf("BT /F1 12 Tf 72 700 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// TestSearchFindsPDFText: the text of each version is extracted once by
// PDFium (textindex) and the search finds a document by a word of its
// body, by its symbol typed with D for Đ ("02/QD-UBND"), and by its bare
// number ("02", a whole number: not the 2026 of another document).
func TestSearchFindsPDFText(t *testing.T) {
	eng := render.New(render.Options{CacheDir: filepath.Join(os.TempDir(), "vanban-render-test-wazero")})
	defer eng.Close()
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "testdata", "decree30", "quyet-dinh-ubnd.pdf"))
	must(t, err)
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		blobs, err := local.New(t.TempDir(), local.Options{})
		must(t, err)
		addPDF := func(d *document.Document, pdf []byte) {
			obj, err := blobs.PutContentAddressed(ctx, bytes.NewReader(pdf), storage.PutOptions{ContentType: "application/pdf"})
			must(t, err)
			must(t, db.AddVersion(ctx, &document.Version{DocumentID: d.ID, Kind: document.VersionDraft, BlobKey: obj.Key,
				SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size, CreatedBy: f.drafter.ID}))
		}
		a := f.draft(t, db, "Quyết định ban hành quy chế")
		a.Symbol, a.Number = "02/QĐ-UBND", 2
		must(t, db.UpdateDocument(ctx, a))
		addPDF(a, tmpl)
		b := f.draft(t, db, "Ke hoach nam 2026")
		addPDF(b, asciiPDF("Ke hoach chuyen doi so nam 2026"))
		c := f.draft(t, db, "Giay moi hop")
		addPDF(c, []byte("%PDF-1.7\nnot a PDF PDFium can read"))

		x := &textindex.Indexer{DB: db, Blobs: blobs, Engine: eng}
		n, err := x.RunOnce(ctx, 10)
		must(t, err)
		if n != 3 {
			t.Fatalf("indexed %d versions, want 3", n)
		}
		if n, err := x.RunOnce(ctx, 10); err != nil || n != 0 {
			t.Fatalf("a second pass indexed %d (%v): the text is extracted once per version", n, err)
		}
		body, ok, err := db.LatestVersionText(ctx, a.ID)
		must(t, err)
		if !ok || body.Pages != 1 || !strings.Contains(body.Body, "Điều 1. Ban hành kèm theo Quyết định này") {
			t.Fatalf("extracted text %+v", body)
		}
		if bad, ok, err := db.LatestVersionText(ctx, c.ID); err != nil || !ok || bad.Failure == "" {
			t.Errorf("an unreadable PDF: %+v %v %v", bad, ok, err)
		}

		viewer := document.Viewer{UserID: f.drafter.ID}
		ids := func(text string) []string {
			t.Helper()
			docs, err := db.SearchDocuments(ctx, document.Query{OrgID: f.org.ID, Viewer: viewer, Text: text})
			must(t, err)
			var out []string
			for _, d := range docs {
				out = append(out, d.ID)
			}
			return out
		}
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"tiếp nhận, đăng ký và xử lý văn bản điện tử", []string{a.ID}}, // a sentence of the body, not the subject
			{"xu ly van ban dien tu", []string{a.ID}},
			{"02/QD-UBND", []string{a.ID}},
			{"02/QĐ", []string{a.ID}},
			{"QD-UBND", []string{a.ID}},
			{"02", []string{a.ID}},
			{"2", []string{a.ID}},
			{"chuyen doi so", []string{b.ID}},
			{"giay moi", []string{c.ID}}, // its subject still, without text
		} {
			if got := ids(tc.q); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("search %q: %v, want %v", tc.q, got, tc.want)
			}
		}
	})
}
