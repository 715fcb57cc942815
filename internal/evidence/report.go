package evidence

import (
	"html/template"
	"io"
	"sync"
	"time"

	"vanban/internal/document"
	"vanban/signing/verify"
)

// reportPage is the readable validation report: a self-contained page (no
// script, no external resource) an archivist can open from the ZIP.
// Parsed on first use: start-up pays only for what a command uses.
var reportPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(time.FixedZone("ICT", 7*3600)).Format("02/01/2006 15:04:05 (UTC+7)")
		},
	}).Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Báo cáo xác thực chữ ký / Signature validation report — {{.Doc.Subject}}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}.ok{color:#060}.bad{color:#a00}</style></head>
<body>
<h1>Báo cáo xác thực chữ ký số<br><small>Signature validation report</small></h1>
<table>
<tr><th>Cơ quan / Organization</th><td>{{.Org}}</td></tr>
<tr><th>Trích yếu / Subject</th><td>{{.Doc.Subject}}</td></tr>
{{if .Doc.Symbol}}<tr><th>Số, ký hiệu / Number</th><td>{{.Doc.Symbol}}</td></tr>{{end}}
<tr><th>Trạng thái / State</th><td>{{.Doc.State}}</td></tr>
<tr><th>Tệp / File</th><td>{{.Doc.ID}} phiên bản / version {{.Version.Seq}} ({{.Version.Kind}}), SHA-256 {{.Version.SHA256}}, {{.Rep.FileSize}} bytes</td></tr>
<tr><th>Thời điểm xác thực / Validated at</th><td>{{when .Rep.ValidationTime}}</td></tr>
</table>
{{range $i, $s := .Rep.Signatures}}
<h2>{{if eq $s.Type "signature"}}Chữ ký / Signature{{else}}Dấu thời gian tài liệu / Document time-stamp{{end}} {{$s.Field}}</h2>
<table>
<tr><th>Kết quả / Indication</th><td class="{{if eq (printf "%s" $s.Indication) "TOTAL-PASSED"}}ok{{else}}bad{{end}}">{{$s.Indication}} {{$s.SubIndication}}</td></tr>
{{if $s.Signer}}<tr><th>Người ký / Signer</th><td>{{$s.Signer.CommonName}}{{if $s.Signer.Organization}} ({{$s.Signer.Organization}}){{end}}<br><small>{{$s.Signer.Subject}}</small></td></tr>
<tr><th>Cấp bởi / Issuer</th><td>{{$s.Signer.Issuer}}</td></tr>{{end}}
<tr><th>Thời điểm chứng minh / Proven time</th><td>{{when $s.BestSignatureTime}}</td></tr>
{{if $s.Level}}<tr><th>Mức PAdES / Level</th><td>{{$s.Level}}</td></tr>{{end}}
<tr><th>Phạm vi / Coverage</th><td>ByteRange {{$s.Coverage.ByteRange}}</td></tr>
{{range $s.Errors}}<tr><th>Lỗi / Error</th><td class="bad">{{.}}</td></tr>{{end}}
{{range $s.Warnings}}<tr><th>Lưu ý / Warning</th><td>{{.}}</td></tr>{{end}}
</table>
{{end}}
{{if .Exchange}}
<h2>Gửi, nhận văn bản / Deliveries and exchange</h2>
<table>
<tr><th>Nơi nhận / Recipient</th><th>Trạng thái / Status</th><th>Thời điểm / At</th><th>Chi tiết / Detail</th></tr>
{{range .Exchange}}<tr><td>{{if .RecipientName}}{{.RecipientName}}<br><small>{{.Recipient}}</small>{{else}}{{.Recipient}}{{end}}</td>
<td>{{if eq .Channel "edxml"}}{{if eq .Kind "status"}}{{.Code}} {{.Name}}{{else}}Gói tin / package: {{.Status}}{{end}}{{else}}Nội bộ / internal: {{.Status}}{{end}}</td>
<td>{{when .At}}</td><td>{{.Detail}}{{if .Staff}} — {{.Staff}}{{end}}{{if .AuditSeq}} <small>(nhật ký / audit #{{.AuditSeq}})</small>{{end}}</td></tr>
{{end}}</table>
{{end}}
<p><small>Kiểm tra lại ngoại tuyến / check again offline: <code>vanban evidence verify FILE.zip --trust ROOT.pem</code></small></p>
</body></html>
`))
})

func writeReportHTML(w io.Writer, doc *document.Document, org string, v *document.Version, rep *verify.Report, exchange []ExchangeStatus) error {
	return reportPage().Execute(w, struct {
		Doc      *document.Document
		Org      string
		Version  *document.Version
		Rep      *verify.Report
		Exchange []ExchangeStatus
	}{doc, org, v, rep, exchange})
}
