package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/files"
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
		// The type is derived from the name we gave the link, never the
		// stored object's (that came from whichever upload of the same
		// bytes was first), and the digest is checked before any byte.
		name := c.Query("filename")
		if name == "" {
			name = url.PathEscape(key)
		}
		err = (&files.Store{Blobs: blobs}).Serve(c.Request.Context(), c.Writer, key, name)
		switch {
		case err == nil:
		case c.Writer.Written():
			c.Error(err)
		case errors.Is(err, storage.ErrNotExist):
			Problem(c, http.StatusNotFound, "not-found", "Không tìm thấy / Not found", "")
		case errors.Is(err, storage.ErrIntegrity):
			Problem(c, http.StatusInternalServerError, "integrity", "Tệp lưu trữ bị hỏng / Stored file damaged", "")
		default:
			Problem(c, http.StatusServiceUnavailable, "storage-unavailable", "Kho lưu trữ không sẵn sàng / Storage unavailable", "")
		}
	})
}
