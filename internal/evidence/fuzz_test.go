package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"
)

// FuzzVerify: whatever the bytes, Verify answers with problems or an
// error, never a panic or an unbounded read.
func FuzzVerify(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range []struct{ name, body string }{
		{MemberManifest, `{"format":"vanban-evidence-v1","members":[{"name":"audit.json","size":2,"sha256":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}]}`},
		{MemberSeal, "not a CMS"},
		{MemberAudit, `{}`},
	} {
		w, _ := zw.Create(m.name)
		w.Write([]byte(m.body))
	}
	zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Verify(context.Background(), bytes.NewReader(b), int64(len(b)), VerifyOptions{})
		if err == nil && res.OK {
			t.Fatalf("an unsealed package verified: %+v", res)
		}
	})
}

// FuzzCheckAudit: audit.json of any shape is judged, not crashed on.
func FuzzCheckAudit(f *testing.F) {
	f.Add([]byte(`{"entries":[{"seq":1,"time_us":1,"actor":"u","action":"a","object_type":"document","object_id":"d","change":{},"prev_hash":"00","hash":"11"}],"links":[{"seq":1,"prev_hash":"00","hash":"11"}],"anchor":{"seq":1,"hash":"11","time":"2026-01-01T00:00:00Z","token":"AAAA"}}`))
	f.Add([]byte(`{"entries":[],"links":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res := &Result{}
		checkAudit(res, b, "d", nil)
	})
}
