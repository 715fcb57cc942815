package exchange

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HTTPError maps an HTTP answer that is not a success to an *Error: 401
// and 403 unauthorized, 404 not found, other 4xx rejected, the rest
// unavailable. The body's first 2 KiB go into the message (a JSON "error"
// field when there is one).
func HTTPError(op string, resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	msg := strings.TrimSpace(string(b))
	var j struct {
		Error     string `json:"error"`
		ErrorDesc string `json:"errorDesc"`
	}
	if json.Unmarshal(b, &j) == nil {
		if j.Error != "" {
			msg = j.Error
		} else if j.ErrorDesc != "" {
			msg = j.ErrorDesc
		}
	}
	msg = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, msg)
	switch c := resp.StatusCode; {
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return &Error{Kind: KindUnauthorized, Op: op, Msg: msg}
	case c == http.StatusNotFound:
		return &Error{Kind: KindNotFound, Op: op, Msg: msg}
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests:
		return &Error{Kind: KindUnavailable, Op: op, Msg: msg}
	case c >= 400 && c < 500:
		return &Error{Kind: KindRejected, Op: op, Msg: msg}
	}
	return &Error{Kind: KindUnavailable, Op: op, Msg: msg}
}
