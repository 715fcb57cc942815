package httpapi

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/records"
	"vanban/internal/workflow"
)

// Records is what the API needs of the records side (archive records,
// evidence packages, files); *store.DB and the services in cmd provide it.
type Records interface {
	// RetentionOf returns an archived document's retention date (zero
	// when it has no archive record) and whether it is kept permanently.
	RetentionOf(ctx context.Context, documentID string) (until time.Time, permanent bool, err error)
}

// RetentionJSON is how long an archived document's stored objects are
// protected from deletion.
type RetentionJSON struct {
	RetainUntil time.Time `json:"retain_until"`
	// Permanent (vĩnh viễn): retain_until is the longest the store allows,
	// extended before it comes.
	Permanent bool `json:"permanent"`
}

// retention is the retention of a document the caller already may see.
func (api *API) retention(ctx context.Context, docID string) (*RetentionJSON, error) {
	if api.Records == nil {
		return nil, nil
	}
	until, permanent, err := api.Records.RetentionOf(ctx, docID)
	if err != nil || until.IsZero() {
		return nil, err
	}
	return &RetentionJSON{RetainUntil: until, Permanent: permanent}, nil
}

// RecordFiles is the records use cases (*records.Service).
type RecordFiles interface {
	Schedule(ctx context.Context, a workflow.Actor) ([]*document.ScheduleEntry, error)
	LoadSeedSchedule(ctx context.Context, a workflow.Actor) (int, error)
	PutScheduleEntry(ctx context.Context, a workflow.Actor, e document.ScheduleEntry) (*document.ScheduleEntry, error)
	DeleteScheduleEntry(ctx context.Context, a workflow.Actor, code string) error
	CreateFile(ctx context.Context, a workflow.Actor, in records.FileInput) (*document.RecordFile, error)
	Files(ctx context.Context, a workflow.Actor, q document.FileQuery) ([]*document.RecordFile, error)
	File(ctx context.Context, a workflow.Actor, id string) (*records.FileView, error)
	AddDocument(ctx context.Context, a workflow.Actor, fileID, docID string) error
	RemoveDocument(ctx context.Context, a workflow.Actor, fileID, docID string) error
	Close(ctx context.Context, a workflow.Actor, fileID string) (*document.RecordFile, error)
	Export(ctx context.Context, a workflow.Actor, fileID string, w io.Writer) error
	HandoverDue(ctx context.Context, a workflow.Actor) ([]*document.RecordFile, error)
}

func recordRoutes() []route {
	return []route{
		{Method: "GET", Path: "/records/schedule", Summary: "The retention schedule of my organization (Circular 10/2022/TT-BNV)", Tag: "records", Response: "ScheduleList", Handler: (*API).listSchedule},
		{Method: "POST", Path: "/records/schedule/seed", Summary: "Load the seed entries the schedule lacks (archivist or admin)", Tag: "records", Response: "SeedLoaded", Handler: (*API).loadSchedule},
		{Method: "PUT", Path: "/records/schedule/:code", Summary: "Add or edit a schedule entry (archivist or admin)", Tag: "records", Body: "ScheduleEntry", Response: "ScheduleEntry", Handler: (*API).putScheduleEntry},
		{Method: "DELETE", Path: "/records/schedule/:code", Summary: "Remove a schedule entry", Tag: "records", Status: 204, Handler: (*API).deleteScheduleEntry},
		{Method: "GET", Path: "/records/files", Summary: "The file list in time order (year, q, state=open|closed)", Tag: "records", Response: "RecordFileList", Handler: (*API).listFiles},
		{Method: "POST", Path: "/records/files", Summary: "Create a file (hồ sơ) in the year's list (archivist)", Tag: "records", Body: "RecordFileCreate", Response: "RecordFile", Status: 201, Handler: (*API).createFile},
		{Method: "GET", Path: "/records/files/:id", Summary: "A file with its documents in time order", Tag: "records", Response: "RecordFileView", Handler: (*API).getFile},
		{Method: "POST", Path: "/records/files/:id/documents", Summary: "File a document (not copied; the file must be open)", Tag: "records", Body: "FileDocument", Status: 204, Handler: (*API).addFileDocument},
		{Method: "DELETE", Path: "/records/files/:id/documents/:doc", Summary: "Take a document out of an open file", Tag: "records", Status: 204, Handler: (*API).removeFileDocument},
		{Method: "POST", Path: "/records/files/:id/close", Summary: "Close a file: its documents are archived (B-LTA, retention)", Tag: "records", Response: "RecordFile", Handler: (*API).closeFile},
		{Method: "GET", Path: "/records/files/:id/export", Summary: "Export a file (ZIP): PDFs in time order, index PDF, metadata XML (Circular 02/2019), sealed manifest", Tag: "records", Handler: (*API).exportFile},
		{Method: "GET", Path: "/records/handover", Summary: "Closed files due at the archive within 30 days (archivist)", Tag: "records", Response: "RecordFileList", Handler: (*API).handoverDue},
	}
}

func init() {
	schemas["ScheduleEntry"] = ScheduleEntryJSON{}
	schemas["ScheduleList"] = struct {
		Items []ScheduleEntryJSON `json:"items"`
	}{}
	schemas["SeedLoaded"] = struct {
		Added int `json:"added"`
	}{}
	schemas["RecordFile"] = RecordFileJSON{}
	schemas["RecordFileList"] = struct {
		Items []RecordFileJSON `json:"items"`
	}{}
	schemas["RecordFileCreate"] = RecordFileCreate{}
	schemas["RecordFileView"] = RecordFileView{}
	schemas["FileDocument"] = FileDocumentJSON{}
}

// ScheduleEntryJSON is one line of the retention schedule.
type ScheduleEntryJSON struct {
	Code      string `json:"code"`
	Title     string `json:"title"`
	Permanent bool   `json:"permanent"`
	Years     int    `json:"years,omitempty"`
	Source    string `json:"source,omitempty"`
}

// RecordFileJSON is one file of the file list.
type RecordFileJSON struct {
	ID            string     `json:"id"`
	Year          int        `json:"year"`
	Number        int        `json:"number"`
	Notation      string     `json:"notation"`
	Title         string     `json:"title"`
	UnitID        string     `json:"unit_id"`
	ResponsibleID string     `json:"responsible_id"`
	ScheduleCode  string     `json:"schedule_code,omitempty"`
	Permanent     bool       `json:"permanent"`
	Years         int        `json:"years,omitempty"`
	StartDate     time.Time  `json:"start_date"`
	EndDate       *time.Time `json:"end_date,omitempty"`
	Closed        bool       `json:"closed"`
	HandoverDue   *time.Time `json:"handover_due,omitempty"`
	Documents     int        `json:"documents"`
}

// RecordFileCreate creates a file. The retention comes from schedule_code
// unless permanent or years is given.
type RecordFileCreate struct {
	Year          int    `json:"year"`
	Notation      string `json:"notation"`
	Title         string `json:"title"`
	UnitID        string `json:"unit_id"`
	ResponsibleID string `json:"responsible_id"`
	ScheduleCode  string `json:"schedule_code,omitempty"`
	Permanent     bool   `json:"permanent,omitempty"`
	Years         int    `json:"years,omitempty"`
	// StartDate is YYYY-MM-DD; default 1 January of the year.
	StartDate string `json:"start_date,omitempty"`
}

// RecordFileView is a file with its documents in time order.
type RecordFileView struct {
	File      RecordFileJSON `json:"file"`
	Documents []DocumentJSON `json:"documents"`
}

// FileDocumentJSON names a document to file.
type FileDocumentJSON struct {
	DocumentID string `json:"document_id"`
}

func recordFileJSON(f *document.RecordFile) RecordFileJSON {
	return RecordFileJSON{ID: f.ID, Year: f.Year, Number: f.Number, Notation: f.Notation, Title: f.Title, UnitID: f.UnitID,
		ResponsibleID: f.ResponsibleID, ScheduleCode: f.ScheduleCode, Permanent: f.Permanent, Years: f.Years, StartDate: f.StartDate,
		EndDate: timePtr(f.EndDate), Closed: f.Closed, HandoverDue: timePtr(f.HandoverDue), Documents: f.Documents}
}

func recordFilesJSON(fs []*document.RecordFile) []RecordFileJSON {
	out := make([]RecordFileJSON, len(fs))
	for i, f := range fs {
		out[i] = recordFileJSON(f)
	}
	return out
}

func (api *API) files(c *gin.Context) (RecordFiles, bool) {
	if api.RecordFiles == nil {
		Problem(c, http.StatusServiceUnavailable, "unavailable", "Hồ sơ chưa được cấu hình / Files are not configured", "")
		return nil, false
	}
	return api.RecordFiles, true
}

func (api *API) listSchedule(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	es, err := fs.Schedule(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]ScheduleEntryJSON, len(es))
	for i, e := range es {
		out[i] = ScheduleEntryJSON{Code: e.Code, Title: e.Title, Permanent: e.Permanent, Years: e.Years, Source: e.Source}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) loadSchedule(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	n, err := fs.LoadSeedSchedule(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"added": n})
}

func (api *API) listFiles(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	q := document.FileQuery{Text: c.Query("q"), State: c.Query("state")}
	if y := c.Query("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1900 || n > 9999 {
			Problem(c, http.StatusBadRequest, document.EINVALID, "Năm không hợp lệ / Invalid year", "year must be a number such as 2026")
			return
		}
		q.Year = n
	}
	if q.State != "" && q.State != "open" && q.State != "closed" {
		Problem(c, http.StatusBadRequest, document.EINVALID, "Trạng thái không hợp lệ / Invalid state", "state is open or closed")
		return
	}
	files, err := fs.Files(c.Request.Context(), actor(c), q)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": recordFilesJSON(files)})
}

func (api *API) createFile(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	var in RecordFileCreate
	if !bindJSON(c, &in) {
		return
	}
	fi := records.FileInput{Year: in.Year, Notation: in.Notation, Title: in.Title, UnitID: in.UnitID, ResponsibleID: in.ResponsibleID,
		ScheduleCode: in.ScheduleCode, Permanent: in.Permanent, Years: in.Years}
	if in.StartDate != "" {
		t, err := time.Parse("2006-01-02", in.StartDate)
		if err != nil {
			Problem(c, http.StatusBadRequest, document.EINVALID, "Ngày không hợp lệ / Invalid date", "start_date is YYYY-MM-DD")
			return
		}
		fi.StartDate = t
	}
	f, err := fs.CreateFile(c.Request.Context(), actor(c), fi)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, recordFileJSON(f))
}

func (api *API) getFile(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	v, err := fs.File(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, RecordFileView{File: recordFileJSON(v.File), Documents: documentsJSON(v.Documents)})
}

func (api *API) addFileDocument(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	var in FileDocumentJSON
	if !bindJSON(c, &in) {
		return
	}
	if err := fs.AddDocument(c.Request.Context(), actor(c), c.Param("id"), in.DocumentID); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) removeFileDocument(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	if err := fs.RemoveDocument(c.Request.Context(), actor(c), c.Param("id"), c.Param("doc")); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) closeFile(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	f, err := fs.Close(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, recordFileJSON(f))
}

// exportFile sends a file's export package, built into a temporary file
// first so a failure is a problem document rather than a cut ZIP.
func (api *API) exportFile(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	tmp, err := os.CreateTemp("", "vanban-file-export-*.zip")
	if err != nil {
		api.fail(c, err)
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	id := c.Param("id")
	if err := fs.Export(c.Request.Context(), actor(c), id, tmp); err != nil {
		api.fail(c, err)
		return
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="ho-so-`+id+`.zip"`)
	c.DataFromReader(http.StatusOK, size, "application/zip", tmp, nil)
}

func (api *API) handoverDue(c *gin.Context) {
	fs, ok := api.files(c)
	if !ok {
		return
	}
	files, err := fs.HandoverDue(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": recordFilesJSON(files)})
}
