package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"context"

	"vanban/exchange/edxml"
)

// runEdxml reads and writes edXML packages for operators and integrators:
// "edxml parse FILE" and "edxml build --pdf FILE ...".
func runEdxml(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: vanban edxml parse FILE [--extract DIR] | vanban edxml build --pdf FILE --from ORGANID --to ORGANID[,...] [flags]")
		return exitError{2}
	}
	switch args[0] {
	case "parse":
		return runEdxmlParse(args[1:], stdout, stderr)
	case "build":
		return runEdxmlBuild(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown subcommand %q (parse or build)", args[0])
}

type parsedAttachment struct {
	edxml.Attachment
	SHA256 string `json:"sha256"`
	Zip    bool   `json:"zip,omitempty"`
	File   string `json:"file,omitempty"`
}

type parsedPackage struct {
	Kind        string              `json:"kind"`
	Header      *edxml.Header       `json:"header,omitempty"`
	References  []edxml.Reference   `json:"references,omitempty"`
	Attachments []*parsedAttachment `json:"attachments,omitempty"`
	Status      *edxml.Status       `json:"status,omitempty"`
}

func runEdxmlParse(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban edxml parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	extract := fs.String("extract", "", "write the attachments into this directory")
	maxMB := fs.Int64("max-mb", 256, "largest package accepted, in MiB")
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return errors.New("usage: vanban edxml parse FILE [--extract DIR]")
	}
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if *extract != "" {
		if err := os.MkdirAll(*extract, 0o750); err != nil {
			return err
		}
	}
	var atts []*parsedAttachment
	msg, err := edxml.Decode(in, edxml.DecodeOptions{
		Limits: edxml.Limits{MaxBytes: *maxMB << 20, MaxAttachmentSize: *maxMB << 20},
		Attachment: func(a *edxml.Attachment, r io.Reader) error {
			pa := &parsedAttachment{}
			atts = append(atts, pa)
			h := sha256.New()
			var head headBuffer
			w := io.MultiWriter(h, &head)
			if *extract != "" {
				pa.File = filepath.Join(*extract, fmt.Sprintf("%02d-%s", len(atts), safeName(a.AttachmentName)))
				f, err := os.Create(pa.File)
				if err != nil {
					return err
				}
				defer f.Close()
				w = io.MultiWriter(w, f)
			}
			if _, err := io.Copy(w, r); err != nil {
				return err
			}
			pa.SHA256 = hex.EncodeToString(h.Sum(nil))
			pa.Zip = edxml.IsZip(head.b)
			return nil
		},
	})
	if err != nil {
		return err
	}
	out := parsedPackage{}
	if msg.Status != nil {
		out.Kind, out.Status = "status", msg.Status
	} else {
		p := msg.Package
		out.Kind, out.Header, out.References = "package", &p.Header, p.References
		for i := range p.Attachments {
			atts[i].Attachment = p.Attachments[i]
		}
		out.Attachments = atts
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// headBuffer keeps the first bytes written, to recognize a ZIP.
type headBuffer struct{ b []byte }

func (h *headBuffer) Write(p []byte) (int, error) {
	if n := 8 - len(h.b); n > 0 {
		h.b = append(h.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func safeName(s string) string {
	s = filepath.Base(strings.ReplaceAll(s, "\\", "/"))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '/' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "attachment"
	}
	return s
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runEdxmlBuild(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban edxml build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pdf := fs.String("pdf", "", "the document (signed PDF)")
	var attach listFlag
	fs.Var(&attach, "attach", "another attachment (repeatable)")
	from := fs.String("from", "", "sender's OrganId, e.g. 000.00.12.H40")
	fromName := fs.String("from-name", "", "sender's name")
	to := fs.String("to", "", "recipients' OrganIds, comma-separated")
	number := fs.String("number", "", "document number (CodeNumber), e.g. 05")
	notation := fs.String("notation", "", "notation (CodeNotation), e.g. QĐ-UBND")
	date := fs.String("date", time.Now().Format("2006-01-02"), "date of issue, yyyy-mm-dd")
	place := fs.String("place", "", "place of issue")
	subject := fs.String("subject", "", "subject (trích yếu)")
	typeName := fs.String("type-name", "", "document type name, e.g. Quyết định")
	signer := fs.String("signer", "", "signer's full name")
	position := fs.String("position", "", "signer's position")
	competence := fs.String("competence", "", "signing capacity: TM., KT., TL., TUQ., Q.")
	priority := fs.String("priority", "0", "0 normal, 1 urgent, 2 very urgent, 3 fire-fast")
	business := fs.Int("business", 0, "BussinessDocType: 0 new, 1 recall, 2 update, 3 replace")
	reason := fs.String("reason", "", "BussinessDocReason (recall, update, replace)")
	replaces := fs.String("replaces", "", "DocumentId of the document updated or replaced")
	out := fs.String("out", "-", "output file (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pdf == "" || *from == "" || *to == "" {
		return errors.New("--pdf, --from and --to are required")
	}
	day, err := time.ParseInLocation("2006-01-02", *date, time.FixedZone("ICT", 7*3600))
	if err != nil {
		return fmt.Errorf("--date: want yyyy-mm-dd")
	}
	files := append([]string{*pdf}, attach...)
	p := &edxml.Package{}
	m := &p.Header.MessageHeader
	m.From = edxml.Organization{OrganId: *from, OrganName: *fromName}
	for _, t := range strings.Split(*to, ",") {
		m.To = append(m.To, edxml.Organization{OrganId: strings.TrimSpace(t)})
	}
	m.DocumentId = edxml.DocumentIdOf(*from, day, *number, *notation)
	m.Code = edxml.Code{CodeNumber: *number, CodeNotation: *notation}
	m.PromulgationInfo = edxml.PromulgationInfo{Place: *place, PromulgationDate: edxml.FormatDate(day)}
	m.DocumentType = edxml.DocumentType{TypeName: *typeName}
	m.Subject = *subject
	m.SignerInfo = edxml.SignerInfo{Competence: *competence, Position: *position, FullName: *signer}
	m.OtherInfo = edxml.OtherInfo{Priority: *priority}
	b := &edxml.Bussiness{BussinessDocType: edxml.BussinessDocType(*business), BussinessDocReason: *reason}
	if *replaces != "" {
		b.ReplacementInfoList = []edxml.ReplacementInfo{{DocumentId: *replaces, OrganIdList: strings.Split(*to, ",")}}
	}
	p.Header.TraceHeaderList = edxml.TraceHeaderList{
		TraceHeaders: []edxml.TraceHeader{{OrganId: *from, Timestamp: edxml.FormatTimestamp(time.Now())}},
		Bussiness:    b,
	}
	var contents []io.Reader
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		ct := "application/octet-stream"
		if strings.EqualFold(filepath.Ext(name), ".pdf") {
			ct = "application/pdf"
		}
		cid := fmt.Sprintf("att%d", i+1)
		p.Attachments = append(p.Attachments, edxml.Attachment{ContentId: cid, AttachmentName: filepath.Base(name), ContentType: ct})
		p.References = append(p.References, edxml.Reference{ContentId: "cid:" + cid, AttachmentName: filepath.Base(name), ContentType: ct})
		contents = append(contents, f)
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := edxml.Encode(w, p, contents); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *out != "-" {
		return f.Sync()
	}
	return nil
}
