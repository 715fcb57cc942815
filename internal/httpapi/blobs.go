package httpapi

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/storage"
)

// LinkVerifier checks a signed download link and returns the blob key it
// grants. The local blob store signs links with an HMAC; S3 links are
// presigned by the S3 server and never reach us.
type LinkVerifier func(path string, query map[string][]string, now time.Time) (key string, err error)

// MountBlobLinks serves short-lived signed download links under prefix. The
// link itself is the authorization: it was issued to a user who was allowed
// to read the blob, and it expires within minutes.
func MountBlobLinks(r *gin.Engine, prefix string, verify LinkVerifier, blobs storage.Store) {
	r.GET(prefix+"*key", func(c *gin.Context) {
		key, err := verify(c.Request.URL.Path, c.Request.URL.Query(), time.Now())
		if err != nil {
			Problem(c, http.StatusForbidden, "bad-link", "Liên kết không hợp lệ hoặc đã hết hạn / Invalid or expired link", err.Error())
			return
		}
		rc, obj, err := blobs.Get(c.Request.Context(), key)
		if errors.Is(err, storage.ErrNotExist) {
			Problem(c, http.StatusNotFound, "not-found", "Không tìm thấy / Not found", "")
			return
		}
		if err != nil {
			Problem(c, http.StatusServiceUnavailable, "storage-unavailable", "Kho lưu trữ không sẵn sàng / Storage unavailable", "")
			return
		}
		defer rc.Close()
		ct := obj.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		c.Header("Content-Type", ct)
		c.Header("Content-Length", strconv.FormatInt(obj.Size, 10))
		c.Header("Cache-Control", "private, no-store")
		c.Header("X-Content-Type-Options", "nosniff")
		if name := c.Query("filename"); name != "" {
			c.Header("Content-Disposition", storage.ContentDisposition(name))
		} else {
			c.Header("Content-Disposition", "attachment; filename=\""+url.PathEscape(key)+"\"")
		}
		c.Status(http.StatusOK)
		// An integrity failure surfaces at the end of the copy; the client
		// then sees a truncated body, which is the only honest signal left
		// once headers are sent.
		if _, err := io.Copy(c.Writer, rc); err != nil {
			c.Error(err)
		}
	})
}
