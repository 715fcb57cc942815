// Package sse writes server-sent events (the text/event-stream format of
// the HTML standard) to one HTTP response: the live notices and the
// signing status the pages show without polling.
package sse

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// KeepAlive is how often an idle stream should send a comment, so that
// proxies keep it open and a closed page is noticed by a failed write.
const KeepAlive = 20 * time.Second

// Accepts reports whether the request asked for an event stream (an
// EventSource always does). Anything else would wait on an answer that
// never ends, so handlers answer it 406.
func Accepts(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// Writer is an open event stream.
type Writer struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// Start sends the stream's headers and the reconnection delay the client
// should use. The server's write timeout would cut a long stream, so it
// is lifted for this response; the handler bounds the stream's life.
func Start(w http.ResponseWriter, retry time.Duration) (*Writer, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &Writer{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.SetWriteDeadline(time.Time{})
	return s, s.write(fmt.Sprintf("retry: %d\n: connected\n\n", retry.Milliseconds()))
}

// Event sends one event named name with v as its JSON data.
func (s *Writer) Event(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// JSON from encoding/json has no raw newlines, so one data line holds it.
	return s.write("event: " + oneLine(name) + "\ndata: " + string(b) + "\n\n")
}

// Comment sends a comment line, which clients ignore: the keep-alive.
func (s *Writer) Comment(text string) error { return s.write(": " + oneLine(text) + "\n\n") }

func (s *Writer) write(frame string) error {
	if _, err := fmt.Fprint(s.w, frame); err != nil {
		return err
	}
	return s.rc.Flush()
}

// oneLine keeps a field on its line: a newline would start a new field.
func oneLine(v string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
}
