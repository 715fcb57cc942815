package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/httperr"
)

// fail answers err as a problem document, as httperr classifies it (the
// pages use the same table). Domain errors keep their message (it is
// written for users); anything else is logged and answered without
// internals.
func (api *API) fail(c *gin.Context, err error) {
	cl := httperr.Classify(c.Request.Context(), err)
	switch {
	case cl.Code == httperr.CodeCanceled:
		// The client went away; nobody reads the answer.
		c.AbortWithStatus(cl.Status)
		return
	case cl.Internal:
		api.Logger.Error("request failed", "path", c.Request.URL.Path, "code", cl.Code, "err", err)
	case cl.Code == httperr.CodeUnavailable:
		api.Logger.Warn("dependency unavailable", "path", c.Request.URL.Path, "err", err)
	}
	p := ProblemDetails{Status: cl.Status, Code: cl.Code, Title: cl.Title, Detail: cl.Detail, Instance: c.Request.URL.Path}
	if cl.Field != "" {
		p.Errors = map[string]string{cl.Field: cl.Detail}
	}
	WriteProblem(c, p)
}

// invalid answers 422 with field-level messages.
func invalid(c *gin.Context, fields map[string]string) {
	var parts []string
	for k, v := range fields {
		parts = append(parts, k+": "+v)
	}
	WriteProblem(c, ProblemDetails{Status: http.StatusUnprocessableEntity, Code: document.EINVALID,
		Title: httperr.Classify(nil, document.ErrInvalid).Title, Detail: strings.Join(parts, "; "), Errors: fields,
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
