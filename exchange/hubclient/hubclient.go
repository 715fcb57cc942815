// Package hubclient is the exchange.Transport for vanban's own exchange hub
// (exchange/hub), registered as the "hub" scheme:
//
//	hub:https://hub.example.gov.vn/?system=ubnd-xa&secret-env=HUB_SECRET
//
// The protocol is plain HTTP with Basic authentication (system id and
// secret):
//
//	GET  /api/v1/agencies                    agencies the hub connects
//	POST /api/v1/messages                    send; X-Exchange-Kind, -From, -To, Idempotency-Key
//	GET  /api/v1/inbox/{organId}             waiting messages
//	GET  /api/v1/inbox/{organId}/{id}        one message's edXML
//	POST /api/v1/inbox/{organId}/{id}/ack    acknowledge
package hubclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"vanban/exchange"
)

func init() { exchange.Register("hub", open) }

// Client talks to one hub as one system.
type Client struct {
	base   *url.URL
	system string
	secret string
	http   *http.Client
}

var _ exchange.Transport = (*Client)(nil)

func open(u *url.URL, env exchange.Env) (exchange.Transport, error) {
	ep, err := exchange.Endpoint(u)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	system := q.Get("system")
	if system == "" {
		return nil, &exchange.Error{Kind: exchange.KindConfig, Msg: "hub: system= is required"}
	}
	secret, err := exchange.Secret(q, env)
	if err != nil {
		return nil, err
	}
	timeout := 2 * time.Minute
	if t := q.Get("timeout"); t != "" {
		if timeout, err = time.ParseDuration(t); err != nil || timeout <= 0 {
			return nil, &exchange.Error{Kind: exchange.KindConfig, Msg: "hub: timeout= is not a duration"}
		}
	}
	return New(ep.String(), system, secret, &http.Client{Timeout: timeout}), nil
}

// New returns a client of the hub at baseURL; hc nil means a client with a
// two-minute timeout.
func New(baseURL, system, secret string, hc *http.Client) *Client {
	u, _ := url.Parse(strings.TrimRight(baseURL, "/"))
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Client{base: u, system: system, secret: secret, http: hc}
}

func (c *Client) url(parts ...string) string {
	u := *c.base
	p := strings.TrimRight(u.Path, "/") + "/api/v1"
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	u.Path, u.RawPath = p, ""
	u.RawPath = u.EscapedPath()
	return u.String()
}

func (c *Client) do(ctx context.Context, op, method, target string, body io.Reader, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &exchange.Error{Kind: exchange.KindConfig, Op: op, Msg: "building request", Err: err}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.SetBasicAuth(c.system, c.secret)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &exchange.Error{Kind: exchange.KindUnavailable, Op: op, Msg: "hub unreachable", Err: err}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, exchange.HTTPError(op, resp)
	}
	return resp, nil
}

func decodeJSON(op string, resp *http.Response, v any) error {
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(v); err != nil {
		return &exchange.Error{Kind: exchange.KindUnavailable, Op: op, Msg: "unreadable answer from the hub", Err: err}
	}
	return nil
}

// Agencies lists the agencies the hub connects.
func (c *Client) Agencies(ctx context.Context) ([]exchange.Agency, error) {
	resp, err := c.do(ctx, "agencies", http.MethodGet, c.url("agencies"), nil, nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Agencies []exchange.Agency `json:"agencies"`
	}
	return out.Agencies, decodeJSON("agencies", resp, &out)
}

// Send posts a message; the hub stores it durably before answering.
func (c *Client) Send(ctx context.Context, m exchange.Outgoing) (string, error) {
	if m.Kind != exchange.KindPackage && m.Kind != exchange.KindStatus {
		return "", &exchange.Error{Kind: exchange.KindRejected, Op: "send", Msg: fmt.Sprintf("unknown message kind %q", m.Kind)}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	h.Set("X-Exchange-Kind", string(m.Kind))
	h.Set("X-Exchange-From", m.From)
	h.Set("X-Exchange-To", strings.Join(m.To, ","))
	if m.Key != "" {
		h.Set("Idempotency-Key", m.Key)
	}
	resp, err := c.do(ctx, "send", http.MethodPost, c.url("messages"), m.Body, h)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	return out.ID, decodeJSON("send", resp, &out)
}

// Received lists what waits for organId.
func (c *Client) Received(ctx context.Context, organId string) ([]exchange.Received, error) {
	resp, err := c.do(ctx, "received", http.MethodGet, c.url("inbox", organId), nil, nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Messages []exchange.Received `json:"messages"`
	}
	return out.Messages, decodeJSON("received", resp, &out)
}

// Fetch streams one waiting message.
func (c *Client) Fetch(ctx context.Context, organId, id string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, "fetch", http.MethodGet, c.url("inbox", organId, id), nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Ack acknowledges a message.
func (c *Client) Ack(ctx context.Context, organId, id string) error {
	resp, err := c.do(ctx, "ack", http.MethodPost, c.url("inbox", organId, id, "ack"), nil, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
