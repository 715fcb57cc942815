package signsession_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
	"vanban/signing"
	_ "vanban/signing/etsi204" // the leader's SIM, over the simulator
	_ "vanban/signing/keyfile" // the office seal
	"vanban/signing/mssp"
	"vanban/signing/signtest"
	"vanban/storage"
	"vanban/storage/local"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// env is an organization with its people, a local blob store, the MSSP
// simulator over real HTTP with the etsi204 client as the leaders'
// provider "mobile", and the committed test PKI's PKCS#12 as the seal
// provider "seal".
type env struct {
	t     *testing.T
	db    *store.DB
	wf    *workflow.Service[*store.Tx]
	blobs storage.Store
	sim   *mssp.Server
	simTS *httptest.Server
	svc   *signsession.Service

	org                                              *document.Organization
	office                                           *document.Unit
	drafter, reviewer, signer, signer2, clerk, admin *document.User
	trust                                            []string // PEM files of the MSSP CA and the seal CA
	roots                                            *x509.CertPool
	pdf                                              []byte
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := &env{t: t, db: db}
	e.wf = workflow.New[*store.Tx](db, nil)
	var err error
	if e.blobs, err = local.New(t.TempDir(), local.Options{}); err != nil {
		t.Fatal(err)
	}
	e.sim, err = mssp.NewServer(mssp.Options{APs: map[string]string{"http://ap.vanban.test/": "dev-secret"}, Latency: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.sim.Close)
	e.simTS = httptest.NewServer(e.sim)
	t.Cleanup(e.simTS.Close)

	e.org = &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}
	e.must(db.CreateOrganization(ctx, e.org))
	e.office = &document.Unit{ParentID: e.org.ID, Abbrev: "VP", Name: "Văn phòng"}
	e.must(db.CreateUnit(ctx, e.office))
	root := e.org.ID
	e.drafter = e.user("drafter", "Chuyên viên", e.office.ID, document.RoleDrafter)
	e.reviewer = e.user("reviewer", "Chánh văn phòng", root, document.RoleReviewer)
	e.signer = e.user("signer", "Chủ tịch", root, document.RoleSigner)
	e.signer2 = e.user("signer2", "Phó Chủ tịch", root, document.RoleSigner)
	e.clerk = e.user("clerk", "Văn thư", root, document.RoleClerk)
	e.admin = e.user("admin", "Quản trị", root, document.RoleAdmin)
	e.setPhone(e.signer, mssp.ScenarioMSISDN(mssp.ScenarioApprove, false))
	e.setPhone(e.signer2, mssp.ScenarioMSISDN(mssp.ScenarioApprove, true))
	e.must(db.SetSealSigner(ctx, &store.SealSigner{OrgID: e.org.ID, Provider: "seal"}))

	pki := signtest.TestPKI(t)
	simCA := filepath.Join(t.TempDir(), "mssp-ca.pem")
	e.must(os.WriteFile(simCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.sim.CACertificate().Raw}), 0o600))
	e.trust = []string{simCA, pki.CAPEM}
	e.roots = x509.NewCertPool()
	e.roots.AddCert(e.sim.CACertificate())
	caPEM, err := os.ReadFile(pki.CAPEM)
	e.must(err)
	e.roots.AppendCertsFromPEM(caPEM)
	e.pdf = readCorpus(t, "libreoffice-writer.pdf")
	e.svc = e.service(nil)
	return e
}

// mobile opens a fresh etsi204 client on the simulator, as a restarted
// process would.
func (e *env) mobile() signing.Provider {
	e.t.Helper()
	q := url.Values{
		"ap-id": {"http://ap.vanban.test/"}, "ap-pwd-env": {"AP_PWD"}, "mssp-id": {"http://mssp.vanban.invalid/"},
		"mode": {"async"}, "poll": {"100ms"}, "cert-lookup": {e.simTS.URL + "/certificates"},
	}
	env := func(name string) (string, bool) { return "dev-secret", name == "AP_PWD" }
	p, err := signing.Open("etsi204:"+e.simTS.URL+"/soap?"+q.Encode(), env)
	e.must(err)
	e.t.Cleanup(func() { p.(signing.Closer).Close() })
	return p
}

// seal opens the test PKI's PKCS#12 through the keyfile provider.
func (e *env) seal() signing.Provider {
	e.t.Helper()
	pki := signtest.TestPKI(e.t)
	env := func(name string) (string, bool) { return pki.P12Password, name == "SEAL_PASS" }
	p, err := signing.Open("file:"+pki.SignerP12+"?pass-env=SEAL_PASS", env)
	e.must(err)
	return p
}

// service builds a Service as a (re)started process would; mobile
// overrides the leaders' provider.
func (e *env) service(mobile signing.Provider) *signsession.Service {
	e.t.Helper()
	if mobile == nil {
		mobile = e.mobile()
	}
	return signsession.New(e.db, e.wf, e.blobs, map[string]signing.Provider{"mobile": mobile, "seal": e.seal()},
		signsession.Options{PollInterval: 100 * time.Millisecond, TickInterval: 50 * time.Millisecond, LeaseTTL: 250 * time.Millisecond})
}

func (e *env) user(name, title, unitID string, role document.Role) *document.User {
	e.t.Helper()
	u := &document.User{OrgID: e.org.ID, Username: name + "." + e.org.ID[:8], FullName: "Nguyễn Văn " + name, Title: title}
	e.must(e.db.CreateUser(ctx, u))
	e.must(e.db.GrantRole(ctx, u.ID, unitID, role))
	return u
}

func (e *env) setPhone(u *document.User, msisdn string) {
	e.t.Helper()
	e.must(e.db.SetSigningIdentity(ctx, &store.SigningIdentity{UserID: u.ID, Provider: "mobile", ProviderSigner: msisdn}))
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func as(u *document.User) workflow.Actor {
	return workflow.Actor{UserID: u.ID, ClientAddr: "192.0.2.7"}
}

// awaiting stores the draft PDF and walks a new document to awaiting
// signature with signer assigned.
func (e *env) awaiting(signer *document.User, subject string) *document.Document {
	e.t.Helper()
	obj, err := e.blobs.PutContentAddressed(ctx, bytesReader(e.pdf), storage.PutOptions{ContentType: "application/pdf"})
	e.must(err)
	d, err := e.wf.CreateDraft(ctx, as(e.drafter), workflow.DraftInput{UnitID: e.office.ID, TypeCode: document.TypeQuyetDinh,
		Subject: subject, File: workflow.File{BlobKey: obj.Key, SHA256: hexOf(obj.SHA256), Size: obj.Size}})
	e.must(err)
	_, err = e.wf.AssignSigner(ctx, as(e.drafter), d.ID, signer.ID)
	e.must(err)
	_, err = e.wf.SubmitForReview(ctx, as(e.drafter), d.ID, []string{e.reviewer.ID})
	e.must(err)
	d, err = e.wf.Approve(ctx, as(e.reviewer), d.ID, "")
	e.must(err)
	return d
}

func (e *env) doc(id string) *workflow.View {
	e.t.Helper()
	v, err := e.wf.Get(ctx, as(e.admin), id)
	e.must(err)
	return v
}

// settle runs worker passes of svc until the session is no longer active.
func (e *env) settle(svc *signsession.Service, sessionID string, actor *document.User) *signsession.Session {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e.must(svc.RunOnce(ctx))
		s, err := svc.Get(ctx, as(actor), sessionID)
		e.must(err)
		if !s.State.Active() {
			return s
		}
		if time.Now().After(deadline) {
			st, _ := e.db.SigningSession(ctx, sessionID)
			lc, _ := e.db.LeaseCounts(ctx, svc.Node(), time.Now())
			e.t.Fatalf("session %s still %s (next poll %v, attempts %d, tx %q; leases %+v)", sessionID, s.State, st.NextPollAt, st.Attempts, st.ProviderTxID, lc)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := document.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want %q", err, got, code)
	}
}

func countKind(vs []*document.Version, k document.VersionKind) int {
	n := 0
	for _, v := range vs {
		if v.Kind == k {
			n++
		}
	}
	return n
}

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(signtest.CorpusFileNamed(t, name).Path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
