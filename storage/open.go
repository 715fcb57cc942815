package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// OpenOptions carry what a store URL must not contain: secrets, and settings
// that belong to the server rather than the store.
type OpenOptions struct {
	// AccessKey and SecretKey are the S3 credentials. When empty, the s3
	// backend reads VANBAN_S3_ACCESS_KEY / VANBAN_S3_SECRET_KEY, or the file
	// named by VANBAN_S3_ACCESS_KEY_FILE / VANBAN_S3_SECRET_KEY_FILE.
	AccessKey string
	SecretKey string
	// LinkSecret signs the local backend's download links. When empty, a
	// random secret is generated per process, so links do not survive a
	// restart and are not valid on another replica.
	LinkSecret []byte
	// LinkBaseURL is put in front of the local backend's links
	// ("/blobs/<key>?..."), e.g. "https://vanban.example.gov.vn".
	LinkBaseURL string
	// Getenv replaces os.Getenv, so callers and tests control the
	// environment without touching the process's.
	Getenv func(string) string
}

// Env returns the value of the environment variable name, or the content
// (without trailing newline) of the file named by name+"_FILE", the
// convention for secrets kept in mounted files.
func (o OpenOptions) Env(name string) (string, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(name); v != "" {
		return v, nil
	}
	path := getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s_FILE: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Opener opens a store for a parsed URL of its scheme.
type Opener func(ctx context.Context, u *url.URL, opts OpenOptions) (Store, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a backend available to Open under scheme. Like
// database/sql.Register it panics on a duplicate or nil opener: both are
// programming errors that must fail at start-up.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if open == nil {
		panic("storage: Register opener is nil for scheme " + scheme)
	}
	if _, dup := registry[scheme]; dup {
		panic("storage: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s := make([]string, 0, len(registry))
	for k := range registry {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open opens the store named by rawURL: "file:///abs/path" or a plain path
// for the local backend, "s3://bucket?endpoint=host:9000&region=...&secure=false&prefix=..."
// for S3. The backend must have been linked in (blank import of
// vanban/storage/local or vanban/storage/s3).
func Open(ctx context.Context, rawURL string, opts OpenOptions) (Store, error) {
	u, err := parseStoreURL(rawURL)
	if err != nil {
		return nil, E("open", "", ErrInvalidURL, err)
	}
	registryMu.RLock()
	open, ok := registry[u.Scheme]
	registryMu.RUnlock()
	if !ok {
		return nil, E("open", "", ErrInvalidURL, fmt.Errorf("no backend for scheme %q (linked: %s)", u.Scheme, strings.Join(Schemes(), ", ")))
	}
	return open(ctx, u, opts)
}

func parseStoreURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("empty")
	}
	if !hasScheme(raw) {
		// A plain path. Resolve it now, so a later chdir cannot move
		// the store.
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", raw, err)
		}
		return &url.URL{Scheme: "file", Path: abs}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the whole URL, which may carry
		// credentials; say only what kind of problem it is.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, errors.New("malformed URL")
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("%s: URL needs \"//\" after the scheme", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("credentials in the URL are not allowed; pass them in OpenOptions or the environment")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u, nil
}

// hasScheme reports whether raw starts like a URL (RFC 3986 scheme and ':'),
// as opposed to a plain path.
func hasScheme(raw string) bool {
	for i, c := range raw {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}
