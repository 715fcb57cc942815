package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
)

// The probe: subjects of secret documents in /registers/{id}/entries to
// people who cannot open them. The row stays (its number was taken), the
// subject does not.
func TestRegisterEntriesHideSecretSubjects(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, in := range []struct {
			subject string
			conf    document.Confidentiality
		}{{"Công văn thường CV-THUONG", document.ConfidentialityNormal}, {"Công văn mật BÍ-MẬT-Y", document.ConfidentialitySecret}} {
			code, b := e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan,
				Subject: in.subject, SenderName: "Sở Y tế", Confidentiality: in.conf}, "cv.pdf", samplePDF(t))
			if code != http.StatusCreated {
				t.Fatalf("incoming: %d %s", code, b)
			}
		}
		entries := func(key string) []httpapi.DocumentJSON {
			t.Helper()
			var regs struct{ Items []httpapi.RegisterJSON }
			e.ok(key, "GET", "/api/v1/registers", nil, 200, &regs)
			var all []httpapi.DocumentJSON
			for _, r := range regs.Items {
				var list struct{ Items []httpapi.DocumentJSON }
				e.ok(key, "GET", "/api/v1/registers/"+r.ID+"/entries", nil, 200, &list)
				all = append(all, list.Items...)
			}
			return all
		}
		subjects := func(ds []httpapi.DocumentJSON) string {
			var s []string
			for _, d := range ds {
				s = append(s, d.Subject)
			}
			return strings.Join(s, " | ")
		}
		if got := subjects(entries("A.clerk")); !strings.Contains(got, "BÍ-MẬT-Y") || !strings.Contains(got, "CV-THUONG") {
			t.Errorf("the clerk, who opens secret documents, sees %q", got)
		}
		for _, key := range []string{"A.archivist", "A.admin"} {
			ds := entries(key)
			got := subjects(ds)
			if strings.Contains(got, "BÍ-MẬT-Y") || !strings.Contains(got, "CV-THUONG") || !strings.Contains(got, workflow.RedactedSubject) || len(ds) != 2 {
				t.Errorf("%s sees %d rows: %q; want both rows, the secret one without its subject", key, len(ds), got)
			}
		}
	})
}

// The probe: a unit administrator granted itself the clerk role and then
// read a top-secret draft. Nobody grants themselves a role; a role that
// opens secret documents needs a second administrator; both are audited.
func TestRoleGrantTwoPersonRule(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		admin, drafter := e.users["A.admin"], e.users["A.drafter"]
		grant := func(key, userID string, role document.Role) (int, []byte) {
			return e.call(key, "POST", "/api/v1/users/"+userID+"/roles", httpapi.RoleGrant{UnitID: e.orgA.ID, Role: role})
		}
		for _, role := range []document.Role{document.RoleClerk, document.RoleReviewer} {
			if code, b := grant("A.admin", admin.ID, role); code != http.StatusForbidden {
				t.Errorf("an administrator granting itself %s: %d %s, want 403", role, code, b)
			}
		}
		// A role that does not open secret documents: at once.
		if code, b := grant("A.admin", drafter.ID, document.RoleReviewer); code != http.StatusNoContent {
			t.Errorf("granting reviewer: %d %s", code, b)
		}
		// The clerk role: pending.
		code, b := grant("A.admin", drafter.ID, document.RoleClerk)
		var req httpapi.RoleRequestJSON
		if code != http.StatusAccepted || json.Unmarshal(b, &req) != nil || req.Status != "pending" {
			t.Fatalf("granting clerk: %d %s, want 202 pending", code, b)
		}
		if code, _ := e.call("A.drafter", "GET", "/api/v1/registers", nil); code != http.StatusForbidden {
			t.Errorf("the pending clerk reads registers: %d", code)
		}
		// Neither the asking administrator nor the grantee approves.
		if code, _ := e.call("A.admin", "POST", "/api/v1/role-requests/"+req.ID+"/approve", nil); code != http.StatusForbidden {
			t.Errorf("the asking administrator approving: %d, want 403", code)
		}
		if code, _ := e.call("A.drafter", "POST", "/api/v1/role-requests/"+req.ID+"/approve", nil); code != http.StatusForbidden {
			t.Errorf("the grantee approving: %d, want 403", code)
		}
		// A second administrator sees and approves it.
		e.user("A.admin2", e.orgA, e.orgA.ID, document.RoleAdmin)
		var list struct{ Items []httpapi.RoleRequestJSON }
		e.ok("A.admin2", "GET", "/api/v1/role-requests", nil, 200, &list)
		if len(list.Items) != 1 || list.Items[0].ID != req.ID {
			t.Fatalf("pending requests %+v", list.Items)
		}
		var done httpapi.RoleRequestJSON
		e.ok("A.admin2", "POST", "/api/v1/role-requests/"+req.ID+"/approve", nil, 200, &done)
		if done.Status != "approved" || done.ApprovedBy != e.users["A.admin2"].ID {
			t.Errorf("approved %+v", done)
		}
		if code, _ := e.call("A.drafter", "GET", "/api/v1/registers", nil); code != http.StatusOK {
			t.Errorf("the approved clerk reads registers: %d", code)
		}
		if code, _ := e.call("A.admin2", "POST", "/api/v1/role-requests/"+req.ID+"/approve", nil); code != http.StatusConflict {
			t.Errorf("approving twice: %d, want 409", code)
		}
		// Another organization's administrator cannot approve.
		code, b = grant("A.admin", e.users["A.signer"].ID, document.RoleClerk)
		var req2 httpapi.RoleRequestJSON
		json.Unmarshal(b, &req2)
		if code, _ := e.call("B.admin", "POST", "/api/v1/role-requests/"+req2.ID+"/approve", nil); code != http.StatusNotFound && code != http.StatusForbidden {
			t.Errorf("another organization's administrator approving: %d", code)
		}
		// Audited: the request and the approval.
		audited := map[string]bool{}
		entries, err := db.AuditEntries(context.Background(), 0, 1000)
		e.must(err)
		for _, en := range entries {
			if en.ObjectID == req.ID {
				audited[en.Actor] = true
			}
		}
		if !audited[admin.ID] || !audited[e.users["A.admin2"].ID] {
			t.Errorf("the request and its approval are not both in the audit log: %v", audited)
		}
	})
}
