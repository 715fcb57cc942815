package signsession_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing"
)

// soapCounter counts the MSS_Signature requests that reach the simulator.
type soapCounter struct {
	next http.Handler
	mu   sync.Mutex
	n    int
}

func (c *soapCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if bytes.Contains(body, []byte("MSS_SignatureReq")) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c.next.ServeHTTP(w, r)
}

func (c *soapCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// syncNode is one vanban process on the shared database: its own etsi204
// client in synchronous mode (through the counting front of the
// simulator) and its own node name.
func (e *env) syncNode(front string, node string) (*signsession.Service, signing.Provider) {
	e.t.Helper()
	// A lease of 10 s: node A renews its lease only by its passes here,
	// and under a loaded -race run a pass can take seconds.
	return e.syncNodeWith(front, signsession.Options{PollInterval: 50 * time.Millisecond, TickInterval: 50 * time.Millisecond,
		LeaseTTL: 10 * time.Second, Node: node})
}

func (e *env) syncNodeWith(front string, opts signsession.Options) (*signsession.Service, signing.Provider) {
	e.t.Helper()
	q := url.Values{
		"ap-id": {"http://ap.vanban.test/"}, "ap-pwd-env": {"AP_PWD"}, "mssp-id": {"http://mssp.vanban.invalid/"},
		"mode": {"sync"}, "cert-lookup": {e.simTS.URL + "/certificates"},
	}
	env := func(name string) (string, bool) { return "dev-secret", name == "AP_PWD" }
	p, err := signing.Open("etsi204:"+front+"/soap?"+q.Encode(), env)
	e.must(err)
	e.t.Cleanup(func() { p.(signing.Closer).Close() })
	return signsession.New(e.db, e.wf, e.blobs, map[string]signing.Provider{"mobile": p, "seal": e.seal()}, opts), p
}

// TestSyncAnswerSettlesAtOnce: the worker learns of a synchronous call's
// answer from the provider (signing.OutcomeNotifier), not at its next poll
// or tick: with both at 30 s the session still completes within moments
// of the signer's answer.
func TestSyncAnswerSettlesAtOnce(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		const phone = "84912000778"
		e.setPhone(e.signer, phone)
		front := httptest.NewServer(e.sim)
		defer front.Close()
		svc, _ := e.syncNodeWith(front.URL, signsession.Options{PollInterval: 30 * time.Second, TickInterval: 30 * time.Second,
			LeaseTTL: 2 * time.Minute, Node: "node-a"})
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- svc.Run(runCtx) }()
		defer func() { stop(); <-done }()

		d := e.awaiting(e.signer, "Trả lời đồng bộ")
		s, err := svc.StartLeader(ctx, as(e.signer), d.ID)
		e.must(err)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, ok := e.sim.Phone().Pending(phone); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no request on the phone")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Let the worker settle into its 30 s wait first.
		time.Sleep(200 * time.Millisecond)
		approved := time.Now()
		e.must(e.sim.Phone().Approve(phone, "1234"))
		for {
			got, err := svc.Get(ctx, as(e.signer), s.ID)
			e.must(err)
			if got.State == store.SigningCompleted {
				break
			}
			if !got.State.Active() {
				t.Fatalf("session %s: %s", got.State, got.FailureMessage)
			}
			if time.Since(approved) > 10*time.Second {
				t.Fatalf("still %s %s after the answer: the worker waited for its poll", got.State, time.Since(approved))
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("completed %s after the answer", time.Since(approved).Round(time.Millisecond))
	})
}

// TestSyncCallBelongsToLeaseHolder: in ETSI 204 synchronous mode the call
// to the phone lives in the process that started it. Another node polling
// meanwhile must leave it alone (before leases it judged the call lost and
// sent the request to the phone again); once that process is gone and its
// lease expired, the other node takes the session over, and its resend
// under the same idempotency key is the same transaction at the MSSP: one
// prompt on the phone, one signed version.
func TestSyncCallBelongsToLeaseHolder(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		const phone = "84912000777" // an ordinary number: nobody answers but the test
		e.setPhone(e.signer, phone)
		counter := &soapCounter{next: e.sim}
		front := httptest.NewServer(counter)
		defer front.Close()
		a, aProv := e.syncNode(front.URL, "node-a")
		b, _ := e.syncNode(front.URL, "node-b")

		waitPrompt := func() string {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if p, ok := e.sim.Phone().Pending(phone); ok {
					return p.MSSPTransID
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatal("no request on the phone")
			return ""
		}

		// 1. Node A's call is live; node B polls for a while and must not
		// touch it.
		d := e.awaiting(e.signer, "Đồng bộ một")
		s, err := a.StartLeader(ctx, as(e.signer), d.ID)
		e.must(err)
		tx := waitPrompt()
		stopRenew := make(chan struct{})
		var wg sync.WaitGroup
		var stopOnce sync.Once
		stop := func() { stopOnce.Do(func() { close(stopRenew); wg.Wait() }) }
		t.Cleanup(stop) // also when a check below ends the test
		wg.Add(1)
		go func() { // node A alive: it renews its lease, as Run does
			defer wg.Done()
			for {
				select {
				case <-stopRenew:
					return
				case <-time.After(50 * time.Millisecond):
					if err := a.RunOnce(ctx); err != nil {
						t.Errorf("node A's pass: %v", err)
						return
					}
				}
			}
		}()
		for range 20 {
			e.must(b.RunOnce(ctx))
			time.Sleep(50 * time.Millisecond)
		}
		if n := counter.count(); n != 1 {
			t.Fatalf("%d signature requests while node A's call was live", n)
		}
		if p, ok := e.sim.Phone().Pending(phone); !ok || p.MSSPTransID != tx {
			t.Fatalf("the phone's request changed: %+v", p)
		}
		e.must(e.sim.Phone().Approve(phone, "1234"))
		stop()
		if got := e.settle(a, s.ID, e.signer); got.State != store.SigningCompleted {
			t.Fatalf("session %s %s", got.State, got.FailureMessage)
		}

		// 2. Node A dies with its call live: node B takes over after the
		// lease expires, and the phone sees no second request.
		d2 := e.awaiting(e.signer, "Đồng bộ hai")
		s2, err := a.StartLeader(ctx, as(e.signer), d2.ID)
		e.must(err)
		tx2 := waitPrompt()
		aProv.(signing.Closer).Close() // the process is gone, its call with it
		deadline := time.Now().Add(60 * time.Second)
		for counter.count() < 3 {
			// Until B resent the request (the third MSS_Signature).
			e.must(b.RunOnce(ctx))
			if time.Now().After(deadline) {
				t.Fatalf("node B did not take the session over (%d requests)", counter.count())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if p, ok := e.sim.Phone().Pending(phone); !ok || p.MSSPTransID != tx2 {
			t.Fatalf("the takeover made a new transaction on the phone: %+v (was %s)", p, tx2)
		}
		e.must(e.sim.Phone().Approve(phone, "1234"))
		got := e.settle(b, s2.ID, e.signer)
		v := e.doc(d2.ID)
		if got.State != store.SigningCompleted || countKind(v.Versions, document.VersionLeaderSigned) != 1 {
			t.Fatalf("after the takeover: %s %s, %d signed versions", got.State, got.FailureMessage, countKind(v.Versions, document.VersionLeaderSigned))
		}
	})
}
