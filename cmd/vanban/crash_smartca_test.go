package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/signing/signtest"
	"vanban/signing/smartca/smartcasim"
	"vanban/signing/verify"
)

// TestCrashDuringSmartCABatch kills the server with SIGKILL twice in the
// middle of a leader's batch of ten documents on VNPT SmartCA, with the
// embedded simulator inside the killed process (so it dies too and must
// come back from <data-dir>/dev/smartca): once while the request waits on
// the phone, once right after the user confirmed it, before the ten
// signatures are embedded. After the last restart all ten documents are
// signed, each with one signed version that validates for vanban and for
// pdfsig; the phone was shown one request and confirmed one; no session
// and no request is left pending.
func TestCrashDuringSmartCABatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildVanban(t)
	dir := t.TempDir()
	port := freeLoopbackPort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{
		"VANBAN_DATA_DIR=" + filepath.Join(dir, "data"),
		"VANBAN_ADDR=" + fmt.Sprintf("127.0.0.1:%d", port),
		"VANBAN_ADMIN_PASSWORD=mật-khẩu-quản-trị-smartca",
		"VANBAN_LOG_FORMAT=json",
	}
	initCmd := exec.Command(bin, "init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân xã Long Thuận")
	initCmd.Env = append(cleanEnv(), env...)
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	serve := func() *proc {
		p, _ := startProc(t, bin, env, `is running at (http://\S+)`, "serve")
		return p
	}
	srv := serve()
	ctx := context.Background()
	d := &demo{base: base, out: io.Discard, started: time.Now()}
	admin, err := d.login(ctx, "admin", "mật-khẩu-quản-trị-smartca")
	if err != nil {
		t.Fatal(err)
	}
	org := admin.user.OrgID
	mk := func(name string, role document.Role) *person {
		t.Helper()
		var u httpapi.UserJSON
		if err := admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: name, FullName: "Người " + name, Password: "mật-khẩu-" + name + "-dài",
			Roles: []httpapi.GrantJSON{{UnitID: org, Role: role}}}, &u); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		p, err := d.login(ctx, name, "mật-khẩu-"+name+"-dài")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	drafter, reviewer, leader := mk("drafter", document.RoleDrafter), mk("reviewer", document.RoleReviewer), mk("leader", document.RoleSigner)
	const user = "001089054321" // an ordinary SmartCA user: waits for the phone
	if err := admin.call(ctx, "PUT", "/api/v1/users/"+leader.user.ID+"/signing-identity", httpapi.SigningIdentityJSON{Provider: "smartca", Signer: user}, nil); err != nil {
		t.Fatal(err)
	}
	var docs []string
	for i := range 10 {
		up, err := newUpload(httpapi.DraftCreate{UnitID: org, Type: document.TypeQuyetDinh, Subject: fmt.Sprintf("Quyết định lô %d", i+1)}, "qd.pdf", demoPDF)
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
			{drafter, "/signer", httpapi.SignerAssign{SignerID: leader.user.ID}},
			{drafter, "/submit", httpapi.Submit{Reviewers: []string{reviewer.user.ID}}},
			{reviewer, "/approve", nil},
		} {
			if err := step.p.call(ctx, "POST", "/api/v1/documents/"+doc.ID+step.path, step.body, nil); err != nil {
				t.Fatalf("%s: %v", step.path, err)
			}
		}
		docs = append(docs, doc.ID)
	}
	var started struct{ Items []signsession.Session }
	if err := leader.call(ctx, "POST", "/api/v1/signing/batch", httpapi.Batch{DocumentIDs: docs}, &started); err != nil {
		t.Fatalf("batch: %v", err)
	}
	if len(started.Items) != 10 {
		t.Fatalf("batch started %d sessions", len(started.Items))
	}

	phone := base + "/dev/smartca/phone/" + user
	readPhone := func() smartcasim.PhoneState {
		t.Helper()
		code, body := httpGet(t, phone+"/status")
		if code != 200 {
			t.Fatalf("phone status %d", code)
		}
		var st smartcasim.PhoneState
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitPending := func() smartcasim.PhoneState {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			st := readPhone()
			if st.Pending != nil {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("no request on the SmartCA phone:\n%s", srv.out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	before := waitPending()
	if n := len(before.Pending.Documents); n != 10 {
		t.Fatalf("the phone's request names %d documents, want 10", n)
	}

	// First crash: the request waits on the phone.
	srv.kill()
	t.Log("killed the server with SIGKILL while the batch waited on the phone")
	srv = serve()
	after := waitPending()
	if after.Pending.TransactionID != before.Pending.TransactionID || len(after.Pending.Documents) != 10 || after.Requests != 1 {
		t.Fatalf("after the restart the phone shows %+v, want the same request of ten documents, shown once (before: %+v)", after, before)
	}

	// Second crash: right after the confirmation.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(phone+"/confirm", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dev/smartca/phone/"+user+"?r=signed" {
		t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	srv.kill()
	killedAt := time.Now()
	t.Log("killed the server with SIGKILL right after the confirmation on the phone")
	srv = serve()
	defer srv.kill()

	deadline := time.Now().Add(3 * time.Minute)
	var sessions []signsession.Session
	for {
		sessions = sessions[:0]
		active := 0
		for _, s := range started.Items {
			var got signsession.Session
			if err := leader.call(ctx, "GET", "/api/v1/signing/sessions/"+s.ID, nil, &got); err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, got)
			if got.State.Active() {
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
	doneBeforeCrash := 0
	for _, s := range sessions {
		if s.State != store.SigningCompleted {
			t.Errorf("session %d ended %s: %s %s", s.BatchSeq, s.State, s.FailureKind, s.FailureMessage)
		} else if s.UpdatedAt.Before(killedAt) {
			doneBeforeCrash++
		}
	}
	if doneBeforeCrash == 10 {
		t.Fatal("all ten were signed before the second crash: it tested no resumption")
	}
	t.Logf("%d of 10 documents were signed before the second crash, the rest after the restart", doneBeforeCrash)

	st := readPhone()
	if st.Pending != nil || st.Requests != 1 || st.Confirmations != 1 {
		t.Fatalf("the phone at the end: %+v, want nothing pending, one request, one confirmation", st)
	}
	pdfDir := t.TempDir()
	for i, id := range docs {
		var v httpapi.DocumentView
		if err := drafter.call(ctx, "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
			t.Fatal(err)
		}
		signed := 0
		for _, ver := range v.Versions {
			if ver.Kind == document.VersionLeaderSigned {
				signed++
			}
		}
		if v.Document.State != document.StateSigned || signed != 1 {
			t.Errorf("document %d: state %s with %d signed versions", i+1, v.Document.State, signed)
			continue
		}
		var rep verify.Report
		if err := leader.call(ctx, "GET", "/api/v1/documents/"+id+"/versions/latest/verification", nil, &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Signatures) != 1 || rep.Signatures[0].Indication != verify.TotalPassed {
			t.Errorf("document %d: %+v", i+1, rep.Signatures)
		}
		var raw []byte
		if err := leader.call(ctx, "GET", "/api/v1/documents/"+id+"/versions/latest/file", nil, &raw); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(pdfDir, fmt.Sprintf("doc%d.pdf", i+1))
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		// pdfsig also lists the seal's field, still empty.
		sigs := signtest.PDFSig(t, path)
		if len(sigs) == 0 || sigs[0].Field != "ChuKyLanhDao" || !sigs[0].SignatureValid() || !sigs[0].TotalDocumentSigned {
			t.Errorf("pdfsig on document %d: %+v", i+1, sigs)
		}
	}
}
