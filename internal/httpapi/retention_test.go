package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// TestScheduleAPI: an entry is added (If-None-Match: *), read with its
// ETag and history, changed against that ETag; a change against an old
// ETag is 412, bad values 422, other people 403, other organizations 404.
func TestScheduleAPI(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		req := func(key, method, path string, body any, header ...string) (int, []byte, http.Header) {
			t.Helper()
			var b []byte
			if body != nil {
				b, _ = json.Marshal(body)
			}
			r, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(b))
			e.must(err)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+e.tokens[key])
			for i := 0; i+1 < len(header); i += 2 {
				r.Header.Set(header[i], header[i+1])
			}
			resp, err := http.DefaultClient.Do(r)
			e.must(err)
			defer resp.Body.Close()
			var out bytes.Buffer
			out.ReadFrom(resp.Body)
			return resp.StatusCode, out.Bytes(), resp.Header
		}
		entry := httpapi.ScheduleEntryJSON{Title: "Hồ sơ đất đai", Years: 20, Source: "Quyết định 5/QĐ-UBND"}
		code, b, h := req("A.archivist", "PUT", "/api/v1/records/schedule/DD-01", entry, "If-None-Match", "*")
		if code != 200 || h.Get("ETag") == "" {
			t.Fatalf("add: %d %s", code, b)
		}
		first := h.Get("ETag")
		if code, b, _ := req("A.admin", "PUT", "/api/v1/records/schedule/DD-01", entry, "If-None-Match", "*"); code != http.StatusPreconditionFailed {
			t.Errorf("added twice: %d %s", code, b)
		}
		var d httpapi.ScheduleEntryDetailJSON
		code, b, h = req("A.drafter", "GET", "/api/v1/records/schedule/DD-01", nil)
		if code != 200 || json.Unmarshal(b, &d) != nil || h.Get("ETag") != first || d.Editable || d.Years != 20 || len(d.History) != 1 ||
			d.History[0].After == nil || d.History[0].Before != nil || d.History[0].Actor != "Người dùng A.archivist" {
			t.Fatalf("read: %d %s", code, b)
		}
		entry.Permanent = true
		code, b, h = req("A.admin", "PUT", "/api/v1/records/schedule/DD-01", entry, "If-Match", first)
		if code != 200 || h.Get("ETag") == first || !strings.Contains(string(b), `"permanent":true`) {
			t.Fatalf("change: %d %s", code, b)
		}
		entry.Permanent, entry.Years = false, 30
		if code, b, _ := req("A.archivist", "PUT", "/api/v1/records/schedule/DD-01", entry, "If-Match", first); code != http.StatusPreconditionFailed {
			t.Errorf("stale change: %d %s", code, b)
		}
		if code, b, _ := req("A.archivist", "DELETE", "/api/v1/records/schedule/DD-01", nil, "If-Match", first); code != http.StatusPreconditionFailed {
			t.Errorf("stale removal: %d %s", code, b)
		}
		for _, bad := range []httpapi.ScheduleEntryJSON{{Title: "x", Years: 0}, {Title: "x", Years: 101}, {Title: " ", Years: 5}, {Code: "OTHER", Title: "x", Years: 5}} {
			if code, b, _ := req("A.archivist", "PUT", "/api/v1/records/schedule/DD-01", bad); code != http.StatusUnprocessableEntity {
				t.Errorf("%+v: %d %s", bad, code, b)
			}
		}
		if code, b, _ := req("A.archivist", "PUT", "/api/v1/records/schedule/bad%20code", entry); code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"code"`) {
			t.Errorf("bad code: %d %s", code, b)
		}
		if code, _, _ := req("A.drafter", "PUT", "/api/v1/records/schedule/DD-01", entry); code != http.StatusForbidden {
			t.Errorf("a drafter edits: %d", code)
		}
		if code, _, _ := req("B.archivist", "GET", "/api/v1/records/schedule/DD-01", nil); code != http.StatusNotFound {
			t.Errorf("another organization reads: %d", code)
		}
		if code, _, _ := req("B.archivist", "DELETE", "/api/v1/records/schedule/DD-01", nil); code != http.StatusNotFound {
			t.Errorf("another organization removes: %d", code)
		}
		_, _, h = req("A.archivist", "GET", "/api/v1/records/schedule/DD-01", nil)
		if code, b, _ := req("A.archivist", "DELETE", "/api/v1/records/schedule/DD-01", nil, "If-Match", h.Get("ETag")); code != http.StatusNoContent {
			t.Fatalf("removal: %d %s", code, b)
		}
		if code, _, _ := req("A.archivist", "GET", "/api/v1/records/schedule/DD-01", nil); code != http.StatusNotFound {
			t.Errorf("removed entry: %d", code)
		}
	})
}
