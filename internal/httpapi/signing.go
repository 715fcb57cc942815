package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/signsession"
	"vanban/internal/workflow"
)

// Signing is what the API needs of the signing sessions service;
// *signsession.Service is one.
type Signing interface {
	StartLeader(ctx context.Context, a workflow.Actor, docID string) (*signsession.Session, error)
	StartBatch(ctx context.Context, a workflow.Actor, docIDs []string) ([]*signsession.Session, error)
	NumberAndDate(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error)
	Seal(ctx context.Context, a workflow.Actor, docID string) (*signsession.Session, error)
	Get(ctx context.Context, a workflow.Actor, sessionID string) (*signsession.Session, error)
	ListForSigner(ctx context.Context, a workflow.Actor) ([]*signsession.Session, error)
	Cancel(ctx context.Context, a workflow.Actor, sessionID string) (*signsession.Session, error)
	HandleCallback(ctx context.Context, providerName string, r *http.Request) (*signsession.Session, error)
	SetLayout(ctx context.Context, a workflow.Actor, docID string, l signsession.Layout) error
	Layout(ctx context.Context, a workflow.Actor, docID string) (signsession.Layout, error)
}

func (api *API) signingService(c *gin.Context) (Signing, bool) {
	if api.Signing == nil {
		api.fail(c, errNoSigning)
		return nil, false
	}
	return api.Signing, true
}

func (api *API) startSigning(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	sess, err := s.StartLeader(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/signing/sessions/"+sess.ID)
	c.JSON(http.StatusAccepted, sess)
}

// Batch is the body of POST /signing/batch.
type Batch struct {
	DocumentIDs []string `json:"document_ids"`
}

// maxBatch bounds one batch: each document is a separate prompt on the
// leader's phone.
const maxBatch = 50

func (api *API) startBatch(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	var req Batch
	if !bindJSON(c, &req) {
		return
	}
	if len(req.DocumentIDs) == 0 || len(req.DocumentIDs) > maxBatch {
		invalid(c, map[string]string{"document_ids": "between 1 and 50 documents"})
		return
	}
	sessions, err := s.StartBatch(c.Request.Context(), actor(c), req.DocumentIDs)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"items": sessions})
}

func (api *API) listSessions(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	sessions, err := s.ListForSigner(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	if sessions == nil {
		sessions = []*signsession.Session{}
	}
	c.JSON(http.StatusOK, gin.H{"items": sessions})
}

func (api *API) getSession(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	sess, err := s.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sess)
}

func (api *API) cancelSession(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	sess, err := s.Cancel(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sess)
}

// signingCallback takes a provider's completion notice. The provider
// authenticates it (HandleCallback checks); its outcome goes through the
// same compare-and-set as a poll, so repeats change nothing.
func (api *API) signingCallback(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody)
	if _, err := s.HandleCallback(c.Request.Context(), c.Param("provider"), c.Request); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) number(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	d, err := s.NumberAndDate(c.Request.Context(), actor(c), c.Param("id"))
	api.answer(c, d, err)
}

func (api *API) seal(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	sess, err := s.Seal(ctx, actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	if sess.State != "completed" {
		c.JSON(http.StatusAccepted, sess)
		return
	}
	v, err := api.Workflow.Get(ctx, actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, documentJSON(v.Document))
}

func (api *API) getLayout(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	l, err := s.Layout(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, l)
}

func (api *API) setLayout(c *gin.Context) {
	s, ok := api.signingService(c)
	if !ok {
		return
	}
	var l signsession.Layout
	if !bindJSON(c, &l) {
		return
	}
	if err := s.SetLayout(c.Request.Context(), actor(c), c.Param("id"), l); err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, l)
}
