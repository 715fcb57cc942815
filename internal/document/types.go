package document

import "strings"

// DocumentType is a kind of administrative document (Appendix III of Decree
// 30/2020). The list is data: administrators may add types.
type DocumentType struct {
	Code      string // stable ASCII key, e.g. "quyet-dinh"
	Abbrev    string // in the number symbol, e.g. "QĐ"; "" for công văn
	Name      string // e.g. "Quyết định"
	Normative bool   // legal normative documents are numbered separately
}

// Validate reports an ErrInvalid error for a malformed type.
func (t *DocumentType) Validate() error {
	switch {
	case t.Code == "" || strings.ContainsAny(t.Code, " \t\n/"):
		return Errorf(EINVALID, "document type code %q must be non-empty without spaces or '/'", t.Code)
	case strings.TrimSpace(t.Name) == "":
		return Errorf(EINVALID, "document type %q has no name", t.Code)
	case strings.ContainsAny(t.Abbrev, " \t\n/-"):
		return Errorf(EINVALID, "document type abbreviation %q must not contain spaces, '/' or '-'", t.Abbrev)
	}
	return nil
}

// Well-known type codes used by the workflow.
const (
	TypeCongVan   = "cong-van"
	TypeQuyetDinh = "quyet-dinh"
)

// DefaultTypes is Appendix III of Decree 30/2020. The first migration seeds
// the same list; a store test checks that the two agree.
var DefaultTypes = []DocumentType{
	{Code: "nghi-quyet", Abbrev: "NQ", Name: "Nghị quyết"},
	{Code: "quyet-dinh", Abbrev: "QĐ", Name: "Quyết định"},
	{Code: "chi-thi", Abbrev: "CT", Name: "Chỉ thị"},
	{Code: "quy-che", Abbrev: "QC", Name: "Quy chế"},
	{Code: "quy-dinh", Abbrev: "QyĐ", Name: "Quy định"},
	{Code: "thong-cao", Abbrev: "TC", Name: "Thông cáo"},
	{Code: "thong-bao", Abbrev: "TB", Name: "Thông báo"},
	{Code: "huong-dan", Abbrev: "HD", Name: "Hướng dẫn"},
	{Code: "chuong-trinh", Abbrev: "CTr", Name: "Chương trình"},
	{Code: "ke-hoach", Abbrev: "KH", Name: "Kế hoạch"},
	{Code: "phuong-an", Abbrev: "PA", Name: "Phương án"},
	{Code: "de-an", Abbrev: "ĐA", Name: "Đề án"},
	{Code: "du-an", Abbrev: "DA", Name: "Dự án"},
	{Code: "bao-cao", Abbrev: "BC", Name: "Báo cáo"},
	{Code: "bien-ban", Abbrev: "BB", Name: "Biên bản"},
	{Code: "to-trinh", Abbrev: "TTr", Name: "Tờ trình"},
	{Code: "hop-dong", Abbrev: "HĐ", Name: "Hợp đồng"},
	{Code: "cong-dien", Abbrev: "CĐ", Name: "Công điện"},
	{Code: "ban-ghi-nho", Abbrev: "BGN", Name: "Bản ghi nhớ"},
	{Code: "ban-thoa-thuan", Abbrev: "BTT", Name: "Bản thỏa thuận"},
	{Code: "giay-uy-quyen", Abbrev: "GUQ", Name: "Giấy ủy quyền"},
	{Code: "giay-moi", Abbrev: "GM", Name: "Giấy mời"},
	{Code: "giay-gioi-thieu", Abbrev: "GGT", Name: "Giấy giới thiệu"},
	{Code: "giay-nghi-phep", Abbrev: "GNP", Name: "Giấy nghỉ phép"},
	{Code: "phieu-gui", Abbrev: "PG", Name: "Phiếu gửi"},
	{Code: "phieu-chuyen", Abbrev: "PC", Name: "Phiếu chuyển"},
	{Code: "phieu-bao", Abbrev: "PB", Name: "Phiếu báo"},
	{Code: "cong-van", Abbrev: "", Name: "Công văn"},
	{Code: "thu-cong", Abbrev: "", Name: "Thư công"},
}
