package mssp_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"log"
	"net/http/httptest"
	"net/url"

	"vanban/signing"
	_ "vanban/signing/etsi204" // registers the etsi204: scheme
	"vanban/signing/mssp"
)

// The simulator behind an HTTP listener, and a provider URI pointing at it,
// as `vanban mssp-sim` and a development configuration would use them.
func ExampleNewServer() {
	srv, err := mssp.NewServer(mssp.Options{
		APs: map[string]string{"http://ap.vanban.test/": "dev-secret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv) // in production: http.ListenAndServe(addr, srv)
	defer ts.Close()

	msisdn := mssp.ScenarioMSISDN(mssp.ScenarioApprove, true)
	q := url.Values{
		"msisdn": {msisdn}, "ap-id": {"http://ap.vanban.test/"}, "ap-pwd-env": {"AP_PWD"},
		"mssp-id": {"http://mssp.vanban.invalid/"}, "mode": {"async"}, "poll": {"100ms"},
		"cert-lookup": {ts.URL + "/certificates"},
	}
	env := func(name string) (string, bool) { return "dev-secret", name == "AP_PWD" }
	p, err := signing.Open("etsi204:"+ts.URL+"/soap?"+q.Encode(), env)
	if err != nil {
		log.Fatal(err)
	}
	defer p.(signing.Closer).Close()

	chain, err := p.Certificates(context.Background(), "")
	if err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256([]byte("signed attributes of Quyết định 12/QĐ-UBND"))
	sig, err := signing.SignAndWait(context.Background(), p, chain[0], signing.Request{
		Digest: digest[:], Hash: crypto.SHA256, Algorithm: signing.ECDSA, DisplayText: "Ký Quyết định 12/QĐ-UBND",
	}, signing.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by", chain[0].Subject.CommonName, "verified:", signing.VerifySignature(chain[0], crypto.SHA256, signing.ECDSA, digest[:], sig) == nil)
	// Output: signed by Thuê bao 84905000001 verified: true
}
