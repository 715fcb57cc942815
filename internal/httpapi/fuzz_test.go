package httpapi

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
)

// Cursors come back from clients: any string decodes to a position or is
// refused, never panics, and a cursor we made reads back as made.
func FuzzDecodeCursor(f *testing.F) {
	d := &document.Document{ID: "0123456789abcdef0123456789abcdef", CreatedAt: time.UnixMicro(1764460800123456).UTC()}
	f.Add(encodeCursor(d))
	f.Add("")
	f.Add("!!!")
	f.Add("MTc2NDQ2MDgwMDEyMzQ1Ni4")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, ok := decodeCursor(s)
		if !ok {
			return
		}
		if id == "" || len(id) > 64 {
			t.Fatalf("accepted id %q", id)
		}
		back := encodeCursor(&document.Document{ID: id, CreatedAt: at})
		if at2, id2, ok2 := decodeCursor(back); !ok2 || !at2.Equal(at) || id2 != id {
			t.Fatalf("round trip of %q: %v %q %v", s, at2, id2, ok2)
		}
	})
}

// Any query string gives a query or field errors, never a panic, and the
// page size stays within bounds.
func FuzzSearchQuery(f *testing.F) {
	f.Add("q=quyet+dinh&limit=2&cursor=abc&from=2026-01-01&to=2026-12-31&state=draft,signed&number=5")
	f.Add("limit=-1&number=99999999999999999999&direction=x")
	f.Add("from=2026-02-30&q=" + url.QueryEscape("Quyết định"))
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, raw string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/api/v1/documents", nil)
		c.Request.URL.RawQuery = raw
		q, bad := searchQuery(c)
		if len(bad) == 0 && (q.Limit < 1 || q.Limit > document.MaxPageSize) {
			t.Fatalf("limit %d accepted from %q", q.Limit, raw)
		}
	})
}
