package main

import (
	"net/http"
	"strings"
	"testing"

	"vanban/internal/document"
)

// A forged multipart post, without the session's CSRF token, to any page
// action that is not an upload is refused before its handler runs: the
// document does not move, no signing starts, the session stays.
func TestWebMultipartPostsNeedCSRF(t *testing.T) {
	o := newOffice(t)
	id := o.awaitingSignature(t, "Quyết định thử giả mạo biểu mẫu")
	leader := o.web(t, "chutich")
	for _, path := range []string{"/d/" + id + "/return", "/d/" + id + "/approve", "/sign/batch", "/signing/0123456789abcdef0123456789abcdef/cancel", "/logout"} {
		resp, page := leader.postMultipart(path, []part{{name: "doc", value: id}, {name: "comment", value: "giả mạo"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(text(page), "Biểu mẫu đã cũ") {
			t.Errorf("multipart POST %s without CSRF token: %d\n%.300s", path, resp.StatusCode, text(page))
		}
	}
	if st := o.doc(t, "chutich", id).State; st != document.StateAwaitingSignature {
		t.Errorf("a forged post moved the document to %s", st)
	}
	// Still signed in: the forged logout did nothing.
	if page := leader.get("/"); !strings.Contains(page, "Đăng xuất") {
		t.Errorf("the forged logout ended the session:\n%.300s", text(page))
	}
}
