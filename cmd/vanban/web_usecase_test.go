package main

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
)

// corruptBlob flips one byte in the middle of every stored object holding
// exactly want (same size, other content): what a failing disk does.
func corruptBlob(t *testing.T, dataDir string, want []byte) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil || info.Size() != int64(len(want)) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, want) {
			return err
		}
		b[len(b)/2] ^= 0xff
		n++
		return os.WriteFile(path, b, info.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no stored object holds the %d bytes to corrupt", len(want))
	}
}

// TestWebDownloadsRefuseACorruptBlob: a version's PDF and an attachment
// whose stored bytes no longer match their SHA-256 are refused by every
// download, the pages' and the API's, with the "damaged file" answer
// before a single byte is sent; intact files still download.
func TestWebDownloadsRefuseACorruptBlob(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	id := o.awaitingSignature(t, "Quyết định kiểm tra tệp hỏng")
	// An attachment is added to a draft: a second document, left a draft.
	up, err := newUpload(httpapi.DraftCreate{UnitID: o.unit.ID, Type: document.TypeQuyetDinh, Subject: "Dự thảo có phụ lục"}, "du-thao.pdf", demoPDF)
	if err != nil {
		t.Fatal(err)
	}
	var draft httpapi.DocumentJSON
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents", up, &draft); err != nil {
		t.Fatal(err)
	}
	appendix := []byte("Phụ lục: danh sách cán bộ tham gia, bản kiểm tra tính toàn vẹn.\n")
	att, err := newUpload(nil, "phu-luc.txt", appendix)
	if err != nil {
		t.Fatal(err)
	}
	var a httpapi.AttachmentJSON
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents/"+draft.ID+"/attachments", att, &a); err != nil {
		t.Fatal(err)
	}
	w := o.web(t, "soan")
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", w.base+path, nil)
		return w.do(req)
	}
	if resp, body := get("/d/" + draft.ID + "/a/" + a.ID); resp.StatusCode != 200 || body != string(appendix) ||
		resp.Header.Get("Content-Type") != "application/octet-stream" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("intact attachment: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	corruptBlob(t, o.dataDir, demoPDF)
	corruptBlob(t, o.dataDir, appendix)
	for _, path := range []string{"/d/" + id + "/v/1/file", "/d/" + id + "/v/latest/file", "/d/" + draft.ID + "/v/1/file", "/d/" + draft.ID + "/a/" + a.ID} {
		resp, page := get(path)
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(page, "Tệp lưu trữ bị hỏng") ||
			strings.HasPrefix(resp.Header.Get("Content-Type"), "application/pdf") || strings.Contains(page, "%PDF-") {
			t.Errorf("web download %s of a corrupt file: %d %s\n%.300s", path, resp.StatusCode, resp.Header.Get("Content-Type"), text(page))
		}
	}
	for _, path := range []string{"/api/v1/documents/" + id + "/versions/1/file", "/api/v1/documents/" + draft.ID + "/attachments/" + a.ID + "/file"} {
		var raw []byte
		err := o.people["soan"].call(ctx, "GET", path, nil, &raw)
		if ae, ok := err.(*apiError); !ok || ae.status != http.StatusInternalServerError || ae.p.Code != "integrity" {
			t.Errorf("API download %s of a corrupt file: %v (%d bytes)", path, err, len(raw))
		}
	}
}

// TestLeaderNeverSignsWithTheSeal: the trap of issue 9. A leader's signing
// identity can never name the seal's provider, nor a provider that signs
// for many people without the leader's own number, on the API or the
// admin page; the page offers no provider by default and not the seal's at
// all; a phone typed in the national form is kept in the international
// one; and a leader whose stored identity names the seal (set before these
// rules) cannot start signing.
func TestLeaderNeverSignsWithTheSeal(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	if err := o.admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: "seal"}, nil); err != nil {
		t.Fatal(err)
	}
	leader := o.ids["chutich"]
	for _, bad := range []httpapi.SigningIdentityJSON{{Provider: "seal", Signer: "0912345678"}, {Provider: "seal"}, {Provider: "sim"}, {Provider: "sim", Signer: "  "}} {
		err := o.admin.call(ctx, "PUT", "/api/v1/users/"+leader+"/signing-identity", bad, nil)
		if ae, ok := err.(*apiError); !ok || ae.status != http.StatusUnprocessableEntity {
			t.Errorf("API accepts the leader's identity %+v: %v", bad, err)
		}
	}
	// The seal cannot be moved onto the leader's provider either.
	if err := o.admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: "sim"}, nil); err == nil {
		t.Error("the seal was set to the provider the leader signs with")
	}

	admin := o.webSignIn(t, "admin", officeAdminPass)
	page := admin.get("/admin/users/" + leader)
	form, csrf := formOf(t, page, "/admin/users/"+leader+"/signing")
	if strings.Contains(form, `value="seal"`) {
		t.Errorf("the leader's signing form offers the seal's provider:\n%s", form)
	}
	if !strings.Contains(form, `<option value="">`) {
		t.Errorf("the leader's signing form has no empty default:\n%s", form)
	}
	admin.wantError("/admin/users/"+leader+"/signing", url.Values{"csrf_token": {csrf}, "provider": {"seal"}, "signer": {"0912345678"}},
		http.StatusUnprocessableEntity, "khóa con dấu")
	admin.wantError("/admin/users/"+leader+"/signing", url.Values{"csrf_token": {csrf}, "provider": {""}, "signer": {"0912345678"}},
		http.StatusUnprocessableEntity, "nhà cung cấp")
	resp, page := admin.post("/admin/users/"+leader+"/signing", url.Values{"csrf_token": {csrf}, "provider": {"sim"}, "signer": {""}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page), "của riêng mình") || !strings.Contains(page, `class="field-error"`) {
		t.Errorf("a leader without a number: %d\n%.400s", resp.StatusCode, text(page))
	}
	admin.submit("/admin/users/"+leader+"/signing", url.Values{"csrf_token": {csrf}, "provider": {"sim"}, "signer": {"0912 000 333"}}, "/admin/users/"+leader)
	var ident httpapi.SigningIdentityJSON
	if err := o.admin.call(ctx, "GET", "/api/v1/users/"+leader+"/signing-identity", nil, &ident); err != nil || ident.Signer != "84912000333" {
		t.Errorf("the number typed as 0912 000 333 is kept as %+v (%v), want 84912000333", ident, err)
	}

	// An identity naming the seal, stored before these rules: refused when
	// the leader presses Ký số.
	id := o.awaitingSignature(t, "Quyết định thử khóa con dấu")
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(o.dataDir, "vanban.db"))
	if err != nil {
		t.Fatalf("opening the embedded database: %v", err)
	}
	if err := db.SetSigningIdentity(ctx, &store.SigningIdentity{UserID: leader, Provider: "seal", ProviderSigner: "84912000333"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	err = o.people["chutich"].call(ctx, "POST", "/api/v1/documents/"+id+"/sign", nil, nil)
	if ae, ok := err.(*apiError); !ok || ae.status != http.StatusUnprocessableEntity || !strings.Contains(ae.p.Detail, "seal") {
		t.Errorf("a leader whose identity is the seal starts signing: %v", err)
	}
	if d := o.doc(t, "soan", id); d.State != document.StateAwaitingSignature {
		t.Errorf("after the refusal the document is %s", d.State)
	}
}
