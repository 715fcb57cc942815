package signsession_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing"
	"vanban/signing/smartca"
	"vanban/signing/smartca/smartcasim"
)

// smartcaEnv is a VNPT SmartCA simulator over loopback HTTP whose callbacks
// are recorded, for a leader whose signing identity is a SmartCA user id.
type smartcaEnv struct {
	*env
	sim  *smartcasim.Server
	url  string
	user string

	mu        sync.Mutex
	callbacks []recordedCallback
}

type recordedCallback struct {
	header http.Header
	body   []byte
}

func newSmartCAEnv(t *testing.T, db *store.DB) *smartcaEnv {
	t.Helper()
	e := &smartcaEnv{env: newEnv(t, db), user: "001088012345"}
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		e.mu.Lock()
		e.callbacks = append(e.callbacks, recordedCallback{r.Header.Clone(), b.Bytes()})
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(cb.Close)
	sim, err := smartcasim.NewServer(smartcasim.Options{SPID: "vanban", SPPassword: "sp-pass", CallbackURL: cb.URL, CallbackSecret: "cb-secret"})
	e.must(err)
	t.Cleanup(sim.Close)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	e.sim, e.url = sim, ts.URL
	e.must(db.SetSigningIdentity(ctx, &store.SigningIdentity{UserID: e.signer.ID, Provider: "smartca", ProviderSigner: e.user}))
	return e
}

// client opens a fresh SmartCA client, as a (re)started process would.
func (e *smartcaEnv) client() signing.Provider {
	e.t.Helper()
	env := map[string]string{"SP": "sp-pass", "CB": "cb-secret"}
	p, err := signing.Open("smartca:"+e.url+"?sp-id=vanban&sp-password-env=SP&callback-secret-env=CB&poll-interval=50ms",
		func(n string) (string, bool) { v, ok := env[n]; return v, ok })
	e.must(err)
	return p
}

func (e *smartcaEnv) serviceWith(p signing.Provider) *signsession.Service {
	return signsession.New(e.db, e.wf, e.blobs, map[string]signing.Provider{"mobile": e.mobile(), "seal": e.seal(), "smartca": p},
		signsession.Options{PollInterval: 50 * time.Millisecond, TickInterval: 50 * time.Millisecond, LeaseTTL: 250 * time.Millisecond})
}

func (e *smartcaEnv) waitPending(n int) smartcasim.PendingRequest {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p, ok := e.sim.Pending(e.user); ok && len(p.Documents) == n {
			return p
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("no request of %d documents on the phone", n)
	return smartcasim.PendingRequest{}
}

// diesAfter polls through p until n polls answered signed, then fails
// every call, as a process that crashes in the middle of a batch.
type diesAfter struct {
	signing.Provider
	n atomic.Int32
}

func (d *diesAfter) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	if d.n.Load() <= 0 {
		return nil, context.Canceled
	}
	res, err := d.Provider.Poll(ctx, txID, wait)
	if err == nil && res.Status == signing.StatusSigned {
		d.n.Add(-1)
	}
	return res, err
}

func (d *diesAfter) StartBatch(ctx context.Context, reqs []signing.Request) ([]*signing.Session, error) {
	return d.Provider.(signing.BatchStarter).StartBatch(ctx, reqs)
}

// TestSmartCABatchOneConfirmation: a leader signs ten documents with one
// confirmation on the SmartCA phone; each document gets its own signed
// version. The process dies after four are recorded; a new one, with a
// new client, finishes the other six without another prompt.
func TestSmartCABatchOneConfirmation(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSmartCAEnv(t, db)
		var ids []string
		for i := range 10 {
			ids = append(ids, e.awaiting(e.signer, "Lô văn bản "+string(rune('A'+i))).ID)
		}
		dying := &diesAfter{Provider: e.client()}
		dying.n.Store(4)
		svc := e.serviceWith(dying)
		ss, err := svc.StartBatch(ctx, as(e.signer), ids)
		e.must(err)
		if ss[0].State != store.SigningPending {
			t.Fatalf("first session %s (%s)", ss[0].State, ss[0].FailureMessage)
		}
		p := e.waitPending(10)
		if err := e.sim.Confirm(e.user); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			e.must(svc.RunOnce(ctx))
			time.Sleep(60 * time.Millisecond)
		}
		done := 0
		for _, s := range ss {
			got, err := svc.Get(ctx, as(e.signer), s.ID)
			e.must(err)
			if got.State == store.SigningCompleted {
				done++
			}
		}
		if done != 4 {
			t.Fatalf("%d sessions completed before the crash, want 4", done)
		}
		// A new process picks the batch up where it stopped.
		restarted := e.serviceWith(e.client())
		for _, s := range ss {
			if got := e.settle(restarted, s.ID, e.signer); got.State != store.SigningCompleted {
				t.Fatalf("session %d: %s %s %s", got.BatchSeq, got.State, got.FailureKind, got.FailureMessage)
			}
		}
		if n := e.sim.Prompts(e.user); n != 1 {
			t.Fatalf("%d prompts on the phone for one batch (transaction %s)", n, p.TransactionID)
		}
		for _, id := range ids {
			v := e.doc(id)
			if v.Document.State != document.StateSigned || countKind(v.Versions, document.VersionLeaderSigned) != 1 {
				t.Fatalf("document %s: %s, %d signed versions", id, v.Document.State, countKind(v.Versions, document.VersionLeaderSigned))
			}
		}
	})
}

// TestSmartCACallback: SmartCA's callback completes a pending session
// through HandleCallback; the same callback again changes nothing, and a
// forged or tampered one is refused.
func TestSmartCACallback(t *testing.T) {
	e := newSmartCAEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	svc := e.serviceWith(e.client())
	d := e.awaiting(e.signer, "Công văn gọi lại")
	s, err := svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	if s.State != store.SigningPending {
		t.Fatalf("session %s (%s)", s.State, s.FailureMessage)
	}
	e.waitPending(1)
	// Forged before the real one: refused, the session still pending.
	forged := []byte(`{"transaction_id":"x","tran_status":"REJECTED","user_id":"` + e.user + `"}`)
	req := func(h http.Header, body []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/signing/callback/smartca", bytes.NewReader(body))
		r.Header = h.Clone()
		return r
	}
	fh := http.Header{}
	fh.Set(smartca.SignatureHeader, smartcasim.SignCallback("guessed", time.Now(), forged))
	_, err = svc.HandleCallback(ctx, "smartca", req(fh, forged))
	wantCode(t, err, document.EFORBIDDEN)

	e.must(e.sim.Confirm(e.user))
	var cb recordedCallback
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		n := len(e.callbacks)
		if n > 0 {
			cb = e.callbacks[0]
		}
		e.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no callback from the simulator")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Tampered: the signed body changed.
	tampered := bytes.Replace(cb.body, []byte(`"SUCCESS"`), []byte(`"REJECTED"`), 1)
	_, err = svc.HandleCallback(ctx, "smartca", req(cb.header, tampered))
	wantCode(t, err, document.EFORBIDDEN)
	if got, _ := svc.Get(ctx, as(e.signer), s.ID); got.State != store.SigningPending {
		t.Fatalf("after forged callbacks: %s", got.State)
	}
	for range 2 {
		got, err := svc.HandleCallback(ctx, "smartca", req(cb.header, cb.body))
		e.must(err)
		if got.ID != s.ID || got.State != store.SigningCompleted {
			t.Fatalf("after the callback: %+v", got)
		}
	}
	if n := countKind(e.doc(d.ID).Versions, document.VersionLeaderSigned); n != 1 {
		t.Fatalf("%d signed versions", n)
	}
	// Polling afterwards changes nothing either.
	e.must(svc.RunOnce(ctx))
	if n := countKind(e.doc(d.ID).Versions, document.VersionLeaderSigned); n != 1 {
		t.Fatalf("%d signed versions after a poll", n)
	}
}

// TestSmartCABatchWithWorkerRunning: the worker runs while StartBatch is
// still preparing the documents; the batch still goes to the phone as one
// transaction naming all of them, not as the few prepared so far.
func TestSmartCABatchWithWorkerRunning(t *testing.T) {
	e := newSmartCAEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	var ids []string
	for i := range 8 {
		ids = append(ids, e.awaiting(e.signer, "Lô chạy song song "+string(rune('A'+i))).ID)
	}
	svc := e.serviceWith(e.client())
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go svc.Run(runCtx)
	ss, err := svc.StartBatch(ctx, as(e.signer), ids)
	e.must(err)
	p := e.waitPending(len(ids))
	if n := e.sim.Prompts(e.user); n != 1 {
		t.Fatalf("%d prompts (transaction %s)", n, p.TransactionID)
	}
	e.must(e.sim.Confirm(e.user))
	stop()
	for _, s := range ss {
		if got := e.settle(svc, s.ID, e.signer); got.State != store.SigningCompleted {
			t.Fatalf("session %d: %s %s", got.BatchSeq, got.State, got.FailureMessage)
		}
	}
}
