package document

import (
	"testing"
	"time"
)

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"0912345678":      "84912345678",
		"0912 345 678":    "84912345678",
		"+84 912.345.678": "84912345678",
		"84912345678":     "84912345678",
		"0084912345678":   "84912345678",
		"(091) 234-5678":  "84912345678",
	} {
		got, err := NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "12345", "09123abc", "cred-leader-1", "+84+912345678"} {
		if got, err := NormalizePhone(bad); ErrorCode(err) != EINVALID {
			t.Errorf("NormalizePhone(%q) = %q, %v; want EINVALID", bad, got, err)
		}
	}
}

func TestIsPhoneNumber(t *testing.T) {
	if !IsPhoneNumber("0912 345 678") || !IsPhoneNumber("+84912345678") {
		t.Error("phone numbers not recognised")
	}
	if IsPhoneNumber("cred-01") || IsPhoneNumber("") || IsPhoneNumber("1234") {
		t.Error("non-numbers taken for phone numbers")
	}
}

func TestParseDayAndEndOfDay(t *testing.T) {
	for _, in := range []string{"15/12/2026", "15/12/2026 ", "2026-12-15"} {
		d, err := ParseDay(in)
		if err != nil {
			t.Fatalf("ParseDay(%q): %v", in, err)
		}
		if got := EndOfDay(d).Format("2006-01-02 15:04:05 -07:00"); got != "2026-12-15 23:59:59 +07:00" {
			t.Errorf("EndOfDay(%q) = %s", in, got)
		}
		if got := NextDay(d); !got.Equal(time.Date(2026, 12, 16, 0, 0, 0, 0, VietnamTime)) {
			t.Errorf("NextDay(%q) = %s", in, got)
		}
	}
	if _, err := ParseDay("31/02/2026"); ErrorCode(err) != EINVALID {
		t.Errorf("31/02 parsed: %v", err)
	}
}

func TestValidUsername(t *testing.T) {
	for _, ok := range []string{"admin", "nguyen.van.a", "a@b.vn", "x-1_2"} {
		if !ValidUsername(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", " a", "a b", "nguyễn", ".dot", string(make([]byte, 65))} {
		if ValidUsername(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	u := User{OrgID: "o", Username: "nguyễn", FullName: "N"}
	if err := u.Validate(); ErrorField(err) != "username" {
		t.Errorf("Validate: %v (field %q)", err, ErrorField(err))
	}
}

func TestCleanFileName(t *testing.T) {
	for in, want := range map[string]string{
		"hoadon\u202efdp.exe":       "hoadonfdp.exe",
		"../../etc/passwd":          "passwd",
		`C:\Users\a\Phụ lục 1.docx`: "Phụ lục 1.docx",
		"a\u2066b\u2069c\u200f.pdf": "abc.pdf",
		"tab\there\n.pdf":           "tabhere.pdf",
	} {
		if got := CleanFileName(in); got != want {
			t.Errorf("CleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
