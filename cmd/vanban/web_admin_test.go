package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"vanban/internal/httpapi"
)

// officeAdminPass is the administrator's password newOffice sets.
const officeAdminPass = "mật-khẩu-quản-trị-luồng"

// webSignIn signs in at /login with a password and wants the redirect home.
func (o *office) webSignIn(t *testing.T, username, password string) *webUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	w := &webUser{t: t, base: o.s.URL, hc: &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, page := w.login(url.Values{"username": {username}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in as %s: %d %s\n%.400s", username, resp.StatusCode, resp.Header.Get("Location"), text(page))
	}
	return w
}

// wantError posts and wants an error page with status and message.
func (w *webUser) wantError(path string, form url.Values, status int, msg string) {
	w.t.Helper()
	resp, page := w.post(path, form)
	if resp.StatusCode != status || !strings.Contains(text(page), msg) {
		w.t.Errorf("POST %s: %d, want %d reading %q\n%.600s", path, resp.StatusCode, status, msg, text(page))
	}
}

var optionRE = regexp.MustCompile(`<option value="([^"]*)"`)

// TestWebAdmin: the organization's administrator creates a unit and a
// person with a role and a password through the pages, and the person
// signs in; grants and revokes a role; sets the leader's phone and the
// seal signer, which the API then reports; resets a password, which ends
// the person's sessions; disables and enables an account, never their
// own. Bad input is a 4xx page with a message; a clerk gets 403 on every
// administration page and post; a post without CSRF token gets 403.
func TestWebAdmin(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	admin := o.webSignIn(t, "admin", officeAdminPass)

	home := admin.get("/")
	if !strings.Contains(home, `<a href="/admin">`) {
		t.Errorf("the administrator's header has no link to the administration pages")
	}
	page := admin.get("/admin")
	wantText(t, "the administration page", page, "Quản trị cơ quan", "Cán bộ và vai trò", "Cơ cấu đơn vị",
		"Phạm Thị Thư", "Văn thư", "Lê Văn Chủ", "Lãnh đạo ký", "Nguyễn Văn Soạn", "Chuyên viên soạn thảo", "Văn phòng")
	if strings.Contains(page, " style=") || strings.Contains(page, "<script>") {
		t.Errorf("the administration page has inline style or script")
	}

	// A unit under the office.
	form, csrf := formOf(t, page, "/admin/units")
	wantFields(t, form, "parent_id", "abbrev", "name")
	admin.submit("/admin/units", url.Values{"csrf_token": {csrf}, "parent_id": {o.unit.ID}, "abbrev": {"TCKT"},
		"name": {"Tổ Tài chính - Kế toán"}}, "/admin")
	var units struct{ Items []httpapi.UnitJSON }
	if err := o.admin.call(ctx, "GET", "/api/v1/units", nil, &units); err != nil {
		t.Fatal(err)
	}
	var unit httpapi.UnitJSON
	for _, u := range units.Items {
		if u.Abbrev == "TCKT" {
			unit = u
		}
	}
	if unit.ID == "" || unit.ParentID != o.unit.ID || unit.Name != "Tổ Tài chính - Kế toán" {
		t.Fatalf("the unit made on the page: %+v in %+v", unit, units.Items)
	}
	page = admin.get("/admin")
	wantText(t, "the administration page", page, "TCKT · Tổ Tài chính - Kế toán")

	// A person with a role in it.
	form, csrf = formOf(t, page, "/admin/users")
	wantFields(t, form, "username", "full_name", "title", "password", "role", "unit_id")
	newUser := url.Values{"csrf_token": {csrf}, "username": {"ketoan"}, "full_name": {"Hoàng Thị Kế Toán"}, "title": {"Kế toán viên"},
		"password": {"mat-khau-ke-toan-1"}, "role": {"drafter"}, "unit_id": {unit.ID}}

	// Bad input first: nothing is created.
	bad := url.Values{}
	for k, v := range newUser {
		bad[k] = v
	}
	bad.Set("username", "kế toán")
	admin.wantError("/admin/users", bad, http.StatusUnprocessableEntity, "Tên đăng nhập không hợp lệ")
	bad.Set("username", "ketoan")
	bad.Set("password", "ngan")
	admin.wantError("/admin/users", bad, http.StatusUnprocessableEntity, "Mật khẩu phải có ít nhất 10 ký tự")
	bad.Set("password", "mat-khau-ke-toan-1")
	bad.Set("role", "sep")
	admin.wantError("/admin/users", bad, http.StatusUnprocessableEntity, "Vai trò không hợp lệ")
	bad.Set("role", "drafter")
	bad.Set("unit_id", "khong-co")
	admin.wantError("/admin/users", bad, http.StatusUnprocessableEntity, "Vui lòng chọn một đơn vị")
	admin.wantError("/admin/users", url.Values{"csrf_token": {csrf}, "username": {"soan"}, "full_name": {"Trùng Tên"},
		"password": {"mat-khau-trung-ten"}}, http.StatusConflict, "Tên đăng nhập này đã có người dùng")
	admin.wantError("/admin/units", url.Values{"csrf_token": {csrf}, "parent_id": {o.unit.ID}, "abbrev": {""}, "name": {"X"}},
		http.StatusUnprocessableEntity, "Vui lòng nhập ký hiệu viết tắt")
	admin.wantError("/admin/units", url.Values{"csrf_token": {csrf}, "parent_id": {"khong-co"}, "abbrev": {"X"}, "name": {"X"}},
		http.StatusNotFound, "Không thực hiện được")

	resp, _ := admin.post("/admin/users", newUser)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/users/") {
		t.Fatalf("create a person: %d %q", resp.StatusCode, loc)
	}
	userID := strings.TrimPrefix(loc, "/admin/users/")
	userPage := admin.get(loc)
	wantText(t, "the new person's page", userPage, "Hoàng Thị Kế Toán", "ketoan", "Kế toán viên", "Chuyên viên soạn thảo Tổ Tài chính - Kế toán")
	ketoan := o.webSignIn(t, "ketoan", "mat-khau-ke-toan-1")
	wantText(t, "the new person's inbox", ketoan.get("/"), "Hoàng Thị Kế Toán", "Soạn văn bản")
	if strings.Contains(ketoan.get("/"), `href="/admin"`) {
		t.Errorf("a drafter sees the administration link")
	}

	// Grant and revoke a role.
	_, csrf = formOf(t, userPage, "/admin/users/"+userID+"/grant")
	admin.submit("/admin/users/"+userID+"/grant", url.Values{"csrf_token": {csrf}, "role": {"reviewer"}, "unit_id": {o.unit.ID}}, loc)
	userPage = admin.get(loc)
	wantText(t, "the person's page after a grant", userPage, "Kiểm tra, thẩm định Văn phòng")
	form, csrf = formOf(t, userPage, "/admin/users/"+userID+"/revoke")
	if !strings.Contains(form, `value="drafter"`) && !strings.Contains(form, `value="reviewer"`) {
		t.Errorf("the revoke form names no role:\n%s", form)
	}
	admin.submit("/admin/users/"+userID+"/revoke", url.Values{"csrf_token": {csrf}, "role": {"reviewer"}, "unit_id": {o.unit.ID}}, loc)
	if page := admin.get(loc); strings.Contains(page, `name="role" value="reviewer"`) || !strings.Contains(page, `name="role" value="drafter"`) {
		t.Errorf("after revoking the reviewer role:\n%.1500s", text(page))
	}

	// A new password ends the person's sessions.
	_, csrf = formOf(t, userPage, "/admin/users/"+userID+"/password")
	admin.wantError("/admin/users/"+userID+"/password", url.Values{"csrf_token": {csrf}, "password": {"ngan"}},
		http.StatusUnprocessableEntity, "Mật khẩu phải có ít nhất 10 ký tự")
	admin.submit("/admin/users/"+userID+"/password", url.Values{"csrf_token": {csrf}, "password": {"mat-khau-moi-ke-toan"}}, loc)
	req, _ := http.NewRequest("GET", o.s.URL+"/", nil)
	if resp, _ := ketoan.do(req); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("after a new password the old session still works: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	o.webSignIn(t, "ketoan", "mat-khau-moi-ke-toan")

	// Disable, enable; never oneself.
	_, csrf = formOf(t, userPage, "/admin/users/"+userID+"/disable")
	// Disabling asks first, on a page of its own (no inline script).
	resp, confirm := admin.post("/admin/users/"+userID+"/disable", url.Values{"csrf_token": {csrf}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(confirm, `name="confirm" value="yes"`) ||
		!strings.Contains(confirm, `action="/admin/users/`+userID+`/disable"`) {
		t.Fatalf("disable without confirmation: %d\n%.600s", resp.StatusCode, text(confirm))
	}
	if resp, _ := (&webUser{t: t, base: o.s.URL, hc: &http.Client{}}).login(
		url.Values{"username": {"ketoan"}, "password": {"mat-khau-moi-ke-toan"}}); resp.StatusCode == http.StatusUnauthorized {
		t.Errorf("the account was disabled before the confirmation: %d", resp.StatusCode)
	}
	admin.submit("/admin/users/"+userID+"/disable", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}}, loc)
	wantText(t, "the notice after disabling", admin.get(loc), "Đã khóa tài khoản.")
	if resp, _ := (&webUser{t: t, base: o.s.URL, hc: &http.Client{}}).login(
		url.Values{"username": {"ketoan"}, "password": {"mat-khau-moi-ke-toan"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a disabled person signs in: %d", resp.StatusCode)
	}
	wantText(t, "the disabled person's page", admin.get(loc), "Đã khóa")
	admin.submit("/admin/users/"+userID+"/enable", url.Values{"csrf_token": {csrf}}, loc)
	o.webSignIn(t, "ketoan", "mat-khau-moi-ke-toan")
	adminID := o.admin.user.ID
	adminPage := admin.get("/admin/users/" + adminID)
	if strings.Contains(adminPage, `action="/admin/users/`+adminID+`/disable"`) {
		t.Errorf("the administrator is offered to disable their own account")
	}
	admin.wantError("/admin/users/"+adminID+"/disable", url.Values{"csrf_token": {csrf}}, http.StatusConflict, "Bạn không thể tự khóa")

	// The leader's phone and the seal signer; the API reports them.
	leaderPage := admin.get("/admin/users/" + o.ids["chutich"])
	form, csrf = formOf(t, leaderPage, "/admin/users/"+o.ids["chutich"]+"/signing")
	wantFields(t, form, "provider", "signer")
	admin.submit("/admin/users/"+o.ids["chutich"]+"/signing", url.Values{"csrf_token": {csrf}, "provider": {"sim"}, "signer": {" 84912000111 "}},
		"/admin/users/"+o.ids["chutich"])
	var ident httpapi.SigningIdentityJSON
	if err := o.admin.call(ctx, "GET", "/api/v1/users/"+o.ids["chutich"]+"/signing-identity", nil, &ident); err != nil {
		t.Fatal(err)
	}
	if ident.Provider != "sim" || ident.Signer != "84912000111" {
		t.Errorf("the API reports the leader's identity as %+v", ident)
	}
	wantText(t, "the leader's page", admin.get("/admin/users/"+o.ids["chutich"]), "sim · 84912000111")
	admin.wantError("/admin/users/"+o.ids["chutich"]+"/signing", url.Values{"csrf_token": {csrf}, "provider": {"khong-co"}, "signer": {"1"}},
		http.StatusUnprocessableEntity, "không có trong cấu hình")

	form, csrf = formOf(t, admin.get("/admin"), "/admin/seal")
	var providers []string
	for _, m := range optionRE.FindAllStringSubmatch(form, -1) {
		providers = append(providers, m[1])
	}
	if len(providers) == 0 {
		t.Fatalf("the seal form offers no provider:\n%s", form)
	}
	// The leader signs with "sim": the seal cannot be that provider (a
	// leader's key is never the seal's, nor the other way round).
	admin.wantError("/admin/seal", url.Values{"csrf_token": {csrf}, "provider": {"sim"}}, http.StatusUnprocessableEntity, "khóa con dấu")
	sealProvider := "seal"
	if !slices.Contains(providers, sealProvider) {
		t.Fatalf("the seal form does not offer the seal provider: %v", providers)
	}
	admin.submit("/admin/seal", url.Values{"csrf_token": {csrf}, "provider": {sealProvider}, "signer": {"con-dau-ubnd"}}, "/admin")
	var seal httpapi.SigningIdentityJSON
	if err := o.admin.call(ctx, "GET", "/api/v1/seal-signer", nil, &seal); err != nil {
		t.Fatal(err)
	}
	if seal.Provider != sealProvider || seal.Signer != "con-dau-ubnd" {
		t.Errorf("the API reports the seal signer as %+v, want %s/con-dau-ubnd", seal, sealProvider)
	}

	// A post without the CSRF token changes nothing.
	admin.wantError("/admin/users", url.Values{"username": {"gia-mao"}, "full_name": {"Giả Mạo"}, "password": {"mat-khau-gia-mao"}},
		http.StatusForbidden, "Biểu mẫu đã cũ")
	for _, path := range []string{"/admin/users", "/admin/units", "/admin/seal", "/admin/users/" + userID + "/password"} {
		resp, page := admin.postMultipart(path, []part{{name: "username", value: "gia-mao"}, {name: "full_name", value: "Giả Mạo"},
			{name: "password", value: "mat-khau-gia-mao"}, {name: "parent_id", value: o.org}, {name: "abbrev", value: "GM"},
			{name: "name", value: "Giả Mạo"}, {name: "provider", value: sealProvider}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(text(page), "Biểu mẫu đã cũ") {
			t.Errorf("multipart POST %s without CSRF token: %d\n%.400s", path, resp.StatusCode, text(page))
		}
	}
	admin.wantError("/admin/seal", url.Values{"csrf_token": {"sai"}, "provider": {sealProvider}}, http.StatusForbidden, "Biểu mẫu đã cũ")

	// The clerk is no administrator: 403 everywhere, no link.
	clerk := o.web(t, "vanthu")
	clerkHome := clerk.get("/")
	if strings.Contains(clerkHome, `href="/admin"`) {
		t.Errorf("the clerk sees the administration link")
	}
	clerkCSRF := csrfRE.FindStringSubmatch(clerkHome)[1]
	req, _ = http.NewRequest("GET", o.s.URL+"/admin", nil)
	if resp, page := clerk.do(req); resp.StatusCode != http.StatusForbidden || !strings.Contains(text(page), "Bạn không có quyền") {
		t.Errorf("GET /admin as the clerk: %d\n%.400s", resp.StatusCode, text(page))
	}
	req, _ = http.NewRequest("GET", o.s.URL+"/admin/users/"+userID, nil)
	if resp, _ := clerk.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET a person's administration page as the clerk: %d", resp.StatusCode)
	}
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/admin/users", url.Values{"username": {"cua-van-thu"}, "full_name": {"Của Văn Thư"}, "password": {"mat-khau-van-thu-1"}}},
		{"/admin/units", url.Values{"parent_id": {o.org}, "abbrev": {"VT"}, "name": {"Văn thư"}}},
		{"/admin/seal", url.Values{"provider": {sealProvider}}},
		{"/admin/users/" + userID + "/grant", url.Values{"role": {"admin"}, "unit_id": {o.org}}},
		{"/admin/users/" + o.ids["vanthu"] + "/grant", url.Values{"role": {"admin"}, "unit_id": {o.org}}},
		{"/admin/users/" + userID + "/password", url.Values{"password": {"mat-khau-cua-van-thu"}}},
		{"/admin/users/" + userID + "/disable", nil},
		{"/admin/users/" + o.ids["chutich"] + "/signing", url.Values{"provider": {"sim"}, "signer": {"84900000000"}}},
	} {
		f := url.Values{"csrf_token": {clerkCSRF}}
		for k, v := range p.form {
			f[k] = v
		}
		clerk.wantError(p.path, f, http.StatusForbidden, "Bạn không có quyền")
	}
	if err := o.admin.call(ctx, "GET", "/api/v1/users/"+o.ids["chutich"]+"/signing-identity", nil, &ident); err != nil || ident.Signer != "84912000111" {
		t.Errorf("the clerk's post changed the leader's identity: %+v %v", ident, err)
	}
	var users struct{ Items []httpapi.UserJSON }
	if err := o.admin.call(ctx, "GET", "/api/v1/users", nil, &users); err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Items {
		if u.Username == "cua-van-thu" || u.Username == "gia-mao" || strings.Contains(u.Username, "kế") {
			t.Errorf("a refused post created %s", u.Username)
		}
	}
	// Another organization's people do not exist.
	admin.wantError("/admin/users/khong-co/disable", url.Values{"csrf_token": {csrf}}, http.StatusNotFound, "Không thực hiện được")

	// English on request.
	req, _ = http.NewRequest("GET", o.s.URL+"/lang/en", nil)
	admin.do(req)
	wantText(t, "the administration page in English", admin.get("/admin"), "Administration", "People and roles", "Clerk", "Signing leader")
}
