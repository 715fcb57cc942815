package s3

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"vanban/storage"
)

func init() {
	storage.Register("s3", openURL)
}

// openURL accepts
//
//	s3://bucket?endpoint=host:9000&region=...&secure=false&prefix=vanban/&create=true
//
// endpoint defaults to s3.amazonaws.com, secure to true, create to true.
// Credentials come from OpenOptions, else VANBAN_S3_ACCESS_KEY /
// VANBAN_S3_SECRET_KEY (or _FILE), never from the URL.
func openURL(ctx context.Context, u *url.URL, opts storage.OpenOptions) (storage.Store, error) {
	bad := func(format string, args ...any) error {
		return storage.E("open", "", storage.ErrInvalidURL, fmt.Errorf("s3 URL: "+format, args...))
	}
	if u.Host == "" {
		return nil, bad("bucket missing (s3://bucket?endpoint=...)")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, bad("path %q not allowed; use the prefix parameter", u.Path)
	}
	o := Options{Bucket: u.Host, Endpoint: "s3.amazonaws.com", Secure: true, CreateBucket: true}
	for k, v := range u.Query() {
		if len(v) != 1 {
			return nil, bad("parameter %q given %d times", k, len(v))
		}
		var err error
		switch k {
		case "endpoint":
			o.Endpoint = v[0]
		case "region":
			o.Region = v[0]
		case "prefix":
			o.Prefix = v[0]
		case "secure":
			o.Secure, err = strconv.ParseBool(v[0])
		case "create":
			o.CreateBucket, err = strconv.ParseBool(v[0])
		case "part-size":
			o.PartSize, err = strconv.ParseInt(v[0], 10, 64)
		default:
			return nil, bad("unknown parameter %q (known: endpoint, region, prefix, secure, create, part-size)", k)
		}
		if err != nil {
			return nil, bad("parameter %q: %v", k, err)
		}
	}
	o.AccessKey, o.SecretKey = opts.AccessKey, opts.SecretKey
	var err error
	if o.AccessKey == "" {
		if o.AccessKey, err = opts.Env("VANBAN_S3_ACCESS_KEY"); err != nil {
			return nil, storage.E("open", "", storage.ErrInvalidURL, err)
		}
	}
	if o.SecretKey == "" {
		if o.SecretKey, err = opts.Env("VANBAN_S3_SECRET_KEY"); err != nil {
			return nil, storage.E("open", "", storage.ErrInvalidURL, err)
		}
	}
	return New(ctx, o)
}
