package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/webhook"
)

// An administrator registers the province's one-stop system; a received
// document is delivered to it signed with the secret shown once, and the
// delivery log is readable through the API.
func TestWebhooksOverAPI(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var mu sync.Mutex
		var got []*http.Request
		var bodies [][]byte
		var secret string
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if err := webhook.Verify(secret, r.Header, b, time.Now(), webhook.DefaultTolerance); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			got, bodies = append(got, r), append(bodies, b)
		}))
		defer recv.Close()

		// The probe: loopback, localhost, [::1], the integer form and the
		// metadata address were accepted. Refused by default...
		for _, u := range []string{recv.URL, strings.Replace(recv.URL, "127.0.0.1", "localhost", 1), "http://[::1]:8080/", "http://2130706433/", "http://169.254.169.254/latest/meta-data/"} {
			if code, b := e.call("A.admin", "POST", "/api/v1/webhooks", httpapi.WebhookCreate{URL: u, Events: []string{"*"}}); code != http.StatusUnprocessableEntity {
				t.Errorf("registering %s: %d %s, want 422", u, code, b)
			}
		}
		// ...and accepted when the operator allows the intranet target.
		allow, err := webhook.ParseTargets("127.0.0.0/8")
		if err != nil {
			t.Fatal(err)
		}
		e.api.WebhookTargets = allow
		defer func() { e.api.WebhookTargets = nil }()

		var hook httpapi.WebhookJSON
		e.ok("A.admin", "POST", "/api/v1/webhooks", httpapi.WebhookCreate{URL: recv.URL, Events: []string{"document.received"}}, 201, &hook)
		if hook.Secret == "" {
			t.Fatal("the secret is not shown at creation")
		}
		mu.Lock()
		secret = hook.Secret
		mu.Unlock()
		var list struct{ Items []httpapi.WebhookJSON }
		e.ok("A.admin", "GET", "/api/v1/webhooks", nil, 200, &list)
		if len(list.Items) != 1 || list.Items[0].Secret != "" {
			t.Fatalf("list %+v: the secret must not be shown again", list.Items)
		}
		if code, _ := e.call("A.clerk", "GET", "/api/v1/webhooks", nil); code != http.StatusForbidden {
			t.Errorf("a clerk lists webhooks: %d", code)
		}
		if code, _ := e.call("A.admin", "POST", "/api/v1/webhooks", httpapi.WebhookCreate{URL: "file:///etc/passwd"}); code != http.StatusUnprocessableEntity {
			t.Errorf("a file: URL: %d", code)
		}

		// A normal and a secret received document: only the first goes out.
		for _, conf := range []document.Confidentiality{document.ConfidentialityNormal, document.ConfidentialitySecret} {
			code, b := e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan,
				Subject: "Công văn " + string(conf), SenderName: "Sở Y tế", Confidentiality: conf}, "cv.pdf", samplePDF(t))
			if code != http.StatusCreated {
				t.Fatalf("incoming: %d %s", code, b)
			}
		}
		d := webhook.New(db, webhook.Options{Targets: allow, Logger: quiet()})
		if _, err := d.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(got) != 1 || got[0].Header.Get(webhook.HeaderEvent) != "document.received" || !strings.Contains(string(bodies[0]), "Công văn thuong") {
			t.Errorf("received %d deliveries: %q", len(got), bodies)
		}
		mu.Unlock()
		var msgs struct{ Items []httpapi.WebhookMessageJSON }
		e.ok("A.admin", "GET", "/api/v1/webhooks/"+hook.ID+"/messages", nil, 200, &msgs)
		if len(msgs.Items) != 1 || msgs.Items[0].State != webhook.StateDelivered {
			t.Fatalf("messages %+v", msgs.Items)
		}
		var atts struct{ Items []httpapi.WebhookAttemptJSON }
		e.ok("A.admin", "GET", "/api/v1/webhooks/"+hook.ID+"/messages/"+msgs.Items[0].ID+"/deliveries", nil, 200, &atts)
		if len(atts.Items) != 1 || atts.Items[0].StatusCode != 200 {
			t.Errorf("deliveries %+v", atts.Items)
		}
		e.ok("A.admin", "DELETE", "/api/v1/webhooks/"+hook.ID, nil, 204, nil)
		e.ok("A.admin", "GET", "/api/v1/webhooks", nil, 200, &list)
		if list.Items[0].Active {
			t.Error("still active after DELETE")
		}
	})
}
