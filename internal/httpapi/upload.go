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
// metadata part. check, when given, runs before the file part is stored
// (the permission check, which may read meta): a refused request stores
// nothing. When wantPDF is set, the file must start like a PDF and open
// with our reader; otherwise it is refused with 422 and removed again. The
// file is bounded by maxFile (0: MaxUpload) and the person's upload quota.
func (api *API) readUpload(c *gin.Context, meta any, wantPDF bool, maxFile int64, check func() error) (*upload, bool) {
	if maxFile <= 0 || maxFile > api.MaxUpload {
		maxFile = api.MaxUpload
	}
	ct, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		Problem(c, http.StatusUnsupportedMediaType, "multipart-required", "Cần gửi dạng multipart/form-data / multipart/form-data required",
			`send a "metadata" JSON part and a "file" part`)
		return nil, false
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxFile+maxJSONBody)
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
			if check != nil {
				if err := check(); err != nil {
					api.fail(c, err)
					return nil, false
				}
			}
			if up, err = api.storePart(c, part, wantPDF, maxFile); err != nil {
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
func (api *API) storePart(c *gin.Context, part *multipart.Part, wantPDF bool, maxFile int64) (*upload, error) {
	name := strings.TrimSpace(part.FileName())
	if len(name) > 255 {
		name = name[:255]
	}
	ctx := c.Request.Context()
	limited, err := api.Files.Limit(ctx, actor(c).UserID, clientReader{part}, maxFile)
	if err != nil {
		return nil, err
	}
	r := limited
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

// checkUpload is the permission pre-check of an upload for a use case of
// the workflow; target is read when the file part arrives, after the
// metadata part.
func (api *API) checkUpload(c *gin.Context, target func() workflow.UploadTarget) func() error {
	return func() error {
		return api.Workflow.CheckUpload(c.Request.Context(), actor(c), target())
	}
}
