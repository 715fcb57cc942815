package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"vanban/internal/webhook"
)

// A receiver reads the raw body, checks it with the endpoint's secret before
// parsing it, and deduplicates on X-Vanban-Delivery (a delivery may arrive
// more than once).
func ExampleVerify() {
	const secret = "the secret shown when the endpoint was registered"
	seen := map[string]bool{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header, body, time.Now(), webhook.DefaultTolerance); err != nil {
			// 4xx: vanban will not retry a request we reject.
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(webhook.HeaderDelivery)
		if !seen[id] {
			seen[id] = true
			fmt.Println("new", r.Header.Get(webhook.HeaderEvent))
		}
		w.WriteHeader(http.StatusNoContent)
	})

	body := `{"id":"d-1","type":"document.issued","created_at":"2026-02-13T03:00:00Z","data":{}}`
	ts := time.Now().Unix()
	for range 2 { // the same delivery, retried
		req := httptest.NewRequest(http.MethodPost, "/hooks/vanban", strings.NewReader(body))
		req.Header.Set(webhook.HeaderEvent, "document.issued")
		req.Header.Set(webhook.HeaderDelivery, "d-1")
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, []byte(body)))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// new document.issued
	// 204
	// 204
}
