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

// TestIncrementsInheritText: a version our engine makes by appending to
// the one before (leader-signed, numbered, sealed, archived) keeps that
// version's text without a PDFium pass, and so do the same bytes received
// as another document; a version that does not begin with the previous
// version's bytes is extracted like any other.
func TestIncrementsInheritText(t *testing.T) {
	eng := render.New(render.Options{CacheDir: filepath.Join(os.TempDir(), "vanban-render-test-wazero")})
	defer eng.Close()
	// Every Open of this engine fails at once (it is closed): what it
	// indexes without an error did not go through PDFium.
	failing := render.New(render.Options{})
	failing.Close()
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		blobs, err := local.New(t.TempDir(), local.Options{})
		must(t, err)
		add := func(d *document.Document, kind document.VersionKind, pdf []byte) *document.Version {
			obj, err := blobs.PutContentAddressed(ctx, bytes.NewReader(pdf), storage.PutOptions{ContentType: "application/pdf"})
			must(t, err)
			v := &document.Version{DocumentID: d.ID, Kind: kind, BlobKey: obj.Key,
				SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size, CreatedBy: f.drafter.ID}
			must(t, db.AddVersion(ctx, v))
			return v
		}
		text := func(v *document.Version) document.VersionText {
			t.Helper()
			got, ok, err := db.LatestVersionText(ctx, v.DocumentID)
			must(t, err)
			if !ok || got.VersionID != v.ID {
				t.Fatalf("text of %s: %+v %v", v.ID, got, ok)
			}
			return got
		}
		draftPDF := asciiPDF("Ke hoach chuyen doi so nam 2026")
		d := f.draft(t, db, "Ke hoach")
		add(d, document.VersionDraft, draftPDF)
		n, err := (&textindex.Indexer{DB: db, Blobs: blobs, Engine: eng}).RunOnce(ctx, 10)
		must(t, err)
		if n != 1 {
			t.Fatalf("indexed %d", n)
		}

		signed := add(d, document.VersionLeaderSigned, appendInfo(draftPDF))

		x2 := &textindex.Indexer{DB: db, Blobs: blobs, Engine: failing}
		if n, err := x2.RunOnce(ctx, 10); err != nil || n != 1 {
			t.Fatalf("second pass: %d, %v", n, err)
		}
		if got := text(signed); got.Failure != "" || !strings.Contains(got.Body, "Ke hoach chuyen doi so") || got.Pages != 1 {
			t.Fatalf("the increment's text: %+v", got)
		}

		// The same bytes received as another document (an issued
		// document delivered inside the installation): the text is known.
		incoming := f.draft(t, db, "Van ban den")
		received := add(incoming, document.VersionReceived, appendInfo(draftPDF))
		if n, err := x2.RunOnce(ctx, 10); err != nil || n != 1 {
			t.Fatalf("pass for the received copy: %d, %v", n, err)
		}
		if got := text(received); got.Failure != "" || !strings.Contains(got.Body, "Ke hoach chuyen doi so") {
			t.Fatalf("the received copy's text: %+v", got)
		}

		// Not an increment of the version before: extracted (and with
		// this engine, failing).
		otherPDF := asciiPDF("Noi dung khac")
		other := add(d, document.VersionNumbered, otherPDF)
		if n, err := x2.RunOnce(ctx, 10); err != nil || n != 1 {
			t.Fatalf("third pass: %d, %v", n, err)
		}
		if got := text(other); got.Failure == "" {
			t.Fatalf("a version that is not an increment was not extracted: %+v", got)
		}
		// A draft is never inherited, even when it begins with the bytes
		// before it.
		again := add(d, document.VersionDraft, appendInfo(otherPDF))
		if _, err := x2.RunOnce(ctx, 10); err != nil {
			t.Fatal(err)
		}
		if got := text(again); got.Failure == "" {
			t.Fatalf("a draft was inherited: %+v", got)
		}
	})
}

// appendInfo returns pdf with an incremental update appended: an Info
// dictionary and its own cross-reference section pointing back.
func appendInfo(pdf []byte) []byte {
	var prev int
	at := bytes.LastIndex(pdf, []byte("startxref"))
	fmt.Sscanf(string(pdf[at+len("startxref\n"):]), "%d", &prev)
	var b bytes.Buffer
	b.Write(pdf)
	off := b.Len()
	b.WriteString("6 0 obj\n<< /Producer (vanban test) >>\nendobj\n")
	x := b.Len()
	fmt.Fprintf(&b, "xref\n6 1\n%010d 00000 n \ntrailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", off, prev, x)
	return b.Bytes()
}
