package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"vanban/internal/evidence"
	"vanban/internal/httpapi"
)

// TestEvidenceExchangeStatuses: installation 1 (organ A) sends a document
// through the hub to B, who accepts it, and C, who refuses it. A's
// evidence package of the document lists both packages as sent and the
// statuses B and C reported (01, 03; 01, 02), each tied to the audit entry
// that recorded it, and shows them on the readable page; "vanban evidence
// verify" checks them against the anchored audit entries; a package whose
// exchange.json is changed does not verify.
func TestEvidenceExchangeStatuses(t *testing.T) {
	if testing.Short() {
		t.Skip("two installations and a hub")
	}
	ctx := context.Background()
	pair := startExchangePair(t, ctx, []string{"--data-dir", t.TempDir()}, []string{"--data-dir", t.TempDir()})
	a, b, c, trust := pair.a, pair.b, pair.c, pair.trust
	doc := a.issueExternal(t, ctx, "Về việc lập hồ sơ chứng cứ liên thông", e2eOrganB, e2eOrganC)
	qb := b.waitQueue(t, ctx, "B's package", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 })
	qc := c.waitQueue(t, ctx, "C's package", func(q []httpapi.ReceivedJSON) bool { return len(q) == 1 })
	if err := b.clerk.call(ctx, "POST", "/api/v1/exchange/received/"+qb[0].ID+"/accept", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.clerk.call(ctx, "POST", "/api/v1/exchange/received/"+qc[0].ID+"/refuse", map[string]string{"reason": "Không thuộc thẩm quyền giải quyết"}, nil); err != nil {
		t.Fatal(err)
	}
	a.waitReport(t, ctx, doc.ID, map[string]string{e2eOrganB: "01,03", e2eOrganC: "01,02"})

	req, _ := http.NewRequestWithContext(ctx, "GET", pair.base1+"/api/v1/documents/"+doc.ID+"/evidence", nil)
	resp, err := a.clerk.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("evidence download: %d %v\n%.300s", resp.StatusCode, err, pkg)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	member := func(name string) []byte {
		for _, f := range zr.File {
			if f.Name == name {
				rc, _ := f.Open()
				defer rc.Close()
				b, _ := io.ReadAll(rc)
				return b
			}
		}
		t.Fatalf("no member %s", name)
		return nil
	}
	var rows []evidence.ExchangeStatus
	if err := json.Unmarshal(member(evidence.MemberExchange), &rows); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range rows {
		if r.Channel != evidence.ChannelEdxml {
			continue
		}
		if r.AuditSeq == 0 {
			t.Errorf("row without its audit entry: %+v", r)
		}
		if r.Kind == evidence.KindPackage {
			got[r.Recipient] = append(got[r.Recipient], "package "+r.Status)
		} else {
			got[r.Recipient] = append(got[r.Recipient], r.Code+" "+r.Status)
			if r.At.IsZero() || r.Name == "" || (r.Code != "01" && r.Staff == "") {
				t.Errorf("status lacks its time, name or person: %+v", r)
			}
		}
	}
	if g := strings.Join(got[e2eOrganB], ","); g != "package sent,01 received,03 accepted" {
		t.Errorf("B in exchange.json: %s", g)
	}
	if g := strings.Join(got[e2eOrganC], ","); g != "package sent,01 received,02 refused" {
		t.Errorf("C in exchange.json: %s", g)
	}
	page := string(member(evidence.MemberReportHTML))
	for _, want := range []string{"UBND xã Bình Xa", "03 Đã tiếp nhận", "02 Từ chối tiếp nhận", "Không thuộc thẩm quyền giải quyết"} {
		if !strings.Contains(page, want) {
			t.Errorf("the readable report lacks %q", want)
		}
	}

	verifyPkg := evidenceVerifier(t, trust)
	code, out := verifyPkg(pkg)
	t.Log(out)
	if code != 0 || !strings.Contains(out, "exchange.json: 4 statuses reported by 2 agencies") || !strings.Contains(out, "evidence package intact") {
		t.Fatalf("untouched package: exit %d\n%s", code, out)
	}
	// The refusal turned into an acceptance: the digest no longer matches.
	changed := rewriteZip(t, pkg, evidence.MemberExchange, func(b []byte) []byte {
		return bytes.Replace(bytes.Replace(b, []byte(`"code": "02"`), []byte(`"code": "03"`), 1), []byte(`"refused"`), []byte(`"accepted"`), 1)
	})
	if code, out := verifyPkg(changed); code != 1 || !strings.Contains(out, "MISMATCH exchange.json") {
		t.Errorf("changed exchange.json: exit %d\n%s", code, out)
	}
}
