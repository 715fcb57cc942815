package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/records"
)

// The archivist's pages: the file list (danh mục hồ sơ), a file with its
// documents, its export, and the files due at the archive. They call the
// same records use cases as the API (records.Service).

func recordPages() []route {
	return []route{
		{Method: "GET", Path: "/records", Handler: (*Server).recordsList},
		{Method: "POST", Path: "/records/files", Handler: (*Server).recordsCreate},
		{Method: "POST", Path: "/records/schedule/seed", Handler: (*Server).recordsSeed},
		{Method: "GET", Path: "/records/handover", Handler: (*Server).recordsHandover},
		{Method: "GET", Path: "/records/f/:id", Handler: (*Server).recordsFile},
		{Method: "GET", Path: "/records/f/:id/export", Handler: (*Server).recordsExport},
		{Method: "POST", Path: "/records/f/:id/:action", Handler: (*Server).recordsAction},
	}
}

type recordsListView struct {
	Files    []*document.RecordFile
	Schedule []*document.ScheduleEntry
	Dir      *directory
	Year     int
	Q, State string
	Years    []int
	Error    string
}

func (s *Server) recordsAvailable(c *gin.Context) bool {
	if s.opt.RecordFiles == nil {
		s.errorPage(c, http.StatusServiceUnavailable, s.lang(c).T("rec.unavailable"), "")
		return false
	}
	return true
}

func (s *Server) recordsList(c *gin.Context) {
	s.recordsListPage(c, http.StatusOK, "")
}

func (s *Server) recordsListPage(c *gin.Context, status int, errMsg string) {
	if !s.recordsAvailable(c) {
		return
	}
	ctx := c.Request.Context()
	now := s.opt.Now()
	v := &recordsListView{Q: strings.TrimSpace(c.Query("q")), State: c.Query("state"), Year: now.Year(), Error: errMsg}
	if y := c.Query("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1900 || n > 9999 {
			s.errorPage(c, http.StatusBadRequest, s.lang(c).T("err.invalid"), "year")
			return
		}
		v.Year = n
	}
	if v.State != "" && v.State != "open" && v.State != "closed" {
		v.State = ""
	}
	for y := now.Year() + 1; y >= now.Year()-5; y-- {
		v.Years = append(v.Years, y)
	}
	var err error
	if v.Files, err = s.opt.RecordFiles.Files(ctx, actor(c), document.FileQuery{Year: v.Year, Text: v.Q, State: v.State}); err != nil {
		s.fail(c, err)
		return
	}
	if v.Schedule, err = s.opt.RecordFiles.Schedule(ctx, actor(c)); err != nil {
		s.fail(c, err)
		return
	}
	if v.Dir, err = s.directory(c); err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, status, "records_list", v)
}

func (s *Server) recordsCreate(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	ws := session(c)
	year, _ := strconv.Atoi(c.PostForm("year"))
	in := records.FileInput{Year: year, Notation: c.PostForm("notation"), Title: c.PostForm("title"),
		UnitID: c.PostForm("unit"), ResponsibleID: ws.User.ID, ScheduleCode: c.PostForm("schedule")}
	if in.UnitID == "" {
		in.UnitID = ws.User.OrgID
	}
	switch r := c.PostForm("retention"); {
	case r == "permanent":
		in.Permanent = true
	case r != "" && r != "schedule":
		in.Years, _ = strconv.Atoi(r)
	}
	if d := strings.TrimSpace(c.PostForm("start")); d != "" {
		t, err := parseDate(d)
		if err != nil {
			s.recordsListPage(c, http.StatusBadRequest, s.lang(c).T("err.invalid")+" "+document.ErrorMessage(err))
			return
		}
		in.StartDate = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	f, err := s.opt.RecordFiles.CreateFile(c.Request.Context(), actor(c), in)
	if err != nil {
		status, msg, detail := s.failure(c, err)
		s.recordsListPage(c, status, strings.TrimSpace(msg+" "+detail))
		return
	}
	c.Redirect(http.StatusSeeOther, "/records/f/"+f.ID)
}

func (s *Server) recordsSeed(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	if _, err := s.opt.RecordFiles.LoadSeedSchedule(c.Request.Context(), actor(c)); err != nil {
		s.fail(c, err)
		return
	}
	if c.PostForm("next") == "/records/schedule" { // the schedule's page (retention.go)
		c.Redirect(http.StatusSeeOther, "/records/schedule")
		return
	}
	c.Redirect(http.StatusSeeOther, "/records")
}

type recordsFileView struct {
	V          *records.FileView
	Dir        *directory
	Candidates []*document.Document
	Error      string
}

func (s *Server) recordsFile(c *gin.Context) {
	s.recordsFilePage(c, http.StatusOK, "")
}

func (s *Server) recordsFilePage(c *gin.Context, status int, errMsg string) {
	if !s.recordsAvailable(c) {
		return
	}
	ctx := c.Request.Context()
	v, err := s.opt.RecordFiles.File(ctx, actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	fv := &recordsFileView{V: v, Error: errMsg}
	if fv.Dir, err = s.directory(c); err != nil {
		s.fail(c, err)
		return
	}
	if !v.File.Closed {
		// Documents that may be filed: issued, completed or archived ones
		// the archivist sees, newest first, not yet in this file.
		in := map[string]bool{}
		for _, d := range v.Documents {
			in[d.ID] = true
		}
		found, err := s.opt.Workflow.Search(ctx, actor(c), document.Query{States: []document.State{document.StateIssued,
			document.StateCompleted, document.StateArchived}, Limit: 200})
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, d := range found {
			if !in[d.ID] {
				fv.Candidates = append(fv.Candidates, d)
			}
		}
	}
	s.render(c, status, "records_file", fv)
}

func (s *Server) recordsAction(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	ctx := c.Request.Context()
	id := c.Param("id")
	var err error
	switch c.Param("action") {
	case "add":
		for _, doc := range c.PostFormArray("doc") {
			if err = s.opt.RecordFiles.AddDocument(ctx, actor(c), id, doc); err != nil {
				break
			}
		}
	case "remove":
		err = s.opt.RecordFiles.RemoveDocument(ctx, actor(c), id, c.PostForm("doc"))
	case "close":
		_, err = s.opt.RecordFiles.Close(ctx, actor(c), id)
	default:
		s.errorPage(c, http.StatusNotFound, s.lang(c).T("err.notfound"), "")
		return
	}
	if err != nil {
		status, msg, detail := s.failure(c, err)
		if status == http.StatusNotFound {
			s.fail(c, err)
			return
		}
		s.recordsFilePage(c, status, strings.TrimSpace(msg+" "+detail))
		return
	}
	c.Redirect(http.StatusSeeOther, "/records/f/"+id)
}

func (s *Server) recordsExport(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	// Built in memory first: a failure is a page, not a cut ZIP. An
	// export is the file's PDFs; the API streams from a temporary file for
	// very large ones.
	var b bytes.Buffer
	if err := s.opt.RecordFiles.Export(c.Request.Context(), actor(c), c.Param("id"), &b); err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="ho-so-`+c.Param("id")+`.zip"`)
	c.Data(http.StatusOK, "application/zip", b.Bytes())
}

type recordsHandoverView struct {
	Files []*document.RecordFile
	Dir   *directory
}

func (s *Server) recordsHandover(c *gin.Context) {
	if !s.recordsAvailable(c) {
		return
	}
	files, err := s.opt.RecordFiles.HandoverDue(c.Request.Context(), actor(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "records_handover", &recordsHandoverView{Files: files, Dir: dir})
}

// The records pages' texts, added to the catalogue here so the shared
// i18n table stays as it is.
func init() {
	pageTextsByLanguage(func() map[string]map[string]string {
		return map[string]map[string]string{
			"vi": {
				"nav.records":       "Hồ sơ",
				"rec.title":         "Danh mục hồ sơ",
				"rec.unavailable":   "Chức năng hồ sơ chưa được cấu hình.",
				"rec.year":          "Năm",
				"rec.search":        "Tìm hồ sơ",
				"rec.all":           "Tất cả",
				"rec.open":          "Đang mở",
				"rec.closed":        "Đã đóng",
				"rec.number":        "Số, ký hiệu hồ sơ",
				"rec.name":          "Tiêu đề hồ sơ",
				"rec.unit":          "Đơn vị",
				"rec.responsible":   "Người lập hồ sơ",
				"rec.retention":     "Thời hạn bảo quản",
				"rec.permanent":     "Vĩnh viễn",
				"rec.years":         "năm",
				"rec.start":         "Ngày bắt đầu",
				"rec.end":           "Ngày kết thúc",
				"rec.state":         "Tình trạng",
				"rec.docs":          "Số văn bản",
				"rec.new":           "Lập hồ sơ mới",
				"rec.create":        "Lập hồ sơ",
				"rec.schedule":      "Theo bảng thời hạn bảo quản",
				"rec.seed":          "Nạp bảng thời hạn bảo quản mẫu (Thông tư 10/2022/TT-BNV)",
				"rec.none":          "Chưa có hồ sơ nào.",
				"rec.handover":      "Hồ sơ sắp đến hạn nộp lưu",
				"rec.handover.due":  "Hạn nộp lưu",
				"rec.handover.none": "Không có hồ sơ nào đến hạn nộp lưu trong 30 ngày tới.",
				"rec.documents":     "Văn bản trong hồ sơ",
				"rec.add":           "Đưa vào hồ sơ",
				"rec.remove":        "Bỏ ra",
				"rec.close":         "Kết thúc hồ sơ (lưu trữ các văn bản)",
				"rec.export":        "Xuất hồ sơ (ZIP)",
				"rec.nodocs":        "Hồ sơ chưa có văn bản.",
				"rec.candidates":    "Văn bản có thể đưa vào hồ sơ",
				"rec.back":          "Danh mục hồ sơ",
				"rec.ordinal":       "STT",
			},
			"en": {
				"nav.records":       "Files",
				"rec.title":         "File list",
				"rec.unavailable":   "Files are not configured.",
				"rec.year":          "Year",
				"rec.search":        "Find files",
				"rec.all":           "All",
				"rec.open":          "Open",
				"rec.closed":        "Closed",
				"rec.number":        "File number",
				"rec.name":          "File title",
				"rec.unit":          "Unit",
				"rec.responsible":   "Kept by",
				"rec.retention":     "Retention",
				"rec.permanent":     "Permanent",
				"rec.years":         "years",
				"rec.start":         "Start date",
				"rec.end":           "End date",
				"rec.state":         "State",
				"rec.docs":          "Documents",
				"rec.new":           "Open a new file",
				"rec.create":        "Create file",
				"rec.schedule":      "From the retention schedule",
				"rec.seed":          "Load the sample retention schedule (Circular 10/2022/TT-BNV)",
				"rec.none":          "No file yet.",
				"rec.handover":      "Files due at the archive",
				"rec.handover.due":  "Due at the archive",
				"rec.handover.none": "No file is due at the archive within 30 days.",
				"rec.documents":     "Documents in the file",
				"rec.add":           "Add to the file",
				"rec.remove":        "Remove",
				"rec.close":         "Close the file (archive its documents)",
				"rec.export":        "Export the file (ZIP)",
				"rec.nodocs":        "The file has no document yet.",
				"rec.candidates":    "Documents that can be filed",
				"rec.back":          "File list",
				"rec.ordinal":       "No.",
			},
		}
	})
}
