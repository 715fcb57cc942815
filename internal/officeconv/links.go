package officeconv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"sync"
)

// Bounds of the package scan: a DOCX or ODT is a ZIP of XML parts, and a
// ZIP bomb must not make the scan itself the problem. Parts past these
// bounds make the document refused, not skipped.
const (
	maxParts    = 2000
	maxPartSize = 64 << 20  // uncompressed bytes of one XML part
	maxScanned  = 256 << 20 // uncompressed bytes of all XML parts
)

// linkNames are the element and attribute names that can refer outside
// the package. Names cannot be written with character references (only
// values can), so a part without any of them needs no parsing: a document
// of a million plain paragraphs is checked in milliseconds, and only a
// part that may link is tokenized.
var linkNames = map[string][][]byte{
	".docx": {[]byte("instr"), []byte("href"), []byte("src")},
	".odt":  {[]byte("href"), []byte("dde")},
}

func mayLink(data []byte, ext string) bool {
	for _, n := range linkNames[ext] {
		if bytes.Contains(data, n) {
			return true
		}
	}
	return false
}

// hyperlinkRel is the only external relationship LibreOffice does not
// load: a clickable link is kept in the PDF, never fetched.
const hyperlinkRel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"

// linkFields are Word field codes that pull content from outside the
// document when the fields are updated on load.
var linkFields = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(INCLUDEPICTURE|INCLUDETEXT|INCLUDE|LINK|DDE|DDEAUTO|IMPORT|RD)\b`)
})

// checkPackage refuses a DOCX or ODT that refers to anything outside
// itself, except hyperlinks.
func checkPackage(ctx context.Context, file, ext string) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return &Error{Kind: ErrFailed, Detail: "not a valid " + strings.TrimPrefix(ext, ".") + " package: " + err.Error()}
	}
	defer zr.Close()
	if len(zr.File) > maxParts {
		return &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("more than %d parts in the package", maxParts)}
	}
	var budget int64 = maxScanned
	for _, f := range zr.File {
		name := f.Name
		isRels := strings.HasSuffix(name, ".rels")
		isXML := strings.HasSuffix(name, ".xml") || isRels
		if !isXML {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return &Error{Kind: ErrFailed, Detail: name + ": " + err.Error()}
		}
		limit := min(int64(maxPartSize), budget)
		data, err := io.ReadAll(io.LimitReader(rc, limit+1))
		rc.Close()
		if err != nil {
			return &Error{Kind: ErrFailed, Detail: name + ": " + err.Error()}
		}
		if int64(len(data)) > limit {
			return &Error{Kind: ErrTooLarge, Detail: name + " is too large to check"}
		}
		budget -= int64(len(data))
		if !isRels && !mayLink(data, ext) {
			continue
		}
		d := &tokens{d: xml.NewDecoder(bytes.NewReader(data)), ctx: ctx}
		switch {
		case isRels:
			err = checkRelationships(d, name)
		case ext == ".docx":
			err = checkWordXML(d, name)
		default:
			err = checkODFXML(d, name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func external(where, target string) error {
	if len(target) > 120 {
		target = target[:120] + "…"
	}
	return &Error{Kind: ErrExternalContent, Detail: fmt.Sprintf("%s refers to %q; embed the content in the document instead", where, target)}
}

func xmlErr(name string, err error) error {
	return &Error{Kind: ErrFailed, Detail: name + " is not well-formed XML: " + err.Error()}
}

// tokens reads XML tokens and gives up when ctx ends, so a large part
// that needs parsing cannot outlast the conversion's limit.
type tokens struct {
	d   *xml.Decoder
	ctx context.Context
	n   int
}

func (t *tokens) Token() (xml.Token, error) {
	if t.n++; t.n%4096 == 0 {
		if err := t.ctx.Err(); err != nil {
			return nil, err
		}
	}
	return t.d.RawToken()
}

// checkRelationships refuses external relationships of any type but
// hyperlink (images, OLE objects, frames, subdocuments, templates).
func checkRelationships(d *tokens, name string) error {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xmlErr(name, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		var typ, target, mode string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "Type":
				typ = a.Value
			case "Target":
				target = a.Value
			case "TargetMode":
				mode = a.Value
			}
		}
		if typ == hyperlinkRel {
			continue
		}
		if strings.EqualFold(mode, "External") || hasScheme(target) || strings.HasPrefix(target, "//") || strings.HasPrefix(target, `\\`) {
			return external(name, target)
		}
	}
}

// checkWordXML refuses Word fields that include or link other files
// (INCLUDEPICTURE "http://...", LINK, DDE), in field instructions and in
// simple fields, and VML image data pointing outside the package.
func checkWordXML(d *tokens, name string) error {
	inInstr := false
	var field []byte // instruction text so far: a field may be split over runs
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xmlErr(name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "instrText" {
				inInstr = true
			}
			if t.Name.Local == "fldChar" {
				field = field[:0] // a new field begins or ends
			}
			for _, a := range t.Attr {
				if a.Name.Local == "instr" && linkFields().MatchString(a.Value) {
					return external(name, strings.TrimSpace(a.Value))
				}
				if (a.Name.Local == "src" || a.Name.Local == "href") && t.Name.Local != "hyperlink" && (hasScheme(a.Value) || strings.HasPrefix(a.Value, "/")) {
					return external(name, a.Value)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "instrText" {
				inInstr = false
			}
		case xml.CharData:
			if inInstr {
				if field = append(field, t...); linkFields().Match(field) {
					return external(name, strings.TrimSpace(string(field)))
				}
				if len(field) > 4096 {
					field = field[len(field)-64:]
				}
			}
		}
	}
}

// odfLinkElements are the ODF elements whose xlink:href is a hyperlink the
// user clicks, never loaded.
var odfLinkElements = map[string]bool{"a": true}

// checkODFXML refuses xlink:href attributes (images, objects, section
// sources, linked text, DDE) that point outside the package: anything with
// a URL scheme, an absolute path, or a relative path leaving the package.
func checkODFXML(d *tokens, name string) error {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xmlErr(name, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local == "dde-source" || se.Name.Local == "dde-connection-decl" {
			return external(name, "a DDE link")
		}
		for _, a := range se.Attr {
			if a.Name.Local != "href" || odfLinkElements[se.Name.Local] {
				continue
			}
			if !insidePackage(a.Value) {
				return external(name, a.Value)
			}
		}
	}
}

// insidePackage tells whether an ODF href names a part of the package
// itself ("Pictures/x.png", "./Object 1").
func insidePackage(href string) bool {
	if href == "" || strings.HasPrefix(href, "#") {
		return true
	}
	if hasScheme(href) || strings.HasPrefix(href, "/") || strings.HasPrefix(href, `\`) {
		return false
	}
	clean := path.Clean(strings.ReplaceAll(href, `\`, "/"))
	return clean != ".." && !strings.HasPrefix(clean, "../")
}

// hasScheme tells whether s starts with a URL scheme (http:, file:, smb:,
// vnd.sun.star.*:, and also a drive letter C:).
func hasScheme(s string) bool {
	s = strings.TrimSpace(s)
	for i, r := range s {
		switch {
		case r == ':':
			return i > 0
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return false
}
