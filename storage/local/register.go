package local

import (
	"context"
	"fmt"
	"net/url"

	"vanban/storage"
)

func init() {
	storage.Register("file", openURL)
}

// openURL accepts file:///abs/path (or file://localhost/abs/path). The URL
// takes no query parameters: secrets come from OpenOptions.
func openURL(ctx context.Context, u *url.URL, opts storage.OpenOptions) (storage.Store, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("file URL host must be empty, got %q", u.Host))
	}
	if u.Path == "" || u.Path[0] != '/' {
		return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("file URL needs an absolute path, e.g. file:///var/lib/vanban/blobs"))
	}
	for k := range u.Query() {
		return nil, storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("file URL takes no parameters, got %q", k))
	}
	return New(u.Path, Options{LinkSecret: opts.LinkSecret, LinkBaseURL: opts.LinkBaseURL})
}
