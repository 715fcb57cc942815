package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/records"
)

// The retention schedule's pages (bảng thời hạn bảo quản): everyone of
// the organization reads it; its archivists and administrators add,
// change and remove entries. They call the same records use cases as the
// API's /records/schedule (records.Service), which check the role, compare
// each edit against the version the editor saw and audit it.

func retentionPages() []route {
	return []route{
		{Method: "GET", Path: "/records/schedule", Handler: (*Server).scheduleList},
		{Method: "POST", Path: "/records/schedule/new", Handler: (*Server).scheduleAdd},
		{Method: "GET", Path: "/records/schedule/e/:code", Handler: (*Server).scheduleEntry},
		{Method: "POST", Path: "/records/schedule/e/:code", Handler: (*Server).scheduleSave},
		{Method: "POST", Path: "/records/schedule/e/:code/delete", Handler: (*Server).scheduleDelete},
	}
}

// scheduleForm is what an entry form shows again after a refusal.
type scheduleForm struct {
	Code, Title, Source, Years string
	Permanent                  bool
}

type scheduleListView struct {
	V     *records.ScheduleView
	Lines []records.ScheduleLine // those matching Q
	Q     string
	Form  scheduleForm
	// Error and Field: a refused addition, and the field it is about.
	Error, Field string
}

type scheduleEntryView struct {
	V            *records.ScheduleEntryView
	Form         scheduleForm
	Error, Field string
	// Stale: the entry changed since the form was opened; the page shows
	// the current entry with what the editor typed.
	Stale bool
}

// formEdit reads an entry form. A years value that is not a number is
// refused here, with the field.
func formEdit(c *gin.Context, code string) (records.ScheduleEdit, scheduleForm, error) {
	f := scheduleForm{Code: strings.TrimSpace(code), Title: c.PostForm("title"), Source: c.PostForm("source"),
		Years: strings.TrimSpace(c.PostForm("years")), Permanent: c.PostForm("period") == "permanent"}
	in := records.ScheduleEdit{Code: f.Code, Title: f.Title, Source: f.Source, Permanent: f.Permanent, IfMatch: c.PostForm("version")}
	if !f.Permanent {
		n, err := strconv.Atoi(f.Years)
		if err != nil {
			return in, f, document.FieldErrorf("years", document.EINVALID, "the retention period is a number of years (1 to %d) or permanent", records.MaxScheduleYears)
		}
		in.Years = n
	}
	return in, f, nil
}

func (s *Server) scheduleList(c *gin.Context) {
	s.scheduleListPage(c, http.StatusOK, &scheduleListView{})
}

func (s *Server) scheduleListPage(c *gin.Context, status int, v *scheduleListView) {
	if !s.recordsAvailable(c) {
		return
	}
	var err error
	if v.V, err = s.opt.RecordFiles.ScheduleOverview(c.Request.Context(), actor(c)); err != nil {
		s.fail(c, err)
		return
	}
	v.Q = strings.TrimSpace(c.Query("q"))
	q := document.Fold(v.Q)
	for _, l := range v.V.Lines {
		if q == "" || strings.Contains(document.Fold(l.Entry.Code+" "+l.Entry.Title+" "+l.Entry.Source), q) {
			v.Lines = append(v.Lines, l)
		}
	}
	s.render(c, status, "retention", v)
}

func (s *Server) scheduleAdd(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	in, form, err := formEdit(c, c.PostForm("code"))
	in.IfMatch = records.ScheduleAbsent
	if err == nil {
		_, err = s.opt.RecordFiles.SaveScheduleEntry(c.Request.Context(), actor(c), in)
	}
	if err != nil {
		status, msg, detail := s.failure(c, err)
		if status == http.StatusForbidden || status >= 500 {
			s.fail(c, err)
			return
		}
		s.scheduleListPage(c, status, &scheduleListView{Form: form, Error: strings.TrimSpace(msg + " " + detail), Field: document.ErrorField(err)})
		return
	}
	s.flash(c, "flash.schedule.added")
	c.Redirect(http.StatusSeeOther, "/records/schedule/e/"+in.Code)
}

func (s *Server) scheduleEntry(c *gin.Context) {
	s.scheduleEntryPage(c, http.StatusOK, &scheduleEntryView{})
}

func (s *Server) scheduleEntryPage(c *gin.Context, status int, v *scheduleEntryView) {
	if !s.recordsAvailable(c) {
		return
	}
	var err error
	if v.V, err = s.opt.RecordFiles.ScheduleEntryDetail(c.Request.Context(), actor(c), c.Param("code")); err != nil {
		s.fail(c, err)
		return
	}
	if v.Form == (scheduleForm{}) {
		e := v.V.Entry
		v.Form = scheduleForm{Code: e.Code, Title: e.Title, Source: e.Source, Permanent: e.Permanent}
		if !e.Permanent {
			v.Form.Years = strconv.Itoa(e.Years)
		}
	}
	s.render(c, status, "retention_entry", v)
}

func (s *Server) scheduleSave(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	in, form, err := formEdit(c, c.Param("code"))
	if err == nil {
		if in.IfMatch == "" || in.IfMatch == records.ScheduleAbsent {
			in.IfMatch = records.ScheduleExists
		}
		_, err = s.opt.RecordFiles.SaveScheduleEntry(c.Request.Context(), actor(c), in)
	}
	if err != nil {
		s.scheduleRefused(c, err, form)
		return
	}
	s.flash(c, "flash.schedule.saved")
	c.Redirect(http.StatusSeeOther, "/records/schedule/e/"+in.Code)
}

func (s *Server) scheduleDelete(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	version := c.PostForm("version")
	if version == "" || version == records.ScheduleAbsent {
		version = records.ScheduleExists
	}
	if c.PostForm("confirm") != "yes" {
		s.scheduleRefused(c, document.FieldErrorf("confirm", document.EINVALID, "tick the box to confirm the removal"), scheduleForm{})
		return
	}
	if err := s.opt.RecordFiles.RemoveScheduleEntry(c.Request.Context(), actor(c), c.Param("code"), version); err != nil {
		s.scheduleRefused(c, err, scheduleForm{})
		return
	}
	s.flash(c, "flash.schedule.removed")
	c.Redirect(http.StatusSeeOther, "/records/schedule")
}

// scheduleRefused shows the entry page again with the refusal: 4xx with
// the message beside the field; a stale edit shows the current entry.
func (s *Server) scheduleRefused(c *gin.Context, err error, form scheduleForm) {
	status, msg, detail := s.failure(c, err)
	if status == http.StatusForbidden || status == http.StatusNotFound || status >= 500 {
		s.fail(c, err)
		return
	}
	v := &scheduleEntryView{Form: form, Error: strings.TrimSpace(msg + " " + detail), Field: document.ErrorField(err)}
	v.Stale = v.Field == "version"
	s.scheduleEntryPage(c, status, v)
}

// The schedule pages' texts, added to the catalogue here so the shared
// i18n table stays as it is.
func init() {
	pageTextsByLanguage(func() map[string]map[string]string {
		return map[string]map[string]string{
			"vi": {
				"sch.title":              "Bảng thời hạn bảo quản",
				"sch.intro":              "Thời hạn bảo quản hồ sơ, tài liệu theo Thông tư 10/2022/TT-BNV. Hồ sơ lập theo một mục lấy thời hạn của mục đó khi lập; sửa bảng không đổi thời hạn của hồ sơ đã lập.",
				"sch.readonly":           "Chỉ văn thư lưu trữ hoặc quản trị viên của cơ quan được sửa bảng này.",
				"sch.search":             "Tìm mục",
				"sch.code":               "Mã mục",
				"sch.code.help":          "Chữ, số, dấu chấm, gạch ngang, ví dụ TH-01.",
				"sch.name":               "Tên nhóm hồ sơ, tài liệu",
				"sch.period":             "Thời hạn bảo quản",
				"sch.permanent":          "Vĩnh viễn",
				"sch.fixed":              "Có thời hạn",
				"sch.years":              "Số năm",
				"sch.years.unit":         "năm",
				"sch.years.help":         "Từ 1 đến 100 năm; để trống khi chọn Vĩnh viễn.",
				"sch.source":             "Căn cứ",
				"sch.files":              "hồ sơ dùng mục này",
				"sch.none":               "Bảng chưa có mục nào.",
				"sch.nomatch":            "Không có mục nào khớp.",
				"sch.add":                "Thêm mục",
				"sch.add.submit":         "Thêm vào bảng",
				"sch.edit":               "Sửa mục",
				"sch.save":               "Lưu thay đổi",
				"sch.delete":             "Xoá mục khỏi bảng",
				"sch.delete.help":        "Hồ sơ đã lập theo mục này giữ nguyên thời hạn đã lấy.",
				"sch.confirm":            "Tôi xác nhận xoá mục này",
				"sch.history":            "Lịch sử thay đổi",
				"sch.history.none":       "Chưa có thay đổi nào được ghi.",
				"sch.created":            "Thêm mục",
				"sch.changed":            "Sửa mục",
				"sch.removed":            "Xoá mục",
				"sch.stale":              "Mục này vừa được người khác sửa. Dưới đây là nội dung hiện tại; hãy xem lại rồi lưu lần nữa.",
				"sch.back":               "Bảng thời hạn bảo quản",
				"sch.link":               "Bảng thời hạn bảo quản",
				"flash.schedule.added":   "Đã thêm mục vào bảng thời hạn bảo quản.",
				"flash.schedule.saved":   "Đã lưu mục.",
				"flash.schedule.removed": "Đã xoá mục khỏi bảng.",
			},
			"en": {
				"sch.title":              "Retention schedule",
				"sch.intro":              "Retention periods of files and records (Circular 10/2022/TT-BNV). A file made under an entry takes its period when it is made; editing the schedule does not change existing files.",
				"sch.readonly":           "Only the organization's archivists and administrators may edit the schedule.",
				"sch.search":             "Find entries",
				"sch.code":               "Code",
				"sch.code.help":          "Letters, digits, dots and hyphens, e.g. TH-01.",
				"sch.name":               "Group of files and records",
				"sch.period":             "Retention period",
				"sch.permanent":          "Permanent",
				"sch.fixed":              "Fixed term",
				"sch.years":              "Years",
				"sch.years.unit":         "years",
				"sch.years.help":         "1 to 100 years; leave empty for permanent.",
				"sch.source":             "Basis",
				"sch.files":              "files use this entry",
				"sch.none":               "The schedule has no entry yet.",
				"sch.nomatch":            "No entry matches.",
				"sch.add":                "Add an entry",
				"sch.add.submit":         "Add to the schedule",
				"sch.edit":               "Edit the entry",
				"sch.save":               "Save changes",
				"sch.delete":             "Remove the entry",
				"sch.delete.help":        "Files made under this entry keep the period they took.",
				"sch.confirm":            "I confirm the removal",
				"sch.history":            "History",
				"sch.history.none":       "No change recorded yet.",
				"sch.created":            "Added",
				"sch.changed":            "Changed",
				"sch.removed":            "Removed",
				"sch.stale":              "Someone else has just changed this entry. Below is what it says now; check it and save again.",
				"sch.back":               "Retention schedule",
				"sch.link":               "Retention schedule",
				"flash.schedule.added":   "Entry added to the retention schedule.",
				"flash.schedule.saved":   "Entry saved.",
				"flash.schedule.removed": "Entry removed from the schedule.",
			},
		}
	})
}
