package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/httperr"
	"vanban/internal/workflow"
)

// upload is a multipart request: a JSON "metadata" part (optional, first)
// and one "file" part, streamed straight into the blob store without
// touching the disk or holding the file in memory.
type upload struct {
	file        workflow.File
	name        string
	contentType string
}

// readUpload reads the multipart body. meta (may be nil) receives the
// metadata part. When wantPDF is set, the file must start like a PDF and
// open with our reader; otherwise it is refused with 422 and removed again.
func (api *API) readUpload(c *gin.Context, meta any, wantPDF bool) (*upload, bool) {
	ct, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		Problem(c, http.StatusUnsupportedMediaType, "multipart-required", "Cần gửi dạng multipart/form-data / multipart/form-data required",
			`send a "metadata" JSON part and a "file" part`)
		return nil, false
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, api.MaxUpload+maxJSONBody)
	mr := multipart.NewReader(body, params["boundary"])
	var up *upload
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			api.badUpload(c, clientError{Err: err})
			return nil, false
		}
		switch part.FormName() {
		case "metadata":
			if meta == nil {
				invalid(c, map[string]string{"metadata": "this request takes no metadata"})
				return nil, false
			}
			dec := json.NewDecoder(io.LimitReader(part, maxJSONBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(meta); err != nil {
				Problem(c, http.StatusBadRequest, "bad-json", "Dữ liệu JSON không hợp lệ / Malformed JSON", "metadata: "+err.Error())
				return nil, false
			}
		case "file":
			if up != nil {
				invalid(c, map[string]string{"file": "send one file per request"})
				return nil, false
			}
			if up, err = api.storePart(c, part, wantPDF); err != nil {
				api.badUpload(c, err)
				return nil, false
			}
		default:
			invalid(c, map[string]string{part.FormName(): "unknown part; send metadata and file"})
			return nil, false
		}
	}
	if up == nil {
		invalid(c, map[string]string{"file": "a file part is required"})
		return nil, false
	}
	return up, true
}

// storePart streams the file part into the blob store through files.Store:
// a PDF is checked and refused (and removed) when it is not one; any other
// file is stored as bytes, its claimed type kept only as a label.
func (api *API) storePart(c *gin.Context, part *multipart.Part, wantPDF bool) (*upload, error) {
	name := strings.TrimSpace(part.FileName())
	if len(name) > 255 {
		name = name[:255]
	}
	r := clientReader{&capped{r: part, left: api.MaxUpload, max: api.MaxUpload}}
	ctx := c.Request.Context()
	if wantPDF {
		f, err := api.Files.PutPDF(ctx, r, name)
		if err != nil {
			return nil, err
		}
		return &upload{file: f, name: name, contentType: "application/pdf"}, nil
	}
	f, err := api.Files.PutFile(ctx, r)
	if err != nil {
		return nil, err
	}
	ctype := part.Header.Get("Content-Type")
	if ctype == "" || len(ctype) > 100 {
		ctype = "application/octet-stream"
	}
	return &upload{file: f, name: name, contentType: ctype}, nil
}

// clientError marks a failure to read what the client sent (a malformed or
// cut multipart body, an upload over the limit), as opposed to a failure of
// our storage while writing it.
type clientError = httperr.BadRequest

// capped fails a file part larger than max, before the store has taken
// more than max bytes of it.
type capped struct {
	r         io.Reader
	left, max int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte past the limit tells a file of exactly the limit from
		// a larger one.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, &http.MaxBytesError{Limit: c.max}
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// clientReader tags the errors of reading the request body as clientError,
// so that they are not mistaken for storage errors after the store wraps
// them.
type clientReader struct{ r io.Reader }

func (cr clientReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if err != nil && err != io.EOF {
		err = clientError{Err: err}
	}
	return n, err
}

func (api *API) badUpload(c *gin.Context, err error) {
	if files.IsBadFile(err) {
		Problem(c, http.StatusUnprocessableEntity, "not-pdf", "Tệp không phải PDF hợp lệ / Not a valid PDF", document.ErrorMessage(err))
		return
	}
	api.fail(c, err)
}
