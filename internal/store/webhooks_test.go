package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/webhook"
)

func newEndpoint(t *testing.T, db *store.DB, orgID, url string, events ...string) *webhook.Endpoint {
	t.Helper()
	e := &webhook.Endpoint{OrgID: orgID, URL: url, Events: events}
	must(t, db.CreateWebhookEndpoint(context.Background(), e))
	return e
}

func enqueue(t *testing.T, db *store.DB, orgID, event, payload string) {
	t.Helper()
	must(t, db.WithTx(context.Background(), func(tx *store.Tx) error {
		return tx.EnqueueWebhookEvent(context.Background(), orgID, event, []byte(payload))
	}))
}

// outbox returns the endpoint's rows, oldest first.
func outbox(t *testing.T, db *store.DB, endpointID string) []webhook.Message {
	t.Helper()
	ms, err := db.WebhookMessages(context.Background(), endpointID, 1000)
	must(t, err)
	sort.Slice(ms, func(i, j int) bool { return ms[i].CreatedAt.Before(ms[j].CreatedAt) })
	return ms
}

func TestWebhookEndpoints(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		e := newEndpoint(t, db, f.org.ID, " https://motcua.thanhlong.gov.vn/hooks/vanban ", "document.issued", "document.received")
		if len(e.Secret) != 64 || e.ID == "" || !e.Active || e.URL != "https://motcua.thanhlong.gov.vn/hooks/vanban" {
			t.Errorf("created %+v", e)
		}
		got, err := db.WebhookEndpoint(ctx, e.ID)
		must(t, err)
		if got.Secret != e.Secret || len(got.Events) != 2 || got.Events[1] != "document.received" || !got.CreatedAt.Equal(e.CreatedAt) {
			t.Errorf("read back %+v", got)
		}

		for _, bad := range []struct {
			url    string
			events []string
			secret string
		}{
			{"ftp://example.org/x", []string{"*"}, ""},
			{"file:///etc/passwd", []string{"*"}, ""},
			{"javascript:alert(1)", []string{"*"}, ""},
			{"https:///nohost", []string{"*"}, ""},
			{"https://user:pw@example.org/", []string{"*"}, ""},
			{"example.org/hook", []string{"*"}, ""},
			{"https://example.org/", nil, ""},
			{"https://example.org/", []string{"Document Issued"}, ""},
			{"https://example.org/", []string{"document.issued,document.received"}, ""},
			{"https://example.org/", []string{"*"}, "short"},
		} {
			err := db.CreateWebhookEndpoint(ctx, &webhook.Endpoint{OrgID: f.org.ID, URL: bad.url, Events: bad.events, Secret: bad.secret})
			if document.ErrorCode(err) != document.EINVALID {
				t.Errorf("%q %v %q: err %v, want invalid", bad.url, bad.events, bad.secret, err)
			}
		}
		err = db.CreateWebhookEndpoint(ctx, &webhook.Endpoint{OrgID: "no-such-org", URL: "http://example.org/", Events: []string{"*"}})
		wantCode(t, err, document.EINVALID)

		chat := newEndpoint(t, db, f.org.ID, "http://chat.internal:8080/notify", webhook.AllEvents)
		list, err := db.WebhookEndpoints(ctx, f.org.ID)
		must(t, err)
		if len(list) != 2 || list[0].ID != e.ID || list[1].ID != chat.ID {
			t.Fatalf("list %+v", list)
		}
		must(t, db.DisableWebhookEndpoint(ctx, chat.ID))
		wantCode(t, db.DisableWebhookEndpoint(ctx, chat.ID), document.ECONFLICT)
		wantCode(t, db.DisableWebhookEndpoint(ctx, "nope"), document.ENOTFOUND)
		got, err = db.WebhookEndpoint(ctx, chat.ID)
		must(t, err)
		if got.Active || got.DisabledAt.IsZero() {
			t.Errorf("disabled endpoint %+v", got)
		}
		_, err = db.WebhookEndpoint(ctx, "nope")
		wantCode(t, err, document.ENOTFOUND)
	})
}

func TestWebhookEnqueueFansOutInTransaction(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		other := newFixture(t, db)
		issued := newEndpoint(t, db, f.org.ID, "https://a.example/", "document.issued")
		all := newEndpoint(t, db, f.org.ID, "https://b.example/", webhook.AllEvents)
		received := newEndpoint(t, db, f.org.ID, "https://c.example/", "document.received")
		disabled := newEndpoint(t, db, f.org.ID, "https://d.example/", webhook.AllEvents)
		must(t, db.DisableWebhookEndpoint(ctx, disabled.ID))
		foreign := newEndpoint(t, db, other.org.ID, "https://e.example/", webhook.AllEvents)

		enqueue(t, db, f.org.ID, "document.issued", `{ "id": "d1", "symbol": "01/QĐ-UBND" }`)
		for ep, want := range map[*webhook.Endpoint]int{issued: 1, all: 1, received: 0, disabled: 0, foreign: 0} {
			ms := outbox(t, db, ep.ID)
			if len(ms) != want {
				t.Errorf("endpoint %s: %d rows, want %d", ep.URL, len(ms), want)
			}
			for _, m := range ms {
				if m.State != webhook.StatePending || m.Attempts != 0 || m.Event != "document.issued" ||
					string(m.Payload) != `{"id":"d1","symbol":"01/QĐ-UBND"}` {
					t.Errorf("row %+v", m)
				}
			}
		}

		// A rolled-back change leaves no event behind.
		boom := errors.New("later step failed")
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.EnqueueWebhookEvent(ctx, f.org.ID, "document.received", []byte(`{"id":"d2"}`)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if ms := outbox(t, db, received.ID); len(ms) != 0 {
			t.Errorf("rolled back event was queued: %+v", ms)
		}

		for _, bad := range []struct{ event, payload string }{
			{"document.issued", `not json`},
			{"document.issued", `[1, 2]`},
			{"document.issued", `"text"`},
			{"Issued", `{}`},
		} {
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				return tx.EnqueueWebhookEvent(ctx, f.org.ID, bad.event, []byte(bad.payload))
			})
			wantCode(t, err, document.EINVALID)
		}
		// An organization without endpoints is fine.
		enqueue(t, db, newFixture(t, db).org.ID, "document.issued", `{}`)
	})
}

func TestWebhookClaimFinishRetryDead(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		ep := newEndpoint(t, db, f.org.ID, "https://a.example/hook", webhook.AllEvents)
		enqueue(t, db, f.org.ID, "document.issued", `{"n":1}`)
		enqueue(t, db, f.org.ID, "document.issued", `{"n":2}`)
		lease := time.Minute

		t0 := time.Now()
		jobs, err := db.ClaimWebhookJobs(ctx, t0, 10, lease)
		must(t, err)
		if len(jobs) != 2 {
			t.Fatalf("claimed %d, want 2", len(jobs))
		}
		j := jobs[0]
		if j.Attempt != 1 || j.URL != ep.URL || j.Secret != ep.Secret || j.Event != "document.issued" || j.ClaimToken == "" || j.EndpointID != ep.ID {
			t.Errorf("job %+v", j)
		}
		// Claimed rows are hidden for the lease.
		again, err := db.ClaimWebhookJobs(ctx, t0.Add(lease-time.Second), 10, lease)
		must(t, err)
		if len(again) != 0 {
			t.Fatalf("claimed rows handed out again within the lease: %+v", again)
		}

		// jobs[0]: fails, retried later; jobs[1]: delivered.
		next := t0.Add(90 * time.Second).Truncate(time.Microsecond)
		must(t, db.FinishWebhookJob(ctx, jobs[0], webhook.Outcome{State: webhook.StatePending, NextAttemptAt: next,
			Attempt: webhook.Attempt{Attempt: 1, StatusCode: 503, Duration: 120 * time.Millisecond, Error: "HTTP 503: busy", At: t0}}))
		must(t, db.FinishWebhookJob(ctx, jobs[1], webhook.Outcome{State: webhook.StateDelivered,
			Attempt: webhook.Attempt{Attempt: 1, StatusCode: 204, Duration: 5 * time.Millisecond, At: t0}}))
		m, err := db.WebhookMessage(ctx, jobs[0].ID)
		must(t, err)
		if m.State != webhook.StatePending || !m.NextAttemptAt.Equal(next) || m.LastError != "HTTP 503: busy" || m.Attempts != 1 {
			t.Errorf("retrying row %+v", m)
		}
		m, err = db.WebhookMessage(ctx, jobs[1].ID)
		must(t, err)
		if m.State != webhook.StateDelivered || m.DeliveredAt.IsZero() || m.LastError != "" {
			t.Errorf("delivered row %+v", m)
		}
		// Finishing twice with the same claim is refused: the row moved on.
		err = db.FinishWebhookJob(ctx, jobs[1], webhook.Outcome{State: webhook.StateDead, Attempt: webhook.Attempt{Attempt: 1, At: t0}})
		wantCode(t, err, document.ECONFLICT)

		// Not due before next; due at next, as attempt 2.
		early, err := db.ClaimWebhookJobs(ctx, next.Add(-time.Second), 10, lease)
		must(t, err)
		if len(early) != 0 {
			t.Fatalf("claimed before its retry time: %+v", early)
		}
		retry, err := db.ClaimWebhookJobs(ctx, next, 10, lease)
		must(t, err)
		if len(retry) != 1 || retry[0].ID != jobs[0].ID || retry[0].Attempt != 2 {
			t.Fatalf("retry claim %+v", retry)
		}
		// The worker stalls past its lease; another claims the row as
		// attempt 3. The stale worker's finish is refused but logged.
		late, err := db.ClaimWebhookJobs(ctx, next.Add(lease+time.Second), 10, lease)
		must(t, err)
		if len(late) != 1 || late[0].Attempt != 3 || late[0].ClaimToken == retry[0].ClaimToken {
			t.Fatalf("reclaim after lease %+v", late)
		}
		err = db.FinishWebhookJob(ctx, retry[0], webhook.Outcome{State: webhook.StateDelivered, Attempt: webhook.Attempt{Attempt: 2, StatusCode: 200, At: next}})
		wantCode(t, err, document.ECONFLICT)
		must(t, db.FinishWebhookJob(ctx, late[0], webhook.Outcome{State: webhook.StateDead,
			Attempt: webhook.Attempt{Attempt: 3, StatusCode: 410, Error: "permanent failure: HTTP 410: gone", At: next}}))
		m, err = db.WebhookMessage(ctx, jobs[0].ID)
		must(t, err)
		if m.State != webhook.StateDead || m.Attempts != 3 || m.LastError != "permanent failure: HTTP 410: gone" {
			t.Errorf("dead row %+v", m)
		}
		atts, err := db.WebhookDeliveries(ctx, jobs[0].ID)
		must(t, err)
		if len(atts) != 3 || atts[0].StatusCode != 503 || atts[0].Duration != 120*time.Millisecond || atts[1].StatusCode != 200 || atts[2].StatusCode != 410 {
			t.Errorf("attempt log %+v", atts)
		}
		wantCode(t, db.FinishWebhookJob(ctx, late[0], webhook.Outcome{State: "lost", Attempt: webhook.Attempt{At: next}}), document.EINVALID)

		// An administrator sends a dead row again.
		must(t, db.RedeliverWebhookMessage(ctx, jobs[0].ID))
		wantCode(t, db.RedeliverWebhookMessage(ctx, jobs[0].ID), document.ECONFLICT)
		wantCode(t, db.RedeliverWebhookMessage(ctx, "nope"), document.ENOTFOUND)
		again, err = db.ClaimWebhookJobs(ctx, time.Now(), 10, lease)
		must(t, err)
		if len(again) != 1 || again[0].ID != jobs[0].ID || again[0].Attempt != 1 {
			t.Fatalf("redelivered claim %+v", again)
		}
	})
}

func TestWebhookDisableKillsPending(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		ep := newEndpoint(t, db, f.org.ID, "https://a.example/hook", webhook.AllEvents)
		enqueue(t, db, f.org.ID, "document.issued", `{}`)
		must(t, db.DisableWebhookEndpoint(ctx, ep.ID))
		ms := outbox(t, db, ep.ID)
		if len(ms) != 1 || ms[0].State != webhook.StateDead || ms[0].LastError != "endpoint disabled" {
			t.Fatalf("rows after disable %+v", ms)
		}
		jobs, err := db.ClaimWebhookJobs(ctx, time.Now().Add(time.Hour), 10, time.Minute)
		must(t, err)
		if len(jobs) != 0 {
			t.Errorf("claimed for a disabled endpoint: %+v", jobs)
		}
		wantCode(t, db.RedeliverWebhookMessage(ctx, ms[0].ID), document.ECONFLICT)
	})
}

// TestWebhookConcurrentClaimsAreDisjoint: several deliverers (server
// processes) claiming at once never get the same row, and together they get
// every row.
func TestWebhookConcurrentClaimsAreDisjoint(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		newEndpoint(t, db, f.org.ID, "https://a.example/", webhook.AllEvents)
		newEndpoint(t, db, f.org.ID, "https://b.example/", webhook.AllEvents)
		const events = 30 // 60 rows
		must(t, db.WithTx(ctx, func(tx *store.Tx) error {
			for i := 0; i < events; i++ {
				if err := tx.EnqueueWebhookEvent(ctx, f.org.ID, "document.issued", fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
					return err
				}
			}
			return nil
		}))
		var (
			mu      sync.Mutex
			claimed = map[string]int{}
			wg      sync.WaitGroup
			errs    = make(chan error, 6)
			start   = make(chan struct{})
		)
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					jobs, err := db.ClaimWebhookJobs(ctx, time.Now(), 4, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						claimed[j.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		if len(claimed) != 2*events {
			t.Errorf("claimed %d distinct rows, want %d", len(claimed), 2*events)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("row %s claimed %d times", id, n)
			}
		}
	})
}
