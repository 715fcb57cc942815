package smartca_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/smartca"
	"vanban/signing/smartca/smartcasim"
)

// FuzzCallback: any authenticated callback body, and any transaction id,
// gives a typed error or results; never a panic, never "signed" without a
// signature. The service is unreachable, so nothing verifies as signed.
func FuzzCallback(f *testing.F) {
	f.Add([]byte(`{"transaction_id":"vb-1","tran_status":"SUCCESS","user_id":"001088012345","serial_number":"01","signatures":[{"doc_id":"d","data_to_be_signed":"`+string(bytes.Repeat([]byte("ab"), 32))+`","signature_value":"AAAA"}]}`), "sca1.eyJ0IjoidmItMSJ9")
	f.Add([]byte(`{"transaction_id":"vb-1","tran_status":"REJECTED","user_id":"1","signatures":[]}`), "")
	f.Add([]byte(`{"transaction_id":"","signatures":null}`), "sca1.!!!")
	f.Add([]byte(`[]`), "sca1.e30")
	c, err := smartca.New(smartca.Config{BaseURL: "http://127.0.0.1:1", SPID: "a", SPPassword: "b", CallbackSecret: "s", Retries: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, txID string) {
		r := httptest.NewRequest(http.MethodPost, "/cb", bytes.NewReader(body))
		r.Header.Set(smartca.SignatureHeader, smartcasim.SignCallback("s", time.Now(), body))
		rs, err := c.ParseBatchCallback(r)
		if err != nil {
			if signing.KindOf(err) == 0 {
				t.Fatalf("untyped error %v", err)
			}
		}
		for _, res := range rs {
			if res.Status == signing.StatusSigned {
				t.Fatalf("signed without a verifiable signature: %+v", res)
			}
			if res.Status == signing.StatusFailed && res.Err == nil {
				t.Fatal("failed without a typed error")
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if res, err := c.Poll(ctx, txID, 0); err == nil && res.Status == signing.StatusSigned {
			t.Fatal("an unreachable service's transaction came out signed")
		} else if err != nil && signing.KindOf(err) == 0 && ctx.Err() == nil {
			t.Fatalf("untyped poll error %v", err)
		}
	})
}
