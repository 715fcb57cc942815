package smartcasim

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// PendingRequest is what the SmartCA app shows for a waiting transaction.
type PendingRequest struct {
	TransactionID    string    `json:"transaction_id"`
	Description      string    `json:"description"`
	Documents        []string  `json:"documents"`
	VerificationCode string    `json:"verification_code"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// PhoneState is a user's phone as the page shows it.
type PhoneState struct {
	UserID  string          `json:"user_id"`
	Pending *PendingRequest `json:"pending,omitempty"`
	// Requests counts the requests this phone has been shown and
	// Confirmations those the user confirmed, over every run when the
	// simulator keeps its state.
	Requests      int `json:"requests"`
	Confirmations int `json:"confirmations"`
}

// State returns the state of a user's phone.
func (s *Server) State(userID string) (PhoneState, error) {
	if !validUser(userID) {
		return PhoneState{}, ErrBadUser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(s.opts.Now())
	st := PhoneState{UserID: userID}
	if c, ok := s.storedCounts[userID]; ok {
		st.Requests, st.Confirmations = c.Requests, c.Confirmations
	}
	if u, ok := s.users[userID]; ok {
		st.Requests, st.Confirmations = u.prompts, u.confirmations
	}
	if u, ok := s.users[userID]; ok && u.pending != nil && u.pending.status == TranWaiting {
		tx := u.pending
		p := &PendingRequest{TransactionID: tx.id, Description: tx.description, VerificationCode: verificationCode(tx), ExpiresAt: tx.expires}
		for _, f := range tx.files {
			p.Documents = append(p.Documents, f.DocID)
		}
		st.Pending = p
	}
	return st, nil
}

// Pending returns the request waiting on a user's phone.
func (s *Server) Pending(userID string) (PendingRequest, bool) {
	st, err := s.State(userID)
	if err != nil || st.Pending == nil {
		return PendingRequest{}, false
	}
	return *st.Pending, true
}

// Confirm confirms the waiting request on a user's phone: every file of the
// transaction is signed, once.
func (s *Server) Confirm(userID string) error { return s.act(userID, true) }

// Reject rejects it.
func (s *Server) Reject(userID string) error { return s.act(userID, false) }

func (s *Server) act(userID string, confirm bool) error {
	if !validUser(userID) {
		return ErrBadUser
	}
	s.mu.Lock()
	u, ok := s.users[userID]
	var tx *transaction
	if ok {
		tx = u.pending
	}
	s.mu.Unlock()
	if tx == nil {
		return ErrNoPending
	}
	return s.decide(tx, confirm)
}

// Parsed on first use: start-up pays only for what a command uses.
var phonePage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("phone").Parse(`<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>VNPT SmartCA (giả lập) {{.State.UserID}}</title>
<style>
body{font-family:system-ui,sans-serif;background:#e8ecef;margin:0;padding:1rem}
main{max-width:22rem;margin:auto;background:#fff;border:10px solid #0b3c8c;border-radius:2rem;padding:1.2rem}
h1{font-size:1.2rem;margin:.2rem 0}
small,.en{display:block;color:#666;font-size:.8rem;font-weight:normal}
.display{background:#eef3fb;border:1px solid #bbb;padding:.6rem;white-space:pre-wrap}
.code{font-size:2rem;letter-spacing:.3rem;font-family:monospace}
.msg{padding:.5rem;border-radius:.3rem;background:#eef}
button{font-size:1.1rem;padding:.4rem;margin:.3rem 0;width:100%}
button.decline{background:#fee}
</style>
</head>
<body>
<main>
<h1>VNPT SmartCA <small>simulator, development only</small></h1>
<p>Người dùng <small>User</small> <b>{{.State.UserID}}</b></p>
{{with .Message}}<p class="msg" id="message">{{.}}</p>{{end}}
{{with .State.Pending}}
<section id="pending" data-tx="{{.TransactionID}}">
<h2>Yêu cầu ký số <small>Signature request</small></h2>
<p class="display" id="display">{{.Description}}</p>
<p>{{len .Documents}} tài liệu <small>documents, confirmed at once</small></p>
<p>Mã giao dịch <small>Transaction code</small><span class="code" id="code">{{.VerificationCode}}</span></p>
<form method="post" action="{{$.Base}}/confirm"><button type="submit">Xác nhận ký <small>Confirm</small></button></form>
<form method="post" action="{{$.Base}}/decline"><button type="submit" class="decline">Từ chối <small>Reject</small></button></form>
</section>
{{else}}
<p id="idle">Không có yêu cầu nào đang chờ. <small>No pending request.</small></p>
{{end}}
</main>
<script>
(function(){
  var sec = document.getElementById("pending");
  var shown = sec ? sec.getAttribute("data-tx") : "";
  setInterval(function(){
    fetch({{.Base}} + "/status", {cache: "no-store"}).then(function(r){ return r.json(); }).then(function(st){
      var now = st.pending ? st.pending.transaction_id : "";
      if (now !== shown) { location.href = {{.Base}}; }
    }).catch(function(){});
  }, 2000);
})();
</script>
</body>
</html>
`))
})

var outcomes = map[string]string{
	"signed":     "Đã ký thành công. / Signed.",
	"rejected":   "Đã từ chối. / Rejected.",
	"no-pending": "Yêu cầu không còn hiệu lực. / The request is no longer pending.",
}

// phone serves phone/{user}, phone/{user}/status, and the confirm and
// decline posts.
func (s *Server) phone(w http.ResponseWriter, r *http.Request) {
	i := strings.LastIndex(r.URL.Path, "/phone/")
	rest := r.URL.Path[i+len("/phone/"):]
	userID, action, _ := strings.Cut(rest, "/")
	base := s.opts.PhonePath
	if base == "" {
		base = r.URL.Path[:i] + "/phone/"
	}
	if userID == "" && r.URL.Query().Get("user") != "" && validUser(r.URL.Query().Get("user")) {
		http.Redirect(w, r, base+url.PathEscape(r.URL.Query().Get("user")), http.StatusSeeOther)
		return
	}
	base += url.PathEscape(userID)
	if !validUser(userID) {
		http.Error(w, "Mã người dùng không hợp lệ / invalid user id", http.StatusNotFound)
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		st, _ := s.State(userID)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
		data := struct {
			State   PhoneState
			Base    string
			Message string
		}{st, base, outcomes[r.URL.Query().Get("r")]}
		if err := phonePage().Execute(w, data); err != nil {
			s.opts.Logger.Error("smartcasim: phone page", "err", err)
		}
	case action == "status" && r.Method == http.MethodGet:
		st, _ := s.State(userID)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(st)
	case (action == "confirm" || action == "decline") && r.Method == http.MethodPost:
		err := s.act(userID, action == "confirm")
		outcome := map[bool]string{true: "signed", false: "rejected"}[action == "confirm"]
		if errors.Is(err, ErrNoPending) {
			outcome = "no-pending"
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, base+"?r="+outcome, http.StatusSeeOther)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// Parsed on first use: start-up pays only for what a command uses.
var indexPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("index").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>VNPT SmartCA (giả lập)</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem}small{display:block;color:#666}td,th{border:1px solid #ccc;padding:.3rem .5rem}table{border-collapse:collapse}</style>
</head><body>
<h1>Trình giả lập VNPT SmartCA <small>VNPT SmartCA remote-signing simulator, development only</small></h1>
<form method="get" action="{{.Base}}phone/"><label>Mở điện thoại của người dùng (số CCCD hoặc mã số thuế) <small>Open the phone of user id</small>
<input name="user" inputmode="numeric" placeholder="001088012345" required></label></form>
<p>Mỗi người dùng có một khóa RSA-2048. <small>Each user holds an RSA-2048 key; several documents in one transaction are confirmed once.</small></p>
<h2>Người dùng kịch bản <small>Scenario users (answer by themselves)</small></h2>
<table><tr><th>Kịch bản <small>Scenario</small></th><th>user_id</th></tr>
{{range .Scenarios}}<tr><td>{{.Name}}</td><td><code>{{.User}}</code></td></tr>
{{end}}</table>
</body></html>
`))
})

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	base := r.URL.Path
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if s.opts.PhonePath != "" {
		base = strings.TrimSuffix(s.opts.PhonePath, "phone/")
	}
	type row struct{ Name, User string }
	var rows []row
	for _, sc := range Scenarios() {
		rows = append(rows, row{sc.String(), ScenarioUser(sc)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = indexPage().Execute(w, struct {
		Base      string
		Scenarios []row
	}{base, rows})
}
