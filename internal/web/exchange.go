package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/interchange"
	"vanban/internal/workflow"
)

// Exchange is what the pages need of the document interconnection
// (interchange.Service).
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

// exchangeRoutes are the pages of the document interconnection: the
// clerk's queue "chờ tiếp nhận", the agency directory and a sent
// document's per-recipient status table.
func exchangeRoutes() []route {
	return []route{
		{Method: "GET", Path: "/exchange", Handler: (*Server).exchangeQueue},
		{Method: "GET", Path: "/exchange/r/:id/pdf", Handler: (*Server).exchangeReceivedPDF},
		{Method: "POST", Path: "/exchange/r/:id/:action", Handler: (*Server).exchangeReceivedAction},
		{Method: "GET", Path: "/exchange/agencies", Handler: (*Server).exchangeAgencies},
		{Method: "POST", Path: "/exchange/agencies", Handler: (*Server).exchangeSaveAgency},
		{Method: "POST", Path: "/exchange/agencies/import", Handler: (*Server).exchangeImportAgencies},
		{Method: "POST", Path: "/exchange/organ", Handler: (*Server).exchangeSetOrgan},
		{Method: "GET", Path: "/d/:id/exchange", Handler: (*Server).exchangeDocument},
		{Method: "POST", Path: "/d/:id/exchange/recipients", Handler: (*Server).exchangeSetRecipients},
		{Method: "POST", Path: "/d/:id/exchange/recall", Handler: (*Server).exchangeRecall},
	}
}

func (s *Server) exchange(c *gin.Context) bool {
	if s.opt.Exchange == nil {
		s.errorPage(c, http.StatusServiceUnavailable, "Chưa cấu hình liên thông văn bản / Document exchange not configured", "")
		return false
	}
	return true
}

// exchangeFail shows an unreachable axis as 503, the rest as fail does.
func (s *Server) exchangeFail(c *gin.Context, err error) {
	var ue *interchange.UnavailableError
	if errors.As(err, &ue) {
		s.errorPage(c, http.StatusServiceUnavailable, "Trục liên thông không phản hồi / The exchange axis does not answer", err.Error())
		return
	}
	s.fail(c, err)
}

func (s *Server) exchangeQueue(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	ws := session(c)
	items, err := s.opt.Exchange.Queue(c.Request.Context(), actor(c), ws.User.OrgID)
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	organ, _ := s.opt.Exchange.OrganIdOf(c.Request.Context(), ws.User.OrgID)
	s.render(c, http.StatusOK, "exchange_queue", map[string]any{"Items": items, "Organ": organ})
}

func (s *Server) exchangeReceivedPDF(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	it, err := s.opt.Exchange.Item(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	if it.PDF.BlobKey == "" {
		s.errorPage(c, http.StatusNotFound, s.lang(c).T("err.notfound"), "")
		return
	}
	s.sendBlob(c, it.PDF.BlobKey, "van-ban-den.pdf")
}

func (s *Server) exchangeReceivedAction(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	ctx, a, id, reason := c.Request.Context(), actor(c), c.Param("id"), strings.TrimSpace(c.PostForm("reason"))
	var err error
	next := "/exchange"
	switch c.Param("action") {
	case "accept":
		d, e := s.opt.Exchange.Accept(ctx, a, id)
		if err = e; err == nil {
			next = "/d/" + d.ID
		}
	case "refuse":
		err = s.opt.Exchange.Refuse(ctx, a, id, reason)
	case "recall-agree":
		err = s.opt.Exchange.AgreeRecall(ctx, a, id)
	case "recall-refuse":
		err = s.opt.Exchange.RefuseRecall(ctx, a, id, reason)
	default:
		s.errorPage(c, http.StatusNotFound, s.lang(c).T("err.notfound"), "")
		return
	}
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) exchangeAgencies(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	ws := session(c)
	ags, err := s.opt.Exchange.Agencies(c.Request.Context(), actor(c), ws.User.OrgID)
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	organ, _ := s.opt.Exchange.OrganIdOf(c.Request.Context(), ws.User.OrgID)
	s.render(c, http.StatusOK, "exchange_agencies", map[string]any{"Agencies": ags, "Organ": organ, "Imported": c.Query("imported")})
}

func (s *Server) exchangeSaveAgency(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	ws := session(c)
	err := s.opt.Exchange.SaveAgency(c.Request.Context(), actor(c), interchange.Agency{OrgID: ws.User.OrgID,
		OrganId: c.PostForm("organ_id"), Name: c.PostForm("name"), Email: c.PostForm("email"), Phone: c.PostForm("phone"), Address: c.PostForm("address")})
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/exchange/agencies")
}

func (s *Server) exchangeImportAgencies(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	n, err := s.opt.Exchange.ImportAgencies(c.Request.Context(), actor(c), session(c).User.OrgID)
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/exchange/agencies?imported="+itoa(n))
}

func (s *Server) exchangeSetOrgan(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	if err := s.opt.Exchange.SetOrganId(c.Request.Context(), actor(c), session(c).User.OrgID, c.PostForm("organ_id")); err != nil {
		s.exchangeFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/exchange/agencies")
}

func (s *Server) exchangeDocument(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	ctx, a, id := c.Request.Context(), actor(c), c.Param("id")
	v, err := s.opt.Workflow.Get(ctx, a, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	rep, err := s.opt.Exchange.Report(ctx, a, id)
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	ags, err := s.opt.Exchange.Agencies(ctx, a, v.Document.OrgID)
	if err != nil {
		s.exchangeFail(c, err)
		return
	}
	chosen := map[string]bool{}
	for _, r := range rep.Recipients {
		chosen[r.OrganId] = true
	}
	s.render(c, http.StatusOK, "exchange_document", map[string]any{"Doc": v.Document, "Report": interchange.View(rep),
		"Agencies": ags, "Chosen": chosen, "Secret": v.Document.Confidentiality.Secret()})
}

func (s *Server) exchangeSetRecipients(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	id := c.Param("id")
	if err := s.opt.Exchange.SetExternalRecipients(c.Request.Context(), actor(c), id, c.PostFormArray("organ_id")); err != nil {
		s.exchangeFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/d/"+id+"/exchange")
}

func (s *Server) exchangeRecall(c *gin.Context) {
	if !s.exchange(c) {
		return
	}
	id := c.Param("id")
	if err := s.opt.Exchange.Recall(c.Request.Context(), actor(c), id, c.PostForm("reason")); err != nil {
		s.exchangeFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/d/"+id+"/exchange")
}

// The timeline's names for the exchange's steps, kept here with the pages
// of the exchange rather than in the shared catalog.
func init() {
	catalogAdditions = append(catalogAdditions, func(catalog map[string]map[string]string) {
		names := map[string][2]string{
			"exchange_recipients":       {"Chọn nơi nhận bên ngoài", "Set external recipients"},
			"exchange_replaces":         {"Đánh dấu thay thế / cập nhật", "Marked as replacement or update"},
			"exchange_queued":           {"Gửi qua trục liên thông", "Queued for the exchange"},
			"exchange_refused":          {"Không gửi qua trục liên thông", "Not sent through the exchange"},
			"exchange_status":           {"Trạng thái từ nơi nhận", "Status from a recipient"},
			"exchange_recall":           {"Thu hồi văn bản đã gửi", "Recall requested"},
			"exchange_accepted":         {"Tiếp nhận qua trục liên thông", "Accepted from the exchange"},
			"exchange_recall_requested": {"Nơi gửi đề nghị thu hồi", "The sender asks to recall"},
			"exchange_recalled":         {"Đồng ý thu hồi: văn bản đã gỡ bỏ", "Recall agreed: content removed"},
			"exchange_recall_refused":   {"Từ chối thu hồi", "Recall refused"},
		}
		for k, v := range names {
			if _, ok := catalog["vi"]["action."+k]; !ok {
				catalog["vi"]["action."+k] = v[0]
			}
			if en, ok := catalog["en"]; ok {
				if _, ok := en["action."+k]; !ok {
					en["action."+k] = v[1]
				}
			}
		}
	})
}
