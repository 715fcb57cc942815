package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/verify"
)

// The verification page shows the report kept for a version (the one made
// on receipt, or the latest re-run) in words a clerk reads: who signed by
// name, whether each later change is permitted and by which rule, and a
// sentence saying so. The JSON download is the report itself.

// verifyView is the verification page's data.
type verifyView struct {
	Doc        *document.Document
	Version    *document.Version
	Kept       *workflow.Verification
	CheckedBy  string // the person who made the kept report
	Report     *verify.Report
	Signatures []sigView
}

// sigView is one signature as the page shows it.
type sigView struct {
	Heading       string // the signer's name
	Field         string
	Verdict       string // ok, bad or unknown
	Indication    string
	SubIndication string
	Level         string
	Certification bool
	SignerName    string // the certificate's common name
	SignerOrg     string
	IssuerName    string
	TSAName       string
	Time          time.Time
	Reason        string
	Location      string
	WholeFile     bool
	Revision      int
	// Changes is the plain sentence about the changes made after it.
	Changes   string
	Permitted bool
	Objects   []objectView
	Omitted   int
	Visual    []string // visible differences outside the permitted areas
	Errors    []string
	Warnings  []string
}

type objectView struct {
	Revision  int
	Object    string
	Change    string
	Type      string
	Rule      string
	Permitted bool
	Reason    string
}

func (s *Server) verifyVersionSeq(c *gin.Context) (int, bool) {
	seq, err := strconv.Atoi(c.Param("seq"))
	if err != nil || seq < 1 {
		s.fail(c, document.Errorf(document.ENOTFOUND, "no such version"))
		return 0, false
	}
	return seq, true
}

// keptReport is the newest report kept for the version, made now (and
// kept) when there is none yet.
func (s *Server) keptReport(c *gin.Context) (*workflow.View, *document.Version, *workflow.Verification, bool) {
	v, ver, ok := s.version(c)
	if !ok {
		return nil, nil, nil, false
	}
	ctx, a := c.Request.Context(), actor(c)
	kept, err := s.opt.Workflow.LatestVerification(ctx, a, v.Document.ID, ver.Seq)
	if err == nil && kept == nil {
		kept, err = s.opt.Workflow.Verify(ctx, a, v.Document.ID, ver.Seq)
	}
	if err != nil {
		s.fail(c, err)
		return nil, nil, nil, false
	}
	return v, ver, kept, true
}

func (s *Server) verifyPage(c *gin.Context) {
	v, ver, kept, ok := s.keptReport(c)
	if !ok {
		return
	}
	vv := &verifyView{Doc: v.Document, Version: ver, Kept: kept, Report: kept.Report}
	if dir, err := s.directory(c); err == nil {
		vv.CheckedBy = dir.UserName(kept.CreatedBy)
	}
	l := s.lang(c)
	for i := range kept.Report.Signatures {
		vv.Signatures = append(vv.Signatures, signatureView(l, &kept.Report.Signatures[i]))
	}
	s.render(c, http.StatusOK, "verify", vv)
}

func (s *Server) verifyJSON(c *gin.Context) {
	v, ver, kept, ok := s.keptReport(c)
	if !ok {
		return
	}
	c.Header("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(fileName(v.Document, "-v"+strconv.Itoa(ver.Seq)+"-kiem-tra.json")))
	c.Header("Cache-Control", "private, no-store")
	c.IndentedJSON(http.StatusOK, kept.Report)
}

// verifyAgain validates the version again and shows the new report.
func (s *Server) verifyAgain(c *gin.Context) {
	seq, ok := s.verifyVersionSeq(c)
	if !ok {
		return
	}
	id := c.Param("id")
	if _, err := s.opt.Workflow.Verify(c.Request.Context(), actor(c), id, seq); err != nil {
		s.fail(c, err)
		return
	}
	s.flash(c, "flash.verified")
	c.Redirect(http.StatusSeeOther, "/d/"+id+"/v/"+strconv.Itoa(seq)+"/verify")
}

func signatureView(l Lang, r *verify.SignatureReport) sigView {
	sv := sigView{Field: r.Field, Indication: string(r.Indication), SubIndication: string(r.SubIndication), Level: r.Level,
		Certification: r.Certification, Time: r.BestSignatureTime, Reason: r.Reason, Location: r.Location,
		WholeFile: r.Coverage.WholeFile, Revision: r.Coverage.Revision, Permitted: r.Modifications.Permitted,
		Omitted: r.Modifications.Omitted, Errors: r.Errors, Warnings: r.Warnings}
	switch r.Indication {
	case verify.TotalPassed:
		sv.Verdict = "ok"
	case verify.TotalFailed:
		sv.Verdict = "bad"
	default:
		sv.Verdict = "unknown"
	}
	if r.Signer != nil {
		sv.SignerName, sv.SignerOrg = r.Signer.CommonName, r.Signer.Organization
		sv.IssuerName = dnCommonName(r.Signer.Issuer)
	}
	if r.Timestamp != nil && r.Timestamp.TSA != nil {
		sv.TSAName = r.Timestamp.TSA.CommonName
	}
	sv.Heading = signerHeading(r)
	for _, d := range r.Modifications.Visual {
		sv.Visual = append(sv.Visual, fmt.Sprintf("%s %d · %s %d: %s", l.T("verify.page"), d.Page, l.T("verify.col.rev"), d.Revision, d.Detail))
	}
	for _, o := range r.Modifications.Objects {
		sv.Objects = append(sv.Objects, objectView{Revision: o.Revision, Object: o.Object, Change: l.T("verify.change." + o.Change),
			Type: o.Type, Rule: l.T("verify.rule." + o.Rule), Permitted: o.Permitted, Reason: detailText(l, o.Reason)})
	}
	sv.Changes = changesSentence(l, r)
	for i, w := range sv.Warnings {
		if i == 0 {
			sv.Warnings = nil
		}
		sv.Warnings = append(sv.Warnings, detailText(l, w))
	}
	return sv
}

// subscriberLike matches names that are a subscriber number rather than a
// person: a mobile signing certificate often has "Thuê bao 0912…" or the
// bare number as its common name.
var subscriberLike = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?i:(thuê bao|thue bao|subscriber|msisdn:?)\s*)?\+?[0-9 .-]{6,}$`)
})

// signerHeading is the signer's name: the name the signer put in the
// signature (vanban puts the person's or the organization's), else the
// certificate's common name, skipping subscriber numbers; the field name
// as the last resort.
func signerHeading(r *verify.SignatureReport) string {
	names := []string{r.Name}
	if r.Signer != nil {
		names = append(names, r.Signer.CommonName, r.Signer.Organization)
	}
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" && !subscriberLike().MatchString(n) {
			return n
		}
	}
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return r.Field
}

// dnCommonName is the CN of a distinguished name as crypto/x509 prints it
// ("CN=Vanban Dev Issuing CA,O=…"), or the whole name when it has none.
func dnCommonName(dn string) string {
	for _, part := range splitDN(dn) {
		if v, ok := strings.CutPrefix(part, "CN="); ok {
			return v
		}
	}
	return dn
}

// splitDN splits at the commas that separate attributes, not the escaped
// ones inside a value.
func splitDN(dn string) []string {
	var out []string
	start := 0
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			out = append(out, strings.TrimSpace(dn[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(dn[start:]))
}

// changesSentence says in one sentence whether the changes made after the
// signature are permitted, naming what they are.
func changesSentence(l Lang, r *verify.SignatureReport) string {
	m := r.Modifications
	if len(m.Categories) == 0 {
		if r.Coverage.WholeFile {
			return l.T("verify.sentence.none")
		}
		return l.T("verify.sentence.nothing")
	}
	var kinds []string
	for _, c := range m.Categories {
		kinds = append(kinds, l.T("verify.cat."+c))
	}
	if m.Permitted {
		return l.T("verify.sentence.permitted") + " " + strings.Join(kinds, "; ") + "."
	}
	var why []string
	for _, o := range m.Objects {
		if !o.Permitted {
			w := o.Object + " (" + l.T("verify.rule."+o.Rule) + ")"
			if o.Reason != "" {
				w += ": " + detailText(l, o.Reason)
			}
			why = append(why, w)
			if len(why) == 3 {
				break
			}
		}
	}
	if len(why) == 0 {
		why = m.Details
	}
	return l.T("verify.sentence.forbidden") + " " + strings.Join(why, "; ") + "."
}

// details translates the validator's explanations (English, made by
// signing/verify) that come up in ordinary reports; the key is the
// Vietnamese template, the groups fill its %s in order, and a group named
// cat is a change category translated in turn.
// The patterns are compiled on first use rather than at start-up, which
// every command of the binary would pay.
var details = sync.OnceValue(func() []detailPattern {
	return []detailPattern{
		{regexp.MustCompile(`^form field "(.*)" filled \((.*)\)$`), `trường "%s" được điền (%s)`},
		{regexp.MustCompile(`^signature field "(.*)" signed \((.*)\)$`), `trường chữ ký "%s" được ký (%s)`},
		{regexp.MustCompile(`^signature field "(.*)"$`), `trường chữ ký "%s"`},
		{regexp.MustCompile(`^used by (\d+ \d+ R) \((?P<cat>[a-z-]+)\)$`), `được dùng bởi %s (%s)`},
		{regexp.MustCompile(`^(.*) annotation added$`), `thêm chú thích %s`},
		{regexp.MustCompile(`^signature dictionary$`), `từ điển chữ ký`},
		{regexp.MustCompile(`^document time-stamp$`), `dấu thời gian tài liệu`},
		{regexp.MustCompile(`^added; nothing uses it$`), `thêm mới, không được dùng`},
		{regexp.MustCompile(`^document information dictionary$`), `từ điển thông tin tài liệu`},
		{regexp.MustCompile(`^XMP metadata stream$`), `siêu dữ liệu XMP`},
		{regexp.MustCompile(`^part of the document security store$`), `thuộc kho dữ liệu xác thực (DSS)`},
		{regexp.MustCompile(`^document security store updated$`), `kho dữ liệu xác thực (DSS) được cập nhật`},
		{regexp.MustCompile(`^default resources of the form$`), `tài nguyên mặc định của biểu mẫu`},
		{regexp.MustCompile(`^appearance used only by widgets filled or signed in this update$`), `hình hiển thị chỉ dùng cho các ô được điền hoặc ký trong lần cập nhật này`},
		{regexp.MustCompile(`^form fields or annotations changed after signing$`), `các trường biểu mẫu hoặc chú thích được thay đổi sau khi ký`},
		{regexp.MustCompile(`^revocation status of the time-stamping authority is unknown$`), `chưa rõ tình trạng thu hồi của đơn vị cấp dấu thời gian`},
	}
})

type detailPattern struct {
	re *regexp.Regexp
	vi string
}

// detailText is an explanation of the validator in the page's language;
// one it does not know stays in English.
func detailText(l Lang, s string) string {
	if l.Code == "en" || s == "" {
		return s
	}
	for _, d := range details() {
		m := d.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for i, g := range m[1:] {
			if d.re.SubexpNames()[i+1] == "cat" {
				g = l.T("verify.cat." + g)
			}
			args = append(args, g)
		}
		return fmt.Sprintf(d.vi, args...)
	}
	return s
}

// The page's texts, kept here so that the verification page is one file to
// read; they join the catalogue of i18n.go.
// verifyTexts are built with the catalog, on first use, not at start-up.
func verifyTexts() map[string]map[string]string {
	return map[string]map[string]string{
		"vi": {
			"verify.again":                   "Kiểm tra lại",
			"verify.kept":                    "Báo cáo lập lúc",
			"verify.by":                      "bởi",
			"verify.cert":                    "Chứng thư số",
			"verify.issuer":                  "Cấp bởi",
			"verify.tsa":                     "Dấu thời gian",
			"verify.kind.cert":               "Chữ ký chứng thực (khóa tài liệu)",
			"verify.reason":                  "Lý do",
			"verify.objects":                 "Các đối tượng thay đổi sau khi ký",
			"verify.col.rev":                 "Lần cập nhật",
			"verify.col.obj":                 "Đối tượng",
			"verify.col.change":              "Thay đổi",
			"verify.col.rule":                "Quy tắc",
			"verify.col.ok":                  "Được phép",
			"verify.omitted":                 "đối tượng khác không liệt kê",
			"verify.visual":                  "Khác biệt hiển thị ngoài vùng được phép thay đổi",
			"verify.warnings":                "Lưu ý",
			"verify.page":                    "Trang",
			"verify.yes":                     "Có",
			"verify.no":                      "Không",
			"verify.sentence.none":           "Không có thay đổi nào sau khi ký: chữ ký bao trùm toàn bộ tệp.",
			"verify.sentence.nothing":        "Không có thay đổi nội dung nào sau khi ký.",
			"verify.sentence.permitted":      "Các thay đổi sau khi ký đều được phép:",
			"verify.sentence.forbidden":      "Có thay đổi sau khi ký KHÔNG được phép:",
			"verify.cat.form-fill":           "điền số, ngày và các trường biểu mẫu",
			"verify.cat.signatures":          "thêm chữ ký (của cơ quan, dấu thời gian)",
			"verify.cat.dss":                 "dữ liệu xác thực (chứng thư, OCSP, CRL)",
			"verify.cat.annotations":         "thêm chú thích",
			"verify.cat.metadata":            "cập nhật thông tin mô tả (metadata)",
			"verify.cat.other":               "thay đổi khác",
			"verify.cat.unreferenced":        "đối tượng không được dùng",
			"verify.change.added":            "thêm",
			"verify.change.changed":          "sửa",
			"verify.change.deleted":          "xóa",
			"verify.rule.unchanged":          "ghi lại không đổi",
			"verify.rule.structure":          "cấu trúc tệp (xref, object stream)",
			"verify.rule.unreferenced":       "không được tham chiếu",
			"verify.rule.freed-unused":       "giải phóng đối tượng không dùng",
			"verify.rule.dss":                "dữ liệu xác thực (DSS/VRI)",
			"verify.rule.document-timestamp": "dấu thời gian tài liệu",
			"verify.rule.signature":          "chữ ký",
			"verify.rule.signature-field":    "trường và ô chữ ký",
			"verify.rule.form-fill":          "điền trường chưa khóa",
			"verify.rule.field-appearance":   "hình hiển thị của trường",
			"verify.rule.acroform":           "sổ trường biểu mẫu (AcroForm)",
			"verify.rule.page-annots":        "trang thêm ô chữ ký/trường",
			"verify.rule.annotation":         "chú thích",
			"verify.rule.metadata":           "thông tin mô tả",
			"verify.rule.catalog":            "mục lục tài liệu",
			"verify.rule.no rule":            "không khớp quy tắc nào",
			"flash.verified":                 "Đã kiểm tra lại chữ ký và lưu báo cáo.",
		},
		"en": {
			"verify.again":                   "Verify again",
			"verify.kept":                    "Report made on",
			"verify.by":                      "by",
			"verify.cert":                    "Certificate",
			"verify.issuer":                  "Issued by",
			"verify.tsa":                     "Time-stamp",
			"verify.kind.cert":               "Certification signature (locks the document)",
			"verify.reason":                  "Reason",
			"verify.objects":                 "Objects changed after signing",
			"verify.col.rev":                 "Revision",
			"verify.col.obj":                 "Object",
			"verify.col.change":              "Change",
			"verify.col.rule":                "Rule",
			"verify.col.ok":                  "Permitted",
			"verify.omitted":                 "more objects not listed",
			"verify.visual":                  "Visible differences outside the areas allowed to change",
			"verify.warnings":                "Warnings",
			"verify.page":                    "Page",
			"verify.yes":                     "Yes",
			"verify.no":                      "No",
			"verify.sentence.none":           "Nothing changed after signing: the signature covers the whole file.",
			"verify.sentence.nothing":        "No content changed after signing.",
			"verify.sentence.permitted":      "The changes after signing are all permitted:",
			"verify.sentence.forbidden":      "Some changes after signing are NOT permitted:",
			"verify.cat.form-fill":           "filling in the number, the date and form fields",
			"verify.cat.signatures":          "further signatures (the organization's, time-stamps)",
			"verify.cat.dss":                 "validation data (certificates, OCSP, CRLs)",
			"verify.cat.annotations":         "annotations",
			"verify.cat.metadata":            "metadata updates",
			"verify.cat.other":               "other changes",
			"verify.cat.unreferenced":        "unused objects",
			"verify.change.added":            "added",
			"verify.change.changed":          "changed",
			"verify.change.deleted":          "deleted",
			"verify.rule.unchanged":          "rewritten unchanged",
			"verify.rule.structure":          "file structure (xref, object streams)",
			"verify.rule.unreferenced":       "not referenced",
			"verify.rule.freed-unused":       "unused object freed",
			"verify.rule.dss":                "validation data (DSS/VRI)",
			"verify.rule.document-timestamp": "document time-stamp",
			"verify.rule.signature":          "signature",
			"verify.rule.signature-field":    "signature field and widget",
			"verify.rule.form-fill":          "fill of an unlocked field",
			"verify.rule.field-appearance":   "field appearance",
			"verify.rule.acroform":           "form bookkeeping (AcroForm)",
			"verify.rule.page-annots":        "page gains a widget",
			"verify.rule.annotation":         "annotation",
			"verify.rule.metadata":           "metadata",
			"verify.rule.catalog":            "document catalog",
			"verify.rule.no rule":            "no rule",
			"flash.verified":                 "The signatures were verified again and the report kept.",
		},
	}
}

func init() {
	catalogAdditions = append(catalogAdditions, func(catalog map[string]map[string]string) {
		for lang, texts := range verifyTexts() {
			for k, v := range texts {
				if _, dup := catalog[lang][k]; dup {
					panic("web: text " + k + " defined twice")
				}
				catalog[lang][k] = v
			}
		}
	})
}
