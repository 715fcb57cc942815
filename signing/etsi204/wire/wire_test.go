package wire

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, v := range []SOAPVersion{SOAP11, SOAP12} {
		req := SignatureReq{
			MajorVersion: "1", MinorVersion: "1", MessagingMode: ModeSynch, TimeOut: "300",
			APInfo:            APInfo{APID: "http://ap.example/", APTransID: "T1", APPWD: "p<w>d", Instant: "2026-01-01T00:00:00.000Z"},
			MSSPInfo:          MSSPInfo{MSSPID: MSSPID{URI: "http://mssp.example/"}},
			MobileUser:        MobileUser{MSISDN: "84912345678"},
			DataToBeSigned:    Data{MimeType: "application/octet-stream", Encoding: "base64", Value: "AAEC"},
			DataToBeDisplayed: &Data{MimeType: "text/plain", Encoding: "UTF-8", Value: "Ký Quyết định số 12/QĐ-UBND"},
			MSSFormat:         &MssURI{URI: FormatPKCS1URI},
		}
		b, err := Envelope(v, "MSS_Signature", &req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(v.Namespace())) {
			t.Fatalf("%v envelope lacks its namespace: %s", v, b)
		}
		var got SignatureReq
		gotV, name, err := Decode(bytes.NewReader(b), map[string]any{"MSS_SignatureReq": &got})
		if err != nil || gotV != v || name != "MSS_SignatureReq" {
			t.Fatalf("Decode = %v, %q, %v", gotV, name, err)
		}
		if got.APInfo != req.APInfo || got.MobileUser != req.MobileUser || got.DataToBeSigned != req.DataToBeSigned ||
			*got.DataToBeDisplayed != *req.DataToBeDisplayed || got.MSSFormat.URI != FormatPKCS1URI || got.TimeOut != "300" {
			t.Fatalf("round trip changed the request:\n got %+v\nwant %+v", got, req)
		}
		if got.XMLName.Space != NamespaceMSS {
			t.Errorf("message namespace = %q, want %q", got.XMLName.Space, NamespaceMSS)
		}
	}
}

// An operator's fault, written as the Swisscom Mobile ID documentation
// shows it (prefix declared on the Subcode element, detail in a foreign
// namespace).
const operatorFault12 = `<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope">
 <soapenv:Body><soapenv:Fault>
  <soapenv:Code><soapenv:Value>soapenv:Sender</soapenv:Value>
   <soapenv:Subcode xmlns:mss="http://uri.etsi.org/TS102204/v1.1.2#"><soapenv:Value>mss:_101</soapenv:Value></soapenv:Subcode>
  </soapenv:Code>
  <soapenv:Reason><soapenv:Text xml:lang="en">WRONG_PARAM</soapenv:Text></soapenv:Reason>
  <soapenv:Detail><ns1:detail xmlns:ns1="http://kiuru.methics.fi/mssp">Illegal msisdn</ns1:detail></soapenv:Detail>
 </soapenv:Fault></soapenv:Body></soapenv:Envelope>`

const operatorFault11 = `<?xml version="1.0"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
<S:Fault><faultcode xmlns:p="http://uri.etsi.org/TS102204/v1.1.2#">p:_401</faultcode><faultstring>USER_CANCEL</faultstring></S:Fault>
</S:Body></S:Envelope>`

func TestDecodeFaults(t *testing.T) {
	cases := []struct {
		name   string
		in     []byte
		code   int
		reason string
		detail string
	}{
		{"operator 1.2", []byte(operatorFault12), 101, "WRONG_PARAM", "Illegal msisdn"},
		{"operator 1.1", []byte(operatorFault11), 401, "USER_CANCEL", ""},
		{"ours 1.1", FaultEnvelope(SOAP11, 406, "busy <now>"), 406, "PB_SIGNATURE_PROCESS", "busy <now>"},
		{"ours 1.2", FaultEnvelope(SOAP12, 900, ""), 900, "INTERNAL_ERROR", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode(bytes.NewReader(c.in), map[string]any{"MSS_SignatureResp": new(SignatureResp)})
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("Decode error = %v, want a *Fault", err)
			}
			if f.Subcode != c.code || f.Reason != c.reason || f.Detail != c.detail {
				t.Fatalf("fault = %+v, want code %d reason %q detail %q", f, c.code, c.reason, c.detail)
			}
		})
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "not xml", "<html><body>502 Bad Gateway</body></html>",
		`<Envelope xmlns="urn:other"><Body/></Envelope>`,
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Other/></s:Body></s:Envelope>`} {
		_, _, err := Decode(strings.NewReader(in), map[string]any{"MSS_StatusResp": new(StatusResp)})
		if err == nil {
			t.Errorf("Decode(%q) succeeded", in)
		}
		var f *Fault
		if errors.As(err, &f) {
			t.Errorf("Decode(%q) invented a fault", in)
		}
	}
}

func TestVerificationCode(t *testing.T) {
	// h[0]=0xFF -> 0xFC<<5 = 8064; h[last]=0xFF -> 0x7F = 127; 8064|127 = 8191.
	if got := VerificationCode([]byte{0xFF, 0x00, 0xFF}); got != "8191" {
		t.Errorf("code = %s, want 8191", got)
	}
	// h[0]=0x04 -> 0x04<<5 = 128; h[last]=0x05 -> 5; 133 -> "0133".
	if got := VerificationCode([]byte{0x04, 0x99, 0x05}); got != "0133" {
		t.Errorf("code = %s, want 0133", got)
	}
	if got := VerificationCode(nil); got != "" {
		t.Errorf("code of nothing = %q", got)
	}
}

func TestDigestInfo(t *testing.T) {
	d := sha256.Sum256([]byte("vanban"))
	di, err := DigestInfo(crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	// The fixed SHA-256 DigestInfo prefix of RFC 8017 section 9.2, note 1.
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	if !bytes.Equal(di, append(prefix, d[:]...)) {
		t.Fatalf("DigestInfo = %x", di)
	}
	h, got, err := ParseDigestInfo(di)
	if err != nil || h != crypto.SHA256 || !bytes.Equal(got, d[:]) {
		t.Fatalf("ParseDigestInfo = %v, %x, %v", h, got, err)
	}
	if _, err := DigestInfo(crypto.SHA256, d[:10]); err == nil {
		t.Error("DigestInfo accepted a short digest")
	}
	if _, _, err := ParseDigestInfo(d[:]); err == nil {
		t.Error("ParseDigestInfo accepted a bare digest")
	}
	if _, _, err := ParseDigestInfo(append(di, 0)); err == nil {
		t.Error("ParseDigestInfo accepted trailing data")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(operatorFault12))
	f.Add([]byte(operatorFault11))
	b, _ := Envelope(SOAP11, "MSS_StatusQueryResponse", &StatusResp{Status: NewStatus(504)})
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		var resp StatusResp
		_, _, _ = Decode(bytes.NewReader(in), map[string]any{"MSS_StatusResp": &resp})
	})
}
