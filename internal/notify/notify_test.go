package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/notify"
	"vanban/internal/notify/notifytest"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type world struct {
	db           *store.DB
	org          *document.Organization
	unit         *document.Unit
	clerk, staff *document.User
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{db: db, org: &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long"}}
	must(t, db.CreateOrganization(ctx, w.org))
	w.unit = &document.Unit{ParentID: w.org.ID, Abbrev: "TC", Name: "Phòng Tài chính"}
	must(t, db.CreateUnit(ctx, w.unit))
	w.clerk = &document.User{OrgID: w.org.ID, Username: "clerk-" + w.org.ID[:6], FullName: "Văn thư"}
	must(t, db.CreateUser(ctx, w.clerk))
	must(t, db.GrantRole(ctx, w.clerk.ID, w.org.ID, document.RoleClerk))
	w.staff = &document.User{OrgID: w.org.ID, Username: "staff-" + w.org.ID[:6], FullName: "Chuyên viên"}
	must(t, db.CreateUser(ctx, w.staff))
	must(t, db.GrantRole(ctx, w.staff.ID, w.unit.ID, document.RoleDrafter))
	return w
}

// incoming stores an incoming document assigned to staff with deadline.
func (w *world) incoming(t *testing.T, subject string, deadline time.Time, conf document.Confidentiality) *document.Document {
	t.Helper()
	d := &document.Document{OrgID: w.org.ID, UnitID: w.org.ID, Direction: document.Incoming, TypeCode: document.TypeCongVan,
		Subject: subject, Urgency: document.UrgencyNormal, Confidentiality: conf, CreatedBy: w.clerk.ID,
		State: document.StateAssigned, HandlerID: w.staff.ID, HandlingUnitID: w.unit.ID, Deadline: deadline,
		ReceivedAt: deadline.AddDate(0, 0, -10), SenderName: "Sở Tài chính", Symbol: "12/STC-NS"}
	must(t, w.db.CreateDocument(context.Background(), d))
	return d
}

// fakeChat is a local HTTPS endpoint in the style of a Zalo Official
// Account's template message API.
type fakeChat struct {
	mu       sync.Mutex
	srv      *httptest.Server
	failures int // answer this many requests with an error first
	got      []map[string]any
	tokens   []string
}

func startChat(t *testing.T) *fakeChat {
	f := &fakeChat{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Method != "POST" || r.URL.Path != "/v3.0/oa/message/template" {
			http.Error(w, "wrong endpoint", 404)
			return
		}
		if f.failures > 0 {
			f.failures--
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"error": -216, "message": "access token is invalid"}`)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
		f.got = append(f.got, m)
		f.tokens = append(f.tokens, r.Header.Get("access_token"))
		io.WriteString(w, `{"error": 0, "message": "Success", "data": {"msg_id": "1"}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeChat) received() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.got...)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestChatDeadlinesRetriesAndDigest: the deadline scan tells the handler of
// a deadline tomorrow through the chat connector; a failed post is retried
// after the backoff and then delivered; a secret document's chat message
// says only "you have a document"; e-mail taken as a digest goes out once,
// at the digest hour, with every notice of the day.
func TestChatDeadlinesRetriesAndDigest(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		chat := startChat(t)
		connector, err := notify.NewChat(notify.ChatConfig{URL: chat.srv.URL + "/v3.0/oa/message/template", AccessToken: "oa-token",
			TemplateID: "tpl-421", Client: chat.srv.Client()})
		must(t, err)
		smtpSrv := notifytest.StartSMTP(t)
		mailer, err := notify.NewSMTP(notify.SMTPConfig{Addr: smtpSrv.Addr, From: "vanban@thanhlong.gov.vn", TLS: "none"})
		must(t, err)
		must(t, db.SetNotifyPreference(ctx, notify.Preference{UserID: w.staff.ID, Channel: notify.ChannelChat, Mode: notify.ModeInstant, Address: "zalo_8842"}))
		must(t, db.SetNotifyPreference(ctx, notify.Preference{UserID: w.staff.ID, Channel: notify.ChannelEmail, Mode: notify.ModeDigest, Address: "staff@thanhlong.gov.vn"}))

		// Monday 10:00 in Vietnam; one deadline tomorrow, one secret
		// deadline tomorrow, one overdue since this morning, one next week.
		c := &clock{t: time.Date(2026, 3, 9, 10, 0, 0, 0, document.VietnamTime)}
		plain := w.incoming(t, "Báo cáo quyết toán quý I", time.Date(2026, 3, 10, 17, 0, 0, 0, document.VietnamTime), document.ConfidentialityNormal)
		secret := w.incoming(t, "Kế hoạch mật về an ninh", time.Date(2026, 3, 10, 16, 0, 0, 0, document.VietnamTime), document.ConfidentialitySecret)
		overdue := w.incoming(t, "Đề nghị cung cấp số liệu", time.Date(2026, 3, 9, 8, 0, 0, 0, document.VietnamTime), document.ConfidentialityNormal)
		w.incoming(t, "Không gấp", time.Date(2026, 3, 16, 17, 0, 0, 0, document.VietnamTime), document.ConfidentialityNormal)

		chat.failures = 1
		wk := notify.New(db, notify.Options{Channels: map[string]notify.Channel{notify.ChannelChat: connector, notify.ChannelEmail: mailer},
			BaseURL: "https://vanban.example", Now: c.now, Logger: quiet(), MaxAttempts: 3})
		must(t, wk.Step(ctx))
		ns, err := db.Notifications(ctx, w.staff.ID, 10)
		must(t, err)
		kinds := map[string]notify.Kind{}
		for _, n := range ns {
			kinds[n.DocumentID] = n.Kind
		}
		if len(ns) != 3 || kinds[plain.ID] != notify.KindDueTomorrow || kinds[secret.ID] != notify.KindDueTomorrow || kinds[overdue.ID] != notify.KindOverdueToday {
			t.Fatalf("notices after the scan: %+v", ns)
		}
		// The first chat post failed: that delivery waits for its retry.
		got := chat.received()
		if len(got) != 2 {
			t.Fatalf("chat got %d messages after the first pass, want 2 (one failed)", len(got))
		}
		failed := 0
		for _, n := range ns {
			ds, err := db.NotifyDeliveries(ctx, n.ID)
			must(t, err)
			for _, d := range ds {
				if d.Channel == notify.ChannelChat && d.State == "pending" {
					failed++
					if d.Attempts != 1 || !strings.Contains(d.LastError, "-216") {
						t.Errorf("failed delivery = %+v", d)
					}
				}
			}
		}
		if failed != 1 {
			t.Fatalf("%d chat deliveries pending, want 1", failed)
		}
		// A second scan the same day adds nothing.
		c.set(c.now().Add(11 * time.Minute))
		must(t, wk.Step(ctx))
		if ns2, _ := db.Notifications(ctx, w.staff.ID, 10); len(ns2) != 3 {
			t.Fatalf("a second scan made %d notices", len(ns2))
		}
		if got := chat.received(); len(got) != 3 {
			t.Fatalf("after the backoff the retry should be delivered: chat has %d", len(got))
		}
		for _, m := range chat.received() {
			data := m["template_data"].(map[string]any)
			rcpt := m["recipient"].(map[string]any)
			if m["template_id"] != "tpl-421" || rcpt["user_id"] != "zalo_8842" {
				t.Errorf("chat message %v", m)
			}
			b, _ := json.Marshal(m)
			if strings.Contains(string(b), "an ninh") || strings.Contains(string(b), secret.ID) {
				t.Errorf("chat message reveals the secret document: %s", b)
			}
			if !strings.HasPrefix(data["link"].(string), "https://vanban.example/") {
				t.Errorf("chat link %v", data["link"])
			}
		}
		if chat.tokens[0] != "oa-token" {
			t.Errorf("access_token header %q", chat.tokens[0])
		}
		select {
		case m := <-smtpSrv.Mails:
			t.Fatalf("a digest went out before its hour: %q", m.Subject)
		default:
		}
		// Next morning at 07:00: one digest with the three notices.
		c.set(time.Date(2026, 3, 10, 7, 0, 1, 0, document.VietnamTime))
		must(t, wk.Step(ctx))
		select {
		case m := <-smtpSrv.Mails:
			if !strings.Contains(m.Subject, "việc chờ bạn") || !strings.Contains(m.Body, "Báo cáo quyết toán quý I") ||
				!strings.Contains(m.Body, "Bạn có một văn bản cần xử lý") || strings.Contains(m.Body, "an ninh") {
				t.Errorf("digest %q:\n%s", m.Subject, m.Body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no digest at the digest hour")
		}
		select {
		case m := <-smtpSrv.Mails:
			t.Fatalf("a second mail: %q", m.Subject)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestDeliveryGivesUp: a channel that keeps failing is tried MaxAttempts
// times, with the wait growing, and then the delivery is dead.
func TestDeliveryGivesUp(t *testing.T) {
	db := pgtest.Open(t, pgtest.SQLiteURL(t))
	ctx := context.Background()
	w := newWorld(t, db)
	chat := startChat(t)
	chat.failures = 100
	connector, err := notify.NewChat(notify.ChatConfig{URL: chat.srv.URL + "/v3.0/oa/message/template", AccessToken: "t", TemplateID: "x", Client: chat.srv.Client()})
	must(t, err)
	must(t, db.SetNotifyPreference(ctx, notify.Preference{UserID: w.staff.ID, Channel: notify.ChannelChat, Mode: notify.ModeInstant, Address: "u1"}))
	c := &clock{t: time.Date(2026, 3, 9, 10, 0, 0, 0, document.VietnamTime)}
	w.incoming(t, "Hạn mai", time.Date(2026, 3, 10, 17, 0, 0, 0, document.VietnamTime), document.ConfidentialityNormal)
	wk := notify.New(db, notify.Options{Channels: map[string]notify.Channel{notify.ChannelChat: connector}, Now: c.now, Logger: quiet(), MaxAttempts: 3})
	for i := 0; i < 6; i++ {
		must(t, wk.Step(ctx))
		c.set(c.now().Add(5 * time.Minute))
	}
	ns, err := db.Notifications(ctx, w.staff.ID, 10)
	must(t, err)
	ds, err := db.NotifyDeliveries(ctx, ns[0].ID)
	must(t, err)
	if len(ds) != 1 || ds[0].State != "dead" || ds[0].Attempts != 3 {
		t.Fatalf("deliveries = %+v", ds)
	}
}

func TestPreferenceValidation(t *testing.T) {
	for _, p := range []notify.Preference{
		{Channel: "sms", Mode: notify.ModeInstant},
		{Channel: notify.ChannelEmail, Mode: "sometimes"},
		{Channel: notify.ChannelEmail, Mode: notify.ModeInstant, Address: "no-at-sign"},
		{Channel: notify.ChannelEmail, Mode: notify.ModeInstant, Address: "a@b.c\r\nBcc: x@y.z"},
		{Channel: notify.ChannelChat, Mode: notify.ModeInstant, Address: "has space"},
		{Channel: notify.ChannelChat, Mode: notify.ModeDigest},
	} {
		if err := p.Validate(); document.ErrorCode(err) != document.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", p, err)
		}
	}
	if err := (notify.Preference{Channel: notify.ChannelEmail, Mode: notify.ModeOff}).Validate(); err != nil {
		t.Errorf("turning e-mail off needs no address: %v", err)
	}
	if _, err := notify.NewChat(notify.ChatConfig{URL: "http://insecure/", AccessToken: "t", TemplateID: "x"}); err == nil {
		t.Error("a chat connector over plain HTTP was accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
