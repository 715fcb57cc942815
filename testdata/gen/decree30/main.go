// Command decree30 writes Decree 30/2020 decision templates as flat
// OpenDocument text and has LibreOffice Writer turn them into the PDFs in
// testdata/decree30, the drafts the placement tests read: the number line
// "Số: ..." and the place-and-date line with blank placeholders, and the
// signature block (capacity, position, room for the signature, name) on
// the right of the last page, the recipients ("Nơi nhận") on its left.
//
//	go run ./testdata/gen/decree30 -out testdata/decree30
//
// needs soffice (libreoffice-writer-nogui) and fonts-liberation (Liberation
// Serif, the metric twin of Times New Roman).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// template is one decision: its placeholders and signature block.
type template struct {
	name      string
	org       []string // header lines of the issuing body, last one bold
	symbol    string   // after "Số:", e.g. "..../QĐ-UBND"
	dateLine  string
	subject   string
	body      []string
	capacity  string // TM. ỦY BAN NHÂN DÂN, KT. CHỦ TỊCH, ...
	position  string
	signer    string
	annex     []string // an attachment after a page break ("PHỤ LỤC")
	recipient []string
}

var templates = []template{
	{
		name:     "quyet-dinh-ubnd",
		org:      []string{"ỦY BAN NHÂN DÂN", "XÃ THÀNH LONG"},
		symbol:   "Số:        /QĐ-UBND",
		dateLine: "Thành Long, ngày      tháng      năm 2026",
		subject:  "Về việc ban hành Quy chế tiếp nhận và xử lý văn bản điện tử",
		body: []string{
			"Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 02 năm 2025;",
			"Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
			"Theo đề nghị của Văn phòng Hội đồng nhân dân và Ủy ban nhân dân xã.",
			"QUYẾT ĐỊNH:",
			"Điều 1. Ban hành kèm theo Quyết định này Quy chế tiếp nhận, đăng ký và xử lý văn bản điện tử trên Hệ thống quản lý văn bản của Ủy ban nhân dân xã Thành Long.",
			"Điều 2. Quyết định này có hiệu lực kể từ ngày ký. Văn bản điện tử được ký số bằng chữ ký số của người có thẩm quyền và chữ ký số của cơ quan.",
			"Điều 3. Chánh Văn phòng, công chức chuyên môn và các cá nhân có liên quan chịu trách nhiệm thi hành Quyết định này./.",
		},
		capacity:  "TM. ỦY BAN NHÂN DÂN",
		position:  "CHỦ TỊCH",
		signer:    "Nguyễn Văn An",
		recipient: []string{"- Như Điều 3;", "- Thường trực Đảng ủy xã;", "- Lưu: VT, VP."},
	},
	{
		name:     "quyet-dinh-phu-luc",
		org:      []string{"ỦY BAN NHÂN DÂN", "XÃ THÀNH LONG"},
		symbol:   "Số: ........./QĐ-UBND",
		dateLine: "Thành Long, ngày ..... tháng ..... năm 2026",
		subject:  "Về việc phê duyệt Kế hoạch chuyển đổi số năm 2026",
		body: []string{
			"Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
			"Theo đề nghị của công chức Văn phòng - Thống kê.",
			"QUYẾT ĐỊNH:",
			"Điều 1. Phê duyệt Kế hoạch chuyển đổi số năm 2026 của xã Thành Long (chi tiết tại Phụ lục kèm theo).",
			"Điều 2. Quyết định này có hiệu lực kể từ ngày ký./.",
		},
		capacity:  "KT. CHỦ TỊCH",
		position:  "PHÓ CHỦ TỊCH",
		signer:    "Trần Thị Bình",
		recipient: []string{"- Như Điều 2;", "- Lưu: VT."},
		annex: []string{
			"1. Số hóa hồ sơ lưu trữ: ưu tiên tài liệu có giá trị bảo quản vĩnh viễn.",
			"2. Ký số trên thiết bị di động: lãnh đạo ký bằng SIM PKI; văn thư cấp số, đóng dấu bằng chữ ký số của cơ quan.",
			"3. Tra cứu văn bản theo nội dung, số và ký hiệu.",
		},
	},
}

func esc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// spaces keeps runs of spaces, which ODF collapses, as <text:s/>: the
// blank placeholders of the template are runs of spaces.
var spaces = regexp.MustCompile(`  +`)

func p(style, text string) string {
	body := spaces.ReplaceAllStringFunc(esc(text), func(s string) string {
		return fmt.Sprintf(" <text:s text:c=\"%d\"/>", len(s)-1)
	})
	return fmt.Sprintf("<text:p text:style-name=%q>%s</text:p>\n", style, body)
}

func (t template) fodt() string {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(`<table:table table:name="Head" table:style-name="Head"><table:table-column table:style-name="HeadL"/><table:table-column table:style-name="HeadR"/>
<table:table-row><table:table-cell office:value-type="string">`)
	for i, l := range t.org {
		st := "C"
		if i == len(t.org)-1 {
			st = "CB"
		}
		b.WriteString(p(st, l))
	}
	b.WriteString(p("C", "───────"))
	b.WriteString(p("C", t.symbol))
	b.WriteString(`</table:table-cell><table:table-cell office:value-type="string">`)
	b.WriteString(p("CB", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"))
	b.WriteString(p("CB", "Độc lập - Tự do - Hạnh phúc"))
	b.WriteString(p("C", "───────────────"))
	b.WriteString(p("CI", t.dateLine))
	b.WriteString("</table:table-cell></table:table-row></table:table>\n")
	b.WriteString(p("Title", "QUYẾT ĐỊNH"))
	b.WriteString(p("CB", t.subject))
	b.WriteString(p("CB", "ỦY BAN NHÂN DÂN XÃ THÀNH LONG"))
	for _, l := range t.body {
		if l == "QUYẾT ĐỊNH:" {
			b.WriteString(p("CB", l))
			continue
		}
		b.WriteString(p("J", l))
	}
	b.WriteString(`<table:table table:name="Sign" table:style-name="Head"><table:table-column table:style-name="SignL"/><table:table-column table:style-name="SignR"/>
<table:table-row><table:table-cell office:value-type="string">`)
	b.WriteString(p("RecvH", "Nơi nhận:"))
	for _, r := range t.recipient {
		b.WriteString(p("Recv", r))
	}
	b.WriteString(`</table:table-cell><table:table-cell office:value-type="string">`)
	b.WriteString(p("CB", t.capacity))
	b.WriteString(p("CB", t.position))
	for i := 0; i < 4; i++ {
		b.WriteString(p("C", ""))
	}
	b.WriteString(p("CB", t.signer))
	b.WriteString("</table:table-cell></table:table-row></table:table>\n")
	if len(t.annex) > 0 {
		b.WriteString(p("Break", "PHỤ LỤC"))
		b.WriteString(p("CB", "KẾ HOẠCH CHUYỂN ĐỔI SỐ NĂM 2026"))
		b.WriteString(p("CI", "(Kèm theo Quyết định số       /QĐ-UBND ngày     tháng     năm 2026 của Ủy ban nhân dân xã Thành Long)"))
		for _, l := range t.annex {
			b.WriteString(p("J", l))
		}
	}
	b.WriteString(tail)
	return b.String()
}

func main() {
	out := flag.String("out", "testdata/decree30", "output directory")
	flag.Parse()
	work, err := os.MkdirTemp("", "decree30-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	for _, t := range templates {
		src := filepath.Join(work, t.name+".fodt")
		if err := os.WriteFile(src, []byte(t.fodt()), 0o644); err != nil {
			log.Fatal(err)
		}
		cmd := exec.Command("soffice", "-env:UserInstallation=file://"+filepath.Join(work, "profile"), "--headless",
			"--convert-to", "pdf:writer_pdf_Export", "--outdir", work, src)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("soffice %s: %v", t.name, err)
		}
		pdf, err := os.ReadFile(filepath.Join(work, t.name+".pdf"))
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*out, t.name+".pdf"), pdf, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Println(filepath.Join(*out, t.name+".pdf"), len(pdf), "bytes")
	}
}

const head = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:font-face-decls>
  <style:font-face style:name="Liberation Serif" svg:font-family="'Liberation Serif'" style:font-family-generic="roman"/>
 </office:font-face-decls>
 <office:styles>
  <style:default-style style:family="paragraph">
   <style:paragraph-properties fo:margin-top="0cm" fo:margin-bottom="0cm"/>
   <style:text-properties style:font-name="Liberation Serif" fo:font-size="13pt" fo:language="vi" fo:country="VN"/>
  </style:default-style>
 </office:styles>
 <office:automatic-styles>
  <style:page-layout style:name="A4">
   <style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"
    fo:margin-top="2cm" fo:margin-bottom="2cm" fo:margin-left="3cm" fo:margin-right="1.5cm"/>
  </style:page-layout>
  <style:style style:name="Head" style:family="table"><style:table-properties style:width="16.5cm" table:align="center"/></style:style>
  <style:style style:name="HeadL" style:family="table-column"><style:table-column-properties style:column-width="6.5cm"/></style:style>
  <style:style style:name="HeadR" style:family="table-column"><style:table-column-properties style:column-width="10cm"/></style:style>
  <style:style style:name="SignL" style:family="table-column"><style:table-column-properties style:column-width="8.5cm"/></style:style>
  <style:style style:name="SignR" style:family="table-column"><style:table-column-properties style:column-width="8cm"/></style:style>
  <style:style style:name="C" style:family="paragraph"><style:paragraph-properties fo:text-align="center"/></style:style>
  <style:style style:name="CB" style:family="paragraph"><style:paragraph-properties fo:text-align="center"/><style:text-properties fo:font-weight="bold"/></style:style>
  <style:style style:name="CI" style:family="paragraph"><style:paragraph-properties fo:text-align="center" fo:margin-top="0.1cm"/><style:text-properties fo:font-style="italic"/></style:style>
  <style:style style:name="Title" style:family="paragraph"><style:paragraph-properties fo:text-align="center" fo:margin-top="0.6cm"/><style:text-properties fo:font-weight="bold" fo:font-size="14pt"/></style:style>
  <style:style style:name="J" style:family="paragraph"><style:paragraph-properties fo:text-align="justify" fo:text-indent="1cm" fo:margin-top="0.15cm"/></style:style>
  <style:style style:name="RecvH" style:family="paragraph"><style:paragraph-properties fo:margin-top="0.3cm"/><style:text-properties fo:font-weight="bold" fo:font-style="italic" fo:font-size="12pt"/></style:style>
  <style:style style:name="Recv" style:family="paragraph"><style:text-properties fo:font-size="11pt"/></style:style>
  <style:style style:name="Break" style:family="paragraph"><style:paragraph-properties fo:break-before="page" fo:text-align="center"/><style:text-properties fo:font-weight="bold"/></style:style>
  <style:master-page style:name="Standard" style:page-layout-name="A4"/>
 </office:automatic-styles>
 <office:body>
  <office:text>
`

const tail = `  </office:text>
 </office:body>
</office:document>
`
