package edxml_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"vanban/exchange/edxml"
)

// decodeFile decodes a package and returns it with its attachments' bytes.
func decode(t *testing.T, data []byte, lim edxml.Limits) (*edxml.Message, [][]byte, error) {
	t.Helper()
	var contents [][]byte
	msg, err := edxml.Decode(bytes.NewReader(data), edxml.DecodeOptions{
		Limits: lim,
		Attachment: func(a *edxml.Attachment, r io.Reader) error {
			b, err := io.ReadAll(r)
			contents = append(contents, b)
			return err
		},
	})
	return msg, contents, err
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeDefaultNamespace(t *testing.T) {
	msg, contents, err := decode(t, readFile(t, "default-namespace.edxml"), edxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p := msg.Package
	if p == nil || msg.Status != nil {
		t.Fatalf("want a package, got %+v", msg)
	}
	m := p.Header.MessageHeader
	want := edxml.MessageHeader{
		From: edxml.Organization{OrganId: "000.00.00.G22", OrganizationInCharge: "Bộ Thông tin và Truyền thông", OrganName: "Văn phòng Bộ",
			OrganAdd: "18 Nguyễn Du, Hà Nội", Email: "vanphong@mic.gov.vn", Telephone: "024 3943 7490", Website: "mic.gov.vn"},
		To:               []edxml.Organization{{OrganId: "002.00.20.H13", OrganName: "UBND tỉnh Cao Bằng"}, {OrganId: "000.01.32.H56", OrganName: "Sở Tư pháp"}},
		DocumentId:       "000.00.00.G22,2026/11/20,125/BTTTT-VP",
		Code:             edxml.Code{CodeNumber: "125", CodeNotation: "BTTTT-VP"},
		PromulgationInfo: edxml.PromulgationInfo{Place: "Hà Nội", PromulgationDate: "2026/11/20"},
		DocumentType:     edxml.DocumentType{Type: "2", TypeDetail: "0", TypeName: "Công văn"},
		Subject:          "V/v triển khai liên thông văn bản & báo cáo kết quả",
		Content:          "Đề nghị các đơn vị báo cáo trước ngày 30/11.",
		SignerInfo:       edxml.SignerInfo{Competence: "KT. BỘ TRƯỞNG", Position: "Thứ trưởng", FullName: "Nguyễn Văn A"},
		DueDate:          "2026/11/30",
		OtherInfo: edxml.OtherInfo{Priority: "1", SphereOfPromulgation: "Liên thông văn bản quốc gia", TyperNotation: "NVA",
			PromulgationAmount: "3", PageAmount: "2", Appendixes: []string{"Phụ lục I", "Phụ lục II"}},
		SteeringType: "0",
		ToPlaces:     []string{"Như trên", "Lưu: VT"},
		ResponseFor:  []edxml.ResponseFor{{OrganId: "002.00.20.H13", Code: "88/UBND-VP", PromulgationDate: "2026/11/01", DocumentId: "002.00.20.H13,2026/11/01,88/UBND-VP"}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("MessageHeader\n got %+v\nwant %+v", m, want)
	}
	tl := p.Header.TraceHeaderList
	if len(tl.TraceHeaders) != 1 || tl.TraceHeaders[0] != (edxml.TraceHeader{OrganId: "000.00.00.G22", Timestamp: "2026/11/20 09:15:00"}) {
		t.Errorf("trace %+v", tl.TraceHeaders)
	}
	if b := tl.Bussiness; b == nil || b.BussinessDocType != edxml.DocNew || b.StaffInfo.Staff != "Trần Thị B" || b.StaffInfo.Mobile != "0912345678" {
		t.Errorf("bussiness %+v", tl.Bussiness)
	}
	if len(p.References) != 1 || p.References[0].ContentId != "cid:a1b2c3" || p.References[0].AttachmentName != "125-BTTTT-VP.pdf" {
		t.Errorf("references %+v", p.References)
	}
	pdf := readFile(t, "attachment.pdf")
	if len(contents) != 1 || !bytes.Equal(contents[0], pdf) {
		t.Fatalf("attachment content differs: %q", contents)
	}
	if a := p.Attachments[0]; a.ContentId != "a1b2c3" || a.Size != int64(len(pdf)) || a.ContentType != "application/pdf" {
		t.Errorf("attachment %+v", a)
	}
}

func TestDecodePrefixedSDK(t *testing.T) {
	msg, contents, err := decode(t, readFile(t, "prefixed-sdk.edxml"), edxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p := msg.Package
	m := p.Header.MessageHeader
	if m.From.OrganId != "000.00.04.G09" || m.To[0].OrganId != "000.00.00.G22" || m.Subject != "V/v dự toán ngân sách <năm 2027>" {
		t.Errorf("header %+v", m)
	}
	if m.OtherInfo.Appendixes != nil {
		t.Errorf("an empty Appendix should give no appendix, got %q", m.OtherInfo.Appendixes)
	}
	// The vendor's own element is kept, not an error.
	if len(m.Extra) != 1 || m.Extra[0].Local != "VendorTracking" || m.Extra[0].Text != "EO-77821" || len(m.Extra[0].Attrs) != 2 {
		t.Errorf("extra %+v", m.Extra)
	}
	if len(p.Header.TraceHeaderList.TraceHeaders) != 2 {
		t.Errorf("trace %+v", p.Header.TraceHeaderList)
	}
	if len(p.Header.Extra) != 1 || p.Header.Extra[0].Local != "DigitalSignature" {
		t.Errorf("header extra %+v", p.Header.Extra)
	}
	// xlink:href names the attachment when there is no ContentId child.
	if len(p.References) != 1 || p.References[0].ContentId != "cid:7d0e-44f1" {
		t.Errorf("references %+v", p.References)
	}
	if a := p.Attachments[0]; a.AttachmentName != "4521-BTC-NSNN.pdf" || a.ContentId != "7d0e-44f1" {
		t.Errorf("attachment %+v (name after content must be read)", a)
	}
	if !bytes.Equal(contents[0], readFile(t, "attachment.pdf")) {
		t.Error("attachment content differs")
	}
}

func TestDecodeDSigAndZippedAttachment(t *testing.T) {
	msg, contents, err := decode(t, readFile(t, "dsig-zipped.edxml"), edxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p := msg.Package
	sig := p.Header.Signature
	if sig == nil || sig.Space != edxml.DSigNamespace || sig.Child("SignedInfo") != nil {
		// Child looks only at edXML elements; the DSig children are in their own namespace.
		t.Fatalf("signature %+v", sig)
	}
	if len(sig.Children) != 3 || sig.Attrs[0].Local != "Id" || sig.Children[1].Text != "c2lnbmF0dXJlIG5vdCBjaGVja2Vk" {
		t.Errorf("signature children %+v", sig.Children)
	}
	b := p.Header.TraceHeaderList.Bussiness
	if b.BussinessDocType != edxml.DocReplace || b.BussinessDocType.Name() != "Thay thế" {
		t.Errorf("type %v", b.BussinessDocType)
	}
	if len(b.ReplacementInfoList) != 1 || b.ReplacementInfoList[0].DocumentId != "002.00.20.H13,2026/11/01,88/UBND-VP" ||
		!reflect.DeepEqual(b.ReplacementInfoList[0].OrganIdList, []string{"000.00.00.G22", "000.01.32.H56"}) {
		t.Errorf("replacement %+v", b.ReplacementInfoList)
	}
	if len(b.Extra) != 1 || b.Extra[0].Local != "BussinessDocumentInfo" {
		t.Errorf("bussiness extra %+v", b.Extra)
	}
	if ts, err := edxml.ParseTimestamp(p.Header.TraceHeaderList.TraceHeaders[0].Timestamp); err != nil || ts.Day() != 2 || ts.Month() != time.November {
		t.Errorf("dd/mm/yyyy timestamp: %v %v", ts, err)
	}
	// "cid:<z1>" in the manifest names ContentId "z1".
	zipped := contents[0]
	if !bytes.Equal(zipped, readFile(t, "attachment.zip")) || !edxml.IsZip(zipped) {
		t.Fatal("zipped attachment differs")
	}
	files := map[string][]byte{}
	err = edxml.Unzip(bytes.NewReader(zipped), int64(len(zipped)), edxml.ZipLimits{}, func(name string, r io.Reader) error {
		b, err := io.ReadAll(r)
		files[name] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["88-UBND-VP.pdf"], readFile(t, "attachment.pdf")) || !strings.HasPrefix(string(files["phu-luc.txt"]), "Phụ lục") {
		t.Errorf("unzipped %q", files)
	}
	err = edxml.Unzip(bytes.NewReader(zipped), int64(len(zipped)), edxml.ZipLimits{MaxBytes: 50}, func(string, io.Reader) error { return nil })
	if !edxml.IsKind(err, edxml.KindLimit) {
		t.Errorf("zip over the limit: %v", err)
	}
}

func TestDecodeStatus(t *testing.T) {
	msg, _, err := decode(t, readFile(t, "status-soap.xml"), edxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	s := msg.Status
	if s == nil || msg.Package != nil {
		t.Fatalf("want a status, got %+v", msg)
	}
	want := edxml.Status{
		ResponseFor: edxml.ResponseFor{OrganId: "000.00.00.G22", Code: "125/BTTTT-VP", PromulgationDate: "20/11/2026", DocumentId: "000.00.00.G22,2026/11/20,125/BTTTT-VP"},
		From:        edxml.Organization{OrganId: "002.00.20.H13", OrganName: "UBND tỉnh Cao Bằng"},
		StatusCode:  edxml.StatusAccepted, Description: "Đã tiếp nhận, số đến 1532", Timestamp: "20/11/2026 10:02:44",
		StaffInfo: edxml.StaffInfo{Department: "Văn phòng", Staff: "Hoàng Thị D"},
	}
	if *s != want {
		t.Errorf("status\n got %+v\nwant %+v", *s, want)
	}
	if s.StatusCode.Name() != "Đã tiếp nhận" {
		t.Error(s.StatusCode.Name())
	}
	msg, _, err = decode(t, readFile(t, "status-edxml.xml"), edxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Status.StatusCode != edxml.StatusRecallRefused || msg.Status.From.OrganId != "000.00.00.G22" {
		t.Errorf("status %+v", msg.Status)
	}
}

func samplePackage() *edxml.Package {
	return &edxml.Package{
		Header: edxml.Header{
			MessageHeader: edxml.MessageHeader{
				From:             edxml.Organization{OrganId: "000.00.12.H40", OrganName: "UBND xã Thành Long", OrganAdd: "Thành Long <Hàm Yên>"},
				To:               []edxml.Organization{{OrganId: "000.00.13.H40", OrganName: "UBND xã Bình Xa"}},
				DocumentId:       "000.00.12.H40,2026/12/03,05/QĐ-UBND",
				Code:             edxml.Code{CodeNumber: "05", CodeNotation: "QĐ-UBND"},
				PromulgationInfo: edxml.PromulgationInfo{Place: "Thành Long", PromulgationDate: "2026/12/03"},
				DocumentType:     edxml.DocumentType{Type: "2", TypeName: "Quyết định"},
				Subject:          `Về việc "A & B"` + "\r\nline two",
				SignerInfo:       edxml.SignerInfo{Competence: "TM. ỦY BAN NHÂN DÂN", Position: "Chủ tịch", FullName: "Nguyễn Văn Long"},
				OtherInfo:        edxml.OtherInfo{Priority: "0", PageAmount: "1", Appendixes: []string{"Phụ lục"}},
				ToPlaces:         []string{"Như Điều 3"},
				Extra: []*edxml.Element{{Space: "urn:vendor", Local: "Trace", Attrs: []edxml.Attr{{Local: "v", Value: "1\t2"}, {Space: "http://www.w3.org/1999/xlink", Local: "href", Value: "x"}},
					Children: []*edxml.Element{{Space: "urn:vendor", Local: "Id", Text: " 7 "}, {Space: edxml.Namespace, Local: "Mine", Text: "m"}}}},
			},
			TraceHeaderList: edxml.TraceHeaderList{
				TraceHeaders: []edxml.TraceHeader{{OrganId: "000.00.12.H40", Timestamp: "2026/12/03 10:00:00"}},
				Bussiness: &edxml.Bussiness{BussinessDocType: edxml.DocUpdate, BussinessDocReason: "Cập nhật phụ lục", StaffInfo: edxml.StaffInfo{Staff: "Văn thư"},
					ReplacementInfoList: []edxml.ReplacementInfo{{DocumentId: "000.00.12.H40,2026/12/01,04/QĐ-UBND", OrganIdList: []string{"000.00.13.H40"}}}},
			},
			Signature: &edxml.Element{Space: edxml.DSigNamespace, Local: "Signature", Children: []*edxml.Element{{Space: edxml.DSigNamespace, Local: "SignatureValue", Text: "AAAA"}}},
		},
		References: []edxml.Reference{{ContentId: "cid:doc", ContentType: "application/pdf", AttachmentName: "05-QD-UBND.pdf"},
			{ContentId: "cid:pl", ContentType: "application/octet-stream", AttachmentName: "phu-luc.bin"}},
		Attachments: []edxml.Attachment{{ContentId: "doc", ContentType: "application/pdf", AttachmentName: "05-QD-UBND.pdf", Description: "Văn bản"},
			{ContentId: "pl", ContentType: "application/octet-stream", AttachmentName: "phu-luc.bin"}},
	}
}

// TestRoundTrip: Decode(Encode(p)) is p, and encoding the decoded package
// gives the same bytes.
func TestRoundTrip(t *testing.T) {
	p := samplePackage()
	contents := [][]byte{readFile(t, "attachment.pdf"), make([]byte, 300001)}
	rand.Read(contents[1])
	var buf bytes.Buffer
	if err := edxml.Encode(&buf, p, readers(contents)); err != nil {
		t.Fatal(err)
	}
	msg, got, err := decode(t, buf.Bytes(), edxml.Limits{})
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes()[:2000])
	}
	for i := range p.Attachments {
		p.Attachments[i].Size = int64(len(contents[i]))
	}
	if !reflect.DeepEqual(msg.Package, p) {
		t.Errorf("round trip\n got %#v\nwant %#v", msg.Package.Header, p.Header)
	}
	for i := range contents {
		if !bytes.Equal(got[i], contents[i]) {
			t.Errorf("attachment %d differs", i)
		}
	}
	var again bytes.Buffer
	if err := edxml.Encode(&again, msg.Package, readers(got)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("re-encoding the decoded package changed the bytes")
	}
	// Every hand-written package survives decode → encode → decode.
	for _, f := range []string{"default-namespace.edxml", "prefixed-sdk.edxml", "dsig-zipped.edxml"} {
		msg, got, err := decode(t, readFile(t, f), edxml.Limits{})
		if err != nil {
			t.Fatal(f, err)
		}
		var b bytes.Buffer
		if err := edxml.Encode(&b, msg.Package, readers(got)); err != nil {
			t.Fatal(f, err)
		}
		msg2, got2, err := decode(t, b.Bytes(), edxml.Limits{})
		if err != nil {
			t.Fatal(f, err)
		}
		if !reflect.DeepEqual(msg2, msg) || !reflect.DeepEqual(got2, got) {
			t.Errorf("%s: re-encoded package differs", f)
		}
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, code := range []edxml.StatusCode{edxml.StatusArrived, edxml.StatusRefused, edxml.StatusAccepted, edxml.StatusAssigned,
		edxml.StatusInProgress, edxml.StatusDone, edxml.StatusRecallRequested, edxml.StatusRecallAgreed, edxml.StatusRecallRefused} {
		if !code.Known() || code.Name() == string(code) {
			t.Errorf("%s has no name", code)
		}
		s := &edxml.Status{
			ResponseFor: edxml.ResponseFor{OrganId: "000.00.12.H40", Code: "05/QĐ-UBND", PromulgationDate: "2026/12/03", DocumentId: "000.00.12.H40,2026/12/03,05/QĐ-UBND"},
			From:        edxml.Organization{OrganId: "000.00.13.H40", OrganName: "UBND xã Bình Xa"},
			StatusCode:  code, Description: code.Name(), Timestamp: edxml.FormatTimestamp(time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)),
			StaffInfo: edxml.StaffInfo{Department: "Văn phòng", Staff: "Lò Thị F"},
		}
		var buf bytes.Buffer
		if err := edxml.EncodeStatus(&buf, s); err != nil {
			t.Fatal(err)
		}
		msg, _, err := decode(t, buf.Bytes(), edxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if *msg.Status != *s {
			t.Errorf("got %+v want %+v", msg.Status, s)
		}
		if s.Timestamp != "2026/12/03 10:00:00" {
			t.Errorf("timestamp in Vietnam time: %s", s.Timestamp)
		}
	}
}

func readers(bs [][]byte) []io.Reader {
	var rs []io.Reader
	for _, b := range bs {
		rs = append(rs, bytes.NewReader(b))
	}
	return rs
}

func TestValidOrganId(t *testing.T) {
	for id, ok := range map[string]bool{
		"000.00.00.G22": true, "002.00.20.H13": true, "H13": true, "000.01.32.H56.A1": true,
		"": false, "000..00": false, ".000": false, "000.": false, "000.00.00.g22": false, "000 00": false,
		"test.to": false, strings.Repeat("1", 35): true, strings.Repeat("1", 36): false, "Ă.1": false,
	} {
		if edxml.ValidOrganId(id) != ok {
			t.Errorf("ValidOrganId(%q) = %v", id, !ok)
		}
	}
}

func TestMalformed(t *testing.T) {
	good := string(readFile(t, "default-namespace.edxml"))
	cases := []struct {
		name    string
		in      string
		kind    edxml.Kind
		element string
		lim     edxml.Limits
	}{
		{"empty", "", edxml.KindSyntax, "", edxml.Limits{}},
		{"not xml", "hello", edxml.KindSyntax, "", edxml.Limits{}},
		{"dtd", `<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]><edXML>&x;</edXML>`, edxml.KindForbidden, "", edxml.Limits{}},
		{"entity", strings.Replace(good, "Hà Nội</Place>", "&ext;</Place>", 1), edxml.KindForbidden, "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/PromulgationInfo/Place", edxml.Limits{}},
		{"encoding", strings.Replace(good, `encoding="utf-8"`, `encoding="windows-1258"`, 1), edxml.KindForbidden, "", edxml.Limits{}},
		{"truncated", good[:len(good)/2], edxml.KindSyntax, "", edxml.Limits{}},
		{"truncated in base64", good[:strings.Index(good, "</ContentTransferEncoded>")-30], edxml.KindSyntax, "", edxml.Limits{}},
		{"mismatched", strings.Replace(good, "</Subject>", "</Subjet>", 1), edxml.KindSyntax, "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject", edxml.Limits{}},
		{"bad organ id", strings.Replace(good, "<OrganId>002.00.20.H13</OrganId>\n          <OrganName>", "<OrganId>ubnd-cao-bang</OrganId>\n          <OrganName>", 1), edxml.KindInvalid, "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To/OrganId", edxml.Limits{}},
		{"no from", strings.Replace(good, "<OrganId>000.00.00.G22</OrganId>\n          <OrganizationInCharge>", "<OrganizationInCharge>", 1), edxml.KindMissing, "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId", edxml.Limits{}},
		{"no document id", strings.Replace(good, "<DocumentId>000.00.00.G22,2026/11/20,125/BTTTT-VP</DocumentId>", "", 1), edxml.KindMissing, "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentId", edxml.Limits{}},
		{"bussiness type", strings.Replace(good, "<BussinessDocType>0<", "<BussinessDocType>7<", 1), edxml.KindInvalid, "edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType", edxml.Limits{}},
		{"bad base64", strings.Replace(good, "<ContentTransferEncoded>\n", "<ContentTransferEncoded>\n!!!!", 1), edxml.KindInvalid, "edXML/AttachmentEncoded/Attachment/ContentTransferEncoded", edxml.Limits{}},
		{"dangling reference", strings.Replace(good, "<ContentId>a1b2c3</ContentId>", "<ContentId>other</ContentId>", 1), edxml.KindInvalid, "edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference/ContentId", edxml.Limits{}},
		{"no content", strings.Replace(strings.Replace(good, "<ContentTransferEncoded>", "<X>", 1), "</ContentTransferEncoded>", "</X>", 1), edxml.KindMissing, "edXML/AttachmentEncoded/Attachment/ContentTransferEncoded", edxml.Limits{}},
		{"not edxml", `<html><body>hi</body></html>`, edxml.KindMissing, "edXML/edXMLEnvelope/edXMLHeader", edxml.Limits{}},
		{"two roots", good + "<edXML/>", edxml.KindSyntax, "", edxml.Limits{}},
		{"undeclared prefix", strings.Replace(good, "<Subject>", "<x:Subject>", 1), edxml.KindSyntax, "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject", edxml.Limits{}},
		{"nul char", strings.Replace(good, "Hà Nội</Place>", "Hà&#0;</Place>", 1), edxml.KindSyntax, "", edxml.Limits{}},
		{"too large", good, edxml.KindLimit, "", edxml.Limits{MaxBytes: 1000}},
		{"too deep", strings.Replace(good, "<Subject>", strings.Repeat("<a>", 40)+strings.Repeat("</a>", 40)+"<Subject>", 1), edxml.KindLimit, "", edxml.Limits{}},
		{"too much text", good, edxml.KindLimit, "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganizationInCharge", edxml.Limits{MaxText: 20}},
		{"too many attachments", good, edxml.KindLimit, "edXML/AttachmentEncoded/Attachment", edxml.Limits{MaxAttachments: -1 + 1 + 0*1 + 0}},
		{"attachment too large", good, edxml.KindLimit, "edXML/AttachmentEncoded/Attachment/ContentTransferEncoded", edxml.Limits{MaxAttachmentSize: 50}},
		{"too many elements", good, edxml.KindLimit, "", edxml.Limits{MaxElements: 30}},
		{"bad status code", strings.Replace(string(readFile(t, "status-soap.xml")), ">03<", ">3A<", 1), edxml.KindInvalid, "Status/StatusCode", edxml.Limits{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "too many attachments" {
				c.lim.MaxAttachments = 1
				c.in = strings.Replace(c.in, "</AttachmentEncoded>", "<Attachment><ContentId>b</ContentId><ContentTransferEncoded>AAAA</ContentTransferEncoded></Attachment></AttachmentEncoded>", 1)
			}
			_, _, err := decode(t, []byte(c.in), c.lim)
			var e *edxml.Error
			if !errors.As(err, &e) {
				t.Fatalf("want *edxml.Error, got %v", err)
			}
			if e.Kind != c.kind {
				t.Errorf("kind %v, want %v: %v", e.Kind, c.kind, err)
			}
			if c.element != "" && e.Element != c.element {
				t.Errorf("element %q, want %q: %v", e.Element, c.element, err)
			}
			if !strings.Contains(err.Error(), "edxml") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// A reader that returns one byte at a time (and errors midway) must give
// the same result or a KindIO error, never a wrong package.
func TestDecodeOddReaders(t *testing.T) {
	data := readFile(t, "prefixed-sdk.edxml")
	msg, contents, err := decode(t, data, edxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	msg2, err := edxml.Decode(iotest.OneByteReader(bytes.NewReader(data)), edxml.DecodeOptions{Attachment: func(a *edxml.Attachment, r io.Reader) error {
		got, err = io.ReadAll(r)
		return err
	}})
	if err != nil || !reflect.DeepEqual(msg, msg2) || !bytes.Equal(got, contents[0]) {
		t.Fatalf("one byte at a time: %v", err)
	}
	_, err = edxml.Decode(io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(errors.New("connection reset"))), edxml.DecodeOptions{})
	if !edxml.IsKind(err, edxml.KindIO) {
		t.Fatalf("failing reader: %v", err)
	}
	// The attachment callback's own failure is KindIO too.
	_, err = edxml.Decode(bytes.NewReader(data), edxml.DecodeOptions{Attachment: func(*edxml.Attachment, io.Reader) error { return errors.New("disk full") }})
	if !edxml.IsKind(err, edxml.KindIO) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("sink failure: %v", err)
	}
}

func TestEncodeRefuses(t *testing.T) {
	p := samplePackage()
	p.Header.MessageHeader.To[0].OrganId = "bad id"
	if err := edxml.Encode(io.Discard, p, []io.Reader{nil, nil}); !edxml.IsKind(err, edxml.KindInvalid) {
		t.Errorf("bad recipient: %v", err)
	}
	p = samplePackage()
	p.Header.MessageHeader.Subject = "bell \x07"
	if err := edxml.Encode(io.Discard, p, readers([][]byte{{1}, {2}})); !edxml.IsKind(err, edxml.KindInvalid) {
		t.Errorf("control character: %v", err)
	}
	if err := edxml.Encode(io.Discard, samplePackage(), nil); err == nil {
		t.Error("missing contents accepted")
	}
}

// TestStreamsLargeAttachment: 10 MB through Encode and Decode with memory
// far below the base64 size.
func TestStreamsLargeAttachment(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const size = 10 << 20
	p := samplePackage()
	p.Attachments, p.References = p.Attachments[:1], p.References[:1]
	src := io.LimitReader(&pattern{}, size)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(edxml.Encode(pw, p, []io.Reader{src})) }()
	h := sha256.New()
	var n int64
	msg, err := edxml.Decode(pr, edxml.DecodeOptions{Attachment: func(a *edxml.Attachment, r io.Reader) error {
		n, err := io.Copy(h, r)
		_ = n
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	n = msg.Package.Attachments[0].Size
	want := sha256.New()
	io.Copy(want, io.LimitReader(&pattern{}, size))
	if n != size || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatalf("size %d, hash differs", n)
	}
}

// pattern is an endless reader of non-repeating-ish bytes.
type pattern struct{ i uint32 }

func (p *pattern) Read(b []byte) (int, error) {
	for k := range b {
		p.i = p.i*1664525 + 1013904223
		b[k] = byte(p.i >> 24)
	}
	return len(b), nil
}
