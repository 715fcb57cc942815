package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vanban/exchange"
	"vanban/exchange/edxml"
	"vanban/exchange/hub"
	"vanban/exchange/hubclient"
)

const (
	organA = "000.00.01.H40"
	organB = "000.00.02.H40"
	organC = "000.00.03.H40"
)

func systems() []hub.System {
	return []hub.System{
		{ID: "sys-a", Secret: "secret-a", Organs: []string{organA}},
		{ID: "sys-bc", Secret: "secret-bc", Organs: []string{organB, organC}},
	}
}

// TestMain doubles as the hub process of TestHubSurvivesSIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("VANBAN_TEST_HUB_DIR"); dir != "" {
		h, err := hub.Open(hub.Config{Dir: dir, Systems: systems()})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		srv := &http.Server{Addr: os.Getenv("VANBAN_TEST_HUB_ADDR"), Handler: h.Handler()}
		fmt.Fprintln(os.Stderr, srv.ListenAndServe())
		os.Exit(4)
	}
	os.Exit(m.Run())
}

func buildPackage(t testing.TB, n int, to ...string) []byte {
	t.Helper()
	return buildPackageWith(t, n, []byte(fmt.Sprintf("%%PDF-1.4 document %d", n)), to...)
}

func buildPackageWith(t testing.TB, n int, content []byte, to ...string) []byte {
	t.Helper()
	p := &edxml.Package{Header: edxml.Header{MessageHeader: edxml.MessageHeader{
		From:       edxml.Organization{OrganId: organA, OrganName: "UBND xã A"},
		DocumentId: fmt.Sprintf("%s,2026/12/03,%02d/UBND-VP", organA, n),
		Subject:    fmt.Sprintf("Công văn số %d", n),
	}}}
	for _, o := range to {
		p.Header.MessageHeader.To = append(p.Header.MessageHeader.To, edxml.Organization{OrganId: o})
	}
	p.Attachments = []edxml.Attachment{{ContentId: "doc", AttachmentName: "cv.pdf", ContentType: "application/pdf"}}
	p.References = []edxml.Reference{{ContentId: "cid:doc", AttachmentName: "cv.pdf"}}
	var buf bytes.Buffer
	if err := edxml.Encode(&buf, p, []io.Reader{bytes.NewReader(content)}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func buildStatus(t testing.TB, code edxml.StatusCode) []byte {
	var buf bytes.Buffer
	err := edxml.EncodeStatus(&buf, &edxml.Status{
		ResponseFor: edxml.ResponseFor{OrganId: organA, DocumentId: organA + ",2026/12/03,01/UBND-VP"},
		From:        edxml.Organization{OrganId: organB}, StatusCode: code, Description: code.Name(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func startHub(t *testing.T, dir string) (*hub.Hub, *httptest.Server) {
	t.Helper()
	h, err := hub.Open(hub.Config{Dir: dir, Systems: systems(), Agencies: []exchange.Agency{{OrganId: organA, Name: "UBND xã A"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); h.Close() })
	return h, srv
}

func TestHubRoutesPackagesAndStatuses(t *testing.T) {
	ctx := context.Background()
	_, srv := startHub(t, t.TempDir())
	a := hubclient.New(srv.URL, "sys-a", "secret-a", nil)
	bc := hubclient.New(srv.URL, "sys-bc", "secret-bc", nil)

	ags, err := a.Agencies(ctx)
	if err != nil || len(ags) != 3 || ags[0].Name != "UBND xã A" || ags[1].OrganId != organB {
		t.Fatalf("agencies %+v %v", ags, err)
	}
	pkg := buildPackage(t, 1, organB, organC)
	id, err := a.Send(ctx, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, To: []string{organB, organC}, Key: "doc-1", Body: bytes.NewReader(pkg)})
	if err != nil {
		t.Fatal(err)
	}
	// A retry with the same key is the same message.
	id2, err := a.Send(ctx, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, To: []string{organB, organC}, Key: "doc-1", Body: bytes.NewReader(pkg)})
	if err != nil || id2 != id {
		t.Fatalf("retry gave %s, %v; want %s", id2, err, id)
	}
	for _, organ := range []string{organB, organC} {
		list, err := bc.Received(ctx, organ)
		if err != nil || len(list) != 1 || list[0].ID != id || list[0].From != organA || list[0].Kind != exchange.KindPackage ||
			list[0].DocumentId != organA+",2026/12/03,01/UBND-VP" || list[0].Size != int64(len(pkg)) {
			t.Fatalf("%s inbox %+v %v", organ, list, err)
		}
		rc, err := bc.Fetch(ctx, organ, id)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, pkg) {
			t.Fatal("fetched bytes differ")
		}
	}
	if err := bc.Ack(ctx, organB, id); err != nil {
		t.Fatal(err)
	}
	if err := bc.Ack(ctx, organB, id); err != nil {
		t.Fatalf("second ack: %v", err)
	}
	if list, _ := bc.Received(ctx, organB); len(list) != 0 {
		t.Fatalf("acknowledged message still listed: %+v", list)
	}
	if list, _ := bc.Received(ctx, organC); len(list) != 1 {
		t.Fatalf("C's copy must wait for C's ack: %+v", list)
	}
	// The status goes back to the sender named in ResponseFor.
	if _, err := bc.Send(ctx, exchange.Outgoing{Kind: exchange.KindStatus, From: organB, Body: bytes.NewReader(buildStatus(t, edxml.StatusArrived))}); err != nil {
		t.Fatal(err)
	}
	list, err := a.Received(ctx, organA)
	if err != nil || len(list) != 1 || list[0].Kind != exchange.KindStatus || list[0].From != organB {
		t.Fatalf("A's inbox %+v %v", list, err)
	}

	// The page lists what passed through.
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Công văn số 1", organB + " <span class=\"ok\">đã nhận", organC + " <span class=\"wait\">chờ nhận", "Trạng thái 01"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHubRefuses(t *testing.T) {
	ctx := context.Background()
	_, srv := startHub(t, t.TempDir())
	tr, err := exchange.Open("hub:"+srv.URL+"/?system=sys-a&secret-env=HUB_SECRET&timeout=10s", func(n string) (string, bool) { return "secret-a", n == "HUB_SECRET" })
	if err != nil {
		t.Fatal(err)
	}
	a := tr.(*hubclient.Client)
	bad := hubclient.New(srv.URL, "sys-a", "wrong", nil)
	pkg := buildPackage(t, 2, organB)
	cases := []struct {
		name string
		c    *hubclient.Client
		m    exchange.Outgoing
		kind exchange.Kind
	}{
		{"wrong secret", bad, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Body: bytes.NewReader(pkg)}, exchange.KindUnauthorized},
		{"foreign organ", a, exchange.Outgoing{Kind: exchange.KindPackage, From: organB, Body: bytes.NewReader(pkg)}, exchange.KindUnauthorized},
		{"malformed", a, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Body: strings.NewReader("<edXML><oops>")}, exchange.KindRejected},
		{"dtd", a, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Body: strings.NewReader(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`)}, exchange.KindRejected},
		{"not a recipient", a, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, To: []string{organC}, Body: bytes.NewReader(pkg)}, exchange.KindRejected},
		{"unknown recipient", a, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Body: bytes.NewReader(buildPackage(t, 3, "000.00.99.H40"))}, exchange.KindRejected},
		{"kind mismatch", a, exchange.Outgoing{Kind: exchange.KindStatus, From: organA, Body: bytes.NewReader(pkg)}, exchange.KindRejected},
	}
	for _, c := range cases {
		_, err := c.c.Send(ctx, c.m)
		if exchange.KindOf(err) != c.kind {
			t.Errorf("%s: %v, want kind %v", c.name, err, c.kind)
		}
	}
	if _, err := a.Received(ctx, organB); exchange.KindOf(err) != exchange.KindUnauthorized {
		t.Errorf("reading another system's inbox: %v", err)
	}
	if _, err := a.Fetch(ctx, organA, "nope"); exchange.KindOf(err) != exchange.KindNotFound {
		t.Errorf("fetching nothing: %v", err)
	}
	if list, _ := hubclient.New(srv.URL, "sys-bc", "secret-bc", nil).Received(ctx, organB); len(list) != 0 {
		t.Errorf("refused messages were delivered: %+v", list)
	}
}

func TestHubKeepsMessagesAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h, err := hub.Open(hub.Config{Dir: dir, Systems: systems()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	id, err := hubclient.New(srv.URL, "sys-a", "secret-a", nil).Send(ctx, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Key: "k", Body: bytes.NewReader(buildPackage(t, 4, organB))})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	h.Close()
	_, srv2 := startHub(t, dir)
	list, err := hubclient.New(srv2.URL, "sys-bc", "secret-bc", nil).Received(ctx, organB)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("after restart %+v %v", list, err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestHubSurvivesSIGKILL kills the hub process with SIGKILL while senders
// are sending, restarts it, and checks that every message the senders
// retried until success (same Idempotency-Key) is there exactly once.
func TestHubSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "VANBAN_TEST_HUB_DIR="+dir, "VANBAN_TEST_HUB_ADDR="+addr)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	a := hubclient.New(base, "sys-a", "secret-a", &http.Client{Timeout: 5 * time.Second})
	const senders, perSender = 4, 15
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var retries sync.Map
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				n := s*perSender + i
				pkg := buildPackage(t, n, organB)
				for {
					_, err := a.Send(ctx, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Key: fmt.Sprintf("k-%d", n), Body: bytes.NewReader(pkg)})
					if err == nil {
						break
					}
					if !exchange.Retryable(err) || ctx.Err() != nil {
						t.Errorf("send %d: %v", n, err)
						return
					}
					retries.Store(n, true)
					time.Sleep(50 * time.Millisecond)
				}
			}
		}(s)
	}
	// Kill the hub twice while the senders run, restarting it each time.
	for k := 0; k < 2; k++ {
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		time.Sleep(100 * time.Millisecond)
		cmd = start()
	}
	wg.Wait()
	bc := hubclient.New(base, "sys-bc", "secret-bc", nil)
	var list []exchange.Received
	for i := 0; i < 100; i++ {
		var err error
		if list, err = bc.Received(ctx, organB); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, r := range list {
		seen[r.DocumentId]++
	}
	for n := 0; n < senders*perSender; n++ {
		id := fmt.Sprintf("%s,2026/12/03,%02d/UBND-VP", organA, n)
		if seen[id] != 1 {
			t.Errorf("document %d delivered %d times", n, seen[id])
		}
	}
	if len(list) != senders*perSender {
		t.Errorf("%d messages waiting, want %d", len(list), senders*perSender)
	}
	count := 0
	retries.Range(func(any, any) bool { count++; return true })
	t.Logf("%d messages, %d of them retried across the kills", len(list), count)
}

// A development hub (one system for every organ, "*") lists the organs
// that poll it, so an installation's organizations find each other.
func TestWildcardHubListsPollingOrgans(t *testing.T) {
	h, err := hub.Open(hub.Config{Dir: t.TempDir(), Systems: []hub.System{{ID: "local", Secret: "s", Organs: []string{"*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	defer h.Close()
	c := hubclient.New(srv.URL, "local", "s", nil)
	ctx := context.Background()
	for _, o := range []string{organA, organB} {
		if _, err := c.Received(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	ags, err := c.Agencies(ctx)
	if err != nil || len(ags) != 2 || ags[0].OrganId != organA || ags[1].OrganId != organB {
		t.Fatalf("agencies %+v %v", ags, err)
	}
	if _, err := c.Received(ctx, "not-an-organ"); exchange.KindOf(err) != exchange.KindUnauthorized {
		t.Errorf("a malformed organ: %v", err)
	}
}
