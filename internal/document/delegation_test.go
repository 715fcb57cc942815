package document_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"vanban/internal/document"
)

func TestDelegationValidity(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, document.VietnamTime)
	until := from.AddDate(0, 1, 0)
	d := document.Delegation{PrincipalID: "p", DelegateID: "d", Capacity: document.CapacityTUQ, ValidFrom: from, ValidUntil: until, Reference: "15/GUQ-UBND"}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.ActiveAt(from.Add(-time.Second)) || !d.ActiveAt(from) || !d.ActiveAt(until.Add(-time.Second)) || d.ActiveAt(until) {
		t.Error("ActiveAt bounds wrong")
	}
	d.RevokedAt = from.AddDate(0, 0, 10)
	if d.ActiveAt(from.AddDate(0, 0, 11)) || !d.ActiveAt(from.AddDate(0, 0, 9)) {
		t.Error("revocation ignored")
	}
	bad := []func(d *document.Delegation){
		func(d *document.Delegation) { d.ValidUntil = time.Time{} },       // TUQ must be time-limited
		func(d *document.Delegation) { d.Reference = " " },                // and written
		func(d *document.Delegation) { d.Capacity = document.CapacityTM }, // not a personal delegation
		func(d *document.Delegation) { d.DelegateID = "p" },               // to oneself
		func(d *document.Delegation) { d.ValidUntil = from },              // empty interval
		func(d *document.Delegation) { d.ValidFrom = time.Time{} },        // no start
		func(d *document.Delegation) { d.Capacity = "XYZ" },               // unknown
	}
	for i, mutate := range bad {
		c := d
		c.RevokedAt = time.Time{}
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, document.ErrInvalid) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	kt := document.Delegation{PrincipalID: "p", DelegateID: "d", Capacity: document.CapacityKT, ValidFrom: from}
	if err := kt.Validate(); err != nil || !kt.ActiveAt(from.AddDate(5, 0, 0)) {
		t.Errorf("open-ended KT: %v", err)
	}
}

func TestSignatureBlock(t *testing.T) {
	cases := []struct {
		c                                  document.Capacity
		collective, principal, title, name string
		want                               string
	}{
		{document.CapacityInPerson, "", "", "Chủ tịch", "Nguyễn Văn A", "[CHỦ TỊCH Nguyễn Văn A]"},
		{document.CapacityTM, "Ủy ban nhân dân", "", "Chủ tịch", "Nguyễn Văn A", "[TM. ỦY BAN NHÂN DÂN CHỦ TỊCH Nguyễn Văn A]"},
		{document.CapacityKT, "", "Chủ tịch", "Phó Chủ tịch", "Trần Văn B", "[KT. CHỦ TỊCH PHÓ CHỦ TỊCH Trần Văn B]"},
		{document.CapacityTL, "", "Chủ tịch", "Chánh Văn phòng", "Lê Thị C", "[TL. CHỦ TỊCH CHÁNH VĂN PHÒNG Lê Thị C]"},
		{document.CapacityTUQ, "", "Chủ tịch", "Giám đốc Sở Tư pháp", "Phạm D", "[TUQ. CHỦ TỊCH GIÁM ĐỐC SỞ TƯ PHÁP Phạm D]"},
		{document.CapacityQ, "", "Chủ tịch", "Phó Chủ tịch", "Hồ E", "[Q. CHỦ TỊCH Hồ E]"},
	}
	for _, c := range cases {
		b, err := document.NewSignatureBlock(c.c, c.collective, c.principal, c.title, c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.c, err)
		}
		if got := fmt.Sprint(b.Lines()); got != c.want {
			t.Errorf("%s: %s, want %s", c.c, got, c.want)
		}
	}
	for _, c := range []struct {
		c               document.Capacity
		coll, principal string
	}{{document.CapacityTM, "", ""}, {document.CapacityKT, "", ""}, {"ZZ", "", ""}} {
		if _, err := document.NewSignatureBlock(c.c, c.coll, c.principal, "x", "y"); !errors.Is(err, document.ErrInvalid) {
			t.Errorf("%q accepted: %v", c.c, err)
		}
	}
}
