package main

import (
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// blobFiles counts the regular files under the served data directory's
// blob store: objects, their metadata and any temporary file.
func (o *office) blobFiles(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(o.dataDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// spacePDF is a file of size bytes that starts like a PDF, made as it is
// read.
type spacePDF struct {
	left    int64
	started bool
}

func (p *spacePDF) Read(b []byte) (int, error) {
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

// streamForm posts the fields and then a file part of size bytes written
// while the server reads, as a browser sends a large upload. It returns
// the status and page, or 0 and the error when the connection broke
// before an answer.
func (w *webUser) streamForm(path string, fields []part, fileName string, size int64) (int, string) {
	w.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		var err error
		for _, p := range fields {
			if err = mw.WriteField(p.name, p.value); err != nil {
				break
			}
		}
		if err == nil {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="file"; filename="`+fileName+`"`)
			h.Set("Content-Type", "application/octet-stream")
			var fw io.Writer
			if fw, err = mw.CreatePart(h); err == nil {
				if _, err = io.Copy(fw, &spacePDF{left: size}); err == nil {
					err = mw.Close()
				}
			}
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", w.base+path, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := w.hc.Do(req)
	pr.Close()
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebUploadRefusedBeforeStored: people signed in without the
// permission an upload form is for send 200 MB each; they are refused
// with the form's message before the file is stored, and the blob store
// holds nothing new. A refused upload of a valid PDF (an unknown document
// type) is removed too.
func TestWebUploadRefusedBeforeStored(t *testing.T) {
	o := newOffice(t)
	before := o.blobFiles(t)
	const size = 200 << 20
	clerk, drafter, reviewer := o.web(t, "vanthu"), o.web(t, "soan"), o.web(t, "duyet")
	_, csrfClerk := formOf(t, clerk.get("/incoming/new"), "/incoming/new")
	_, csrfDrafter := formOf(t, drafter.get("/new"), "/new")
	_, csrfReviewer := formOf(t, reviewer.get("/"), "/logout")
	for _, tc := range []struct {
		name   string
		who    *webUser
		path   string
		fields []part
	}{
		{"a clerk drafting", clerk, "/new", []part{{name: "csrf_token", value: csrfClerk}, {name: "unit", value: o.unit.ID},
			{name: "type", value: "quyet-dinh"}, {name: "subject", value: "Chiếm đĩa"}}},
		{"a drafter registering an incoming document", drafter, "/incoming/new", []part{{name: "csrf_token", value: csrfDrafter},
			{name: "sender", value: "Sở Y tế"}, {name: "symbol", value: "1/SYT"}, {name: "type", value: "cong-van"}, {name: "subject", value: "Chiếm đĩa"}}},
		{"a reviewer setting the seal image", reviewer, "/admin/seal-image", []part{{name: "csrf_token", value: csrfReviewer}}},
		{"a reviewer setting a leader's signature image", reviewer, "/admin/images/" + o.ids["chutich"], []part{{name: "csrf_token", value: csrfReviewer}}},
	} {
		code, page := tc.who.streamForm(tc.path, tc.fields, "lon.pdf", size)
		if code != http.StatusForbidden || !strings.Contains(text(page), "Bạn không có quyền") {
			t.Errorf("%s: %d\n%.400s", tc.name, code, text(page))
		}
		if n := o.blobFiles(t); n != before {
			t.Errorf("%s: the blob store holds %d files, %d before", tc.name, n, before)
		}
	}
	resp, page := drafter.postMultipart("/new", []part{{name: "csrf_token", value: csrfDrafter}, {name: "unit", value: o.unit.ID},
		{name: "type", value: "khong-co-loai-nay"}, {name: "subject", value: "Loại lạ"}, {name: "file", file: demoPDF, fileName: "du-thao.pdf"}})
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("a draft of an unknown type: %d\n%.400s", resp.StatusCode, text(page))
	}
	if n := o.blobFiles(t); n != before {
		t.Errorf("a refused draft left its PDF: %d files, %d before", n, before)
	}
}

// TestWebUploadQuota: past the person's quota of 24 hours the new-draft
// form answers 429 with the Vietnamese message beside the form, and the
// file is not kept.
func TestWebUploadQuota(t *testing.T) {
	quota := int64(len(demoPDF)) + int64(len(demoPDF))/2
	o := newOffice(t, "--upload-quota", strconv.FormatInt(quota, 10))
	drafter := o.web(t, "soan")
	_, csrf := formOf(t, drafter.get("/new"), "/new")
	fields := func(subject string) []part {
		return []part{{name: "csrf_token", value: csrf}, {name: "unit", value: o.unit.ID}, {name: "type", value: "quyet-dinh"},
			{name: "subject", value: subject}}
	}
	resp, page := drafter.postMultipart("/new", append(fields("Lần một"), part{name: "file", file: demoPDF, fileName: "mot.pdf"}))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first draft: %d\n%.400s", resp.StatusCode, text(page))
	}
	before := o.blobFiles(t)
	code, page := drafter.streamForm("/new", fields("Lần hai"), "hai.pdf", int64(len(demoPDF)))
	if code != http.StatusTooManyRequests || !strings.Contains(text(page), "hạn mức tải lên") {
		t.Fatalf("a draft past the quota: %d\n%.600s", code, text(page))
	}
	if n := o.blobFiles(t); n != before {
		t.Errorf("a refused upload left %d files, %d before", n, before)
	}
}

// TestWebFormFieldBounds is the regression for web forms buffered without
// bound: an upload form of more than 200 text fields, or of text fields
// longer than 1 MiB in all, is refused with 400 before its file is read,
// and an ordinary form over 1 MiB is refused too; nothing is stored and
// the server still answers.
func TestWebFormFieldBounds(t *testing.T) {
	o := newOffice(t)
	drafter := o.web(t, "soan")
	_, csrf := formOf(t, drafter.get("/new"), "/new")
	before := o.blobFiles(t)
	base := []part{{name: "csrf_token", value: csrf}, {name: "unit", value: o.unit.ID}, {name: "type", value: "quyet-dinh"}, {name: "subject", value: "Biểu mẫu lớn"}}
	many := append([]part{}, base...)
	for range 201 {
		many = append(many, part{name: "reviewer", value: ""})
	}
	long := append([]part{}, base...)
	for range 20 {
		long = append(long, part{name: "note", value: strings.Repeat("x", 60<<10)})
	}
	for name, fields := range map[string][]part{"201 more fields": many, "1.2 MiB of fields": long} {
		resp, page := drafter.postMultipart("/new", append(fields, part{name: "file", file: demoPDF, fileName: "du-thao.pdf"}))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d\n%.400s", name, resp.StatusCode, text(page))
		}
		if n := o.blobFiles(t); n != before {
			t.Errorf("%s: the blob store holds %d files, %d before", name, n, before)
		}
	}
	big := url.Values{"csrf_token": {csrf}, "q": {strings.Repeat("y", 2<<20)}}
	if resp, page := drafter.post("/logout", big); resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("a 2 MiB ordinary form: %d\n%.300s", resp.StatusCode, text(page))
	}
	if page := drafter.get("/"); !strings.Contains(page, "Đăng xuất") {
		t.Errorf("the oversized forms ended the session or the server:\n%.300s", text(page))
	}
}
