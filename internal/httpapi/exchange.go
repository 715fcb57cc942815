package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/interchange"
	"vanban/internal/workflow"
)

// Exchange is what the API needs of the document interconnection
// (liên thông văn bản); *interchange.Service[*store.Tx] is one. A nil
// Exchange answers 503 on its routes.
type Exchange interface {
	SetOrganId(ctx context.Context, a workflow.Actor, orgID, organ string) error
	OrganIdOf(ctx context.Context, orgID string) (string, error)
	ImportAgencies(ctx context.Context, a workflow.Actor, orgID string) (int, error)
	Agencies(ctx context.Context, a workflow.Actor, orgID string) ([]interchange.Agency, error)
	SaveAgency(ctx context.Context, a workflow.Actor, ag interchange.Agency) error
	DeleteAgency(ctx context.Context, a workflow.Actor, orgID, organ string) error
	SetExternalRecipients(ctx context.Context, a workflow.Actor, docID string, organs []string) error
	SetReplacement(ctx context.Context, a workflow.Actor, docID, replacesID string, businessType int, reason string) error
	Recall(ctx context.Context, a workflow.Actor, docID, reason string) error
	Report(ctx context.Context, a workflow.Actor, docID string) (*interchange.SendReport, error)
	Queue(ctx context.Context, a workflow.Actor, orgID string) ([]*interchange.InboxItem, error)
	Item(ctx context.Context, a workflow.Actor, id string) (*interchange.InboxItem, error)
	Accept(ctx context.Context, a workflow.Actor, id string) (*document.Document, error)
	Refuse(ctx context.Context, a workflow.Actor, id, reason string) error
	AgreeRecall(ctx context.Context, a workflow.Actor, id string) error
	RefuseRecall(ctx context.Context, a workflow.Actor, id, reason string) error
}

// exchangeRoutes are the exchange's rows of the route table.
func exchangeRoutes() []route {
	return []route{
		{Method: "GET", Path: "/exchange/organ", Summary: "My organization's identifier code (mã định danh)", Tag: "exchange", Response: "OrganId", Handler: (*API).getOrganId},
		{Method: "PUT", Path: "/exchange/organ", Summary: "Set my organization's identifier code (admin)", Tag: "exchange", Body: "OrganId", Status: 204, Handler: (*API).setOrganId},
		{Method: "GET", Path: "/exchange/agencies", Summary: "The directory of external agencies", Tag: "exchange", Response: "AgencyList", Handler: (*API).listAgencies},
		{Method: "POST", Path: "/exchange/agencies/import", Summary: "Import the agencies the exchange axis lists (admin)", Tag: "exchange", Response: "AgencyImport", Handler: (*API).importAgencies},
		{Method: "PUT", Path: "/exchange/agencies/:organ", Summary: "Add or edit a directory entry (admin)", Tag: "exchange", Body: "Agency", Status: 204, Handler: (*API).saveAgency},
		{Method: "DELETE", Path: "/exchange/agencies/:organ", Summary: "Remove a directory entry (admin)", Tag: "exchange", Status: 204, Handler: (*API).deleteAgency},
		{Method: "GET", Path: "/exchange/queue", Summary: "Received packages waiting for the clerk (chờ tiếp nhận), malformed ones and recall requests", Tag: "exchange", Response: "ReceivedList", Handler: (*API).exchangeQueue},
		{Method: "GET", Path: "/exchange/received/:id", Summary: "One received package (clerk)", Tag: "exchange", Response: "Received", Handler: (*API).getReceived},
		{Method: "POST", Path: "/exchange/received/:id/accept", Summary: "Accept: register with an arrival number, send 03 (clerk)", Tag: "exchange", Response: "Document", Handler: (*API).acceptReceived},
		{Method: "POST", Path: "/exchange/received/:id/refuse", Summary: "Refuse with a reason, send 02 (clerk)", Tag: "exchange", Body: "Reason", Status: 204, Handler: (*API).refuseReceived},
		{Method: "POST", Path: "/exchange/received/:id/recall/agree", Summary: "Agree to the sender's recall: withdraw and remove the copy, send 15 (clerk)", Tag: "exchange", Status: 204, Handler: (*API).agreeRecall},
		{Method: "POST", Path: "/exchange/received/:id/recall/refuse", Summary: "Refuse the sender's recall with a reason, send 16 (clerk)", Tag: "exchange", Body: "Reason", Status: 204, Handler: (*API).refuseRecall},
		{Method: "PUT", Path: "/documents/:id/external-recipients", Summary: "Set the external agencies a document goes to through the exchange (never for secret documents)", Tag: "exchange", Body: "ExternalRecipients", Status: 204, Handler: (*API).setExternalRecipients},
		{Method: "PUT", Path: "/documents/:id/replaces", Summary: "Mark a document as the update (2) or replacement (3) of one sent earlier", Tag: "exchange", Body: "Replacement", Status: 204, Handler: (*API).setReplacement},
		{Method: "POST", Path: "/documents/:id/recall", Summary: "Recall a document sent through the exchange, with a reason (clerk)", Tag: "exchange", Body: "Reason", Status: 204, Handler: (*API).recallDocument},
		{Method: "GET", Path: "/documents/:id/exchange", Summary: "Per external recipient: every status received, with time and person", Tag: "exchange", Response: "ExchangeReport", Handler: (*API).exchangeReport},
	}
}

// OrganIdJSON is an identifier code.
type OrganIdJSON struct {
	OrganId string `json:"organ_id"`
}

// AgencyJSON is a directory entry.
type AgencyJSON struct {
	OrganId   string    `json:"organ_id"`
	Name      string    `json:"name"`
	ParentId  string    `json:"parent_id,omitempty"`
	Email     string    `json:"email,omitempty"`
	Phone     string    `json:"phone,omitempty"`
	Address   string    `json:"address,omitempty"`
	Edited    bool      `json:"edited"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReceivedJSON is a received package.
type ReceivedJSON struct {
	ID              string    `json:"id"`
	State           string    `json:"state"`
	Problem         string    `json:"problem,omitempty"`
	From            string    `json:"from"`
	FromName        string    `json:"from_name"`
	EdxmlDocumentId string    `json:"edxml_document_id"`
	BusinessType    int       `json:"business_type"`
	Subject         string    `json:"subject"`
	Symbol          string    `json:"symbol"`
	Indication      string    `json:"indication,omitempty"`
	PDFSHA256       string    `json:"pdf_sha256,omitempty"`
	Attachments     int       `json:"attachments"`
	DocumentID      string    `json:"document_id,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	RecallState     string    `json:"recall_state,omitempty"`
	RecallReason    string    `json:"recall_reason,omitempty"`
	ReplacesID      string    `json:"replaces_id,omitempty"`
	ReceivedAt      time.Time `json:"received_at"`
}

func receivedJSON(it *interchange.InboxItem) ReceivedJSON {
	return ReceivedJSON{ID: it.ID, State: it.State, Problem: it.Problem, From: it.FromOrgan, FromName: it.FromName,
		EdxmlDocumentId: it.EdxmlDocumentId, BusinessType: it.BusinessType, Subject: it.Subject, Symbol: it.Symbol,
		Indication: it.Indication, PDFSHA256: it.PDF.SHA256, Attachments: len(it.Attachments), DocumentID: it.DocumentID,
		Reason: it.Reason, RecallState: it.RecallState, RecallReason: it.RecallReason, ReplacesID: it.ReplacesID, ReceivedAt: it.ReceivedAt}
}

// ExternalRecipients names the agencies of the directory.
type ExternalRecipients struct {
	OrganIds []string `json:"organ_ids"`
}

// Replacement marks a document as an update or replacement.
type Replacement struct {
	DocumentID   string `json:"document_id"`
	BusinessType int    `json:"business_type"`
	Reason       string `json:"reason"`
}

// ExchangeStatusJSON is one status a recipient reported.
type ExchangeStatusJSON struct {
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Staff       string    `json:"staff,omitempty"`
	Department  string    `json:"department,omitempty"`
	At          time.Time `json:"at"`
}

// ExchangeReportJSON is the per-recipient status table.
type ExchangeReportJSON struct {
	EdxmlDocumentId    string `json:"edxml_document_id,omitempty"`
	BusinessType       int    `json:"business_type"`
	ReplacesDocumentID string `json:"replaces_document_id,omitempty"`
	RecallReason       string `json:"recall_reason,omitempty"`
	Recipients         []struct {
		OrganId  string               `json:"organ_id"`
		Name     string               `json:"name"`
		Sending  string               `json:"sending"` // pending, sent, dead, or "" before issue
		Error    string               `json:"error,omitempty"`
		Statuses []ExchangeStatusJSON `json:"statuses"`
	} `json:"recipients"`
}

func init() {
	schemas["OrganId"] = OrganIdJSON{}
	schemas["Agency"] = AgencyJSON{}
	schemas["AgencyList"] = struct {
		Items []AgencyJSON `json:"items"`
	}{}
	schemas["AgencyImport"] = struct {
		Imported int `json:"imported"`
	}{}
	schemas["Received"] = ReceivedJSON{}
	schemas["ReceivedList"] = struct {
		Items []ReceivedJSON `json:"items"`
	}{}
	schemas["ExternalRecipients"] = ExternalRecipients{}
	schemas["Replacement"] = Replacement{}
	schemas["ExchangeReport"] = ExchangeReportJSON{}
}

var errNoExchange = errors.New("the document exchange is not configured")

// failExchange answers 503 when the axis is down, else as api.fail does.
func (api *API) failExchange(c *gin.Context, err error) {
	var ue *interchange.UnavailableError
	switch {
	case errors.As(err, &ue):
		Problem(c, http.StatusServiceUnavailable, "exchange-unavailable", "Trục liên thông không phản hồi / Exchange axis unavailable", err.Error())
	case errors.Is(err, errNoExchange):
		Problem(c, http.StatusServiceUnavailable, "exchange-unavailable", "Chưa cấu hình liên thông / Exchange not configured", err.Error())
	default:
		api.fail(c, err)
	}
}

func (api *API) exchange(c *gin.Context) bool {
	if api.Exchange == nil {
		api.failExchange(c, errNoExchange)
		return false
	}
	return true
}

func (api *API) getOrganId(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	id, err := api.Exchange.OrganIdOf(c.Request.Context(), current(c).user.OrgID)
	if err != nil {
		api.failExchange(c, err)
		return
	}
	c.JSON(http.StatusOK, OrganIdJSON{OrganId: id})
}

func (api *API) setOrganId(c *gin.Context) {
	var req OrganIdJSON
	if !api.exchange(c) || !bindJSON(c, &req) {
		return
	}
	if err := api.Exchange.SetOrganId(c.Request.Context(), actor(c), current(c).user.OrgID, req.OrganId); err != nil {
		api.failExchange(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) listAgencies(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	ags, err := api.Exchange.Agencies(c.Request.Context(), actor(c), current(c).user.OrgID)
	if err != nil {
		api.failExchange(c, err)
		return
	}
	items := make([]AgencyJSON, len(ags))
	for i, a := range ags {
		items[i] = AgencyJSON{OrganId: a.OrganId, Name: a.Name, ParentId: a.ParentId, Email: a.Email, Phone: a.Phone,
			Address: a.Address, Edited: a.Edited, UpdatedAt: a.UpdatedAt}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (api *API) importAgencies(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	n, err := api.Exchange.ImportAgencies(c.Request.Context(), actor(c), current(c).user.OrgID)
	if err != nil {
		api.failExchange(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"imported": n})
}

func (api *API) saveAgency(c *gin.Context) {
	var req AgencyJSON
	if !api.exchange(c) || !bindJSON(c, &req) {
		return
	}
	if req.OrganId != "" && req.OrganId != c.Param("organ") {
		invalid(c, map[string]string{"organ_id": "must match the path"})
		return
	}
	err := api.Exchange.SaveAgency(c.Request.Context(), actor(c), interchange.Agency{OrgID: current(c).user.OrgID, OrganId: c.Param("organ"),
		Name: req.Name, ParentId: req.ParentId, Email: req.Email, Phone: req.Phone, Address: req.Address})
	if err != nil {
		api.failExchange(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) deleteAgency(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	if err := api.Exchange.DeleteAgency(c.Request.Context(), actor(c), current(c).user.OrgID, c.Param("organ")); err != nil {
		api.failExchange(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) exchangeQueue(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	items, err := api.Exchange.Queue(c.Request.Context(), actor(c), current(c).user.OrgID)
	if err != nil {
		api.failExchange(c, err)
		return
	}
	out := make([]ReceivedJSON, len(items))
	for i, it := range items {
		out[i] = receivedJSON(it)
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) getReceived(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	it, err := api.Exchange.Item(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.failExchange(c, err)
		return
	}
	c.JSON(http.StatusOK, receivedJSON(it))
}

func (api *API) acceptReceived(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	d, err := api.Exchange.Accept(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.failExchange(c, err)
		return
	}
	c.JSON(http.StatusOK, documentJSON(d))
}

func (api *API) reasonCall(c *gin.Context, fn func(reason string) error) {
	var req struct {
		Reason string `json:"reason"`
	}
	if !api.exchange(c) || !bindJSON(c, &req) {
		return
	}
	if err := fn(req.Reason); err != nil {
		api.failExchange(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) refuseReceived(c *gin.Context) {
	api.reasonCall(c, func(r string) error { return api.Exchange.Refuse(c.Request.Context(), actor(c), c.Param("id"), r) })
}

func (api *API) refuseRecall(c *gin.Context) {
	api.reasonCall(c, func(r string) error {
		return api.Exchange.RefuseRecall(c.Request.Context(), actor(c), c.Param("id"), r)
	})
}

func (api *API) recallDocument(c *gin.Context) {
	api.reasonCall(c, func(r string) error { return api.Exchange.Recall(c.Request.Context(), actor(c), c.Param("id"), r) })
}

func (api *API) agreeRecall(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	if err := api.Exchange.AgreeRecall(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		api.failExchange(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) setExternalRecipients(c *gin.Context) {
	var req ExternalRecipients
	if !api.exchange(c) || !bindJSON(c, &req) {
		return
	}
	if err := api.Exchange.SetExternalRecipients(c.Request.Context(), actor(c), c.Param("id"), req.OrganIds); err != nil {
		api.failExchange(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) setReplacement(c *gin.Context) {
	var req Replacement
	if !api.exchange(c) || !bindJSON(c, &req) {
		return
	}
	if err := api.Exchange.SetReplacement(c.Request.Context(), actor(c), c.Param("id"), req.DocumentID, req.BusinessType, req.Reason); err != nil {
		api.failExchange(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// ExchangeReport converts the service's report for the API and the pages.
func ExchangeReport(rep *interchange.SendReport) ExchangeReportJSON {
	var out ExchangeReportJSON
	if x := rep.Exchange; x != nil {
		out.EdxmlDocumentId, out.BusinessType, out.ReplacesDocumentID, out.RecallReason = x.EdxmlDocumentId, x.BusinessType, x.ReplacesDocumentID, x.RecallReason
	}
	for _, r := range rep.Recipients {
		row := struct {
			OrganId  string               `json:"organ_id"`
			Name     string               `json:"name"`
			Sending  string               `json:"sending"`
			Error    string               `json:"error,omitempty"`
			Statuses []ExchangeStatusJSON `json:"statuses"`
		}{OrganId: r.OrganId, Name: r.Name, Statuses: []ExchangeStatusJSON{}}
		for _, p := range r.Packages {
			if p.BusinessType != 1 { // the document's own package, not the recall
				row.Sending, row.Error = p.State, p.LastError
			}
		}
		for _, s := range r.Statuses {
			row.Statuses = append(row.Statuses, ExchangeStatusJSON{Code: s.Code, Name: statusName(s.Code), Description: s.Description,
				Staff: s.Staff, Department: s.Department, At: s.At})
		}
		out.Recipients = append(out.Recipients, row)
	}
	return out
}

func statusName(code string) string {
	return map[string]string{"01": "Đã đến", "02": "Từ chối tiếp nhận", "03": "Đã tiếp nhận", "04": "Phân công", "05": "Đang xử lý",
		"06": "Hoàn thành", "13": "Lấy lại / thu hồi", "15": "Đồng ý thu hồi", "16": "Từ chối thu hồi"}[code]
}

func (api *API) exchangeReport(c *gin.Context) {
	if !api.exchange(c) {
		return
	}
	rep, err := api.Exchange.Report(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.failExchange(c, err)
		return
	}
	c.JSON(http.StatusOK, ExchangeReport(rep))
}
