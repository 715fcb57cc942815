package records_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/records"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	_ records.Store         = (*store.DB)(nil)
	_ records.ScheduleStore = (*store.DB)(nil)
)

var ctx = context.Background()

type office struct {
	org                        *document.Organization
	unit                       *document.Unit
	admin, archivist, employee *document.User
}

func newOffice(t *testing.T, db *store.DB, name string) *office {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	o := &office{org: &document.Organization{Abbrev: "UBND" + name, Name: "UBND xã " + name, Place: "Xã " + name}}
	must(db.CreateOrganization(ctx, o.org))
	o.unit = &document.Unit{ParentID: o.org.ID, Abbrev: "VP", Name: "Văn phòng"}
	must(db.CreateUnit(ctx, o.unit))
	user := func(n, unit string, role document.Role) *document.User {
		u := &document.User{OrgID: o.org.ID, Username: n + "." + o.org.ID[:8], FullName: n + " " + name, Title: "Chức vụ"}
		must(db.CreateUser(ctx, u))
		must(db.GrantRole(ctx, u.ID, unit, role))
		return u
	}
	o.admin = user("admin", o.org.ID, document.RoleAdmin)
	o.archivist = user("archivist", o.org.ID, document.RoleArchivist)
	o.employee = user("employee", o.unit.ID, document.RoleDrafter)
	return o
}

func as(u *document.User) workflow.Actor {
	return workflow.Actor{UserID: u.ID, ClientAddr: "192.0.2.7"}
}

// TestScheduleEdits: the archivist adds, changes and removes entries
// against the version they saw; each change is audited with what the
// entry was; a stale edit, a duplicate addition, bad values and other
// people are refused with typed errors; files keep the period they took.
func TestScheduleEdits(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		o := newOffice(t, db, "A")
		other := newOffice(t, db, "B")
		svc := records.New(db, nil, nil, nil, nil)
		code := func(err error) string { return document.ErrorCode(err) }

		n, err := svc.LoadSeedSchedule(ctx, as(o.archivist))
		if err != nil || n != len(records.SeedSchedule) {
			t.Fatalf("seed: %d %v", n, err)
		}
		if n, err := svc.LoadSeedSchedule(ctx, as(o.archivist)); err != nil || n != 0 {
			t.Fatalf("seed again: %d %v", n, err)
		}
		v, err := svc.ScheduleOverview(ctx, as(o.employee))
		if err != nil || len(v.Lines) != len(records.SeedSchedule) || v.Editable {
			t.Fatalf("employee's view: %d lines, editable %v, %v", len(v.Lines), v.Editable, err)
		}
		if v, err := svc.ScheduleOverview(ctx, as(other.archivist)); err != nil || len(v.Lines) != 0 || !v.Editable {
			t.Fatalf("another organization's view: %+v %v", v, err)
		}

		// A new entry, and a file that takes its period.
		add := records.ScheduleEdit{Code: "VX-01", Title: "  Hồ sơ văn hoá, xã hội  ", Years: 10, Source: "Quyết định 12/QĐ-UBND", IfMatch: records.ScheduleAbsent}
		l, err := svc.SaveScheduleEntry(ctx, as(o.archivist), add)
		if err != nil || l.Entry.Title != "Hồ sơ văn hoá, xã hội" || l.Version == "" || l.Files != 0 {
			t.Fatalf("add: %+v %v", l, err)
		}
		if _, err := svc.SaveScheduleEntry(ctx, as(o.admin), add); code(err) != document.ECONFLICT || document.ErrorField(err) != "code" {
			t.Errorf("the same code added twice: %v", err)
		}
		f := &document.RecordFile{OrgID: o.org.ID, Year: 2026, Title: "Hồ sơ lễ hội", UnitID: o.unit.ID, ResponsibleID: o.archivist.ID,
			ScheduleCode: "VX-01", Years: 10, StartDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), CreatedBy: o.archivist.ID}
		if err := db.CreateFile(ctx, f); err != nil {
			t.Fatal(err)
		}

		// Two archivists open it; the first saves; the second's save is stale.
		seen, err := svc.ScheduleEntryDetail(ctx, as(o.admin), "VX-01")
		if err != nil || seen.Files != 1 || !seen.Editable || len(seen.History) != 1 {
			t.Fatalf("detail: %+v %v", seen, err)
		}
		ch := records.ScheduleEdit{Code: "VX-01", Title: "Hồ sơ văn hoá, xã hội", Permanent: true, Years: 10, Source: "Quyết định 12/QĐ-UBND", IfMatch: seen.Version}
		l, err = svc.SaveScheduleEntry(ctx, as(o.archivist), ch)
		if err != nil || !l.Entry.Permanent || l.Entry.Years != 0 || l.Version == seen.Version || l.Files != 1 {
			t.Fatalf("change: %+v %v", l, err)
		}
		ch.Permanent, ch.Years = false, 20
		if _, err := svc.SaveScheduleEntry(ctx, as(o.admin), ch); code(err) != document.ECONFLICT || document.ErrorField(err) != "version" {
			t.Errorf("stale edit: %v", err)
		}
		// Saving what is there writes nothing.
		same := records.ScheduleEdit{Code: "VX-01", Title: "Hồ sơ văn hoá, xã hội", Permanent: true, Source: "Quyết định 12/QĐ-UBND", IfMatch: l.Version}
		if _, err := svc.SaveScheduleEntry(ctx, as(o.admin), same); err != nil {
			t.Fatal(err)
		}
		got, err := db.File(ctx, f.ID)
		if err != nil || got.Permanent || got.Years != 10 {
			t.Errorf("the file keeps its period: %+v %v", got, err)
		}

		for _, tc := range []struct {
			in    records.ScheduleEdit
			field string
		}{
			{records.ScheduleEdit{Code: "", Title: "x", Years: 5}, "code"},
			{records.ScheduleEdit{Code: "TH 01", Title: "x", Years: 5}, "code"},
			{records.ScheduleEdit{Code: "../x", Title: "x", Years: 5}, "code"},
			{records.ScheduleEdit{Code: strings.Repeat("A", 41), Title: "x", Years: 5}, "code"},
			{records.ScheduleEdit{Code: "X-1", Title: "  ", Years: 5}, "title"},
			{records.ScheduleEdit{Code: "X-1", Title: strings.Repeat("á", 600), Years: 5}, "title"},
			{records.ScheduleEdit{Code: "X-1", Title: "x", Years: 0}, "years"},
			{records.ScheduleEdit{Code: "X-1", Title: "x", Years: 101}, "years"},
			{records.ScheduleEdit{Code: "X-1", Title: "x", Years: -3}, "years"},
			{records.ScheduleEdit{Code: "X-1", Title: "x", Years: 5, Source: strings.Repeat("s", 301)}, "source"},
		} {
			if _, err := svc.SaveScheduleEntry(ctx, as(o.archivist), tc.in); code(err) != document.EINVALID || document.ErrorField(err) != tc.field {
				t.Errorf("%+v: %v (field %q)", tc.in, err, document.ErrorField(err))
			}
		}
		if _, err := svc.SaveScheduleEntry(ctx, as(o.employee), add); code(err) != document.EFORBIDDEN {
			t.Errorf("an employee edits: %v", err)
		}
		if err := svc.RemoveScheduleEntry(ctx, as(o.employee), "VX-01", ""); code(err) != document.EFORBIDDEN {
			t.Errorf("an employee removes: %v", err)
		}
		if _, err := svc.ScheduleEntryDetail(ctx, as(other.archivist), "VX-01"); code(err) != document.ENOTFOUND {
			t.Errorf("another organization's entry: %v", err)
		}
		if err := svc.RemoveScheduleEntry(ctx, as(other.archivist), "VX-01", ""); code(err) != document.ENOTFOUND {
			t.Errorf("another organization removes: %v", err)
		}

		// Removal against a stale version, then the current one.
		if err := svc.RemoveScheduleEntry(ctx, as(o.admin), "VX-01", seen.Version); code(err) != document.ECONFLICT {
			t.Errorf("stale removal: %v", err)
		}
		if err := svc.RemoveScheduleEntry(ctx, as(o.admin), "VX-01", l.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ScheduleEntryDetail(ctx, as(o.admin), "VX-01"); code(err) != document.ENOTFOUND {
			t.Errorf("removed entry: %v", err)
		}
		if err := svc.RemoveScheduleEntry(ctx, as(o.admin), "VX-01", ""); code(err) != document.ENOTFOUND {
			t.Errorf("removed twice: %v", err)
		}

		// The audit log has add, change and removal, with before and after.
		es, err := db.AuditEntriesFor(ctx, records.AuditObjectSchedule, o.org.ID+"/VX-01")
		if err != nil || len(es) != 3 {
			t.Fatalf("audit: %d entries %v", len(es), err)
		}
		var acts []string
		for _, e := range es {
			acts = append(acts, e.Actor[:4]+" "+e.Action)
			if e.ClientAddr != "192.0.2.7" {
				t.Errorf("entry %d from %q", e.Seq, e.ClientAddr)
			}
		}
		var mid struct {
			Before, After struct {
				Permanent bool
				Years     int
			}
		}
		json.Unmarshal(es[1].Change, &mid)
		if es[0].Action != records.AuditSchedulePut || es[1].Actor != o.archivist.ID || es[2].Action != records.AuditScheduleDelete ||
			mid.Before.Years != 10 || !mid.After.Permanent {
			t.Errorf("audit entries: %v %s", acts, es[1].Change)
		}
		// The seed was audited too, one entry per code.
		if es, err := db.AuditEntriesFor(ctx, records.AuditObjectSchedule, o.org.ID+"/TH-01"); err != nil || len(es) != 1 || es[0].Actor != o.archivist.ID {
			t.Errorf("seed audit: %+v %v", es, err)
		}
	})
}

// TestScheduleHistory: the entry page's history names the people, newest
// change first.
func TestScheduleHistory(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		o := newOffice(t, db, "C")
		svc := records.New(db, nil, nil, nil, nil)
		l, err := svc.SaveScheduleEntry(ctx, as(o.archivist), records.ScheduleEdit{Code: "TC-09", Title: "Hồ sơ tuyển dụng", Years: 70, IfMatch: records.ScheduleAbsent})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SaveScheduleEntry(ctx, as(o.admin), records.ScheduleEdit{Code: "TC-09", Title: "Hồ sơ tuyển dụng công chức", Years: 70, IfMatch: l.Version}); err != nil {
			t.Fatal(err)
		}
		v, err := svc.ScheduleEntryDetail(ctx, as(o.employee), "TC-09")
		if err != nil || v.Editable || len(v.History) != 2 {
			t.Fatalf("detail: %+v %v", v, err)
		}
		h := v.History
		if h[0].Actor != o.admin.FullName || h[0].Before.Title != "Hồ sơ tuyển dụng" || h[0].After.Title != "Hồ sơ tuyển dụng công chức" ||
			h[1].Actor != o.archivist.FullName || h[1].Before != nil || h[1].After.Years != 70 {
			t.Errorf("history: %+v / %+v", h[0], h[1])
		}
	})
}
