// Package httperr maps the errors of the use cases to HTTP answers, once,
// for the REST API and the pages alike: the domain's error codes to
// statuses, and the few infrastructure errors a person may meet (a file too
// large, a damaged stored file, signing not configured, a busy dependency)
// to their own codes. Anything else is ours: 500, logged, no internals shown.
package httperr

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/storage"
)

// ErrSigningUnavailable answers a signing, numbering, sealing or
// verification request on a server without signing configured.
var ErrSigningUnavailable = errors.New("signing is not configured on this server")

// Stable codes beyond the domain's (document.EINVALID, ...).
const (
	CodeTooLarge           = "too-large"
	CodeQuota              = "quota"
	CodeIntegrity          = "integrity"
	CodeSigningUnavailable = "signing-unavailable"
	CodeUnavailable        = "unavailable"
	CodeBadRequest         = "bad-request"
	CodeCanceled           = "canceled"
	CodeInternal           = "internal"
)

// Class is how one error is answered.
type Class struct {
	Status int
	// Code is stable for programs; the pages pick their message by it.
	Code string
	// Title is short, in Vietnamese and English, for problem documents.
	Title string
	// Detail is the explanation meant for people (a domain error's message),
	// "" when it would only show internals.
	Detail string
	// Field is the input the error is about, for forms ("" for none).
	Field string
	// Internal marks our failures: log them as errors.
	Internal bool
}

// BadRequest marks a failure to read what the client sent (a malformed or
// cut multipart body), as opposed to a failure of ours while handling it.
type BadRequest struct{ Err error }

func (e BadRequest) Error() string { return e.Err.Error() }
func (e BadRequest) Unwrap() error { return e.Err }

var domain = map[string]Class{
	document.EINVALID:   {Status: http.StatusUnprocessableEntity, Code: document.EINVALID, Title: "Dữ liệu không hợp lệ / Invalid input"},
	document.ECONFLICT:  {Status: http.StatusConflict, Code: document.ECONFLICT, Title: "Không thực hiện được ở trạng thái này / Conflict"},
	document.EFORBIDDEN: {Status: http.StatusForbidden, Code: document.EFORBIDDEN, Title: "Không có quyền / Forbidden"},
	document.ENOTFOUND:  {Status: http.StatusNotFound, Code: document.ENOTFOUND, Title: "Không tìm thấy / Not found"},
}

// Classify says how err is answered. ctx is the request's: a cancelled
// request whose client went away is not an error of ours.
func Classify(ctx context.Context, err error) Class {
	if c, ok := domain[document.ErrorCode(err)]; ok {
		c.Detail, c.Field = document.ErrorMessage(err), document.ErrorField(err)
		return c
	}
	var maxErr *http.MaxBytesError
	var bad BadRequest
	var quota *files.QuotaExceeded
	switch {
	case errors.As(err, &quota):
		return Class{Status: http.StatusTooManyRequests, Code: CodeQuota, Title: "Vượt hạn mức tải lên / Upload quota exceeded",
			Detail: quota.Error(), Field: "file"}
	case errors.As(err, &maxErr):
		return Class{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Title: "Tệp quá lớn / Too large",
			Detail: "the upload is larger than " + strconv.FormatInt(maxErr.Limit>>20, 10) + " MiB", Field: "file"}
	case errors.Is(err, storage.ErrIntegrity):
		// A stored file that no longer matches its digest: never served,
		// and operators must know.
		return Class{Status: http.StatusInternalServerError, Code: CodeIntegrity, Title: "Tệp lưu trữ bị hỏng / Stored file damaged",
			Detail: "the stored file does not match its digest; operators have been alerted", Internal: true}
	case errors.Is(err, storage.ErrNotExist):
		c := domain[document.ENOTFOUND]
		c.Detail = "the file is missing from storage"
		return c
	case errors.Is(err, ErrSigningUnavailable):
		return Class{Status: http.StatusServiceUnavailable, Code: CodeSigningUnavailable,
			Title: "Dịch vụ ký số chưa cấu hình / Signing unavailable", Detail: err.Error()}
	case errors.As(err, &bad):
		detail := bad.Error()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			detail = "the upload ended early"
		}
		return Class{Status: http.StatusBadRequest, Code: CodeBadRequest, Title: "Dữ liệu gửi lên không hợp lệ / Malformed request", Detail: detail}
	case errors.Is(err, context.Canceled) && ctx != nil && ctx.Err() != nil:
		return Class{Status: 499, Code: CodeCanceled, Title: "Client closed request"}
	case errors.Is(err, context.DeadlineExceeded):
		return Class{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Title: "Hệ thống đang bận / Service unavailable",
			Detail: "try again shortly"}
	}
	return Class{Status: http.StatusInternalServerError, Code: CodeInternal, Title: "Lỗi hệ thống / Internal error", Internal: true}
}
