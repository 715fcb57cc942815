package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/internal/store/pgtest"
	"vanban/signing/mssp"
	"vanban/storage/s3/s3test"
)

// benchSimLatency is how long the simulated SIM takes to answer: 1 s by
// default, the floor of a real mobile signature with no one at the phone
// (the request reaches the SIM over the air, the card computes an RSA-2048
// signature, the answer comes back over the air). The development services
// use 2 s, and a person typing a PIN takes 5 to 30 s.
// VANBAN_BENCH_SIM_LATENCY overrides it (0 measures the server alone).
func benchSimLatency(tb testing.TB) time.Duration {
	if v := os.Getenv("VANBAN_BENCH_SIM_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			tb.Fatalf("VANBAN_BENCH_SIM_LATENCY: %v", err)
		}
		return d
	}
	return time.Second
}

// benchMode is the ETSI TS 102 204 messaging mode of the leaders' signer:
// async (MSS_StatusReq polls every benchPoll, the default) or sync (the
// MSSP answers the MSS_Signature request itself when the signer has
// answered, and the worker learns of it at once). VANBAN_BENCH_MSSP_MODE
// sets it.
func benchMode(tb testing.TB) string {
	switch m := os.Getenv("VANBAN_BENCH_MSSP_MODE"); m {
	case "", "async":
		return "async"
	case "sync":
		return m
	default:
		tb.Fatalf("VANBAN_BENCH_MSSP_MODE: %q is neither async nor sync", m)
		return ""
	}
}

// benchPoll is how often the server asks the MSSP about a pending
// signature (the etsi204 "poll" parameter; its default is 2 s).
const benchPoll = 500 * time.Millisecond

// benchOffice is a running vanban (PostgreSQL, MinIO, development PKI for
// the seal and time-stamps) with a simulator whose phones answer by
// themselves, and one office: a drafter, a reviewer, a clerk and leaders.
type benchOffice struct {
	d        *demo
	admin    *person // creates leaders on demand, one per parallel goroutine
	leaders  map[int]*person
	unit     string
	org      string
	drafter  *person
	reviewer *person
	clerk    *person
	pdf      []byte
	// lat times every API call of the office's people; cpu measures
	// what an issued document costs.
	lat *latencies
	cpu *cpuMeter
}

// startBenchSimulator runs an MSSP simulator with its own development PKI
// on loopback, approving every request after latency: scenario numbers by
// design, other numbers because of AutoApprove. It returns the signer URI
// (no phone number) and the PEM file of its root.
func startBenchSimulator(b *testing.B, latency time.Duration) (uri, rootPEM string) {
	b.Helper()
	var handler atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	dir := b.TempDir()
	const apID, apPwd = "vanban-bench", "bench-ap-password"
	pki, sim, err := openDevStack(srv.URL, dir, mssp.Options{
		APs: map[string]string{apID: apPwd}, AutoApprove: true, Latency: latency,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	mux := http.NewServeMux()
	mux.Handle("/pki/", pki.Handler())
	mux.Handle("/", sim)
	handler.Store(http.Handler(mux))
	pwdFile := filepath.Join(dir, "ap.pass")
	if err := os.WriteFile(pwdFile, []byte(apPwd), 0o600); err != nil {
		b.Fatal(err)
	}
	rootPEM = filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Root().Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	q := url.Values{"ap-id": {apID}, "ap-pwd-file": {pwdFile}, "mode": {benchMode(b)}, "poll": {benchPoll.String()},
		"cert-lookup": {srv.URL + "/certificates"}}
	return "etsi204:" + srv.URL + "/soap?" + q.Encode(), rootPEM
}

// startBenchOffice serves vanban against PostgreSQL and MinIO and sets up
// the office.
func startBenchOffice(b *testing.B) *benchOffice {
	b.Helper()
	clearServeEnv(b)
	ctx := context.Background()
	db := pgtest.URL(b)
	s3 := s3test.StartServer(b)
	simURI, simRoot := startBenchSimulator(b, benchSimLatency(b))
	flags := []string{"--data-dir", b.TempDir(), "--database-url", db,
		"--storage-url", s3.StoreURL("vanban-bench", "b"+randomSuffix()+"/"), "--dev-services", "on",
		"--s3-access-key", s3.AccessKey, "--s3-secret-key", s3.SecretKey, "--secret-key", nodeSecretKey,
		"--signers", "phone=" + simURI, "--trust-pem", simRoot}
	b.Setenv("VANBAN_ADMIN_PASSWORD", "mật-khẩu-quản-trị-bench")
	var out, errb lockedBuffer
	initArgs := append([]string{"init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân xã Thành Long", "--place", "Thành Long"}, flags...)
	if code := run(ctx, initArgs, &out, &errb); code != 0 {
		b.Fatalf("init: %d\n%s\n%s", code, &out, &errb)
	}
	base := serveVanban(b, append(flags, "--log-level", "warn")...).URL
	o := &benchOffice{d: &demo{base: base, out: &out, started: time.Now()}, pdf: demoPDF, leaders: map[int]*person{},
		lat: newLatencies(), cpu: newCPUMeter(b, db)}
	admin, err := o.d.login(ctx, "admin", "mật-khẩu-quản-trị-bench")
	if err != nil {
		b.Fatal(err)
	}
	o.org = admin.user.OrgID
	var unit httpapi.UnitJSON
	if err := admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: o.org, Abbrev: "VP", Name: "Văn phòng"}, &unit); err != nil {
		b.Fatal(err)
	}
	o.unit = unit.ID
	o.drafter = o.person(b, admin, "chuyenvien", "Nguyễn Văn Soạn", httpapi.GrantJSON{UnitID: unit.ID, Role: document.RoleDrafter})
	o.reviewer = o.person(b, admin, "thamdinh", "Trần Thị Duyệt", httpapi.GrantJSON{UnitID: o.org, Role: document.RoleReviewer})
	o.clerk = o.person(b, admin, "vanthu", "Phạm Thị Thư", httpapi.GrantJSON{UnitID: o.org, Role: document.RoleClerk})
	if err := admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: "seal"}, nil); err != nil {
		b.Fatal(err)
	}
	o.admin = admin
	return o
}

func (o *benchOffice) person(b *testing.B, admin *person, username, name string, grant httpapi.GrantJSON) *person {
	b.Helper()
	ctx := context.Background()
	pass := "bench-" + randomSuffix() + randomSuffix()
	var u httpapi.UserJSON
	if err := admin.call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: username, FullName: name,
		Title: "Chuyên viên", Password: pass, Roles: []httpapi.GrantJSON{grant}}, &u); err != nil {
		b.Fatalf("create %s: %v", username, err)
	}
	p, err := o.d.login(ctx, username, pass)
	if err != nil {
		b.Fatal(err)
	}
	p.hc.Transport = o.lat
	return p
}

// leader returns leader n, who signs on phone, creating them on first
// use (a sub-benchmark runs once per b.N it tries).
func (o *benchOffice) leader(b *testing.B, n int, phone string) *person {
	b.Helper()
	if p := o.leaders[n]; p != nil {
		return p
	}
	p := o.person(b, o.admin, "lanhdao-"+strconv.Itoa(n), "Lê Văn Chủ "+strconv.Itoa(n), httpapi.GrantJSON{UnitID: o.org, Role: document.RoleSigner})
	if err := o.admin.call(context.Background(), "PUT", "/api/v1/users/"+p.user.ID+"/signing-identity",
		httpapi.SigningIdentityJSON{Provider: "phone", Signer: phone}, nil); err != nil {
		b.Fatal(err)
	}
	o.leaders[n] = p
	return p
}

// issueOne takes one document from upload to issued: draft, assign the
// signer, submit, approve, sign on the phone, number, seal, issue.
func (o *benchOffice) issueOne(ctx context.Context, leader *person, n int) error {
	up, err := newUpload(httpapi.DraftCreate{UnitID: o.unit, Type: document.TypeQuyetDinh,
		Subject: fmt.Sprintf("Quyết định về việc phê duyệt kế hoạch số %d", n), Recipients: []string{o.org}}, "du-thao.pdf", o.pdf)
	if err != nil {
		return err
	}
	var doc httpapi.DocumentJSON
	if err := o.drafter.call(ctx, "POST", "/api/v1/documents", up, &doc); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	id := doc.ID
	if err := o.drafter.call(ctx, "POST", "/api/v1/documents/"+id+"/signer", httpapi.SignerAssign{SignerID: leader.user.ID}, nil); err != nil {
		return fmt.Errorf("assign signer: %w", err)
	}
	if err := o.drafter.call(ctx, "POST", "/api/v1/documents/"+id+"/submit", httpapi.Submit{Reviewers: []string{o.reviewer.user.ID}}, nil); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if err := o.reviewer.call(ctx, "POST", "/api/v1/documents/"+id+"/approve", httpapi.Comment{Comment: "Đồng ý"}, nil); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	var sess signsession.Session
	signStart := time.Now()
	if err := leader.call(ctx, "POST", "/api/v1/documents/"+id+"/sign", nil, &sess); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for sess.State != "completed" {
		if sess.State == "failed" || sess.State == "expired" || sess.State == "cancelled" {
			return fmt.Errorf("signing %s: %s (%s)", sess.State, sess.FailureMessage, sess.FailureKind)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("signing session %s still %s", sess.ID, sess.State)
		}
		time.Sleep(100 * time.Millisecond) // as a browser polling the session
		if err := leader.call(ctx, "GET", "/api/v1/signing/sessions/"+sess.ID, nil, &sess); err != nil {
			return fmt.Errorf("signing status: %w", err)
		}
	}
	o.lat.add("(wall) sign until completed", time.Since(signStart))
	if err := o.clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/number", nil, nil); err != nil {
		return fmt.Errorf("number: %w", err)
	}
	sealStart := time.Now()
	if err := o.clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/seal", nil, nil); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	for {
		var raw []byte
		if err := o.clerk.call(ctx, "GET", "/api/v1/documents/"+id, nil, &raw); err != nil {
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
			return fmt.Errorf("seal not applied (state %s)", v.Document.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	o.lat.add("(wall) seal until sealed", time.Since(sealStart))
	if err := o.clerk.call(ctx, "POST", "/api/v1/documents/"+id+"/issue", nil, &doc); err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	if doc.State != document.StateIssued {
		return fmt.Errorf("issued document is %s", doc.State)
	}
	return nil
}

// measure runs issue (b.N documents) and reports documents per second,
// the API's p99 over every call made meanwhile, and the CPU time per
// document of this process, MinIO and the PostgreSQL backends together.
func (o *benchOffice) measure(b *testing.B, issue func()) {
	o.lat.reset()
	load := machineLoad()
	seq0 := o.cpu.auditSeq(b)
	stop := o.cpu.watch(b)
	start := time.Now()
	issue()
	elapsed := time.Since(start)
	use := stop()
	audited := o.cpu.auditSeq(b) - seq0
	b.StopTimer()
	p99 := o.lat.report(b)
	perDoc := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(perDoc(use.total()), "cpu-ms/doc")
	b.Logf("CPU per document: %.1f ms (process %.1f, MinIO %.1f, PostgreSQL %.1f); %.1f audited state changes per document; wall %s; load average %s before, %s after",
		perDoc(use.total()), perDoc(use.self), perDoc(use.minio), perDoc(use.pg), float64(audited)/float64(b.N),
		elapsed.Round(time.Millisecond), load, machineLoad())
}

// BenchmarkIssue is end-to-end issuance over HTTP against a real server
// (PostgreSQL, MinIO, development seal and TSA, simulated SIMs answering
// after benchSimLatency): upload, assign, submit, approve, sign on the
// phone, number, seal, issue. "sequential" is one leader on the
// simulator's approve scenario number; "leaders-N" are N leaders working
// at once, each on an ordinary number of its own (one SIM signs one
// request at a time) that the simulator auto-approves.
//
//	go test ./cmd/vanban/ -run '^$' -bench Issue -benchtime 20x
func BenchmarkIssue(b *testing.B) {
	o := startBenchOffice(b)
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		leader := o.leader(b, 0, mssp.ScenarioMSISDN(mssp.ScenarioApprove, false))
		b.ResetTimer()
		o.measure(b, func() {
			for i := 0; i < b.N; i++ {
				if err := o.issueOne(ctx, leader, i); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	for _, n := range []int{4, 16} {
		b.Run("leaders-"+strconv.Itoa(n), func(b *testing.B) {
			leaders := make([]*person, n)
			for i := range leaders {
				leaders[i] = o.leader(b, 100*n+i, fmt.Sprintf("849123%05d", 100*n+i))
			}
			var done atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, n)
			b.ResetTimer()
			o.measure(b, func() {
				for g := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := done.Add(1)
							if i > int64(b.N) {
								return
							}
							if err := o.issueOne(ctx, leaders[g], int(i)); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
			})
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		})
	}
}
