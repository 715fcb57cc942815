package mssp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/etsi204"
	"vanban/signing/etsi204/wire"
	"vanban/signing/mssp"
)

const apID = "http://ap.vanban.test/"

func start(t *testing.T, opts mssp.Options) (*mssp.Server, *httptest.Server) {
	t.Helper()
	srv, err := mssp.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return srv, ts
}

func client(t *testing.T, base string) *etsi204.Client {
	t.Helper()
	c, err := etsi204.New(etsi204.Config{
		Endpoint: base + "/soap", CertLookupURL: base + "/certificates",
		APID: apID, APPassword: "pwd", PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startRequest sends a signature request for msisdn through the real
// client and returns the session with the digest it signs.
func startRequest(t *testing.T, c *etsi204.Client, msisdn, display string) (*signing.Session, signing.Request, *x509.Certificate) {
	t.Helper()
	chain, err := c.Certificates(context.Background(), msisdn)
	if err != nil {
		t.Fatal(err)
	}
	alg, _ := signing.AlgorithmFor(chain[0])
	d := sha256.Sum256([]byte(msisdn + time.Now().String()))
	req := signing.Request{SignerID: msisdn, Digest: d[:], Hash: crypto.SHA256, Algorithm: alg, DisplayText: display}
	sess, err := c.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return sess, req, chain[0]
}

func outcome(t *testing.T, c *etsi204.Client, sess *signing.Session) (*signing.Result, error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res, err := c.Poll(context.Background(), sess.TxID, 0)
		if err != nil {
			return nil, err
		}
		switch res.Status {
		case signing.StatusSigned:
			return res, nil
		case signing.StatusFailed:
			return res, res.Err
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("still pending")
	return nil, nil
}

// browser is an HTTP client that shows redirects instead of following them
// and keeps cookies, as a browser does.
var browser = newBrowser()

func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getPage(t *testing.T, u string) string {
	t.Helper()
	return getPageWith(t, browser, u)
}

func getPageWith(t *testing.T, b *http.Client, u string) string {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET %s: content type %q", u, ct)
	}
	return string(body)
}

// postStatus posts a form and returns the status and the redirect.
func postStatus(t *testing.T, b *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := b.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func post(t *testing.T, u string, form url.Values) string {
	t.Helper()
	code, loc := postStatus(t, browser, u, form)
	if code != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303", u, code)
	}
	return loc
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="(k|csrf)" value="([^"]*)">`)

// formOf returns the hidden fields (k, csrf) of a phone page's PIN form.
func formOf(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, 2) {
		v.Set(m[1], m[2])
	}
	if v.Get("k") == "" || v.Get("csrf") == "" {
		t.Fatalf("the page has no PIN form with its key and CSRF token:\n%s", page)
	}
	return v
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for key, vals := range v {
		out[key] = vals
	}
	out.Set(k, val)
	return out
}

func mustContain(t *testing.T, page string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(page, p) {
			t.Fatalf("page lacks %q:\n%s", p, page)
		}
	}
}

func TestPhonePageApprove(t *testing.T) {
	srv, ts := start(t, mssp.Options{})
	c := client(t, ts.URL)
	const msisdn = "84912000001"
	phone := ts.URL + "/phone/" + msisdn

	mustContain(t, getPage(t, phone), "Không có yêu cầu nào đang chờ", "No pending request", mssp.DevelopmentMarker)

	sess, req, cert := startRequest(t, c, msisdn, "Ký Quyết định 7/QĐ-UBND <khẩn>")
	link := ts.URL + srv.PhoneLink(msisdn, msspTx(t, sess))
	page := getPage(t, link)
	mustContain(t, page, "Yêu cầu ký số", "Signature request", mssp.DevelopmentMarker,
		"Ký Quyết định 7/QĐ-UBND &lt;khẩn&gt;", // display text, escaped
		`id="code">`+sess.VerificationCode+"<", "Mã xác minh", "Verification code",
		`action="/phone/`+msisdn+`/pin"`, `action="/phone/`+msisdn+`/decline"`, "còn 3 lần")
	if strings.Contains(page, "<khẩn>") {
		t.Fatal("display text is not escaped")
	}
	for _, external := range []string{"http://", "https://", "src=\"//"} {
		if strings.Contains(page, external) {
			t.Fatalf("page loads something external (%q)", external)
		}
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(page) {
		t.Fatalf("the page has an inline script:\n%s", page)
	}
	resp, err := http.Get(phone)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline'; style") && strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("CSP %q", csp)
	}
	if js := getScript(t, ts.URL+"/phone/phone.js"); !strings.Contains(js, "/status") {
		t.Errorf("phone.js does not poll the status:\n%s", js)
	}

	// The JSON the page's script polls, with the link's key.
	var st mssp.PhoneState
	getJSON(t, phone+"/status?k="+srv.PhoneKey(msisdn, msspTx(t, sess)), &st)
	if st.Pending == nil || st.Pending.VerificationCode != sess.VerificationCode || st.TriesLeft != 3 || st.Blocked {
		t.Fatalf("status %+v", st)
	}

	loc := post(t, phone+"/pin", with(formOf(t, page), "pin", "1234"))
	if loc != "/phone/"+msisdn+"?r=signed" {
		t.Fatalf("redirect to %q", loc)
	}
	mustContain(t, getPage(t, ts.URL+loc), "Đã ký thành công", "Signed.", "No pending request")

	res, err := outcome(t, c, sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cert.Subject.OrganizationalUnit, mssp.DevelopmentMarker) {
		t.Errorf("the SIM certificate's subject %q does not say development", cert.Subject)
	}
}

func getScript(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET %s: %s %s", u, resp.Status, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// The probe: anyone could open /phone/<number> without login, read the
// pending request and sign it with the default PIN, or block the SIM with
// three wrong ones.
func TestPhonePageAnonymous(t *testing.T) {
	srv, ts := start(t, mssp.Options{})
	c := client(t, ts.URL)
	const msisdn = "84912000007"
	phone := ts.URL + "/phone/" + msisdn
	sess, _, _ := startRequest(t, c, msisdn, "Ký Quyết định mật 12/QĐ")

	// Anonymous GET shows no pending request, nor its text or code; the
	// status JSON neither; a wrong key is no better than none.
	for _, u := range []string{phone, phone + "?k=00112233445566778899aabbccddeeff", phone + "?k=" + srv.PhoneKey(msisdn, "another-tx")} {
		page := getPageWith(t, newBrowser(), u)
		mustContain(t, page, "No pending request", mssp.DevelopmentMarker)
		for _, leak := range []string{"Ký Quyết định mật", sess.VerificationCode, `name="pin"`, msspTx(t, sess)} {
			if strings.Contains(page, leak) {
				t.Fatalf("GET %s shows %q:\n%s", u, leak, page)
			}
		}
	}
	var st mssp.PhoneState
	getJSON(t, phone+"/status", &st)
	if st.Pending != nil {
		t.Fatalf("anonymous status shows the request: %+v", st.Pending)
	}

	// A PIN posted without the link's key, or without the CSRF token, or
	// from another browser (a cross-site form carrying the key but not the
	// cookie) does not sign.
	legit := newBrowser()
	form := formOf(t, getPageWith(t, legit, ts.URL+srv.PhoneLink(msisdn, msspTx(t, sess))))
	attacks := map[string]struct {
		b    *http.Client
		form url.Values
	}{
		"no key, no CSRF":      {newBrowser(), url.Values{"pin": {"1234"}}},
		"no key":               {legit, with(with(form, "pin", "1234"), "k", "")},
		"no CSRF":              {legit, with(with(form, "pin", "1234"), "csrf", "")},
		"wrong CSRF":           {legit, with(with(form, "pin", "1234"), "csrf", strings.Repeat("0", 32))},
		"key, other browser":   {newBrowser(), with(form, "pin", "1234")},
		"key of another phone": {legit, with(with(form, "pin", "1234"), "k", srv.PhoneKey("84912000009", sess.TxID))},
	}
	for name, a := range attacks {
		code, loc := postStatus(t, a.b, phone+"/pin", a.form)
		if code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, code, loc)
		}
		if code, _ := postStatus(t, a.b, phone+"/decline", with(a.form, "pin", "")); code != http.StatusForbidden {
			t.Errorf("%s: decline %d, want 403", name, code)
		}
	}
	if _, ok := srv.Phone().Pending(msisdn); !ok {
		t.Fatal("the request is no longer pending after the forged posts")
	}

	// Three (or more) wrong anonymous PINs do not block the SIM.
	for i := 0; i < 5; i++ {
		postStatus(t, newBrowser(), phone+"/pin", url.Values{"pin": {"0000"}})
	}
	if st, _ := srv.Phone().State(msisdn); st.Blocked || st.TriesLeft != 3 {
		t.Fatalf("anonymous wrong PINs changed the SIM: %+v", st)
	}
	// The holder of the link still signs.
	if code, loc := postStatus(t, legit, phone+"/pin", with(form, "pin", "1234")); code != http.StatusSeeOther || !strings.HasSuffix(loc, "?r=signed") {
		t.Fatalf("the link's holder: %d, redirect to %q", code, loc)
	}
	if _, err := outcome(t, c, sess); err != nil {
		t.Fatal(err)
	}
}

func TestPhonePageThreeWrongPINs(t *testing.T) {
	srv, ts := start(t, mssp.Options{DefaultPIN: "9999"})
	c := client(t, ts.URL)
	const msisdn = "84912000003"
	phone := ts.URL + "/phone/" + msisdn
	sess, _, _ := startRequest(t, c, msisdn, "Ký Công văn 3/UBND-VP")
	form := formOf(t, getPage(t, ts.URL+srv.PhoneLink(msisdn, msspTx(t, sess))))

	for tries := 2; tries >= 1; tries-- {
		loc := post(t, phone+"/pin", with(form, "pin", "1234"))
		if !strings.Contains(loc, "?r=wrong-pin") {
			t.Fatalf("redirect to %q", loc)
		}
		page := getPage(t, ts.URL+loc)
		mustContain(t, page, "Sai mã PIN", "Wrong PIN", "còn "+string(rune('0'+tries))+" lần")
	}
	loc := post(t, phone+"/pin", with(form, "pin", "0000"))
	if !strings.HasSuffix(loc, "?r=blocked") {
		t.Fatalf("third wrong PIN redirects to %q", loc)
	}
	mustContain(t, getPage(t, ts.URL+loc), "SIM đã bị khóa", "The SIM is blocked")

	_, err := outcome(t, c, sess)
	if signing.KindOf(err) != signing.KindPINBlocked {
		t.Fatalf("outcome %v, want pin_blocked", err)
	}
	// Even the right PIN does nothing now, and new requests are refused.
	if loc := post(t, phone+"/pin", with(form, "pin", "9999")); !strings.HasSuffix(loc, "?r=no-pending") {
		t.Fatalf("right PIN on a blocked SIM redirects to %q", loc)
	}
	chain, _ := c.Certificates(context.Background(), msisdn)
	alg, _ := signing.AlgorithmFor(chain[0])
	d := sha256.Sum256([]byte("again"))
	_, err = c.Start(context.Background(), signing.Request{SignerID: msisdn, Digest: d[:], Hash: crypto.SHA256, Algorithm: alg})
	if signing.KindOf(err) != signing.KindPINBlocked {
		t.Fatalf("request to a blocked SIM: %v", err)
	}
}

func TestPhonePageDecline(t *testing.T) {
	srv, ts := start(t, mssp.Options{})
	c := client(t, ts.URL)
	const msisdn = "84912000005"
	sess, _, _ := startRequest(t, c, msisdn, "Ký Tờ trình 9")
	form := formOf(t, getPage(t, ts.URL+srv.PhoneLink(msisdn, msspTx(t, sess))))
	loc := post(t, ts.URL+"/phone/"+msisdn+"/decline", form)
	mustContain(t, getPage(t, ts.URL+loc), "Đã từ chối yêu cầu", "Request declined")
	if _, err := outcome(t, c, sess); signing.KindOf(err) != signing.KindDeclined {
		t.Fatalf("outcome %v, want declined", err)
	}
	// Nothing left to decline.
	if loc := post(t, ts.URL+"/phone/"+msisdn+"/decline", form); !strings.HasSuffix(loc, "?r=no-pending") {
		t.Fatalf("second decline redirects to %q", loc)
	}
}

func TestPhonePageBadNumber(t *testing.T) {
	_, ts := start(t, mssp.Options{})
	for _, u := range []string{"/phone/abc", "/phone/123", "/phone/abc/status"} {
		resp, err := http.Get(ts.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", u, resp.Status)
		}
	}
}

// soap posts a raw envelope and decodes the answer.
func soap(t *testing.T, base string, v wire.SOAPVersion, wrapper string, body any, respName string, resp any) error {
	t.Helper()
	b, err := wire.Envelope(v, wrapper, body)
	if err != nil {
		t.Fatal(err)
	}
	return soapRaw(t, base, b, respName, resp)
}

func soapRaw(t *testing.T, base string, b []byte, respName string, resp any) error {
	t.Helper()
	hr, err := http.Post(base+"/soap", "text/xml; charset=utf-8", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer hr.Body.Close()
	_, _, err = wire.Decode(hr.Body, map[string]any{respName: resp})
	return err
}

func faultCode(t *testing.T, err error) int {
	t.Helper()
	var f *wire.Fault
	if !errors.As(err, &f) {
		t.Fatalf("want a SOAP fault, got %v", err)
	}
	return f.Subcode
}

func validReq(msisdn string) wire.SignatureReq {
	d := sha256.Sum256([]byte("x"))
	di, _ := wire.DigestInfo(crypto.SHA256, d[:])
	return wire.SignatureReq{
		MajorVersion: "1", MinorVersion: "1", MessagingMode: wire.ModeAsynchClientServer, TimeOut: "60",
		APInfo:         wire.APInfo{APID: apID, APTransID: "T-" + msisdn, APPWD: "pwd", Instant: wire.Instant(time.Now())},
		MobileUser:     wire.MobileUser{MSISDN: msisdn},
		DataToBeSigned: wire.Data{MimeType: "application/octet-stream", Encoding: "base64", Value: base64.StdEncoding.EncodeToString(di)},
		MSSFormat:      &wire.MssURI{URI: wire.FormatPKCS1URI},
	}
}

func TestProtocolErrors(t *testing.T) {
	_, ts := start(t, mssp.Options{APs: map[string]string{apID: "pwd"}, MSSPID: "http://mssp.test/"})
	cases := []struct {
		name   string
		mutate func(*wire.SignatureReq)
		code   int
	}{
		{"wrong password", func(r *wire.SignatureReq) { r.APInfo.APPWD = "nope" }, wire.StatusUnauthorizedAccess},
		{"unknown AP", func(r *wire.SignatureReq) { r.APInfo.APID = "http://other/" }, wire.StatusUnauthorizedAccess},
		{"no AP_TransID", func(r *wire.SignatureReq) { r.APInfo.APTransID = "" }, wire.StatusMissingParam},
		{"no MSISDN", func(r *wire.SignatureReq) { r.MobileUser.MSISDN = "" }, wire.StatusMissingParam},
		{"bad MSISDN", func(r *wire.SignatureReq) { r.MobileUser.MSISDN = "84-91" }, wire.StatusWrongParam},
		{"other MSSP", func(r *wire.SignatureReq) { r.MSSPInfo.MSSPID.URI = "http://elsewhere/" }, wire.StatusWrongParam},
		{"server-server mode", func(r *wire.SignatureReq) { r.MessagingMode = wire.ModeAsynchServerServer }, wire.StatusIncompatibleInterface},
		{"unknown mode", func(r *wire.SignatureReq) { r.MessagingMode = "later" }, wire.StatusWrongParam},
		{"no data", func(r *wire.SignatureReq) { r.DataToBeSigned.Value = "" }, wire.StatusMissingParam},
		{"text data", func(r *wire.SignatureReq) { r.DataToBeSigned.Encoding = "UTF-8" }, wire.StatusInappropriateData},
		{"bad base64", func(r *wire.SignatureReq) { r.DataToBeSigned.Value = "!!!" }, wire.StatusWrongParam},
		{"odd length", func(r *wire.SignatureReq) { r.DataToBeSigned.Value = "AAECAw==" }, wire.StatusWrongDataLength},
		{"unknown format", func(r *wire.SignatureReq) { r.MSSFormat.URI = "urn:xml-signature" }, wire.StatusWrongParam},
		{"bad timeout", func(r *wire.SignatureReq) { r.TimeOut = "-5" }, wire.StatusWrongParam},
		{"long display", func(r *wire.SignatureReq) {
			r.DataToBeDisplayed = &wire.Data{Value: strings.Repeat("á", 200)}
		}, wire.StatusWrongDataLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validReq("84913000001")
			c.mutate(&r)
			err := soap(t, ts.URL, wire.SOAP11, "MSS_Signature", &r, "MSS_SignatureResp", new(wire.SignatureResp))
			if got := faultCode(t, err); got != c.code {
				t.Fatalf("fault _%d, want _%d (%v)", got, c.code, err)
			}
		})
	}

	t.Run("not XML", func(t *testing.T) {
		err := soapRaw(t, ts.URL, []byte("hello"), "MSS_SignatureResp", new(wire.SignatureResp))
		if got := faultCode(t, err); got != wire.StatusWrongParam {
			t.Fatalf("fault _%d", got)
		}
	})
	t.Run("unknown transaction", func(t *testing.T) {
		sr := wire.StatusReq{MajorVersion: "1", MinorVersion: "1", MSSPTransID: "nope",
			APInfo: wire.APInfo{APID: apID, APTransID: "S1", APPWD: "pwd", Instant: wire.Instant(time.Now())}}
		err := soap(t, ts.URL, wire.SOAP12, "MSS_StatusQuery", &sr, "MSS_StatusResp", new(wire.StatusResp))
		if got := faultCode(t, err); got != wire.StatusWrongParam {
			t.Fatalf("fault _%d", got)
		}
	})
	t.Run("another AP's transaction", func(t *testing.T) {
		r := validReq("84913000003")
		var ack wire.SignatureResp
		if err := soap(t, ts.URL, wire.SOAP11, "MSS_Signature", &r, "MSS_SignatureResp", &ack); err != nil {
			t.Fatal(err)
		}
		if ack.Status.StatusCode.Value != wire.StatusRequestOK || ack.MSSPTransID == "" {
			t.Fatalf("ack %+v", ack)
		}
		var st wire.StatusResp
		sr := wire.StatusReq{MSSPTransID: ack.MSSPTransID, APInfo: wire.APInfo{APID: apID, APTransID: "S2", APPWD: "pwd"}}
		if err := soap(t, ts.URL, wire.SOAP11, "MSS_StatusQuery", &sr, "MSS_StatusResp", &st); err != nil {
			t.Fatal(err)
		}
		if st.Status.StatusCode.Value != wire.StatusOutstandingTransaction {
			t.Fatalf("status %d, want 504", st.Status.StatusCode.Value)
		}
	})
}

func TestCustomIssuer(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dev PKI root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	var calls atomic.Int32
	var gotEC atomic.Bool
	issuer := func(msisdn, cn string, ec bool) (crypto.Signer, []*x509.Certificate, error) {
		calls.Add(1)
		gotEC.Store(ec)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		leaf, _ := x509.ParseCertificate(der)
		return key, []*x509.Certificate{leaf, caCert}, nil
	}
	srv, ts := start(t, mssp.Options{Issuer: issuer, AutoApprove: true,
		Phones: map[string]mssp.PhoneConfig{"84914000001": {Name: "Nguyễn Văn A", Key: mssp.KeyEC}}})
	if srv.CACertificate() != nil {
		t.Error("CACertificate with an external issuer should be nil")
	}
	c := client(t, ts.URL)
	sess, req, cert := startRequest(t, c, "84914000001", "Ký")
	if cert.Subject.CommonName != "Nguyễn Văn A" || !gotEC.Load() {
		t.Fatalf("issued %q, ec=%v", cert.Subject.CommonName, gotEC.Load())
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: func() *x509.CertPool { p := x509.NewCertPool(); p.AddCert(caCert); return p }(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("SIM certificate does not chain to the plugged-in PKI: %v", err)
	}
	res, err := outcome(t, c, sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Certificates("84914000001"); err != nil || calls.Load() != 1 {
		t.Fatalf("issuer called %d times (err %v), want once per number", calls.Load(), err)
	}

	// An issuer whose certificate does not match its key is caught.
	bad := func(msisdn, cn string, ec bool) (crypto.Signer, []*x509.Certificate, error) {
		k, _, _ := issuer(msisdn, cn, ec)
		_, chain, _ := issuer(msisdn, cn, ec)
		return k, chain, nil
	}
	srv2, err := mssp.NewServer(mssp.Options{Issuer: bad})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv2.Certificates("84914000003"); err == nil {
		t.Fatal("mismatched issuer output accepted")
	}
}

func TestDevCAChain(t *testing.T) {
	srv, _ := start(t, mssp.Options{})
	for msisdn, alg := range map[string]x509.PublicKeyAlgorithm{"84915000002": x509.RSA, "84915000001": x509.ECDSA} {
		chain, err := srv.Certificates(msisdn)
		if err != nil {
			t.Fatal(err)
		}
		if chain[0].PublicKeyAlgorithm != alg {
			t.Errorf("%s: key %v, want %v", msisdn, chain[0].PublicKeyAlgorithm, alg)
		}
		roots := x509.NewCertPool()
		roots.AddCert(srv.CACertificate())
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: %v", msisdn, err)
		}
		if chain[0].KeyUsage&x509.KeyUsageContentCommitment == 0 {
			t.Errorf("%s: no non-repudiation key usage", msisdn)
		}
	}
	if _, err := srv.Certificates("12"); !errors.Is(err, mssp.ErrBadNumber) {
		t.Errorf("short number: %v", err)
	}
	if _, err := srv.Certificates(mssp.ScenarioMSISDN(mssp.ScenarioNoCertificate, true)); !errors.Is(err, mssp.ErrNoCertificate) {
		t.Errorf("no-certificate scenario: %v", err)
	}
}

func TestScenarioNumbers(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range mssp.Scenarios() {
		for _, ec := range []bool{true, false} {
			n := mssp.ScenarioMSISDN(s, ec)
			if len(n) != 11 || !strings.HasPrefix(n, "8490") || seen[n] {
				t.Errorf("%v: number %q", s, n)
			}
			seen[n] = true
			last := n[len(n)-1] - '0'
			if ec != (last%2 == 1) {
				t.Errorf("%v: %s does not follow the even=RSA, odd=EC rule", s, n)
			}
		}
		if s.String() == "none" {
			t.Errorf("scenario %d has no name", int(s))
		}
	}
}

func TestCloseFailsPending(t *testing.T) {
	srv, ts := start(t, mssp.Options{})
	c := client(t, ts.URL)
	sess, _, _ := startRequest(t, c, "84916000001", "Ký")
	srv.Close()
	if _, err := outcome(t, c, sess); signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("after Close: %v, want unavailable", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	for name, o := range map[string]mssp.Options{
		"client certs without CAs": {RequireClientCert: true},
		"relative path":            {SOAPPath: "soap"},
		"bad phone":                {Phones: map[string]mssp.PhoneConfig{"abc": {}}},
		"negative latency":         {Latency: -time.Second},
	} {
		if _, err := mssp.NewServer(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRetention(t *testing.T) {
	_, ts := start(t, mssp.Options{APs: map[string]string{apID: "pwd"}, AutoApprove: true, Retention: 50 * time.Millisecond})
	first := validReq("84917000001")
	var ack wire.SignatureResp
	if err := soap(t, ts.URL, wire.SOAP11, "MSS_Signature", &first, "MSS_SignatureResp", &ack); err != nil {
		t.Fatal(err)
	}
	status := func() error {
		sr := wire.StatusReq{MSSPTransID: ack.MSSPTransID, APInfo: wire.APInfo{APID: apID, APTransID: "S", APPWD: "pwd"}}
		var st wire.StatusResp
		err := soap(t, ts.URL, wire.SOAP11, "MSS_StatusQuery", &sr, "MSS_StatusResp", &st)
		if err == nil && st.Status.StatusCode.Value == wire.StatusOutstandingTransaction {
			return errors.New("pending")
		}
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for err := status(); err != nil; err = status() {
		if time.Now().After(deadline) {
			t.Fatalf("never signed: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	// The next request sweeps; the old transaction is gone.
	second := validReq("84917000003")
	if err := soap(t, ts.URL, wire.SOAP11, "MSS_Signature", &second, "MSS_SignatureResp", new(wire.SignatureResp)); err != nil {
		t.Fatal(err)
	}
	if code := faultCode(t, status()); code != wire.StatusWrongParam {
		t.Fatalf("status of a forgotten transaction: _%d, want _101", code)
	}
}

func TestIndexPage(t *testing.T) {
	_, ts := start(t, mssp.Options{})
	page := getPage(t, ts.URL+"/")
	mustContain(t, page, "Scenario numbers", mssp.ScenarioMSISDN(mssp.ScenarioDecline, true), mssp.ScenarioMSISDN(mssp.ScenarioWrongKey, false), "1234")
	resp, err := browser.Get(ts.URL + "/?msisdn=84912345678")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/phone/84912345678" {
		t.Fatalf("open phone: %s -> %q", resp.Status, resp.Header.Get("Location"))
	}
}

func TestCAIssuer(t *testing.T) {
	caKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Vanban Test Root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(der)

	issue, err := mssp.CAIssuer([]*x509.Certificate{ca}, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv, ts := start(t, mssp.Options{Issuer: issue, AutoApprove: true})
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	serials := map[string]bool{}
	for _, msisdn := range []string{"84918000001", "84918000002"} {
		chain, err := srv.Certificates(msisdn)
		if err != nil {
			t.Fatal(err)
		}
		if len(chain) != 2 || !chain[1].Equal(ca) {
			t.Fatalf("%s: chain of %d, want leaf + CA", msisdn, len(chain))
		}
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Fatalf("%s: %v", msisdn, err)
		}
		if !chain[0].NotAfter.After(time.Now()) || chain[0].NotAfter.After(ca.NotAfter) {
			t.Errorf("%s: leaf valid until %v, CA until %v", msisdn, chain[0].NotAfter, ca.NotAfter)
		}
		serials[chain[0].SerialNumber.String()] = true
	}
	if len(serials) != 2 {
		t.Error("two SIMs got the same serial number")
	}
	// And it signs end to end.
	c := client(t, ts.URL)
	sess, _, _ := startRequest(t, c, "84918000001", "Ký")
	if _, err := outcome(t, c, sess); err != nil {
		t.Fatal(err)
	}

	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := mssp.CAIssuer([]*x509.Certificate{ca}, otherKey); err == nil {
		t.Error("CAIssuer accepted a key that does not match the CA")
	}
	leaf, _ := srv.Certificates("84918000001")
	if _, err := mssp.CAIssuer(leaf[:1], caKey); err == nil {
		t.Error("CAIssuer accepted an end-entity certificate as CA")
	}
	if _, err := mssp.CAIssuer(nil, caKey); err == nil {
		t.Error("CAIssuer accepted no certificate")
	}
}

func TestKeyDirKeepsSIMsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	first, err := mssp.NewServer(mssp.Options{KeyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, err := first.Certificates("84919000001")
	if err != nil {
		t.Fatal(err)
	}
	// Another process (another in-memory CA) finds the same SIM.
	second, ts := start(t, mssp.Options{KeyDir: dir, AutoApprove: true})
	b, err := second.Certificates("84919000001")
	if err != nil {
		t.Fatal(err)
	}
	if !a[0].Equal(b[0]) {
		t.Fatal("the SIM got a new certificate after a restart")
	}
	c := client(t, ts.URL)
	sess, req, cert := startRequest(t, c, "84919000001", "Ký")
	res, err := outcome(t, c, sess)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(a[0]) || signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature) != nil {
		t.Fatal("restored SIM does not sign with its certificate's key")
	}

	// A phone configured for another key type gets a new SIM.
	third, err := mssp.NewServer(mssp.Options{KeyDir: dir, Phones: map[string]mssp.PhoneConfig{"84919000001": {Key: mssp.KeyRSA}}})
	if err != nil {
		t.Fatal(err)
	}
	c3, err := third.Certificates("84919000001")
	if err != nil {
		t.Fatal(err)
	}
	if c3[0].PublicKeyAlgorithm != x509.RSA {
		t.Fatalf("key type %v, want RSA", c3[0].PublicKeyAlgorithm)
	}
}

// Whatever arrives at /soap, the simulator answers with a SOAP message or
// fault and never panics.
func FuzzSOAPHandler(f *testing.F) {
	req := validReq("84913000005")
	b, _ := wire.Envelope(wire.SOAP11, "MSS_Signature", &req)
	f.Add(b)
	req.MessagingMode = wire.ModeSynch
	req.TimeOut = "1"
	b, _ = wire.Envelope(wire.SOAP12, "MSS_Signature", &req)
	f.Add(b)
	st := wire.StatusReq{MSSPTransID: "S1", APInfo: wire.APInfo{APID: apID, APTransID: "x", APPWD: "pwd"}}
	b, _ = wire.Envelope(wire.SOAP11, "MSS_StatusQuery", &st)
	f.Add(b)
	// Every mutated number is a new phone; issuing each an RSA key would
	// leave the fuzzer generating keys instead of parsing, so all phones
	// share one P-256 key here.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz SIM"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	issuer := func(string, string, bool) (crypto.Signer, []*x509.Certificate, error) {
		return key, []*x509.Certificate{cert}, nil
	}
	srv, err := mssp.NewServer(mssp.Options{APs: map[string]string{apID: "pwd"}, Issuer: issuer, Latency: time.Millisecond, MaxTimeout: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/soap", bytes.NewReader(body))
		w := httptest.NewRecorder()
		began := time.Now()
		srv.ServeHTTP(w, r)
		if d := time.Since(began); d > 500*time.Millisecond {
			t.Fatalf("slow %v: %q", d, body)
		}
		if w.Body.Len() == 0 {
			return // a synchronous call abandoned by its caller
		}
		_, _, err := wire.Decode(w.Body, map[string]any{"MSS_SignatureResp": new(wire.SignatureResp), "MSS_StatusResp": new(wire.StatusResp)})
		var fault *wire.Fault
		if err != nil && !errors.As(err, &fault) {
			t.Fatalf("answer is neither a message nor a fault: %v\n%s", err, w.Body.String())
		}
	})
}

// msspTx is the MSSP_TransID of a client session, which the phone link
// names.
func msspTx(t *testing.T, sess *signing.Session) string {
	t.Helper()
	id, ok := etsi204.MSSPTransID(sess.TxID)
	if !ok {
		t.Fatalf("TxID %q carries no MSSP_TransID", sess.TxID)
	}
	return id
}
