package httperr_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/httperr"
	"vanban/storage"
)

func TestClassify(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		err      error
		status   int
		code     string
		field    string
		detail   bool // a detail is shown to people
		internal bool
	}{
		{"invalid, with its field", nil, document.FieldErrorf("subject", document.EINVALID, "subject is required"), 422, document.EINVALID, "subject", true, false},
		{"conflict", nil, fmt.Errorf("wrapped: %w", document.Errorf(document.ECONFLICT, "already issued")), 409, document.ECONFLICT, "", true, false},
		{"forbidden", nil, document.Errorf(document.EFORBIDDEN, "needs the clerk role"), 403, document.EFORBIDDEN, "", true, false},
		{"not found", nil, document.Errorf(document.ENOTFOUND, "no such document"), 404, document.ENOTFOUND, "", true, false},
		{"too large", nil, fmt.Errorf("store: %w", &http.MaxBytesError{Limit: 200 << 20}), 413, httperr.CodeTooLarge, "file", true, false},
		{"quota", nil, &files.QuotaExceeded{Limit: 2 << 30, Used: 2 << 30}, 429, httperr.CodeQuota, "file", true, false},
		{"damaged stored file", nil, fmt.Errorf("get: %w", storage.ErrIntegrity), 500, httperr.CodeIntegrity, "", true, true},
		{"missing stored file", nil, storage.ErrNotExist, 404, document.ENOTFOUND, "", true, false},
		{"signing unavailable", nil, httperr.ErrSigningUnavailable, 503, httperr.CodeSigningUnavailable, "", true, false},
		{"malformed body", nil, httperr.BadRequest{Err: io.ErrUnexpectedEOF}, 400, httperr.CodeBadRequest, "", true, false},
		{"client gone", canceled, context.Canceled, 499, httperr.CodeCanceled, "", false, false},
		{"canceled by us, client still there", context.Background(), context.Canceled, 500, httperr.CodeInternal, "", false, true},
		{"deadline", nil, fmt.Errorf("db: %w", context.DeadlineExceeded), 503, httperr.CodeUnavailable, "", true, false},
		{"anything else", nil, fmt.Errorf("pq: password authentication failed for user vanban"), 500, httperr.CodeInternal, "", false, true},
	} {
		c := httperr.Classify(tc.ctx, tc.err)
		if c.Status != tc.status || c.Code != tc.code || c.Field != tc.field || (c.Detail != "") != tc.detail || c.Internal != tc.internal || c.Title == "" {
			t.Errorf("%s: %+v, want status %d code %s field %q detail %v internal %v", tc.name, c, tc.status, tc.code, tc.field, tc.detail, tc.internal)
		}
	}
	// A malformed body cut short reads as such, not as Go's error text.
	if c := httperr.Classify(nil, httperr.BadRequest{Err: io.ErrUnexpectedEOF}); c.Detail != "the upload ended early" {
		t.Errorf("cut body detail %q", c.Detail)
	}
	// Internals never reach the detail.
	if c := httperr.Classify(nil, fmt.Errorf("open /var/lib/vanban/secret.key: permission denied")); c.Detail != "" {
		t.Errorf("an internal error shows %q", c.Detail)
	}
}
