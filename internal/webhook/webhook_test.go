package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/webhook"
)

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// receiver is a real HTTP server standing in for the one-stop system. It
// answers with the statuses queued in replies (then 200), and keeps what it
// got.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	replies []int
	got     []received
	delay   time.Duration
	header  http.Header // added to every reply
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, replies ...int) *receiver {
	r := &receiver{t: t, replies: replies, header: http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		code := http.StatusOK
		if len(r.replies) > 0 {
			code, r.replies = r.replies[0], r.replies[1:]
		}
		delay := r.delay
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
			}
		}
		w.WriteHeader(code)
		io.WriteString(w, http.StatusText(code))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// env is a SQLite store with one organization and one endpoint pointing at
// a receiver, a clock the test moves, and a deliverer.
type env struct {
	t     *testing.T
	db    *store.DB
	org   *document.Organization
	ep    *webhook.Endpoint
	rcv   *receiver
	clock time.Time
	mu    sync.Mutex
	d     *webhook.Deliverer
	opts  webhook.Options
}

func newEnv(t *testing.T, opts webhook.Options, replies ...int) *env {
	t.Helper()
	e := &env{t: t, db: pgtest.Open(t, pgtest.SQLiteURL(t)), rcv: newReceiver(t, replies...)}
	e.clock = time.Now()
	e.org = &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}
	must(t, e.db.CreateOrganization(ctx, e.org))
	e.ep = &webhook.Endpoint{OrgID: e.org.ID, URL: e.rcv.srv.URL + "/hooks/vanban", Events: []string{"document.issued"}}
	must(t, e.db.CreateWebhookEndpoint(ctx, e.ep))
	opts.Now = e.now
	if opts.Jitter == nil {
		opts.Jitter = func() float64 { return 0.5 }
	}
	if opts.BaseDelay == 0 {
		opts.BaseDelay = time.Minute
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.Targets == nil {
		opts.Targets = loopbackAllowed(t)
	}
	e.opts = opts
	e.d = webhook.New(e.db, opts)
	return e
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.clock = e.clock.Add(d)
	e.mu.Unlock()
}

func (e *env) enqueue(payload string) webhook.Message {
	e.t.Helper()
	must(e.t, e.db.WithTx(ctx, func(tx *store.Tx) error {
		return tx.EnqueueWebhookEvent(ctx, e.org.ID, "document.issued", []byte(payload))
	}))
	ms, err := e.db.WebhookMessages(ctx, e.ep.ID, 1)
	must(e.t, err)
	// The store stamps rows with the real clock; a slow start (-race) can
	// put them after the test clock, which must not make them look early.
	e.mu.Lock()
	if e.clock.Before(ms[0].NextAttemptAt) {
		e.clock = ms[0].NextAttemptAt
	}
	e.mu.Unlock()
	return ms[0]
}

func (e *env) runOnce(want int) {
	e.t.Helper()
	n, err := e.d.RunOnce(ctx)
	must(e.t, err)
	if n != want {
		e.t.Fatalf("RunOnce handled %d rows, want %d", n, want)
	}
}

func (e *env) message(id string) webhook.Message {
	e.t.Helper()
	m, err := e.db.WebhookMessage(ctx, id)
	must(e.t, err)
	return m
}

func TestDeliverySignedAndVerifiable(t *testing.T) {
	e := newEnv(t, webhook.Options{})
	m := e.enqueue(`{"document_id":"d1","symbol":"01/QĐ-UBND","subject":"Về việc tổ chức Tết"}`)
	e.runOnce(1)
	reqs := e.rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	h := r.header
	if h.Get(webhook.HeaderEvent) != "document.issued" || h.Get(webhook.HeaderDelivery) != m.ID ||
		h.Get("Content-Type") != "application/json" || h.Get(webhook.HeaderTimestamp) != strconv.FormatInt(e.now().Unix(), 10) {
		t.Errorf("headers %v", h)
	}
	if !strings.HasPrefix(h.Get(webhook.HeaderSignature), "sha256=") {
		t.Errorf("signature %q", h.Get(webhook.HeaderSignature))
	}
	// The receiver's check, with the secret it was given at registration.
	must(t, webhook.Verify(e.ep.Secret, h, r.body, e.now().Add(20*time.Second), 5*time.Minute))
	var env struct {
		ID, Type  string
		CreatedAt time.Time `json:"created_at"`
		Data      map[string]string
	}
	must(t, json.Unmarshal(r.body, &env))
	if env.ID != m.ID || env.Type != "document.issued" || env.Data["symbol"] != "01/QĐ-UBND" || !env.CreatedAt.Equal(m.CreatedAt) {
		t.Errorf("body %s", r.body)
	}
	got := e.message(m.ID)
	if got.State != webhook.StateDelivered || got.Attempts != 1 || got.DeliveredAt.IsZero() {
		t.Errorf("row %+v", got)
	}
	atts, err := e.db.WebhookDeliveries(ctx, m.ID)
	must(t, err)
	if len(atts) != 1 || atts[0].StatusCode != 200 || atts[0].Error != "" || atts[0].Attempt != 1 {
		t.Errorf("attempts %+v", atts)
	}
	// Nothing is due any more.
	e.runOnce(0)
}

func TestVerifyRejects(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	body := []byte(`{"id":"x"}`)
	now := time.Date(2026, 2, 13, 3, 0, 0, 0, time.UTC)
	signed := func(ts time.Time, s string, b []byte) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(webhook.HeaderSignature, webhook.Sign(s, ts.Unix(), b))
		return h
	}
	must(t, webhook.Verify(secret, signed(now, secret, body), body, now, time.Minute))
	// A receiver whose clock is a little ahead of or behind ours is fine.
	must(t, webhook.Verify(secret, signed(now.Add(-50*time.Second), secret, body), body, now, time.Minute))
	must(t, webhook.Verify(secret, signed(now.Add(50*time.Second), secret, body), body, now, time.Minute))

	replayed := signed(now, secret, body)
	replayed.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10))
	cases := []struct {
		name string
		h    http.Header
		body []byte
		code string
	}{
		{"edited body", signed(now, secret, body), []byte(`{"id":"y"}`), document.EFORBIDDEN},
		{"other secret", signed(now, "another secret of enough length", body), body, document.EFORBIDDEN},
		{"too old", signed(now.Add(-2*time.Minute), secret, body), body, document.EINVALID},
		{"from the future", signed(now.Add(2*time.Minute), secret, body), body, document.EINVALID},
		{"fresh timestamp on an old signature", replayed, body, document.EFORBIDDEN},
		{"no signature", http.Header{webhook.HeaderTimestamp: {strconv.FormatInt(now.Unix(), 10)}}, body, document.EFORBIDDEN},
		{"no timestamp", http.Header{webhook.HeaderSignature: {webhook.Sign(secret, now.Unix(), body)}}, body, document.EINVALID},
		{"not hex", http.Header{webhook.HeaderTimestamp: {strconv.FormatInt(now.Unix(), 10)}, webhook.HeaderSignature: {"sha256=zz"}}, body, document.EFORBIDDEN},
		{"other scheme", http.Header{webhook.HeaderTimestamp: {strconv.FormatInt(now.Unix(), 10)}, webhook.HeaderSignature: {"md5=00"}}, body, document.EFORBIDDEN},
	}
	for _, c := range cases {
		// "fresh timestamp" moves the timestamp 2 minutes on: check it at
		// that time so only the MAC can reject it.
		at := now
		if c.name == "fresh timestamp on an old signature" {
			at = now.Add(2 * time.Minute)
		}
		if err := webhook.Verify(secret, c.h, c.body, at, time.Minute); document.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

func TestRetryAfter500ThenSuccess(t *testing.T) {
	e := newEnv(t, webhook.Options{BaseDelay: time.Minute}, 500)
	m := e.enqueue(`{"n":1}`)
	t0 := e.now()
	e.runOnce(1)
	got := e.message(m.ID)
	wantNext := t0.Add(webhook.Backoff(1, time.Minute, 6*time.Hour, 0.5)) // 45s
	if got.State != webhook.StatePending || !got.NextAttemptAt.Equal(wantNext) || !strings.Contains(got.LastError, "HTTP 500") {
		t.Fatalf("after 500: %+v (want next %v)", got, wantNext)
	}
	// Not due yet.
	e.advance(44 * time.Second)
	e.runOnce(0)
	e.advance(time.Second)
	e.runOnce(1)
	got = e.message(m.ID)
	if got.State != webhook.StateDelivered || got.Attempts != 2 {
		t.Fatalf("after retry: %+v", got)
	}
	reqs := e.rcv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	// A retry is the same delivery: same id and body, signed anew.
	if reqs[0].header.Get(webhook.HeaderDelivery) != reqs[1].header.Get(webhook.HeaderDelivery) || string(reqs[0].body) != string(reqs[1].body) {
		t.Errorf("retry differs: %v / %v", reqs[0].header, reqs[1].header)
	}
	if reqs[0].header.Get(webhook.HeaderTimestamp) == reqs[1].header.Get(webhook.HeaderTimestamp) {
		t.Errorf("retry reused the first attempt's timestamp")
	}
	must(t, webhook.Verify(e.ep.Secret, reqs[1].header, reqs[1].body, e.now(), time.Minute))
	atts, err := e.db.WebhookDeliveries(ctx, m.ID)
	must(t, err)
	if len(atts) != 2 || atts[0].StatusCode != 500 || atts[1].StatusCode != 200 || atts[0].Attempt != 1 || atts[1].Attempt != 2 {
		t.Errorf("attempts %+v", atts)
	}
}

func TestClientErrorsAreFinalExceptTimeoutAndTooMany(t *testing.T) {
	cases := []struct {
		status int
		state  webhook.State
	}{
		{400, webhook.StateDead},
		{401, webhook.StateDead},
		{404, webhook.StateDead},
		{410, webhook.StateDead},
		{422, webhook.StateDead},
		{408, webhook.StatePending},
		{429, webhook.StatePending},
		{302, webhook.StatePending}, // not followed, and not final either
		{502, webhook.StatePending},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			e := newEnv(t, webhook.Options{}, c.status)
			if c.status == 302 {
				// A redirect elsewhere must not carry the signed payload.
				other := newReceiver(t)
				e.rcv.header.Set("Location", other.srv.URL+"/stolen")
				defer func() {
					if n := len(other.requests()); n != 0 {
						t.Errorf("redirect followed: %d requests reached the other server", n)
					}
				}()
			}
			m := e.enqueue(`{}`)
			e.runOnce(1)
			got := e.message(m.ID)
			if got.State != c.state || !strings.Contains(got.LastError, "HTTP "+strconv.Itoa(c.status)) {
				t.Fatalf("%+v, want %s", got, c.state)
			}
			if c.state == webhook.StateDead {
				// Dead at once: nothing left to retry however long we wait.
				e.advance(24 * time.Hour)
				e.runOnce(0)
			}
		})
	}
}

func TestDeadAfterMaxAttemptsOnBackoffSchedule(t *testing.T) {
	base := 10 * time.Second
	e := newEnv(t, webhook.Options{MaxAttempts: 4, BaseDelay: base, MaxDelay: 30 * time.Second}, 503, 503, 503, 503, 503)
	m := e.enqueue(`{}`)
	var delays []time.Duration
	for attempt := 1; attempt <= 4; attempt++ {
		at := e.now()
		e.runOnce(1)
		got := e.message(m.ID)
		if attempt < 4 {
			if got.State != webhook.StatePending {
				t.Fatalf("attempt %d: %+v", attempt, got)
			}
			delays = append(delays, got.NextAttemptAt.Sub(at))
			e.advance(got.NextAttemptAt.Sub(at))
			continue
		}
		if got.State != webhook.StateDead || got.Attempts != 4 || !strings.Contains(got.LastError, "gave up after 4 attempts") {
			t.Fatalf("after the last attempt: %+v", got)
		}
	}
	// base·2^(n-1) capped at 30s, jitter 0.5 keeps three quarters of it.
	want := []time.Duration{7500 * time.Millisecond, 15 * time.Second, 22500 * time.Millisecond}
	for i := range want {
		if delays[i] != want[i] {
			t.Errorf("delay after attempt %d = %v, want %v (all: %v)", i+1, delays[i], want[i], delays)
		}
	}
	e.advance(time.Hour)
	e.runOnce(0)
	if n := len(e.rcv.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestBackoff(t *testing.T) {
	base, max := 30*time.Second, time.Hour
	prevHi := time.Duration(0)
	for attempt := 1; attempt <= 12; attempt++ {
		lo := webhook.Backoff(attempt, base, max, 0)
		hi := webhook.Backoff(attempt, base, max, 1)
		full := base << (attempt - 1)
		if full > max {
			full = max
		}
		if lo != full/2 || hi != full {
			t.Errorf("attempt %d: range [%v, %v], want [%v, %v]", attempt, lo, hi, full/2, full)
		}
		if hi < prevHi {
			t.Errorf("attempt %d: backoff shrank to %v", attempt, hi)
		}
		prevHi = hi
	}
	// Out-of-range inputs are clamped, not trusted.
	if d := webhook.Backoff(0, base, max, 7); d != base {
		t.Errorf("attempt 0, jitter 7: %v", d)
	}
	if d := webhook.Backoff(5000, base, max, -1); d != max/2 {
		t.Errorf("huge attempt: %v", d)
	}
}

func TestRetryAfterHeaderIsObeyed(t *testing.T) {
	e := newEnv(t, webhook.Options{BaseDelay: time.Second}, 429)
	e.rcv.header.Set("Retry-After", "120")
	m := e.enqueue(`{}`)
	t0 := e.now()
	e.runOnce(1)
	if got := e.message(m.ID); got.State != webhook.StatePending || !got.NextAttemptAt.Equal(t0.Add(120*time.Second)) {
		t.Fatalf("%+v, want retry at +120s", got)
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	e := newEnv(t, webhook.Options{Timeout: 100 * time.Millisecond})
	e.rcv.delay = 5 * time.Second
	m := e.enqueue(`{}`)
	start := time.Now()
	e.runOnce(1)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a hung receiver held the deliverer for %v", took)
	}
	got := e.message(m.ID)
	atts, err := e.db.WebhookDeliveries(ctx, m.ID)
	must(t, err)
	if got.State != webhook.StatePending || len(atts) != 1 || atts[0].StatusCode != 0 || atts[0].Error != "delivery failed" {
		t.Fatalf("row %+v attempts %+v", got, atts)
	}
}

func TestRunDeliversUntilCancelled(t *testing.T) {
	e := newEnv(t, webhook.Options{Poll: 10 * time.Millisecond})
	m := e.enqueue(`{"n":1}`)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- e.d.Run(rctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for e.message(m.ID).State != webhook.StateDelivered {
		if time.Now().After(deadline) {
			t.Fatal("not delivered within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Enqueued while running: picked up at the next poll.
	m2 := e.enqueue(`{"n":2}`)
	for e.message(m2.ID).State != webhook.StateDelivered {
		if time.Now().After(deadline) {
			t.Fatal("second event not delivered within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// fakeQueue hands out fixed jobs and keeps the outcomes, for rows the store
// would never produce (a URL edited directly in the database).
type fakeQueue struct {
	mu       sync.Mutex // the deliverer finishes a batch's jobs in parallel
	jobs     []webhook.Job
	outcomes []webhook.Outcome
}

func (q *fakeQueue) ClaimWebhookJobs(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]webhook.Job, error) {
	j := q.jobs
	q.jobs = nil
	return j, nil
}

func (q *fakeQueue) FinishWebhookJob(ctx context.Context, j webhook.Job, o webhook.Outcome) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.outcomes = append(q.outcomes, o)
	return nil
}

func TestNonHTTPURLIsNeverFetched(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://example.org/"} {
		q := &fakeQueue{jobs: []webhook.Job{{ID: "o1", URL: u, Secret: "s", Event: "document.issued", Payload: json.RawMessage(`{}`), Attempt: 1}}}
		d := webhook.New(q, webhook.Options{Targets: loopbackAllowed(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(q.outcomes) != 1 || q.outcomes[0].State != webhook.StateDead || !strings.Contains(q.outcomes[0].Attempt.Error, "http or https") {
			t.Errorf("%s: outcomes %+v", u, q.outcomes)
		}
	}
}

// TestParallelBatch: a slow receiver does not hold up the rest of a batch
// beyond one timeout.
func TestParallelBatch(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
		inFlight.Add(-1)
	}))
	defer srv.Close()
	var jobs []webhook.Job
	for i := 0; i < 4; i++ {
		jobs = append(jobs, webhook.Job{ID: strconv.Itoa(i), URL: srv.URL, Secret: "s", Event: "document.issued", Payload: json.RawMessage(`{}`), Attempt: 1})
	}
	q := &fakeQueue{jobs: jobs}
	d := webhook.New(q, webhook.Options{Batch: 4, Targets: loopbackAllowed(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	start := time.Now()
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 700*time.Millisecond || peak.Load() < 2 {
		t.Errorf("batch of 4 took %v with at most %d in flight", took, peak.Load())
	}
	for _, o := range q.outcomes {
		if o.State != webhook.StateDelivered {
			t.Errorf("outcome %+v", o)
		}
	}
}

// loopbackAllowed is the allow-list the tests' loopback receivers need.
func loopbackAllowed(t testing.TB) *webhook.Targets {
	t.Helper()
	a, err := webhook.ParseTargets("127.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRunWakesOnEnqueue: an idle deliverer polling once an hour sends an
// event at once when the queue announces it (store.ListenWork, as cmd
// wires it), not at its next poll.
func TestRunWakesOnEnqueue(t *testing.T) {
	e := newEnv(t, webhook.Options{Poll: time.Hour})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go e.db.ListenWork(runCtx, nil, func(kind string) {
		if kind == store.LeaseWebhook {
			e.d.Wake()
		}
	})
	done := make(chan error, 1)
	go func() { done <- e.d.Run(runCtx) }()
	time.Sleep(100 * time.Millisecond) // Run's first, empty pass
	// The listener registers on its own goroutine: an event committed
	// before it listens is not announced (the poll, an hour here, would
	// find it). So the test enqueues again until one is heard; any
	// delivery before the poll is a wake-up.
	delivered := false
	for attempt := 1; attempt <= 5 && !delivered; attempt++ {
		e.enqueue(fmt.Sprintf(`{"n":%d}`, attempt))
		deadline := time.Now().Add(3 * time.Second)
		for !delivered && time.Now().Before(deadline) {
			delivered = len(e.rcv.requests()) > 0
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !delivered {
		t.Fatal("no event was delivered before the next poll")
	}
	stop()
	must(t, <-done)
}
