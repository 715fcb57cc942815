package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"vanban/exchange"
	"vanban/exchange/hub"
	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store/pgtest"
	"vanban/signing/mssp"
	"vanban/storage/s3/s3test"
)

const (
	e2eOrganA = "000.00.21.H40"
	e2eOrganB = "000.00.22.H40"
	e2eOrganC = "000.00.23.H40"
)

// xoffice is one organization's people, signed in over HTTP.
type xoffice struct {
	org                                              string
	unit                                             httpapi.UnitJSON
	admin, drafter, reviewer, leader, clerk, handler *person
	pass                                             map[string]string // by role key, for the browser
}

// e2eHub starts an exchange hub (its own storage, as a separate service)
// for installation 1 (organ A) and installation 2 (organs B and C).
func e2eHub(t *testing.T) (url string, secretFiles [2]string) {
	dir := t.TempDir()
	h, err := hub.Open(hub.Config{Dir: filepath.Join(dir, "hub"), Systems: []hub.System{
		{ID: "install-1", Secret: "secret-one-0123456789", Organs: []string{e2eOrganA}},
		{ID: "install-2", Secret: "secret-two-0123456789", Organs: []string{e2eOrganB, e2eOrganC}},
	}, Agencies: []exchange.Agency{{OrganId: e2eOrganA, Name: "UBND xã Thành Long"}, {OrganId: e2eOrganB, Name: "UBND xã Bình Xa"}, {OrganId: e2eOrganC, Name: "UBND xã Minh Hương"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); h.Close() })
	for i, s := range []string{"secret-one-0123456789", "secret-two-0123456789"} {
		secretFiles[i] = filepath.Join(dir, fmt.Sprintf("secret-%d", i))
		os.WriteFile(secretFiles[i], []byte(s), 0o600)
	}
	return srv.URL, secretFiles
}

func initOrg(t *testing.T, flags []string, abbrev, name, admin string) {
	t.Helper()
	var out, errb lockedBuffer
	args := append([]string{"init", "--org-abbrev", abbrev, "--org-name", name, "--place", name, "--admin", admin}, flags...)
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("init %s: %d\n%s\n%s", abbrev, code, &out, &errb)
	}
}

// newXOffice signs the administrator in and creates a unit and the people
// the flows need.
func newXOffice(t *testing.T, ctx context.Context, base, adminUser, password, organ string) *xoffice {
	t.Helper()
	d := &demo{base: base, out: &lockedBuffer{}, started: time.Now()}
	admin, err := d.login(ctx, adminUser, password)
	if err != nil {
		t.Fatal(err)
	}
	o := &xoffice{org: admin.user.OrgID, admin: admin, pass: map[string]string{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: o.org, Abbrev: "VP", Name: "Văn phòng"}, &o.unit))
	mk := func(key, name, title string, grants ...httpapi.GrantJSON) *person {
		pass := "e2e-" + randomSuffix() + randomSuffix()
		var u httpapi.UserJSON
		must(admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: key + "-" + adminUser, FullName: name, Title: title, Password: pass, Roles: grants}, &u))
		p, err := d.login(ctx, u.Username, pass)
		must(err)
		o.pass[key] = pass
		return p
	}
	o.drafter = mk("drafter", "Nguyễn Văn Soạn", "Chuyên viên", httpapi.GrantJSON{UnitID: o.unit.ID, Role: document.RoleDrafter})
	o.handler = mk("handler", "Đỗ Văn Xử", "Chuyên viên", httpapi.GrantJSON{UnitID: o.unit.ID, Role: document.RoleDrafter})
	o.reviewer = mk("reviewer", "Trần Thị Duyệt", "Chánh Văn phòng", httpapi.GrantJSON{UnitID: o.org, Role: document.RoleReviewer})
	o.leader = mk("leader", "Lê Văn Chủ", "Chủ tịch", httpapi.GrantJSON{UnitID: o.org, Role: document.RoleSigner})
	o.clerk = mk("clerk", "Phạm Thị Thư "+organ, "Văn thư", httpapi.GrantJSON{UnitID: o.org, Role: document.RoleClerk})
	must(admin.call(ctx, "PUT", "/api/v1/users/"+o.leader.user.ID+"/signing-identity",
		httpapi.SigningIdentityJSON{Provider: "sim", Signer: mssp.ScenarioMSISDN(mssp.ScenarioApprove, false)}, nil))
	must(admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: "seal"}, nil))
	must(admin.call(ctx, "PUT", "/api/v1/exchange/organ", httpapi.OrganIdJSON{OrganId: organ}, nil))
	return o
}

// issueExternal drives an outgoing document of o through to issued, with
// external recipients, over the API.
func (o *xoffice) issueExternal(t *testing.T, ctx context.Context, subject string, to ...string) httpapi.DocumentJSON {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	up, err := newUpload(httpapi.DraftCreate{UnitID: o.unit.ID, Type: document.TypeCongVan, Subject: subject}, "du-thao.pdf", demoPDF)
	must(err)
	var doc httpapi.DocumentJSON
	must(o.drafter.call(ctx, "POST", "/api/v1/documents", up, &doc))
	id := doc.ID
	must(o.drafter.call(ctx, "PUT", "/api/v1/documents/"+id+"/layout", sampleLayout, nil))
	must(o.drafter.call(ctx, "PUT", "/api/v1/documents/"+id+"/external-recipients", httpapi.ExternalRecipients{OrganIds: to}, nil))
	must(o.drafter.call(ctx, "POST", "/api/v1/documents/"+id+"/signer", httpapi.SignerAssign{SignerID: o.leader.user.ID}, nil))
	must(o.drafter.call(ctx, "POST", "/api/v1/documents/"+id+"/submit", httpapi.Submit{Reviewers: []string{o.reviewer.user.ID}}, nil))
	must(o.reviewer.call(ctx, "POST", "/api/v1/documents/"+id+"/approve", httpapi.Comment{Comment: "Đồng ý"}, nil))
	var sess struct{ ID, State string }
	must(o.leader.call(ctx, "POST", "/api/v1/documents/"+id+"/sign", nil, &sess))
	waitFor(t, "the leader's signature", 90*time.Second, func() bool {
		must(o.leader.call(ctx, "GET", "/api/v1/signing/sessions/"+sess.ID, nil, &sess))
		if sess.State == "failed" || sess.State == "expired" {
			t.Fatalf("signing %s", sess.State)
		}
		return sess.State == "completed"
	})
	must(o.clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/number", nil, &doc))
	var raw json.RawMessage
	must(o.clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/seal", nil, &raw))
	waitFor(t, "the seal", 90*time.Second, func() bool {
		var v httpapi.DocumentView
		must(o.clerk.call(ctx, "GET", "/api/v1/documents/"+id, nil, &v))
		return v.Document.State == document.StateSealed
	})
	must(o.clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/issue", nil, &doc))
	return doc
}

func (o *xoffice) queue(t *testing.T, ctx context.Context) []httpapi.ReceivedJSON {
	t.Helper()
	var q struct{ Items []httpapi.ReceivedJSON }
	if err := o.clerk.call(ctx, "GET", "/api/v1/exchange/queue", nil, &q); err != nil {
		t.Fatal(err)
	}
	return q.Items
}

func (o *xoffice) waitQueue(t *testing.T, ctx context.Context, what string, cond func(q []httpapi.ReceivedJSON) bool) []httpapi.ReceivedJSON {
	t.Helper()
	var q []httpapi.ReceivedJSON
	waitFor(t, what, 90*time.Second, func() bool { q = o.queue(t, ctx); return cond(q) })
	return q
}

func reportCodes(rep httpapi.ExchangeReportJSON) map[string]string {
	out := map[string]string{}
	for _, r := range rep.Recipients {
		var cs []string
		for _, s := range r.Statuses {
			cs = append(cs, s.Code)
		}
		out[r.OrganId] = strings.Join(cs, ",")
	}
	return out
}

func (o *xoffice) waitReport(t *testing.T, ctx context.Context, docID string, want map[string]string) httpapi.ExchangeReportJSON {
	t.Helper()
	var rep httpapi.ExchangeReportJSON
	waitFor(t, fmt.Sprintf("statuses %v", want), 90*time.Second, func() bool {
		if err := o.clerk.call(ctx, "GET", "/api/v1/documents/"+docID+"/exchange", nil, &rep); err != nil {
			t.Fatal(err)
		}
		got := reportCodes(rep)
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	})
	return rep
}

// runExchangeEndToEnd: two vanban installations with separate databases
// exchange through one hub over HTTP, as the issue's Done-when describes.
// exchangePair is two installations on one hub: organization A on the
// first, B and C on the second, which trusts the first one's development
// CA; A has imported the hub's agencies.
type exchangePair struct {
	a, b, c *xoffice
	base1   string // installation 1's URL
	trust   string // installation 1's development root, a PEM file
}

func startExchangePair(t *testing.T, ctx context.Context, flags1, flags2 []string) *exchangePair {
	t.Helper()
	clearServeEnv(t)
	const password = "mật-khẩu-liên-thông-e2e"
	t.Setenv("VANBAN_ADMIN_PASSWORD", password)
	hubURL, secrets := e2eHub(t)
	exchangeFlag := func(system, secretFile string) []string {
		return []string{"--exchange", "hub:" + hubURL + "/?system=" + system + "&secret-file=" + secretFile + "&poll=300ms"}
	}

	// Installation 1: organization A.
	initOrg(t, flags1, "UBNDTL", "UBND xã Thành Long", "admin-a")
	s1 := serveVanban(t, append(append([]string{}, flags1...), exchangeFlag("install-1", secrets[0])...)...)
	rootLine := s1.line(t, "development root CA at ")
	rootURL, _, _ := strings.Cut(rootLine, ",")
	code, rootPEM := httpGet(t, rootURL)
	if code != 200 {
		t.Fatalf("root CA of installation 1: %d", code)
	}
	trust := mustWrite(t, filepath.Join(t.TempDir(), "root-1.pem"), rootPEM)

	// Installation 2: organizations B and C, trusting installation 1's CA.
	initOrg(t, flags2, "UBNDBX", "UBND xã Bình Xa", "admin-b")
	initOrg(t, flags2, "UBNDMH", "UBND xã Minh Hương", "admin-c")
	s2 := serveVanban(t, append(append([]string{}, flags2...), append(exchangeFlag("install-2", secrets[1]), "--trust-pem", trust)...)...)

	a := newXOffice(t, ctx, s1.URL, "admin-a", password, e2eOrganA)
	b := newXOffice(t, ctx, s2.URL, "admin-b", password, e2eOrganB)
	c := newXOffice(t, ctx, s2.URL, "admin-c", password, e2eOrganC)
	var imported struct{ Imported int }
	if err := a.admin.call(ctx, "POST", "/api/v1/exchange/agencies/import", nil, &imported); err != nil || imported.Imported != 2 {
		t.Fatalf("import: %d %v", imported.Imported, err)
	}
	return &exchangePair{a: a, b: b, c: c, base1: s1.URL, trust: trust}
}

func runExchangeEndToEnd(t *testing.T, flags1, flags2 []string) {
	ctx := context.Background()
	pair := startExchangePair(t, ctx, flags1, flags2)
	a, b, c := pair.a, pair.b, pair.c

	// A issues to B and C; both receive it with TOTAL-PASSED verification.
	doc := a.issueExternal(t, ctx, "Về việc triển khai liên thông văn bản điện tử", e2eOrganB, e2eOrganC)
	qb := b.waitQueue(t, ctx, "B's package", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 })
	qc := c.waitQueue(t, ctx, "C's package", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 })
	for _, it := range []httpapi.ReceivedJSON{qb[0], qc[0]} {
		if it.Indication != "TOTAL-PASSED" || it.Problem != "" || it.From != e2eOrganA || it.Symbol != doc.Symbol || it.State != "pending" {
			t.Fatalf("received %+v", it)
		}
	}
	var in httpapi.DocumentJSON
	if err := b.clerk.call(ctx, "POST", "/api/v1/exchange/received/"+qb[0].ID+"/accept", nil, &in); err != nil {
		t.Fatal(err)
	}
	if in.Number != 1 || in.Direction != document.Incoming {
		t.Fatalf("accepted as %+v", in)
	}
	var rep struct {
		Signatures []struct{ Indication string }
	}
	if err := b.clerk.call(ctx, "GET", "/api/v1/documents/"+in.ID+"/versions/1/verification", nil, &rep); err != nil || len(rep.Signatures) != 2 {
		t.Fatalf("B's verification of the received PDF: %+v %v", rep, err)
	}
	for _, s := range rep.Signatures {
		if s.Indication != "TOTAL-PASSED" {
			t.Fatalf("B sees %s", s.Indication)
		}
	}
	if err := c.clerk.call(ctx, "POST", "/api/v1/exchange/received/"+qc[0].ID+"/refuse", map[string]string{"reason": "Không thuộc thẩm quyền giải quyết"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		who  *person
		path string
		body any
	}{
		{b.clerk, "/route", httpapi.RouteTo{LeaderID: b.leader.user.ID}},
		{b.leader, "/assign", httpapi.AssignTo{HandlerID: b.handler.user.ID, HandlingUnitID: b.unit.ID, WorkingDays: 5, Instruction: "Đề nghị xử lý"}},
		{b.handler, "/start", nil},
		{b.handler, "/complete", httpapi.Comment{Comment: "Đã triển khai"}},
	} {
		if err := step.who.call(ctx, "POST", "/api/v1/documents/"+in.ID+step.path, step.body, nil); err != nil {
			t.Fatalf("%s: %v", step.path, err)
		}
		time.Sleep(400 * time.Millisecond) // one poll, so each state is reported on its own
	}
	report := a.waitReport(t, ctx, doc.ID, map[string]string{e2eOrganB: "01,03,04,05,06", e2eOrganC: "01,02"})
	for _, r := range report.Recipients {
		for _, s := range r.Statuses {
			if s.At.IsZero() || (s.Code != "01" && s.Staff == "") {
				t.Errorf("status %+v lacks its time or person", s)
			}
		}
	}
	var tl struct {
		Items []struct{ Action, Comment string }
	}
	if err := a.clerk.call(ctx, "GET", "/api/v1/documents/"+doc.ID+"/timeline", nil, &tl); err != nil {
		t.Fatal(err)
	}
	var inTimeline []string
	for _, s := range tl.Items {
		if s.Action == "exchange_status" {
			inTimeline = append(inTimeline, s.Comment[:2])
		}
	}
	sort.Strings(inTimeline)
	if strings.Join(inTimeline, ",") != "01,01,02,03,04,05,06" {
		t.Errorf("A's timeline has statuses %v", inTimeline)
	}

	// A recalls a second document: B agrees, C refuses; both ends show it.
	doc2 := a.issueExternal(t, ctx, "Về việc sẽ được thu hồi", e2eOrganB, e2eOrganC)
	qb = b.waitQueue(t, ctx, "B's second package", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 })
	c.waitQueue(t, ctx, "C's second package", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 })
	var in2 httpapi.DocumentJSON
	if err := b.clerk.call(ctx, "POST", "/api/v1/exchange/received/"+qb[0].ID+"/accept", nil, &in2); err != nil {
		t.Fatal(err)
	}
	a.waitReport(t, ctx, doc2.ID, map[string]string{e2eOrganB: "01,03", e2eOrganC: "01"})
	if err := a.clerk.call(ctx, "POST", "/api/v1/documents/"+doc2.ID+"/recall", map[string]string{"reason": "Sai sót về thể thức"}, nil); err != nil {
		t.Fatal(err)
	}
	qb = b.waitQueue(t, ctx, "B's recall request", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 && q[0].RecallState == "requested" })
	qc = c.waitQueue(t, ctx, "C's recall request", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 && q[0].RecallState == "requested" })
	if qb[0].RecallReason != "Sai sót về thể thức" {
		t.Errorf("recall reason %q", qb[0].RecallReason)
	}
	if err := b.clerk.call(ctx, "POST", "/api/v1/exchange/received/"+qb[0].ID+"/recall/agree", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.clerk.call(ctx, "POST", "/api/v1/exchange/received/"+qc[0].ID+"/recall/refuse", map[string]string{"reason": "Đã phổ biến"}, nil); err != nil {
		t.Fatal(err)
	}
	a.waitReport(t, ctx, doc2.ID, map[string]string{e2eOrganB: "01,03,13,15", e2eOrganC: "01,13,16"})
	var v httpapi.DocumentView
	if err := b.clerk.call(ctx, "GET", "/api/v1/documents/"+in2.ID, nil, &v); err != nil || v.Document.State != document.StateWithdrawn {
		t.Fatalf("B's recalled copy: %v %v", v.Document.State, err)
	}
	if code, _ := b.clerk.raw(ctx, "/api/v1/documents/"+in2.ID+"/versions/1/file"); code != 404 {
		t.Errorf("B's recalled content still downloads: %d", code)
	}
	var got httpapi.ReceivedJSON
	if err := c.clerk.call(ctx, "GET", "/api/v1/exchange/received/"+qc[0].ID, nil, &got); err != nil || got.RecallState != "refused" {
		t.Errorf("C's side of the refused recall: %+v %v", got, err)
	}
}

// raw GETs a path and returns the status code.
func (p *person) raw(ctx context.Context, path string) (int, error) {
	var b json.RawMessage
	err := p.call(ctx, "GET", path, nil, &b)
	if ae, ok := err.(*apiError); ok {
		return ae.status, nil
	}
	if err != nil {
		return 0, err
	}
	return 200, nil
}

func TestExchangeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("two installations and a hub")
	}
	runExchangeEndToEnd(t, []string{"--data-dir", t.TempDir()}, []string{"--data-dir", t.TempDir()})
}

// The same on PostgreSQL and MinIO: two databases, two buckets' prefixes.
func TestExchangeEndToEndPostgresMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("two installations and a hub")
	}
	srv := s3test.StartServer(t)
	flags := func(n int) []string {
		return []string{"--data-dir", t.TempDir(), "--database-url", pgtest.URL(t),
			"--storage-url", srv.StoreURL("vanban-exchange", fmt.Sprintf("i%d-%d/", n, time.Now().UnixNano())), "--dev-services", "on",
			"--s3-access-key", srv.AccessKey, "--s3-secret-key", srv.SecretKey, "--secret-key", nodeSecretKey}
	}
	runExchangeEndToEnd(t, flags(1), flags(2))
}
