package workflow_test

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/webhook"
	"vanban/internal/workflow"
)

// hooks are the endpoints of the world's two organizations: the one-stop
// system and a chat channel for UBND, and a chat channel for SYT.
type hooks struct {
	oneStop, chat, receivedOnly, chatB *webhook.Endpoint
}

func (w *world) hooks() hooks {
	w.t.Helper()
	mk := func(org *document.Organization, url string, events ...string) *webhook.Endpoint {
		e := &webhook.Endpoint{OrgID: org.ID, URL: url, Events: events}
		w.must(w.db.CreateWebhookEndpoint(ctx, e))
		return e
	}
	return hooks{
		oneStop:      mk(w.org, "https://motcua.thanhlong.gov.vn/api/vanban", workflow.EventDocumentIssued),
		chat:         mk(w.org, "https://chat.thanhlong.gov.vn/hooks/vp", webhook.AllEvents),
		receivedOnly: mk(w.org, "https://chat.thanhlong.gov.vn/hooks/vanthu", workflow.EventDocumentReceived),
		chatB:        mk(w.orgB, "https://chat.syt.gov.vn/hooks/vanthu", webhook.AllEvents),
	}
}

// queued returns the events queued for an endpoint, oldest first.
func (w *world) queued(e *webhook.Endpoint) []webhook.Message {
	w.t.Helper()
	ms, err := w.db.WebhookMessages(ctx, e.ID, 100)
	w.must(err)
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	return ms
}

func (w *world) wantQueued(h hooks, oneStop, chat, receivedOnly, chatB int) {
	w.t.Helper()
	for _, c := range []struct {
		e    *webhook.Endpoint
		want int
	}{{h.oneStop, oneStop}, {h.chat, chat}, {h.receivedOnly, receivedOnly}, {h.chatB, chatB}} {
		if got := len(w.queued(c.e)); got != c.want {
			w.t.Errorf("%s: %d events queued, want %d", c.e.URL, got, c.want)
		}
	}
}

// issue walks a draft to issued.
func (w *world) issue(d *document.Document) *document.Document {
	w.t.Helper()
	w.toSigned(d)
	_, err := w.svc.Number(ctx, as(w.clerk), d.ID)
	w.must(err)
	_, err = w.svc.Seal(ctx, as(w.clerk), d.ID, file("sealed "+d.ID))
	w.must(err)
	got, err := w.svc.Issue(ctx, as(w.clerk), d.ID)
	w.must(err)
	return got
}

func TestIssueQueuesWebhookEvents(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h := w.hooks()
		d := w.draft(document.TypeQuyetDinh, document.ConfidentialityNormal, w.orgB.ID)
		w.toSigned(d)
		_, err := w.svc.Number(ctx, as(w.clerk), d.ID)
		w.must(err)
		w.wantQueued(h, 0, 0, 0, 0) // nothing is announced before issue
		_, err = w.svc.Seal(ctx, as(w.clerk), d.ID, file("sealed"))
		w.must(err)
		issued, err := w.svc.Issue(ctx, as(w.clerk), d.ID)
		w.must(err)

		// One document.issued per subscribed endpoint of the issuing
		// organization; the recipient's chat hears of the arrival.
		w.wantQueued(h, 1, 1, 0, 1)
		for _, e := range []*webhook.Endpoint{h.oneStop, h.chat} {
			m := w.queued(e)[0]
			if m.Event != workflow.EventDocumentIssued || m.State != webhook.StatePending {
				t.Fatalf("%s: %+v", e.URL, m)
			}
			var ev workflow.IssuedEvent
			w.must(json.Unmarshal(m.Payload, &ev))
			want := workflow.IssuedEvent{
				DocumentID: d.ID, Number: 1, Symbol: "01/QĐ-UBND", Subject: "Về việc tổ chức Tết", Type: document.TypeQuyetDinh,
				Urgency: string(document.UrgencyNormal), IssuingOrg: workflow.EventOrg{ID: w.org.ID, Abbrev: "UBND", Name: w.org.Name},
				IssuedAt: w.now, SealedSHA256: file("sealed").SHA256,
			}
			if !ev.IssuedAt.Equal(want.IssuedAt) {
				t.Errorf("issued_at %v, want %v", ev.IssuedAt, want.IssuedAt)
			}
			ev.IssuedAt = want.IssuedAt
			if ev != want {
				t.Errorf("payload\n got %+v\nwant %+v", ev, want)
			}
		}
		// Times are written in Vietnam time, as on the document.
		var raw map[string]any
		w.must(json.Unmarshal(w.queued(h.oneStop)[0].Payload, &raw))
		if raw["issued_at"] != "2026-02-13T10:00:00+07:00" {
			t.Errorf("issued_at %v", raw["issued_at"])
		}

		var rcv workflow.ReceivedEvent
		w.must(json.Unmarshal(w.queued(h.chatB)[0].Payload, &rcv))
		rs, err := db.Recipients(ctx, issued.ID)
		w.must(err)
		if w.queued(h.chatB)[0].Event != workflow.EventDocumentReceived || rcv.DocumentID != rs[0].DeliveredID || rcv.OrgID != w.orgB.ID ||
			rcv.SourceDocumentID != d.ID || rcv.SenderSymbol != "01/QĐ-UBND" || rcv.ArrivalNumber != 1 || rcv.SHA256 != file("sealed").SHA256 {
			t.Errorf("received payload %+v", rcv)
		}
	})
}

func TestSecretDocumentsQueueNoWebhookEvents(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h := w.hooks()
		for _, conf := range []document.Confidentiality{document.ConfidentialitySecret, document.ConfidentialityTop, document.ConfidentialityMax} {
			d := w.issue(w.draft(document.TypeCongVan, conf, w.orgB.ID))
			if d.State != document.StateIssued {
				t.Fatalf("%s: %s", conf, d.State)
			}
			// Neither the issue nor the delivered copy at SYT is announced.
			w.wantQueued(h, 0, 0, 0, 0)

			_, _, err := w.svc.RegisterIncoming(ctx, as(w.clerk), workflow.IncomingInput{
				UnitID: w.org.ID, TypeCode: document.TypeCongVan, Subject: "Tài liệu " + conf.Label(), Confidentiality: conf,
				SenderName: "Bộ Công an", SenderSymbol: "7/BCA-A03", File: file("secret incoming " + string(conf)),
			})
			w.must(err)
			w.wantQueued(h, 0, 0, 0, 0)
		}
		// The same organization's normal documents still go out.
		w.issue(w.draft(document.TypeCongVan, document.ConfidentialityNormal))
		w.wantQueued(h, 1, 1, 0, 0)
	})
}

func TestRegisterIncomingQueuesWebhookEvent(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h := w.hooks()
		sent := time.Date(2026, 2, 12, 0, 0, 0, 0, document.VietnamTime)
		d, _, err := w.svc.RegisterIncoming(ctx, as(w.clerk), workflow.IncomingInput{
			UnitID: w.org.ID, TypeCode: document.TypeCongVan, Subject: "Về việc phòng chống dịch", Urgency: document.UrgencyFlash,
			SenderName: "Bộ Y tế", SenderSymbol: "123/BYT-DP", SenderDate: sent, File: file("incoming"),
		})
		w.must(err)
		w.wantQueued(h, 0, 1, 1, 0)
		var ev workflow.ReceivedEvent
		w.must(json.Unmarshal(w.queued(h.receivedOnly)[0].Payload, &ev))
		if ev.DocumentID != d.ID || ev.OrgID != w.org.ID || ev.ArrivalNumber != 1 || ev.Sender != "Bộ Y tế" || ev.SenderSymbol != "123/BYT-DP" ||
			ev.SenderDate == nil || !ev.SenderDate.Equal(sent) || ev.Urgency != string(document.UrgencyFlash) ||
			!ev.ReceivedAt.Equal(w.now) || !ev.RouteBy.Equal(d.Deadline) || ev.SHA256 != file("incoming").SHA256 || ev.SourceDocumentID != "" {
			t.Errorf("payload %+v", ev)
		}
	})
}

// TestWebhookEventRollsBackWithIssue: the event is part of the issue's
// transaction, so a failed issue announces nothing and a retried one
// announces once.
func TestWebhookEventRollsBackWithIssue(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h := w.hooks()
		fail := &atomic.Bool{}
		svc := workflow.New[flakyTx](flakyDB{db, fail}, nil)
		svc.Now = w.svc.Now
		d := w.draft(document.TypeQuyetDinh, document.ConfidentialityNormal, w.orgB.ID)
		w.toSigned(d)
		_, err := svc.Number(ctx, as(w.clerk), d.ID)
		w.must(err)
		_, err = svc.Seal(ctx, as(w.clerk), d.ID, file("sealed"))
		w.must(err)
		fail.Store(true)
		if _, err := svc.Issue(ctx, as(w.clerk), d.ID); err == nil {
			t.Fatal("Issue with failing audit succeeded")
		}
		w.wantQueued(h, 0, 0, 0, 0)
		fail.Store(false)
		_, err = svc.Issue(ctx, as(w.clerk), d.ID)
		w.must(err)
		w.wantQueued(h, 1, 1, 0, 1)
	})
}
