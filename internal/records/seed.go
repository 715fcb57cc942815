package records

import "vanban/internal/document"

// seedSource is the Source of every seed entry. The seed gathers common
// entries of the schedule of Circular 10/2022/TT-BNV ("thời hạn bảo quản
// tài liệu"); it is a starting point an organization loads and then
// checks and edits against the circular and its own sector's schedule,
// not a legal text.
const seedSource = "TT 10/2022/TT-BNV (mẫu, đối chiếu văn bản gốc)"

// SeedSchedule are the entries LoadSeedSchedule adds.
var SeedSchedule = []document.ScheduleEntry{
	{Code: "TH-01", Title: "Hồ sơ xây dựng, ban hành điều lệ, quy chế, quy định, hướng dẫn những vấn đề chung của cơ quan", Permanent: true, Source: seedSource},
	{Code: "TH-02", Title: "Kế hoạch, báo cáo công tác dài hạn, hằng năm", Permanent: true, Source: seedSource},
	{Code: "TH-03", Title: "Kế hoạch, báo cáo công tác 6 tháng, 9 tháng", Years: 20, Source: seedSource},
	{Code: "TH-04", Title: "Kế hoạch, báo cáo công tác quý, tháng", Years: 5, Source: seedSource},
	{Code: "TH-05", Title: "Hồ sơ hội nghị tổng kết năm, nhiệm kỳ do cơ quan tổ chức", Permanent: true, Source: seedSource},
	{Code: "TH-06", Title: "Hồ sơ hội nghị sơ kết, chuyên đề do cơ quan tổ chức", Years: 10, Source: seedSource},
	{Code: "TH-07", Title: "Quyết định, chỉ thị của lãnh đạo cơ quan về những vấn đề chung (tập lưu văn bản đi)", Permanent: true, Source: seedSource},
	{Code: "TH-08", Title: "Sổ đăng ký văn bản đi, văn bản đến", Years: 20, Source: seedSource},
	{Code: "TH-09", Title: "Văn bản trao đổi về công tác chung", Years: 10, Source: seedSource},
	{Code: "TH-10", Title: "Hồ sơ thi đua, khen thưởng các hình thức khen thưởng cấp nhà nước", Permanent: true, Source: seedSource},
	{Code: "TC-01", Title: "Hồ sơ gốc cán bộ, công chức, viên chức", Years: 70, Source: seedSource},
	{Code: "KT-01", Title: "Báo cáo tài chính, báo cáo quyết toán năm", Permanent: true, Source: seedSource},
	{Code: "KT-02", Title: "Chứng từ kế toán sử dụng trực tiếp để ghi sổ kế toán", Years: 10, Source: seedSource},
	{Code: "TT-01", Title: "Hồ sơ thanh tra, kiểm tra vụ việc nghiêm trọng", Permanent: true, Source: seedSource},
	{Code: "TT-02", Title: "Hồ sơ giải quyết khiếu nại, tố cáo", Years: 15, Source: seedSource},
}
