package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"vanban/exchange"
	"vanban/exchange/hub"
	"vanban/exchange/hubclient"
)

// BenchmarkHubPackages: one operation is one package through the hub over
// loopback HTTP: sent (decoded and checked, fsync'd, committed), fetched
// and acknowledged by the recipient. Packages carry a 100 KB attachment
// (137 KB of edXML).
func BenchmarkHubPackages(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			h, err := hub.Open(hub.Config{Dir: b.TempDir(), Systems: systems()})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h.Handler())
			defer srv.Close()
			defer h.Close()
			a := hubclient.New(srv.URL, "sys-a", "secret-a", nil)
			bc := hubclient.New(srv.URL, "sys-bc", "secret-bc", nil)
			pkg := buildPackageWith(b, 1, bytes.Repeat([]byte("%PDF-1.4 x"), 10<<10), organB)
			ctx := context.Background()
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						id, err := a.Send(ctx, exchange.Outgoing{Kind: exchange.KindPackage, From: organA, Body: bytes.NewReader(pkg)})
						if err != nil {
							b.Error(err)
							return
						}
						rc, err := bc.Fetch(ctx, organB, id)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, rc)
						rc.Close()
						if err := bc.Ack(ctx, organB, id); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packages/s")
			if list, _ := bc.Received(ctx, organB); len(list) != 0 {
				b.Errorf("%d left unacknowledged", len(list))
			}
		})
	}
}
