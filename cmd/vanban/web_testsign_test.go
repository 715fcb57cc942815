package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"vanban/internal/admin"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/signing/smartca/smartcasim"
)

var testSignURLRE = regexp.MustCompile(`^/admin/test-signing/[0-9a-f]+/([0-9a-f]{32})$`)

// TestWebTestSigning: the leader's signing identity offers every
// configured provider, and its "Ký thử / Test signing" button signs a
// dummy digest through the leader's provider: with the development key
// file (synchronous) the page shows the certificate and the verified
// signature at once; with the embedded SmartCA simulator the page is
// pending, names the static script that follows it, and after the
// confirmation on the virtual phone shows the certificate of the SmartCA
// user and the verified signature; a declining user ends failed. The API
// answers the same test, and the audit log has its start and outcome.
func TestWebTestSigning(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	web := o.webSignIn(t, "admin", officeAdminPass)
	leader := o.ids["chutich"]
	page := web.get("/admin/users/" + leader)
	var offered []string
	for _, m := range optionRE.FindAllStringSubmatch(page, -1) {
		offered = append(offered, m[1])
	}
	for _, p := range []string{"sim", "seal", "smartca", "mysign", "esigncloud", "vgca"} {
		if !slices.Contains(offered, p) {
			t.Errorf("the signing identity does not offer %s: %q", p, offered)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("the person's page has an inline script")
	}

	setIdentity := func(provider, signer string) {
		t.Helper()
		page := web.get("/admin/users/" + leader)
		_, csrf := formOf(t, page, "/admin/users/"+leader+"/signing")
		web.submit("/admin/users/"+leader+"/signing", url.Values{"csrf_token": {csrf}, "provider": {provider}, "signer": {signer}},
			"/admin/users/"+leader)
	}
	// testSign presses the button and returns the test page's path.
	testSign := func() string {
		t.Helper()
		page := web.get("/admin/users/" + leader)
		_, csrf := formOf(t, page, "/admin/test-signing/"+leader)
		resp, body := web.post("/admin/test-signing/"+leader, url.Values{"csrf_token": {csrf}})
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !testSignURLRE.MatchString(loc) {
			t.Fatalf("test signing: %d %q\n%.600s", resp.StatusCode, loc, text(body))
		}
		return loc
	}

	// The development key file, not the organization's seal here.
	setIdentity("seal", "")
	page = web.get(testSign())
	wantText(t, "the key file's test page", page, "Chữ ký hợp lệ", "Chứng thư số", "Văn phòng thử nghiệm vanban")
	if !strings.Contains(page, `id="ts-serial"`) || !strings.Contains(page, `id="ts-issuer"`) || strings.Contains(page, `id="ts-pending"`) {
		t.Errorf("the key file's test page lacks the certificate or is pending:\n%.2000s", text(page))
	}

	// SmartCA: pending until the phone confirms.
	const user = "001077023456"
	setIdentity("smartca", user)
	path := testSign()
	page = web.get(path)
	if !strings.Contains(page, `id="ts-pending"`) || !strings.Contains(page, `src="/static/testsign.js"`) || !strings.Contains(page, `id="ts-refresh"`) {
		t.Fatalf("the SmartCA test page is not pending:\n%.2000s", text(page))
	}
	wantText(t, "the pending SmartCA test page", page, "Người dùng "+user)
	phone := o.s.URL + "/dev/smartca/phone/" + user
	var st smartcasim.PhoneState
	code, body := httpGet(t, phone+"/status")
	if code != 200 || json.Unmarshal(body, &st) != nil || st.Pending == nil {
		t.Fatalf("no test request on the SmartCA phone: %d %s", code, body)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).PostForm(phone+"/confirm", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for page = web.get(path); strings.Contains(page, `id="ts-pending"`); page = web.get(path) {
		if time.Now().After(deadline) {
			t.Fatal("the SmartCA test stayed pending after the confirmation")
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantText(t, "the SmartCA test page", page, "Chữ ký hợp lệ", "Người dùng "+user)
	if strings.Contains(page, `src="/static/testsign.js"`) && strings.Contains(page, `data-state="pending"`) {
		t.Error("the finished page still follows the request")
	}

	// The same over the API, with a declining scenario user.
	var api httpapi.SigningIdentityJSON
	if err := o.admin.call(ctx, "PUT", "/api/v1/users/"+leader+"/signing-identity",
		httpapi.SigningIdentityJSON{Provider: "smartca", Signer: smartcasim.ScenarioUser(smartcasim.ScenarioDecline)}, &api); err != nil {
		t.Fatal(err)
	}
	var ts admin.TestSign
	if err := o.admin.call(ctx, "POST", "/api/v1/users/"+leader+"/signing-identity/test", nil, &ts); err != nil {
		t.Fatal(err)
	}
	if ts.State != admin.TestPending || ts.Certificate == nil || ts.Certificate.Serial == "" {
		t.Fatalf("API test start: %+v", ts)
	}
	deadline = time.Now().Add(30 * time.Second)
	for ts.State == admin.TestPending {
		if time.Now().After(deadline) {
			t.Fatal("the declined test stayed pending")
		}
		time.Sleep(200 * time.Millisecond)
		if err := o.admin.call(ctx, "GET", "/api/v1/users/"+leader+"/signing-identity/test/"+ts.ID, nil, &ts); err != nil {
			t.Fatal(err)
		}
	}
	if ts.State != admin.TestFailed || ts.FailureKind != "declined" {
		t.Fatalf("a declined test ended %s %s %s", ts.State, ts.FailureKind, ts.Failure)
	}
	// Somebody else's test is not found, and a clerk may not test.
	if err := o.admin.call(ctx, "GET", "/api/v1/users/"+o.ids["soan"]+"/signing-identity/test/"+ts.ID, nil, &ts); err == nil {
		t.Error("a test was found under another person")
	}
	if err := o.people["vanthu"].call(ctx, "POST", "/api/v1/users/"+leader+"/signing-identity/test", nil, nil); err == nil {
		t.Error("a clerk started a test signing of the leader")
	}

	db, err := store.Open(ctx, "sqlite:"+o.dataDir+"/vanban.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.AuditEntriesFor(ctx, "user", leader)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "signing.test.") {
			count[e.Action]++
		}
	}
	if count["signing.test.start"] != 3 || count["signing.test.verified"] != 2 || count["signing.test.failed"] != 1 {
		t.Errorf("audit of the test signings: %v", count)
	}
}
