// Package edxml reads and writes edXML packages and status messages, the
// format in which Vietnamese agencies exchange documents over the national
// and provincial document interconnection axes (QCVN 102:2016/BTTTT,
// amended 2022).
//
// A package is
//
//	edXML
//	  edXMLEnvelope
//	    edXMLHeader: MessageHeader, TraceHeaderList, (ds:Signature)
//	    edXMLBody: edXMLManifest of Reference
//	  AttachmentEncoded: Attachment{ContentId, AttachmentName, Description,
//	                                ContentType, ContentTransferEncoded (base64)}
//
// Attachments are streamed both ways: Encode takes an io.Reader per
// attachment and base64-encodes it while writing, Decode hands the decoded
// bytes of each attachment to a callback as an io.Reader while reading, so a
// 10 MB attachment never sits in memory. The reader is our own small XML
// tokenizer rather than encoding/xml, whose Token returns a text node whole.
// It refuses DTDs and entities other than the predefined ones, enforces
// Limits, tolerates prefixed and default namespaces and elements it does not
// know (kept in Extra and written back), and reports every problem as an
// *Error naming the element.
//
// The package knows nothing of HTTP, databases or vanban's documents.
package edxml

import (
	"fmt"
	"strings"
	"time"
)

// Namespace is the edXML namespace of QCVN 102:2016.
const Namespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

// DSigNamespace is the XML-DSig namespace of the Signature element some
// senders put in edXMLHeader.
const DSigNamespace = "http://www.w3.org/2000/09/xmldsig#"

// Organization is a sender or recipient (From, To, Status/From).
type Organization struct {
	OrganId              string `json:"organId"`
	OrganizationInCharge string `json:"organizationInCharge,omitempty"`
	OrganName            string `json:"organName,omitempty"`
	OrganAdd             string `json:"organAdd,omitempty"`
	Email                string `json:"email,omitempty"`
	Telephone            string `json:"telephone,omitempty"`
	Fax                  string `json:"fax,omitempty"`
	Website              string `json:"website,omitempty"`
}

// Code is the document's number and notation (số, ký hiệu): CodeNumber
// "12", CodeNotation "QĐ-UBND".
type Code struct {
	CodeNumber   string `json:"codeNumber,omitempty"`
	CodeNotation string `json:"codeNotation,omitempty"`
}

// PromulgationInfo is the place and date of issue; the date is yyyy/mm/dd.
type PromulgationInfo struct {
	Place            string `json:"place,omitempty"`
	PromulgationDate string `json:"promulgationDate,omitempty"`
}

// DocumentType is the document's type: Type 1 for legal normative documents,
// 2 for administrative ones; TypeDetail the detailed code; TypeName its name.
type DocumentType struct {
	Type       string `json:"type,omitempty"`
	TypeDetail string `json:"typeDetail,omitempty"`
	TypeName   string `json:"typeName,omitempty"`
}

// SignerInfo is who signed: Competence is the capacity (TM., KT., TL.,
// TUQ., Q. or empty), Position the title, FullName the name.
type SignerInfo struct {
	Competence string `json:"competence,omitempty"`
	Position   string `json:"position,omitempty"`
	FullName   string `json:"fullName,omitempty"`
}

// OtherInfo carries the remaining metadata of a document.
type OtherInfo struct {
	Priority             string   `json:"priority,omitempty"` // 0 normal, 1 urgent, 2 very urgent, 3 fire-fast, 4 fire-fast with timing
	SphereOfPromulgation string   `json:"sphereOfPromulgation,omitempty"`
	TyperNotation        string   `json:"typerNotation,omitempty"`
	PromulgationAmount   string   `json:"promulgationAmount,omitempty"`
	PageAmount           string   `json:"pageAmount,omitempty"`
	Direction            string   `json:"direction,omitempty"`
	Appendixes           []string `json:"appendixes,omitempty"`
}

// ResponseFor points at the document a package or status answers.
type ResponseFor struct {
	OrganId          string `json:"organId,omitempty"`
	Code             string `json:"code,omitempty"`
	PromulgationDate string `json:"promulgationDate,omitempty"`
	DocumentId       string `json:"documentId,omitempty"`
}

// MessageHeader is the document's metadata.
type MessageHeader struct {
	From             Organization     `json:"from"`
	To               []Organization   `json:"to"`
	DocumentId       string           `json:"documentId"`
	Code             Code             `json:"code"`
	PromulgationInfo PromulgationInfo `json:"promulgationInfo"`
	DocumentType     DocumentType     `json:"documentType"`
	Subject          string           `json:"subject,omitempty"`
	Content          string           `json:"content,omitempty"`
	SignerInfo       SignerInfo       `json:"signerInfo"`
	DueDate          string           `json:"dueDate,omitempty"`
	OtherInfo        OtherInfo        `json:"otherInfo"`
	SteeringType     string           `json:"steeringType,omitempty"`
	ToPlaces         []string         `json:"toPlaces,omitempty"`
	ResponseFor      []ResponseFor    `json:"responseFor,omitempty"`
	// Extra holds child elements this package does not know, in order.
	Extra []*Element `json:"extra,omitempty"`
}

// TraceHeader records one hop: which agency handled the package when.
type TraceHeader struct {
	OrganId   string `json:"organId"`
	Timestamp string `json:"timestamp,omitempty"` // yyyy/mm/dd hh:mm:ss
}

// BussinessDocType says what a package does to a document (the spelling
// "Bussiness" is the standard's).
type BussinessDocType int

const (
	DocNew     BussinessDocType = 0 // văn bản mới
	DocRecall  BussinessDocType = 1 // thu hồi
	DocUpdate  BussinessDocType = 2 // cập nhật
	DocReplace BussinessDocType = 3 // thay thế
)

// Name is the Vietnamese name of the business type.
func (t BussinessDocType) Name() string {
	switch t {
	case DocNew:
		return "Văn bản mới"
	case DocRecall:
		return "Thu hồi"
	case DocUpdate:
		return "Cập nhật"
	case DocReplace:
		return "Thay thế"
	}
	return fmt.Sprintf("BussinessDocType(%d)", int(t))
}

// StaffInfo is the person who handled a package or status.
type StaffInfo struct {
	Department string `json:"department,omitempty"`
	Staff      string `json:"staff,omitempty"`
	Email      string `json:"email,omitempty"`
	Mobile     string `json:"mobile,omitempty"`
}

// ReplacementInfo names a document being replaced and the agencies it went to.
type ReplacementInfo struct {
	DocumentId  string   `json:"documentId"`
	OrganIdList []string `json:"organIdList,omitempty"`
}

// Bussiness is the business part of the trace: new, recall, update, replace.
type Bussiness struct {
	DocumentId          string            `json:"documentId,omitempty"`
	BussinessDocType    BussinessDocType  `json:"bussinessDocType"`
	BussinessDocReason  string            `json:"bussinessDocReason,omitempty"`
	Paper               string            `json:"paper,omitempty"` // 1: a paper copy follows
	StaffInfo           StaffInfo         `json:"staffInfo"`
	ReplacementInfoList []ReplacementInfo `json:"replacementInfoList,omitempty"`
	// Extra holds BussinessDocumentInfo and whatever else a sender adds.
	Extra []*Element `json:"extra,omitempty"`
}

// TraceHeaderList is the route a package took and its business type.
type TraceHeaderList struct {
	TraceHeaders []TraceHeader `json:"traceHeaders,omitempty"`
	Bussiness    *Bussiness    `json:"bussiness,omitempty"`
}

// Header is edXMLHeader.
type Header struct {
	MessageHeader   MessageHeader   `json:"messageHeader"`
	TraceHeaderList TraceHeaderList `json:"traceHeaderList"`
	// Signature is the XML-DSig Signature element when the sender put one in
	// the header. It is kept and written back but not verified: the
	// signatures that count are the PAdES ones in the PDF, and re-encoding
	// changes the bytes an XML signature covers.
	Signature *Element   `json:"signature,omitempty"`
	Extra     []*Element `json:"extra,omitempty"`
}

// Reference is a manifest entry; ContentId is "cid:..." and names an
// Attachment by its ContentId.
type Reference struct {
	ContentId      string `json:"contentId"`
	ContentType    string `json:"contentType,omitempty"`
	Description    string `json:"description,omitempty"`
	AttachmentName string `json:"attachmentName,omitempty"`
}

// Attachment describes one attachment. Size is the number of decoded bytes;
// Decode fills it, Encode ignores it.
type Attachment struct {
	ContentId      string `json:"contentId"`
	AttachmentName string `json:"attachmentName,omitempty"`
	Description    string `json:"description,omitempty"`
	ContentType    string `json:"contentType,omitempty"`
	Size           int64  `json:"size"`
}

// Package is a whole edXML package except the attachments' content.
type Package struct {
	Header      Header       `json:"header"`
	References  []Reference  `json:"references,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// BussinessDocType returns the package's business type, DocNew when absent.
func (p *Package) BussinessDocType() BussinessDocType {
	if b := p.Header.TraceHeaderList.Bussiness; b != nil {
		return b.BussinessDocType
	}
	return DocNew
}

// StatusCode is the processing status a receiver reports back.
type StatusCode string

const (
	StatusArrived         StatusCode = "01" // đã đến
	StatusRefused         StatusCode = "02" // từ chối tiếp nhận
	StatusAccepted        StatusCode = "03" // đã tiếp nhận
	StatusAssigned        StatusCode = "04" // phân công
	StatusInProgress      StatusCode = "05" // đang xử lý
	StatusDone            StatusCode = "06" // hoàn thành
	StatusRecallRequested StatusCode = "13" // lấy lại / thu hồi
	StatusRecallAgreed    StatusCode = "15" // đồng ý thu hồi
	StatusRecallRefused   StatusCode = "16" // từ chối thu hồi
)

var statusNames = map[StatusCode]string{
	StatusArrived:         "Đã đến",
	StatusRefused:         "Từ chối tiếp nhận",
	StatusAccepted:        "Đã tiếp nhận",
	StatusAssigned:        "Phân công",
	StatusInProgress:      "Đang xử lý",
	StatusDone:            "Hoàn thành",
	StatusRecallRequested: "Lấy lại / thu hồi",
	StatusRecallAgreed:    "Đồng ý thu hồi",
	StatusRecallRefused:   "Từ chối thu hồi",
}

// Known reports whether c is one of the codes above.
func (c StatusCode) Known() bool { _, ok := statusNames[c]; return ok }

// Name is the Vietnamese name of the code, or the code itself if unknown.
func (c StatusCode) Name() string {
	if n, ok := statusNames[c]; ok {
		return n
	}
	return string(c)
}

// Status is a status message about a document sent earlier.
type Status struct {
	ResponseFor ResponseFor  `json:"responseFor"`
	From        Organization `json:"from"`
	StatusCode  StatusCode   `json:"statusCode"`
	Description string       `json:"description,omitempty"`
	Timestamp   string       `json:"timestamp,omitempty"`
	StaffInfo   StaffInfo    `json:"staffInfo"`
}

// Message is what Decode found: exactly one of Package and Status is set.
type Message struct {
	Package *Package `json:"package,omitempty"`
	Status  *Status  `json:"status,omitempty"`
}

// MaxOrganIdLen is the longest identifier code Decision 20/2020/QĐ-TTg allows.
const MaxOrganIdLen = 35

// ValidOrganId reports whether id is an identifier code of Decision
// 20/2020/QĐ-TTg: groups of digits and capital letters separated by dots, at
// most 35 characters (e.g. "000.00.00.G22", "002.00.20.H13").
func ValidOrganId(id string) bool {
	if id == "" || len(id) > MaxOrganIdLen {
		return false
	}
	group := 0
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			group++
		case c == '.':
			if group == 0 {
				return false
			}
			group = 0
		default:
			return false
		}
	}
	return group > 0
}

// Date layouts used by edXML.
const (
	DateLayout      = "2006/01/02"
	TimestampLayout = "2006/01/02 15:04:05"
)

// FormatDate writes t as yyyy/mm/dd in Vietnam time.
func FormatDate(t time.Time) string { return t.In(vietnam).Format(DateLayout) }

// FormatTimestamp writes t as yyyy/mm/dd hh:mm:ss in Vietnam time.
func FormatTimestamp(t time.Time) string { return t.In(vietnam).Format(TimestampLayout) }

// ParseTimestamp reads the timestamp forms senders use: ours, dd/mm/yyyy
// hh:mm:ss (several .NET systems) and RFC 3339. Times without a zone are
// Vietnam time.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{TimestampLayout, "02/01/2006 15:04:05", DateLayout, "02/01/2006"} {
		if t, err := time.ParseInLocation(layout, s, vietnam); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("edxml: %q is not a timestamp (want yyyy/mm/dd hh:mm:ss)", s)
}

var vietnam = time.FixedZone("ICT", 7*3600)

// DocumentIdOf builds a DocumentId: "OrganId,yyyy/mm/dd,number/notation".
func DocumentIdOf(organId string, date time.Time, number, notation string) string {
	return organId + "," + FormatDate(date) + "," + number + "/" + notation
}
