package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/mssp"
	"vanban/storage/s3/s3test"
)

// simRequests records the simulator's transactions: one "mssp: request"
// log record per request that reached a phone (a resend under a known
// AP_TransID is the same transaction and logs nothing), and counts the
// MSS_Signature calls that reached it at all.
type simRequests struct {
	mu    sync.Mutex
	byAP  map[string]int // AP_TransID (our session id) -> transactions
	calls atomic.Int64
}

func (r *simRequests) Enabled(context.Context, slog.Level) bool { return true }
func (r *simRequests) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *simRequests) WithGroup(string) slog.Handler            { return r }
func (r *simRequests) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "mssp: request" {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "ap_trans_id" {
			r.mu.Lock()
			r.byAP[a.Value.String()]++
			r.mu.Unlock()
		}
		return true
	})
	return nil
}

func (r *simRequests) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.byAP))
	for k, v := range r.byAP {
		out[k] = v
	}
	return out
}

// TestTwoNodes is the "done when" of several nodes: two vanban serve
// processes on one PostgreSQL database and one MinIO bucket, an ETSI 204
// simulator whose phones answer by themselves, leaders' batches and the
// clerk's numbering and sealing spread over both nodes, and one node
// killed with SIGKILL in the middle. Every document ends issued exactly
// once with gapless numbers, the simulator saw exactly one transaction per
// signature (in sync mode too, where a live call belongs to the node that
// made it), and no session, lease or document is left pending.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("two server processes, PostgreSQL, MinIO and a simulator")
	}
	for _, mode := range []string{"async", "sync"} {
		t.Run(mode, func(t *testing.T) { runTwoNodes(t, mode, 100) })
	}
}

// twoNodes is the running installation of TestTwoNodes.
type twoNodes struct {
	t     *testing.T
	bin   string
	env   [2][]string
	procs [2]*proc
	bases [2]string
	alive [2]atomic.Bool
}

// on returns p calling node i: the same session cookie, made on whichever
// node signed p in.
func (n *twoNodes) on(p *person, i int) *person {
	q := *p
	q.d = &demo{base: n.bases[i], out: io.Discard, started: time.Now()}
	return &q
}

// live returns p on node i, or on the other node when i is dead.
func (n *twoNodes) live(p *person, i int) *person {
	if !n.alive[i].Load() {
		i = 1 - i
	}
	return n.on(p, i)
}

func runTwoNodes(t *testing.T, mode string, docs int) {
	bin := buildVanban(t)
	dir := t.TempDir()
	db := pgtest.URL(t)
	s3 := s3test.StartServer(t)

	// The simulator runs in the test process: it outlives the nodes.
	rec := &simRequests{byAP: map[string]int{}}
	var handler atomic.Value
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/soap") && strings.Contains(r.Header.Get("SOAPAction")+r.Header.Get("Content-Type"), "MSS_Signature") {
			rec.calls.Add(1)
		}
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	defer simSrv.Close()
	const apID, apPwd = "vanban-nodes", "nodes-ap-password"
	pki, sim, err := openDevStack(simSrv.URL, filepath.Join(dir, "sim"), mssp.Options{
		APs: map[string]string{apID: apPwd}, AutoApprove: true, Latency: time.Second,
		Logger: slog.New(rec),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	mux := http.NewServeMux()
	mux.Handle("/pki/", pki.Handler())
	mux.Handle("/", sim)
	handler.Store(http.Handler(mux))
	rootPEM := filepath.Join(dir, "sim-root.pem")
	if err := os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Root().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	// The office seal from the same PKI, whose OCSP answers: the seal
	// embeds validation data (B-LT).
	if err := os.MkdirAll(filepath.Join(dir, "seal"), 0o700); err != nil {
		t.Fatal(err)
	}
	sealURI, err := devSeal(pki, filepath.Join(dir, "seal"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	phone := "etsi204:" + simSrv.URL + "/soap?" + url.Values{"ap-id": {apID}, "ap-pwd-env": {"AP_PWD"}, "mode": {mode},
		"poll": {"200ms"}, "cert-lookup": {simSrv.URL + "/certificates"}}.Encode()

	n := &twoNodes{t: t, bin: bin}
	shared := []string{
		"VANBAN_DATABASE_URL=" + db,
		"VANBAN_STORAGE_URL=" + s3.StoreURL("vanban-nodes", "n"+randomSuffix()+"/"),
		"VANBAN_S3_ACCESS_KEY=" + s3.AccessKey, "VANBAN_S3_SECRET_KEY=" + s3.SecretKey,
		"VANBAN_SECRET_KEY=the-same-secret-key-on-every-node-0123456789",
		"VANBAN_DEV_SERVICES=off",
		"VANBAN_SIGNERS=phone=" + phone + " seal=" + sealURI,
		"AP_PWD=" + apPwd,
		"VANBAN_TSA_URL=" + simSrv.URL + "/pki/tsa",
		"VANBAN_TRUST_PEM=" + rootPEM,
		"VANBAN_ADMIN_PASSWORD=mật-khẩu-quản-trị-nodes",
		"VANBAN_LOG_FORMAT=json", "VANBAN_LOG_LEVEL=warn",
	}
	for i := range 2 {
		n.env[i] = append(slices.Clone(shared),
			"VANBAN_DATA_DIR="+filepath.Join(dir, fmt.Sprintf("node%d", i)),
			fmt.Sprintf("VANBAN_ADDR=127.0.0.1:%d", freeLoopbackPort(t)))
	}
	initCmd := exec.Command(bin, "init", "--org-abbrev", "UBND", "--org-name", "Ủy ban nhân dân tỉnh Thành Long", "--place", "Thành Long")
	initCmd.Env = append(cleanEnv(), n.env[0]...)
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	for i := range 2 {
		n.procs[i], n.bases[i] = startProc(t, bin, n.env[i], `is running at (http://\S+)`, "serve")
		n.alive[i].Store(true)
		defer n.procs[i].kill()
	}

	ctx := context.Background()
	d := &demo{base: n.bases[0], out: io.Discard, started: time.Now()}
	admin, err := d.login(ctx, "admin", "mật-khẩu-quản-trị-nodes")
	if err != nil {
		t.Fatal(err)
	}
	org := admin.user.OrgID
	var unit httpapi.UnitJSON
	if err := admin.call(ctx, "POST", "/api/v1/units", httpapi.UnitCreate{ParentID: org, Abbrev: "VP", Name: "Văn phòng"}, &unit); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, grant httpapi.GrantJSON, node int) *person {
		t.Helper()
		pass := "mật-khẩu-" + name + "-dài"
		if err := n.on(admin, node).call(ctx, "POST", "/api/v1/users", httpapi.UserCreate{Username: name, FullName: "Người " + name,
			Title: "Chuyên viên", Password: pass, Roles: []httpapi.GrantJSON{grant}}, nil); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		// Signed in on one node; the cookie is used on both.
		p, err := (&demo{base: n.bases[node], out: io.Discard, started: time.Now()}).login(ctx, name, pass)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	drafter := mk("drafter", httpapi.GrantJSON{UnitID: unit.ID, Role: document.RoleDrafter}, 0)
	reviewer := mk("reviewer", httpapi.GrantJSON{UnitID: org, Role: document.RoleReviewer}, 1)
	clerk := mk("clerk", httpapi.GrantJSON{UnitID: org, Role: document.RoleClerk}, 1)
	if err := admin.call(ctx, "PUT", "/api/v1/seal-signer", httpapi.SigningIdentityJSON{Provider: "seal"}, nil); err != nil {
		t.Fatal(err)
	}
	const leaders = 10
	perLeader := docs / leaders
	var ls []*person
	for i := range leaders {
		l := mk(fmt.Sprintf("leader%d", i), httpapi.GrantJSON{UnitID: org, Role: document.RoleSigner}, i%2)
		if err := n.on(admin, 1-i%2).call(ctx, "PUT", "/api/v1/users/"+l.user.ID+"/signing-identity",
			httpapi.SigningIdentityJSON{Provider: "phone", Signer: fmt.Sprintf("8491300%04d", i)}, nil); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}

	// Drafts to approval, alternating nodes, four at a time.
	docIDs := make([][]string, leaders)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	errs := make(chan error, docs)
	for i := range leaders {
		for j := range perLeader {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				k := i*perLeader + j
				up, err := newUpload(httpapi.DraftCreate{UnitID: unit.ID, Type: document.TypeQuyetDinh,
					Subject: fmt.Sprintf("Quyết định số %d của lãnh đạo %d", j, i), Recipients: []string{org}}, "qd.pdf", demoPDF)
				if err != nil {
					errs <- err
					return
				}
				var doc httpapi.DocumentJSON
				if err := n.on(drafter, k%2).call(ctx, "POST", "/api/v1/documents", up, &doc); err != nil {
					errs <- fmt.Errorf("upload: %w", err)
					return
				}
				for s, step := range []struct {
					p    *person
					path string
					body any
				}{
					{drafter, "/signer", httpapi.SignerAssign{SignerID: ls[i].user.ID}},
					{drafter, "/submit", httpapi.Submit{Reviewers: []string{reviewer.user.ID}}},
					{reviewer, "/approve", httpapi.Comment{Comment: "Đồng ý"}},
				} {
					if err := n.on(step.p, (k+s+1)%2).call(ctx, "POST", "/api/v1/documents/"+doc.ID+step.path, step.body, nil); err != nil {
						errs <- fmt.Errorf("%s: %w", step.path, err)
						return
					}
				}
				mu.Lock()
				docIDs[i] = append(docIDs[i], doc.ID)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%s: %d documents awaiting signature", mode, docs)

	// Each leader signs a batch on one node, half on each.
	sessionOwner := map[string]*person{}
	for i, l := range ls {
		var started struct{ Items []signsession.Session }
		if err := n.on(l, i%2).call(ctx, "POST", "/api/v1/signing/batch", httpapi.Batch{DocumentIDs: docIDs[i]}, &started); err != nil {
			t.Fatalf("batch of leader %d: %v", i, err)
		}
		for _, s := range started.Items {
			sessionOwner[s.ID] = l
		}
	}
	if len(sessionOwner) != docs {
		t.Fatalf("%d sessions for %d documents", len(sessionOwner), docs)
	}

	// The clerk numbers, seals and issues what is signed, on both nodes,
	// while the leaders' batches run; node 0 dies in the middle.
	all := slices.Concat(docIDs...)
	issued := map[string]bool{}
	// The kill: once a third of the signatures reached the simulator,
	// while node 0 holds leases on sessions on the phones.
	var killedAt time.Time
	var heldAtKill int
	issuedAtKill := -1
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for len(rec.snapshot()) < docs/3 {
			time.Sleep(10 * time.Millisecond)
		}
		if r, err := readyz(n.bases[0]); err == nil {
			heldAtKill = r.Held
		}
		// Dead to the clerk first, so that a call failing with the kill
		// is seen as the kill's.
		n.alive[0].Store(false)
		n.procs[0].kill()
		killedAt = time.Now()
	}()
	deadline := time.Now().Add(4 * time.Minute)
	for len(issued) < docs {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d documents issued after 4 minutes\nnode 1:\n%s", len(issued), docs, n.procs[1].out)
		}
		progressed := false
		for k, id := range all {
			if issued[id] {
				continue
			}
			c := n.live(clerk, k%2)
			var v httpapi.DocumentView
			if err := c.call(ctx, "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
				if n.alive[k%2].Load() {
					t.Fatalf("document %s: %v", id, err)
				}
				continue // the node died under the call
			}
			var step string
			switch v.Document.State {
			case document.StateSigned, document.StateNumbered:
				step = "/number"
				if v.Document.State == document.StateNumbered && latestKind(v) == document.VersionNumbered {
					step = "/seal"
				}
			case document.StateSealed:
				step = "/issue"
			case document.StateIssued:
				issued[id] = true
				progressed = true
				continue
			default:
				continue // signing
			}
			err := c.call(ctx, "POST", "/api/v1/documents/"+id+step, nil, nil)
			var ae *apiError
			switch {
			case err == nil:
				progressed = true
			case errors.As(err, &ae) && ae.status == http.StatusConflict:
				// A seal left active by the dead node, until its
				// lease expires and the other node finishes it.
			case !n.alive[k%2].Load() || isConnError(err):
				// Cut by the kill: the next round goes to the live node.
			default:
				t.Fatalf("%s %s: %v\nnode %d:\n%s", step, id, err, k%2, n.procs[k%2].out)
			}
		}
		if !n.alive[0].Load() && issuedAtKill < 0 {
			issuedAtKill = len(issued)
		}
		if !progressed {
			time.Sleep(200 * time.Millisecond)
		}
	}
	<-killed
	t.Logf("%s: node 0 killed with SIGKILL holding %d leases, %d of %d documents issued by then; all issued %s after the kill",
		mode, heldAtKill, issuedAtKill, docs, time.Since(killedAt).Round(100*time.Millisecond))
	if heldAtKill == 0 {
		t.Errorf("node 0 held no lease when it was killed: nothing was taken over")
	}

	// Every document issued exactly once, numbers 1..docs without gaps.
	c := n.on(clerk, 1)
	var numbers []int
	for _, id := range all {
		var v httpapi.DocumentView
		if err := c.call(ctx, "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
			t.Fatal(err)
		}
		counts := map[document.VersionKind]int{}
		for _, ver := range v.Versions {
			counts[ver.Kind]++
		}
		if v.Document.State != document.StateIssued || counts[document.VersionLeaderSigned] != 1 ||
			counts[document.VersionNumbered] != 1 || counts[document.VersionSealed] != 1 {
			t.Errorf("document %s: %s with versions %v", id, v.Document.State, counts)
		}
		numbers = append(numbers, v.Document.Number)
	}
	sort.Ints(numbers)
	for i, num := range numbers {
		if num != i+1 {
			t.Fatalf("numbers are not 1..%d without gaps: %v", docs, numbers)
		}
	}

	// A download link does not depend on the node that made it: it names
	// the object in the shared store, and gives its exact bytes.
	var v httpapi.DocumentView
	if err := c.call(ctx, "GET", "/api/v1/documents/"+all[0], nil, &v); err != nil {
		t.Fatal(err)
	}
	last := v.Versions[len(v.Versions)-1]
	var link httpapi.Link
	if err := c.call(ctx, "GET", fmt.Sprintf("/api/v1/documents/%s/versions/%d/link", all[0], last.Seq), nil, &link); err != nil {
		t.Fatal(err)
	}
	for _, base := range n.bases {
		if strings.HasPrefix(link.URL, base) {
			t.Errorf("the download link %s goes through node %s", link.URL, base)
		}
	}
	resp, err := http.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sum := sha256.Sum256(body); resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != last.SHA256 {
		t.Errorf("the download link gave %d, %d bytes not matching version %d", resp.StatusCode, len(body), last.Seq)
	}

	// Nothing pending: every leader's session completed.
	for id, l := range sessionOwner {
		var s signsession.Session
		if err := n.on(l, 1).call(ctx, "GET", "/api/v1/signing/sessions/"+id, nil, &s); err != nil {
			t.Fatal(err)
		}
		if s.State != store.SigningCompleted {
			t.Errorf("session %s: %s %s %s", id, s.State, s.FailureKind, s.FailureMessage)
		}
	}

	// One transaction at the simulator per signature.
	got := rec.snapshot()
	for id := range sessionOwner {
		if got[id] != 1 {
			t.Errorf("session %s: %d transactions at the simulator", id, got[id])
		}
	}
	if len(got) != docs {
		t.Errorf("%d transactions at the simulator for %d signatures", len(got), docs)
	}
	// The requests themselves: in async mode the node that took a
	// session over polled the MSSP's transaction, sending nothing again;
	// in sync mode the calls in flight died with node 0, and each of its
	// sessions was sent once more under its idempotency key (the same
	// transaction, above), no other.
	calls := int(rec.calls.Load())
	t.Logf("%s: %d MSS_Signature calls for %d signatures", mode, calls, docs)
	if mode == "async" && calls != docs {
		t.Errorf("async: %d signature requests for %d signatures", calls, docs)
	}
	if mode == "sync" && (calls < docs || calls > docs+heldAtKill) {
		t.Errorf("sync: %d signature requests for %d signatures, node 0 held %d sessions", calls, docs, heldAtKill)
	}

	// The surviving node's /readyz: no signing lease held or waiting (the
	// notification and webhook workers may be in the middle of a
	// delivery).
	r, err := readyz(n.bases[1])
	if err != nil {
		t.Fatal(err)
	}
	if r.Node == "" {
		t.Fatal("/readyz reports no signing work")
	}
	for _, lc := range r.Leases {
		if lc.Kind == store.LeaseSigning && lc.Held+lc.Others+lc.Expired != 0 {
			t.Errorf("signing leases left: %+v", lc)
		}
	}
}

// readyz returns what a node's /readyz says of its signing work.
func readyz(base string) (*signsession.WorkReport, error) {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}
	var ready struct {
		Work struct {
			Signing signsession.WorkReport `json:"signing"`
		} `json:"work"`
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		return nil, err
	}
	return &ready.Work.Signing, nil
}

// latestKind is the kind of the newest version of a document.
func latestKind(v httpapi.DocumentView) document.VersionKind {
	var k document.VersionKind
	best := -1
	for _, ver := range v.Versions {
		if ver.Seq > best {
			best, k = ver.Seq, ver.Kind
		}
	}
	return k
}

// isConnError reports a request that never got an HTTP answer.
func isConnError(err error) bool {
	var ae *apiError
	return !errors.As(err, &ae)
}
