package edxml

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Encode writes p as an edXML package to w. contents[i] is the content of
// p.Attachments[i]; it is read once and base64-encoded as it is written, so
// attachments of any size pass with a few kilobytes of memory. p is
// validated first; leaf values are written without surrounding whitespace
// (Decode trims it), so Decode(Encode(p)) gives p back.
func Encode(w io.Writer, p *Package, contents []io.Reader) error {
	if len(contents) != len(p.Attachments) {
		return fmt.Errorf("edxml: %d attachments but %d contents", len(p.Attachments), len(contents))
	}
	if err := p.Validate(); err != nil {
		return err
	}
	e := newWriter(w)
	e.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	e.raw(`<edXML:edXML xmlns:edXML="` + Namespace + `">`)
	e.open("edXMLEnvelope")
	e.open("edXMLHeader")
	e.messageHeader(&p.Header.MessageHeader)
	e.trace(&p.Header.TraceHeaderList)
	if p.Header.Signature != nil {
		e.element(p.Header.Signature, Namespace)
	}
	e.elements(p.Header.Extra)
	e.close("edXMLHeader")
	e.open("edXMLBody")
	e.open("edXMLManifest")
	for _, r := range p.References {
		e.open("Reference")
		e.leaf("ContentId", r.ContentId)
		e.leaf("ContentType", r.ContentType)
		e.leaf("Description", r.Description)
		e.leaf("AttachmentName", r.AttachmentName)
		e.close("Reference")
	}
	e.close("edXMLManifest")
	e.close("edXMLBody")
	e.close("edXMLEnvelope")
	if len(p.Attachments) > 0 {
		e.open("AttachmentEncoded")
		for i, a := range p.Attachments {
			e.open("Attachment")
			e.leaf("ContentId", a.ContentId)
			e.leaf("AttachmentName", a.AttachmentName)
			e.leaf("Description", a.Description)
			e.leaf("ContentType", a.ContentType)
			e.raw("<edXML:ContentTransferEncoded>")
			if e.err == nil {
				e.base64(contents[i], a.AttachmentName)
			}
			e.raw("</edXML:ContentTransferEncoded>")
			e.close("Attachment")
		}
		e.close("AttachmentEncoded")
	}
	e.raw("</edXML:edXML>\n")
	return e.flush()
}

// EncodeStatus writes a status message: edXML > edXMLEnvelope > edXMLHeader
// > Status, the form the axes carry.
func EncodeStatus(w io.Writer, s *Status) error {
	if err := s.Validate(); err != nil {
		return err
	}
	e := newWriter(w)
	e.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	e.raw(`<edXML:edXML xmlns:edXML="` + Namespace + `">`)
	e.open("edXMLEnvelope")
	e.open("edXMLHeader")
	e.open("Status")
	e.responseFor("ResponseFor", s.ResponseFor, true)
	e.organization("From", s.From, true)
	e.leaf("StatusCode", string(s.StatusCode))
	e.leaf("Description", s.Description)
	e.leaf("Timestamp", s.Timestamp)
	e.staff(s.StaffInfo)
	e.close("Status")
	e.close("edXMLHeader")
	e.close("edXMLEnvelope")
	e.raw("</edXML:edXML>\n")
	return e.flush()
}

type writer struct {
	w    *bufio.Writer
	err  error
	path []string
}

func newWriter(w io.Writer) *writer { return &writer{w: bufio.NewWriterSize(w, 32<<10)} }

func (e *writer) raw(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *writer) open(local string) {
	e.path = append(e.path, local)
	e.raw("<edXML:" + local + ">")
}

func (e *writer) close(local string) {
	e.path = e.path[:len(e.path)-1]
	e.raw("</edXML:" + local + ">")
}

func (e *writer) flush() error {
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// text writes escaped character data, refusing what XML cannot carry.
func (e *writer) text(local, v string) {
	if e.err != nil {
		return
	}
	if !utf8.ValidString(v) {
		e.err = errf(KindInvalid, strings.Join(append(e.path, local), "/"), "value is not UTF-8")
		return
	}
	for _, r := range v {
		if !isXMLChar(r) {
			e.err = errf(KindInvalid, strings.Join(append(e.path, local), "/"), "character %U cannot be written in XML", r)
			return
		}
	}
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\r':
			b.WriteString("&#13;") // a literal CR would be normalized away by readers
		default:
			b.WriteRune(r)
		}
	}
	e.raw(b.String())
}

// leaf writes <edXML:local>v</edXML:local>, or nothing when v is empty.
func (e *writer) leaf(local, v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	e.raw("<edXML:" + local + ">")
	e.text(local, v)
	e.raw("</edXML:" + local + ">")
}

func nonEmpty(vs ...string) bool {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

func (e *writer) organization(local string, o Organization, always bool) {
	if !always && !nonEmpty(o.OrganId, o.OrganizationInCharge, o.OrganName, o.OrganAdd, o.Email, o.Telephone, o.Fax, o.Website) {
		return
	}
	e.open(local)
	e.leaf("OrganId", o.OrganId)
	e.leaf("OrganizationInCharge", o.OrganizationInCharge)
	e.leaf("OrganName", o.OrganName)
	e.leaf("OrganAdd", o.OrganAdd)
	e.leaf("Email", o.Email)
	e.leaf("Telephone", o.Telephone)
	e.leaf("Fax", o.Fax)
	e.leaf("Website", o.Website)
	e.close(local)
}

func (e *writer) responseFor(local string, r ResponseFor, always bool) {
	if !always && !nonEmpty(r.OrganId, r.Code, r.PromulgationDate, r.DocumentId) {
		return
	}
	e.open(local)
	e.leaf("OrganId", r.OrganId)
	e.leaf("Code", r.Code)
	e.leaf("PromulgationDate", r.PromulgationDate)
	e.leaf("DocumentId", r.DocumentId)
	e.close(local)
}

func (e *writer) staff(s StaffInfo) {
	if !nonEmpty(s.Department, s.Staff, s.Email, s.Mobile) {
		return
	}
	e.open("StaffInfo")
	e.leaf("Department", s.Department)
	e.leaf("Staff", s.Staff)
	e.leaf("Email", s.Email)
	e.leaf("Mobile", s.Mobile)
	e.close("StaffInfo")
}

func (e *writer) messageHeader(m *MessageHeader) {
	e.open("MessageHeader")
	e.organization("From", m.From, true)
	for _, to := range m.To {
		e.organization("To", to, true)
	}
	e.leaf("DocumentId", m.DocumentId)
	if nonEmpty(m.Code.CodeNumber, m.Code.CodeNotation) {
		e.open("Code")
		e.leaf("CodeNumber", m.Code.CodeNumber)
		e.leaf("CodeNotation", m.Code.CodeNotation)
		e.close("Code")
	}
	if nonEmpty(m.PromulgationInfo.Place, m.PromulgationInfo.PromulgationDate) {
		e.open("PromulgationInfo")
		e.leaf("Place", m.PromulgationInfo.Place)
		e.leaf("PromulgationDate", m.PromulgationInfo.PromulgationDate)
		e.close("PromulgationInfo")
	}
	if t := m.DocumentType; nonEmpty(t.Type, t.TypeDetail, t.TypeName) {
		e.open("DocumentType")
		e.leaf("Type", t.Type)
		e.leaf("TypeDetail", t.TypeDetail)
		e.leaf("TypeName", t.TypeName)
		e.close("DocumentType")
	}
	e.leaf("Subject", m.Subject)
	e.leaf("Content", m.Content)
	if s := m.SignerInfo; nonEmpty(s.Competence, s.Position, s.FullName) {
		e.open("SignerInfo")
		e.leaf("Competence", s.Competence)
		e.leaf("Position", s.Position)
		e.leaf("FullName", s.FullName)
		e.close("SignerInfo")
	}
	e.leaf("DueDate", m.DueDate)
	if o := m.OtherInfo; nonEmpty(o.Priority, o.SphereOfPromulgation, o.TyperNotation, o.PromulgationAmount, o.PageAmount, o.Direction) || len(o.Appendixes) > 0 {
		e.open("OtherInfo")
		e.leaf("Priority", o.Priority)
		e.leaf("SphereOfPromulgation", o.SphereOfPromulgation)
		e.leaf("TyperNotation", o.TyperNotation)
		e.leaf("PromulgationAmount", o.PromulgationAmount)
		e.leaf("PageAmount", o.PageAmount)
		e.leaf("Direction", o.Direction)
		if len(o.Appendixes) > 0 {
			e.open("Appendixes")
			for _, a := range o.Appendixes {
				e.leaf("Appendix", a)
			}
			e.close("Appendixes")
		}
		e.close("OtherInfo")
	}
	e.leaf("SteeringType", m.SteeringType)
	if len(m.ToPlaces) > 0 {
		e.open("ToPlaces")
		for _, p := range m.ToPlaces {
			e.leaf("Place", p)
		}
		e.close("ToPlaces")
	}
	for _, r := range m.ResponseFor {
		e.responseFor("ResponseFor", r, true)
	}
	e.elements(m.Extra)
	e.close("MessageHeader")
}

func (e *writer) trace(t *TraceHeaderList) {
	if len(t.TraceHeaders) == 0 && t.Bussiness == nil {
		return
	}
	e.open("TraceHeaderList")
	for _, h := range t.TraceHeaders {
		e.open("TraceHeader")
		e.leaf("OrganId", h.OrganId)
		e.leaf("Timestamp", h.Timestamp)
		e.close("TraceHeader")
	}
	if b := t.Bussiness; b != nil {
		e.open("Bussiness")
		e.leaf("DocumentId", b.DocumentId)
		e.leaf("BussinessDocType", strconv.Itoa(int(b.BussinessDocType)))
		e.leaf("BussinessDocReason", b.BussinessDocReason)
		e.leaf("Paper", b.Paper)
		e.staff(b.StaffInfo)
		if len(b.ReplacementInfoList) > 0 {
			e.open("ReplacementInfoList")
			for _, r := range b.ReplacementInfoList {
				e.open("ReplacementInfo")
				e.leaf("DocumentId", r.DocumentId)
				if len(r.OrganIdList) > 0 {
					e.open("OrganIdList")
					for _, id := range r.OrganIdList {
						e.leaf("OrganId", id)
					}
					e.close("OrganIdList")
				}
				e.close("ReplacementInfo")
			}
			e.close("ReplacementInfoList")
		}
		e.elements(b.Extra)
		e.close("Bussiness")
	}
	e.close("TraceHeaderList")
}

func (e *writer) elements(es []*Element) {
	for _, x := range es {
		e.element(x, Namespace)
	}
}

// element writes a kept element back. Elements in the edXML namespace use
// the edXML prefix; others get a prefix declared where their namespace
// starts; elements in no namespace are written unprefixed (our root
// declares no default namespace).
func (e *writer) element(x *Element, parentSpace string) {
	if e.err != nil {
		return
	}
	var qn, decl string
	switch x.Space {
	case Namespace, legacyNamespace:
		qn = "edXML:" + x.Local
		if x.Space == legacyNamespace {
			qn, decl = "old:"+x.Local, ` xmlns:old="`+legacyNamespace+`"`
		}
	case "":
		qn = x.Local
	default:
		qn = "ns:" + x.Local
		if x.Space != parentSpace {
			decl = ` xmlns:ns="` + escapeAttr(x.Space) + `"`
		}
	}
	if !validName(x.Local) {
		e.err = errf(KindInvalid, strings.Join(e.path, "/"), "cannot write element named %q", x.Local)
		return
	}
	e.path = append(e.path, x.Local)
	defer func() { e.path = e.path[:len(e.path)-1] }()
	e.raw("<" + qn + decl)
	// Attributes in a namespace get prefixes a0, a1, ... declared here.
	spaces := map[string]string{}
	var order []string
	for _, a := range x.Attrs {
		if a.Space != "" && spaces[a.Space] == "" {
			spaces[a.Space] = "a" + strconv.Itoa(len(spaces))
			order = append(order, a.Space)
		}
	}
	sort.Strings(order)
	for _, s := range order {
		e.raw(" xmlns:" + spaces[s] + `="` + escapeAttr(s) + `"`)
	}
	for _, a := range x.Attrs {
		if !validName(a.Local) {
			e.err = errf(KindInvalid, strings.Join(e.path, "/"), "cannot write attribute named %q", a.Local)
			return
		}
		an := a.Local
		if a.Space != "" {
			an = spaces[a.Space] + ":" + a.Local
		}
		e.raw(" " + an + `="` + escapeAttr(a.Value) + `"`)
	}
	e.raw(">")
	e.text(x.Local, x.Text)
	for _, c := range x.Children {
		e.element(c, x.Space)
	}
	e.raw("</" + qn + ">")
}

func validName(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n<>&\"'/=:") {
		return false
	}
	c := s[0]
	return c != '-' && c != '.' && (c < '0' || c > '9') && utf8.ValidString(s)
}

func escapeAttr(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\t", "&#9;", "\n", "&#10;", "\r", "&#13;")
	return r.Replace(s)
}

// base64 streams r into the output as base64 without line breaks.
func (e *writer) base64(r io.Reader, name string) {
	enc := base64.NewEncoder(base64.StdEncoding, e.w)
	if _, err := io.Copy(enc, r); err != nil {
		e.err = fmt.Errorf("edxml: reading attachment %q: %w", name, err)
		return
	}
	if err := enc.Close(); err != nil {
		e.err = err
	}
}
