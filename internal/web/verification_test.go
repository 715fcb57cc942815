package web_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vanban/internal/admin"
	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/web"
	"vanban/internal/workflow"
	"vanban/signing/devpki"
	"vanban/signing/pades"
	"vanban/signing/verify"
	"vanban/storage/local"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var testParams = auth.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "mật-khẩu-thử-nghiệm"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// devPKI is a development PKI served over HTTP (OCSP, CRLs, TSA).
func devPKI(t *testing.T) *devpki.PKI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := devpki.New("http://"+ln.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: p.Handler()}}
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

func issue(t *testing.T, p *devpki.PKI, cn, org string, u devpki.Usage) (crypto.Signer, []*x509.Certificate) {
	t.Helper()
	k, ch, err := p.IssueSigner(cn, org, devpki.KeyP256, u)
	if err != nil {
		t.Fatal(err)
	}
	return k, ch
}

// leaderFilledSealed is what another organization's vanban sends: the
// leader's certification (P=2) by a mobile-signing certificate whose common
// name is the subscriber's number, the number and date filled in, then the
// organization's seal.
func leaderFilledSealed(t *testing.T, p *devpki.PKI) []byte {
	t.Helper()
	ctx := context.Background()
	src, err := os.ReadFile("../../testdata/corpus/libreoffice-writer.pdf")
	if err != nil {
		t.Fatal(err)
	}
	lk, lch := issue(t, p, "Thuê bao 0912345678", "Sở Y tế", devpki.Person)
	sk, sch := issue(t, p, "Sở Y tế tỉnh Thành Long", "Sở Y tế", devpki.Organization)
	var leader bytes.Buffer
	if err := pades.Sign(ctx, bytes.NewReader(src), int64(len(src)), &leader, lk, lch, pades.Options{Level: pades.LevelBB, Chain: lch,
		Certify: 2, FieldName: "LanhDao", Name: "Nguyễn Văn Quyết", Reason: "Ký ban hành",
		Appearance: &pades.Appearance{Page: 1, Rect: pades.Rect{LLX: 330, LLY: 120, URX: 530, URY: 200}, Lines: []string{"Nguyễn Văn Quyết"}},
		Fields: []pades.ExtraField{
			{Name: "SoVanBan", Kind: pades.TextField, Page: 1, Rect: pades.Rect{LLX: 60, LLY: 740, URX: 260, URY: 760}, FontSize: 13},
			{Name: "DauCoQuan", Kind: pades.SignatureField, Page: 1, Rect: pades.Rect{LLX: 280, LLY: 110, URX: 400, URY: 230}},
		}}); err != nil {
		t.Fatal(err)
	}
	var filled bytes.Buffer
	if err := pades.FillFields(ctx, bytes.NewReader(leader.Bytes()), int64(leader.Len()), &filled, map[string]string{"SoVanBan": "Số: 05/SYT-VP"}); err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	if err := pades.Sign(ctx, bytes.NewReader(filled.Bytes()), int64(filled.Len()), &sealed, sk, sch, pades.Options{Level: pades.LevelBB, Chain: sch,
		FieldName: "DauCoQuan"}); err != nil {
		t.Fatal(err)
	}
	return sealed.Bytes()
}

// blobValidator validates stored PDFs against the PKI's roots, asking its
// responders.
type blobValidator struct {
	blobs *local.Store
	roots *x509.CertPool
}

func (v blobValidator) Validate(ctx context.Context, key string) (*verify.Report, error) {
	f, err := v.blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return verify.Verify(ctx, f, f.Size(), verify.Options{Roots: v.roots, Online: true})
}

type site struct {
	t   *testing.T
	db  *store.DB
	srv *httptest.Server
	org *document.Organization
}

func newSite(t *testing.T, db *store.DB, p *devpki.PKI, cache string) *site {
	t.Helper()
	blobs, err := local.New(filepath.Join(t.TempDir(), "blobs"), local.Options{LinkSecret: bytes.Repeat([]byte("k"), 32), LinkBaseURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	wf := workflow.New[*store.Tx](db, nil)
	wf.Validator = blobValidator{blobs, p.Roots()}
	api := &httpapi.API{Workflow: wf, Directory: db, Blobs: blobs, Secret: bytes.Repeat([]byte("s"), 32), Logger: quiet(), Passwords: testParams}
	r := httpapi.NewRouter(httpapi.Options{Logger: quiet()})
	api.Mount(r)
	w, err := web.New(web.Options{Workflow: wf, Auth: api, Admin: &admin.Service{DB: db, Passwords: testParams, Logger: quiet()}, Blobs: blobs, CacheDir: cache, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	w.Mount(r)
	s := &site{t: t, db: db, srv: httptest.NewServer(r)}
	t.Cleanup(s.srv.Close)
	s.org = &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân xã Thành Long", Place: "Thành Long"}
	s.must(db.CreateOrganization(context.Background(), s.org))
	return s
}

func (s *site) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

// person creates a user with role at the organization's root and returns a
// signed-in browser.
func (s *site) person(username string, role document.Role) *browser {
	s.t.Helper()
	ctx := context.Background()
	u := &document.User{OrgID: s.org.ID, Username: username, FullName: "Người " + username, Title: "Chuyên viên"}
	s.must(s.db.CreateUser(ctx, u))
	s.must(s.db.GrantRole(ctx, u.ID, s.org.ID, role))
	h, err := auth.HashPassword(testPassword, testParams)
	s.must(err)
	s.must(s.db.SetPasswordHash(ctx, u.ID, h))
	jar, _ := cookiejar.New(nil)
	b := &browser{t: s.t, base: s.srv.URL, c: &http.Client{Jar: jar}}
	page := b.get("/login")
	tok := field(s.t, page, "login_token")
	code, body := b.postForm("/login", url.Values{"username": {username}, "password": {testPassword}, "login_token": {tok}})
	if code != http.StatusOK || strings.Contains(body, `name="login_token"`) {
		s.t.Fatalf("sign-in of %s: %d %s", username, code, text(body))
	}
	return b
}

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (b *browser) get(path string) string {
	b.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	return string(body)
}

func (b *browser) postForm(path string, v url.Values) (int, string) {
	b.t.Helper()
	res, err := b.c.PostForm(b.base+path, v)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func field(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in the page", name)
	}
	return m[1]
}

// text is a page without its tags, for checking what a reader sees.
func text(page string) string {
	return html.UnescapeString(strings.Join(strings.Fields(regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(page, " ")), " "))
}

func TestVerificationPages(t *testing.T) {
	p := devPKI(t)
	received := leaderFilledSealed(t, p)
	cache := t.TempDir() // the compiled renderer, shared by both databases
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, p, cache)
		clerk := s.person("van-thu", document.RoleClerk)
		leader := s.person("lanh-dao", document.RoleSigner)

		// The clerk registers the received PDF through the web form; the
		// workflow verifies it on receipt.
		form := clerk.get("/incoming/new")
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		// The CSRF token comes first: the upload is checked before any
		// file is stored.
		for _, kv := range [][2]string{{"csrf_token", field(t, form, "csrf_token")}, {"sender", "Sở Y tế"}, {"symbol", "05/SYT-VP"},
			{"type", document.TypeCongVan}, {"subject", "Về việc phòng chống dịch"}, {"sender_date", "24/11/2026"}} {
			s.must(mw.WriteField(kv[0], kv[1]))
		}
		fw, err := mw.CreateFormFile("file", "cv.pdf")
		s.must(err)
		_, _ = fw.Write(received)
		s.must(mw.Close())
		res, err := clerk.c.Post(s.srv.URL+"/incoming/new", mw.FormDataContentType(), &body)
		s.must(err)
		res.Body.Close()
		id := strings.TrimPrefix(res.Request.URL.Path, "/d/")
		if res.StatusCode != http.StatusOK || strings.Contains(id, "/") || id == "" {
			t.Fatalf("registration ended at %s: %d", res.Request.URL, res.StatusCode)
		}
		kept, err := db.Verifications(context.Background(), id)
		s.must(err)
		if len(kept) != 1 || kept[0].Indication != string(verify.TotalPassed) {
			t.Fatalf("kept on receipt: %+v", kept)
		}

		// The document page shows the kept verdict and a button to re-run.
		doc := text(leader.get("/d/" + id))
		if !strings.Contains(doc, "Kiểm tra chữ ký v1: ✔ Hợp lệ") || !strings.Contains(leader.get("/d/"+id), `id="doc-verify-again"`) {
			t.Fatalf("document page: %s", doc)
		}

		// The verification page: names, not DNs or subscriber numbers;
		// a sentence on the later changes; each object with its rule.
		page := leader.get("/d/" + id + "/v/1/verify")
		seen := text(page)
		for _, want := range []string{
			"Nguyễn Văn Quyết", "Sở Y tế tỉnh Thành Long",
			"Các thay đổi sau khi ký đều được phép: điền số, ngày và các trường biểu mẫu; thêm chữ ký (của cơ quan, dấu thời gian)",
			"Không có thay đổi nào sau khi ký: chữ ký bao trùm toàn bộ tệp.",
			"Cấp bởi: Vanban Dev Issuing CA", "điền trường chưa khóa", "trường và ô chữ ký", "Chữ ký chứng thực",
			`trường "SoVanBan" được điền`, `trường chữ ký "DauCoQuan" được ký`,
		} {
			if !strings.Contains(seen, want) {
				t.Errorf("verification page lacks %q:\n%s", want, seen)
			}
		}
		headings := regexp.MustCompile(`<h2 class="signer">([^<]*)</h2>`).FindAllStringSubmatch(page, -1)
		if len(headings) != 2 || headings[0][1] != "Nguyễn Văn Quyết" || headings[1][1] != "Sở Y tế tỉnh Thành Long" {
			t.Errorf("signer headings %q", headings)
		}
		for _, raw := range []string{"CN=", "O=", "form-fill", "no rule", "signatures", "filled", "used by", "changed after signing"} {
			if strings.Contains(seen, raw) {
				t.Errorf("verification page shows %q:\n%s", raw, seen)
			}
		}

		// In English, the same facts.
		leader.get("/lang/en")
		en := text(leader.get("/d/" + id + "/v/1/verify"))
		for _, want := range []string{"The changes after signing are all permitted: filling in the number, the date and form fields",
			"fill of an unlocked field", "Issued by: Vanban Dev Issuing CA", "Verify again"} {
			if !strings.Contains(en, want) {
				t.Errorf("English page lacks %q:\n%s", want, en)
			}
		}

		// Re-running keeps a second report; the first stays.
		code, _ := leader.postForm("/d/"+id+"/v/1/verify", url.Values{"csrf_token": {field(t, page, "csrf_token")}})
		if code != http.StatusOK {
			t.Fatalf("re-run: %d", code)
		}
		kept2, err := db.Verifications(context.Background(), id)
		s.must(err)
		if len(kept2) != 2 || kept2[0].ID != kept[0].ID {
			t.Fatalf("after re-run: %+v", kept2)
		}
		if code, _ := leader.postForm("/d/"+id+"/v/1/verify", url.Values{"csrf_token": {"forged"}}); code != http.StatusForbidden {
			t.Errorf("re-run without the CSRF token: %d", code)
		}
		if code, _ := leader.postForm("/d/"+id+"/v/x/verify", url.Values{"csrf_token": {field(t, page, "csrf_token")}}); code != http.StatusNotFound {
			t.Errorf("re-run of version x: %d", code)
		}
	})
}
