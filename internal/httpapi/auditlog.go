package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"vanban/internal/audit"
)

// audited tells which routes add an audit entry of their own: the changes
// to people, roles, signing identities, seals, webhooks and credentials.
// The document flows and delegations are audited by the use cases, in the
// same transaction as the change.
func audited(rt route) bool {
	if rt.Method == http.MethodGet || rt.Public {
		return false
	}
	switch rt.Tag {
	case "directory", "webhooks":
		return rt.Path != "/delegations" && rt.Path != "/delegations/:id"
	case "auth":
		return rt.Path != "/auth/logout"
	}
	return false
}

// AuditKeyObject is where a handler that creates something puts its id, for
// the audit entry of the request.
const AuditKeyObject = "vanban.audit.object"

// auditAdministration appends an entry to the hash-chained audit log after
// a successful administration request: who, from where, which operation,
// on which object. Request bodies are not recorded (they may hold
// passwords or webhook secrets).
func (api *API) auditAdministration(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if c.Writer.Status() >= 400 {
			return
		}
		if p := current(c); p != nil {
			api.AuditRequest(c, p.user.ID, action)
		}
	}
}

// AuditRequest records a successful administration request by actorID;
// the web pages call it for their own administration forms. A failure to
// append is logged: the change has already been made.
func (api *API) AuditRequest(c *gin.Context, actorID, action string) {
	object := c.Param("id")
	if v, ok := c.Get(AuditKeyObject); ok {
		if s, ok := v.(string); ok {
			object = s
		}
	}
	api.AuditAdministration(c, actorID, action, object)
}

// AuditAdministration records a successful administration request by
// actorID on object; the pages call it for their own forms.
func (api *API) AuditAdministration(c *gin.Context, actorID, action, object string) {
	params := map[string]string{}
	for _, prm := range c.Params {
		params[prm.Key] = prm.Value
	}
	change, _ := json.Marshal(map[string]any{"method": c.Request.Method, "path": c.FullPath(), "params": params})
	_, err := api.Directory.AppendAudit(c.Request.Context(), audit.Entry{
		Time: api.now(), Actor: actorID, ClientAddr: c.ClientIP(), Action: action,
		ObjectType: "administration", ObjectID: object, Change: change,
	})
	if err != nil {
		api.Logger.Error("audit entry for an administration request", "action", action, "err", err)
	}
}
