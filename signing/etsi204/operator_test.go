package etsi204_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/etsi204"
)

// operatorMSSP answers with hand-written XML in the shape an operator's
// documentation shows (SOAP 1.2, prefixed elements, namespaces declared on
// the message element), not with our wire package, so that a shared
// misreading of the standard cannot hide in both client and simulator.
type operatorMSSP struct {
	key *ecdsa.PrivateKey

	mu     sync.Mutex
	dtbs   []byte
	polls  int
	finalS string // final StatusCode Value answered on the second poll
}

var dtbsRE = regexp.MustCompile(`<[^>]*DataToBeSigned[^>]*>([^<]+)<`)

const operatorAck = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
 <soapenv:Body>
  <MSS_SignatureResponse>
   <mss:MSS_SignatureResp MajorVersion="1" MinorVersion="1" MSSP_TransID="h4dhx" xmlns:mss="http://uri.etsi.org/TS102204/v1.1.2#">
    <mss:AP_Info AP_ID="http://ap.vanban.test/" AP_PWD="" AP_TransID="T1" Instant="2026-01-01T12:00:00.000+07:00"/>
    <mss:MSSP_Info Instant="2026-01-01T12:00:00.100+07:00"><mss:MSSP_ID><mss:URI>http://mid.example/</mss:URI></mss:MSSP_ID></mss:MSSP_Info>
    <mss:MobileUser><mss:MSISDN>84912345671</mss:MSISDN></mss:MobileUser>
    <mss:Status><mss:StatusCode Value="100"/><mss:StatusMessage>REQUEST_OK</mss:StatusMessage></mss:Status>
   </mss:MSS_SignatureResp>
  </MSS_SignatureResponse>
 </soapenv:Body>
</soapenv:Envelope>`

const operatorStatus = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope">
 <soapenv:Header/>
 <soapenv:Body>
  <MSS_StatusQueryResponse>
   <mss:MSS_StatusResp MajorVersion="1" MinorVersion="1" xmlns:mss="http://uri.etsi.org/TS102204/v1.1.2#">
    <mss:AP_Info AP_ID="http://ap.vanban.test/" AP_PWD="" AP_TransID="T2" Instant="2026-01-01T12:00:01.000+07:00"/>
    <mss:MSSP_Info Instant="2026-01-01T12:00:01.100+07:00"><mss:MSSP_ID><mss:URI>http://mid.example/</mss:URI></mss:MSSP_ID></mss:MSSP_Info>
    <mss:MobileUser><mss:MSISDN>84912345671</mss:MSISDN></mss:MobileUser>
    %s
    <mss:Status><mss:StatusCode Value="%s"/><mss:StatusMessage>%s</mss:StatusMessage></mss:Status>
   </mss:MSS_StatusResp>
  </MSS_StatusQueryResponse>
 </soapenv:Body>
</soapenv:Envelope>`

func (o *operatorMSSP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	o.mu.Lock()
	defer o.mu.Unlock()
	if m := dtbsRE.FindSubmatch(body); m != nil {
		o.dtbs, _ = base64.StdEncoding.DecodeString(string(m[1]))
		fmt.Fprint(w, operatorAck)
		return
	}
	o.polls++
	if o.polls == 1 {
		fmt.Fprintf(w, operatorStatus, "", "504", "OUTSTANDING_TRANSACTION")
		return
	}
	sigElem := ""
	if o.finalS == "500" {
		// A SIM returns raw r||s.
		r, s, err := ecdsa.Sign(rand.Reader, o.key, o.dtbs)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		raw := make([]byte, 64)
		r.FillBytes(raw[:32])
		s.FillBytes(raw[32:])
		sigElem = "<mss:MSS_Signature><mss:Base64Signature>\n" + base64.StdEncoding.EncodeToString(raw) + "\n</mss:Base64Signature></mss:MSS_Signature>"
	}
	fmt.Fprintf(w, operatorStatus, sigElem, o.finalS, "whatever")
}

func TestOperatorShapedMessages(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "SIM"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)

	for final, kind := range map[string]signing.Kind{
		"500": 0,
		"401": signing.KindDeclined,
		"208": signing.KindExpired,
		"503": signing.KindBadSignature,
		"422": signing.KindNoCertificate,
	} {
		t.Run(final, func(t *testing.T) {
			op := &operatorMSSP{key: key, finalS: final}
			ts := httptest.NewServer(op)
			defer ts.Close()
			c := newClient(t, etsi204.Config{
				Endpoint: ts.URL, APID: testAPID, Lookup: staticLookup{cert}, Backoff: time.Millisecond,
			})
			req, _ := request(t, c, "84912345671")
			sess, err := c.Start(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Poll(context.Background(), sess.TxID, 0)
			if err != nil || res.Status != signing.StatusPending {
				t.Fatalf("first poll: %+v, %v", res, err)
			}
			res, err = await(t, c, sess)
			if kind != 0 {
				wantKind(t, err, kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := signing.VerifySignature(cert, req.Hash, req.Algorithm, req.Digest, res.Signature); err != nil {
				t.Fatal(err)
			}
		})
	}
}
