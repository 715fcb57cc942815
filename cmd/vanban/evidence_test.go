package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/evidence"
	"vanban/internal/httpapi"
	"vanban/internal/store"
)

// apiClient signs in over the API with a cookie session.
func apiClient(t testing.TB, base, username, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body, _ := json.Marshal(httpapi.LoginRequest{Username: username, Password: password})
	resp, err := c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("login %s: %d %s", username, resp.StatusCode, b)
	}
	return c
}

// evidenceVerifier returns a function that runs "vanban evidence verify"
// on a package with the given trust anchor file, answering the exit code
// and what it printed.
func evidenceVerifier(t *testing.T, trust string) func(pkg []byte) (int, string) {
	dir := t.TempDir()
	return func(pkg []byte) (int, string) {
		t.Helper()
		p := filepath.Join(dir, "evidence.zip")
		if err := os.WriteFile(p, pkg, 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"evidence", "verify", p, "--trust", trust}, &out, &errb)
		return code, out.String() + errb.String()
	}
}

// rewriteZip copies a ZIP, changing member name's content with change.
func rewriteZip(t *testing.T, src []byte, name string, change func([]byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			b = change(append([]byte(nil), b...))
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestEvidencePackage downloads the demo's archived decision's evidence
// package over the API, checks it offline with "vanban evidence verify"
// (the server stopped: no OCSP, CRL or TSA to reach), then changes one
// byte of each member in turn, at several places: every change is
// reported, naming the member.
func TestEvidencePackage(t *testing.T) {
	d := demoArchived(t, "--data-dir", t.TempDir())
	a, _ := openDemoApp(t, d)
	ctx := context.Background()
	admin, err := a.db.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := a.db.Documents(ctx, store.DocumentFilter{OrgID: admin.OrgID, States: []document.State{document.StateArchived}})
	if err != nil || len(docs) != 1 {
		t.Fatalf("archived documents: %d %v", len(docs), err)
	}
	c := apiClient(t, d.s.URL, "admin", "mật-khẩu-quản-trị-demo")
	resp, err := c.Get(d.s.URL + "/api/v1/documents/" + docs[0].ID + "/evidence")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("evidence download: %d %s %v\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), err, pkg)
	}
	// A document nobody may see is answered as missing.
	if resp, err := c.Get(d.s.URL + "/api/v1/documents/nonexistent/evidence"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("evidence of a missing document: %v %v", resp.StatusCode, err)
	}
	d.s.stop(t)

	verifyPkg := evidenceVerifier(t, d.root)
	code, out := verifyPkg(pkg)
	t.Log(out)
	if code != 0 || !strings.Contains(out, "evidence package intact") {
		t.Fatalf("untouched package: exit %d\n%s", code, out)
	}
	for _, want := range []string{"sealed by", "document.pdf: signature", "document-timestamp", "audit.json:", "anchored at seq"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	for _, n := range []string{evidence.MemberPDF, evidence.MemberReportJSON, evidence.MemberReportHTML, evidence.MemberTimeline,
		evidence.MemberExchange, evidence.MemberAudit, evidence.MemberManifest, evidence.MemberSeal} {
		if !names[n] {
			t.Errorf("the package lacks %s", n)
		}
	}
	for _, f := range zr.File {
		for _, at := range []float64{0, 0.1, 0.5, 0.9, 1} {
			changed := rewriteZip(t, pkg, f.Name, func(b []byte) []byte {
				i := int(at * float64(len(b)-1))
				b[i] ^= 0x01
				return b
			})
			code, out := verifyPkg(changed)
			if code != 1 || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, f.Name) {
				t.Errorf("one byte changed at %.0f%% of %s: exit %d\n%s", at*100, f.Name, code, out)
			}
		}
	}
	// A member added, and one removed.
	added := rewriteZip(t, pkg, "", nil)
	{
		zr, _ := zip.NewReader(bytes.NewReader(added), int64(len(added)))
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range zr.File {
			if f.Name == evidence.MemberTimeline {
				continue // removed
			}
			w, _ := zw.Create(f.Name)
			rc, _ := f.Open()
			io.Copy(w, rc)
			rc.Close()
		}
		w, _ := zw.Create("extra.txt")
		w.Write([]byte("slipped in"))
		zw.Close()
		code, out := verifyPkg(buf.Bytes())
		if code != 1 || !strings.Contains(out, "MISMATCH extra.txt") || !strings.Contains(out, "MISMATCH timeline.json") {
			t.Errorf("member added and removed: exit %d\n%s", code, out)
		}
	}
	if code, out := verifyPkg([]byte("not a zip")); code != 1 || !strings.Contains(out, "not a ZIP") {
		t.Errorf("not a ZIP: exit %d\n%s", code, out)
	}
}
