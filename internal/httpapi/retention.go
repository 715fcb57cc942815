package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/records"
	"vanban/internal/workflow"
)

// The retention schedule's entries one by one, with versions: the same
// records use cases as the archivist's schedule page (internal/web
// retention.go). GET answers an ETag; PUT and DELETE honour If-Match (the
// ETag, or *) and PUT If-None-Match: * (add only), answering 412 when the
// entry changed meanwhile.

// ScheduleEditor is the versioned schedule use cases (*records.Service).
type ScheduleEditor interface {
	ScheduleEntryDetail(ctx context.Context, a workflow.Actor, code string) (*records.ScheduleEntryView, error)
	SaveScheduleEntry(ctx context.Context, a workflow.Actor, in records.ScheduleEdit) (*records.ScheduleLine, error)
	RemoveScheduleEntry(ctx context.Context, a workflow.Actor, code, ifMatch string) error
}

func retentionRoutes() []route {
	return []route{
		{Method: "GET", Path: "/records/schedule/:code", Summary: "One schedule entry with its version (ETag), the files using it and its history", Tag: "records", Response: "ScheduleEntryDetail", Handler: (*API).getScheduleEntry},
	}
}

func init() {
	schemas["ScheduleEntryDetail"] = ScheduleEntryDetailJSON{}
}

// ScheduleChangeJSON is one change of a schedule entry, from the audit log.
type ScheduleChangeJSON struct {
	Seq     int64              `json:"seq"`
	At      time.Time          `json:"at"`
	ActorID string             `json:"actor_id"`
	Actor   string             `json:"actor"`
	Action  string             `json:"action"`
	Before  *ScheduleEntryJSON `json:"before,omitempty"`
	After   *ScheduleEntryJSON `json:"after,omitempty"`
}

// ScheduleEntryDetailJSON is a schedule entry with its version, how many
// files took their period from it, whether the caller may change it, and
// its changes, newest first.
type ScheduleEntryDetailJSON struct {
	ScheduleEntryJSON
	Version  string               `json:"version"`
	Files    int                  `json:"files"`
	Editable bool                 `json:"editable"`
	History  []ScheduleChangeJSON `json:"history"`
}

func scheduleJSON(e *document.ScheduleEntry) *ScheduleEntryJSON {
	if e == nil {
		return nil
	}
	return &ScheduleEntryJSON{Code: e.Code, Title: e.Title, Permanent: e.Permanent, Years: e.Years, Source: e.Source}
}

func (api *API) scheduleEditor(c *gin.Context) (ScheduleEditor, bool) {
	fs, ok := api.files(c)
	if !ok {
		return nil, false
	}
	ed, ok := fs.(ScheduleEditor)
	if !ok {
		Problem(c, http.StatusServiceUnavailable, "unavailable", "Bảng thời hạn bảo quản chưa được cấu hình / The retention schedule is not configured", "")
		return nil, false
	}
	return ed, true
}

func etag(version string) string { return `"` + version + `"` }

// precondition reads If-Match / If-None-Match as a records precondition;
// given says whether the request made one (a failure is then 412).
func precondition(c *gin.Context) (ifMatch string, given bool) {
	if m := strings.TrimSpace(c.GetHeader("If-Match")); m != "" {
		if m == "*" {
			return records.ScheduleExists, true
		}
		return strings.Trim(strings.TrimPrefix(m, "W/"), `"`), true
	}
	if strings.TrimSpace(c.GetHeader("If-None-Match")) == "*" {
		return records.ScheduleAbsent, true
	}
	return "", false
}

// failPrecondition answers a failed If-Match as 412, anything else as fail.
func (api *API) failPrecondition(c *gin.Context, err error, given bool) {
	if given && document.ErrorCode(err) == document.ECONFLICT {
		Problem(c, http.StatusPreconditionFailed, "precondition_failed", "Dữ liệu đã thay đổi / Precondition failed", document.ErrorMessage(err))
		return
	}
	api.fail(c, err)
}

func (api *API) getScheduleEntry(c *gin.Context) {
	ed, ok := api.scheduleEditor(c)
	if !ok {
		return
	}
	v, err := ed.ScheduleEntryDetail(c.Request.Context(), actor(c), c.Param("code"))
	if err != nil {
		api.fail(c, err)
		return
	}
	out := ScheduleEntryDetailJSON{ScheduleEntryJSON: *scheduleJSON(v.Entry), Version: v.Version, Files: v.Files, Editable: v.Editable,
		History: []ScheduleChangeJSON{}}
	for _, h := range v.History {
		out.History = append(out.History, ScheduleChangeJSON{Seq: h.Seq, At: h.At, ActorID: h.ActorID, Actor: h.Actor, Action: h.Action,
			Before: scheduleJSON(h.Before), After: scheduleJSON(h.After)})
	}
	c.Header("ETag", etag(v.Version))
	c.JSON(http.StatusOK, out)
}

// putScheduleEntry adds or edits an entry (archivist or admin).
func (api *API) putScheduleEntry(c *gin.Context) {
	ed, ok := api.scheduleEditor(c)
	if !ok {
		return
	}
	var in ScheduleEntryJSON
	if !bindJSON(c, &in) {
		return
	}
	if in.Code != "" && in.Code != c.Param("code") {
		invalid(c, map[string]string{"code": "the code in the body differs from the one in the path"})
		return
	}
	ifMatch, given := precondition(c)
	l, err := ed.SaveScheduleEntry(c.Request.Context(), actor(c), records.ScheduleEdit{Code: c.Param("code"), Title: in.Title,
		Permanent: in.Permanent, Years: in.Years, Source: in.Source, IfMatch: ifMatch})
	if err != nil {
		api.failPrecondition(c, err, given)
		return
	}
	c.Header("ETag", etag(l.Version))
	c.JSON(http.StatusOK, scheduleJSON(l.Entry))
}

// deleteScheduleEntry removes an entry; files keep their period.
func (api *API) deleteScheduleEntry(c *gin.Context) {
	ed, ok := api.scheduleEditor(c)
	if !ok {
		return
	}
	ifMatch, given := precondition(c)
	if ifMatch == records.ScheduleAbsent {
		ifMatch, given = "", false
	}
	if err := ed.RemoveScheduleEntry(c.Request.Context(), actor(c), c.Param("code"), ifMatch); err != nil {
		api.failPrecondition(c, err, given)
		return
	}
	c.Status(http.StatusNoContent)
}
