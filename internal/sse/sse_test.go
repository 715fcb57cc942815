package sse

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStreamFraming reads a stream the way a client does, over a real
// connection, and checks every frame is whole and arrives before the
// handler ends (each write is flushed).
func TestStreamFraming(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Accepts(r) {
			http.Error(w, "want an event stream", http.StatusNotAcceptable)
			return
		}
		s, err := Start(w, 2*time.Second)
		if err != nil {
			return
		}
		_ = s.Event("status", map[string]string{"state": "pending", "message": "a\nb"})
		_ = s.Comment("keep\nalive")
		<-release
	}))
	defer srv.Close()
	defer close(release)

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Fatalf("without Accept: %d, want 406", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	want := []string{"retry: 2000", ": connected", "", "event: status",
		`data: {"message":"a\nb","state":"pending"}`, "", ": keep alive", ""}
	sc := bufio.NewScanner(resp.Body)
	for i, w := range want {
		if !sc.Scan() {
			t.Fatalf("stream ended at line %d (%v)", i, sc.Err())
		}
		if sc.Text() != w {
			t.Fatalf("line %d: %q, want %q", i, sc.Text(), w)
		}
	}
}
