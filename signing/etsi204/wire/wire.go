// Package wire holds the ETSI TS 102 204 (Mobile Signature Service) message
// subset that vanban speaks, in both directions: the MSS_SignatureReq and
// MSS_StatusReq an application provider sends, the responses an MSSP
// returns, SOAP 1.1 and 1.2 envelopes and faults with `_NNN` subcodes, and
// the status codes of the standard.
//
// Both the client (signing/etsi204) and the simulator (signing/mssp) use it,
// so the XML shape is written once. Decoding is deliberately lenient about
// namespaces and wrapper elements, because operators differ in both: it looks
// for the message element by local name anywhere inside the SOAP Body.
package wire

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Namespaces.
const (
	NamespaceMSS = "http://uri.etsi.org/TS102204/v1.1.2#"
	NamespaceS11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceS12 = "http://www.w3.org/2003/05/soap-envelope"
)

// Default MSS_Format URIs. Operators publish their own; these are what the
// public Vietnamese sample code and the ETSI namespace suggest.
const (
	FormatPKCS1URI = NamespaceMSS + "PKCS1"
	FormatPKCS7URI = NamespaceMSS + "PKCS7"
)

// Messaging modes of MSS_SignatureReq.
const (
	ModeSynch              = "synch"
	ModeAsynchClientServer = "asynchClientServer"
	ModeAsynchServerServer = "asynchServerServer"
)

// Status and fault codes of ETSI TS 102 204 (section 6.2).
const (
	StatusRequestOK              = 100
	StatusWrongParam             = 101
	StatusMissingParam           = 102
	StatusWrongDataLength        = 103
	StatusUnauthorizedAccess     = 104
	StatusUnknownClient          = 105
	StatusInappropriateData      = 107
	StatusIncompatibleInterface  = 108
	StatusUnsupportedProfile     = 109
	StatusExpiredTransaction     = 208
	StatusOTAError               = 209
	StatusUserCancel             = 401
	StatusPINNrBlocked           = 402
	StatusCardBlocked            = 403
	StatusNoKeyFound             = 404
	StatusPBSignatureProcess     = 406
	StatusNoCertFound            = 422
	StatusSignature              = 500
	StatusRevokedCertificate     = 501
	StatusValidSignature         = 502
	StatusInvalidSignature       = 503
	StatusOutstandingTransaction = 504
	StatusInternalError          = 900
)

var statusMessages = map[int]string{
	StatusRequestOK:              "REQUEST_OK",
	StatusWrongParam:             "WRONG_PARAM",
	StatusMissingParam:           "MISSING_PARAM",
	StatusWrongDataLength:        "WRONG_DATA_LENGTH",
	StatusUnauthorizedAccess:     "UNAUTHORIZED_ACCESS",
	StatusUnknownClient:          "UNKNOWN_CLIENT",
	StatusInappropriateData:      "INAPPROPRIATE_DATA",
	StatusIncompatibleInterface:  "INCOMPATIBLE_INTERFACE",
	StatusUnsupportedProfile:     "UNSUPPORTED_PROFILE",
	StatusExpiredTransaction:     "EXPIRED_TRANSACTION",
	StatusOTAError:               "OTA_ERROR",
	StatusUserCancel:             "USER_CANCEL",
	StatusPINNrBlocked:           "PIN_NR_BLOCKED",
	StatusCardBlocked:            "CARD_BLOCKED",
	StatusNoKeyFound:             "NO_KEY_FOUND",
	StatusPBSignatureProcess:     "PB_SIGNATURE_PROCESS",
	StatusNoCertFound:            "NO_CERT_FOUND",
	StatusSignature:              "SIGNATURE",
	StatusRevokedCertificate:     "REVOKED_CERTIFICATE",
	StatusValidSignature:         "VALID_SIGNATURE",
	StatusInvalidSignature:       "INVALID_SIGNATURE",
	StatusOutstandingTransaction: "OUTSTANDING_TRANSACTION",
	StatusInternalError:          "INTERNAL_ERROR",
}

// StatusMessage returns the standard name of a status code ("USER_CANCEL"),
// or "STATUS_NNN" for a code the standard does not define.
func StatusMessage(code int) string {
	if m, ok := statusMessages[code]; ok {
		return m
	}
	return fmt.Sprintf("STATUS_%d", code)
}

// SOAPVersion selects the envelope namespace and content type.
type SOAPVersion int

const (
	SOAP11 SOAPVersion = iota + 1
	SOAP12
)

// Namespace returns the envelope namespace of v.
func (v SOAPVersion) Namespace() string {
	if v == SOAP12 {
		return NamespaceS12
	}
	return NamespaceS11
}

// ContentType returns the HTTP Content-Type for a message of version v
// carrying the given SOAP action. SOAP 1.1 carries the action in the
// SOAPAction header instead (see Action).
func (v SOAPVersion) ContentType(action string) string {
	if v == SOAP12 {
		return `application/soap+xml; charset=utf-8; action="` + action + `"`
	}
	return "text/xml; charset=utf-8"
}

func (v SOAPVersion) String() string {
	if v == SOAP12 {
		return "1.2"
	}
	return "1.1"
}

// ParseSOAPVersion accepts "1.1", "11", "1.2" and "12".
func ParseSOAPVersion(s string) (SOAPVersion, error) {
	switch s {
	case "1.1", "11":
		return SOAP11, nil
	case "1.2", "12":
		return SOAP12, nil
	}
	return 0, fmt.Errorf("unknown SOAP version %q (want 1.1 or 1.2)", s)
}

// SOAP actions for the two operations we use.
const (
	ActionSignature   = "#MSS_Signature"
	ActionStatusQuery = "#MSS_StatusQuery"
)

// APInfo identifies the application provider and its transaction.
type APInfo struct {
	APID      string `xml:"AP_ID,attr"`
	APTransID string `xml:"AP_TransID,attr"`
	APPWD     string `xml:"AP_PWD,attr"`
	Instant   string `xml:"Instant,attr"`
}

// MSSPID names the MSSP by URI.
type MSSPID struct {
	URI string `xml:"URI"`
}

// MSSPInfo identifies the MSSP; Instant is set in responses.
type MSSPInfo struct {
	Instant string `xml:"Instant,attr,omitempty"`
	MSSPID  MSSPID `xml:"MSSP_ID"`
}

// MobileUser names the signer.
type MobileUser struct {
	MSISDN string `xml:"MSISDN"`
}

// Data is DataToBeSigned or DataToBeDisplayed.
type Data struct {
	MimeType string `xml:"MimeType,attr,omitempty"`
	Encoding string `xml:"Encoding,attr,omitempty"`
	Value    string `xml:",chardata"`
}

// MssURI wraps a URI the way the standard does (<mssURI>...</mssURI>).
type MssURI struct {
	URI string `xml:"mssURI"`
}

// SignatureReq is MSS_SignatureReq.
type SignatureReq struct {
	XMLName           xml.Name   `xml:"MSS_SignatureReq"`
	MajorVersion      string     `xml:"MajorVersion,attr"`
	MinorVersion      string     `xml:"MinorVersion,attr"`
	MessagingMode     string     `xml:"MessagingMode,attr"`
	TimeOut           string     `xml:"TimeOut,attr,omitempty"`
	APInfo            APInfo     `xml:"AP_Info"`
	MSSPInfo          MSSPInfo   `xml:"MSSP_Info"`
	MobileUser        MobileUser `xml:"MobileUser"`
	DataToBeSigned    Data       `xml:"DataToBeSigned"`
	DataToBeDisplayed *Data      `xml:"DataToBeDisplayed,omitempty"`
	SignatureProfile  *MssURI    `xml:"SignatureProfile,omitempty"`
	MSSFormat         *MssURI    `xml:"MSS_Format,omitempty"`
}

// Signature is the MSS_Signature element of a response. Only the
// Base64Signature choice is supported: a raw signature (PKCS1 format) or a
// DER CMS SignedData (PKCS7 format).
type Signature struct {
	Base64Signature string `xml:"Base64Signature"`
}

// StatusCode carries the numeric status.
type StatusCode struct {
	Value int `xml:"Value,attr"`
}

// Status is the Status element of a response.
type Status struct {
	StatusCode    StatusCode `xml:"StatusCode"`
	StatusMessage string     `xml:"StatusMessage,omitempty"`
	StatusDetail  string     `xml:"StatusDetail,omitempty"`
}

// NewStatus returns a Status with the standard message for code.
func NewStatus(code int) Status {
	return Status{StatusCode: StatusCode{Value: code}, StatusMessage: StatusMessage(code)}
}

// SignatureResp is MSS_SignatureResp.
type SignatureResp struct {
	XMLName          xml.Name   `xml:"MSS_SignatureResp"`
	MajorVersion     string     `xml:"MajorVersion,attr"`
	MinorVersion     string     `xml:"MinorVersion,attr"`
	MSSPTransID      string     `xml:"MSSP_TransID,attr"`
	APInfo           APInfo     `xml:"AP_Info"`
	MSSPInfo         MSSPInfo   `xml:"MSSP_Info"`
	MobileUser       MobileUser `xml:"MobileUser"`
	MSSSignature     *Signature `xml:"MSS_Signature,omitempty"`
	SignatureProfile *MssURI    `xml:"SignatureProfile,omitempty"`
	Status           Status     `xml:"Status"`
}

// StatusReq is MSS_StatusReq.
type StatusReq struct {
	XMLName      xml.Name `xml:"MSS_StatusReq"`
	MajorVersion string   `xml:"MajorVersion,attr"`
	MinorVersion string   `xml:"MinorVersion,attr"`
	MSSPTransID  string   `xml:"MSSP_TransID,attr"`
	APInfo       APInfo   `xml:"AP_Info"`
	MSSPInfo     MSSPInfo `xml:"MSSP_Info"`
}

// StatusResp is MSS_StatusResp.
type StatusResp struct {
	XMLName      xml.Name   `xml:"MSS_StatusResp"`
	MajorVersion string     `xml:"MajorVersion,attr"`
	MinorVersion string     `xml:"MinorVersion,attr"`
	APInfo       APInfo     `xml:"AP_Info"`
	MSSPInfo     MSSPInfo   `xml:"MSSP_Info"`
	MobileUser   MobileUser `xml:"MobileUser"`
	MSSSignature *Signature `xml:"MSS_Signature,omitempty"`
	Status       Status     `xml:"Status"`
}

// Instant formats t as the xs:dateTime the standard uses.
func Instant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// Envelope writes body, wrapped in the operation element named wrapper (in
// the MSS namespace), inside a SOAP envelope of version v.
func Envelope(v SOAPVersion, wrapper string, body any) ([]byte, error) {
	inner, err := xml.Marshal(body)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<soap:Envelope xmlns:soap="` + v.Namespace() + `"><soap:Body>`)
	b.WriteString(`<` + wrapper + ` xmlns="` + NamespaceMSS + `">`)
	b.Write(inner)
	b.WriteString(`</` + wrapper + `></soap:Body></soap:Envelope>`)
	return b.Bytes(), nil
}

// Fault is a SOAP fault. Subcode is the ETSI status code carried as the
// `_NNN` subcode (SOAP 1.2) or fault code (SOAP 1.1); zero when the fault
// carries none.
type Fault struct {
	Version SOAPVersion
	// Code is the SOAP fault code's local part: Sender/Receiver (1.2) or
	// Client/Server (1.1).
	Code    string
	Subcode int
	Reason  string
	Detail  string
}

func (f *Fault) Error() string {
	msg := "SOAP fault " + f.Code
	if f.Subcode != 0 {
		msg += fmt.Sprintf(" _%d", f.Subcode)
	}
	if f.Reason != "" {
		msg += ": " + f.Reason
	}
	if f.Detail != "" {
		msg += " (" + f.Detail + ")"
	}
	return msg
}

// FaultEnvelope writes a fault with ETSI subcode code. Client-side codes
// (1xx, 4xx) get Sender/Client, the rest Receiver/Server.
func FaultEnvelope(v SOAPVersion, code int, detail string) []byte {
	sender := code < 200 || (code >= 400 && code < 500)
	esc := func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	reason := StatusMessage(code)
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<soap:Envelope xmlns:soap="` + v.Namespace() + `" xmlns:mss="` + NamespaceMSS + `"><soap:Body><soap:Fault>`)
	if v == SOAP12 {
		top := "soap:Receiver"
		if sender {
			top = "soap:Sender"
		}
		fmt.Fprintf(&b, `<soap:Code><soap:Value>%s</soap:Value><soap:Subcode><soap:Value>mss:_%d</soap:Value></soap:Subcode></soap:Code>`, top, code)
		fmt.Fprintf(&b, `<soap:Reason><soap:Text xml:lang="en">%s</soap:Text></soap:Reason>`, esc(reason))
		if detail != "" {
			fmt.Fprintf(&b, `<soap:Detail><mss:detail>%s</mss:detail></soap:Detail>`, esc(detail))
		}
	} else {
		// SOAP 1.1 has no subcodes; ETSI bindings carry the status as the
		// fault code QName itself.
		fmt.Fprintf(&b, `<faultcode>mss:_%d</faultcode><faultstring>%s</faultstring>`, code, esc(reason))
		if detail != "" {
			fmt.Fprintf(&b, `<detail><mss:detail>%s</mss:detail></detail>`, esc(detail))
		}
	}
	b.WriteString(`</soap:Fault></soap:Body></soap:Envelope>`)
	return []byte(b.String())
}

// rawFault accepts both SOAP 1.1 and 1.2 fault shapes.
type rawFault struct {
	Code *struct {
		Value   string      `xml:"Value"`
		Subcode *rawSubcode `xml:"Subcode"`
	} `xml:"Code"`
	Reason *struct {
		Text []string `xml:"Text"`
	} `xml:"Reason"`
	Detail *struct {
		Text  string `xml:",chardata"`
		Inner []struct {
			Text string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"Detail"`
	FaultCode   string `xml:"faultcode"`
	FaultString string `xml:"faultstring"`
	Detail11    *struct {
		Text  string `xml:",chardata"`
		Inner []struct {
			Text string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"detail"`
}

type rawSubcode struct {
	Value   string      `xml:"Value"`
	Subcode *rawSubcode `xml:"Subcode"`
}

// etsiCode extracts NNN from a QName such as "mss:_101", "_101" or
// "soap:Client._101"; 0 when there is none.
func etsiCode(qname string) int {
	qname = strings.TrimSpace(qname)
	i := strings.LastIndex(qname, "_")
	if i < 0 || len(qname)-i-1 != 3 {
		return 0
	}
	n, err := strconv.Atoi(qname[i+1:])
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

func localPart(qname string) string {
	qname = strings.TrimSpace(qname)
	if i := strings.LastIndex(qname, ":"); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

func (r *rawFault) fault(v SOAPVersion) *Fault {
	f := &Fault{Version: v}
	if r.Code != nil {
		f.Code = localPart(r.Code.Value)
		for s := r.Code.Subcode; s != nil && f.Subcode == 0; s = s.Subcode {
			f.Subcode = etsiCode(s.Value)
		}
		if f.Subcode == 0 {
			f.Subcode = etsiCode(r.Code.Value)
		}
	}
	if r.FaultCode != "" {
		f.Code = localPart(r.FaultCode)
		if f.Subcode == 0 {
			f.Subcode = etsiCode(r.FaultCode)
		}
	}
	if r.Reason != nil && len(r.Reason.Text) > 0 {
		f.Reason = strings.TrimSpace(r.Reason.Text[0])
	}
	if f.Reason == "" {
		f.Reason = strings.TrimSpace(r.FaultString)
	}
	detail := r.Detail
	if detail == nil {
		detail = r.Detail11
	}
	if detail != nil {
		parts := []string{}
		if t := strings.TrimSpace(detail.Text); t != "" {
			parts = append(parts, t)
		}
		for _, in := range detail.Inner {
			if t := strings.TrimSpace(in.Text); t != "" {
				parts = append(parts, t)
			}
		}
		f.Detail = strings.Join(parts, "; ")
	}
	return f
}

// MaxMessageSize bounds what Decode reads: MSS messages are a few
// kilobytes; a CMS with a chain stays far below this.
const MaxMessageSize = 1 << 20

// ErrNoMessage is returned by Decode when the Body holds none of the
// wanted elements and no fault.
var ErrNoMessage = errors.New("wire: SOAP body holds no known MSS message")

// Decode reads a SOAP envelope from r and decodes the first element inside
// the Body whose local name is a key of targets into that target, at any
// depth (operators wrap messages in differently named operation elements).
// It returns the envelope version and the name decoded. A SOAP fault is
// returned as a *Fault error.
func Decode(r io.Reader, targets map[string]any) (SOAPVersion, string, error) {
	dec := xml.NewDecoder(io.LimitReader(r, MaxMessageSize))
	var version SOAPVersion
	inBody := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return version, "", ErrNoMessage
		}
		if err != nil {
			return version, "", fmt.Errorf("wire: malformed SOAP message: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case version == 0:
			if se.Name.Local != "Envelope" {
				return 0, "", fmt.Errorf("wire: not a SOAP envelope (root element %q)", se.Name.Local)
			}
			switch se.Name.Space {
			case NamespaceS11:
				version = SOAP11
			case NamespaceS12:
				version = SOAP12
			default:
				return 0, "", fmt.Errorf("wire: unknown SOAP envelope namespace %q", se.Name.Space)
			}
		case !inBody:
			if se.Name.Local == "Body" && se.Name.Space == version.Namespace() {
				inBody = true
			} else if err := dec.Skip(); err != nil { // SOAP Header
				return version, "", fmt.Errorf("wire: malformed SOAP message: %w", err)
			}
		case se.Name.Local == "Fault" && se.Name.Space == version.Namespace():
			var rf rawFault
			if err := dec.DecodeElement(&rf, &se); err != nil {
				return version, "", fmt.Errorf("wire: malformed SOAP fault: %w", err)
			}
			return version, "", rf.fault(version)
		default:
			if t, ok := targets[se.Name.Local]; ok {
				if err := dec.DecodeElement(t, &se); err != nil {
					return version, "", fmt.Errorf("wire: malformed %s: %w", se.Name.Local, err)
				}
				return version, se.Name.Local, nil
			}
			// Descend into wrapper elements.
		}
	}
}

// VerificationCode is the four-digit code the phone shows next to the
// request, computed from the digest being signed as Mobile-ID does:
// %04d of ((h[0] & 0xFC) << 5) | (h[len-1] & 0x7F). It lets the user match
// the prompt on the phone with the pending request on screen.
func VerificationCode(digest []byte) string {
	if len(digest) == 0 {
		return ""
	}
	v := (int(digest[0]&0xFC) << 5) | int(digest[len(digest)-1]&0x7F)
	return fmt.Sprintf("%04d", v)
}

var hashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   {1, 3, 14, 3, 2, 26},
	crypto.SHA224: {2, 16, 840, 1, 101, 3, 4, 2, 4},
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// HashOID returns the algorithm identifier OID of h.
func HashOID(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	oid, ok := hashOIDs[h]
	return oid, ok
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type digestInfo struct {
	Algorithm algorithmIdentifier
	Digest    []byte
}

// DigestInfo returns the DER DigestInfo (PKCS#1 v2.2 section 9.2) of digest:
// what an RSA SIM signs with raw PKCS#1 v1.5 padding.
func DigestInfo(h crypto.Hash, digest []byte) ([]byte, error) {
	oid, ok := hashOIDs[h]
	if !ok {
		return nil, fmt.Errorf("wire: no DigestInfo for hash %v", h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("wire: digest has %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	return asn1.Marshal(digestInfo{
		Algorithm: algorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue},
		Digest:    digest,
	})
}

// ParseDigestInfo is the inverse of DigestInfo. It fails on anything that is
// not exactly one DigestInfo of a known hash with a digest of its size.
func ParseDigestInfo(der []byte) (crypto.Hash, []byte, error) {
	var di digestInfo
	rest, err := asn1.Unmarshal(der, &di)
	if err != nil {
		return 0, nil, fmt.Errorf("wire: not a DigestInfo: %w", err)
	}
	if len(rest) != 0 {
		return 0, nil, errors.New("wire: trailing data after DigestInfo")
	}
	for h, oid := range hashOIDs {
		if oid.Equal(di.Algorithm.Algorithm) {
			if len(di.Digest) != h.Size() {
				return 0, nil, fmt.Errorf("wire: DigestInfo digest has %d bytes, %v needs %d", len(di.Digest), h, h.Size())
			}
			return h, di.Digest, nil
		}
	}
	return 0, nil, fmt.Errorf("wire: DigestInfo names unknown hash %v", di.Algorithm.Algorithm)
}
