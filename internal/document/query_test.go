package document

import "testing"

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Quyết định":              "quyet dinh",
		"ĐỀ ÁN  phát triển":       "de an phat trien",
		"Ủy ban nhân dân tỉnh":    "uy ban nhan dan tinh",
		"05/QĐ-UBND":              "05/qd-ubnd",
		"Thượng khẩn, Hỏa tốc":    "thuong khan, hoa toc",
		"already plain":           "already plain",
		"Nguyễn Thị Hồng Nhung":   "nguyen thi hong nhung",
		"  tabs\tand\nnewlines  ": "tabs and newlines",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearchText(t *testing.T) {
	d := &Document{Subject: "Về việc phê duyệt Kế hoạch", Symbol: "12/KH-UBND", SenderName: "Sở Y tế"}
	if got, want := SearchText(d), "ve viec phe duyet ke hoach 12/kh-ubnd so y te"; got != want {
		t.Errorf("SearchText = %q, want %q", got, want)
	}
}

func TestViewerOf(t *testing.T) {
	v := ViewerOf("u1", Grants{{Role: RoleClerk, UnitPath: "/a/"}, {Role: RoleDrafter, UnitPath: "/a/b/"}, {Role: RoleClerk, UnitPath: "/c/"}})
	if v.UserID != "u1" || len(v.ClerkPaths) != 2 || v.ClerkPaths[0] != "/a/" || v.ClerkPaths[1] != "/c/" {
		t.Errorf("ViewerOf = %+v", v)
	}
}
