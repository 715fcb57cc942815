package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

// getFrom is get from a client at remote (host:port).
func getFrom(t *testing.T, h http.Handler, path, remote string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	h.ServeHTTP(w, req)
	return w
}

// The probe read /metrics without login. Without a token only loopback
// clients get it (forwarding headers do not count); with a token only its
// bearer; with a separate listener the public router does not serve it.
func TestMetricsNotPublic(t *testing.T) {
	r := NewRouter(Options{Logger: quietLogger()})
	if w := getFrom(t, r, "/metrics", "203.0.113.7:5555"); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "go_goroutines") {
		t.Errorf("remote client without token: %d", w.Code)
	}
	if w := getFrom(t, r, "/metrics", "203.0.113.7:5555", "X-Forwarded-For", "127.0.0.1", "X-Real-IP", "127.0.0.1"); w.Code != http.StatusForbidden {
		t.Errorf("remote client claiming loopback in headers: %d", w.Code)
	}
	for _, local := range []string{"127.0.0.1:5555", "[::1]:5555"} {
		if w := getFrom(t, r, "/metrics", local); w.Code != 200 || !strings.Contains(w.Body.String(), "go_goroutines") {
			t.Errorf("loopback client %s: %d", local, w.Code)
		}
	}

	r = NewRouter(Options{Logger: quietLogger(), MetricsToken: "s3cret-metrics-token"})
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret-metrics-token"}} {
		if w := getFrom(t, r, "/metrics", "127.0.0.1:5555", h...); w.Code != http.StatusUnauthorized {
			t.Errorf("token set, header %v: %d, want 401", h, w.Code)
		}
	}
	if w := getFrom(t, r, "/metrics", "203.0.113.7:5555", "Authorization", "Bearer s3cret-metrics-token"); w.Code != 200 || !strings.Contains(w.Body.String(), "go_goroutines") {
		t.Errorf("right token: %d", w.Code)
	}

	r = NewRouter(Options{Logger: quietLogger(), MetricsElsewhere: true})
	if w := getFrom(t, r, "/metrics", "127.0.0.1:5555"); w.Code != http.StatusNotFound {
		t.Errorf("metrics on a separate address, public router: %d, want 404", w.Code)
	}
}

func TestReadyzFollowsDependencies(t *testing.T) {
	var dbDown atomic.Bool
	r := NewRouter(Options{Logger: quietLogger(), Checks: []Check{
		{Name: "database", Ping: func(ctx context.Context) error {
			if dbDown.Load() {
				return errors.New("dial tcp 127.0.0.1:5432: connection refused")
			}
			return nil
		}},
		{Name: "storage", Ping: func(ctx context.Context) error { return nil }},
	}})

	if w := get(t, r, "/readyz"); w.Code != http.StatusOK {
		t.Fatalf("ready: %d %s", w.Code, w.Body)
	}
	dbDown.Store(true)
	w := get(t, r, "/readyz")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("want 503 while the database is down, got %d", w.Code)
	}
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "unavailable" || !strings.Contains(body.Checks["database"], "connection refused") || body.Checks["storage"] != "ok" {
		t.Errorf("body does not give the reason: %+v", body)
	}
	dbDown.Store(false)
	if w := get(t, r, "/readyz"); w.Code != http.StatusOK {
		t.Fatalf("readiness must recover without a restart: %d", w.Code)
	}
}

func TestReadyzTimesOutSlowCheck(t *testing.T) {
	r := NewRouter(Options{Logger: quietLogger(), CheckTimeout: 50_000_000, Checks: []Check{
		{Name: "storage", Ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}})
	w := get(t, r, "/readyz")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "deadline") {
		t.Fatalf("slow check: %d %s", w.Code, w.Body)
	}
}

// TestReadyzReportsWork: the workers' reports are shown under "work"; a
// failing report shows its error and leaves the node ready.
func TestReadyzReportsWork(t *testing.T) {
	r := NewRouter(Options{Logger: quietLogger(),
		Checks: []Check{{Name: "database", Ping: func(ctx context.Context) error { return nil }}},
		Reports: []Report{
			{Name: "signing", Report: func(ctx context.Context) (any, error) {
				return map[string]any{"node": "node-a", "leases_held": 3}, nil
			}},
			{Name: "broken", Report: func(ctx context.Context) (any, error) { return nil, errors.New("no database") }},
		}})
	w := get(t, r, "/readyz")
	if w.Code != http.StatusOK {
		t.Fatalf("readyz: %d %s", w.Code, w.Body)
	}
	var body struct {
		Work map[string]map[string]any `json:"work"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Work["signing"]["node"] != "node-a" || body.Work["signing"]["leases_held"] != 3.0 || body.Work["broken"]["error"] != "no database" {
		t.Errorf("work: %s", w.Body)
	}
}

func TestHealthzMetricsAndProblems(t *testing.T) {
	r := NewRouter(Options{Logger: quietLogger(), Version: "test"})
	r.GET("/boom", func(c *gin.Context) { panic("bug") })
	if w := get(t, r, "/healthz"); w.Code != 200 || !strings.Contains(w.Body.String(), `"version":"test"`) {
		t.Fatalf("healthz: %d %s", w.Code, w.Body)
	}
	w := get(t, r, "/boom")
	if w.Code != 500 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("panic: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	w = get(t, r, "/nope")
	var p ProblemDetails
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 404 || p.Code != "not-found" || p.Status != 404 {
		t.Fatalf("404 problem: %d %s", w.Code, w.Body)
	}
	m := getFrom(t, r, "/metrics", "127.0.0.1:40000").Body.String()
	for _, want := range []string{`vanban_http_requests_total{code="200",method="GET",route="/healthz"} 1`, `route="/boom"`, "go_goroutines"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
