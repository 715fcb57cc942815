package etsi204_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/etsi204"
	"vanban/signing/etsi204/wire"
	"vanban/signing/mssp"
)

// countingSimulator is an auto-approving simulator over loopback HTTP that
// counts the HTTP requests it serves.
func countingSimulator(b *testing.B, opts mssp.Options) (*mssp.Server, *httptest.Server, *atomic.Int64) {
	b.Helper()
	opts.APs = map[string]string{testAPID: testAPPwd}
	srv, err := mssp.NewServer(opts)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		srv.ServeHTTP(w, r)
	}))
	b.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return srv, ts, &n
}

// signLoop signs one request on msisdn and waits for the verified outcome.
func signLoop(b *testing.B, c *etsi204.Client, msisdn string, req signing.Request) {
	sess, err := c.Start(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	for {
		res, err := c.Poll(context.Background(), sess.TxID, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		switch res.Status {
		case signing.StatusSigned:
			return
		case signing.StatusFailed:
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkSign measures signatures per second through the simulator in
// auto-approve mode: client and simulator in one process over loopback
// HTTP, P-256 SIM keys, every signature verified by the client.
func BenchmarkSign(b *testing.B) {
	for _, mode := range []etsi204.Mode{etsi204.ModeAsync, etsi204.ModeSync} {
		for _, parallel := range []bool{false, true} {
			name := modeName(mode)
			if parallel {
				name += "-parallel"
			}
			b.Run(name, func(b *testing.B) {
				_, ts, served := countingSimulator(b, mssp.Options{AutoApprove: true})
				cfg := baseConfig(ts.URL)
				cfg.Mode = mode
				c := newClient(b, cfg)
				var phones atomic.Int64
				// One SIM signs one request at a time, so every worker
				// has its own phone (odd numbers: P-256).
				newPhone := func() (string, signing.Request) {
					msisdn := fmt.Sprintf("8491%06d1", phones.Add(1))
					req, _ := request(b, c, msisdn)
					return msisdn, req
				}
				served.Store(0)
				b.ResetTimer()
				start := time.Now()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						msisdn, req := newPhone()
						for pb.Next() {
							req.IdempotencyKey = ""
							signLoop(b, c, msisdn, req)
						}
					})
				} else {
					msisdn, req := newPhone()
					for i := 0; i < b.N; i++ {
						req.IdempotencyKey = ""
						signLoop(b, c, msisdn, req)
					}
				}
				elapsed := time.Since(start)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sigs/s")
				b.ReportMetric(float64(served.Load())/float64(b.N), "http-req/op")
			})
		}
	}
}

// pendingTx starts a request that stays pending (no auto-approve) and
// returns its MSSP_TransID and the client's TxID.
func pendingTx(b *testing.B, srv *mssp.Server, c *etsi204.Client) (string, *signing.Session) {
	b.Helper()
	req, _ := request(b, c, "84919999991")
	req.Timeout = time.Hour
	sess, err := c.Start(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	res, err := c.Poll(context.Background(), sess.TxID, 0)
	if err != nil || res.Status != signing.StatusPending {
		b.Fatalf("not pending: %+v %v", res, err)
	}
	p, ok := srv.Phone().Pending("84919999991")
	if !ok {
		b.Fatal("no pending request on the phone")
	}
	return p.MSSPTransID, sess
}

// BenchmarkBareRoundTrip posts a pre-encoded MSS_StatusReq for a pending
// transaction to the simulator with a plain http.Client: the cost of one
// exchange without our client. Compare with BenchmarkClientPoll, which
// sends the same request through etsi204.Client.Poll.
func BenchmarkBareRoundTrip(b *testing.B) {
	srv, ts, _ := countingSimulator(b, mssp.Options{})
	c := newClient(b, baseConfig(ts.URL))
	id, _ := pendingTx(b, srv, c)
	body, err := wire.Envelope(wire.SOAP11, "MSS_StatusQuery", &wire.StatusReq{
		MajorVersion: "1", MinorVersion: "1", MSSPTransID: id,
		APInfo:   wire.APInfo{APID: testAPID, APTransID: "bare", APPWD: testAPPwd, Instant: wire.Instant(time.Now())},
		MSSPInfo: wire.MSSPInfo{MSSPID: wire.MSSPID{URI: "http://mssp.vanban.invalid/"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := hc.Post(ts.URL+"/soap", "text/xml; charset=utf-8", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
}

// BenchmarkClientPoll is one MSS_StatusReq through the client (encode,
// exchange, decode, classify) for a pending transaction.
func BenchmarkClientPoll(b *testing.B) {
	srv, ts, _ := countingSimulator(b, mssp.Options{})
	c := newClient(b, baseConfig(ts.URL))
	_, sess := pendingTx(b, srv, c)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Poll(context.Background(), sess.TxID, 0)
		if err != nil || res.Status != signing.StatusPending {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
