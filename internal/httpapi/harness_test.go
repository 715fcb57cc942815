package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/evidence"
	"vanban/internal/httpapi"
	"vanban/internal/interchange"
	"vanban/internal/lookup"
	"vanban/internal/notify"
	"vanban/internal/records"
	"vanban/internal/reports"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/workflow"
	"vanban/signing"
	"vanban/signing/verify"
	"vanban/storage/local"
)

// testParams make password hashing cheap; production uses
// auth.DefaultParams.
var testParams = auth.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "mật-khẩu-thử-nghiệm"

// env is a running API over a real database and blob store with two
// organizations: A (root, office VP, finance TC) and B (root only), and a
// user for every role in each.
type env struct {
	t      *testing.T
	db     *store.DB
	srv    *httptest.Server
	api    *httpapi.API
	orgA   *document.Organization
	orgB   *document.Organization
	office *document.Unit // A's VP
	fin    *document.Unit // A's TC
	users  map[string]*document.User
	tokens map[string]string
	// blobDir is the local blob store's directory, to see what uploads
	// left behind.
	blobDir string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// noRoots validates without trust anchors: enough to check integrity.
type noRoots struct{ blobs *local.Store }

func (v noRoots) Validate(ctx context.Context, key string) (*verify.Report, error) {
	f, err := v.blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return verify.Verify(ctx, f, f.Size(), verify.Options{})
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	blobDir := filepath.Join(t.TempDir(), "blobs")
	blobs, err := local.New(blobDir, local.Options{LinkSecret: bytes.Repeat([]byte("k"), 32), LinkBaseURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	wf := workflow.New[*store.Tx](db, nil)
	wf.Validator = noRoots{blobs}
	e := &env{t: t, db: db, users: map[string]*document.User{}, tokens: map[string]string{}, blobDir: blobDir}
	e.api = &httpapi.API{
		Workflow: wf, Directory: db, Blobs: blobs,
		Signing:   signsession.New(db, wf, blobs, map[string]signing.Provider{}, signsession.Options{Logger: quiet()}),
		Providers: []string{"sim", "seal"},
		Secret:    bytes.Repeat([]byte("s"), 32), Logger: quiet(), Passwords: testParams,
		Oversight: httpapi.Oversight{Reports: reports.New(db), Notifications: db, Hub: notify.NewHub(), Lookup: lookup.New(db)},
		Exchange:  interchange.New[*store.Tx](db, interchange.Options{Blobs: blobs, Incoming: wf, Logger: quiet()}),
		Records:   db, RecordFiles: records.New(db, wf, blobs, nil, quiet()),
		Evidence: &evidence.Builder{Workflow: wf, Audit: db, Blobs: blobs, Validator: noRoots{blobs}},
	}
	r := httpapi.NewRouter(httpapi.Options{Logger: quiet()})
	e.api.Mount(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)

	e.orgA = &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}
	e.must(db.CreateOrganization(ctx, e.orgA))
	e.office = &document.Unit{ParentID: e.orgA.ID, Abbrev: "VP", Name: "Văn phòng"}
	e.must(db.CreateUnit(ctx, e.office))
	e.fin = &document.Unit{ParentID: e.orgA.ID, Abbrev: "TC", Name: "Tài chính - Kế hoạch"}
	e.must(db.CreateUnit(ctx, e.fin))
	e.orgB = &document.Organization{Abbrev: "SYT", Name: "Sở Y tế", Place: "Thành Long"}
	e.must(db.CreateOrganization(ctx, e.orgB))
	for _, r := range document.Roles {
		unit := e.orgA.ID
		if r == document.RoleDrafter {
			unit = e.office.ID
		}
		e.user("A."+string(r), e.orgA, unit, r)
		e.user("B."+string(r), e.orgB, e.orgB.ID, r)
	}
	e.user("A.drafter-tc", e.orgA, e.fin.ID, document.RoleDrafter)
	return e
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// user creates a user with a password and an API token.
func (e *env) user(key string, org *document.Organization, unitID string, role document.Role) *document.User {
	e.t.Helper()
	ctx := context.Background()
	u := &document.User{OrgID: org.ID, Username: strings.ReplaceAll(key, ".", "-") + "-" + org.ID[:6], FullName: "Người dùng " + key, Title: "Chuyên viên"}
	e.must(e.db.CreateUser(ctx, u))
	e.must(e.db.GrantRole(ctx, u.ID, unitID, role))
	h, err := auth.HashPassword(testPassword, testParams)
	e.must(err)
	e.must(e.db.SetPasswordHash(ctx, u.ID, h))
	tok, hash, err := auth.NewToken(auth.APITokenPrefix)
	e.must(err)
	e.must(e.db.CreateAPIToken(ctx, &store.APIToken{TokenHash: hash, UserID: u.ID, Name: "test"}))
	e.users[key], e.tokens[key] = u, tok
	return u
}

// call makes a request as the user named by key ("" for nobody) and
// returns the status and body.
func (e *env) call(key, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		e.must(err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	e.must(err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[key])
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) (int, []byte) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	e.must(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	e.must(err)
	return resp.StatusCode, b
}

// ok makes a call that must answer want, decoding the body into out.
func (e *env) ok(key, method, path string, body any, want int, out any) {
	e.t.Helper()
	code, b := e.call(key, method, path, body)
	if code != want {
		e.t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, key, code, want, b)
	}
	if out != nil {
		e.must(json.Unmarshal(b, out))
	}
}

// upload posts a multipart request with an optional metadata part.
func (e *env) upload(key, path string, meta any, name string, file []byte) (int, []byte) {
	e.t.Helper()
	return e.uploadAs(key, http.MethodPost, path, meta, name, file)
}

// uploadAs sends a multipart request with method (PUT for images).
func (e *env) uploadAs(key, method, path string, meta any, name string, file []byte) (int, []byte) {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if meta != nil {
		w, err := mw.CreateFormField("metadata")
		e.must(err)
		e.must(json.NewEncoder(w).Encode(meta))
	}
	if file != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
		h.Set("Content-Type", "application/pdf")
		w, err := mw.CreatePart(h)
		e.must(err)
		_, err = w.Write(file)
		e.must(err)
	}
	e.must(mw.Close())
	req, err := http.NewRequest(method, e.srv.URL+path, &buf)
	e.must(err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[key])
	}
	return e.send(req)
}

func samplePDF(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/corpus/libreoffice-writer.pdf")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// draft creates an outgoing draft in A's office as A.drafter.
func (e *env) draft(subject string, conf document.Confidentiality) httpapi.DocumentJSON {
	e.t.Helper()
	code, b := e.upload("A.drafter", "/api/v1/documents", httpapi.DraftCreate{UnitID: e.office.ID, Type: document.TypeQuyetDinh,
		Subject: subject, Confidentiality: conf}, "du-thao.pdf", samplePDF(e.t))
	if code != http.StatusCreated {
		e.t.Fatalf("create draft: %d %s", code, b)
	}
	var d httpapi.DocumentJSON
	e.must(json.Unmarshal(b, &d))
	return d
}

// browser is a cookie-carrying client, as a person's browser is.
func (e *env) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	e.must(err)
	return &http.Client{Jar: jar}
}
