package edxml

import (
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
)

// legacyNamespace is the namespace of the e-doc SDK that predates QCVN
// 102:2016; some provincial systems still write it.
const legacyNamespace = "http://www.e-doc.vn/Schema/"

// isOurs reports whether an element in namespace space is an edXML element:
// the QCVN namespace, the legacy one, or none at all (senders that write
// AttachmentEncoded without a namespace).
func isOurs(space string) bool {
	return space == Namespace || space == "" || space == legacyNamespace
}

// DecodeOptions configure Decode.
type DecodeOptions struct {
	Limits Limits
	// Attachment, when set, is called for each attachment as its content
	// begins, with the fields that came before ContentTransferEncoded (the
	// rest are filled into the same *Attachment afterwards) and a reader of
	// the decoded bytes. Whatever it leaves unread is read and discarded; an
	// error it returns stops decoding. When nil, content is checked and
	// discarded.
	Attachment func(a *Attachment, content io.Reader) error
}

// Decode reads one edXML package or status message from r. Every problem
// with the input is an *Error; the attachments' content goes to
// opt.Attachment and is never buffered whole.
func Decode(r io.Reader, opt DecodeOptions) (*Message, error) {
	d := &decoder{opt: opt, lim: opt.Limits.withDefaults()}
	d.s = newScanner(r, d.lim)
	if err := d.run(); err != nil {
		return nil, err
	}
	return d.result()
}

type decoder struct {
	s   *scanner
	opt DecodeOptions
	lim Limits

	header    *Element // edXMLHeader, or a SOAP Header carrying a Status
	body      *Element // edXMLBody
	status    *Element // a Status element found anywhere we look
	atts      []*Attachment
	sawAttSec bool
}

func (d *decoder) run() error {
	root, err := d.firstStart()
	if err != nil {
		return err
	}
	if root.name.local == "Status" && isOurs(root.space) {
		if d.status, err = d.readTree(root); err != nil {
			return err
		}
	} else if err := d.container(root, 0); err != nil {
		return err
	}
	// Nothing but comments and whitespace may follow the root.
	for {
		t, err := d.s.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case tokEOF:
			return nil
		case tokText:
			continue
		default:
			return d.s.fail(KindSyntax, "content after the root element")
		}
	}
}

func (d *decoder) firstStart() (token, error) {
	for {
		t, err := d.s.next()
		if err != nil {
			return t, err
		}
		switch t.kind {
		case tokStart:
			return t, nil
		case tokText:
			continue
		default:
			return t, d.s.fail(KindSyntax, "no root element")
		}
	}
}

// container walks the root (edXML, or a SOAP Envelope) and edXMLEnvelope:
// the levels where AttachmentEncoded may appear and must be streamed.
// Anything else below is read as a bounded tree.
func (d *decoder) container(start token, level int) error {
	if start.selfClose {
		return nil
	}
	for {
		t, err := d.s.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case tokEnd:
			return nil
		case tokText:
			if strings.TrimSpace(t.text) != "" {
				return d.s.fail(KindSyntax, "unexpected text in <%s>", start.name.local)
			}
			continue
		}
		local := t.name.local
		switch {
		case local == "AttachmentEncoded" && isOurs(t.space):
			if err := d.attachments(t); err != nil {
				return err
			}
		case local == "edXMLEnvelope" && isOurs(t.space) && level == 0:
			if err := d.container(t, 1); err != nil {
				return err
			}
		default:
			e, err := d.readTree(t)
			if err != nil {
				return err
			}
			switch {
			case local == "edXMLHeader" || local == "Header": // SOAP-wrapped status messages use Header
				if d.header != nil && local == "edXMLHeader" {
					return d.s.fail(KindSyntax, "second edXMLHeader")
				}
				if local == "edXMLHeader" || d.header == nil {
					d.header = e
				}
				for _, c := range e.Children {
					// Some senders bind their edXML prefix to the SOAP
					// namespace inside a SOAP Header; read the Status
					// whatever its namespace says.
					if c.Local == "Status" {
						d.status = withoutNamespaces(c)
					}
				}
			case local == "edXMLBody" && isOurs(t.space):
				d.body = e
			case local == "Status" && isOurs(t.space):
				d.status = e
			}
		}
	}
}

func withoutNamespaces(e *Element) *Element {
	out := *e
	out.Space = ""
	out.Children = make([]*Element, len(e.Children))
	for i, c := range e.Children {
		out.Children[i] = withoutNamespaces(c)
	}
	return &out
}

// readTree reads the element started by start and everything in it.
func (d *decoder) readTree(start token) (*Element, error) {
	e := &Element{Space: start.space, Local: start.name.local, Attrs: start.attrs}
	if start.selfClose {
		return e, nil
	}
	var text strings.Builder
	for {
		t, err := d.s.next()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tokEnd:
			e.Text = text.String()
			if len(e.Children) > 0 && strings.TrimSpace(e.Text) == "" {
				e.Text = ""
			}
			return e, nil
		case tokText:
			if strings.TrimSpace(t.text) == "" {
				continue // indentation; a whitespace-only value is empty once trimmed anyway
			}
			text.WriteString(t.text)
			if text.Len() > d.lim.MaxText {
				return nil, d.s.fail(KindLimit, "text longer than %d bytes", d.lim.MaxText)
			}
		case tokStart:
			if t.name.local == "AttachmentEncoded" && isOurs(t.space) {
				return nil, d.s.fail(KindSyntax, "AttachmentEncoded inside <%s>", start.name.local)
			}
			c, err := d.readTree(t)
			if err != nil {
				return nil, err
			}
			e.Children = append(e.Children, c)
		}
	}
}

// attachments streams AttachmentEncoded.
func (d *decoder) attachments(start token) error {
	if d.sawAttSec {
		return d.s.fail(KindSyntax, "second AttachmentEncoded")
	}
	d.sawAttSec = true
	if start.selfClose {
		return nil
	}
	for {
		t, err := d.s.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case tokEnd:
			return nil
		case tokText:
			continue
		}
		if t.name.local != "Attachment" || !isOurs(t.space) {
			if _, err := d.readTree(t); err != nil { // unknown: read and ignore
				return err
			}
			continue
		}
		if err := d.attachment(t); err != nil {
			return err
		}
	}
}

func (d *decoder) attachment(start token) error {
	if len(d.atts) >= d.lim.MaxAttachments {
		return d.s.fail(KindLimit, "more than %d attachments", d.lim.MaxAttachments)
	}
	a := &Attachment{}
	d.atts = append(d.atts, a)
	if start.selfClose {
		return d.s.fail(KindMissing, "attachment without ContentTransferEncoded")
	}
	sawContent := false
	for {
		t, err := d.s.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case tokEnd:
			if !sawContent {
				e := errf(KindMissing, d.s.pathString()+"/Attachment/ContentTransferEncoded", "attachment %d has no content", len(d.atts))
				e.Offset = d.s.offset()
				return e
			}
			return nil
		case tokText:
			continue
		}
		if !isOurs(t.space) {
			if _, err := d.readTree(t); err != nil {
				return err
			}
			continue
		}
		switch t.name.local {
		case "ContentTransferEncoded":
			if sawContent {
				return d.s.fail(KindSyntax, "second ContentTransferEncoded")
			}
			sawContent = true
			if err := d.content(t, a); err != nil {
				return err
			}
		default:
			e, err := d.readTree(t)
			if err != nil {
				return err
			}
			v := strings.TrimSpace(e.Text)
			switch t.name.local {
			case "ContentId":
				a.ContentId = v
			case "AttachmentName":
				a.AttachmentName = v
			case "Description":
				a.Description = v
			case "ContentType":
				a.ContentType = v
			}
		}
	}
}

// content streams one ContentTransferEncoded through base64 to the caller.
func (d *decoder) content(start token, a *Attachment) error {
	var src io.Reader = strings.NewReader("")
	if !start.selfClose {
		src = d.s.textReader()
	}
	cr := &contentReader{
		d:   d,
		b64: base64.NewDecoder(base64.StdEncoding, &spaceStripper{r: src}),
		max: d.lim.MaxAttachmentSize,
	}
	if d.opt.Attachment != nil {
		if err := d.opt.Attachment(a, cr); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			return &Error{Kind: KindIO, Element: d.s.pathString(), Offset: d.s.offset(), Msg: "storing attachment " + strconv.Quote(a.AttachmentName), Err: err}
		}
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return err
	}
	a.Size = cr.n
	if start.selfClose {
		return nil
	}
	t, err := d.s.next()
	if err != nil {
		return err
	}
	if t.kind != tokEnd {
		return d.s.fail(KindSyntax, "element inside ContentTransferEncoded")
	}
	return nil
}

type contentReader struct {
	d   *decoder
	b64 io.Reader
	n   int64
	max int64
	err error
}

func (c *contentReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.b64.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.err = c.d.s.fail(KindLimit, "attachment larger than %d bytes", c.max)
		return 0, c.err
	}
	if err != nil && err != io.EOF {
		var e *Error
		if !errors.As(err, &e) {
			e = c.d.s.fail(KindInvalid, "attachment content is not valid base64")
			e.Err = err
		}
		c.err = e
		return n, e
	}
	return n, err
}

// spaceStripper drops XML whitespace, which senders put into base64 to
// wrap lines (including &#13; references, already decoded by the scanner).
type spaceStripper struct{ r io.Reader }

func (s *spaceStripper) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, b := range p[:n] {
			if !isSpace(b) {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// result maps the trees read to a Message and validates it.
func (d *decoder) result() (*Message, error) {
	if d.status != nil {
		st := statusFrom(d.status)
		if err := st.Validate(); err != nil {
			return nil, err
		}
		return &Message{Status: st}, nil
	}
	if d.header == nil {
		return nil, errf(KindMissing, "edXML/edXMLEnvelope/edXMLHeader", "no edXMLHeader (is this an edXML package?)")
	}
	p, err := packageFrom(d.header, d.body)
	if err != nil {
		return nil, err
	}
	for _, a := range d.atts {
		p.Attachments = append(p.Attachments, *a)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Message{Package: p}, nil
}

func leaf(e *Element, local string) string {
	if e == nil {
		return ""
	}
	if c := e.Child(local); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

func leaves(e *Element, local string) []string {
	if e == nil {
		return nil
	}
	var out []string
	for _, c := range e.Children {
		if c.Local == local && isOurs(c.Space) {
			out = append(out, strings.TrimSpace(c.Text))
		}
	}
	return out
}

func organizationFrom(e *Element) Organization {
	return Organization{
		OrganId: leaf(e, "OrganId"), OrganizationInCharge: leaf(e, "OrganizationInCharge"),
		OrganName: leaf(e, "OrganName"), OrganAdd: leaf(e, "OrganAdd"), Email: leaf(e, "Email"),
		Telephone: leaf(e, "Telephone"), Fax: leaf(e, "Fax"), Website: leaf(e, "Website"),
	}
}

func staffFrom(e *Element) StaffInfo {
	return StaffInfo{Department: leaf(e, "Department"), Staff: leaf(e, "Staff"), Email: leaf(e, "Email"), Mobile: leaf(e, "Mobile")}
}

func responseForFrom(e *Element) ResponseFor {
	return ResponseFor{OrganId: leaf(e, "OrganId"), Code: leaf(e, "Code"), PromulgationDate: leaf(e, "PromulgationDate"), DocumentId: leaf(e, "DocumentId")}
}

const headerPath = "edXML/edXMLEnvelope/edXMLHeader"

var messageHeaderFields = map[string]bool{
	"From": true, "To": true, "DocumentId": true, "Code": true, "PromulgationInfo": true,
	"DocumentType": true, "Subject": true, "Content": true, "SignerInfo": true, "DueDate": true,
	"OtherInfo": true, "SteeringType": true, "ToPlaces": true, "ResponseFor": true,
}

func packageFrom(h, body *Element) (*Package, error) {
	p := &Package{}
	mh := h.Child("MessageHeader")
	if mh == nil {
		return nil, errf(KindMissing, headerPath+"/MessageHeader", "no MessageHeader")
	}
	m := &p.Header.MessageHeader
	for _, c := range mh.Children {
		if !isOurs(c.Space) || !messageHeaderFields[c.Local] {
			m.Extra = append(m.Extra, c)
			continue
		}
		switch c.Local {
		case "From":
			m.From = organizationFrom(c)
		case "To":
			m.To = append(m.To, organizationFrom(c))
		case "DocumentId":
			m.DocumentId = strings.TrimSpace(c.Text)
		case "Code":
			m.Code = Code{CodeNumber: leaf(c, "CodeNumber"), CodeNotation: leaf(c, "CodeNotation")}
		case "PromulgationInfo":
			m.PromulgationInfo = PromulgationInfo{Place: leaf(c, "Place"), PromulgationDate: leaf(c, "PromulgationDate")}
		case "DocumentType":
			m.DocumentType = DocumentType{Type: leaf(c, "Type"), TypeDetail: leaf(c, "TypeDetail"), TypeName: leaf(c, "TypeName")}
		case "Subject":
			m.Subject = strings.TrimSpace(c.Text)
		case "Content":
			m.Content = strings.TrimSpace(c.Text)
		case "SignerInfo":
			m.SignerInfo = SignerInfo{Competence: leaf(c, "Competence"), Position: leaf(c, "Position"), FullName: leaf(c, "FullName")}
		case "DueDate":
			m.DueDate = strings.TrimSpace(c.Text)
		case "OtherInfo":
			m.OtherInfo = OtherInfo{
				Priority: leaf(c, "Priority"), SphereOfPromulgation: leaf(c, "SphereOfPromulgation"),
				TyperNotation: leaf(c, "TyperNotation"), PromulgationAmount: leaf(c, "PromulgationAmount"),
				PageAmount: leaf(c, "PageAmount"), Direction: leaf(c, "Direction"),
			}
			for _, a := range leaves(c.Child("Appendixes"), "Appendix") {
				if a != "" {
					m.OtherInfo.Appendixes = append(m.OtherInfo.Appendixes, a)
				}
			}
		case "SteeringType":
			m.SteeringType = strings.TrimSpace(c.Text)
		case "ToPlaces":
			for _, pl := range leaves(c, "Place") {
				if pl != "" {
					m.ToPlaces = append(m.ToPlaces, pl)
				}
			}
		case "ResponseFor":
			m.ResponseFor = append(m.ResponseFor, responseForFrom(c))
		}
	}
	for _, c := range h.Children {
		switch {
		case c.Local == "MessageHeader" && isOurs(c.Space):
		case c.Local == "TraceHeaderList" && isOurs(c.Space):
			tl, err := traceFrom(c)
			if err != nil {
				return nil, err
			}
			p.Header.TraceHeaderList = tl
		case c.Local == "Signature" && c.Space == DSigNamespace:
			p.Header.Signature = c
		default:
			p.Header.Extra = append(p.Header.Extra, c)
		}
	}
	if body != nil {
		if man := body.Child("edXMLManifest"); man != nil {
			for _, r := range man.Children {
				if r.Local != "Reference" || !isOurs(r.Space) {
					continue
				}
				ref := Reference{ContentId: leaf(r, "ContentId"), ContentType: leaf(r, "ContentType"),
					Description: leaf(r, "Description"), AttachmentName: leaf(r, "AttachmentName")}
				if ref.ContentId == "" { // xlink:href="cid:..." instead of a ContentId child
					for _, a := range r.Attrs {
						if a.Local == "href" {
							ref.ContentId = strings.TrimSpace(a.Value)
						}
					}
				}
				p.References = append(p.References, ref)
			}
		}
	}
	return p, nil
}

func traceFrom(e *Element) (TraceHeaderList, error) {
	var tl TraceHeaderList
	for _, c := range e.Children {
		if !isOurs(c.Space) {
			continue
		}
		switch c.Local {
		case "TraceHeader":
			tl.TraceHeaders = append(tl.TraceHeaders, TraceHeader{OrganId: leaf(c, "OrganId"), Timestamp: leaf(c, "Timestamp")})
		case "Bussiness":
			if tl.Bussiness != nil {
				return tl, errf(KindSyntax, headerPath+"/TraceHeaderList/Bussiness", "second Bussiness")
			}
			b := &Bussiness{DocumentId: leaf(c, "DocumentId"), BussinessDocReason: leaf(c, "BussinessDocReason"),
				Paper: leaf(c, "Paper"), StaffInfo: staffFrom(c.Child("StaffInfo"))}
			if v := leaf(c, "BussinessDocType"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 3 {
					return tl, errf(KindInvalid, headerPath+"/TraceHeaderList/Bussiness/BussinessDocType", "%q is not 0 (new), 1 (recall), 2 (update) or 3 (replace)", v)
				}
				b.BussinessDocType = BussinessDocType(n)
			}
			if rl := c.Child("ReplacementInfoList"); rl != nil {
				for _, ri := range rl.Children {
					if ri.Local != "ReplacementInfo" || !isOurs(ri.Space) {
						continue
					}
					info := ReplacementInfo{DocumentId: leaf(ri, "DocumentId")}
					if ol := ri.Child("OrganIdList"); ol != nil {
						for _, id := range leaves(ol, "OrganId") {
							if id != "" {
								info.OrganIdList = append(info.OrganIdList, id)
							}
						}
					}
					b.ReplacementInfoList = append(b.ReplacementInfoList, info)
				}
			}
			for _, x := range c.Children {
				switch x.Local {
				case "DocumentId", "BussinessDocType", "BussinessDocReason", "Paper", "StaffInfo", "ReplacementInfoList":
					if isOurs(x.Space) {
						continue
					}
				}
				b.Extra = append(b.Extra, x)
			}
			tl.Bussiness = b
		}
	}
	return tl, nil
}

func statusFrom(e *Element) *Status {
	return &Status{
		ResponseFor: responseForFrom(e.Child("ResponseFor")),
		From:        organizationFrom(e.Child("From")),
		StatusCode:  StatusCode(leaf(e, "StatusCode")),
		Description: leaf(e, "Description"),
		Timestamp:   leaf(e, "Timestamp"),
		StaffInfo:   staffFrom(e.Child("StaffInfo")),
	}
}

// normalizeCID strips "cid:" and angle brackets, so that a Reference's
// "cid:abc" names the Attachment whose ContentId is "abc" (as most senders
// write it) or "cid:abc".
func normalizeCID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "cid:")
	return strings.Trim(s, "<>")
}

// Validate checks what a receiver relies on: the agencies' identifier
// codes, the DocumentId, the business type, and that every Reference names
// an attachment.
func (p *Package) Validate() error {
	m := &p.Header.MessageHeader
	mp := headerPath + "/MessageHeader"
	if err := checkOrgan(mp+"/From/OrganId", m.From.OrganId); err != nil {
		return err
	}
	if len(m.To) == 0 {
		return errf(KindMissing, mp+"/To", "no recipient")
	}
	for i, to := range m.To {
		if err := checkOrgan(mp+"/To/OrganId", to.OrganId); err != nil {
			err.Msg += " (recipient " + strconv.Itoa(i+1) + ")"
			return err
		}
	}
	if m.DocumentId == "" {
		return errf(KindMissing, mp+"/DocumentId", "no DocumentId")
	}
	if b := p.Header.TraceHeaderList.Bussiness; b != nil {
		if b.BussinessDocType < DocNew || b.BussinessDocType > DocReplace {
			return errf(KindInvalid, headerPath+"/TraceHeaderList/Bussiness/BussinessDocType", "%d is not 0-3", int(b.BussinessDocType))
		}
		for _, r := range b.ReplacementInfoList {
			if r.DocumentId == "" {
				return errf(KindMissing, headerPath+"/TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo/DocumentId", "replaced document has no DocumentId")
			}
		}
	}
	ids := map[string]bool{}
	for i, a := range p.Attachments {
		id := normalizeCID(a.ContentId)
		if id == "" {
			return errf(KindMissing, "edXML/AttachmentEncoded/Attachment/ContentId", "attachment %d has no ContentId", i+1)
		}
		if ids[id] {
			return errf(KindInvalid, "edXML/AttachmentEncoded/Attachment/ContentId", "ContentId %q used twice", a.ContentId)
		}
		ids[id] = true
	}
	for _, r := range p.References {
		if !ids[normalizeCID(r.ContentId)] {
			return errf(KindInvalid, "edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference/ContentId", "reference %q names no attachment", r.ContentId)
		}
	}
	return nil
}

// Validate checks a status message.
func (s *Status) Validate() error {
	const sp = "Status"
	if err := checkOrgan(sp+"/From/OrganId", s.From.OrganId); err != nil {
		return err
	}
	if s.ResponseFor.DocumentId == "" {
		return errf(KindMissing, sp+"/ResponseFor/DocumentId", "no DocumentId")
	}
	c := string(s.StatusCode)
	if c == "" {
		return errf(KindMissing, sp+"/StatusCode", "no status code")
	}
	if len(c) != 2 || c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9' {
		return errf(KindInvalid, sp+"/StatusCode", "%q is not a two-digit status code", c)
	}
	return nil
}

func checkOrgan(path, id string) *Error {
	if id == "" {
		return errf(KindMissing, path, "no OrganId")
	}
	if !ValidOrganId(id) {
		return errf(KindInvalid, path, "%q is not an identifier code (dot-separated groups of digits and capitals, at most %d characters)", id, MaxOrganIdLen)
	}
	return nil
}
