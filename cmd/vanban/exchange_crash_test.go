package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/exchange"
	"vanban/exchange/edxml"
	"vanban/exchange/hub"
	"vanban/exchange/hubclient"
	"vanban/internal/document"
	"vanban/internal/httpapi"
)

// TestExchangeReceiverSIGKILL kills a receiving vanban with SIGKILL twice
// while it takes packages off the hub, restarts it, and requires that every
// package ends in the clerk's queue exactly once and the sender gets
// exactly one 01 per package: nothing lost, nothing duplicated.
func TestExchangeReceiverSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	const organA, organB, n = "000.00.31.H40", "000.00.32.H40", 40
	ctx := context.Background()
	h, err := hub.Open(hub.Config{Dir: t.TempDir(), Systems: []hub.System{
		{ID: "sender", Secret: "sender-secret", Organs: []string{organA}},
		{ID: "receiver", Secret: "receiver-secret", Organs: []string{organB}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	defer h.Close()
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("receiver-secret"), 0o600)

	bin := buildVanban(t)
	dataDir := t.TempDir()
	env := []string{"VANBAN_ADMIN_PASSWORD=mật-khẩu-thử-sigkill"}
	cmd := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir,
		"--exchange", "hub:" + srv.URL + "/?system=receiver&secret-file=" + secretFile + "&poll=100ms"}
	runOnce(t, bin, env, "init", "--org-abbrev", "UBNDR", "--org-name", "UBND xã Nhận", "--data-dir", dataDir)
	p, url := startProc(t, bin, env, `is running at (http://\S+)`, cmd...)
	d := &demo{base: url, out: io.Discard, started: time.Now()}
	admin, err := d.login(ctx, "admin", "mật-khẩu-thử-sigkill")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.call(ctx, "PUT", "/api/v1/exchange/organ", httpapi.OrganIdJSON{OrganId: organB}, nil); err != nil {
		t.Fatal(err)
	}
	var clerk httpapi.UserJSON
	if err := admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: "clerk", FullName: "Văn thư", Password: "clerk-password-123456",
		Roles: []httpapi.GrantJSON{{UnitID: admin.user.OrgID, Role: document.RoleClerk}}}, &clerk); err != nil {
		t.Fatal(err)
	}
	p.kill() // the receiver is down while the sender sends

	sender := hubclient.New(srv.URL, "sender", "sender-secret", nil)
	pdf, err := os.ReadFile("../../testdata/corpus/itext-signed.pdf")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		pkg := &edxml.Package{Header: edxml.Header{MessageHeader: edxml.MessageHeader{
			From: edxml.Organization{OrganId: organA, OrganName: "UBND xã Gửi"}, To: []edxml.Organization{{OrganId: organB}},
			DocumentId: fmt.Sprintf("%s,2026/12/03,%02d/UBND-VP", organA, i+1), Code: edxml.Code{CodeNumber: fmt.Sprintf("%02d", i+1), CodeNotation: "UBND-VP"},
			Subject: fmt.Sprintf("Công văn số %d", i+1)}},
			Attachments: []edxml.Attachment{{ContentId: "doc", AttachmentName: "cv.pdf", ContentType: "application/pdf"}},
			References:  []edxml.Reference{{ContentId: "cid:doc", AttachmentName: "cv.pdf"}}}
		var buf bytes.Buffer
		if err := edxml.Encode(&buf, pkg, []io.Reader{bytes.NewReader(pdf)}); err != nil {
			t.Fatal(err)
		}
		if _, err := sender.Send(ctx, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Key: fmt.Sprint(i), Body: &buf}); err != nil {
			t.Fatal(err)
		}
	}
	waiting := func() int {
		list, err := hubclient.New(srv.URL, "receiver", "receiver-secret", nil).Received(ctx, organB)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	// Start, let it take some, kill it in the middle; twice.
	for k := 0; k < 2; k++ {
		p, _ = startProc(t, bin, env, `is running at (http://\S+)`, cmd...)
		before := waiting()
		waitFor(t, "the receiver to take a few packages", 60*time.Second, func() bool { return waiting() < before-3 || waiting() == 0 })
		p.kill()
		t.Logf("killed the receiver with %d packages still waiting", waiting())
	}
	p, url = startProc(t, bin, env, `is running at (http://\S+)`, cmd...)
	waitFor(t, "every package to be taken", 120*time.Second, func() bool { return waiting() == 0 })

	d = &demo{base: url, out: io.Discard, started: time.Now()}
	cl, err := d.login(ctx, "clerk", "clerk-password-123456")
	if err != nil {
		t.Fatal(err)
	}
	var q struct{ Items []httpapi.ReceivedJSON }
	if err := cl.call(ctx, "GET", "/api/v1/exchange/queue", nil, &q); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, it := range q.Items {
		seen[it.EdxmlDocumentId]++
		if it.State != "pending" {
			t.Errorf("item %s is %s: %s", it.EdxmlDocumentId, it.State, it.Problem)
		}
	}
	if len(q.Items) != n || len(seen) != n {
		t.Errorf("%d items in the queue, %d distinct, want %d", len(q.Items), len(seen), n)
	}
	// One 01 per package reaches the sender.
	var statuses []exchange.Received
	waitFor(t, "the 01 statuses", 60*time.Second, func() bool {
		statuses, err = sender.Received(ctx, organA)
		return err == nil && len(statuses) >= n
	})
	time.Sleep(500 * time.Millisecond)
	statuses, _ = sender.Received(ctx, organA)
	got := map[string]int{}
	for _, s := range statuses {
		got[s.DocumentId]++
	}
	if len(statuses) != n || len(got) != n {
		t.Errorf("sender got %d statuses for %d documents, want %d each once", len(statuses), len(got), n)
	}
	if strings.Contains(p.out.String(), "panic") {
		t.Errorf("the receiver panicked:\n%s", p.out)
	}
}

// runOnce runs a short command of bin to completion.
func runOnce(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Env = append(cleanEnv(), env...)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
}
