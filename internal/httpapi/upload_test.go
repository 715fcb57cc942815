package httpapi_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/httpapi"
	"vanban/internal/store/pgtest"
)

// storedFiles counts the regular files of the blob store (objects, their
// metadata and any temporary file an upload left).
func (e *env) storedFiles() int {
	e.t.Helper()
	n := 0
	err := filepath.WalkDir(e.blobDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	e.must(err)
	return n
}

// pdfStream is a file part of size bytes that starts like a PDF, made as
// it is read (a 200 MB upload is never held in the test's memory).
type pdfStream struct {
	left    int64
	started bool
}

func (p *pdfStream) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = ' '
	}
	if !p.started {
		copy(b, "%PDF-1.7\n")
		p.started = true
	}
	p.left -= int64(len(b))
	return len(b), nil
}

// streamUpload posts a multipart upload whose file part is size bytes,
// written while the server reads; it returns the status, or 0 when the
// server closed the connection before answering.
func (e *env) streamUpload(key, path string, meta any, size int64) (int, string) {
	e.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		if meta != nil {
			w, err := mw.CreateFormField("metadata")
			if err == nil {
				err = json.NewEncoder(w).Encode(meta)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="lon.pdf"`)
		h.Set("Content-Type", "application/pdf")
		w, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(w, &pdfStream{left: size})
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, pr)
	e.must(err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.tokens[key])
	resp, err := http.DefaultClient.Do(req)
	pr.Close()
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUploadRefusedBeforeStored: someone signed in without the permission
// the upload is for sends 200 MB; the permission is checked when the file
// part starts, so the answer is a refusal and the blob store holds
// nothing afterwards, for a new draft, a revision, an attachment and an
// incoming registration.
func TestUploadRefusedBeforeStored(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	d := e.draft("Dự thảo của Văn phòng", document.ConfidentialityNormal)
	before := e.storedFiles()
	const size = 200 << 20
	for _, tc := range []struct {
		name, key, path string
		meta            any
		want            int
	}{
		{"draft in another unit", "A.drafter-tc", "/api/v1/documents",
			httpapi.DraftCreate{UnitID: e.office.ID, Type: document.TypeQuyetDinh, Subject: "Chiếm đĩa"}, http.StatusForbidden},
		{"draft by a reviewer", "A.reviewer", "/api/v1/documents",
			httpapi.DraftCreate{UnitID: e.office.ID, Type: document.TypeQuyetDinh, Subject: "Chiếm đĩa"}, http.StatusForbidden},
		{"revision of another unit's draft", "A.drafter-tc", "/api/v1/documents/" + d.ID + "/versions", nil, http.StatusNotFound},
		{"revision by a reviewer", "A.reviewer", "/api/v1/documents/" + d.ID + "/versions", nil, http.StatusForbidden},
		{"attachment to another organization's draft", "B.drafter", "/api/v1/documents/" + d.ID + "/attachments", nil, http.StatusNotFound},
		{"incoming registration by a drafter", "A.drafter", "/api/v1/incoming",
			httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan, Subject: "Chiếm đĩa", SenderName: "Sở Y tế"}, http.StatusForbidden},
	} {
		code, body := e.streamUpload(tc.key, tc.path, tc.meta, size)
		if code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
		if n := e.storedFiles(); n != before {
			t.Errorf("%s: the blob store holds %d files, %d before the upload", tc.name, n, before)
		}
	}
}

// TestRefusedUploadOfValidPDFIsRemoved: a valid PDF whose use case fails
// after the file was stored (an unknown document type, a registration
// without a sender) does not stay in the blob store.
func TestRefusedUploadOfValidPDFIsRemoved(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	before := e.storedFiles()
	code, b := e.upload("A.drafter", "/api/v1/documents", httpapi.DraftCreate{UnitID: e.office.ID, Type: "khong-co-loai-nay", Subject: "Thử"},
		"du-thao.pdf", samplePDF(t))
	if code < 400 || code >= 500 {
		t.Fatalf("draft of an unknown type: %d %s", code, b)
	}
	code, b = e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan, Subject: "Thử"},
		"den.pdf", samplePDF(t))
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("registration without a sender: %d %s", code, b)
	}
	if n := e.storedFiles(); n != before {
		t.Errorf("refused uploads left %d files in the blob store (%d before)", n, before)
	}
	// The same bytes accepted once are kept when a later upload of them
	// is refused.
	d := e.draft("Được nhận", document.ConfidentialityNormal)
	kept := e.storedFiles()
	code, _ = e.upload("A.drafter", "/api/v1/documents", httpapi.DraftCreate{UnitID: e.office.ID, Type: "khong-co-loai-nay", Subject: "Thử"},
		"du-thao.pdf", samplePDF(t))
	if code < 400 || code >= 500 {
		t.Fatalf("second refused draft: %d", code)
	}
	if n := e.storedFiles(); n != kept {
		t.Errorf("a refused upload of the bytes of draft %s changed the store: %d files, want %d", d.ID, n, kept)
	}
	e.ok("A.drafter", "GET", "/api/v1/documents/"+d.ID+"/versions/1/file", nil, http.StatusOK, nil)
}

// TestUploadQuota: a person's uploads over the quota of 24 hours are
// refused with 429 and a Vietnamese message, both when the quota is
// already used up (before reading the file) and when a file would pass it
// (while streaming); nothing of a refused upload stays; another person is
// not affected.
func TestUploadQuota(t *testing.T) {
	db := pgtest.Open(t, pgtest.SQLiteURL(t))
	e := newEnv(t, db)
	pdf := samplePDF(t)
	n := int64(len(pdf))
	e.api.Files.Quota = files.Quota{Bytes: n + n/2, Used: db.UploadedBytes}
	e.draft("Lần một", document.ConfidentialityNormal)
	before := e.storedFiles()
	meta := httpapi.DraftCreate{UnitID: e.office.ID, Type: document.TypeQuyetDinh, Subject: "Lần hai"}
	// The second copy would pass the quota: the same bytes are refused
	// while streaming (half of it fits), not stored again.
	big := append(append([]byte{}, pdf...), []byte("\n% padding\n")...)
	code, b := e.upload("A.drafter", "/api/v1/documents", meta, "lan-hai.pdf", big)
	if code != http.StatusTooManyRequests || !strings.Contains(string(b), "Vượt hạn mức tải lên") {
		t.Fatalf("upload past the quota: %d %s", code, b)
	}
	if got := e.storedFiles(); got != before {
		t.Errorf("a refused upload left %d files (%d before)", got, before)
	}
	// Used up: refused before reading, even a tiny attachment.
	e.api.Files.Quota.Bytes = n
	code, msg := e.streamUpload("A.drafter", "/api/v1/documents", meta, 200<<20)
	if code != http.StatusTooManyRequests {
		t.Fatalf("upload with the quota used up: %d %s", code, msg)
	}
	if got := e.storedFiles(); got != before {
		t.Errorf("a refused upload left %d files (%d before)", got, before)
	}
	// Someone else still uploads.
	if code, b := e.upload("A.drafter-tc", "/api/v1/documents", httpapi.DraftCreate{UnitID: e.fin.ID, Type: document.TypeQuyetDinh, Subject: "Của người khác"},
		"khac.pdf", pdf); code != http.StatusCreated {
		t.Fatalf("another person's upload: %d %s", code, b)
	}
}
