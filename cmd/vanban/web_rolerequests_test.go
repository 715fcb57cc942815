package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/httpapi"
)

// TestWebRoleRequestNeedsSecondAdmin: a role that opens secret documents,
// granted on the administration page to an existing person, waits for a
// second administrator. The administrator who asked sees it listed as his
// own, with nothing to press; the second one approves it on the same page,
// and the person holds the role. Approving twice, or without the form's
// token, is refused.
func TestWebRoleRequestNeedsSecondAdmin(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	// A second administrator: a new account gets its roles at once.
	if err := o.admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: "quantri2", FullName: "Vũ Thị Quản Trị",
		Title: "Quản trị hệ thống", Password: flowPass, Roles: []httpapi.GrantJSON{{UnitID: o.org, Role: document.RoleAdmin}}}, nil); err != nil {
		t.Fatal(err)
	}
	first := o.webSignIn(t, "admin", officeAdminPass)
	second := o.webSignIn(t, "quantri2", flowPass)

	drafter := o.ids["soan"]
	loc := "/admin/users/" + drafter
	_, csrf := formOf(t, first.get(loc), loc+"/grant")
	first.submit(loc+"/grant", url.Values{"csrf_token": {csrf}, "role": {"clerk"}, "unit_id": {o.org}}, loc)
	if holds(t, o, drafter, document.RoleClerk) {
		t.Fatal("the clerk role was granted at once, without a second administrator")
	}

	mine := first.get("/admin")
	wantText(t, "the asking administrator's page", mine, "Vai trò chờ phê duyệt", "Nguyễn Văn Soạn", "Văn thư", "Bạn đã đề nghị")
	if strings.Contains(mine, `/approve"`) {
		t.Error("the administrator who asked is offered to approve his own request")
	}
	page := second.get("/admin")
	wantText(t, "the second administrator's page", page, "Vai trò chờ phê duyệt", "Nguyễn Văn Soạn", "Đề nghị bởi")
	start := strings.Index(page, `action="/admin/role-requests/`)
	if start < 0 {
		t.Fatalf("the second administrator has no approval form:\n%s", text(page))
	}
	action := page[start+len(`action="`):]
	action = action[:strings.Index(action, `"`)]
	form, csrf := formOf(t, page, action)
	if form == "" {
		t.Fatalf("no form for %s", action)
	}
	if resp, _ := second.post(action, url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an approval without the form's token: %d, want 403", resp.StatusCode)
	}
	if holds(t, o, drafter, document.RoleClerk) {
		t.Fatal("a refused approval granted the role")
	}
	second.submit(action, url.Values{"csrf_token": {csrf}}, "/admin#role-requests")
	if !holds(t, o, drafter, document.RoleClerk) {
		t.Fatal("after the second administrator's approval the person does not hold the role")
	}
	wantText(t, "the page after the approval", second.get("/admin"), "Không có vai trò nào chờ phê duyệt.")
	if resp, body := second.post(action, url.Values{"csrf_token": {csrf}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("approving twice: %d, want 409\n%.300s", resp.StatusCode, text(body))
	}
}

// holds reports whether a person holds role anywhere, as the API's
// directory lists it.
func holds(t *testing.T, o *office, userID string, role document.Role) bool {
	t.Helper()
	var list struct {
		Items []struct {
			ID    string              `json:"id"`
			Roles []httpapi.GrantJSON `json:"roles"`
		} `json:"items"`
	}
	if err := o.admin.call(context.Background(), "GET", "/api/v1/users", nil, &list); err != nil {
		t.Fatal(err)
	}
	for _, u := range list.Items {
		for _, g := range u.Roles {
			if u.ID == userID && g.Role == role {
				return true
			}
		}
	}
	return false
}
