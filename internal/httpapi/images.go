package httpapi

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"vanban/internal/store"
)

// Signature images (Decree 30/2020, Appendix I): a leader's handwritten
// signature and the organization's seal, drawn in their visible
// signatures. They are small PNGs with transparency.
const (
	maxImageBytes = 1 << 20
	maxImageSide  = 3000
)

func (api *API) getUserImage(c *gin.Context) {
	u, ok := api.targetUser(c)
	if !ok {
		return
	}
	if u.ID != current(c).user.ID {
		if _, ok := api.requireAdmin(c, u.OrgID); !ok {
			return
		}
	}
	api.serveImage(c, store.ImageOfUser, u.ID)
}

func (api *API) setUserImage(c *gin.Context) {
	u, ok := api.targetUser(c)
	if !ok {
		return
	}
	if u.ID != current(c).user.ID {
		if _, ok := api.requireAdmin(c, u.OrgID); !ok {
			return
		}
	}
	api.storeImage(c, store.ImageOfUser, u.ID)
}

func (api *API) getSealImage(c *gin.Context) {
	api.serveImage(c, store.ImageOfOrg, current(c).user.OrgID)
}

func (api *API) setSealImage(c *gin.Context) {
	org := current(c).user.OrgID
	if _, ok := api.requireAdmin(c, org); !ok {
		return
	}
	api.storeImage(c, store.ImageOfOrg, org)
}

func (api *API) serveImage(c *gin.Context, kind, owner string) {
	key, err := api.Directory.SignatureImage(c.Request.Context(), kind, owner)
	if err != nil {
		api.fail(c, err)
		return
	}
	api.serveBlob(c, key, "image/png", kind+".png")
}

// storeImage takes an uploaded PNG, checks that it is one (it decodes, at
// a sensible size) and records it.
func (api *API) storeImage(c *gin.Context, kind, owner string) {
	up, ok := api.readUpload(c, nil, false)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// A refused file is not deleted: its content-addressed blob may be a
	// document's PDF uploaded here by mistake.
	if up.file.Size > maxImageBytes {
		invalid(c, map[string]string{"file": "a signature image is at most 1 MiB"})
		return
	}
	if err := api.checkPNG(c, up.file.BlobKey); err != nil {
		var bad badImage
		if errors.As(err, &bad) {
			invalid(c, map[string]string{"file": bad.Error()})
			return
		}
		api.fail(c, err)
		return
	}
	if err := api.Directory.SetSignatureImage(ctx, kind, owner, up.file.BlobKey, up.file.SHA256, current(c).user.ID); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type badImage struct{ reason string }

func (e badImage) Error() string { return e.reason }

func (api *API) checkPNG(c *gin.Context, key string) error {
	rc, _, err := api.Blobs.Get(c.Request.Context(), key)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxImageBytes+1))
	if err != nil {
		return err
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return badImage{"not a PNG image: " + err.Error()}
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImageSide || cfg.Height > maxImageSide {
		return badImage{"the image must be between 1 and 3000 pixels on each side"}
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		return badImage{"the PNG is damaged: " + err.Error()}
	}
	return nil
}
