package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store/pgtest"
)

// Administration through the API is in the hash-chained audit log: who
// created whom, granted what, set which password (never the password
// itself), and a refused request leaves no entry.
func TestAdministrationIsAudited(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	ctx := context.Background()
	before, err := e.db.AuditEntries(ctx, 0, 10000)
	e.must(err)
	var u httpapi.UserJSON
	e.ok("A.admin", "POST", "/api/v1/users", httpapi.UserCreate{Username: "moi", FullName: "Người Mới", Password: "mat-khau-bi-mat-123"}, 201, &u)
	e.ok("A.admin", "POST", "/api/v1/users/"+u.ID+"/roles", httpapi.RoleGrant{UnitID: e.office.ID, Role: document.RoleDrafter}, 204, nil)
	e.ok("A.admin", "PUT", "/api/v1/users/"+u.ID+"/password", httpapi.PasswordSet{Password: "mat-khau-moi-456"}, 204, nil)
	if code, _ := e.call("A.clerk", "PUT", "/api/v1/users/"+u.ID+"/disabled", httpapi.UserDisabled{Disabled: true}); code != http.StatusForbidden {
		t.Fatalf("a clerk disables a user: %d", code)
	}
	after, err := e.db.AuditEntries(ctx, 0, 10000)
	e.must(err)
	added := after[len(before):]
	want := []string{"api.post_users", "api.post_users_roles", "api.put_users_password"}
	if len(added) != len(want) {
		t.Fatalf("%d audit entries added, want %d: %+v", len(added), len(want), added)
	}
	for i, en := range added {
		if en.Action != want[i] || en.Actor != e.users["A.admin"].ID || en.ObjectID != u.ID || en.ClientAddr == "" {
			t.Errorf("entry %d: %+v, want %s by the admin on %s", i, en, want[i], u.ID)
		}
		var change map[string]any
		e.must(json.Unmarshal(en.Change, &change))
		if s := string(en.Change); strings.Contains(s, "mat-khau") {
			t.Errorf("entry %d records a password: %s", i, s)
		}
	}
	r, err := audit.Verify(ctx, e.db)
	e.must(err)
	if !r.OK {
		t.Errorf("audit chain: %+v", r)
	}
}
