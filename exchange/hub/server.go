package hub

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"vanban/exchange"
)

// Handler serves the hub's API under /api/v1/ and the page of what passed
// through at /. Mount it under a prefix with http.StripPrefix.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/agencies", h.api(h.handleAgencies))
	mux.HandleFunc("POST /api/v1/messages", h.api(h.handleSend))
	mux.HandleFunc("GET /api/v1/inbox/{organ}", h.api(h.handleInbox))
	mux.HandleFunc("GET /api/v1/inbox/{organ}/{id}", h.api(h.handleFetch))
	mux.HandleFunc("POST /api/v1/inbox/{organ}/{id}/ack", h.api(h.handleAck))
	mux.HandleFunc("GET /{$}", h.handlePage)
	return mux
}

type apiFunc func(w http.ResponseWriter, r *http.Request, sys System) error

func (h *Hub) api(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sys, ok := h.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="vanban exchange hub"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unknown system or wrong secret"})
			return
		}
		if err := fn(w, r, sys); err != nil {
			var he *httpError
			if errors.As(err, &he) {
				writeJSON(w, he.status, map[string]string{"error": he.msg})
				return
			}
			h.log.Error("hub request failed", "path", r.URL.Path, "system", sys.ID, "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		}
	}
}

func (h *Hub) handleAgencies(w http.ResponseWriter, r *http.Request, _ System) error {
	writeJSON(w, http.StatusOK, map[string]any{"agencies": h.Agencies()})
	return nil
}

func (h *Hub) handleSend(w http.ResponseWriter, r *http.Request, sys System) error {
	var to []string
	if v := r.Header.Get("X-Exchange-To"); v != "" {
		to = strings.Split(v, ",")
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes(h))
	a, err := h.send(r.Context(), sys, exchange.MessageKind(r.Header.Get("X-Exchange-Kind")),
		r.Header.Get("X-Exchange-From"), to, r.Header.Get("Idempotency-Key"), body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, "message larger than %d bytes", mbe.Limit)
		}
		return err
	}
	status := http.StatusCreated
	if a.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, a)
	return nil
}

func maxBytes(h *Hub) int64 {
	if h.cfg.Limits.MaxBytes > 0 {
		return h.cfg.Limits.MaxBytes
	}
	return 256 << 20
}

func (h *Hub) organ(r *http.Request, sys System) (string, error) {
	organ := r.PathValue("organ")
	if !h.owns(sys, organ) {
		return "", fail(http.StatusForbidden, "system %s does not act for %s", sys.ID, organ)
	}
	return organ, nil
}

func (h *Hub) handleInbox(w http.ResponseWriter, r *http.Request, sys System) error {
	organ, err := h.organ(r, sys)
	if err != nil {
		return err
	}
	list, err := h.pending(r.Context(), organ)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": list})
	return nil
}

func (h *Hub) handleFetch(w http.ResponseWriter, r *http.Request, sys System) error {
	organ, err := h.organ(r, sys)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.delivery(r.Context(), organ, id); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(h.msgDir, filepath.Base(id)+".edxml"))
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/xml")
	if st, err := f.Stat(); err == nil {
		w.Header().Set("Content-Length", itoa(st.Size()))
	}
	io.Copy(w, f)
	return nil
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func (h *Hub) handleAck(w http.ResponseWriter, r *http.Request, sys System) error {
	organ, err := h.organ(r, sys)
	if err != nil {
		return err
	}
	if err := h.ack(r.Context(), organ, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Parsed on first use: start-up pays only for what a command uses.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trục liên thông văn bản — vanban</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}.ok{color:#060}.wait{color:#a60}
@media (max-width:600px){td:nth-child(6),th:nth-child(6){display:none}}</style></head>
<body><h1>Trục liên thông văn bản</h1>
<p>Các gói tin và trạng thái đã qua trục (mới nhất trước) · Packages and status messages that passed through, newest first.</p>
<table><thead><tr><th>Thời gian</th><th>Loại</th><th>Từ</th><th>Đến</th><th>Văn bản</th><th>Kích thước</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Created.Format "2006-01-02 15:04:05"}}</td>
<td>{{if eq .Kind "status"}}Trạng thái {{.StatusCode}}{{else}}Gói tin{{end}}</td><td>{{.From}}</td>
<td>{{range .Deliveries}}<div>{{.To}} {{if .Acked.IsZero}}<span class="wait">chờ nhận</span>{{else}}<span class="ok">đã nhận {{.Acked.Format "15:04:05"}}</span>{{end}}</div>{{end}}</td>
<td>{{.DocumentID}}<br><small>{{.Subject}}</small></td><td>{{.Size}} B</td></tr>
{{else}}<tr><td colspan="6">Chưa có gói tin nào.</td></tr>{{end}}
</tbody></table></body></html>`))
})

func (h *Hub) handlePage(w http.ResponseWriter, r *http.Request) {
	if h.cfg.AdminSecret != "" {
		user, pass, ok := r.BasicAuth()
		want := sha256.Sum256([]byte(h.cfg.AdminSecret))
		got := sha256.Sum256([]byte(pass))
		if !ok || user != "admin" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="vanban exchange hub"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	entries, err := h.Recent(r.Context(), 200)
	if err != nil {
		h.log.Error("hub page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	page().Execute(w, entries)
}
