package mssp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"vanban/signing/etsi204/wire"
)

// maxPINTries wrong PINs block the SIM.
const maxPINTries = 3

// Phone drives the simulated phones from Go, as a user would from the
// virtual phone page.
type Phone struct{ s *Server }

// Phone returns the phone API of s.
func (s *Server) Phone() *Phone { return &Phone{s: s} }

// PendingRequest is what a phone shows for its pending request.
type PendingRequest struct {
	MSSPTransID      string    `json:"mssp_trans_id"`
	APID             string    `json:"ap_id"`
	APTransID        string    `json:"ap_trans_id"`
	DisplayText      string    `json:"display_text"`
	VerificationCode string    `json:"verification_code"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// PhoneState is the state of a phone as the page shows it.
type PhoneState struct {
	MSISDN    string          `json:"msisdn"`
	Blocked   bool            `json:"blocked"`
	TriesLeft int             `json:"tries_left"`
	Pending   *PendingRequest `json:"pending,omitempty"`
}

// pendingLocked returns the phone's live pending transaction, if any.
func (p *phone) pendingLocked() *transaction {
	if p.pending == nil || p.pending.status != wire.StatusOutstandingTransaction || time.Now().After(p.pending.expires) {
		return nil
	}
	return p.pending
}

// State returns the state of msisdn's phone.
func (ph *Phone) State(msisdn string) (PhoneState, error) {
	p, err := ph.s.phone(msisdn)
	if err != nil {
		return PhoneState{}, err
	}
	ph.s.mu.Lock()
	defer ph.s.mu.Unlock()
	st := PhoneState{MSISDN: p.msisdn, Blocked: p.blocked, TriesLeft: maxPINTries - p.wrongPINs}
	if tx := p.pendingLocked(); tx != nil {
		st.Pending = &PendingRequest{
			MSSPTransID: tx.id, APID: tx.apID, APTransID: tx.apTransID, DisplayText: tx.display,
			VerificationCode: wire.VerificationCode(tx.digest), ExpiresAt: tx.expires,
		}
	}
	return st, nil
}

// Pending returns the request waiting on msisdn's phone.
func (ph *Phone) Pending(msisdn string) (PendingRequest, bool) {
	st, err := ph.State(msisdn)
	if err != nil || st.Pending == nil {
		return PendingRequest{}, false
	}
	return *st.Pending, true
}

// Approve types pin on msisdn's phone for the pending request. A wrong PIN
// returns an error wrapping ErrWrongPIN; the third blocks the SIM, fails
// the request with 402 and returns ErrPINBlocked. On success the request is
// signed when Approve returns.
func (ph *Phone) Approve(msisdn, pin string) error {
	s := ph.s
	p, err := s.phone(msisdn)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if p.blocked {
		s.mu.Unlock()
		return ErrPINBlocked
	}
	tx := p.pendingLocked()
	if tx == nil {
		s.mu.Unlock()
		return ErrNoPending
	}
	if subtle.ConstantTimeCompare([]byte(pin), []byte(p.cfg.PIN)) != 1 {
		p.wrongPINs++
		if p.wrongPINs >= maxPINTries {
			p.blocked = true
			s.finishLocked(tx, wire.StatusPINNrBlocked, "three wrong PINs; contact the certificate authority", nil)
			s.mu.Unlock()
			return ErrPINBlocked
		}
		left := maxPINTries - p.wrongPINs
		s.mu.Unlock()
		return fmt.Errorf("%w: %d tries left", ErrWrongPIN, left)
	}
	p.wrongPINs = 0
	s.mu.Unlock()
	if err := s.ensureKey(p); err != nil {
		return err
	}
	s.sign(p, tx, signNormally)
	return nil
}

// Decline refuses the pending request on msisdn's phone (401 USER_CANCEL).
func (ph *Phone) Decline(msisdn string) error {
	s := ph.s
	p, err := s.phone(msisdn)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := p.pendingLocked()
	if tx == nil {
		return ErrNoPending
	}
	s.finishLocked(tx, wire.StatusUserCancel, "the user declined on the phone", nil)
	return nil
}

// Unblock resets a blocked PIN, as the CA would.
func (ph *Phone) Unblock(msisdn string) error {
	p, err := ph.s.phone(msisdn)
	if err != nil {
		return err
	}
	ph.s.mu.Lock()
	defer ph.s.mu.Unlock()
	p.blocked, p.wrongPINs = false, 0
	return nil
}

// DevelopmentMarker is shown on every page of the simulator and put in the
// subject of every certificate it issues: its signatures prove nothing.
const DevelopmentMarker = "DEVELOPMENT — NOT VALID"

// PhoneKey returns the per-request secret that opens msisdn's phone page
// for the transaction msspTransID (the MSSP_TransID the AP got back). The
// page shows a pending request, and accepts a PIN or a decline for it, only
// with this secret in the link, so that nobody but the person the
// application showed the link to can see or answer the request. The key is
// an HMAC under a random key of this Server, so it dies with the process
// like the transaction does.
func (s *Server) PhoneKey(msisdn, msspTransID string) string {
	m := hmac.New(sha256.New, s.linkKey)
	m.Write([]byte("phone\x00" + msisdn + "\x00" + msspTransID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// PhoneLink returns the path of msisdn's phone page opened for the
// transaction msspTransID.
func (s *Server) PhoneLink(msisdn, msspTransID string) string {
	return s.phoneBase(msisdn) + "?k=" + s.PhoneKey(msisdn, msspTransID)
}

// keyFits tells whether key opens the pending transaction tx of msisdn.
func (s *Server) keyFits(msisdn string, tx *PendingRequest, key string) bool {
	if tx == nil || key == "" {
		return false
	}
	return hmac.Equal([]byte(key), []byte(s.PhoneKey(msisdn, tx.MSSPTransID)))
}

// The page is bilingual: Vietnamese first, English underneath. It has no
// inline script (the CSP forbids one); phone.js polls the status.
// Parsed on first use: start-up pays only for what a command uses.
var phonePage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("phone").Parse(`<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Marker}} · Điện thoại ảo {{.State.MSISDN}}</title>
<style>
body{font-family:system-ui,sans-serif;background:#e8ecef;margin:0;padding:1rem}
main{max-width:22rem;margin:auto;background:#fff;border:10px solid #222;border-radius:2rem;padding:1.2rem}
h1{font-size:1.2rem;margin:.2rem 0}
small,.en{display:block;color:#666;font-size:.8rem;font-weight:normal}
.dev{background:#b00;color:#fff;font-weight:bold;text-align:center;padding:.4rem;border-radius:.3rem}
.dev small{color:#fdd}
.msisdn{font-family:monospace;font-size:1.1rem}
.display{background:#f3f6d8;border:1px solid #bbb;padding:.6rem;white-space:pre-wrap}
.code{font-size:2rem;letter-spacing:.3rem;font-family:monospace}
.msg{padding:.5rem;border-radius:.3rem;background:#eef}
.err{background:#fdd}
.ok{background:#dfd}
input,button{font-size:1.1rem;padding:.4rem;margin:.3rem 0;width:100%;box-sizing:border-box}
button.decline{background:#fee}
</style>
</head>
<body>
<main id="phone" data-base="{{.Base}}" data-key="{{.Key}}" data-tx="{{with .State.Pending}}{{.MSSPTransID}}{{end}}" data-blocked="{{.State.Blocked}}">
<p class="dev" id="development">{{.Marker}}<small>Trình giả lập: chữ ký không có giá trị pháp lý. Simulator: its signatures are not legally valid.</small></p>
<h1>Điện thoại ảo <small>Virtual phone</small></h1>
<p class="msisdn">{{.State.MSISDN}}</p>
{{with .Message}}<p class="msg {{.Class}}" id="message">{{.VI}}<span class="en">{{.EN}}</span></p>{{end}}
{{if .State.Blocked}}
<p class="msg err" id="blocked">SIM đã bị khóa do nhập sai PIN {{.MaxTries}} lần. Hãy liên hệ tổ chức cung cấp dịch vụ chứng thực.
<span class="en">The SIM is blocked after {{.MaxTries}} wrong PINs. Contact the certificate authority.</span></p>
{{else if .State.Pending}}
<section id="pending">
<h2>Yêu cầu ký số <small>Signature request</small></h2>
<p class="display" id="display">{{.State.Pending.DisplayText}}</p>
<p>Mã xác minh <small>Verification code</small><span class="code" id="code">{{.State.Pending.VerificationCode}}</span></p>
<p>Hết hạn lúc {{.Expires}} <small>Expires at {{.Expires}} (UTC+7)</small></p>
<form method="post" action="{{.Base}}/pin">
<input type="hidden" name="k" value="{{.Key}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Nhập mã PIN (còn {{.State.TriesLeft}} lần) <small>Enter PIN ({{.State.TriesLeft}} tries left)</small>
<input type="password" name="pin" inputmode="numeric" autocomplete="off" required autofocus></label>
<button type="submit">Ký <small>Sign</small></button>
</form>
<form method="post" action="{{.Base}}/decline">
<input type="hidden" name="k" value="{{.Key}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" class="decline">Từ chối <small>Decline</small></button>
</form>
</section>
{{else}}
<p id="idle">Không có yêu cầu nào đang chờ. <small>No pending request.</small></p>
{{if not .Key}}<p id="howto">Mở điện thoại ảo bằng đường liên kết trên trang ký của văn bản. <small>Open the virtual phone with the link on the document's signing page.</small></p>{{end}}
{{end}}
</main>
<script src="{{.Script}}"></script>
</body>
</html>
`))
})

// phoneScript reloads the page when the request it shows ends or a new
// one for the same link appears. It reads everything from data attributes.
const phoneScript = `(function(){
  var m = document.getElementById("phone");
  if (!m) { return; }
  var base = m.getAttribute("data-base"), key = m.getAttribute("data-key");
  var shown = m.getAttribute("data-tx"), blocked = m.getAttribute("data-blocked") === "true";
  var self = base + (key ? "?k=" + encodeURIComponent(key) : "");
  setInterval(function(){
    fetch(base + "/status" + (key ? "?k=" + encodeURIComponent(key) : ""), {cache: "no-store"}).then(function(r){ return r.json(); }).then(function(st){
      var now = st.pending ? st.pending.mssp_trans_id : "";
      if (now !== shown || st.blocked !== blocked) { location.href = self; }
    }).catch(function(){});
  }, 2000);
})();
`

// phoneCSP allows our own script and the page's styles, nothing else.
const phoneCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// vietnamTime is Indochina Time; Vietnam keeps no daylight saving, so a
// fixed zone is exact and needs no tzdata on the host.
var vietnamTime = time.FixedZone("ICT", 7*3600)

type pageMessage struct{ VI, EN, Class string }

// outcomeMessages are the results the PIN and decline forms redirect with.
var outcomeMessages = map[string]pageMessage{
	"signed":     {"Đã ký thành công.", "Signed.", "ok"},
	"declined":   {"Đã từ chối yêu cầu.", "Request declined.", "ok"},
	"wrong-pin":  {"Sai mã PIN.", "Wrong PIN.", "err"},
	"blocked":    {"Sai mã PIN quá số lần cho phép. SIM đã bị khóa.", "Too many wrong PINs. The SIM is blocked.", "err"},
	"no-pending": {"Yêu cầu không còn hiệu lực.", "The request is no longer pending.", "err"},
	"error":      {"Không ký được.", "Signing failed.", "err"},
}

func (s *Server) phoneBase(msisdn string) string {
	return s.opts.PhonePath + url.PathEscape(msisdn)
}

// csrfCookie names the double-submit cookie of the phone forms.
const csrfCookie = "mssp_csrf"

// csrfToken returns the browser's CSRF token, setting a new cookie when it
// has none.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	tok := hex.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: s.opts.PhonePath, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return tok
}

// visibleState is the state of msisdn's phone as the holder of key may see
// it: the pending request only when key opens it.
func (s *Server) visibleState(msisdn, key string) (PhoneState, error) {
	st, err := s.Phone().State(msisdn)
	if err != nil {
		return st, err
	}
	if !s.keyFits(st.MSISDN, st.Pending, key) {
		st.Pending = nil
	}
	return st, nil
}

func (s *Server) handlePhonePage(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("k")
	st, err := s.visibleState(r.PathValue("msisdn"), key)
	if err != nil {
		http.Error(w, "Số điện thoại không hợp lệ / invalid phone number", http.StatusNotFound)
		return
	}
	data := struct {
		State                           PhoneState
		Base, Key, CSRF, Script, Marker string
		Message                         *pageMessage
		MaxTries                        int
		Expires                         string
	}{State: st, Base: s.phoneBase(st.MSISDN), Key: key, Script: s.opts.PhonePath + "phone.js", Marker: DevelopmentMarker, MaxTries: maxPINTries}
	if st.Pending != nil {
		data.Expires = st.Pending.ExpiresAt.In(vietnamTime).Format("15:04:05")
		data.CSRF = s.csrfToken(w, r)
	}
	if m, ok := outcomeMessages[r.URL.Query().Get("r")]; ok {
		data.Message = &m
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", phoneCSP)
	if err := phonePage().Execute(w, data); err != nil {
		s.log.Error("mssp: phone page", "err", err)
	}
}

func (s *Server) handlePhoneScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = io.WriteString(w, phoneScript)
}

func (s *Server) handlePhoneStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.visibleState(r.PathValue("msisdn"), r.URL.Query().Get("k"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st)
}

// authorizeAction checks a PIN or decline form: the CSRF token must match
// the browser's cookie, and the link's key must open the request pending
// now. A refused form changes nothing: in particular a wrong PIN from
// someone without the link does not count towards blocking the SIM.
func (s *Server) authorizeAction(w http.ResponseWriter, r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || !hmac.Equal([]byte(c.Value), []byte(form)) {
		http.Error(w, "Biểu mẫu không hợp lệ, hãy mở lại trang / the form is stale or forged (CSRF); reload the page", http.StatusForbidden)
		return false
	}
	st, err := s.Phone().State(r.PathValue("msisdn"))
	if err != nil {
		http.Error(w, "Số điện thoại không hợp lệ / invalid phone number", http.StatusNotFound)
		return false
	}
	if !s.keyFits(st.MSISDN, st.Pending, r.PostFormValue("k")) {
		if st.Pending == nil {
			// Nothing to answer: say so, as before, without counting.
			http.Redirect(w, r, s.phoneBase(st.MSISDN)+"?r=no-pending", http.StatusSeeOther)
			return false
		}
		http.Error(w, "Đường liên kết không mở yêu cầu này / the link does not open this request", http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) handlePhonePIN(w http.ResponseWriter, r *http.Request) {
	if !s.authorizeAction(w, r) {
		return
	}
	msisdn := r.PathValue("msisdn")
	err := s.Phone().Approve(msisdn, r.PostFormValue("pin"))
	s.redirectOutcome(w, r, msisdn, err, "signed")
}

func (s *Server) handlePhoneDecline(w http.ResponseWriter, r *http.Request) {
	if !s.authorizeAction(w, r) {
		return
	}
	msisdn := r.PathValue("msisdn")
	err := s.Phone().Decline(msisdn)
	s.redirectOutcome(w, r, msisdn, err, "declined")
}

// redirectOutcome answers a form post with a redirect to the page (so a
// reload does not post the PIN again) carrying the outcome and the link's
// key, so that a wrong PIN can be typed again.
func (s *Server) redirectOutcome(w http.ResponseWriter, r *http.Request, msisdn string, err error, ok string) {
	outcome := ok
	switch {
	case err == nil:
	case errors.Is(err, ErrBadNumber):
		http.Error(w, "Số điện thoại không hợp lệ / invalid phone number", http.StatusNotFound)
		return
	case errors.Is(err, ErrWrongPIN):
		outcome = "wrong-pin"
	case errors.Is(err, ErrPINBlocked):
		outcome = "blocked"
	case errors.Is(err, ErrNoPending):
		outcome = "no-pending"
	default:
		s.log.Error("mssp: phone action", "msisdn", msisdn, "err", err)
		outcome = "error"
	}
	loc := s.phoneBase(msisdn) + "?r=" + outcome
	if k := r.PostFormValue("k"); k != "" && outcome == "wrong-pin" {
		loc += "&k=" + url.QueryEscape(k)
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// Parsed on first use: start-up pays only for what a command uses.
var indexPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("index").Parse(`<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DEVELOPMENT — NOT VALID · Trình giả lập MSSP</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem}
small{display:block;color:#666}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}
code{font-size:1rem}
</style>
</head>
<body>
<p><strong>DEVELOPMENT — NOT VALID</strong> <small>Chữ ký của trình giả lập không có giá trị pháp lý. The simulator's signatures are not legally valid.</small></p>
<h1>Trình giả lập ký số qua SIM <small>Mobile signature (MSSP) simulator, development only</small></h1>
<form method="get" action="">
<label>Mở điện thoại ảo cho số <small>Open the virtual phone of number</small>
<input name="msisdn" inputmode="numeric" placeholder="84912345678" required></label>
<button type="submit">Mở <small>Open</small></button>
</form>
<p>Số kết thúc bằng chữ số chẵn dùng khóa RSA-2048, số lẻ dùng P-256. PIN mặc định: {{.DefaultPIN}}.
<small>Numbers ending in an even digit get an RSA-2048 key, odd ones P-256. Default PIN: {{.DefaultPIN}}.</small></p>
<h2>Số kịch bản <small>Scenario numbers (answer by themselves)</small></h2>
<table>
<tr><th>Kịch bản <small>Scenario</small></th><th>RSA</th><th>P-256</th></tr>
{{range .Scenarios}}<tr><td>{{.Name}}</td><td><code>{{.RSA}}</code></td><td><code>{{.EC}}</code></td></tr>
{{end}}</table>
<p>SOAP: <code>{{.SOAPPath}}</code> · certificates: <code>{{.CertPath}}?msisdn=…</code></p>
</body>
</html>
`))
})

// handleIndex documents the simulator for a developer opening it in a
// browser, and opens a phone by number.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if n := r.URL.Query().Get("msisdn"); n != "" {
		if !validMSISDN(n) {
			http.Error(w, "Số điện thoại không hợp lệ / invalid phone number", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, s.phoneBase(n), http.StatusSeeOther)
		return
	}
	type row struct{ Name, RSA, EC string }
	var rows []row
	for _, sc := range Scenarios() {
		rows = append(rows, row{sc.String(), ScenarioMSISDN(sc, false), ScenarioMSISDN(sc, true)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	err := indexPage().Execute(w, struct {
		Scenarios                      []row
		DefaultPIN, SOAPPath, CertPath string
	}{rows, s.opts.DefaultPIN, s.opts.SOAPPath, s.opts.CertPath})
	if err != nil {
		s.log.Error("mssp: index page", "err", err)
	}
}
