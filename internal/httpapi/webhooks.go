package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/webhook"
)

// WebhookCreate is the body of POST /webhooks. Without a secret the server
// makes one; either way it is shown only in the answer.
type WebhookCreate struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"` // e.g. ["document.issued"]; ["*"] for all
	Description string   `json:"description"`
	Secret      string   `json:"secret"`
}

// WebhookJSON describes an endpoint; Secret is set only when it is created.
type WebhookJSON struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Events      []string   `json:"events"`
	Description string     `json:"description,omitempty"`
	Active      bool       `json:"active"`
	Secret      string     `json:"secret,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
}

func webhookJSON(e *webhook.Endpoint) WebhookJSON {
	return WebhookJSON{ID: e.ID, URL: e.URL, Events: e.Events, Description: e.Description, Active: e.Active,
		CreatedAt: e.CreatedAt, DisabledAt: timePtr(e.DisabledAt)}
}

// WebhookMessageJSON is one event queued for an endpoint.
type WebhookMessageJSON struct {
	ID            string          `json:"id"`
	Event         string          `json:"event"`
	State         webhook.State   `json:"state"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
	Payload       json.RawMessage `json:"payload"`
}

// WebhookAttemptJSON is one delivery attempt.
type WebhookAttemptJSON struct {
	Attempt    int       `json:"attempt"`
	StatusCode int       `json:"status_code,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

// requireOrgAdmin answers 403 unless the user administers the whole
// organization: webhooks send its documents outward.
func (api *API) requireOrgAdmin(c *gin.Context) bool {
	_, ok := api.requireAdmin(c, current(c).user.OrgID)
	return ok
}

// ownWebhook loads the endpoint in the path, 404 for another
// organization's.
func (api *API) ownWebhook(c *gin.Context) (*webhook.Endpoint, bool) {
	if !api.requireOrgAdmin(c) {
		return nil, false
	}
	e, err := api.Directory.WebhookEndpoint(c.Request.Context(), c.Param("id"))
	if err == nil && e.OrgID != current(c).user.OrgID {
		err = document.Errorf(document.ENOTFOUND, "webhook %s not found", c.Param("id"))
	}
	if err != nil {
		api.fail(c, err)
		return nil, false
	}
	return e, true
}

func (api *API) listWebhooks(c *gin.Context) {
	if !api.requireOrgAdmin(c) {
		return
	}
	es, err := api.Directory.WebhookEndpoints(c.Request.Context(), current(c).user.OrgID)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]WebhookJSON, len(es))
	for i, e := range es {
		out[i] = webhookJSON(e) // never the secret
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) createWebhook(c *gin.Context) {
	var req WebhookCreate
	if !bindJSON(c, &req) {
		return
	}
	if !api.requireOrgAdmin(c) {
		return
	}
	req.URL = strings.TrimSpace(req.URL)
	if err := api.WebhookTargets.CheckTarget(c.Request.Context(), req.URL, nil); err != nil {
		api.fail(c, err)
		return
	}
	e := &webhook.Endpoint{OrgID: current(c).user.OrgID, URL: req.URL, Events: req.Events, Description: req.Description, Secret: req.Secret}
	if err := api.Directory.CreateWebhookEndpoint(c.Request.Context(), e); err != nil {
		api.fail(c, err)
		return
	}
	out := webhookJSON(e)
	out.Secret = e.Secret
	c.Set(AuditKeyObject, e.ID)
	c.JSON(http.StatusCreated, out)
}

func (api *API) disableWebhook(c *gin.Context) {
	e, ok := api.ownWebhook(c)
	if !ok {
		return
	}
	if err := api.Directory.DisableWebhookEndpoint(c.Request.Context(), e.ID); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) webhookMessages(c *gin.Context) {
	e, ok := api.ownWebhook(c)
	if !ok {
		return
	}
	ms, err := api.Directory.WebhookMessages(c.Request.Context(), e.ID, 100)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]WebhookMessageJSON, len(ms))
	for i, m := range ms {
		out[i] = WebhookMessageJSON{ID: m.ID, Event: m.Event, State: m.State, Attempts: m.Attempts, NextAttemptAt: timePtr(m.NextAttemptAt),
			LastError: m.LastError, CreatedAt: m.CreatedAt, DeliveredAt: timePtr(m.DeliveredAt), Payload: json.RawMessage(m.Payload)}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

// ownMessage loads the message in the path, which must belong to the
// endpoint in the path.
func (api *API) ownMessage(c *gin.Context) (webhook.Message, bool) {
	e, ok := api.ownWebhook(c)
	if !ok {
		return webhook.Message{}, false
	}
	m, err := api.Directory.WebhookMessage(c.Request.Context(), c.Param("message"))
	if err == nil && m.EndpointID != e.ID {
		err = document.Errorf(document.ENOTFOUND, "message %s not found", c.Param("message"))
	}
	if err != nil {
		api.fail(c, err)
		return webhook.Message{}, false
	}
	return m, true
}

func (api *API) webhookDeliveries(c *gin.Context) {
	m, ok := api.ownMessage(c)
	if !ok {
		return
	}
	as, err := api.Directory.WebhookDeliveries(c.Request.Context(), m.ID)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]WebhookAttemptJSON, len(as))
	for i, a := range as {
		out[i] = WebhookAttemptJSON{Attempt: a.Attempt, StatusCode: a.StatusCode, DurationMS: a.Duration.Milliseconds(), Error: a.Error, At: a.At}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) redeliverWebhook(c *gin.Context) {
	m, ok := api.ownMessage(c)
	if !ok {
		return
	}
	if err := api.Directory.RedeliverWebhookMessage(c.Request.Context(), m.ID); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
