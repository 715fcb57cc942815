package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/lookup"
)

// lookupRoutes: the one-stop system pushes a dossier code onto an incoming
// document and pulls the status, with a bearer token of its clerk account.
func lookupRoutes() []route {
	return []route{
		{Method: "PUT", Path: "/documents/:id/dossier", Summary: "Attach the one-stop dossier code (mã hồ sơ) and filing day to an incoming document (clerk)", Tag: "lookup", Body: "DossierSet", Response: "Dossier", Handler: (*API).setDossier},
		{Method: "GET", Path: "/dossiers/status", Summary: "A dossier's processing status by ?code= (the organization's clerks and one-stop account)", Tag: "lookup", Response: "DossierStatus", Handler: (*API).dossierStatus},
	}
}

func init() {
	schemas["DossierSet"] = DossierSetJSON{}
	schemas["Dossier"] = DossierJSON{}
	schemas["DossierStatus"] = DossierStatusJSON{}
}

// DossierSetJSON attaches a dossier code.
type DossierSetJSON struct {
	Code    string `json:"code"`
	FiledOn string `json:"filed_on"` // dd/mm/yyyy or yyyy-mm-dd
}

// DossierJSON is a document's dossier.
type DossierJSON struct {
	DocumentID string `json:"document_id"`
	Code       string `json:"code"`
	FiledOn    string `json:"filed_on"` // yyyy-mm-dd
}

// DossierStatusJSON is what the public lookup shows, for the one-stop
// system.
type DossierStatusJSON struct {
	Code         string            `json:"code"`
	Organization string            `json:"organization"`
	HandlingUnit string            `json:"handling_unit"`
	ReceivedAt   time.Time         `json:"received_at"`
	Deadline     *time.Time        `json:"deadline,omitempty"`
	Completed    bool              `json:"completed"`
	CompletedAt  *time.Time        `json:"completed_at,omitempty"`
	Late         bool              `json:"late"`
	Steps        []DossierStepJSON `json:"steps"`
}

// DossierStepJSON is one public step.
type DossierStepJSON struct {
	Label string    `json:"label"`
	At    time.Time `json:"at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// DossierStatusOf is the JSON form of a status.
func DossierStatusOf(s *lookup.Status) DossierStatusJSON {
	out := DossierStatusJSON{Code: s.Code, Organization: s.Organization, HandlingUnit: s.HandlingUnit, ReceivedAt: s.ReceivedAt,
		Deadline: optTime(s.Deadline), Completed: s.Completed, CompletedAt: optTime(s.CompletedAt), Late: s.Late, Steps: []DossierStepJSON{}}
	for _, st := range s.Steps {
		out.Steps = append(out.Steps, DossierStepJSON{Label: st.Label, At: st.At})
	}
	return out
}

func (api *API) setDossier(c *gin.Context) {
	if api.Oversight.Lookup == nil {
		api.unavailable(c)
		return
	}
	var in DossierSetJSON
	if !bindJSON(c, &in) {
		return
	}
	d, err := api.Oversight.Lookup.Attach(c.Request.Context(), current(c).user.ID, c.Param("id"), in.Code, in.FiledOn)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, DossierJSON{DocumentID: d.DocumentID, Code: d.Code, FiledOn: d.FiledOn})
}

func (api *API) dossierStatus(c *gin.Context) {
	if api.Oversight.Lookup == nil {
		api.unavailable(c)
		return
	}
	s, err := api.Oversight.Lookup.Status(c.Request.Context(), current(c).user.ID, c.Query("code"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, DossierStatusOf(s))
}
