package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"vanban/internal/render"
	"vanban/internal/visualcheck"
	"vanban/signing"
	_ "vanban/signing/csc"     // csc: cloud signing
	_ "vanban/signing/etsi204" // etsi204: mobile SIM through an MSSP
	"vanban/signing/keyfile"   // also the file: signer, PKCS#12 and PEM keys
	"vanban/signing/pades"
	"vanban/signing/pdf"
	_ "vanban/signing/pkcs11" // pkcs11: HSM or token
	"vanban/signing/revocation"
	"vanban/signing/tsa"
	"vanban/signing/verify"
)

func runPDF(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"sign":   runPDFSign,
		"extend": runPDFExtend,
		"verify": runPDFVerify,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(stderr, "Usage: vanban pdf sign|extend|verify [flags]   (vanban pdf <cmd> --help)")
		return exitError{2}
	}
	return sub[args[0]](ctx, args[1:], stdout, stderr)
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runPDFSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban pdf sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "PDF to sign (or name several after the flags, with --out-dir)")
	out := fs.String("out", "", "signed PDF to write (written atomically)")
	outDir := fs.String("out-dir", "", "directory for the signed copies of the PDFs named after the flags, each under its own name: many files in one process, the key opened once")
	signerURI := fs.String("signer", "", "signer URI: file:KEY.p12?pass-env=VAR, pkcs11:token=..;object=..?module-path=..&pin-env=.., etsi204:https://mssp/soap?msisdn=.., csc:https://..")
	signerID := fs.String("signer-id", "", "signer within the provider (phone number, CSC credential) when the URI names none")
	level := fs.String("level", "", "PAdES level: B-B, B-T, B-LT or B-LTA (default B-B, or B-T with --tsa)")
	tsaURL := fs.String("tsa", "", "RFC 3161 time-stamp authority URL (B-T and above)")
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors for collecting revocation data (B-LT, B-LTA); repeatable")
	certify := fs.Bool("certify", false, "make a certification signature (DocMDP P=2: form filling and signing stay permitted)")
	page := fs.Int("page", 1, "page of the visible signature")
	rect := fs.String("rect", "", "visible signature rectangle x,y,w,h in points from the lower-left corner (omit for an invisible signature)")
	image := fs.String("image", "", "PNG (with transparency) drawn in the visible signature")
	reason := fs.String("reason", "", "reason (/Reason)")
	location := fs.String("location", "", "location (/Location)")
	field := fs.String("field", "", "signature field name (an existing empty signature field is signed)")
	pss := fs.Bool("pss", false, "RSA-PSS instead of PKCS#1 v1.5 for RSA keys")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the signer (a phone)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	jobs, err := signJobs(*in, *out, *outDir, fs.Args())
	if err != nil {
		return usageError(fs, err.Error())
	}
	if *signerURI == "" {
		return usageError(fs, "--signer is required")
	}
	opts := pades.Options{Reason: *reason, Location: *location, FieldName: *field, PSS: *pss}
	if *level != "" {
		l, err := pades.ParseLevel(*level)
		if err != nil {
			return usageError(fs, fmt.Sprintf("--level: %v", err))
		}
		opts.Level = l
	}
	if err := timestampingOptions(&opts, *tsaURL, trust); err != nil {
		return err
	}
	if *certify {
		opts.Certify = 2
	}
	if *rect != "" {
		r, err := parseRect(*rect)
		if err != nil {
			return usageError(fs, fmt.Sprintf("--rect: %v", err))
		}
		ap := &pades.Appearance{Page: *page, Rect: r}
		if *image != "" {
			b, err := os.ReadFile(*image)
			if err != nil {
				return fmt.Errorf("--image: %w", err)
			}
			ap.Image = b
		}
		opts.Appearance = ap
	}

	provider, err := signing.Open(*signerURI, nil)
	if err != nil {
		return fmt.Errorf("--signer: %w", err)
	}
	if c, ok := provider.(signing.Closer); ok {
		defer c.Close()
	}
	wait := signing.WaitOptions{OnSession: func(s *signing.Session) {
		if s.VerificationCode != "" {
			fmt.Fprintf(stderr, "Mã xác nhận / verification code: %s — xác nhận trên điện thoại / confirm on the phone\n", s.VerificationCode)
		}
	}}
	failed := 0
	for _, j := range jobs {
		// The timeout is each signature's: a phone answers one at a time.
		fileCtx, cancel := context.WithTimeout(ctx, *timeout)
		err := transformFile(j.in, j.out, func(src *os.File, size int64, dst io.Writer) error {
			return pades.SignWith(fileCtx, src, size, dst, provider, *signerID, opts, wait)
		})
		cancel()
		if err != nil {
			if len(jobs) == 1 {
				return err
			}
			failed++
			fmt.Fprintf(stderr, "vanban pdf sign: %s: %v\n", j.in, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files not signed", failed, len(jobs))
	}
	return nil
}

// signJob is one file of `pdf sign`: what is read and where the signed copy
// goes.
type signJob struct{ in, out string }

// signJobs checks the two forms of `pdf sign`: --in and --out for one file,
// or --out-dir and the files as arguments, each signed into the directory
// under its own name. A directory holding one of the inputs is refused (the
// signed copy would replace the original), and so are two inputs of one
// name.
func signJobs(in, out, outDir string, files []string) ([]signJob, error) {
	if outDir == "" {
		if in == "" || out == "" || len(files) > 0 {
			return nil, errors.New("give --in and --out, or --out-dir and the PDFs to sign")
		}
		return []signJob{{in, out}}, nil
	}
	if in != "" || out != "" {
		return nil, errors.New("--out-dir takes the PDFs as arguments, not --in or --out")
	}
	if len(files) == 0 {
		return nil, errors.New("--out-dir needs the PDFs to sign as arguments")
	}
	dir, err := filepath.Abs(outDir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--out-dir %s is not a directory", outDir)
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	seen := map[string]string{}
	jobs := make([]signJob, 0, len(files))
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		inDir := filepath.Dir(abs)
		if real, err := filepath.EvalSymlinks(inDir); err == nil {
			inDir = real
		}
		if inDir == dir {
			return nil, fmt.Errorf("%s is in --out-dir: its signed copy would replace it", f)
		}
		name := filepath.Base(abs)
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s and %s would both be signed into %s", prev, f, filepath.Join(outDir, name))
		}
		seen[name] = f
		jobs = append(jobs, signJob{in: f, out: filepath.Join(dir, name)})
	}
	return jobs, nil
}

func runPDFExtend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban pdf extend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "signed PDF (required)")
	out := fs.String("out", "", "extended PDF to write (required)")
	level := fs.String("level", "B-LTA", "target level: B-LT (add /DSS) or B-LTA (/DSS and a document time-stamp)")
	tsaURL := fs.String("tsa", "", "RFC 3161 time-stamp authority URL (B-LTA)")
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors for collecting revocation data; repeatable")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return usageError(fs, "--in and --out are required")
	}
	l, err := pades.ParseLevel(*level)
	if err != nil {
		return usageError(fs, fmt.Sprintf("--level: %v", err))
	}
	var opts pades.Options
	if err := timestampingOptions(&opts, *tsaURL, trust); err != nil {
		return err
	}
	svc := pades.Services{TSA: opts.TSA, Revocation: opts.Revocation}
	return transformFile(*in, *out, func(src *os.File, size int64, dst io.Writer) error {
		return pades.Extend(ctx, src, size, dst, l, svc)
	})
}

// runPDFVerify validates every signature and document time-stamp of a PDF
// and prints the report. The exit status is 0 only when there is at least
// one signature and every one is TOTAL-PASSED, so scripts can rely on it
// without parsing the output: 1 otherwise (or for an unreadable file), 2
// for bad arguments.
func runPDFVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban pdf verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "PDF to verify (required)")
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors (root CAs); repeatable. Without it no chain is trusted and every signature is INDETERMINATE")
	asJSON := fs.Bool("json", false, "print the validation report as JSON (ETSI EN 319 102-1 indications)")
	online := fs.Bool("online", false, "fetch revocation status (OCSP, CRL) the document lacks over the network")
	passEnv := fs.String("password-env", "", "environment variable holding the user password of an encrypted PDF")
	at := fs.String("at", "", "validation time, RFC 3339 (default: now)")
	timeout := fs.Duration("timeout", 2*time.Minute, "overall time limit, including online revocation fetches")
	visual := fs.Bool("visual", true, "render the pages that permitted later changes touch, as signed and as now (PDFium), and report what changed outside the filled fields and signature widgets")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vanban pdf verify --in FILE [--trust CA.pem]... [--online] [--json] [--visual=false] [--password-env NAME]")
		fmt.Fprintln(stderr, "Kiểm tra chữ ký số PAdES / verify PAdES signatures. Exit status: 0 all TOTAL-PASSED, 1 otherwise, 2 bad arguments.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return usageError(fs, "--in is required")
	}
	if fs.NArg() > 0 {
		return usageError(fs, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	opts := verify.Options{Online: *online}
	if *online {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if len(trust) > 0 {
		roots, err := loadCertPool(trust)
		if err != nil {
			return err
		}
		opts.Roots = roots
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError(fs, fmt.Sprintf("--at: %v", err))
		}
		opts.Now = t
	}
	if *passEnv != "" {
		pw, ok := os.LookupEnv(*passEnv)
		if !ok {
			return usageError(fs, fmt.Sprintf("--password-env: %s is not set", *passEnv))
		}
		opts.ReadOptions = &pdf.ReadOptions{Password: []byte(pw)}
	}

	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", *in)
	}
	if *visual {
		// PDFium starts only when a signature has permitted changes
		// after it; its compiled module is cached between runs.
		engine := render.New(render.Options{CacheDir: pdfiumCache(), Workers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		defer engine.Close()
		opts.Visual = visualcheck.New(engine)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := verify.Verify(ctx, f, st.Size(), opts)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, filepath.Base(*in), rep, len(trust) > 0)
	}
	if !allPassed(rep) {
		return exitError{1}
	}
	return nil
}

// pdfiumCache is where the command keeps PDFium compiled: the user's
// cache directory, "" (compile every run) when there is none.
func pdfiumCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "vanban", "wazero")
}

// allPassed: a file without signatures does not pass, since a caller
// asking "is this signed document valid" must not be told yes.
func allPassed(rep *verify.Report) bool {
	if len(rep.Signatures) == 0 {
		return false
	}
	for _, s := range rep.Signatures {
		if s.Indication != verify.TotalPassed {
			return false
		}
	}
	return true
}

// vnTime is Vietnam's offset; times are shown in it because the readers
// are Vietnamese offices, with the offset printed so nothing is ambiguous.
// A fixed zone avoids depending on the tz database being installed.
var vnTime = time.FixedZone("+07", 7*3600)

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(vnTime).Format("2006-01-02 15:04:05 -07:00")
}

func yesNo(b bool) string {
	if b {
		return "có / yes"
	}
	return "KHÔNG / NO"
}

func okFail(b bool) string {
	if b {
		return "đạt / OK"
	}
	return "LỖI / FAILED"
}

// certName is the common name with the organization, the way people
// recognise a signer, falling back to the full subject.
func certName(c *verify.CertInfo) string {
	if c == nil {
		return "—"
	}
	name := c.CommonName
	if name == "" {
		name = c.Subject
	}
	if c.Organization != "" && c.Organization != name {
		name += " (" + c.Organization + ")"
	}
	return name
}

// modNames translates the modification categories.
var modNames = map[string]string{
	verify.ModFormFill:     "điền biểu mẫu / form fill",
	verify.ModSignatures:   "thêm chữ ký / signatures",
	verify.ModDSS:          "dữ liệu kiểm tra (DSS) / validation data",
	verify.ModAnnotations:  "chú thích / annotations",
	verify.ModMetadata:     "siêu dữ liệu / metadata",
	verify.ModOther:        "thay đổi khác / other changes",
	verify.ModUnreferenced: "đối tượng không dùng / unreferenced objects",
}

// maxDetails bounds the modification details printed per signature.
const maxDetails = 10

func printReport(w io.Writer, name string, rep *verify.Report, trusted bool) {
	fmt.Fprintf(w, "Tệp / File: %s (%d bytes, %d phiên bản / revisions)\n", name, rep.FileSize, rep.Revisions)
	if rep.DocMDP > 0 {
		fmt.Fprintf(w, "Chứng thực / Certified: DocMDP P=%d\n", rep.DocMDP)
	}
	fmt.Fprintf(w, "Thời điểm kiểm tra / Validation time: %s\n", fmtTime(rep.ValidationTime))
	if !trusted {
		fmt.Fprintln(w, "Chú ý / Note: không có --trust, không chuỗi chứng thư nào được tin cậy / no --trust given, no chain is trusted")
	}
	if len(rep.Signatures) == 0 {
		fmt.Fprintln(w, "\nKhông có chữ ký / No signatures.")
		return
	}
	passed := 0
	for i, s := range rep.Signatures {
		if s.Indication == verify.TotalPassed {
			passed++
		}
		kind := "Chữ ký / Signature"
		if s.Type == "document-timestamp" {
			kind = "Dấu thời gian tài liệu / Document time-stamp"
		}
		fmt.Fprintf(w, "\n%s %d/%d: %s\n", kind, i+1, len(rep.Signatures), s.Field)
		line := func(label, format string, args ...any) {
			fmt.Fprintf(w, "  %-44s %s\n", label+":", fmt.Sprintf(format, args...))
		}
		signer := certName(s.Signer)
		if s.Name != "" && s.Signer != nil && s.Name != s.Signer.CommonName {
			signer += " — /Name " + s.Name
		}
		line("Người ký / Signer", "%s", signer)
		if s.Signer != nil {
			line("Cấp bởi / Issuer", "%s", s.Signer.Issuer)
		}
		if s.Certification {
			line("Chứng thực / Certification", "DocMDP P=%d", s.DocMDP)
		}
		if s.Reason != "" {
			line("Lý do / Reason", "%s", s.Reason)
		}
		if s.Location != "" {
			line("Nơi ký / Location", "%s", s.Location)
		}
		if s.Type != "document-timestamp" {
			// A document time-stamp's time is on the Time-stamp line.
			line("Thời điểm ký (khai) / Claimed signing time", "%s", fmtTime(s.ClaimedSigningTime))
			line("Thời điểm chứng minh / Proven time", "%s", provenTime(s, rep.ValidationTime))
		}
		line("SubFilter", "%s", s.SubFilter)
		cov := fmt.Sprintf("phiên bản / revision %d/%d, ByteRange %v", s.Coverage.Revision, rep.Revisions, s.Coverage.ByteRange)
		if s.Coverage.WholeFile {
			cov += ", toàn bộ tệp / whole file"
		} else {
			cov += ", có nội dung thêm sau / more appended after it"
		}
		line("Phạm vi / Coverage", "%s", cov)
		integ := fmt.Sprintf("băm / digest %s, chữ ký / signature %s", okFail(s.Integrity.MessageDigestOK), okFail(s.Integrity.SignatureOK))
		if s.Integrity.DigestAlgorithm != "" {
			integ += fmt.Sprintf(" (%s, %s)", s.Integrity.DigestAlgorithm, s.Integrity.SignatureAlgorithm)
		}
		line("Toàn vẹn / Integrity", "%s", integ)
		line("Chuỗi chứng thư / Chain", "%s", chainText(s.Chain))
		line("Dấu thời gian / Time-stamp", "%s", timestampText(s.Timestamp))
		line("Thu hồi / Revocation", "%s", revocationText(s.Revocation))
		line("Thay đổi sau khi ký / Changes after signing", "%s", modsText(s.Modifications))
		if m := s.Modifications; m.VisualChecked {
			if len(m.Visual) == 0 {
				line("Kiểm tra hiển thị / Visual check", "không khác ngoài vùng điền, ký / nothing changed outside the filled fields and signature widgets")
			}
			for _, d := range m.Visual {
				line("Kiểm tra hiển thị / Visual check", "KHÁC / CHANGED: trang / page %d, r%d, [%.0f %.0f %.0f %.0f], %d px: %s",
					d.Page, d.Revision, d.Rect[0], d.Rect[1], d.Rect[2], d.Rect[3], d.Pixels, d.Detail)
			}
		}
		// Every changed object with the rule it matched, the not permitted
		// ones first (a DSS or a fill lists dozens: the rest is in --json).
		objs := s.Modifications.Objects
		for i, ch := range objs {
			if i == maxDetails {
				fmt.Fprintf(w, "  %-44s … %d more (--json)\n", "", len(objs)-i+s.Modifications.Omitted)
				break
			}
			verdict := "ok"
			if !ch.Permitted {
				verdict = "KHÔNG / NOT PERMITTED"
			}
			fmt.Fprintf(w, "  %-44s - r%d %s %s %s: %s [%s] %s\n", "", ch.Revision, ch.Object, ch.Type, ch.Change, ch.Rule, verdict, ch.Reason)
		}
		level := s.Level
		if level == "" {
			level = "— (không phải PAdES cơ bản / not PAdES baseline)"
		}
		if s.Type == "document-timestamp" {
			level = "— (dấu thời gian lưu trữ / archive time-stamp)"
		}
		line("Mức PAdES / PAdES level", "%s", level)
		ind := string(s.Indication)
		if s.SubIndication != "" {
			ind += " / " + string(s.SubIndication)
		}
		line("Kết quả / Indication", "%s", ind)
		for _, e := range s.Errors {
			line("Lỗi / Error", "%s", e)
		}
		for _, e := range s.Warnings {
			line("Cảnh báo / Warning", "%s", e)
		}
	}
	verdict := "HỢP LỆ / VALID"
	if passed != len(rep.Signatures) {
		verdict = "KHÔNG HỢP LỆ HOẶC CHƯA XÁC ĐỊNH / NOT VALID OR INDETERMINATE"
	}
	fmt.Fprintf(w, "\nKết luận / Result: %s (%d/%d TOTAL-PASSED)\n", verdict, passed, len(rep.Signatures))
}

// provenTime says where the best signature time comes from: a time-stamp
// proves it, otherwise it is only the validation time.
func provenTime(s verify.SignatureReport, validation time.Time) string {
	if s.BestSignatureTime.IsZero() || s.BestSignatureTime.Equal(validation) {
		return "— (không có dấu thời gian hợp lệ / no valid time-stamp)"
	}
	return fmtTime(s.BestSignatureTime) + " (dấu thời gian / time-stamp)"
}

func chainText(c verify.ChainReport) string {
	if !c.Trusted {
		if c.Detail == "" {
			return "KHÔNG tin cậy / NOT trusted"
		}
		return "KHÔNG tin cậy / NOT trusted: " + c.Detail
	}
	names := make([]string, 0, len(c.Certificates))
	for _, ci := range c.Certificates {
		names = append(names, certName(ci))
	}
	s := "tin cậy / trusted: " + strings.Join(names, " → ")
	if !c.KeyUsageOK {
		s += "; key usage KHÔNG phù hợp / NOT suitable"
	}
	return s
}

func timestampText(t *verify.TimestampReport) string {
	if t == nil {
		return "không có / none"
	}
	s := fmtTime(t.Time)
	if t.TSA != nil {
		s += ", TSA " + certName(t.TSA)
	}
	if t.Valid {
		s += ", hợp lệ / valid"
	} else {
		s += ", KHÔNG hợp lệ / NOT valid"
	}
	if t.Detail != "" {
		s += ": " + t.Detail
	}
	return s
}

func revocationText(rs []verify.RevocationReport) string {
	if len(rs) == 0 {
		return "không kiểm tra / not checked"
	}
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		name := r.Subject
		if cn := commonNameOf(r.Subject); cn != "" {
			name = cn
		}
		var st string
		switch {
		case r.NotApplicable:
			st = "không áp dụng / not applicable"
		default:
			st = r.Status.State.String()
			if r.Status.Source != "" {
				st += " (" + r.Status.Source
				if r.Online {
					st += ", trực tuyến / online"
				} else {
					st += ", trong tệp / from the document"
				}
				st += ")"
			}
			if r.Status.Detail != "" {
				st += ": " + r.Status.Detail
			}
		}
		parts = append(parts, name+": "+st)
	}
	return strings.Join(parts, "; ")
}

// commonNameOf picks CN=... out of a pkix.Name string.
func commonNameOf(subject string) string {
	for _, part := range strings.Split(subject, ",") {
		if cn, ok := strings.CutPrefix(strings.TrimSpace(part), "CN="); ok {
			return cn
		}
	}
	return ""
}

func modsText(m verify.Modifications) string {
	if len(m.Categories) == 0 {
		return "không có / none"
	}
	names := make([]string, 0, len(m.Categories))
	for _, c := range m.Categories {
		if n, ok := modNames[c]; ok {
			names = append(names, n)
		} else {
			names = append(names, c)
		}
	}
	s := strings.Join(names, ", ")
	if m.Permitted {
		return s + " — được phép / permitted"
	}
	return s + " — KHÔNG được phép / NOT permitted"
}

// parseFlags turns flag errors into exit status 2: the flag package has
// already printed the problem and the usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{2}
	}
	return nil
}

// usageError reports a bad or missing argument with the usage and exit
// status 2, like a flag the flag package rejected.
func usageError(fs *flag.FlagSet, msg string) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), msg)
	fs.Usage()
	return exitError{2}
}

// timestampingOptions sets the TSA client and the revocation collector.
func timestampingOptions(opts *pades.Options, tsaURL string, trustFiles []string) error {
	client := &http.Client{Timeout: 30 * time.Second}
	if tsaURL != "" {
		opts.TSA = &tsa.Client{URL: tsaURL, HTTPClient: client}
	}
	if len(trustFiles) == 0 {
		if opts.Level >= pades.LevelBLT {
			return errors.New("--level B-LT and B-LTA need --trust (the anchors revocation data is collected up to)")
		}
		return nil
	}
	roots, err := loadCertPool(trustFiles)
	if err != nil {
		return err
	}
	opts.Revocation = func(ctx context.Context, chain []*x509.Certificate) (*pades.Evidence, error) {
		ev, err := revocation.Collect(ctx, chain, roots, client)
		if err != nil {
			return nil, err
		}
		return &pades.Evidence{Certs: ev.Certs, OCSPs: ev.OCSPs, CRLs: ev.CRLs}, nil
	}
	return nil
}

func loadCertPool(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		certs, err := readCertificates(f)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

func readCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--trust: %w", err)
	}
	certs, err := keyfile.ParseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("--trust %s: %w", path, err)
	}
	return certs, nil
}

func parseRect(s string) (pades.Rect, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return pades.Rect{}, errors.New("want x,y,w,h")
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return pades.Rect{}, fmt.Errorf("%q is not a number", p)
		}
		v[i] = f
	}
	if v[2] <= 0 || v[3] <= 0 {
		return pades.Rect{}, errors.New("width and height must be positive")
	}
	return pades.Rect{LLX: v[0], LLY: v[1], URX: v[0] + v[2], URY: v[1] + v[3]}, nil
}

// transformFile streams in through fn into a temporary file next to out and
// renames it into place only on success, so a failed signature never leaves
// a half-written output.
func transformFile(in, out string, fn func(src *os.File, size int64, dst io.Writer) error) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".vanban-*.pdf")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fn(src, st.Size(), tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
