package document

import (
	"strconv"
	"time"
)

// VietnamTime is UTC+7, the time zone of dates printed on documents. A fixed
// zone keeps the domain free of the tz database (Vietnam has no DST).
var VietnamTime = time.FixedZone("ICT", 7*60*60)

func itoa(n int) string { return strconv.Itoa(n) }

// FormatNumber writes a register number as printed: numbers below 10 carry a
// leading zero ("05"), others are plain ("123").
func FormatNumber(n int) string {
	if n >= 0 && n < 10 {
		return "0" + itoa(n)
	}
	return itoa(n)
}

// Symbol builds the number and symbol (số, ký hiệu) of an outgoing document:
// "05/QĐ-UBND" for a type with an abbreviation, "123/UBND-VP" for công văn
// (organization, then drafting unit).
func Symbol(number int, t DocumentType, orgAbbrev, unitAbbrev string) (string, error) {
	if number <= 0 {
		return "", Errorf(EINVALID, "document number %d must be positive", number)
	}
	if orgAbbrev == "" {
		return "", Errorf(EINVALID, "organization abbreviation is required for a symbol")
	}
	if t.Abbrev != "" {
		return FormatNumber(number) + "/" + t.Abbrev + "-" + orgAbbrev, nil
	}
	if unitAbbrev == "" || unitAbbrev == orgAbbrev {
		// A công văn drafted by the organization as a whole has no unit part.
		return FormatNumber(number) + "/" + orgAbbrev, nil
	}
	return FormatNumber(number) + "/" + orgAbbrev + "-" + unitAbbrev, nil
}

// PlaceDate writes the place-date line, e.g. "Thành Long, ngày 05 tháng 02
// năm 2026". Days below 10 and months below 3 carry a leading zero (Decree
// 30/2020, Appendix I). t is shown in Vietnam time.
func PlaceDate(place string, t time.Time) string {
	t = t.In(VietnamTime)
	day := itoa(t.Day())
	if t.Day() < 10 {
		day = "0" + day
	}
	month := itoa(int(t.Month()))
	if t.Month() < 3 {
		month = "0" + month
	}
	line := "ngày " + day + " tháng " + month + " năm " + itoa(t.Year())
	if place == "" {
		return line
	}
	return place + ", " + line
}
