package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/lookup"
	"vanban/internal/notify"
	"vanban/internal/reports"
)

// Oversight holds the services of the oversight routes: printed registers
// and reports. A nil service answers 503 on its routes.
type Oversight struct {
	Reports *reports.Service
	// Notifications are the person's notices and channel choices; Hub
	// streams new notices to open pages.
	Notifications Notifications
	Hub           *notify.Hub
	// Lookup attaches one-stop dossier codes and answers their status.
	Lookup *lookup.Service
}

var errNoOversight = errors.New("this service is not configured")

// oversightRoutes are the registers' printouts and the reports; Mount adds
// them to the one route table.
func oversightRoutes() []route {
	rs := []route{
		{Method: "GET", Path: "/registers/:id/print", Summary: "A register in the Appendix IV form, as PDF (format=pdf, A4 landscape) or XLSX (format=xlsx), for the year or the days from..to (dd/mm/yyyy)", Tag: "registers", Handler: (*API).printRegister},
		{Method: "GET", Path: "/reports/processing", Summary: "Incoming and outgoing processing by unit over the days from..to (dd/mm/yyyy), as JSON, PDF or XLSX (format)", Tag: "registers", Response: "ProcessingReport", Handler: (*API).processingReport},
	}
	rs = append(rs, lookupRoutes()...)
	return append(rs, notifyRoutes()...)
}

func init() {
	schemas["ProcessingReport"] = ProcessingReportJSON{}
}

// ProcessingReportJSON is the processing report of an organization.
type ProcessingReportJSON struct {
	From  string               `json:"from"` // first day, dd/mm/yyyy
	To    string               `json:"to"`   // last day, dd/mm/yyyy
	Units []UnitProcessingJSON `json:"units"`
	Total UnitProcessingJSON   `json:"total"`
}

// UnitProcessingJSON is one unit's line of the processing report.
type UnitProcessingJSON struct {
	UnitID       string `json:"unit_id,omitempty"`
	UnitName     string `json:"unit_name"`
	InReceived   int    `json:"incoming_received"`
	InCompleted  int    `json:"incoming_completed"`
	InOnTime     int    `json:"incoming_on_time"`
	InLate       int    `json:"incoming_late"`
	InOpen       int    `json:"incoming_open"`
	InOverdue    int    `json:"incoming_overdue"`
	OutCreated   int    `json:"outgoing_created"`
	OutIssued    int    `json:"outgoing_issued"`
	OutOpen      int    `json:"outgoing_open"`
	OutWithdrawn int    `json:"outgoing_withdrawn"`
}

func unitProcessingJSON(u reports.UnitProcessing) UnitProcessingJSON {
	return UnitProcessingJSON{UnitID: u.UnitID, UnitName: u.UnitName, InReceived: u.InReceived, InCompleted: u.InCompleted,
		InOnTime: u.InOnTime, InLate: u.InLate, InOpen: u.InOpen, InOverdue: u.InOverdue, OutCreated: u.OutCreated,
		OutIssued: u.OutIssued, OutOpen: u.OutOpen, OutWithdrawn: u.OutWithdrawn}
}

const (
	contentPDF  = "application/pdf"
	contentXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// period reads ?from= and ?to= (dd/mm/yyyy); a bad one answers 422.
func period(c *gin.Context) (reports.Period, bool) {
	p, err := reports.ParsePeriod(c.Query("from"), c.Query("to"))
	if err != nil {
		invalid(c, map[string]string{"from": "the first day as dd/mm/yyyy", "to": "the last day as dd/mm/yyyy, not before from"})
		return reports.Period{}, false
	}
	return p, true
}

// format reads ?format= among allowed (the first is the default).
func format(c *gin.Context, allowed ...string) (string, bool) {
	f := strings.ToLower(c.DefaultQuery("format", allowed[0]))
	for _, a := range allowed {
		if f == a {
			return f, true
		}
	}
	invalid(c, map[string]string{"format": "one of " + strings.Join(allowed, ", ")})
	return "", false
}

// attachment sends body as a download named name (UTF-8 filename*).
func attachment(c *gin.Context, contentType, name string, body []byte) {
	c.Header("Content-Disposition", `attachment; filename="`+asciiName(name)+`"; filename*=UTF-8''`+url.PathEscape(name))
	c.Data(http.StatusOK, contentType, body)
}

// asciiName keeps the letters, digits, dots and dashes of name for the
// plain filename parameter, folding Vietnamese letters to their base.
func asciiName(name string) string {
	var b strings.Builder
	for _, r := range document.Fold(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func (api *API) printRegister(c *gin.Context) {
	if api.Oversight.Reports == nil {
		api.unavailable(c)
		return
	}
	f, ok := format(c, "pdf", "xlsx")
	if !ok {
		return
	}
	p, ok := period(c)
	if !ok {
		return
	}
	r, err := api.Oversight.Reports.Register(c.Request.Context(), current(c).user.ID, c.Param("id"), p)
	if err != nil {
		api.fail(c, err)
		return
	}
	var buf bytes.Buffer
	if f == "xlsx" {
		err = r.WriteXLSX(&buf)
	} else {
		err = r.WritePDF(&buf, api.now())
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	ct := contentPDF
	if f == "xlsx" {
		ct = contentXLSX
	}
	attachment(c, ct, r.Name+"."+f, buf.Bytes())
}

func (api *API) processingReport(c *gin.Context) {
	if api.Oversight.Reports == nil {
		api.unavailable(c)
		return
	}
	f, ok := format(c, "json", "pdf", "xlsx")
	if !ok {
		return
	}
	p, ok := period(c)
	if !ok {
		return
	}
	if p.From.IsZero() || p.To.IsZero() {
		invalid(c, map[string]string{"from": "the first day as dd/mm/yyyy", "to": "the last day as dd/mm/yyyy"})
		return
	}
	rep, err := api.Oversight.Reports.Processing(c.Request.Context(), current(c).user.ID, p)
	if err != nil {
		api.fail(c, err)
		return
	}
	switch f {
	case "json":
		out := ProcessingReportJSON{From: p.From.Format("02/01/2006"), To: p.To.AddDate(0, 0, -1).Format("02/01/2006"),
			Units: []UnitProcessingJSON{}, Total: unitProcessingJSON(rep.Total)}
		out.Total.UnitName = "Tổng cộng"
		for _, u := range rep.Units {
			out.Units = append(out.Units, unitProcessingJSON(u))
		}
		c.JSON(http.StatusOK, out)
		return
	}
	var buf bytes.Buffer
	var err2 error
	ct := contentPDF
	if f == "xlsx" {
		err2, ct = rep.WriteXLSX(&buf), contentXLSX
	} else {
		err2 = rep.WritePDF(&buf)
	}
	if err2 != nil {
		api.fail(c, err2)
		return
	}
	attachment(c, ct, "Bao cao xu ly van ban "+p.From.Format("2006-01-02")+"."+f, buf.Bytes())
}

func (api *API) unavailable(c *gin.Context) {
	Problem(c, http.StatusServiceUnavailable, "unavailable", "Dịch vụ chưa cấu hình / Service unavailable", errNoOversight.Error())
}
