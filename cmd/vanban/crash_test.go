package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/signing/verify"
)

var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildVanban compiles this command once per test binary run (TestMain
// removes it).
func buildVanban(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "vanban-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "vanban")
		cmd := exec.Command("go", "build", "-o", built.bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// proc is a vanban process the test can kill.
type proc struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

// startProc runs bin with args and waits for a line matching ready on
// stdout, returning its first submatch.
func startProc(t *testing.T, bin string, env []string, ready string, args ...string) (*proc, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	p := &proc{cmd: cmd, out: &lockedBuffer{}}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	re := regexp.MustCompile(ready)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			p.out.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case v := <-found:
		return p, v
	case <-time.After(90 * time.Second):
		t.Fatalf("%s %v did not become ready:\n%s", bin, args, p.out)
	}
	return nil, ""
}

func (p *proc) kill() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// cleanEnv is the environment without VANBAN_* settings of the developer.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VANBAN_") {
			out = append(out, kv)
		}
	}
	return append(out, "VANBAN_CACHE_DIR="+testCacheDir())
}

// TestCrashDuringSigning kills the server with SIGKILL while leaders'
// phones are still deciding, starts it again and requires that every
// signing session ends either completed, with a signed version that
// validates, or failed cleanly, with the document back to awaiting
// signature and no signed version: nothing claims a signature it does not
// have. The simulator runs as its own process, as an operator's MSSP does,
// so it outlives the crash.
func TestCrashDuringSigning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildVanban(t)
	dir := t.TempDir()
	simPort := freeLoopbackPort(t)
	sim, _ := startProc(t, bin, nil, `(MSSP simulator at)`, "mssp-sim", "--addr", fmt.Sprintf("127.0.0.1:%d", simPort),
		"--data-dir", filepath.Join(dir, "sim"), "--auto-approve", "--latency", "3s")
	defer sim.kill()
	simURL := fmt.Sprintf("http://127.0.0.1:%d", simPort)
	rootPEM := filepath.Join(dir, "sim-root.pem")
	code, pem := httpGet(t, simURL+"/pki/root.pem")
	if code != 200 {
		t.Fatalf("sim root: %d", code)
	}
	if err := os.WriteFile(rootPEM, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	corpusCA, err := filepath.Abs("../../testdata/corpus/pki/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	sealP12, _ := filepath.Abs("../../testdata/corpus/pki/signer.p12")
	mobile := "etsi204:" + simURL + "/soap?" + url.Values{"ap-id": {"vanban-crash-test"}, "mode": {"async"},
		"cert-lookup": {simURL + "/certificates"}}.Encode()
	port := freeLoopbackPort(t)
	env := []string{
		"VANBAN_DATA_DIR=" + filepath.Join(dir, "data"),
		"VANBAN_ADDR=" + fmt.Sprintf("127.0.0.1:%d", port),
		"VANBAN_DEV_SERVICES=off",
		"VANBAN_SIGNERS=sim=" + mobile + " seal=file:" + sealP12 + "?pass-env=SEAL_PASS",
		"SEAL_PASS=test",
		"VANBAN_TSA_URL=" + simURL + "/pki/tsa",
		"VANBAN_TRUST_PEM=" + rootPEM + "," + corpusCA,
		"VANBAN_ADMIN_PASSWORD=mật-khẩu-quản-trị-crash",
		"VANBAN_LOG_FORMAT=json",
	}
	initCmd := exec.Command(bin, "init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân phường Tân Ninh")
	initCmd.Env = append(cleanEnv(), env...)
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	serve := func() *proc {
		p, _ := startProc(t, bin, env, `is running at (http://\S+)`, "serve")
		return p
	}
	srv := serve()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx := context.Background()
	d := &demo{base: base, out: io.Discard, started: time.Now()}
	admin, err := d.login(ctx, "admin", "mật-khẩu-quản-trị-crash")
	if err != nil {
		t.Fatal(err)
	}
	org := admin.user.OrgID
	mk := func(name string, role document.Role, unit string) *person {
		t.Helper()
		var u httpapi.UserJSON
		if err := admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: name, FullName: "Người " + name, Password: "mật-khẩu-" + name + "-dài",
			Roles: []httpapi.GrantJSON{{UnitID: unit, Role: role}}}, &u); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		p, err := d.login(ctx, name, "mật-khẩu-"+name+"-dài")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	drafter := mk("drafter", document.RoleDrafter, org)
	reviewer := mk("reviewer", document.RoleReviewer, org)
	if err := admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: "seal"}, nil); err != nil {
		t.Fatal(err)
	}
	// Four leaders, each signing a batch of three: twelve sessions, four
	// on phones at the moment of the crash, eight queued behind them.
	const leaders, perLeader = 4, 3
	var docs []string
	sessionOwner := map[string]*person{}
	for i := range leaders {
		l := mk(fmt.Sprintf("leader%d", i), document.RoleSigner, org)
		if err := admin.call(ctx, "PUT", "/api/v1/users/"+l.user.ID+"/signing-identity",
			httpapi.SigningIdentityJSON{Provider: "sim", Signer: fmt.Sprintf("8491200%04d", i)}, nil); err != nil {
			t.Fatal(err)
		}
		var batch []string
		for j := range perLeader {
			up, err := newUpload(httpapi.DraftCreate{UnitID: org, Type: document.TypeQuyetDinh, Subject: fmt.Sprintf("Quyết định %d-%d", i, j)}, "qd.pdf", demoPDF)
			if err != nil {
				t.Fatal(err)
			}
			var doc httpapi.DocumentJSON
			if err := drafter.call(ctx, "POST", "/api/v1/documents", up, &doc); err != nil {
				t.Fatal(err)
			}
			for _, step := range []struct {
				p    *person
				path string
				body any
			}{
				{drafter, "/signer", httpapi.SignerAssign{SignerID: l.user.ID}},
				{drafter, "/submit", httpapi.Submit{Reviewers: []string{reviewer.user.ID}}},
				{reviewer, "/approve", nil},
			} {
				if err := step.p.call(ctx, "POST", "/api/v1/documents/"+doc.ID+step.path, step.body, nil); err != nil {
					t.Fatalf("%s: %v", step.path, err)
				}
			}
			batch = append(batch, doc.ID)
			docs = append(docs, doc.ID)
		}
		var started struct{ Items []signsession.Session }
		if err := l.call(ctx, "POST", "/api/v1/signing/batch", httpapi.Batch{DocumentIDs: batch}, &started); err != nil {
			t.Fatalf("batch: %v", err)
		}
		if len(started.Items) != perLeader {
			t.Fatalf("batch started %d sessions", len(started.Items))
		}
		for _, s := range started.Items {
			sessionOwner[s.ID] = l
		}
	}
	// The phones take 3 s; crash in the middle.
	time.Sleep(1500 * time.Millisecond)
	srv.kill()
	t.Logf("killed the server with SIGKILL")
	srv = serve()
	defer srv.kill()

	// Every session must reach a final state.
	deadline := time.Now().Add(3 * time.Minute)
	var sessions []signsession.Session
	for {
		sessions = sessions[:0]
		active := 0
		for id, l := range sessionOwner {
			var s signsession.Session
			if err := l.call(ctx, "GET", "/api/v1/signing/sessions/"+id, nil, &s); err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, s)
			if s.State == "queued" || s.State == "preparing" || s.State == "pending" {
				active++
			}
		}
		if active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still active after the restart:\n%s", active, srv.out)
		}
		time.Sleep(300 * time.Millisecond)
	}
	completed := 0
	for _, s := range sessions {
		switch s.State {
		case "completed":
			completed++
		case "failed", "expired":
			if !s.Retryable && s.FailureKind != "expired" {
				t.Errorf("session %s failed for good after a crash: %s %s", s.ID, s.FailureKind, s.FailureMessage)
			}
		default:
			t.Errorf("session %s ended %s", s.ID, s.State)
		}
	}
	// Each document is either signed with a signed version that validates,
	// or back to awaiting signature without one.
	for _, id := range docs {
		var v httpapi.DocumentView
		if err := drafter.call(ctx, "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
			t.Fatal(err)
		}
		signedVersions := 0
		for _, ver := range v.Versions {
			if ver.Kind == document.VersionLeaderSigned {
				signedVersions++
			}
		}
		switch v.Document.State {
		case document.StateSigned:
			if signedVersions != 1 {
				t.Errorf("document %s signed with %d signed versions", id, signedVersions)
				continue
			}
			var rep verify.Report
			if err := drafter.call(ctx, "GET", "/api/v1/documents/"+id+"/versions/latest/verification", nil, &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Signatures) != 1 || rep.Signatures[0].Indication != verify.TotalPassed {
				t.Errorf("document %s: signed version does not validate: %+v", id, rep.Signatures)
			}
		case document.StateAwaitingSignature:
			if signedVersions != 0 {
				t.Errorf("document %s awaits signature but has a signed version", id)
			}
		default:
			t.Errorf("document %s left in state %s", id, v.Document.State)
		}
	}
	if completed == 0 {
		t.Errorf("no session completed after the restart:\n%s", srv.out)
	}
	t.Logf("%d of %d sessions completed after the crash, the rest failed cleanly", completed, len(sessions))
}
