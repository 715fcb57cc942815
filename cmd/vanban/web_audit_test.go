package main

import (
	"context"
	"net/url"
	"testing"

	"vanban/internal/audit"
	"vanban/internal/store"
)

// The administration pages write the audit log as the API does: a unit
// created through the form is an entry naming the administrator and the
// new unit, and the chain still verifies.
func TestWebAdministrationIsAudited(t *testing.T) {
	o := newOffice(t)
	admin := o.webSignIn(t, "admin", officeAdminPass)
	_, csrf := formOf(t, admin.get("/admin"), "/admin/units")
	admin.submit("/admin/units", url.Values{"csrf_token": {csrf}, "parent_id": {o.unit.ID}, "abbrev": {"TKT"},
		"name": {"Tổ Kiểm tra"}}, "/admin")

	// The server holds the SQLite file open; a second connection reads it.
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+o.dataDir+"/vanban.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.AuditEntries(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var found *audit.Entry
	for i := range entries {
		if entries[i].Action == "web.admin.units" {
			found = &entries[i]
		}
	}
	if found == nil {
		t.Fatal("no audit entry for the unit created through the page")
	}
	if found.Actor != o.admin.user.ID || found.ObjectID == "" || found.ObjectID == o.unit.ID {
		t.Errorf("entry %+v: want the administrator and the new unit", *found)
	}
	r, err := audit.Verify(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Errorf("audit chain: %+v", r)
	}
}
