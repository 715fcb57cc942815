package webhook_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"vanban/internal/document"
	"vanban/internal/webhook"
)

// The probe registered http://127.0.0.1:…, localhost, [::1], the integer
// form of an address and the cloud metadata address.
func TestCheckTargetRefusesInternal(t *testing.T) {
	var none *webhook.Targets
	for _, u := range []string{
		"http://127.0.0.1:8080/hook",
		"http://127.1/hook",
		"http://2130706433/hook",
		"http://0x7f000001/hook",
		"http://0177.0.0.1/hook",
		"http://0x7f.0.0.1/hook",
		"http://localhost:9000/",
		"http://LOCALHOST./",
		"http://api.localhost/",
		"http://[::1]:8080/",
		"http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/",
		"http://0.0.0.0/",
		"http://[::]/",
		"http://10.1.2.3/",
		"http://172.16.0.1/",
		"http://192.168.1.1/",
		"http://100.64.0.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://[fe80::1]/",
		"http://224.0.0.1/",
		"http://255.255.255.255/",
		"http://[2002:7f00:1::]/",
		"http://[64:ff9b::7f00:1]/",
	} {
		err := none.CheckTarget(context.Background(), u, nil)
		if document.ErrorCode(err) != document.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", u, err)
		}
	}
	for _, u := range []string{"https://93.184.216.34/hook", "https://[2606:4700::1111]/hook", "https://motcua.example/hooks"} {
		if err := none.CheckTarget(context.Background(), u, nil); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	allow, err := webhook.ParseTargets("10.20.0.0/16, hook.intranet.gov.vn 192.168.5.7")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://10.20.3.4/hook", "http://192.168.5.7:8443/", "https://hook.intranet.gov.vn/x"} {
		if err := allow.CheckTarget(context.Background(), u, nil); err != nil {
			t.Errorf("allowed %s: %v", u, err)
		}
	}
	if err := allow.CheckTarget(context.Background(), "http://10.21.0.1/", nil); err == nil {
		t.Error("10.21.0.1 outside the allowed prefix was accepted")
	}
	if _, err := webhook.ParseTargets("10.0.0.0/8 not_a host!"); err == nil {
		t.Error("a bad allow-list entry parsed")
	}
}

func TestTargetsAllows(t *testing.T) {
	var none *webhook.Targets
	for _, a := range []string{"127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "fd00:ec2::254", "100.100.100.100", "::ffff:10.0.0.1", "0.1.2.3"} {
		if none.Allows(netip.MustParseAddr(a)) {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"8.8.8.8", "2001:4860:4860::8888", "113.160.1.1"} {
		if !none.Allows(netip.MustParseAddr(a)) {
			t.Errorf("%s refused", a)
		}
	}
}

// A delivery to a loopback receiver is refused at connection time by
// default, whatever the stored URL (a row edited in the database, or a
// name that resolved elsewhere at registration: DNS rebinding), and
// nothing reaches the receiver.
func TestDeliveryToLoopbackRefusedByDefault(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			e := newEnv(t, webhook.Options{Targets: &webhook.Targets{}})
			setEndpointURL(t, e, strings.Replace(e.rcv.srv.URL, "127.0.0.1", host, 1))
			m := e.enqueue(`{}`)
			e.runOnce(1)
			if n := len(e.rcv.requests()); n != 0 {
				t.Fatalf("the loopback receiver got %d requests", n)
			}
			got := e.message(m.ID)
			if got.State != webhook.StateDead || !strings.Contains(got.LastError, "not allowed") {
				t.Fatalf("row %+v, want dead: target not allowed", got)
			}
		})
	}
}

// The operator's allow-list lets an intranet receiver in, by prefix or by
// host name.
func TestDeliveryAllowedByList(t *testing.T) {
	for _, spec := range []string{"127.0.0.0/8", "localhost"} {
		t.Run(spec, func(t *testing.T) {
			allow, err := webhook.ParseTargets(spec)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, webhook.Options{Targets: allow})
			if spec == "localhost" {
				setEndpointURL(t, e, strings.Replace(e.rcv.srv.URL, "127.0.0.1", "localhost", 1))
			}
			m := e.enqueue(`{}`)
			e.runOnce(1)
			if got := e.message(m.ID); got.State != webhook.StateDelivered {
				t.Fatalf("row %+v, want delivered", got)
			}
		})
	}
}

// The delivery log showed the target's response body, and the errors
// mapped open ports. Now only the status and a short reason are kept.
func TestDeliveryLogKeepsNoBodyAndNoPortState(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "SECRET-INTERNAL-PAGE root:x:0:0")
	}))
	defer internal.Close()
	e := newEnv(t, webhook.Options{})
	setEndpointURL(t, e, internal.URL+"/admin")
	m := e.enqueue(`{}`)
	e.runOnce(1)
	got := e.message(m.ID)
	atts, err := e.db.WebhookDeliveries(ctx, m.ID)
	must(t, err)
	if hits.Load() != 1 || len(atts) != 1 || atts[0].StatusCode != 500 {
		t.Fatalf("row %+v attempts %+v", got, atts)
	}
	for _, s := range []string{got.LastError, atts[0].Error} {
		if strings.Contains(s, "SECRET") || strings.Contains(s, "root:") {
			t.Errorf("the delivery log keeps the response body: %q", s)
		}
		if s != "HTTP 500 Internal Server Error" {
			t.Errorf("error %q, want the status only", s)
		}
	}

	// A closed port and a listening one that never answers read the same.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := ln.Addr().String()
	ln.Close()
	e2 := newEnv(t, webhook.Options{})
	setEndpointURL(t, e2, "http://"+closed+"/")
	m2 := e2.enqueue(`{}`)
	e2.runOnce(1)
	if got := e2.message(m2.ID); got.LastError != "delivery failed" {
		t.Errorf("closed port: error %q, want \"delivery failed\"", got.LastError)
	}
}

// setEndpointURL replaces the env's endpoint by one at u, registered
// straight in the store as a row edited in the database would be: the
// delivery check must hold on its own.
func setEndpointURL(t *testing.T, e *env, u string) {
	t.Helper()
	must(t, e.db.DisableWebhookEndpoint(ctx, e.ep.ID))
	e.ep = &webhook.Endpoint{OrgID: e.org.ID, URL: u, Events: []string{"document.issued"}}
	must(t, e.db.CreateWebhookEndpoint(ctx, e.ep))
}
