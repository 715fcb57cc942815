package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"os"
	"strings"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/signing/mssp"
	"vanban/signing/pades"
	"vanban/signing/verify"
)

// demoPDF is a decision drafted in LibreOffice (testdata/corpus).
//
//go:embed demo-quyet-dinh.pdf
var demoPDF []byte

// runDemo drives one outgoing document through every state over the HTTP
// API of a running server, as the people of an office would: the
// administrator sets up a unit and five people, the drafter uploads, the
// reviewer approves, the leader signs on the (simulated) phone, the clerk
// numbers, seals and issues, the archivist archives and checks the
// signatures. It exits 0 only when the final PDF validates TOTAL-PASSED for
// both signatures.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", demoURL(), "URL of a running vanban server (default: http://$VANBAN_ADDR, as vanban serve listens)")
	admin := fs.String("admin", "admin", "administrator username (from vanban init)")
	passEnv := fs.String("admin-password-env", "VANBAN_ADMIN_PASSWORD", "environment variable holding the administrator's password")
	phone := fs.String("phone", mssp.ScenarioMSISDN(mssp.ScenarioApprove, false), "the leader's phone number; the default is the simulator's number that approves at once")
	provider := fs.String("provider", "sim", "the configured signing provider of the leader's phone")
	seal := fs.String("seal-provider", "seal", "the configured provider of the organization's seal")
	pdfPath := fs.String("pdf", "", "PDF to send through the flow (default: a sample decision)")
	out := fs.String("out", "", "write the final signed PDF here")
	wait := fs.Duration("wait", 3*time.Minute, "how long to wait for the leader's phone")
	peoplePass := fs.String("password", "", "the password of the five people the demo creates (default: a new random one each; printed either way)")
	prefix := fs.String("username-prefix", "", "the start of their usernames (default: a random suffix keeps repeated runs apart)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	phoneSet := false
	fs.Visit(func(f *flag.Flag) { phoneSet = phoneSet || f.Name == "phone" })
	if def, ok := devApprovingSigner[*provider]; ok && !phoneSet {
		*phone = def // the simulator's signer who approves at once
	}
	pdf := demoPDF
	if *pdfPath != "" {
		b, err := os.ReadFile(*pdfPath)
		if err != nil {
			return err
		}
		pdf = b
	}
	d := &demo{base: strings.TrimRight(*base, "/"), out: stdout, started: time.Now()}
	if *peoplePass != "" && len(*peoplePass) < 10 {
		return usageError(fs, "--password needs at least 10 characters")
	}
	d.password, d.prefix = *peoplePass, *prefix
	err := d.run(ctx, *admin, os.Getenv(*passEnv), *phone, *provider, *seal, pdf, *pdfPath, *out, *wait)
	if err != nil {
		fmt.Fprintf(stdout, "FAILED after %s: %v\n", time.Since(d.started).Round(time.Millisecond), err)
		return exitError{1}
	}
	return nil
}

// demoURL is where vanban serve listens by default: VANBAN_ADDR, with a
// wildcard host reached on loopback.
func demoURL() string {
	addr := os.Getenv("VANBAN_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

type demo struct {
	// password and prefix, when set, are the created people's password and
	// the start of their usernames.
	password, prefix string
	base             string
	out              io.Writer
	started          time.Time
	last             time.Time
}

func (d *demo) step(format string, args ...any) {
	now := time.Now()
	if d.last.IsZero() {
		d.last = d.started
	}
	fmt.Fprintf(d.out, "[%7s +%6s] %s\n", now.Sub(d.started).Round(time.Millisecond), now.Sub(d.last).Round(time.Millisecond), fmt.Sprintf(format, args...))
	d.last = now
}

// person is a signed-in browser-like client: the session cookie and the
// CSRF token, as the web UI uses them.
type person struct {
	d    *demo
	hc   *http.Client
	csrf string
	user httpapi.UserJSON
}

func (d *demo) login(ctx context.Context, username, password string) (*person, error) {
	jar, _ := cookiejar.New(nil)
	p := &person{d: d, hc: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	var res httpapi.LoginResult
	if err := p.call(ctx, "POST", "/api/v1/auth/login", httpapi.LoginRequest{Username: username, Password: password}, &res); err != nil {
		return nil, fmt.Errorf("sign in as %s: %w", username, err)
	}
	p.csrf, p.user = res.CSRFToken, res.User
	return p, nil
}

// apiError is a problem document the server answered.
type apiError struct {
	status int
	p      httpapi.ProblemDetails
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.p.Title, e.p.Detail)
}

func (p *person) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		rd, ctype = bytes.NewReader(b.buf.Bytes()), b.ctype
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, p.d.base+path, rd)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if p.csrf != "" {
		req.Header.Set(httpapi.CSRFHeader, p.csrf)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		e := &apiError{status: resp.StatusCode}
		_ = json.Unmarshal(data, &e.p)
		return e
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

type multipartBody struct {
	buf   bytes.Buffer
	ctype string
}

func newUpload(meta any, name string, file []byte) (*multipartBody, error) {
	b := &multipartBody{}
	mw := multipart.NewWriter(&b.buf)
	if meta != nil {
		w, err := mw.CreateFormField("metadata")
		if err != nil {
			return nil, err
		}
		if err := json.NewEncoder(w).Encode(meta); err != nil {
			return nil, err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", "application/pdf")
	w, err := mw.CreatePart(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(file); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.ctype = mw.FormDataContentType()
	return b, nil
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sampleLayout fits demo-quyet-dinh.pdf: the number and date cover the
// template's "Số: /QĐ-..." and "..., ngày tháng năm" lines, the signature
// block goes under "GIÁM ĐỐC" on page 1, the seal's text to its left (with
// a seal image it would cover the signature's left third).
var sampleLayout = signsession.Layout{
	SignaturePage: 1,
	Signature:     pades.Rect{LLX: 410, LLY: 320, URX: 570, URY: 410},
	Seal:          pades.Rect{LLX: 250, LLY: 330, URX: 405, URY: 380},
	NumberPage:    1,
	Number:        pades.Rect{LLX: 96, LLY: 698, URX: 250, URY: 718},
	DatePage:      1,
	Date:          pades.Rect{LLX: 288, LLY: 697, URX: 565, URY: 719},
	FontSize:      13,
	Cover:         true,
}

func (d *demo) run(ctx context.Context, adminUser, adminPass, phone, provider, sealProvider string, pdf []byte, pdfPath, outPath string, wait time.Duration) error {
	if adminPass == "" {
		return errors.New("the administrator's password is empty: set the variable named by --admin-password-env")
	}
	admin, err := d.login(ctx, adminUser, adminPass)
	if err != nil {
		return err
	}
	org := admin.user.OrgID
	d.step("signed in as administrator %s", adminUser)

	// The office and its people. A suffix keeps repeated runs apart.
	sfx := randomSuffix()
	var unit httpapi.UnitJSON
	if err := admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: org, Abbrev: "VP", Name: "Văn phòng (demo " + sfx + ")"}, &unit); err != nil {
		return fmt.Errorf("create unit: %w", err)
	}
	type role struct {
		key, name, title string
		grants           []httpapi.GrantJSON
	}
	roles := []role{
		{"drafter", "Nguyễn Văn Soạn", "Chuyên viên", []httpapi.GrantJSON{{UnitID: unit.ID, Role: document.RoleDrafter}}},
		{"reviewer", "Trần Thị Duyệt", "Chánh Văn phòng", []httpapi.GrantJSON{{UnitID: org, Role: document.RoleReviewer}}},
		{"leader", "Lê Văn Chủ", "Chủ tịch", []httpapi.GrantJSON{{UnitID: org, Role: document.RoleSigner}}},
		{"clerk", "Phạm Thị Thư", "Văn thư", []httpapi.GrantJSON{{UnitID: org, Role: document.RoleClerk}}},
		{"archivist", "Hoàng Văn Lưu", "Lưu trữ viên", []httpapi.GrantJSON{{UnitID: org, Role: document.RoleArchivist}}},
	}
	people := map[string]*person{}
	userPrefix := d.prefix
	if userPrefix == "" {
		userPrefix = sfx + "-"
	}
	fmt.Fprintf(d.out, "accounts (sign in at %s/login):\n", d.base)
	for _, r := range roles {
		pass := d.password
		if pass == "" {
			pass = "demo-" + randomSuffix() + randomSuffix()
		}
		var u httpapi.UserJSON
		if err := admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: userPrefix + r.key, FullName: r.name,
			Title: r.title, Password: pass, Roles: r.grants}, &u); err != nil {
			return fmt.Errorf("create %s: %w", r.key, err)
		}
		fmt.Fprintf(d.out, "  %-10s %-24s password %s  (%s, %s)\n", r.key, u.Username, pass, r.name, r.title)
		if people[r.key], err = d.login(ctx, u.Username, pass); err != nil {
			return err
		}
	}
	if err := admin.call(ctx, "PUT", "/api/v1/users/"+people["leader"].user.ID+"/signing-identity",
		httpapi.SigningIdentityJSON{Provider: provider, Signer: phone}, nil); err != nil {
		return fmt.Errorf("leader's signing identity: %w", err)
	}
	if err := admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: sealProvider}, nil); err != nil {
		return fmt.Errorf("seal signer: %w", err)
	}
	d.step("unit %s and five people created; the leader signs with %s on phone %s", unit.Name, provider, phone)

	drafter, reviewer, leader, clerk, archivist := people["drafter"], people["reviewer"], people["leader"], people["clerk"], people["archivist"]
	up, err := newUpload(httpapi.DraftCreate{UnitID: unit.ID, Type: document.TypeQuyetDinh,
		Subject: "Quyết định về việc ban hành Quy chế làm việc (demo " + sfx + ")", Recipients: []string{org}}, "du-thao.pdf", pdf)
	if err != nil {
		return err
	}
	var doc httpapi.DocumentJSON
	if err := drafter.call(ctx, "POST", "/api/v1/documents", up, &doc); err != nil {
		return fmt.Errorf("upload draft: %w", err)
	}
	id := doc.ID
	d.step("drafter uploaded the draft: document %s (%d bytes)", id, len(pdf))
	if pdfPath == "" {
		// The sample's letterhead has its own blank number and date lines
		// and the signer's title on page 1: place the fields over them.
		if err := drafter.call(ctx, "PUT", "/api/v1/documents/"+id+"/layout", sampleLayout, nil); err != nil {
			return fmt.Errorf("layout: %w", err)
		}
		d.step("drafter placed the number, date and signature on the letterhead")
	}
	if err := drafter.call(ctx, "POST", "/api/v1/documents/"+id+"/signer", httpapi.SignerAssign{SignerID: leader.user.ID}, nil); err != nil {
		return fmt.Errorf("assign signer: %w", err)
	}
	if err := drafter.call(ctx, "POST", "/api/v1/documents/"+id+"/submit", httpapi.Submit{Reviewers: []string{reviewer.user.ID}}, &doc); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	d.step("submitted for review: %s", doc.State)
	if err := reviewer.call(ctx, "POST", "/api/v1/documents/"+id+"/approve", httpapi.Comment{Comment: "Đồng ý trình ký"}, &doc); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	d.step("reviewer approved: %s", doc.State)

	var sess signsession.Session
	if err := leader.call(ctx, "POST", "/api/v1/documents/"+id+"/sign", nil, &sess); err != nil {
		return fmt.Errorf("start signing: %w", err)
	}
	d.step("leader pressed Ký số: session %s, verification code %s, waiting for the phone", sess.ID, sess.VerificationCode)
	deadline := time.Now().Add(wait)
	for sess.State != "completed" {
		if sess.State == "failed" || sess.State == "expired" || sess.State == "cancelled" {
			return fmt.Errorf("signing %s: %s (%s)", sess.State, sess.FailureMessage, sess.FailureKind)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the phone did not answer within %s (session %s is %s)", wait, sess.ID, sess.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if err := leader.call(ctx, "GET", "/api/v1/signing/sessions/"+sess.ID, nil, &sess); err != nil {
			return fmt.Errorf("signing status: %w", err)
		}
	}
	d.step("leader signed on the phone (certification signature)")

	if err := clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/number", nil, &doc); err != nil {
		return fmt.Errorf("number: %w", err)
	}
	d.step("clerk numbered and dated it: Số %s", doc.Symbol)
	var raw []byte
	if err := clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/seal", nil, &raw); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	for {
		if err := clerk.call(ctx, "GET", "/api/v1/documents/"+id, nil, &raw); err != nil {
			return err
		}
		var v httpapi.DocumentView
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if v.Document.State == document.StateSealed {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the seal was not applied in time (state %s)", v.Document.State)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.step("clerk applied the organization's seal signature")
	if err := clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/issue", nil, &doc); err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	d.step("clerk issued it: %s", doc.State)
	if err := archivist.call(ctx, "POST", "/api/v1/documents/"+id+"/archive", nil, &doc); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	d.step("archivist archived it: %s", doc.State)

	var rep verify.Report
	if err := archivist.call(ctx, "GET", "/api/v1/documents/"+id+"/versions/latest/verification", nil, &rep); err != nil {
		return fmt.Errorf("verification: %w", err)
	}
	for _, s := range rep.Signatures {
		who := s.Field
		if s.Signer != nil {
			who += " (" + s.Signer.CommonName + ")"
		}
		changes := "none"
		if len(s.Modifications.Categories) > 0 {
			changes = strings.Join(s.Modifications.Categories, ", ")
			if s.Modifications.Permitted {
				changes += " (permitted)"
			}
		}
		d.step("signature %s: %s %s; changes after it: %s", who, s.Indication, s.SubIndication, changes)
	}
	// Archiving adds a document time-stamp (B-LTA); the signatures are
	// still the leader's and the seal.
	signatures := 0
	for _, s := range rep.Signatures {
		if s.Type == "signature" {
			signatures++
		}
	}
	if signatures != 2 {
		return fmt.Errorf("the final PDF has %d signatures, want the leader's and the seal", signatures)
	}
	for _, s := range rep.Signatures {
		if s.Indication != verify.TotalPassed {
			return fmt.Errorf("signature %s is %s/%s", s.Field, s.Indication, s.SubIndication)
		}
	}
	if outPath != "" {
		if err := archivist.call(ctx, "GET", "/api/v1/documents/"+id+"/versions/latest/file", nil, &raw); err != nil {
			return err
		}
		if err := os.WriteFile(outPath, raw, 0o644); err != nil {
			return err
		}
		d.step("final PDF written to %s (%d bytes)", outPath, len(raw))
	}
	d.step("done: both signatures TOTAL-PASSED")
	return nil
}
