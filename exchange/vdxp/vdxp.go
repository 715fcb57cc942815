// Package vdxp is the exchange.Transport for the national document
// interconnection axis (Trục liên thông văn bản quốc gia, VDXP) and the
// provincial axes that offer the same operations, registered as "vdxp":
//
//	vdxp:https://axis.example.gov.vn/api?system=000.00.12.H40&secret-env=AXIS_SECRET
//
// Every request carries the system id and secret the axis operator issued
// (headers systemId and secret). The operations, each a POST to a path
// that the URI can override:
//
//	send-path=/sendEdoc               body: the edXML; headers from, to, servicetype=eDoc, messagetype=edoc|status
//	list-path=/getReceivedEdocList    headers organId, servicetype, messagetype; JSON {status, data:[{docId, from, to, messagetype, created_time, documentId}]}
//	get-path=/getEdoc                 header docId; body: the edXML
//	status-path=/updateStatus         headers docId, status=done: acknowledges receipt
//	agencies-path=/getAgenciesList    JSON {status, data:[{code, name, pid, mail, mobile, address}]}
//
// Answers are JSON {status: "OK"|"FAIL", errorCode, errorDesc, ...}; a FAIL
// is a rejection, an HTTP error is mapped by exchange.HTTPError. The field
// names follow the axis SDK in use by provincial systems; deployments whose
// axis differs set the paths.
package vdxp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"vanban/exchange"
)

func init() { exchange.Register("vdxp", open) }

// Client is a connection to an axis as one system.
type Client struct {
	endpoint *url.URL
	system   string
	secret   string
	paths    map[string]string
	http     *http.Client
}

var _ exchange.Transport = (*Client)(nil)

var defaultPaths = map[string]string{
	"send": "/sendEdoc", "list": "/getReceivedEdocList", "get": "/getEdoc",
	"status": "/updateStatus", "agencies": "/getAgenciesList",
}

func open(u *url.URL, env exchange.Env) (exchange.Transport, error) {
	ep, err := exchange.Endpoint(u)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	system := q.Get("system")
	if system == "" {
		return nil, &exchange.Error{Kind: exchange.KindConfig, Msg: "vdxp: system= is required"}
	}
	secret, err := exchange.Secret(q, env)
	if err != nil {
		return nil, err
	}
	c := New(ep.String(), system, secret, nil)
	for op := range defaultPaths {
		if p := q.Get(op + "-path"); p != "" {
			if !strings.HasPrefix(p, "/") {
				return nil, &exchange.Error{Kind: exchange.KindConfig, Msg: "vdxp: " + op + "-path must start with /"}
			}
			c.paths[op] = p
		}
	}
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, &exchange.Error{Kind: exchange.KindConfig, Msg: "vdxp: timeout= is not a duration"}
		}
		c.http.Timeout = d
	}
	return c, nil
}

// New returns a client of the axis at endpoint with the default paths.
func New(endpoint, system, secret string, hc *http.Client) *Client {
	u, _ := url.Parse(strings.TrimRight(endpoint, "/"))
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	paths := map[string]string{}
	for k, v := range defaultPaths {
		paths[k] = v
	}
	return &Client{endpoint: u, system: system, secret: secret, paths: paths, http: hc}
}

type answer struct {
	Status    string          `json:"status"`
	ErrorCode string          `json:"errorCode"`
	ErrorDesc string          `json:"errorDesc"`
	DocID     json.RawMessage `json:"docId"`
	Data      json.RawMessage `json:"data"`
}

func (c *Client) call(ctx context.Context, op string, hdr map[string]string, body io.Reader) (*http.Response, error) {
	u := *c.endpoint
	u.Path = strings.TrimRight(u.Path, "/") + c.paths[op]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, &exchange.Error{Kind: exchange.KindConfig, Op: op, Msg: "building request", Err: err}
	}
	req.Header.Set("systemId", c.system)
	req.Header.Set("secret", c.secret)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &exchange.Error{Kind: exchange.KindUnavailable, Op: op, Msg: "axis unreachable", Err: err}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, exchange.HTTPError(op, resp)
	}
	return resp, nil
}

func (c *Client) callJSON(ctx context.Context, op string, hdr map[string]string, body io.Reader) (*answer, error) {
	resp, err := c.call(ctx, op, hdr, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&a); err != nil {
		return nil, &exchange.Error{Kind: exchange.KindUnavailable, Op: op, Msg: "unreadable answer from the axis", Err: err}
	}
	if !strings.EqualFold(a.Status, "OK") {
		kind := exchange.KindRejected
		if a.ErrorCode == "401" || a.ErrorCode == "403" || strings.Contains(strings.ToLower(a.ErrorDesc), "secret") {
			kind = exchange.KindUnauthorized
		}
		return nil, &exchange.Error{Kind: kind, Op: op, Msg: fmt.Sprintf("axis answered %s %s: %s", a.Status, a.ErrorCode, a.ErrorDesc)}
	}
	return &a, nil
}

// flexString reads a JSON string or number (axes differ).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// Agencies lists the agencies connected to the axis.
func (c *Client) Agencies(ctx context.Context) ([]exchange.Agency, error) {
	a, err := c.callJSON(ctx, "agencies", nil, nil)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Code, Name, Pid, Mail, Mobile, Address flexString
	}
	if err := json.Unmarshal(a.Data, &rows); err != nil {
		return nil, &exchange.Error{Kind: exchange.KindUnavailable, Op: "agencies", Msg: "unreadable agency list", Err: err}
	}
	out := make([]exchange.Agency, 0, len(rows))
	for _, r := range rows {
		out = append(out, exchange.Agency{OrganId: string(r.Code), Name: string(r.Name), ParentId: string(r.Pid),
			Email: string(r.Mail), Phone: string(r.Mobile), Address: string(r.Address)})
	}
	return out, nil
}

func messageType(k exchange.MessageKind) string {
	if k == exchange.KindStatus {
		return "status"
	}
	return "edoc"
}

// Send posts a package or a status message. The axis has no idempotency
// key; a resend after a lost answer may arrive twice, which receivers
// absorb (same DocumentId from the same agency changes nothing).
func (c *Client) Send(ctx context.Context, m exchange.Outgoing) (string, error) {
	a, err := c.callJSON(ctx, "send", map[string]string{
		"from": m.From, "to": strings.Join(m.To, ","), "servicetype": "eDoc", "messagetype": messageType(m.Kind),
		"Content-Type": "application/xml",
	}, m.Body)
	if err != nil {
		return "", err
	}
	var id flexString
	if len(a.DocID) > 0 {
		if err := json.Unmarshal(a.DocID, &id); err != nil {
			return "", &exchange.Error{Kind: exchange.KindUnavailable, Op: "send", Msg: "unreadable docId", Err: err}
		}
	}
	return string(id), nil
}

// Received lists packages and status messages waiting for organId.
func (c *Client) Received(ctx context.Context, organId string) ([]exchange.Received, error) {
	var out []exchange.Received
	for _, kind := range []exchange.MessageKind{exchange.KindPackage, exchange.KindStatus} {
		a, err := c.callJSON(ctx, "list", map[string]string{"organId": organId, "servicetype": "eDoc", "messagetype": messageType(kind)}, nil)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			DocID       flexString `json:"docId"`
			From        flexString `json:"from"`
			To          flexString `json:"to"`
			DocumentID  flexString `json:"documentId"`
			CreatedTime flexString `json:"created_time"`
			Size        flexString `json:"size"`
		}
		if len(a.Data) > 0 && string(a.Data) != "null" {
			if err := json.Unmarshal(a.Data, &rows); err != nil {
				return nil, &exchange.Error{Kind: exchange.KindUnavailable, Op: "list", Msg: "unreadable list", Err: err}
			}
		}
		for _, r := range rows {
			rec := exchange.Received{ID: string(r.DocID), Kind: kind, From: string(r.From), To: organId, DocumentId: string(r.DocumentID)}
			rec.Size, _ = strconv.ParseInt(string(r.Size), 10, 64)
			if ms, err := strconv.ParseInt(string(r.CreatedTime), 10, 64); err == nil {
				rec.Created = time.UnixMilli(ms).UTC()
			} else if t, err := time.Parse(time.RFC3339, string(r.CreatedTime)); err == nil {
				rec.Created = t
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

// Fetch downloads one message.
func (c *Client) Fetch(ctx context.Context, organId, id string) (io.ReadCloser, error) {
	resp, err := c.call(ctx, "get", map[string]string{"docId": id, "organId": organId}, nil)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		defer resp.Body.Close()
		var a answer
		json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a)
		return nil, &exchange.Error{Kind: exchange.KindNotFound, Op: "get", Msg: fmt.Sprintf("axis answered %s %s: %s", a.Status, a.ErrorCode, a.ErrorDesc)}
	}
	return resp.Body, nil
}

// Ack marks a message as received (updateStatus with status "done").
func (c *Client) Ack(ctx context.Context, organId, id string) error {
	_, err := c.callJSON(ctx, "status", map[string]string{"docId": id, "organId": organId, "status": "done"}, nil)
	return err
}
