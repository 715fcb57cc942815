package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"vanban/internal/files"
	"vanban/internal/workflow"
)

// Signature images (Decree 30/2020, Appendix I): a leader's handwritten
// signature and the organization's seal, drawn in their visible
// signatures; checked by files.Store.CheckPNG.

func (api *API) getUserImage(c *gin.Context) {
	key, err := api.Admin.UserImage(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	api.serveBlob(c, key, "chu-ky.png")
}

func (api *API) setUserImage(c *gin.Context) {
	ctx, a, id := c.Request.Context(), actor(c), c.Param("id")
	api.storeImage(c, func() error { return api.Admin.CheckUserImage(ctx, a, id) },
		func(f workflow.File) error { return api.Admin.SetUserImage(ctx, a, id, f) })
}

func (api *API) getSealImage(c *gin.Context) {
	key, err := api.Admin.SealImage(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	api.serveBlob(c, key, "con-dau.png")
}

func (api *API) setSealImage(c *gin.Context) {
	ctx, a := c.Request.Context(), actor(c)
	api.storeImage(c, func() error { return api.Admin.CheckSealImage(ctx, a) },
		func(f workflow.File) error { return api.Admin.SetSealImage(ctx, a, f) })
}

// storeImage takes an uploaded PNG, checks that it is one (it decodes, at
// a sensible size) and records it with set; a refused image is removed
// unless the same bytes back something else. check runs before anything
// is stored, and the upload is bounded at the size of a signature image.
func (api *API) storeImage(c *gin.Context, check func() error, set func(workflow.File) error) {
	up, ok := api.readUpload(c, nil, false, files.MaxImageBytes, check)
	if !ok {
		return
	}
	err := api.Files.CheckPNG(c.Request.Context(), up.file)
	if err == nil {
		err = set(up.file)
	}
	if err != nil {
		api.Files.Discard(c.Request.Context(), up.file)
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
