package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/signing/signtest"
	"vanban/signing/verify"
)

// TestSmartCABatchOverAPI: a leader on VNPT SmartCA (the embedded
// simulator) signs ten documents as one batch through the API, confirms
// once on the virtual phone, and each document gets its own signature,
// TOTAL-PASSED for vanban and valid for pdfsig. Nobody confirms a second
// time: were any document sent again, its session would wait forever.
func TestSmartCABatchOverAPI(t *testing.T) {
	clearServeEnv(t)
	t.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-lô")
	dataDir := t.TempDir()
	var out, errb lockedBuffer
	if code := run(context.Background(), []string{"init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân xã Thành Long", "--data-dir", dataDir}, &out, &errb); code != 0 {
		t.Fatalf("init: %d\n%s\n%s", code, &out, &errb)
	}
	s := serveVanban(t, "--data-dir", dataDir)
	ctx := context.Background()
	d := &demo{base: s.URL, out: &out, started: time.Now()}
	admin, err := d.login(ctx, "admin", "mật-khẩu-quản-trị-lô")
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
	const user = "001088012345" // an ordinary SmartCA user: waits for the phone
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

	// The phone shows one request naming all ten documents.
	phone := s.URL + "/dev/smartca/phone/" + user
	var state struct {
		Pending *struct {
			TransactionID string   `json:"transaction_id"`
			Documents     []string `json:"documents"`
		} `json:"pending"`
	}
	readPhone := func() {
		t.Helper()
		code, body := httpGet(t, phone+"/status")
		if code != 200 {
			t.Fatalf("phone status %d", code)
		}
		state.Pending = nil
		if err := json.Unmarshal(body, &state); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for readPhone(); state.Pending == nil; readPhone() {
		if time.Now().After(deadline) {
			t.Fatal("no request on the SmartCA phone")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(state.Pending.Documents); n != 10 {
		t.Fatalf("the phone's request names %d documents, want 10", n)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(phone+"/confirm", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}

	deadline = time.Now().Add(2 * time.Minute)
	for _, sess := range started.Items {
		for {
			var got signsession.Session
			if err := leader.call(ctx, "GET", "/api/v1/signing/sessions/"+sess.ID, nil, &got); err != nil {
				t.Fatal(err)
			}
			if got.State == store.SigningCompleted {
				break
			}
			if !got.State.Active() {
				t.Fatalf("session %d: %s %s %s", got.BatchSeq, got.State, got.FailureKind, got.FailureMessage)
			}
			if time.Now().After(deadline) {
				readPhone()
				t.Fatalf("session %d still %s (phone pending: %v)", got.BatchSeq, got.State, state.Pending != nil)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if readPhone(); state.Pending != nil {
		t.Fatalf("a second request reached the phone: %+v", state.Pending)
	}
	dir := t.TempDir()
	for i, id := range docs {
		var rep verify.Report
		if err := leader.call(ctx, "GET", "/api/v1/documents/"+id+"/versions/latest/verification", nil, &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Signatures) != 1 || rep.Signatures[0].Indication != verify.TotalPassed {
			t.Fatalf("document %d: %+v", i+1, rep.Signatures)
		}
		var raw []byte
		if err := leader.call(ctx, "GET", "/api/v1/documents/"+id+"/versions/latest/file", nil, &raw); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("doc%d.pdf", i+1))
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		// pdfsig also lists the seal's field, still empty.
		sigs := signtest.PDFSig(t, path)
		if len(sigs) == 0 || sigs[0].Field != "ChuKyLanhDao" || !sigs[0].SignatureValid() || !sigs[0].TotalDocumentSigned {
			t.Fatalf("pdfsig on document %d: %+v", i+1, sigs)
		}
	}
}
