package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/verify"
)

// Verification is a validation report kept for a document version.
type Verification struct {
	ID         string         `json:"id"`
	VersionSeq int            `json:"version_seq"`
	Indication string         `json:"indication"` // the worst of its signatures', or NO-SIGNATURE
	CreatedBy  string         `json:"created_by,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	Report     *verify.Report `json:"report"`
}

func verificationJSON(v *workflow.Verification) Verification {
	return Verification{ID: v.ID, VersionSeq: v.VersionSeq, Indication: v.Indication, CreatedBy: v.CreatedBy,
		CreatedAt: v.CreatedAt, Report: v.Report}
}

// verifyVersion answers the newest report kept for the version (the one made
// on receipt, or the last re-run), or validates now and keeps the report.
func (api *API) verifyVersion(c *gin.Context) {
	_, ver, ok := api.version(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	kept, err := api.Workflow.LatestVerification(ctx, actor(c), c.Param("id"), ver.Seq)
	if err == nil && kept == nil {
		kept, err = api.Workflow.Verify(ctx, actor(c), c.Param("id"), ver.Seq)
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, kept.Report)
}

func (api *API) verifications(c *gin.Context) {
	all, err := api.Workflow.Verifications(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	items := make([]Verification, len(all))
	for i, v := range all {
		items[i] = verificationJSON(v)
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (api *API) verifyAgain(c *gin.Context) {
	seq := 0
	if q := c.Query("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			api.fail(c, document.Errorf(document.EINVALID, "version: a version number from 1"))
			return
		}
		seq = n
	}
	v, err := api.Workflow.Verify(c.Request.Context(), actor(c), c.Param("id"), seq)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, verificationJSON(v))
}
