package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/internal/config"
	"vanban/internal/httpapi"
	"vanban/signing"
	"vanban/signing/mssp"
	"vanban/signing/pades"
	"vanban/signing/signtest"
	"vanban/signing/tsa"
	"vanban/signing/verify"
)

// lockedBuffer collects a command's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clearServeEnv keeps the developer's VANBAN_* settings out of a server
// the test configures by flags.
func clearServeEnv(t testing.TB) {
	for _, s := range config.Settings {
		t.Setenv(s.Env, "")
		t.Setenv(s.Env+"_FILE", "")
	}
	t.Setenv("VANBAN_CACHE_DIR", testCacheDir())
}

// testCacheDir is the cache every server of the tests shares (and the
// render tests of other packages): PDFium compiles once per machine, not
// once per server, which under the race detector is most of a minute.
func testCacheDir() string { return filepath.Join(os.TempDir(), "vanban-test-cache") }

// servedVanban is a "vanban serve" running in the test process.
type servedVanban struct {
	URL    string // from the "is running at" line
	stdout *lockedBuffer
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan int
}

// serveVanban runs the real serve command (flags, config, database,
// router, development services) on a free loopback port and waits until
// it printed its startup lines.
func serveVanban(t testing.TB, args ...string) *servedVanban {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedVanban{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)
	go func() { s.done <- run(ctx, args, s.stdout, s.stderr) }()
	t.Cleanup(func() { s.stop(t) })
	re := regexp.MustCompile(`is running at (http://\S+)`)
	waitFor(t, "the server to start", 60*time.Second, func() bool {
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("serve exited with %d\nstdout:\n%s\nstderr:\n%s", code, s.stdout, s.stderr)
		default:
		}
		m := re.FindStringSubmatch(s.stdout.String())
		if m == nil {
			return false
		}
		s.URL = m[1]
		return true
	})
	return s
}

// line returns the value after prefix on a line of the server's stdout,
// waiting for the server to print it.
func (s *servedVanban) line(t testing.TB, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, l := range strings.Split(s.stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(v)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line in the server's output:\n%s\nstderr:\n%s", prefix, s.stdout, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down as SIGTERM would and checks it exited cleanly.
func (s *servedVanban) stop(t testing.TB) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("serve exited with %d\nstderr:\n%s", code, s.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Error("serve did not stop within 60 s of cancellation")
	}
}

func httpGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// startDevServicesForTest mounts the development services on a router
// served over loopback HTTP, as serve does, and returns what they announce.
func startDevServicesForTest(t *testing.T, dataDir string) *DevServices {
	t.Helper()
	clearServeEnv(t)
	cfg, err := config.Load(flag.NewFlagSet("test", flag.ContinueOnError), []string{"--addr", "127.0.0.1:0", "--data-dir", dataDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	router := httpapi.NewRouter(httpapi.Options{Logger: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	dev, err := startDevServices(router, cfg, ln.Addr(), log, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if dev == nil {
		t.Fatal("the embedded configuration did not enable the development services")
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		dev.Close()
		_ = srv.Close()
	})
	if !strings.Contains(stdout.String(), "http://"+ln.Addr().String()+"/dev/mssp/phone/") {
		t.Errorf("startup message does not give the virtual phone URL on the bound port:\n%s", stdout.String())
	}
	return dev
}

func devRootPEM(t *testing.T, dev *DevServices) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dev-root.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dev.Certificates[0].Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDevServicesSignAndVerify is the newcomer's path with no operator
// contract: a leader signs on the simulated SIM over real HTTP (etsi204
// client, AP credentials from the data directory, B-T with the development
// TSA), the clerk adds the office seal from the generated PKCS#12 at B-LT
// (OCSP and CRLs fetched from the development PKI), and both signatures
// validate against the returned trust anchors, with our validator and with
// pdfsig.
func TestDevServicesSignAndVerify(t *testing.T) {
	ctx := context.Background()
	dev := startDevServicesForTest(t, t.TempDir())
	if !strings.HasPrefix(dev.SealURI, "file:") || !strings.Contains(dev.SealURI, "pass-file=") {
		t.Errorf("seal URI %q is not a file: URI with a passphrase file", dev.SealURI)
	}

	mobile, err := signing.Open(dev.MobileURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mobile.(signing.Closer).Close()
	orig, err := os.ReadFile(signtest.CorpusFileNamed(t, "libreoffice-form.pdf").Path)
	if err != nil {
		t.Fatal(err)
	}
	tsaClient := &tsa.Client{URL: dev.TSAURL}
	var code string
	var leader bytes.Buffer
	msisdn := mssp.ScenarioMSISDN(mssp.ScenarioApprove, false)
	err = pades.SignWith(ctx, bytes.NewReader(orig), int64(len(orig)), &leader, mobile, msisdn,
		pades.Options{Level: pades.LevelBT, TSA: tsaClient, Reason: "Phê duyệt"},
		signing.WaitOptions{OnSession: func(s *signing.Session) { code = s.VerificationCode }})
	if err != nil {
		t.Fatalf("signing through the simulator: %v", err)
	}
	if len(code) != 4 {
		t.Errorf("verification code %q, want 4 digits", code)
	}

	seal, err := signing.Open(dev.SealURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	err = pades.SignWith(ctx, bytes.NewReader(leader.Bytes()), int64(leader.Len()), &sealed, seal, "",
		pades.Options{Level: pades.LevelBLT, TSA: tsaClient, Revocation: pades.CollectRevocation(dev.Roots, nil)},
		signing.WaitOptions{})
	if err != nil {
		t.Fatalf("sealing: %v", err)
	}

	rep, err := verify.Verify(ctx, bytes.NewReader(sealed.Bytes()), int64(sealed.Len()), verify.Options{Roots: dev.Roots, Online: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 2 {
		t.Fatalf("%d signatures, want 2", len(rep.Signatures))
	}
	// The seal is B-LT and its validation data covers the leader's chain
	// too, so both signatures validate at B-LT.
	for i, want := range []struct{ level, cn string }{{"B-LT", "Thuê bao " + msisdn}, {"B-LT", devSealName}} {
		s := rep.Signatures[i]
		if s.Indication != verify.TotalPassed || s.Level != want.level || s.Signer == nil || s.Signer.CommonName != want.cn {
			t.Errorf("signature %d: %s/%s level %q signer %+v, want TOTAL-PASSED %s by %q; errors %v",
				i, s.Indication, s.SubIndication, s.Level, s.Signer, want.level, want.cn, s.Errors)
		}
	}

	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, sealed.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	res := signtest.PDFSig(t, path, devRootPEM(t, dev))
	if len(res) != 2 {
		t.Fatalf("pdfsig found %d signatures, want 2", len(res))
	}
	// Only the signature verdict is asserted: NSS follows the development
	// certificates' AIA to the delegated OCSP responder and reports an
	// unexplained certificate issue (see signing/pades TestDevPKIBLTA).
	for _, r := range res {
		if !r.SignatureValid() {
			t.Errorf("pdfsig signature %d (%s): %q", r.Number, r.SignerCN, r.SignatureValidation)
		}
	}
}

// TestDevServicesRefuseOtherAP: the simulator in the server accepts only
// the AP credentials kept in the data directory.
func TestDevServicesRefuseOtherAP(t *testing.T) {
	dev := startDevServicesForTest(t, t.TempDir())
	u, err := url.Parse(dev.MobileURI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("ap-pwd-file")
	q.Set("ap-pwd-env", "VANBAN_TEST_WRONG_AP_PWD")
	u.RawQuery = q.Encode()
	t.Setenv("VANBAN_TEST_WRONG_AP_PWD", "guessed")
	p, err := signing.Open(u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.(signing.Closer).Close()
	_, err = p.Certificates(context.Background(), mssp.ScenarioMSISDN(mssp.ScenarioApprove, true))
	if k := signing.KindOf(err); k != signing.KindUnauthorized {
		t.Fatalf("wrong AP password: err = %v (kind %v), want KindUnauthorized", err, k)
	}
}

// TestServeEmbeddedDevServices runs "vanban serve" with the embedded
// default: the development PKI and the simulator answer under /dev/, the
// startup output names the virtual phone and the signer URIs, and a
// restart on another port keeps the same root CA, seal and SIM keys.
func TestServeEmbeddedDevServices(t *testing.T) {
	clearServeEnv(t)
	dir := t.TempDir()
	first := serveVanban(t, "--data-dir", dir)
	phone := first.line(t, "virtual phones at ")
	if !strings.HasPrefix(phone, first.URL+"/dev/mssp/phone/") {
		t.Errorf("virtual phone URL %q is not under %s/dev/mssp/phone/", phone, first.URL)
	}
	code, page := httpGet(t, strings.Fields(phone)[0])
	if code != http.StatusOK || !bytes.Contains(page, []byte("1234")) && !bytes.Contains(page, []byte("PIN")) {
		t.Errorf("virtual phone page: %d\n%s", code, page)
	}
	if code, _ := httpGet(t, first.URL+"/dev/mssp/"); code != http.StatusOK {
		t.Errorf("simulator index: %d", code)
	}
	code, rootA := httpGet(t, first.URL+"/dev/pki/root.pem")
	if code != http.StatusOK || !bytes.HasPrefix(rootA, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("root.pem: %d %s", code, rootA)
	}
	if code, _ := httpGet(t, first.URL+"/dev/pki/crl/issuing.crl"); code != http.StatusOK {
		t.Errorf("issuing CRL: %d", code)
	}
	sealURI := first.line(t, "seal signer URI: ")
	sealA, err := os.ReadFile(filepath.Join(dir, "dev", "seal.p12"))
	if err != nil {
		t.Fatal(err)
	}
	simURI := first.line(t, "mobile signer URI: ")
	simA := simCertificate(t, simURI)
	first.stop(t)

	second := serveVanban(t, "--data-dir", dir)
	if second.URL == first.URL {
		t.Log("the restart got the same port; the base URL change is not exercised")
	}
	_, rootB := httpGet(t, second.URL+"/dev/pki/root.pem")
	if !bytes.Equal(rootA, rootB) {
		t.Error("the development root CA changed across a restart")
	}
	if got := second.line(t, "seal signer URI: "); got != sealURI {
		t.Errorf("seal URI changed: %q, was %q", got, sealURI)
	}
	if sealB, err := os.ReadFile(filepath.Join(dir, "dev", "seal.p12")); err != nil || !bytes.Equal(sealA, sealB) {
		t.Errorf("the seal was re-issued across a restart (err %v)", err)
	}
	simB := simCertificate(t, second.line(t, "mobile signer URI: "))
	if !bytes.Equal(simA, simB) {
		t.Error("the SIM certificate of the sample number changed across a restart")
	}
	if !strings.Contains(second.line(t, "mobile signer URI: "), strings.TrimPrefix(second.URL, "http://")) {
		t.Error("the mobile signer URI does not follow the new address")
	}
}

// simCertificate returns the DER leaf the simulator serves for the number
// in a printed signer URI, looked up through the etsi204 provider.
func simCertificate(t *testing.T, uri string) []byte {
	t.Helper()
	p, err := signing.Open(uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.(signing.Closer).Close()
	chain, err := p.Certificates(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return chain[0].Raw
}

// TestServeDevServicesOff: --dev-services off mounts nothing and writes no
// development keys.
func TestServeDevServicesOff(t *testing.T) {
	clearServeEnv(t)
	dir := t.TempDir()
	s := serveVanban(t, "--data-dir", dir, "--dev-services", "off")
	if code, _ := httpGet(t, s.URL+"/dev/pki/root.pem"); code != http.StatusNotFound {
		t.Errorf("root.pem with dev services off: %d", code)
	}
	if strings.Contains(s.stdout.String(), "virtual phones") {
		t.Errorf("announces virtual phones with dev services off:\n%s", s.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "dev")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dev directory exists with dev services off (err %v)", err)
	}
}

// TestPDFSignMobilePrintsVerificationCode is the command-line signer on a
// phone: "vanban pdf sign --signer etsi204:..." against the simulator of a
// running server prints the verification code while the request is still
// pending on the virtual phone, the same code the phone shows; the PIN is
// then typed on the phone page over HTTP and the signed PDF verifies.
func TestPDFSignMobilePrintsVerificationCode(t *testing.T) {
	clearServeEnv(t)
	srv := serveVanban(t, "--data-dir", t.TempDir())
	uri := srv.line(t, "mobile signer URI: ")
	msisdn := "84987654320" // an ordinary number: waits for the phone
	uri = strings.Replace(uri, "msisdn="+devSampleMSISDN, "msisdn="+msisdn, 1)
	phone := srv.URL + "/dev/mssp/phone/" + msisdn

	dir := t.TempDir()
	in := signtest.CorpusFileNamed(t, "libreoffice-form.pdf").Path
	out := filepath.Join(dir, "signed.pdf")
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"pdf", "sign", "--in", in, "--out", out, "--signer", uri, "--timeout", "2m"}, stdout, stderr)
	}()

	// The phone page opens a request only with the link's secret; whoever
	// runs the simulator finds the link in the server's log, as the web
	// pages show it to the signer. Anonymous, the phone shows nothing.
	var link string
	linkRE := regexp.MustCompile(`"msg":"mssp: request".*?"msisdn":"` + msisdn + `".*?"phone":"([^"]+)"`)
	waitFor(t, "the request on the virtual phone", 60*time.Second, func() bool {
		m := linkRE.FindStringSubmatch(srv.stderr.String())
		if m == nil {
			return false
		}
		link = srv.URL + m[1]
		return true
	})
	var anon mssp.PhoneState
	if _, b := httpGet(t, phone+"/status"); json.Unmarshal(b, &anon) != nil || anon.Pending != nil {
		t.Fatalf("the anonymous phone status shows the request: %s", b)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	codeRE := regexp.MustCompile(`id="code">(\d{4})<`)
	cm := codeRE.FindSubmatch(page)
	if cm == nil {
		t.Fatalf("the phone page from the link shows no verification code:\n%s", page)
	}
	pending := mssp.PendingRequest{VerificationCode: string(cm[1])}
	if len(pending.VerificationCode) != 4 {
		t.Fatalf("phone shows verification code %q", pending.VerificationCode)
	}
	waitFor(t, "the verification code on stderr", 30*time.Second, func() bool {
		return strings.Contains(stderr.String(), pending.VerificationCode)
	})
	select {
	case code := <-done:
		t.Fatalf("pdf sign returned %d before the phone answered\nstderr:\n%s", code, stderr)
	default:
	}

	form := url.Values{"pin": {"1234"}}
	for _, m := range regexp.MustCompile(`name="(k|csrf)" value="([^"]*)"`).FindAllSubmatch(page, 2) {
		form.Set(string(m[1]), string(m[2]))
	}
	resp, err = browser.PostForm(phone+"/pin", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("pdf sign exited %d\nstderr:\n%s", code, stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("pdf sign did not finish after the PIN\nstderr:\n%s", stderr)
	}

	_, rootPEM := httpGet(t, srv.URL+"/dev/pki/root.pem")
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("root.pem: %s", rootPEM)
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Verify(context.Background(), bytes.NewReader(signed), int64(len(signed)), verify.Options{Roots: roots, Online: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 1 || rep.Signatures[0].Indication != verify.TotalPassed || rep.Signatures[0].Signer.CommonName != "Thuê bao "+msisdn {
		t.Fatalf("report: %+v", rep.Signatures)
	}
}

// The probe found the development services on whatever the listen
// address. A non-loopback --addr without an explicit enable turns them
// off; on without the acknowledgement refuses to start; on loopback they
// run and say so loudly.
func TestServeDevServicesOnlyOnLoopback(t *testing.T) {
	clearServeEnv(t)
	s := serveVanban(t, "--data-dir", t.TempDir(), "--addr", "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	base := "http://127.0.0.1:" + port
	for _, p := range []string{"/dev/mssp/phone/84912345678", "/dev/mssp/", "/dev/pki/root.pem"} {
		if code, _ := httpGet(t, base+p); code != http.StatusNotFound {
			t.Errorf("GET %s on a non-loopback listener: %d, want 404", p, code)
		}
	}
	if strings.Contains(s.stdout.String(), "virtual phones") || strings.Contains(s.stdout.String(), "DEVELOPMENT SERVICES") {
		t.Errorf("announces development services on a non-loopback listener:\n%s", s.stdout)
	}
	if !strings.Contains(s.stderr.String(), "not a loopback address") {
		t.Errorf("does not say why the development services are off:\n%s", s.stderr)
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--addr", "0.0.0.0:0", "--dev-services", "on"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "VANBAN_DEV_SERVICES_ON_NETWORK") {
		t.Errorf("--dev-services on with a public address: exit %d\n%s", code, stderr.String())
	}

	local := serveVanban(t, "--data-dir", t.TempDir())
	local.line(t, "virtual phones at ")
	if !strings.Contains(local.stdout.String(), "DEVELOPMENT SERVICES ARE ON") {
		t.Errorf("no banner on stdout:\n%s", local.stdout)
	}
	if !strings.Contains(local.stderr.String(), `"level":"WARN","msg":"\n****`) {
		t.Errorf("no WARN banner in the log:\n%s", local.stderr)
	}
}

// VANBAN_METRICS_ADDR moves /metrics off the public listener.
func TestServeMetricsOnSeparateAddress(t *testing.T) {
	clearServeEnv(t)
	s := serveVanban(t, "--data-dir", t.TempDir(), "--dev-services", "off", "--metrics-addr", "127.0.0.1:0")
	m := s.line(t, "metrics at ")
	if code, body := httpGet(t, m); code != http.StatusOK || !bytes.Contains(body, []byte("vanban_http_requests_total")) && !bytes.Contains(body, []byte("go_goroutines")) {
		t.Errorf("GET %s: %d", m, code)
	}
	if code, _ := httpGet(t, s.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics with VANBAN_METRICS_ADDR: %d, want 404", code)
	}
}
