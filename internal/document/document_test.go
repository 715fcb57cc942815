package document_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
)

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", document.Errorf(document.ECONFLICT, "state is %s", "draft"))
	if !errors.Is(err, document.ErrConflict) {
		t.Error("conflict error does not match ErrConflict")
	}
	if errors.Is(err, document.ErrNotFound) {
		t.Error("conflict error matches ErrNotFound")
	}
	if got := document.ErrorCode(err); got != document.ECONFLICT {
		t.Errorf("ErrorCode = %q", got)
	}
	if got := document.ErrorMessage(err); got != "state is draft" {
		t.Errorf("ErrorMessage = %q", got)
	}
	if got := document.ErrorCode(errors.New("disk on fire")); got != document.EINTERNAL {
		t.Errorf("ErrorCode(plain) = %q", got)
	}
	if got := document.ErrorMessage(errors.New("password=hunter2")); got != "internal error" {
		t.Errorf("ErrorMessage leaks internals: %q", got)
	}
}

func TestOutgoingHappyPath(t *testing.T) {
	steps := []struct {
		act  document.Action
		want document.State
	}{
		{document.ActionSubmit, document.StateInReview},
		{document.ActionApprove, document.StateAwaitingSignature},
		{document.ActionStartSigning, document.StateSigning},
		{document.ActionSigningFailed, document.StateAwaitingSignature},
		{document.ActionStartSigning, document.StateSigning},
		{document.ActionSign, document.StateSigned},
		{document.ActionNumber, document.StateNumbered},
		{document.ActionSeal, document.StateSealed},
		{document.ActionIssue, document.StateIssued},
		{document.ActionArchive, document.StateArchived},
	}
	s := document.InitialState(document.Outgoing)
	if s != document.StateDraft {
		t.Fatalf("initial = %q", s)
	}
	for _, st := range steps {
		next, err := document.Next(document.Outgoing, s, st.act)
		if err != nil {
			t.Fatalf("%s from %s: %v", st.act, s, err)
		}
		if next != st.want {
			t.Fatalf("%s from %s = %s, want %s", st.act, s, next, st.want)
		}
		s = next
	}
	if !document.Terminal(document.Outgoing, document.StateArchived) || !document.Terminal(document.Outgoing, document.StateWithdrawn) {
		t.Error("archived and withdrawn must be terminal")
	}
}

func TestIncomingHappyPath(t *testing.T) {
	s := document.InitialState(document.Incoming)
	for _, a := range []document.Action{document.ActionRoute, document.ActionAssign, document.ActionAssign, document.ActionStart, document.ActionComplete, document.ActionArchive} {
		var err error
		if s, err = document.Next(document.Incoming, s, a); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if s != document.StateArchived {
		t.Fatalf("end state %s", s)
	}
}

func TestInvalidTransitionsSayWhy(t *testing.T) {
	cases := []struct {
		dir  document.Direction
		from document.State
		act  document.Action
		want string
	}{
		{document.Outgoing, document.StateDraft, document.ActionNumber, "allowed from: signed"},
		{document.Outgoing, document.StateSigned, document.ActionWithdraw, "allowed from: awaiting_signature, draft, in_review"},
		{document.Outgoing, document.StateIssued, document.ActionIssue, `state "issued"`},
		{document.Outgoing, document.StateDraft, document.ActionRoute, "not an action on outgoing"},
		{document.Incoming, document.StateRegistered, document.ActionComplete, "allowed from: in_progress"},
		{document.Outgoing, document.StateSigning, document.ActionReturn, "allowed from: awaiting_signature, in_review"},
	}
	for _, c := range cases {
		_, err := document.Next(c.dir, c.from, c.act)
		if !errors.Is(err, document.ErrConflict) {
			t.Errorf("%s from %s: err = %v, want conflict", c.act, c.from, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s from %s: %q does not contain %q", c.act, c.from, err, c.want)
		}
	}
}

func TestFormatNumberAndSymbol(t *testing.T) {
	for n, want := range map[int]string{1: "01", 5: "05", 9: "09", 10: "10", 123: "123"} {
		if got := document.FormatNumber(n); got != want {
			t.Errorf("FormatNumber(%d) = %q, want %q", n, got, want)
		}
	}
	qd := document.DocumentType{Code: "quyet-dinh", Abbrev: "QĐ", Name: "Quyết định"}
	cv := document.DocumentType{Code: "cong-van", Name: "Công văn"}
	cases := []struct {
		n         int
		t         document.DocumentType
		org, unit string
		want      string
	}{
		{5, qd, "UBND", "VP", "05/QĐ-UBND"},
		{123, cv, "UBND", "VP", "123/UBND-VP"},
		{7, cv, "UBND", "", "07/UBND"},
	}
	for _, c := range cases {
		got, err := document.Symbol(c.n, c.t, c.org, c.unit)
		if err != nil || got != c.want {
			t.Errorf("Symbol(%d, %s) = %q, %v; want %q", c.n, c.t.Code, got, err, c.want)
		}
	}
	if _, err := document.Symbol(0, qd, "UBND", ""); !errors.Is(err, document.ErrInvalid) {
		t.Errorf("Symbol(0) err = %v", err)
	}
	if _, err := document.Symbol(1, qd, "", ""); !errors.Is(err, document.ErrInvalid) {
		t.Errorf("Symbol without org err = %v", err)
	}
}

func TestPlaceDate(t *testing.T) {
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 2, 5, 9, 0, 0, 0, document.VietnamTime), "Thành Long, ngày 05 tháng 02 năm 2026"},
		{time.Date(2026, 3, 15, 9, 0, 0, 0, document.VietnamTime), "Thành Long, ngày 15 tháng 3 năm 2026"},
		{time.Date(2026, 12, 1, 9, 0, 0, 0, document.VietnamTime), "Thành Long, ngày 01 tháng 12 năm 2026"},
		// 20:00 UTC on 31 Jan is already 1 Feb in Vietnam.
		{time.Date(2026, 1, 31, 20, 0, 0, 0, time.UTC), "Thành Long, ngày 01 tháng 02 năm 2026"},
	}
	for _, c := range cases {
		if got := document.PlaceDate("Thành Long", c.t); got != c.want {
			t.Errorf("PlaceDate(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestCalendar(t *testing.T) {
	cal, err := document.NewCalendar(document.VietnamHolidays2026)
	if err != nil {
		t.Fatal(err)
	}
	vn := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, document.VietnamTime) }
	// Friday 13 Feb 2026 + 1 working day: Tết runs 14–22 Feb, so Monday 23 Feb.
	if got := cal.AddWorkingDays(vn(2, 13, 10), 1); !got.Equal(vn(2, 23, 10)) {
		t.Errorf("AddWorkingDays over Tết = %v", got)
	}
	// Thursday 29 Oct + 3 working days: Fri 30, Mon 2, Tue 3 Nov.
	if got := cal.Deadline(vn(10, 29, 16), 3); !got.Equal(time.Date(2026, 11, 3, 23, 59, 59, 0, document.VietnamTime)) {
		t.Errorf("Deadline = %v", got)
	}
	if cal.IsWorkingDay(vn(9, 2, 9)) || cal.IsWorkingDay(vn(11, 1, 9)) || !cal.IsWorkingDay(vn(11, 2, 9)) {
		t.Error("IsWorkingDay wrong for 2 Sep (holiday), 1 Nov (Sunday) or 2 Nov (Monday)")
	}
	// Saturday, 0 days: the start of Monday.
	if got := cal.AddWorkingDays(vn(10, 31, 15), 0); !got.Equal(vn(11, 2, 0)) {
		t.Errorf("AddWorkingDays(Saturday, 0) = %v", got)
	}
	if n := cal.WorkingDaysBetween(vn(2, 13, 9), vn(2, 24, 9)); n != 2 {
		t.Errorf("WorkingDaysBetween over Tết = %d, want 2", n)
	}
	if n := cal.WorkingDaysBetween(vn(2, 24, 9), vn(2, 13, 9)); n != -2 {
		t.Errorf("WorkingDaysBetween backwards = %d, want -2", n)
	}
	if _, err := document.NewCalendar([]document.Holiday{{Date: "2026-13-01"}}); !errors.Is(err, document.ErrInvalid) {
		t.Errorf("bad date err = %v", err)
	}
	hs, err := document.ParseHolidays("# 2027\n2027-01-01 Tết Dương lịch\n\n2027-04-30 Ngày Chiến thắng\n")
	if err != nil || len(hs) != 2 || hs[1].Name != "Ngày Chiến thắng" {
		t.Errorf("ParseHolidays = %v, %v", hs, err)
	}
	if _, err := document.ParseHolidays("1/1/2027 x"); !errors.Is(err, document.ErrInvalid) {
		t.Errorf("ParseHolidays bad line err = %v", err)
	}
}

func TestGrantsAllowCoverSubtree(t *testing.T) {
	root := document.Unit{ID: "r", Path: "/r/"}
	office := document.Unit{ID: "vp", Path: "/r/vp/"}
	finance := document.Unit{ID: "tc", Path: "/r/tc/"}
	gs := document.Grants{
		{UnitID: "r", UnitPath: root.Path, Role: document.RoleClerk},
		{UnitID: "vp", UnitPath: office.Path, Role: document.RoleDrafter},
	}
	if !gs.Allows(document.RoleClerk, finance) {
		t.Error("org-wide clerk should cover every unit")
	}
	if !gs.Allows(document.RoleDrafter, office) || gs.Allows(document.RoleDrafter, finance) || gs.Allows(document.RoleDrafter, root) {
		t.Error("drafter grant must cover its unit only (and below)")
	}
	if gs.Allows(document.RoleSigner, office) {
		t.Error("no signer grant")
	}
	if !root.Contains(office) || office.Contains(root) {
		t.Error("Contains")
	}
}

func TestSeriesFor(t *testing.T) {
	qd := document.DocumentType{Code: "quyet-dinh", Abbrev: "QĐ"}
	nq := document.DocumentType{Code: "nghi-quyet", Abbrev: "NQ", Normative: true}
	cases := []struct {
		scheme document.NumberingScheme
		dir    document.Direction
		t      document.DocumentType
		c      document.Confidentiality
		want   string
	}{
		{document.NumberingShared, document.Outgoing, qd, document.ConfidentialityNormal, document.SeriesGeneral},
		{document.NumberingPerType, document.Outgoing, qd, document.ConfidentialityNormal, "type:quyet-dinh"},
		{document.NumberingShared, document.Outgoing, qd, document.ConfidentialityTop, document.SeriesSecret},
		{document.NumberingShared, document.Outgoing, nq, document.ConfidentialityNormal, document.SeriesNormative},
		{document.NumberingShared, document.Incoming, qd, document.ConfidentialityNormal, document.SeriesIncoming},
		{document.NumberingShared, document.Incoming, qd, document.ConfidentialitySecret, document.SeriesSecret},
	}
	for _, c := range cases {
		if got := document.SeriesFor(c.scheme, c.dir, c.t, c.c); got != c.want {
			t.Errorf("SeriesFor(%v) = %q, want %q", c, got, c.want)
		}
	}
	if got := document.RegisterName(document.Outgoing, 2026, document.SeriesSecret); got != "Sổ văn bản đi mật năm 2026" {
		t.Errorf("RegisterName = %q", got)
	}
}

func TestValidate(t *testing.T) {
	good := document.Document{
		OrgID: "o", UnitID: "u", Direction: document.Outgoing, TypeCode: "cong-van", Subject: "Về việc X",
		Urgency: document.UrgencyNormal, Confidentiality: document.ConfidentialityNormal, CreatedBy: "me",
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(d *document.Document){
		func(d *document.Document) { d.Direction = "sideways" },
		func(d *document.Document) { d.Subject = "  " },
		func(d *document.Document) { d.Urgency = "very" },
		func(d *document.Document) { d.Confidentiality = "secret" },
		func(d *document.Document) { d.TypeCode = "" },
		func(d *document.Document) { d.Subject = strings.Repeat("x", 2001) },
	}
	for i, mutate := range bad {
		d := good
		mutate(&d)
		if err := d.Validate(); !errors.Is(err, document.ErrInvalid) {
			t.Errorf("case %d: err = %v, want invalid", i, err)
		}
	}
	v := document.Version{Kind: document.VersionDraft, BlobKey: "k", SHA256: strings.Repeat("ab", 32), Size: 10, CreatedBy: "me"}
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	v.SHA256 = strings.Repeat("AB", 32)
	if err := v.Validate(); !errors.Is(err, document.ErrInvalid) {
		t.Errorf("uppercase hash accepted: %v", err)
	}
	o := document.Organization{Name: "UBND xã", Abbrev: "UB-ND", Numbering: document.NumberingShared}
	if err := o.Validate(); !errors.Is(err, document.ErrInvalid) {
		t.Errorf("abbrev with '-' accepted: %v", err)
	}
	if !document.RoleClerk.Valid() || document.Role("king").Valid() {
		t.Error("Role.Valid")
	}
	if !document.UrgencyFlash.Urgent() || document.UrgencyNormal.Urgent() || document.UrgencyVery.Label() != "Thượng khẩn" {
		t.Error("urgency helpers")
	}
	if !document.ConfidentialityMax.Secret() || document.ConfidentialityNormal.Secret() || document.ConfidentialityTop.Label() != "Tối mật" {
		t.Error("confidentiality helpers")
	}
}
