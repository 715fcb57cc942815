package httpapi

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"vanban/internal/workflow"
	"vanban/signing/pdf"
	"vanban/storage"
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
			api.badUpload(c, clientError{err})
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
				if up != nil {
					api.discard(c, up.file.BlobKey)
				}
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

// errNotPDF marks an upload that is not a readable PDF.
type errNotPDF struct{ reason string }

func (e errNotPDF) Error() string { return "not a readable PDF: " + e.reason }

func (api *API) storePart(c *gin.Context, part *multipart.Part, wantPDF bool) (*upload, error) {
	name := strings.TrimSpace(part.FileName())
	if len(name) > 255 {
		name = name[:255]
	}
	ctype := part.Header.Get("Content-Type")
	br := bufio.NewReaderSize(clientReader{&capped{r: part, left: api.MaxUpload, max: api.MaxUpload}}, 64<<10)
	if wantPDF {
		// Check the header before storing anything: an office document or
		// an image sent by mistake gets a clear answer at once.
		head, _ := br.Peek(1024)
		if !bytes.Contains(head, []byte("%PDF-")) {
			return nil, errNotPDF{"the file does not start with %PDF-"}
		}
		ctype = "application/pdf"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	obj, err := api.Blobs.PutContentAddressed(c.Request.Context(), br, storage.PutOptions{ContentType: ctype})
	if err != nil {
		return nil, err
	}
	if obj.Size == 0 {
		return &upload{file: workflow.File{BlobKey: obj.Key}}, errNotPDF{"the file is empty"}
	}
	up := &upload{file: workflow.File{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size}, name: name, contentType: ctype}
	if wantPDF {
		if err := api.checkPDF(c, obj.Key); err != nil {
			return up, err
		}
	}
	return up, nil
}

// checkPDF opens the stored file with our PDF reader, which reads only the
// trailer, cross-reference and catalog: it catches truncated and damaged
// files, and files encrypted with a user password, that the signing steps
// would otherwise refuse much later.
func (api *API) checkPDF(c *gin.Context, key string) error {
	f, err := api.Blobs.Open(c.Request.Context(), key)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := pdf.Open(f, f.Size(), nil); err != nil {
		return errNotPDF{err.Error()}
	}
	return nil
}

// discard removes an upload that failed the PDF checks. Content-addressed
// keys are shared by identical bytes, but identical bytes fail the same
// checks, so no accepted version can be using it. (A valid PDF refused by a
// use case, say for the document's state, is not removed: identical bytes
// may back another version. It stays as an unreferenced blob.)
func (api *API) discard(c *gin.Context, key string) {
	if key == "" {
		return
	}
	if err := api.Blobs.Delete(c.Request.Context(), key); err != nil && !errors.Is(err, storage.ErrNotExist) {
		api.Logger.Warn("removing a refused upload", "key", key, "err", err)
	}
}

// clientError marks a failure to read what the client sent (a malformed or
// cut multipart body, an upload over the limit), as opposed to a failure of
// our storage while writing it.
type clientError struct{ err error }

func (e clientError) Error() string { return e.err.Error() }
func (e clientError) Unwrap() error { return e.err }

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
		err = clientError{err}
	}
	return n, err
}

func (api *API) badUpload(c *gin.Context, err error) {
	var np errNotPDF
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &np):
		Problem(c, http.StatusUnprocessableEntity, "not-pdf", "Tệp không phải PDF hợp lệ / Not a valid PDF", np.Error())
	case errors.As(err, &maxErr):
		api.fail(c, err)
	case errors.As(err, new(clientError)):
		detail := err.Error()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			detail = "the upload ended early"
		}
		Problem(c, http.StatusBadRequest, "bad-multipart", "Dữ liệu tải lên không hợp lệ / Malformed upload", detail)
	default:
		api.fail(c, err)
	}
}
