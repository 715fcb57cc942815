// Package webhook delivers vanban's events to outside systems (the
// provincial one-stop system, chat notifications) as signed HTTP POSTs.
//
// Events are written to an outbox in the same database transaction as the
// change they announce (store.Tx.EnqueueWebhookEvent), one row per
// subscribed endpoint, so an event exists if and only if the change
// committed. A Deliverer claims due rows, POSTs them, and records each
// attempt; failures are retried with exponential backoff until a maximum
// number of attempts, after which the row is dead. Delivery is at least
// once: a receiver deduplicates on the X-Vanban-Delivery header.
//
// Like package audit, this package owns the meaning (types, signature,
// retry policy) and declares the Queue it needs; *store.DB implements it and
// cmd wires the two together. It imports no other adapter.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"vanban/internal/document"
)

// Request headers sent with every delivery.
const (
	HeaderEvent     = "X-Vanban-Event"     // the event type, e.g. document.issued
	HeaderDelivery  = "X-Vanban-Delivery"  // the outbox row id: the same on every retry, for dedup
	HeaderTimestamp = "X-Vanban-Timestamp" // Unix seconds when this attempt was signed
	HeaderSignature = "X-Vanban-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// AllEvents in an endpoint's filter subscribes it to every event type.
const AllEvents = "*"

// State is where an outbox row is.
type State string

const (
	StatePending   State = "pending"   // waiting for its next attempt (or being attempted)
	StateDelivered State = "delivered" // a 2xx answer was received
	StateDead      State = "dead"      // refused for good, out of attempts, or its endpoint was disabled
)

// Endpoint is a receiver registered by an organization's administrator.
type Endpoint struct {
	ID    string
	OrgID string
	URL   string
	// Secret keys the HMAC. It is kept in clear because signing needs it;
	// callers showing endpoints to users must not echo it after creation.
	Secret      string
	Events      []string // event types delivered, or [AllEvents]
	Description string
	Active      bool
	CreatedAt   time.Time
	DisabledAt  time.Time // zero while active
}

// Wants reports whether the endpoint subscribes to event.
func (e *Endpoint) Wants(event string) bool {
	for _, ev := range e.Events {
		if ev == AllEvents || ev == event {
			return true
		}
	}
	return false
}

var eventName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`) })

// CheckEventName returns EINVALID unless name looks like "document.issued".
func CheckEventName(name string) error {
	if !eventName().MatchString(name) {
		return document.Errorf(document.EINVALID, "event type %q is not of the form area.action (lowercase, e.g. document.issued)", name)
	}
	return nil
}

// CheckEvents validates an endpoint's filter: at least one entry, each an
// event name or AllEvents.
func CheckEvents(events []string) error {
	if len(events) == 0 {
		return document.Errorf(document.EINVALID, "name the events the endpoint receives, or %q for all", AllEvents)
	}
	for _, ev := range events {
		if ev == AllEvents {
			continue
		}
		if err := CheckEventName(ev); err != nil {
			return err
		}
	}
	return nil
}

// CheckURL returns EINVALID unless raw is an absolute http or https URL with
// a host. Other schemes (file:, gopher:, ...) would let whoever registers an
// endpoint make the server read or talk to things it should not. Credentials
// in the URL are refused too: the URL is shown in listings and logs, and the
// HMAC signature is what authenticates vanban to the receiver.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return document.Errorf(document.EINVALID, "webhook URL %q does not parse", raw)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return document.Errorf(document.EINVALID, "webhook URL must be http or https, not %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return document.Errorf(document.EINVALID, "webhook URL %q has no host", raw)
	case u.User != nil:
		return document.Errorf(document.EINVALID, "webhook URL must not carry credentials; the receiver checks %s instead", HeaderSignature)
	case u.Fragment != "":
		return document.Errorf(document.EINVALID, "webhook URL must not have a #fragment")
	}
	return nil
}

// Sign returns the X-Vanban-Signature value for body sent at timestamp (Unix
// seconds). The timestamp is inside the MAC so an old delivery cannot be
// replayed with a fresh timestamp header.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock; it bounds the window in which a captured request can be
// replayed.
const DefaultTolerance = 5 * time.Minute

// Verify is for receivers: it checks the signature and timestamp headers of
// a delivery against the endpoint's secret and the raw request body. It
// returns EFORBIDDEN when the signature is missing or wrong and EINVALID
// when the timestamp is missing, malformed, or further than tolerance from
// now (a replay, or a badly wrong clock).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	tsText := h.Get(HeaderTimestamp)
	sig := h.Get(HeaderSignature)
	if sig == "" {
		return document.Errorf(document.EFORBIDDEN, "no %s header", HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return document.Errorf(document.EINVALID, "%s %q is not Unix seconds", HeaderTimestamp, tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return document.Errorf(document.EINVALID, "%s is %s away from now, more than the %s allowed", HeaderTimestamp, d.Round(time.Second), tolerance)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return document.Errorf(document.EFORBIDDEN, "%s is not sha256=<hex>", HeaderSignature)
	}
	// Compare MACs in constant time; comparing strings would leak how many
	// leading bytes of a forgery were right.
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, ts, body), "sha256="))
	if err != nil || !hmac.Equal(got, want) {
		return document.Errorf(document.EFORBIDDEN, "%s does not match the body", HeaderSignature)
	}
	return nil
}
