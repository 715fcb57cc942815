package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestLoginSessionAndCSRF(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.users["A.clerk"]
		hc := e.browser()
		login := func(password string) (int, httpapi.LoginResult) {
			b, _ := json.Marshal(httpapi.LoginRequest{Username: u.Username, Password: password})
			resp, err := hc.Post(e.srv.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
			e.must(err)
			defer resp.Body.Close()
			var out httpapi.LoginResult
			json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}
		if code, _ := login("wrong password"); code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", code)
		}
		code, res := login(testPassword)
		if code != http.StatusOK || res.CSRFToken == "" || res.User.ID != u.ID {
			t.Fatalf("login: %d %+v", code, res)
		}
		var cookies []*http.Cookie
		for _, ck := range hc.Jar.Cookies(mustURL(t, e.srv.URL)) {
			if ck.Name == httpapi.SessionCookie {
				cookies = append(cookies, ck)
			}
		}
		if len(cookies) != 1 {
			t.Fatalf("cookies %v", hc.Jar.Cookies(mustURL(t, e.srv.URL)))
		}
		// The cookie alone reads ...
		resp, err := hc.Get(e.srv.URL + "/api/v1/me")
		e.must(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /me with the cookie: %d", resp.StatusCode)
		}
		// ... but does not write without the CSRF header: a forged
		// cross-site form carries the cookie, not the header.
		post := func(csrf string) int {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/tokens", strings.NewReader(`{"name":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			if csrf != "" {
				req.Header.Set(httpapi.CSRFHeader, csrf)
			}
			resp, err := hc.Do(req)
			e.must(err)
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := post(""); code != http.StatusForbidden {
			t.Errorf("POST without CSRF header: %d, want 403", code)
		}
		if code := post("forged"); code != http.StatusForbidden {
			t.Errorf("POST with a wrong CSRF token: %d, want 403", code)
		}
		if code := post(res.CSRFToken); code != http.StatusCreated {
			t.Errorf("POST with the CSRF token: %d, want 201", code)
		}
		// Logout ends the session on the server, not only in the browser.
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/auth/logout", nil)
		req.Header.Set(httpapi.CSRFHeader, res.CSRFToken)
		resp, err = hc.Do(req)
		e.must(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		old := &http.Cookie{Name: httpapi.SessionCookie, Value: cookies[0].Value}
		req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
		req.AddCookie(old)
		if code, _ := e.send(req); code != http.StatusUnauthorized {
			t.Errorf("the old cookie after logout: %d, want 401", code)
		}
		// An unknown user is answered like a wrong password.
		b, _ := json.Marshal(httpapi.LoginRequest{Username: "no-such-user", Password: "whatever-long"})
		r2, err := http.Post(e.srv.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
		e.must(err)
		r2.Body.Close()
		if r2.StatusCode != http.StatusUnauthorized {
			t.Errorf("unknown user: %d", r2.StatusCode)
		}
		// Guessing is throttled per username.
		var last int
		for range 12 {
			last, _ = login("guess")
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("after 12 failures: %d, want 429", last)
		}
		// No credentials, a malformed or revoked token: 401.
		if code, _ := e.call("", "GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", code)
		}
		req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer vbt_short")
		if code, _ := e.send(req); code != http.StatusUnauthorized {
			t.Errorf("malformed token: %d", code)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOutgoingAndIncomingOverAPI(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		d := e.draft("Quyết định về việc ban hành Quy chế làm việc", document.ConfidentialityNormal)
		id := d.ID
		if d.State != document.StateDraft {
			t.Fatalf("state %s", d.State)
		}
		e.ok("A.drafter", "PUT", "/api/v1/documents/"+id+"/recipients", httpapi.Recipients{UnitIDs: []string{e.orgB.ID}}, 204, nil)
		e.ok("A.drafter", "POST", "/api/v1/documents/"+id+"/signer", httpapi.SignerAssign{SignerID: e.users["A.signer"].ID}, 200, nil)
		// A revised draft is a new version; the first stays.
		code, b := e.upload("A.drafter", "/api/v1/documents/"+id+"/versions", nil, "v2.pdf", samplePDF(t))
		if code != http.StatusCreated {
			t.Fatalf("new version: %d %s", code, b)
		}
		e.ok("A.drafter", "POST", "/api/v1/documents/"+id+"/submit", httpapi.Submit{Reviewers: []string{e.users["A.reviewer"].ID}}, 200, nil)
		// The reviewer returns it, the drafter resubmits, the reviewer approves.
		e.ok("A.reviewer", "POST", "/api/v1/documents/"+id+"/return", httpapi.Comment{Comment: "Sửa căn cứ pháp lý"}, 200, nil)
		e.ok("A.drafter", "POST", "/api/v1/documents/"+id+"/submit", httpapi.Submit{Reviewers: []string{e.users["A.reviewer"].ID}}, 200, nil)
		var inbox map[string][]httpapi.DocumentJSON
		e.ok("A.reviewer", "GET", "/api/v1/inbox", nil, 200, &inbox)
		if len(inbox["review"]) != 1 || inbox["review"][0].ID != id {
			t.Errorf("reviewer inbox %+v", inbox["review"])
		}
		var doc httpapi.DocumentJSON
		e.ok("A.reviewer", "POST", "/api/v1/documents/"+id+"/approve", nil, 200, &doc)
		if doc.State != document.StateAwaitingSignature {
			t.Fatalf("after approval: %s", doc.State)
		}
		// Acting out of turn is a 409 with the reason, or a 403.
		if code, b := e.call("A.reviewer", "POST", "/api/v1/documents/"+id+"/approve", nil); code != http.StatusConflict {
			t.Errorf("approve twice: %d %s", code, b)
		}
		if code, _ := e.call("A.clerk", "POST", "/api/v1/documents/"+id+"/issue", nil); code != http.StatusConflict {
			t.Errorf("issue before signature: %d", code)
		}
		// Signing without a signing identity: a clear 4xx, nothing changes.
		if code, b := e.call("A.signer", "POST", "/api/v1/documents/"+id+"/sign", nil); code < 400 || code >= 500 {
			t.Errorf("sign without identity: %d %s", code, b)
		}
		var view httpapi.DocumentView
		e.ok("A.archivist", "GET", "/api/v1/documents/"+id, nil, 200, &view)
		if view.Document.State != document.StateAwaitingSignature || len(view.Versions) != 2 || len(view.Recipients) != 1 {
			t.Errorf("view %+v", view)
		}
		var tl struct{ Items []httpapi.StepJSON }
		e.ok("A.drafter", "GET", "/api/v1/documents/"+id+"/timeline", nil, 200, &tl)
		if len(tl.Items) < 6 {
			t.Errorf("timeline has %d steps", len(tl.Items))
		}
		// Download: the exact bytes uploaded.
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/documents/"+id+"/versions/1/file", nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["A.archivist"])
		code, pdf := e.send(req)
		if code != 200 || !bytes.Equal(pdf, samplePDF(t)) {
			t.Errorf("download: %d, %d bytes", code, len(pdf))
		}
		var link httpapi.Link
		e.ok("A.archivist", "GET", "/api/v1/documents/"+id+"/versions/latest/link", nil, 200, &link)
		if !strings.Contains(link.URL, "/blobs/") {
			t.Errorf("link %q", link.URL)
		}

		// Incoming: the clerk registers a received PDF; it gets arrival
		// number 1, a kept validation report, and goes to a leader.
		code, b = e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan,
			Subject: "Công văn về phòng chống dịch", SenderName: "Sở Y tế", SenderSymbol: "12/SYT-NVY", SenderDate: "2026-11-20",
			Urgency: document.UrgencyUrgent}, "cv.pdf", samplePDF(t))
		if code != http.StatusCreated {
			t.Fatalf("register incoming: %d %s", code, b)
		}
		var reg httpapi.IncomingRegistered
		e.must(json.Unmarshal(b, &reg))
		in := reg.Document
		if in.Number != 1 || in.State != document.StateRegistered || reg.Verification == nil {
			t.Fatalf("registered %+v", reg)
		}
		e.ok("A.clerk", "POST", "/api/v1/documents/"+in.ID+"/route", httpapi.RouteTo{LeaderID: e.users["A.signer"].ID}, 200, nil)
		e.ok("A.signer", "POST", "/api/v1/documents/"+in.ID+"/assign", httpapi.AssignTo{HandlerID: e.users["A.drafter"].ID,
			HandlingUnitID: e.office.ID, WorkingDays: 5, Instruction: "Văn phòng tham mưu"}, 200, nil)
		e.ok("A.drafter", "POST", "/api/v1/documents/"+in.ID+"/start", nil, 200, nil)
		e.ok("A.drafter", "POST", "/api/v1/documents/"+in.ID+"/complete", httpapi.Comment{Comment: "Đã xử lý"}, 200, &doc)
		if doc.State != document.StateCompleted {
			t.Errorf("incoming ends %s", doc.State)
		}
		// A resend of the same number from the same sender is flagged.
		code, b = e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan,
			Subject: "Công văn về phòng chống dịch", SenderName: "Sở Y tế", SenderSymbol: "12/SYT-NVY"}, "cv.pdf", samplePDF(t))
		e.must(json.Unmarshal(b, &reg))
		if code != http.StatusCreated || len(reg.Duplicates) != 1 || reg.Document.Number != 2 {
			t.Errorf("duplicate registration: %d dups=%d number=%d", code, len(reg.Duplicates), reg.Document.Number)
		}
		var regs struct{ Items []httpapi.RegisterJSON }
		e.ok("A.clerk", "GET", "/api/v1/registers?year=2026", nil, 200, &regs)
		if code, _ := e.call("A.drafter", "GET", "/api/v1/registers", nil); code != http.StatusForbidden {
			t.Errorf("a drafter reads the registers: %d", code)
		}
	})
}

func TestSearchOverAPI(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for i := range 5 {
			e.draft(fmt.Sprintf("Kế hoạch số %d về chuyển đổi số", i), document.ConfidentialityNormal)
		}
		e.draft("Báo cáo tài chính", document.ConfidentialityNormal)
		var seen []string
		next := ""
		for range 10 {
			var page httpapi.DocumentPage
			e.ok("A.archivist", "GET", "/api/v1/documents?q=chuyen+doi+so&limit=2&cursor="+next, nil, 200, &page)
			for _, d := range page.Items {
				seen = append(seen, d.ID)
			}
			if next = page.Next; next == "" {
				break
			}
		}
		if len(seen) != 5 {
			t.Errorf("paged search found %d, want 5", len(seen))
		}
		for _, bad := range []string{"limit=0", "limit=100000", "cursor=!!!", "cursor=bm90LWEtY3Vyc29y", "from=20261301", "direction=sideways", "number=-3"} {
			if code, b := e.call("A.archivist", "GET", "/api/v1/documents?"+bad, nil); code != http.StatusUnprocessableEntity && code != http.StatusBadRequest {
				t.Errorf("%s: %d %s", bad, code, b)
			}
		}
	})
}

func TestBadInputIs4xx(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	meta := httpapi.DraftCreate{UnitID: e.office.ID, Type: document.TypeQuyetDinh, Subject: "Thử"}
	pdf := samplePDF(t)
	for name, body := range map[string][]byte{
		"not a PDF": []byte("PK\x03\x04 this is a DOCX"),
		"empty":     {},
		"truncated": pdf[:len(pdf)/2],
		"garbage":   append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0xff}, 5000)...),
	} {
		code, b := e.upload("A.drafter", "/api/v1/documents", meta, "x.pdf", body)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	e.api.MaxUpload = 20 << 10
	if code, b := e.upload("A.drafter", "/api/v1/documents", meta, "x.pdf", pdf); code != http.StatusRequestEntityTooLarge {
		t.Errorf("over the upload limit: %d %s", code, b)
	}
	e.api.MaxUpload = 200 << 20
	if code, b := e.upload("A.drafter", "/api/v1/documents", meta, "", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("no file part: %d %s", code, b)
	}
	if code, b := e.upload("A.drafter", "/api/v1/documents", map[string]any{"unit_id": e.office.ID, "typo": 1}, "x.pdf", pdf); code != http.StatusBadRequest {
		t.Errorf("unknown metadata field: %d %s", code, b)
	}
	if code, b := e.upload("A.drafter", "/api/v1/documents", httpapi.DraftCreate{UnitID: e.office.ID, Type: "no-such-type", Subject: "x"}, "x.pdf", pdf); code != http.StatusNotFound && code != http.StatusUnprocessableEntity {
		t.Errorf("unknown type: %d %s", code, b)
	}
	if code, b := e.call("A.drafter", "POST", "/api/v1/documents", map[string]string{"subject": "json, not multipart"}); code != http.StatusUnsupportedMediaType {
		t.Errorf("JSON instead of multipart: %d %s", code, b)
	}
	// A body cut short mid-upload.
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/documents", strings.NewReader("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.7 trunc"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
	req.Header.Set("Authorization", "Bearer "+e.tokens["A.drafter"])
	if code, b := e.send(req); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		t.Errorf("cut multipart: %d %s", code, b)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/auth/login", "{"},
		{"POST", "/api/v1/auth/login", `{"username":"a","password":"b"} trailing`},
		{"POST", "/api/v1/tokens", `{"name":""}`},
		{"POST", "/api/v1/tokens", `{"name":"x","expires_in_days":9999}`},
		{"POST", "/api/v1/units", `{"parent_id":""}`},
		{"POST", "/api/v1/documents/nope/submit", `[]`},
		{"POST", "/api/v1/documents/nope/signer", `{"signer_id":"x","capacity":"BOSS"}`},
		{"POST", "/api/v1/signing/batch", `{"document_ids":[]}`},
		{"GET", "/api/v1/documents/nope", ""},
		{"GET", "/api/v1/documents/nope/versions/x/file", ""},
		{"PUT", "/api/v1/users/nope/signing-identity", `{"provider":"sim","signer":"8490"}`},
		{"GET", "/api/v1/no-such-route", ""},
	} {
		req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+e.tokens["A.admin"])
		req.Header.Set("Content-Type", "application/json")
		code, b := e.send(req)
		if code < 400 || code >= 500 {
			t.Errorf("%s %s %q: %d %s", c.method, c.path, c.body, code, b)
		}
		var p httpapi.ProblemDetails
		if err := json.Unmarshal(b, &p); err != nil || p.Status != code || p.Code == "" {
			t.Errorf("%s %s: not a problem document: %s", c.method, c.path, b)
		}
	}
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	e.ok("", "GET", "/api/openapi.json", nil, 200, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	// Every described operation answers something other than 404/405 from
	// the router (an unauthenticated call gets 401, a public one 4xx), and
	// every $ref resolves.
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			n++
			concrete := strings.NewReplacer("{id}", "x", "{seq}", "1", "{attachment}", "x", "{provider}", "sim", "{message}", "x").Replace(path)
			req, _ := http.NewRequest(strings.ToUpper(method), e.srv.URL+concrete, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			code, b := e.send(req)
			if code == http.StatusNotFound && strings.Contains(string(b), "no route") || code == http.StatusMethodNotAllowed {
				t.Errorf("%s %s is described but not served: %d", method, path, code)
			}
			refs := refsIn(op)
			for _, r := range refs {
				name := strings.TrimPrefix(r, "#/components/schemas/")
				if _, ok := doc.Components.Schemas[name]; !ok {
					t.Errorf("%s %s refers to missing schema %s", method, path, name)
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d operations described", n)
	}
}

func refsIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "$ref" {
				out = append(out, s)
			}
			out = append(out, refsIn(val)...)
		}
	case []any:
		for _, val := range x {
			out = append(out, refsIn(val)...)
		}
	}
	return out
}
