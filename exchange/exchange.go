// Package exchange is the seam between vanban and a document
// interconnection axis (trục liên thông văn bản): the national axis, a
// provincial one, or our own hub (exchange/hub). A Transport does what every
// axis offers: list the agencies it connects, send a package or a status
// message, list what has arrived for an agency, fetch one, and acknowledge
// it. Messages are edXML bytes (exchange/edxml); transports move them
// without holding them in memory.
//
// Transports are opened from a URI whose scheme selects the adapter, like
// signing providers:
//
//	hub:https://hub.example.gov.vn/?system=ubnd-xa&secret-env=HUB_SECRET
//	vdxp:https://axis.example.gov.vn/api?system=000.00.12.H40&secret-env=AXIS_SECRET
//
// The package knows nothing of HTTP servers, databases or vanban's documents.
package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Agency is an organization reachable through a transport.
type Agency struct {
	OrganId  string `json:"organId"`
	Name     string `json:"name"`
	ParentId string `json:"parentId,omitempty"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Address  string `json:"address,omitempty"`
}

// MessageKind tells a package from a status message.
type MessageKind string

const (
	KindPackage MessageKind = "package"
	KindStatus  MessageKind = "status"
)

// Outgoing is one message to send.
type Outgoing struct {
	Kind MessageKind
	From string   // sender's OrganId
	To   []string // recipients' OrganIds
	// Key identifies the message for the sender; a transport that supports
	// it (the hub does) turns a resend with the same From and Key into a
	// no-op, so retries after a lost answer deliver once.
	Key  string
	Body io.Reader // the edXML bytes
}

// Received describes a message waiting for an agency.
type Received struct {
	ID         string      `json:"id"`
	Kind       MessageKind `json:"kind"`
	From       string      `json:"from"`
	To         string      `json:"to"`
	DocumentId string      `json:"documentId,omitempty"`
	Size       int64       `json:"size"`
	Created    time.Time   `json:"created"`
}

// Transport is an axis connection. One connection (a system id and secret)
// may serve several organizations, so calls name the OrganId they act for.
// Errors are *Error; KindUnavailable ones are worth retrying.
type Transport interface {
	Agencies(ctx context.Context) ([]Agency, error)
	// Send delivers a package or a status message and returns the
	// transport's id for it.
	Send(ctx context.Context, m Outgoing) (id string, err error)
	// Received lists what waits for organId, oldest first.
	Received(ctx context.Context, organId string) ([]Received, error)
	// Fetch returns a waiting message's bytes; the caller closes them.
	Fetch(ctx context.Context, organId, id string) (io.ReadCloser, error)
	// Ack tells the transport the message is safely stored; it will not be
	// listed again. Acknowledging twice is not an error.
	Ack(ctx context.Context, organId, id string) error
}

// Kind classifies transport errors.
type Kind int

const (
	// KindUnavailable: the axis could not be reached or failed; retry later.
	KindUnavailable Kind = iota + 1
	// KindUnauthorized: the axis refused our system id or secret, or we may
	// not act for that OrganId.
	KindUnauthorized
	// KindRejected: the axis refused the message itself (malformed, unknown
	// recipient); retrying the same bytes will not help.
	KindRejected
	// KindNotFound: no such message (already acknowledged, or never there).
	KindNotFound
	// KindConfig: the transport URI is wrong.
	KindConfig
)

func (k Kind) String() string {
	switch k {
	case KindUnavailable:
		return "unavailable"
	case KindUnauthorized:
		return "unauthorized"
	case KindRejected:
		return "rejected"
	case KindNotFound:
		return "not_found"
	case KindConfig:
		return "config"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a transport failure.
type Error struct {
	Kind Kind
	Op   string // "send", "received", ...
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	s := "exchange"
	if e.Op != "" {
		s += " " + e.Op
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of a transport error, KindUnavailable for any
// other error (a network failure is worth a retry).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnavailable
}

// Retryable reports whether sending again later may succeed.
func Retryable(err error) bool { return KindOf(err) == KindUnavailable }

// Opener builds a transport from its URI.
type Opener func(uri *url.URL, env Env) (Transport, error)

// Env resolves secrets named in URIs (secret-env=NAME).
type Env func(name string) (string, bool)

// OSEnv reads the process environment, honouring NAME_FILE for NAME.
func OSEnv(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	if p, ok := os.LookupEnv(name + "_FILE"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", false
		}
		return strings.TrimRight(string(b), "\r\n"), true
	}
	return "", false
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes an adapter available under a URI scheme; adapters call it
// from init. It panics on a duplicate or empty scheme, like
// database/sql.Register.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if scheme == "" || open == nil {
		panic("exchange: Register with empty scheme or nil opener")
	}
	if _, dup := registry[scheme]; dup {
		panic("exchange: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open returns the transport for a URI; env nil means OSEnv. Errors never
// quote the URI, which may carry a secret.
func Open(rawURI string, env Env) (Transport, error) {
	if env == nil {
		env = OSEnv
	}
	u, err := url.Parse(rawURI)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Kind: KindConfig, Msg: "invalid exchange URI", Err: err}
	}
	registryMu.RLock()
	open, ok := registry[u.Scheme]
	registryMu.RUnlock()
	if !ok {
		return nil, &Error{Kind: KindConfig, Msg: fmt.Sprintf("unknown exchange scheme %q (registered: %s)", u.Scheme, strings.Join(Schemes(), ", "))}
	}
	return open(u, env)
}

// Secret reads the secret a URI names: secret-env=VAR, secret-file=PATH or,
// for tests only, secret=VALUE.
func Secret(q url.Values, env Env) (string, error) {
	if name := q.Get("secret-env"); name != "" {
		v, ok := env(name)
		if !ok {
			return "", &Error{Kind: KindConfig, Msg: "secret-env names " + name + ", which is not set"}
		}
		return v, nil
	}
	if p := q.Get("secret-file"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", &Error{Kind: KindConfig, Msg: "secret-file", Err: err}
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if v := q.Get("secret"); v != "" {
		return v, nil
	}
	return "", &Error{Kind: KindConfig, Msg: "no secret (secret-env= or secret-file=)"}
}

// Endpoint returns the HTTP(S) URL in an adapter URI "scheme:https://host/path?...",
// without the adapter's own query parameters.
func Endpoint(u *url.URL) (*url.URL, error) {
	raw := u.Opaque
	if raw == "" {
		return nil, &Error{Kind: KindConfig, Msg: u.Scheme + ": URI must be " + u.Scheme + ":https://host/path?..."}
	}
	ep, err := url.Parse(raw)
	if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" {
		return nil, &Error{Kind: KindConfig, Msg: u.Scheme + ": endpoint must be an http or https URL"}
	}
	return ep, nil
}
