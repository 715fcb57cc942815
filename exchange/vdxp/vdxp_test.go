package vdxp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"vanban/exchange"
	_ "vanban/exchange/vdxp"
)

// fakeAxis implements the operations as the adapter documents them and
// checks every request's credentials and headers.
type fakeAxis struct {
	t     *testing.T
	mu    sync.Mutex
	docs  map[string]stored
	next  int
	paths map[string]string
}

type stored struct {
	from, to, kind, body string
	done                 bool
}

func (f *fakeAxis) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", 405)
		return
	}
	if r.Header.Get("systemId") != "000.00.12.H40" || r.Header.Get("secret") != "s3cret" {
		json.NewEncoder(w).Encode(map[string]string{"status": "FAIL", "errorCode": "401", "errorDesc": "Invalid systemId or secret"})
		return
	}
	ok := func(extra map[string]any) {
		m := map[string]any{"status": "OK", "errorCode": "0", "errorDesc": ""}
		for k, v := range extra {
			m[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
	}
	switch r.URL.Path {
	case f.paths["send"]:
		if r.Header.Get("servicetype") != "eDoc" {
			http.Error(w, "servicetype", 400)
			return
		}
		b, _ := io.ReadAll(r.Body)
		f.next++
		id := fmt.Sprintf("%d", 1000+f.next)
		f.docs[id] = stored{from: r.Header.Get("from"), to: r.Header.Get("to"), kind: r.Header.Get("messagetype"), body: string(b)}
		ok(map[string]any{"docId": 1000 + f.next}) // a number, as some axes answer
	case f.paths["list"]:
		var data []map[string]any
		for id, d := range f.docs {
			if !d.done && d.kind == r.Header.Get("messagetype") && strings.Contains(d.to, r.Header.Get("organId")) {
				data = append(data, map[string]any{"docId": id, "from": d.from, "to": d.to, "created_time": 1764730000000, "messagetype": d.kind})
			}
		}
		ok(map[string]any{"data": data})
	case f.paths["get"]:
		d, found := f.docs[r.Header.Get("docId")]
		if !found {
			ok(nil)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, d.body)
	case f.paths["status"]:
		d, found := f.docs[r.Header.Get("docId")]
		if !found || r.Header.Get("status") != "done" {
			json.NewEncoder(w).Encode(map[string]string{"status": "FAIL", "errorCode": "404", "errorDesc": "no such document"})
			return
		}
		d.done = true
		f.docs[r.Header.Get("docId")] = d
		ok(nil)
	case f.paths["agencies"]:
		ok(map[string]any{"data": []map[string]any{{"code": "000.00.00.G22", "name": "Bộ TTTT", "pid": "", "mail": "vp@mic.gov.vn"}, {"code": "000.00.12.H40", "name": "UBND xã Thành Long"}}})
	default:
		http.NotFound(w, r)
	}
}

func TestAxisOperations(t *testing.T) {
	for _, custom := range []bool{false, true} {
		paths := map[string]string{"send": "/api/sendEdoc", "list": "/api/getReceivedEdocList", "get": "/api/getEdoc", "status": "/api/updateStatus", "agencies": "/api/getAgenciesList"}
		suffix := ""
		if custom {
			paths = map[string]string{"send": "/api/v2/edoc/send", "list": "/api/v2/edoc/list", "get": "/api/v2/edoc/get", "status": "/api/v2/edoc/status", "agencies": "/api/v2/agencies"}
			suffix = "&send-path=/v2/edoc/send&list-path=/v2/edoc/list&get-path=/v2/edoc/get&status-path=/v2/edoc/status&agencies-path=/v2/agencies"
		}
		axis := &fakeAxis{t: t, docs: map[string]stored{}, paths: paths}
		srv := httptest.NewServer(axis)
		env := func(n string) (string, bool) { return "s3cret", n == "AXIS_SECRET" }
		tr, err := exchange.Open("vdxp:"+srv.URL+"/api?system=000.00.12.H40&secret-env=AXIS_SECRET"+suffix, env)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ags, err := tr.Agencies(ctx)
		if err != nil || len(ags) != 2 || ags[0].OrganId != "000.00.00.G22" || ags[0].Email != "vp@mic.gov.vn" {
			t.Fatalf("agencies %+v %v", ags, err)
		}
		id, err := tr.Send(ctx, exchange.Outgoing{Kind: exchange.KindPackage, From: "000.00.12.H40", To: []string{"000.00.12.H40"}, Body: strings.NewReader("<edXML/>")})
		if err != nil || id != "1001" {
			t.Fatalf("send %q %v", id, err)
		}
		if _, err := tr.Send(ctx, exchange.Outgoing{Kind: exchange.KindStatus, From: "000.00.12.H40", To: []string{"000.00.12.H40"}, Body: strings.NewReader("<Status/>")}); err != nil {
			t.Fatal(err)
		}
		list, err := tr.Received(ctx, "000.00.12.H40")
		if err != nil || len(list) != 2 || list[0].Kind != exchange.KindPackage || list[1].Kind != exchange.KindStatus || list[0].Created.Year() != 2025 {
			t.Fatalf("received %+v %v", list, err)
		}
		rc, err := tr.Fetch(ctx, "000.00.12.H40", id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "<edXML/>" {
			t.Fatalf("fetched %q", b)
		}
		if err := tr.Ack(ctx, "000.00.12.H40", id); err != nil {
			t.Fatal(err)
		}
		if list, _ := tr.Received(ctx, "000.00.12.H40"); len(list) != 1 {
			t.Fatalf("after ack %+v", list)
		}
		if _, err := tr.Fetch(ctx, "000.00.12.H40", "nope"); exchange.KindOf(err) != exchange.KindNotFound {
			t.Errorf("fetch of nothing: %v", err)
		}
		bad, _ := exchange.Open("vdxp:"+srv.URL+"/api?system=000.00.12.H40&secret=wrong"+suffix, nil)
		if _, err := bad.Agencies(ctx); exchange.KindOf(err) != exchange.KindUnauthorized {
			t.Errorf("wrong secret: %v", err)
		}
		srv.Close()
		if _, err := tr.Agencies(ctx); !exchange.Retryable(err) {
			t.Errorf("axis down: %v", err)
		}
	}
}

func TestOpenRefusesBadURIs(t *testing.T) {
	for _, uri := range []string{
		"vdxp:ftp://x?system=a&secret=b", "vdxp:https://x?secret=b", "vdxp:https://x?system=a",
		"vdxp:https://x?system=a&secret-env=NOPE", "vdxp:https://x?system=a&secret=b&send-path=nosl", "nosuch:https://x",
	} {
		_, err := exchange.Open(uri, func(string) (string, bool) { return "", false })
		if exchange.KindOf(err) != exchange.KindConfig || strings.Contains(err.Error(), "secret=b") {
			t.Errorf("%s: %v", uri, err)
		}
	}
}
