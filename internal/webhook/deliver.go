package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Job is one outbox row claimed for delivery, with what is needed to send it.
type Job struct {
	ID         string // outbox row id, sent as X-Vanban-Delivery
	EndpointID string
	URL        string
	Secret     string
	Event      string
	Payload    json.RawMessage
	CreatedAt  time.Time
	Attempt    int // 1 for the first attempt; counted at claim time so a crash mid-send still counts
	// ClaimToken identifies this claim; finishing with a stale token (the
	// lease ran out and another worker took the row) is refused.
	ClaimToken string
}

// Attempt is one recorded delivery attempt (a row of webhook_deliveries).
type Attempt struct {
	OutboxID   string
	Attempt    int
	StatusCode int // 0 when no HTTP answer was received
	Duration   time.Duration
	Error      string // empty on success
	At         time.Time
}

// Outcome is what a Deliverer decided after an attempt.
type Outcome struct {
	State         State     // StateDelivered, StatePending (retry) or StateDead
	NextAttemptAt time.Time // for StatePending
	Attempt       Attempt
}

// Message is an outbox row as listed for administrators.
type Message struct {
	ID            string
	EndpointID    string
	Event         string
	Payload       json.RawMessage
	State         State
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   time.Time
}

// Queue is the outbox as the Deliverer uses it. *store.DB implements it.
type Queue interface {
	// ClaimWebhookJobs returns up to limit pending rows due at now and
	// hides them from other claimers for lease. Two concurrent claimers
	// never receive the same row.
	ClaimWebhookJobs(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error)
	// FinishWebhookJob records the attempt and moves the row to o.State.
	// It returns ECONFLICT when the claim was lost (the attempt is still
	// recorded).
	FinishWebhookJob(ctx context.Context, j Job, o Outcome) error
}

// Options tune a Deliverer. Zero values take the defaults in brackets.
type Options struct {
	Timeout     time.Duration // per request, connection to last byte [10s]
	MaxAttempts int           // attempts before a row is dead [10]
	BaseDelay   time.Duration // delay before the first retry [30s]
	MaxDelay    time.Duration // cap on a retry delay [6h]
	Poll        time.Duration // how often an idle deliverer looks for due rows [5s]
	Batch       int           // rows claimed, and sent in parallel, at once [8]
	// Targets are the addresses deliveries may reach [public unicast
	// only]; see Targets.
	Targets *Targets
	// Client sends the requests [Targets.Client(): no redirects, no
	// environment proxy, every connection's address checked]. Its own
	// Timeout, if any, applies as well as Timeout. A Client given here
	// bypasses the address check; tests only.
	Client    *http.Client
	Logger    *slog.Logger     // [slog.Default()]
	Now       func() time.Time // the clock [time.Now]
	Jitter    func() float64   // in [0, 1), spreads retries [math/rand/v2.Float64]
	UserAgent string           // [vanban-webhook/1]
}

// Deliverer sends due outbox rows. Several may run against one database
// (several server processes): claims never overlap.
type Deliverer struct {
	q    Queue
	opt  Options
	wake chan struct{}
}

// Wake makes Run claim at once: an event was queued (here, or on another
// node: store.ListenWork).
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// New returns a Deliverer reading q. Start it with Run.
func New(q Queue, o Options) *Deliverer {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 30 * time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 6 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 8
	}
	if o.Client == nil {
		o.Client = o.Targets.Client()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.UserAgent == "" {
		o.UserAgent = "vanban-webhook/1"
	}
	return &Deliverer{q: q, opt: o, wake: make(chan struct{}, 1)}
}

// lease is how long a claimed row stays hidden: longer than one request can
// take, so a row is only reclaimed when its worker died.
func (d *Deliverer) lease() time.Duration { return 2*d.opt.Timeout + 30*time.Second }

// Run delivers until ctx is done, then returns nil once the attempts in
// flight have been recorded. Queue errors (the database restarting) are
// logged and retried at the next poll rather than stopping delivery.
func (d *Deliverer) Run(ctx context.Context) error {
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.opt.Logger.Error("webhook: claiming due deliveries", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && n == d.opt.Batch {
			continue // a full batch: there may be more due right now
		}
		t := time.NewTimer(d.opt.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-d.wake:
			t.Stop()
		}
	}
}

// RunOnce claims one batch of due rows, sends them in parallel, records the
// outcomes, and returns how many it claimed.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	jobs, err := d.q.ClaimWebhookJobs(ctx, d.opt.Now(), d.opt.Batch, d.lease())
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, j)
		}()
	}
	wg.Wait()
	return len(jobs), nil
}

// deliver makes one attempt and records it. The outcome is recorded with a
// context that outlives a shutdown so that a request already answered is
// not sent again after the restart.
func (d *Deliverer) deliver(ctx context.Context, j Job) {
	o := d.attempt(ctx, j)
	log := d.opt.Logger.With("delivery", j.ID, "endpoint", j.EndpointID, "event", j.Event, "attempt", j.Attempt)
	switch o.State {
	case StateDelivered:
		log.Debug("webhook delivered", "status", o.Attempt.StatusCode, "duration", o.Attempt.Duration)
	case StatePending:
		log.Warn("webhook attempt failed; will retry", "err", o.Attempt.Error, "next_attempt_at", o.NextAttemptAt)
	case StateDead:
		log.Error("webhook delivery abandoned", "err", o.Attempt.Error)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.q.FinishWebhookJob(fctx, j, o); err != nil {
		log.Error("webhook: recording the attempt", "err", err)
	}
}

// envelope is the body of every delivery. It is built from the stored row
// alone, so every retry of a delivery sends the same bytes.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// Body returns the JSON body a delivery of j carries.
func Body(j Job) ([]byte, error) {
	return json.Marshal(envelope{ID: j.ID, Type: j.Event, CreatedAt: j.CreatedAt.UTC(), Data: j.Payload})
}

// attempt sends j once and decides what happens next.
func (d *Deliverer) attempt(ctx context.Context, j Job) Outcome {
	start := d.opt.Now()
	a := Attempt{OutboxID: j.ID, Attempt: j.Attempt, At: start}
	status, retryAfter, err := d.post(ctx, j, start)
	a.StatusCode = status
	a.Duration = d.opt.Now().Sub(start)
	o := Outcome{Attempt: a}
	switch {
	case err == nil:
		o.State = StateDelivered
		return o
	case errors.Is(err, errPermanent):
		o.State = StateDead
	case j.Attempt >= d.opt.MaxAttempts:
		o.State = StateDead
		err = fmt.Errorf("%w (gave up after %d attempts)", err, j.Attempt)
	default:
		o.State = StatePending
		delay := Backoff(j.Attempt, d.opt.BaseDelay, d.opt.MaxDelay, d.opt.Jitter())
		// A receiver that says when to come back (429, 503) is obeyed,
		// within MaxDelay, when that is later than our own schedule.
		if retryAfter > delay {
			delay = min(retryAfter, d.opt.MaxDelay)
		}
		o.NextAttemptAt = d.opt.Now().Add(delay)
	}
	o.Attempt.Error = err.Error()
	return o
}

// errPermanent marks failures that retrying cannot fix.
var errPermanent = errors.New("permanent failure")

// errDeliveryFailed is every failure without an HTTP answer.
var errDeliveryFailed = errors.New("delivery failed")

// post sends j signed at now. It returns the HTTP status (0 without an
// answer), the receiver's Retry-After, and nil only for a 2xx.
func (d *Deliverer) post(ctx context.Context, j Job, now time.Time) (int, time.Duration, error) {
	// The URL was checked when the endpoint was registered; check again so
	// a row edited in the database cannot turn the deliverer into a
	// file: or gopher: client.
	if err := CheckURL(j.URL); err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errPermanent, err)
	}
	body, err := Body(j)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: payload is not JSON: %v", errPermanent, err)
	}
	rctx, cancel := context.WithTimeout(ctx, d.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, j.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errPermanent, err)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.opt.UserAgent)
	req.Header.Set(HeaderEvent, j.Event)
	req.Header.Set(HeaderDelivery, j.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(j.Secret, ts, body))
	resp, err := d.opt.Client.Do(req)
	if err != nil {
		// What is stored and shown says no more than this: the kind of
		// network error (refused, reset, timeout, no route) would map the
		// ports of whatever the URL points at.
		if errors.Is(err, ErrForbiddenTarget) {
			return 0, 0, fmt.Errorf("%w: %v", errPermanent, ErrForbiddenTarget)
		}
		d.opt.Logger.Debug("webhook: no answer", "endpoint", j.EndpointID, "err", err)
		return 0, 0, errDeliveryFailed
	}
	defer resp.Body.Close()
	// The answer's body is never read into the delivery log: a webhook
	// must not become a way to read internal pages. Drain a bounded
	// amount so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return code, 0, nil
	}
	msg := fmt.Errorf("HTTP %d %s", code, http.StatusText(code))
	switch {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return code, retryAfter(resp.Header.Get("Retry-After"), now), msg
	case code >= 400 && code < 500:
		// The receiver rejects this request as such (bad signature, gone,
		// unknown event): sending it again will not change its mind.
		return code, 0, fmt.Errorf("%w: %v", errPermanent, msg)
	default:
		return code, retryAfter(resp.Header.Get("Retry-After"), now), msg
	}
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// clean makes a response snippet safe to store and log on one line.
func clean(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200]) + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// Backoff is the delay after failed attempt number attempt (1-based):
// base·2^(attempt-1), capped at max, of which the upper half is scaled by
// jitter in [0, 1). Half is kept fixed so a retry never comes back almost
// at once; the other half spreads retries of many rows that failed together
// (a receiver outage) so they do not all return in the same second.
func Backoff(attempt int, base, max time.Duration, jitter float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := float64(base) * math.Pow(2, float64(attempt-1))
	if d > float64(max) || math.IsInf(d, 0) {
		d = float64(max)
	}
	jitter = math.Min(math.Max(jitter, 0), 1)
	return time.Duration(d/2 + d/2*jitter)
}
