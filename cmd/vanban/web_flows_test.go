package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/signing/mssp"
)

// office is a served vanban with one organization, a unit and the people
// the web flows need, set up over the API as vanban demo does it.
type office struct {
	s       *servedVanban
	dataDir string
	admin   *person
	org     string
	unit    httpapi.UnitJSON
	ids     map[string]string // username → user id
	people  map[string]*person
}

const flowPass = "mat-khau-luong-web-1"

// newOffice starts vanban with the development services (the SIM
// simulator signs) and creates a drafter and a handler in the office, a
// reviewer, a leader whose phone is the simulator's auto-approving number,
// and a clerk. serveArgs are more flags for serve.
func newOffice(t *testing.T, serveArgs ...string) *office {
	t.Helper()
	clearServeEnv(t)
	adminPass := "mật-khẩu-quản-trị-luồng"
	t.Setenv("VANBAN_ADMIN_PASSWORD", adminPass)
	dataDir := t.TempDir()
	var out, errb lockedBuffer
	if code := run(context.Background(), []string{"init", "--data-dir", dataDir, "--org-abbrev", "UBND",
		"--org-name", "Ủy ban nhân dân xã Thành Long", "--place", "Thành Long"}, &out, &errb); code != 0 {
		t.Fatalf("init: %d\n%s\n%s", code, &out, &errb)
	}
	o := &office{s: serveVanban(t, append([]string{"--data-dir", dataDir}, serveArgs...)...), dataDir: dataDir, ids: map[string]string{}, people: map[string]*person{}}
	ctx := context.Background()
	d := &demo{base: o.s.URL, out: io.Discard, started: time.Now()}
	var err error
	if o.admin, err = d.login(ctx, "admin", adminPass); err != nil {
		t.Fatal(err)
	}
	o.org = o.admin.user.OrgID
	if err := o.admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: o.org, Abbrev: "VP", Name: "Văn phòng"}, &o.unit); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		user, name, title, unit string
		role                    document.Role
	}{
		{"soan", "Nguyễn Văn Soạn", "Chuyên viên", o.unit.ID, document.RoleDrafter},
		{"xuly", "Đặng Thị Xử Lý", "Chuyên viên", o.unit.ID, document.RoleDrafter},
		{"duyet", "Trần Thị Duyệt", "Chánh Văn phòng", o.org, document.RoleReviewer},
		{"chutich", "Lê Văn Chủ", "Chủ tịch", o.org, document.RoleSigner},
		{"vanthu", "Phạm Thị Thư", "Văn thư", o.org, document.RoleClerk},
	} {
		var u httpapi.UserJSON
		if err := o.admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: p.user, FullName: p.name, Title: p.title,
			Password: flowPass, Roles: []httpapi.GrantJSON{{UnitID: p.unit, Role: p.role}}}, &u); err != nil {
			t.Fatalf("create %s: %v", p.user, err)
		}
		o.ids[p.user] = u.ID
	}
	grantPendingRoles(t, dataDir, o.org)
	for user := range o.ids {
		if o.people[user], err = d.login(ctx, user, flowPass); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.admin.call(ctx, "PUT", "/api/v1/users/"+o.ids["chutich"]+"/signing-identity",
		httpapi.SigningIdentityJSON{Provider: "sim", Signer: mssp.ScenarioMSISDN(mssp.ScenarioApprove, false)}, nil); err != nil {
		t.Fatal(err)
	}
	return o
}

// doc reads a document over the API as user.
func (o *office) doc(t *testing.T, user, id string) httpapi.DocumentJSON {
	t.Helper()
	var v httpapi.DocumentView
	if err := o.people[user].call(context.Background(), "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
		t.Fatalf("GET document %s as %s: %v", id, user, err)
	}
	return v.Document
}

// webUser is a person at the web pages: a cookie jar, redirects not
// followed (the test checks where a form sends them).
type webUser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (o *office) web(t *testing.T, username string) *webUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	w := &webUser{t: t, base: o.s.URL, hc: &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, page := w.login(url.Values{"username": {username}, "password": {flowPass}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in as %s: %d %s\n%.400s", username, resp.StatusCode, resp.Header.Get("Location"), page)
	}
	return w
}

func (w *webUser) do(req *http.Request) (*http.Response, string) {
	w.t.Helper()
	resp, err := w.hc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp, string(b)
}

// get fetches a page and wants 200.
func (w *webUser) get(path string) string {
	w.t.Helper()
	req, _ := http.NewRequest("GET", w.base+path, nil)
	resp, body := w.do(req)
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("GET %s: %d\n%.600s", path, resp.StatusCode, body)
	}
	return body
}

// loginTokenRE finds the sign-in form's login-CSRF token.
var loginTokenRE = regexp.MustCompile(`name="login_token" value="([^"]+)"`)

// login signs in through the form as a browser does: the form first (its
// token and cookie), then the post.
func (w *webUser) login(form url.Values) (*http.Response, string) {
	w.t.Helper()
	if w.hc.Jar == nil {
		w.hc.Jar, _ = cookiejar.New(nil)
	}
	req, _ := http.NewRequest("GET", w.base+"/login", nil)
	_, page := w.do(req)
	m := loginTokenRE.FindStringSubmatch(page)
	if m == nil {
		w.t.Fatalf("the sign-in form has no login token:\n%.600s", page)
	}
	form.Set("login_token", html.UnescapeString(m[1]))
	return w.post("/login", form)
}

func (w *webUser) post(path string, form url.Values) (*http.Response, string) {
	w.t.Helper()
	req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return w.do(req)
}

// submit posts a form and wants the 303 to next.
func (w *webUser) submit(path string, form url.Values, next string) {
	w.t.Helper()
	resp, page := w.post(path, form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != next {
		w.t.Fatalf("POST %s: %d %q, want a redirect to %s\n%.800s", path, resp.StatusCode, resp.Header.Get("Location"), next, text(page))
	}
}

// part is one field of a multipart form, in order; file marks the file.
type part struct {
	name, value string
	file        []byte
	fileName    string
}

func (w *webUser) postMultipart(path string, parts []part) (*http.Response, string) {
	w.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.file == nil && p.fileName == "" && p.name != "file" {
			if err := mw.WriteField(p.name, p.value); err != nil {
				w.t.Fatal(err)
			}
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.fileName+`"`)
		ctype := "application/pdf"
		if p.fileName == "" {
			ctype = "application/octet-stream" // what a browser sends for a file input left empty
		}
		h.Set("Content-Type", ctype)
		fw, err := mw.CreatePart(h)
		if err != nil {
			w.t.Fatal(err)
		}
		if _, err := fw.Write(p.file); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		w.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", w.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return w.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// formOf returns the form posting to action on page, failing when the page
// offers none, and its CSRF token.
func formOf(t *testing.T, page, action string) (form, csrf string) {
	t.Helper()
	i := strings.Index(page, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("the page has no form posting to %s:\n%.3000s", action, text(page))
	}
	start := strings.LastIndex(page[:i], "<form")
	end := strings.Index(page[i:], "</form>")
	if start < 0 || end < 0 {
		t.Fatalf("malformed form for %s", action)
	}
	form = page[start : i+end]
	m := csrfRE.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("the form posting to %s carries no CSRF token:\n%s", action, form)
	}
	return form, html.UnescapeString(m[1])
}

// wantFields checks a form has the named fields (inputs, selects, text
// areas) a person fills in.
func wantFields(t *testing.T, form string, names ...string) {
	t.Helper()
	for _, n := range names {
		if !strings.Contains(form, `name="`+n+`"`) {
			t.Errorf("the form lacks the field %q:\n%s", n, form)
		}
	}
}

var tagRE = regexp.MustCompile(`(?s)<script.*?</script>|<[^>]*>`)
var spaceRE = regexp.MustCompile(`\s+`)

// text is what a person reads on a page: tags dropped, spaces collapsed.
func text(page string) string {
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(page, " ")), " "))
}

// wantText checks the page reads each of the phrases.
func wantText(t *testing.T, what, page string, phrases ...string) {
	t.Helper()
	txt := text(page)
	for _, p := range phrases {
		if !strings.Contains(txt, p) {
			t.Errorf("%s does not read %q:\n%.2500s", what, p, txt)
		}
	}
}

// queueCount reads the count next to a queue's heading on the inbox, 0
// when the queue is not shown.
func queueCount(page, key string) int {
	m := regexp.MustCompile(`id="q-` + regexp.QuoteMeta(key) + `">[^<]*<span class="count">(\d+)</span>`).FindStringSubmatch(page)
	if m == nil {
		return 0
	}
	n := 0
	for _, c := range m[1] {
		n = n*10 + int(c-'0')
	}
	return n
}

// awaitingSignature makes an outgoing draft and takes it through review
// over the API, ready for the leader.
func (o *office) awaitingSignature(t *testing.T, subject string) string {
	t.Helper()
	ctx := context.Background()
	up, err := newUpload(httpapi.DraftCreate{UnitID: o.unit.ID, Type: document.TypeQuyetDinh, Subject: subject,
		Recipients: []string{o.org}}, "du-thao.pdf", demoPDF)
	if err != nil {
		t.Fatal(err)
	}
	var d httpapi.DocumentJSON
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents", up, &d); err != nil {
		t.Fatalf("upload draft: %v", err)
	}
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents/"+d.ID+"/signer", httpapi.SignerAssign{SignerID: o.ids["chutich"]}, nil); err != nil {
		t.Fatalf("assign signer: %v", err)
	}
	if err := o.people["soan"].call(ctx, "POST", "/api/v1/documents/"+d.ID+"/submit", httpapi.Submit{Reviewers: []string{o.ids["duyet"]}}, nil); err != nil {
		t.Fatalf("submit: %v", err)
	}
	if err := o.people["duyet"].call(ctx, "POST", "/api/v1/documents/"+d.ID+"/approve", httpapi.Comment{Comment: "Đồng ý trình ký"}, &d); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if d.State != document.StateAwaitingSignature {
		t.Fatalf("after review the document is %s", d.State)
	}
	return d.ID
}

// TestWebBatchSigning: the leader ticks two of the three documents waiting
// for his signature in the inbox's batch form, signs them in one go, sees
// one verification code per document on the signing list, and both
// sessions complete on the (simulated, auto-approving) phone; the third
// document is untouched. A batch the person may not sign, or with a
// document already signed, is refused with a 4xx page and changes nothing.
func TestWebBatchSigning(t *testing.T) {
	o := newOffice(t)
	subjects := []string{
		"Quyết định thành lập Tổ công tác chuyển đổi số",
		"Quyết định phê duyệt dự toán sửa chữa trụ sở",
		"Quyết định khen thưởng tập thể năm 2026",
	}
	var docs []string
	for _, s := range subjects {
		docs = append(docs, o.awaitingSignature(t, s))
	}

	leader := o.web(t, "chutich")
	inbox := leader.get("/")
	if n := queueCount(inbox, "q.sign"); n != 3 {
		t.Errorf("the leader's inbox counts %d documents to sign, want 3", n)
	}
	wantText(t, "the leader's inbox", inbox, "Chờ tôi ký", "Chọn tất cả", "Ký các văn bản đã chọn", subjects[0], subjects[1], subjects[2])
	form, csrf := formOf(t, inbox, "/sign/batch")
	if !strings.Contains(form, `id="batch"`) {
		t.Errorf("the batch form has no id the checkboxes can name:\n%s", form)
	}
	for _, id := range docs {
		if !strings.Contains(inbox, `<input type="checkbox" name="doc" value="`+id+`" form="batch">`) {
			t.Errorf("no batch checkbox for document %s", id)
		}
	}

	// Another person cannot start the leader's signatures, and a post
	// without the token is refused before anything happens.
	drafter := o.web(t, "soan")
	_, dcsrf := formOf(t, drafter.get("/new"), "/new")
	if resp, page := drafter.post("/sign/batch", url.Values{"csrf_token": {dcsrf}, "doc": {docs[0]}}); resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("the drafter's batch: %d, want a 4xx page\n%.500s", resp.StatusCode, text(page))
	} else {
		wantText(t, "the drafter's refused batch", page, "Không thực hiện được")
	}
	if resp, page := leader.post("/sign/batch", url.Values{"doc": {docs[0], docs[1]}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("batch without the CSRF token: %d\n%.500s", resp.StatusCode, text(page))
	} else {
		wantText(t, "the forged batch", page, "Biểu mẫu đã cũ")
	}
	for _, id := range docs {
		if st := o.doc(t, "chutich", id).State; st != document.StateAwaitingSignature {
			t.Fatalf("a refused batch moved document %s to %s", id, st)
		}
	}

	// The leader ticks the first two and signs.
	leader.submit("/sign/batch", url.Values{"csrf_token": {csrf}, "doc": {docs[0], docs[1]}}, "/signing")
	list := leader.get("/signing")
	wantText(t, "the signing list", list, "Các phiên ký của tôi", subjects[0], subjects[1])
	if strings.Contains(list, subjects[2]) {
		t.Errorf("the signing list shows the document that was not ticked")
	}
	items := regexp.MustCompile(`(?s)<li class="doc" data-poll-session="/signing/([^/"]+)/status">(.*?)</li>`).FindAllStringSubmatch(list, -1)
	if len(items) != 2 {
		t.Fatalf("the signing list shows %d sessions, want 2:\n%s", len(items), text(list))
	}
	codeRE := regexp.MustCompile(`Mã xác nhận: <strong class="code-small">(\d{4})</strong>`)
	codes := map[string]string{} // session → code
	keyed := 0
	for i, it := range items {
		sid, body := it[1], it[2]
		m := codeRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("session %s shows no verification code:\n%s", sid, body)
		}
		codes[sid] = m[1]
		// Listed in the order ticked.
		if !strings.Contains(body, subjects[i]) {
			t.Errorf("session %d of the list is not %q:\n%s", i+1, subjects[i], text(body))
		}
		if !strings.Contains(body, `/dev/mssp/phone/`+mssp.ScenarioMSISDN(mssp.ScenarioApprove, false)) {
			t.Errorf("session %s has no link to the virtual phone:\n%s", sid, body)
		}
		// The request at the phone has a link carrying its per-request
		// secret; without it the phone page shows nothing.
		if regexp.MustCompile(`/dev/mssp/phone/\d+\?k=[0-9a-f]{32}"`).MatchString(body) {
			keyed++
		}
		// The session's own page shows the same code.
		wantText(t, "the signing page", leader.get("/signing/"+sid), m[1], subjects[i])
	}
	if keyed == 0 {
		t.Errorf("no session links to the virtual phone with its per-request secret:\n%s", list)
	}

	// The phone approves one request at a time; the status JSON says when.
	deadline := time.Now().Add(2 * time.Minute)
	for sid, code := range codes {
		for {
			var st struct {
				State   string `json:"state"`
				Label   string `json:"label"`
				Done    bool   `json:"done"`
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			req, _ := http.NewRequest("GET", leader.base+"/signing/"+sid+"/status", nil)
			resp, body := leader.do(req)
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status of %s: %d %v %s", sid, resp.StatusCode, resp.Header, body)
			}
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatalf("status of %s: %v %s", sid, err, body)
			}
			if st.Code != code {
				t.Errorf("the status of %s has code %q, the list showed %q", sid, st.Code, code)
			}
			if st.Done {
				if st.State != "completed" || st.Label != "Đã ký" {
					t.Fatalf("session %s ended %s (%q): %s", sid, st.State, st.Label, st.Message)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session %s still %s (%q) after 2 minutes", sid, st.State, st.Label)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The signing page's event stream: refused to another person, and for
	// a finished session one final status after which the server ends it.
	for sid := range codes {
		req, _ := http.NewRequest("GET", drafter.base+"/signing/"+sid+"/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		if resp, body := drafter.do(req); resp.StatusCode < 400 || resp.StatusCode >= 500 || strings.Contains(body, "event:") {
			t.Errorf("the drafter's event stream of the leader's session: %d %.200s", resp.StatusCode, body)
		}
		req, _ = http.NewRequest("GET", leader.base+"/signing/"+sid+"/events", nil)
		if resp, _ := leader.do(req); resp.StatusCode != http.StatusNotAcceptable {
			t.Errorf("the event stream without Accept: text/event-stream: %d, want 406", resp.StatusCode)
		}
		req, _ = http.NewRequest("GET", leader.base+"/signing/"+sid+"/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, body := leader.do(req)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
			strings.Count(body, "event: status\n") != 1 || !strings.Contains(body, `"state":"completed"`) || !strings.Contains(body, `"done":true`) {
			t.Errorf("the event stream of a finished session: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		break
	}
	for i, id := range docs {
		want := document.StateSigned
		if i == 2 {
			want = document.StateAwaitingSignature
		}
		if st := o.doc(t, "chutich", id).State; st != want {
			t.Errorf("document %d is %s after the batch, want %s", i+1, st, want)
		}
	}
	wantText(t, "a signed document's page", leader.get("/d/"+docs[0]), "Đã ký", "lãnh đạo đã ký")
	wantText(t, "the signing list afterwards", leader.get("/signing"), "Không có phiên ký nào đang chờ.")
	inbox = leader.get("/")
	if n := queueCount(inbox, "q.sign"); n != 1 {
		t.Errorf("after the batch the leader's inbox counts %d to sign, want 1", n)
	}

	// A batch naming a document already signed is refused as a whole:
	// the other document does not start signing.
	_, csrf = formOf(t, inbox, "/sign/batch")
	resp, page := leader.post("/sign/batch", url.Values{"csrf_token": {csrf}, "doc": {docs[2], docs[0]}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("batch with a signed document: %d, want 409\n%.600s", resp.StatusCode, text(page))
	}
	wantText(t, "the refused batch", page, "Không thực hiện được", "Văn bản đã chuyển sang trạng thái khác")
	if st := o.doc(t, "chutich", docs[2]).State; st != document.StateAwaitingSignature {
		t.Errorf("a refused batch left document 3 %s", st)
	}
	// Ticking nothing is the person's mistake, not the server's.
	if resp, page := leader.post("/sign/batch", url.Values{"csrf_token": {csrf}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty batch: %d\n%.400s", resp.StatusCode, text(page))
	} else {
		wantText(t, "the empty batch", page, "Thông tin chưa hợp lệ.")
	}
}

// TestWebIncomingFlow plays an incoming document through the pages: the
// clerk registers a received PDF as urgent with its sender, number and
// symbol and date and sees its arrival number, presents it to the leader,
// the leader assigns a handler with a deadline, the handler starts and
// completes, and the timeline lists every step. On the way: registration
// mistakes get friendly 4xx pages in Vietnamese, a forged form is refused,
// a wrong deadline is refused on the document page, and a document past
// its deadline is highlighted on the inbox.
func TestWebIncomingFlow(t *testing.T) {
	o := newOffice(t)
	clerk := o.web(t, "vanthu")
	newPage := clerk.get("/incoming/new")
	wantText(t, "the registration page", newPage, "Vào sổ văn bản đến", "Nơi gửi", "Số, ký hiệu của nơi gửi", "Ngày văn bản", "Độ khẩn", "Tệp văn bản (PDF)")
	form, csrf := formOf(t, newPage, "/incoming/new")
	wantFields(t, form, "sender", "symbol", "sender_date", "type", "subject", "urgency", "file")
	if !strings.Contains(form, `enctype="multipart/form-data"`) {
		t.Errorf("the registration form is not multipart:\n%s", form)
	}
	if i, j := strings.Index(form, `name="csrf_token"`), strings.Index(form, `name="file"`); i < 0 || i > j {
		t.Errorf("the CSRF field does not come before the file")
	}
	// The date field speaks dd/mm/yyyy and starts at today.
	today := time.Now().In(document.VietnamTime)
	if !strings.Contains(form, `placeholder="dd/mm/yyyy" value="`+today.Format("02/01/2006")+`"`) {
		t.Errorf("the date field does not default to today in dd/mm/yyyy:\n%s", form)
	}

	const subject = "Về việc triển khai tiêm chủng mở rộng đợt 2"
	const sender = "Sở Y tế"
	const symbol = "125/SYT-NVY"
	senderDate := today.AddDate(0, 0, -3).Format("02/01/2006")
	fields := func(date string) []part {
		return []part{{name: "csrf_token", value: csrf}, {name: "sender", value: sender}, {name: "symbol", value: symbol},
			{name: "sender_date", value: date}, {name: "type", value: "cong-van"}, {name: "subject", value: subject},
			{name: "urgency", value: "khan"}}
	}
	withFile := func(ps []part, f []byte, name string) []part {
		return append(ps, part{name: "file", file: f, fileName: name})
	}
	routeCount := func() int { return queueCount(clerk.get("/"), "q.route") }

	// Mistakes: the form again in Vietnamese, the error beside its field
	// and what was typed kept, never a 500, and nothing registered; a
	// forged post gets the error page.
	for _, tc := range []struct {
		what   string
		parts  []part
		status int
		says   []string
		field  string // the field whose error is shown beside it
	}{
		{"a date that does not exist", withFile(fields("31/02/2026"), demoPDF, "cv.pdf"), 422, []string{"Thông tin chưa hợp lệ."}, "sender_date"},
		{"a date in another format", withFile(fields("2026.11.27"), demoPDF, "cv.pdf"), 422, []string{"Thông tin chưa hợp lệ."}, "sender_date"},
		{"no file part", fields(senderDate), 422, []string{"Thông tin chưa hợp lệ."}, "file"},
		{"the file input left empty", withFile(fields(senderDate), []byte{}, ""), 422, []string{"Thông tin chưa hợp lệ.", "choose a file"}, "file"},
		{"a file that is not a PDF", withFile(fields(senderDate), []byte("xin chào, đây không phải PDF"), "cv.txt"), 422, []string{"Tệp tải lên không phải PDF hợp lệ."}, "file"},
		{"no sender", withFile(append(fields(senderDate)[:1], fields(senderDate)[2:]...), demoPDF, "cv.pdf"), 422, []string{"Thông tin chưa hợp lệ."}, "sender"},
		{"no CSRF field", withFile(fields(senderDate)[1:], demoPDF, "cv.pdf"), 403, []string{"Không thực hiện được", "Biểu mẫu đã cũ"}, ""},
		{"the CSRF field after the file", append(withFile(fields(senderDate)[1:], demoPDF, "cv.pdf"), part{name: "csrf_token", value: csrf}), 403, []string{"Không thực hiện được", "Biểu mẫu đã cũ"}, ""},
		{"a wrong CSRF token", withFile(append([]part{{name: "csrf_token", value: "sai"}}, fields(senderDate)[1:]...), demoPDF, "cv.pdf"), 403, []string{"Không thực hiện được", "Biểu mẫu đã cũ"}, ""},
	} {
		resp, page := clerk.postMultipart("/incoming/new", tc.parts)
		if resp.StatusCode != tc.status {
			t.Errorf("registration with %s: %d, want %d\n%.600s", tc.what, resp.StatusCode, tc.status, text(page))
			continue
		}
		wantText(t, "registration with "+tc.what, page, tc.says...)
		if tc.field != "" {
			if !strings.Contains(page, `id="`+tc.field+`-error"`) || !strings.Contains(page, `action="/incoming/new"`) {
				t.Errorf("registration with %s: the form is not shown again with the error beside %s:\n%.1500s", tc.what, tc.field, page)
			}
			if !strings.Contains(page, subject) || !strings.Contains(page, `value="`+symbol+`"`) {
				t.Errorf("registration with %s: the form lost what was typed", tc.what)
			}
		}
	}
	if n := routeCount(); n != 0 {
		t.Fatalf("refused registrations left %d documents to route", n)
	}
	// An urlencoded post without the token is refused too.
	if resp, _ := clerk.post("/incoming/new", url.Values{"sender": {sender}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("urlencoded registration without the token: %d, want 403", resp.StatusCode)
	}

	// The real registration.
	resp, page := clerk.postMultipart("/incoming/new", withFile(fields(senderDate), demoPDF, "125-SYT-NVY.pdf"))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/d/") {
		t.Fatalf("registration: %d %q\n%.800s", resp.StatusCode, loc, text(page))
	}
	id := strings.TrimPrefix(loc, "/d/")
	docPage := clerk.get(loc)
	wantText(t, "the registered document", docPage, subject, "Công văn · Văn bản đến", "Đã vào sổ", "Khẩn",
		"Số, ký hiệu của nơi gửi "+symbol, "Số đến 1", "Nơi gửi "+sender, "Ngày văn bản "+senderDate, "Ngày đến", "Trình lãnh đạo")
	if txt := text(docPage); strings.Contains(txt, "Công văn · Văn bản đi") || strings.Contains(txt, "Ngày ban hành") {
		t.Errorf("the received document reads as an outgoing one:\n%s", txt)
	}
	// The clerk finds it in the incoming register, not the outgoing one.
	search := clerk.get("/search")
	if !strings.Contains(search, `<option value="in">Văn bản đến</option>`) || !strings.Contains(search, `<option value="out">Văn bản đi</option>`) {
		t.Errorf("the search form does not offer the registers by direction")
	}
	wantText(t, "the incoming register", clerk.get("/search?dir=in&q=tiem+chung"), subject, symbol)
	if strings.Contains(clerk.get("/search?dir=out&q=tiem+chung"), subject) {
		t.Errorf("the received document is listed among the outgoing ones")
	}
	d := o.doc(t, "vanthu", id)
	if d.State != document.StateRegistered || d.Direction != document.Incoming || d.Number != 1 || d.Urgency != document.UrgencyUrgent ||
		d.SenderName != sender || d.Symbol != symbol || d.SenderDate == nil || d.SenderDate.In(document.VietnamTime).Format("02/01/2006") != senderDate {
		t.Errorf("the API sees the registered document as %+v", d)
	}
	inbox := clerk.get("/")
	if n := queueCount(inbox, "q.route"); n != 1 {
		t.Errorf("the clerk's inbox counts %d to route, want 1", n)
	}
	wantText(t, "the clerk's inbox", inbox, "Văn bản đến chờ trình", subject, symbol, "Khẩn")

	// Route to the leader.
	form, csrf = formOf(t, docPage, "/d/"+id+"/route")
	wantFields(t, form, "leader")
	if !strings.Contains(form, `<option value="`+o.ids["chutich"]+`">Lê Văn Chủ – Chủ tịch</option>`) {
		t.Errorf("the leader is not offered:\n%s", form)
	}
	clerk.submit("/d/"+id+"/route", url.Values{"csrf_token": {csrf}, "leader": {o.ids["chutich"]}}, "/d/"+id)
	wantText(t, "the routed document", clerk.get("/d/"+id), "Đã trình", "Lãnh đạo Lê Văn Chủ")
	if st := o.doc(t, "vanthu", id).State; st != document.StateRouted {
		t.Fatalf("after routing the document is %s", st)
	}

	// The leader assigns: a wrong deadline first (the page says why and
	// nothing changes), then the form as it comes, five working days.
	leader := o.web(t, "chutich")
	inbox = leader.get("/")
	if n := queueCount(inbox, "q.assign"); n != 1 {
		t.Errorf("the leader's inbox counts %d to assign, want 1", n)
	}
	wantText(t, "the leader's inbox", inbox, "Văn bản đến chờ tôi phân công", subject)
	docPage = leader.get("/d/" + id)
	form, csrf = formOf(t, docPage, "/d/"+id+"/assign")
	wantFields(t, form, "unit", "handler", "days", "instruction")
	if !strings.Contains(form, `<option value="`+o.ids["xuly"]+`">Đặng Thị Xử Lý – Chuyên viên</option>`) ||
		!strings.Contains(form, `<option value="`+o.unit.ID+`">Văn phòng</option>`) {
		t.Errorf("the handler or her unit is not offered:\n%s", form)
	}
	assign := url.Values{"csrf_token": {csrf}, "unit": {o.unit.ID}, "handler": {o.ids["xuly"]},
		"instruction": {"Giao Văn phòng tham mưu kế hoạch, báo cáo trước hạn"}}
	for _, bad := range []struct{ what, days, deadline string }{
		{"a deadline that is no date", "", "32/12/2026"},
		{"a deadline in the past", "", "01/01/2020"},
		{"no deadline", "", ""},
	} {
		f := url.Values{}
		for k, v := range assign {
			f[k] = v
		}
		f.Set("days", bad.days)
		f.Set("deadline", bad.deadline)
		resp, page := leader.post("/d/"+id+"/assign", f)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("assigning with %s: %d, want 422\n%.600s", bad.what, resp.StatusCode, text(page))
			continue
		}
		// The document page again, with the reason beside the deadline
		// and the instruction as it was typed.
		wantText(t, "assigning with "+bad.what, page, "Thông tin chưa hợp lệ.", subject, "Phân công xử lý")
		if !strings.Contains(page, `id="deadline-error"`) || !strings.Contains(page, "Giao Văn phòng tham mưu kế hoạch, báo cáo trước hạn</textarea>") {
			t.Errorf("assigning with %s: no error beside the deadline, or the instruction lost:\n%.2000s", bad.what, page)
		}
	}
	if st := o.doc(t, "chutich", id).State; st != document.StateRouted {
		t.Fatalf("refused assignments moved the document to %s", st)
	}
	assign.Set("days", "5")
	leader.submit("/d/"+id+"/assign", assign, "/d/"+id)
	d = o.doc(t, "chutich", id)
	if d.State != document.StateAssigned || d.HandlerID != o.ids["xuly"] || d.HandlingUnitID != o.unit.ID || d.Deadline == nil ||
		d.Deadline.Sub(time.Now()) < 5*24*time.Hour-time.Hour || d.Deadline.Sub(time.Now()) > 20*24*time.Hour {
		t.Fatalf("after assignment the API sees %+v", d)
	}
	due := d.Deadline.In(document.VietnamTime).Format("02/01/2006")
	wantText(t, "the assigned document", leader.get("/d/"+id), "Đã phân công", "Người xử lý Đặng Thị Xử Lý (Văn phòng)",
		"Hạn xử lý "+due, "Ý kiến chỉ đạo Giao Văn phòng tham mưu kế hoạch")

	// Reassigning with a date: the date wins over the working days.
	until := time.Now().In(document.VietnamTime).AddDate(0, 0, 12).Format("02/01/2006")
	assign.Set("deadline", until)
	leader.submit("/d/"+id+"/assign", assign, "/d/"+id)
	d = o.doc(t, "chutich", id)
	if d.Deadline == nil || d.Deadline.In(document.VietnamTime).Format("02/01/2006") != until {
		t.Fatalf("deadline by date: %v, want %s", d.Deadline, until)
	}
	wantText(t, "the reassigned document", leader.get("/d/"+id), "Hạn xử lý "+until)
	due = until

	// The handler finds it, with its deadline, not overdue.
	handler := o.web(t, "xuly")
	inbox = handler.get("/")
	if n := queueCount(inbox, "q.handle"); n != 1 {
		t.Errorf("the handler's inbox counts %d assigned, want 1", n)
	}
	wantText(t, "the handler's inbox", inbox, "Văn bản tôi được giao xử lý", subject, "Hạn xử lý: "+due)
	if strings.Contains(inbox, `class="doc overdue"`) || queueCount(inbox, "q.overdue") != 0 {
		t.Errorf("a document within its deadline is shown overdue")
	}

	// Time passes: the deadline moves to yesterday (written to the
	// database as the calendar would have it), and the inbox highlights
	// the document in its overdue queue.
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(o.dataDir, "vanban.db"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.Document(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	stored.Deadline = time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Microsecond)
	if err := db.UpdateDocument(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	db.Close()
	late := stored.Deadline.In(document.VietnamTime).Format("02/01/2006")
	for _, who := range []*webUser{handler, clerk} {
		inbox = who.get("/")
		if n := queueCount(inbox, "q.overdue"); n != 1 {
			t.Errorf("the inbox counts %d overdue, want 1", n)
		}
		wantText(t, "the inbox with an overdue document", inbox, "Quá hạn xử lý", "Hạn xử lý: "+late)
		if !regexp.MustCompile(`<li class="doc overdue">\s*(<label[^>]*>.*?</label>\s*)?<a href="/d/` + id + `">`).MatchString(inbox) {
			t.Errorf("the overdue document is not highlighted on the inbox:\n%s", inbox)
		}
	}
	docPage = handler.get("/d/" + id)
	wantText(t, "the overdue document", docPage, "Quá hạn", "Bắt đầu xử lý")
	if !strings.Contains(docPage, `<dd class="overdue-text">`+late+`</dd>`) {
		t.Errorf("the document page does not mark the deadline as passed")
	}

	// The handler starts and completes.
	_, csrf = formOf(t, docPage, "/d/"+id+"/start")
	handler.submit("/d/"+id+"/start", url.Values{"csrf_token": {csrf}}, "/d/"+id)
	docPage = handler.get("/d/" + id)
	wantText(t, "the document in progress", docPage, "Đang xử lý", "Kết quả xử lý", "Hoàn thành")
	form, csrf = formOf(t, docPage, "/d/"+id+"/complete")
	wantFields(t, form, "note")
	// Only the handler may work on it.
	_, lcsrf := formOf(t, leader.get("/"), "/logout")
	if resp, page := leader.post("/d/"+id+"/complete", url.Values{"csrf_token": {lcsrf}, "note": {"xong"}}); resp.StatusCode != http.StatusForbidden &&
		resp.StatusCode != http.StatusConflict {
		t.Errorf("the leader completing the handler's work: %d\n%.400s", resp.StatusCode, text(page))
	}
	const note = "Đã xây dựng kế hoạch, trình UBND xã ban hành"
	handler.submit("/d/"+id+"/complete", url.Values{"csrf_token": {csrf}, "note": {note}}, "/d/"+id)
	if d := o.doc(t, "xuly", id); d.State != document.StateCompleted || d.CompletedAt == nil {
		t.Fatalf("after completion the API sees %+v", d)
	}
	docPage = handler.get("/d/" + id)
	wantText(t, "the completed document", docPage, "Đã hoàn thành")
	if strings.Contains(docPage, "overdue-badge") || strings.Contains(docPage, `action="/d/`+id+`/complete"`) {
		t.Errorf("the completed document is still shown overdue or open")
	}
	if n := queueCount(clerk.get("/"), "q.overdue"); n != 0 {
		t.Errorf("the completed document is still in the overdue queue")
	}

	// The timeline: every step in order, by whom, with the free text.
	tl := clerk.get("/d/" + id + "/timeline")
	wantText(t, "the timeline", tl, "Lịch sử xử lý", "Tải lịch sử (JSON)", "Phạm Thị Thư", "Lê Văn Chủ", "Đặng Thị Xử Lý",
		"Giao Văn phòng tham mưu kế hoạch", note)
	states := regexp.MustCompile(`<span class="badge state-([a-z_]+)">`).FindAllStringSubmatch(tl, -1)
	var got []string
	for _, m := range states {
		got = append(got, m[1])
	}
	want := []string{"registered", "routed", "assigned", "assigned", "in_progress", "completed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the timeline's steps are %v, want %v:\n%s", got, want, text(tl))
	}
	wantText(t, "the timeline", tl, "Đã vào sổ", "Đã trình", "Đã phân công", "Đang xử lý", "Đã hoàn thành")
	var tj struct {
		Steps []struct {
			Actor, Action string
			To            document.State
		} `json:"steps"`
	}
	req, _ := http.NewRequest("GET", clerk.base+"/d/"+id+"/timeline.json", nil)
	resp, body := clerk.do(req)
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &tj) != nil {
		t.Fatalf("timeline.json: %d %s", resp.StatusCode, body)
	}
	var actions []string
	for _, s := range tj.Steps {
		actions = append(actions, s.Action)
	}
	if strings.Join(actions, " ") != "register route assign assign start complete" {
		t.Errorf("timeline.json steps %v", actions)
	}
}

// grantPendingRoles gives the roles waiting for a second administrator
// (the clerk's, since the two-person rule) directly in the served
// database, as `vanban init` grants the first administrator's: these
// tests have one administrator per organization.
func grantPendingRoles(t *testing.T, dataDir string, orgIDs ...string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dataDir, "vanban.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, org := range orgIDs {
		pending, err := db.PendingRoleRequests(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range pending {
			if err := db.GrantRole(ctx, r.UserID, r.UnitID, r.Role); err != nil {
				t.Fatal(err)
			}
		}
	}
}
