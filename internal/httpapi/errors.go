package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/storage"
)

// domainStatus maps the domain's error codes to HTTP, in one place.
var domainStatus = map[string]struct {
	status int
	title  string
}{
	document.EINVALID:   {http.StatusUnprocessableEntity, "Dữ liệu không hợp lệ / Invalid input"},
	document.ECONFLICT:  {http.StatusConflict, "Không thực hiện được ở trạng thái này / Conflict"},
	document.EFORBIDDEN: {http.StatusForbidden, "Không có quyền / Forbidden"},
	document.ENOTFOUND:  {http.StatusNotFound, "Không tìm thấy / Not found"},
}

// fail answers err as a problem document. Domain errors keep their message
// (it is written for users); anything else is logged and answered without
// internals.
func (api *API) fail(c *gin.Context, err error) {
	code := document.ErrorCode(err)
	if m, ok := domainStatus[code]; ok {
		Problem(c, m.status, code, m.title, document.ErrorMessage(err))
		return
	}
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		Problem(c, http.StatusRequestEntityTooLarge, "too-large", "Tệp quá lớn / Too large",
			"the upload is larger than "+strconv.FormatInt(maxErr.Limit>>20, 10)+" MiB")
	case errors.Is(err, storage.ErrNotExist):
		Problem(c, http.StatusNotFound, document.ENOTFOUND, domainStatus[document.ENOTFOUND].title, "the file is missing from storage")
	case errors.Is(err, storage.ErrIntegrity):
		api.Logger.Error("stored file fails its integrity check", "path", c.Request.URL.Path, "err", err)
		Problem(c, http.StatusInternalServerError, "integrity", "Tệp lưu trữ bị hỏng / Stored file damaged",
			"the stored file does not match its digest; operators have been alerted")
	case errors.Is(err, errNoSigning):
		Problem(c, http.StatusServiceUnavailable, "signing-unavailable", "Dịch vụ ký số chưa cấu hình / Signing unavailable", err.Error())
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		c.AbortWithStatus(499)
	case errors.Is(err, context.DeadlineExceeded):
		api.Logger.Warn("dependency unavailable", "path", c.Request.URL.Path, "err", err)
		Problem(c, http.StatusServiceUnavailable, "unavailable", "Hệ thống đang bận / Service unavailable", "try again shortly")
	default:
		api.Logger.Error("request failed", "path", c.Request.URL.Path, "err", err)
		Problem(c, http.StatusInternalServerError, "internal", "Lỗi hệ thống / Internal error", "")
	}
}

// invalid answers 422 with field-level messages.
func invalid(c *gin.Context, fields map[string]string) {
	var parts []string
	for k, v := range fields {
		parts = append(parts, k+": "+v)
	}
	WriteProblem(c, ProblemDetails{Status: http.StatusUnprocessableEntity, Code: document.EINVALID,
		Title: domainStatus[document.EINVALID].title, Detail: strings.Join(parts, "; "), Errors: fields,
		Instance: c.Request.URL.Path})
}

// maxJSONBody bounds JSON request bodies; none of ours is near it.
const maxJSONBody = 1 << 20

// bindJSON decodes the request body into dst strictly: unknown fields,
// trailing data and oversized bodies are 400, so a typo in a field name is
// not silently ignored.
func bindJSON(c *gin.Context, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the body is empty; send a JSON object")
		}
		Problem(c, http.StatusBadRequest, "bad-json", "Dữ liệu JSON không hợp lệ / Malformed JSON", err.Error())
		return false
	}
	if dec.More() {
		Problem(c, http.StatusBadRequest, "bad-json", "Dữ liệu JSON không hợp lệ / Malformed JSON", "trailing data after the JSON object")
		return false
	}
	return true
}

// bindOptionalJSON is bindJSON for bodies that may be absent.
func bindOptionalJSON(c *gin.Context, dst any) bool {
	if c.Request.ContentLength == 0 {
		return true
	}
	return bindJSON(c, dst)
}

func itoa(n int) string { return strconv.Itoa(n) }

func strconvQuote(s string) string { return strconv.Quote(s) }
