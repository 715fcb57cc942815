package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/notify"
	"vanban/internal/notify/notifytest"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// TestReviewerIsToldByEmailAndLive: a drafter sends a document for review;
// the reviewer, who chose e-mail and has the page open, gets an e-mail at
// the loopback SMTP server and a live notice on the open stream. For a
// secret document the e-mail says only "you have a document".
func TestReviewerIsToldByEmailAndLive(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		smtpSrv := notifytest.StartSMTP(t)
		mailer, err := notify.NewSMTP(notify.SMTPConfig{Addr: smtpSrv.Addr, From: "vanban@thanhlong.gov.vn", TLS: "none"})
		e.must(err)
		w := notify.New(db, notify.Options{Channels: map[string]notify.Channel{notify.ChannelPage: e.api.Oversight.Hub, notify.ChannelEmail: mailer},
			BaseURL: "https://vanban.example", Interval: 50 * time.Millisecond, Logger: quiet()})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		e.ok("A.reviewer", "PUT", "/api/v1/me/notification-preferences", httpapi.NotifyPreferenceJSON{Channel: "email", Mode: "instant", Address: "reviewer@thanhlong.gov.vn"}, 204, nil)
		code, _ := e.call("A.reviewer", "PUT", "/api/v1/me/notification-preferences", httpapi.NotifyPreferenceJSON{Channel: "email", Mode: "instant", Address: "x@y\r\nRCPT TO:<evil@z>"})
		if code != 422 {
			t.Errorf("a header-injecting address: %d, want 422", code)
		}

		// The reviewer's page is open: the event stream.
		req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/me/notifications/stream", nil)
		e.must(err)
		req.Header.Set("Authorization", "Bearer "+e.tokens["A.reviewer"])
		if code, _ := e.send(req.Clone(ctx)); code != http.StatusNotAcceptable {
			t.Errorf("the stream without Accept: text/event-stream: %d, want 406", code)
		}
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		e.must(err)
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := make(chan notify.Notice, 10)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			var ev string
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					ev = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: ") && ev == "notice":
					var n notify.Notice
					if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &n) == nil {
						events <- n
					}
				}
			}
		}()
		waitSubscribed(t, e)

		d := e.draft("Về việc tổ chức lễ hội Thành Long 2026", document.ConfidentialityNormal)
		e.ok("A.drafter", "POST", "/api/v1/documents/"+d.ID+"/submit", httpapi.Submit{Reviewers: []string{e.users["A.reviewer"].ID}}, 200, nil)

		select {
		case m := <-smtpSrv.Mails:
			if len(m.To) != 1 || m.To[0] != "reviewer@thanhlong.gov.vn" || m.From != "vanban@thanhlong.gov.vn" {
				t.Errorf("mail from %s to %v", m.From, m.To)
			}
			if !strings.Contains(m.Subject, "Văn bản chờ bạn cho ý kiến") || !strings.Contains(m.Body, "Về việc tổ chức lễ hội Thành Long 2026") ||
				!strings.Contains(m.Body, "https://vanban.example/d/"+d.ID) {
				t.Errorf("mail subject %q body %q", m.Subject, m.Body)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no e-mail at the loopback SMTP server")
		}
		select {
		case n := <-events:
			if n.Title != "Văn bản chờ bạn cho ý kiến" || n.Link != "/d/"+d.ID || !strings.Contains(n.Text, "lễ hội") {
				t.Errorf("live notice = %+v", n)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no live notice on the open stream")
		}
		var list struct{ Items []httpapi.NotificationJSON }
		e.ok("A.reviewer", "GET", "/api/v1/me/notifications", nil, 200, &list)
		if len(list.Items) != 1 || list.Items[0].Kind != "review" || list.Items[0].Read {
			t.Fatalf("notices = %+v", list.Items)
		}
		e.ok("A.reviewer", "POST", "/api/v1/me/notifications/"+list.Items[0].ID+"/read", nil, 204, nil)
		if code, _ := e.call("A.drafter", "POST", "/api/v1/me/notifications/"+list.Items[0].ID+"/read", nil); code != 404 {
			t.Errorf("marking someone else's notice: %d, want 404", code)
		}
		// The drafter, who did it, is not told of their own step.
		e.ok("A.drafter", "GET", "/api/v1/me/notifications", nil, 200, &list)
		if len(list.Items) != 0 {
			t.Errorf("drafter got %+v", list.Items)
		}

		// A secret document: the e-mail says only that there is one.
		s := e.draft("Phương án bảo vệ bí mật số 7", document.ConfidentialitySecret)
		e.ok("A.drafter", "POST", "/api/v1/documents/"+s.ID+"/submit", httpapi.Submit{Reviewers: []string{e.users["A.reviewer"].ID}}, 200, nil)
		select {
		case m := <-smtpSrv.Mails:
			if !strings.Contains(m.Subject, "Bạn có một văn bản cần xử lý") {
				t.Errorf("secret mail subject %q", m.Subject)
			}
			for _, leak := range []string{"bí mật", "Phương án", s.ID, "Văn bản chờ"} {
				if strings.Contains(m.Raw, leak) || strings.Contains(m.Body, leak) || strings.Contains(m.Subject, leak) {
					t.Errorf("secret mail reveals %q:\n%s\n%s", leak, m.Subject, m.Body)
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no e-mail for the secret document")
		}
	})
}

// waitSubscribed waits until the stream handler has subscribed, so the
// notice cannot be published before the page listens.
func waitSubscribed(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !e.api.Oversight.Hub.Listening(e.users["A.reviewer"].ID) {
		if time.Now().After(deadline) {
			t.Fatal("the stream never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
