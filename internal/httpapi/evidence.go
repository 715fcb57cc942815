package httpapi

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/gin-gonic/gin"

	"vanban/internal/workflow"
)

// EvidenceBuilder writes a document's evidence package (internal/evidence).
type EvidenceBuilder interface {
	Build(ctx context.Context, a workflow.Actor, docID string, w io.Writer) error
}

// downloadEvidence sends the evidence package of a document the caller may
// see. It is built into a temporary file first, so a failure (the seal's
// signer unavailable) is a problem document, not a truncated ZIP.
func (api *API) downloadEvidence(c *gin.Context) {
	if api.Evidence == nil {
		Problem(c, http.StatusServiceUnavailable, "unavailable", "Evidence packages are not configured", "")
		return
	}
	tmp, err := os.CreateTemp("", "vanban-evidence-*.zip")
	if err != nil {
		api.fail(c, err)
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	id := c.Param("id")
	if err := api.Evidence.Build(c.Request.Context(), actor(c), id, tmp); err != nil {
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
	c.Header("Content-Disposition", `attachment; filename="evidence-`+id+`.zip"`)
	c.Header("Content-Length", strconv.FormatInt(size, 10))
	c.DataFromReader(http.StatusOK, size, "application/zip", tmp, nil)
}
