package pades

import (
	"errors"
	"io"
	"strings"

	"vanban/signing/pdf"
)

// maxTreeNodes bounds walks over the page tree and the field tree, which a
// hostile file can make cyclic or huge.
const maxTreeNodes = 1 << 20

// document is an opened PDF with the parts every update touches.
type document struct {
	r       *pdf.Reader
	gate    *gatedReaderAt
	size    int64
	rootRef pdf.Ref
	catalog *pdf.Dict
}

// openDocument opens src and reads the catalog. Errors map the reader's
// kinds to ours: ErrNotPDF, ErrUserPassword, ErrUnsupported.
func openDocument(src io.ReaderAt, size int64) (*document, error) {
	if src == nil || size <= 0 {
		return nil, errorf(ErrNotPDF, "empty input")
	}
	gate := &gatedReaderAt{ra: src}
	r, err := pdf.Open(gate, size, nil)
	if err != nil {
		return nil, mapPDFError(err, "opening the PDF")
	}
	d := &document{r: r, gate: gate, size: size, rootRef: r.Root()}
	cat, err := d.dict(d.rootRef)
	if err != nil || cat == nil {
		if err == nil {
			err = errors.New("catalog is not a dictionary")
		}
		return nil, wrapErr(ErrNotPDF, err, "reading the catalog")
	}
	d.catalog = cat
	return d, nil
}

// mapPDFError turns a signing/pdf error into one of ours, keeping the cause.
func mapPDFError(err error, what string) error {
	switch {
	case errors.Is(err, pdf.ErrUserPasswordRequired):
		return wrapErr(ErrUserPassword, err, "%s", what)
	case errors.Is(err, pdf.ErrUnsupported):
		return wrapErr(ErrUnsupported, err, "%s", what)
	case errors.Is(err, pdf.ErrLimit):
		return wrapErr(ErrUnsupported, err, "%s", what)
	}
	return wrapErr(ErrNotPDF, err, "%s", what)
}

// resolve follows references.
func (d *document) resolve(o pdf.Object) (pdf.Object, error) {
	v, err := d.r.Resolve(o)
	if err != nil {
		return nil, mapPDFError(err, "reading an object")
	}
	return v, nil
}

// dict resolves o and returns it as a dictionary (nil, nil when it is not
// one: absent keys and wrong types are handled by the callers).
func (d *document) dict(o pdf.Object) (*pdf.Dict, error) {
	v, err := d.resolve(o)
	if err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case *pdf.Dict:
		return t, nil
	case *pdf.Stream:
		return t.Dict, nil
	}
	return nil, nil
}

// array resolves o and returns it as an array (nil when it is not one).
func (d *document) array(o pdf.Object) (pdf.Array, error) {
	v, err := d.resolve(o)
	if err != nil {
		return nil, err
	}
	a, _ := v.(pdf.Array)
	return a, nil
}

// pages returns the page references in order. It reads only the page tree
// nodes, not the pages' content.
func (d *document) pages() ([]pdf.Ref, error) {
	var out []pdf.Ref
	seen := map[pdf.Ref]bool{}
	var walk func(ref pdf.Ref, depth int) error
	walk = func(ref pdf.Ref, depth int) error {
		if seen[ref] || depth > 64 || len(seen) > maxTreeNodes {
			return errorf(ErrNotPDF, "page tree is cyclic or too deep at %v", ref)
		}
		seen[ref] = true
		node, err := d.dict(ref)
		if err != nil {
			return err
		}
		if node == nil {
			return errorf(ErrNotPDF, "page tree node %v is not a dictionary", ref)
		}
		kids, err := d.array(node.Get("Kids"))
		if err != nil {
			return err
		}
		t, _ := node.Name("Type")
		if t == "Page" || (t != "Pages" && kids == nil) {
			out = append(out, ref)
			return nil
		}
		for _, k := range kids {
			kr, ok := k.(pdf.Ref)
			if !ok {
				return errorf(ErrNotPDF, "page tree kid of %v is not a reference", ref)
			}
			if err := walk(kr, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	root, ok := d.catalog.Get("Pages").(pdf.Ref)
	if !ok {
		return nil, errorf(ErrNotPDF, "catalog has no /Pages reference")
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errorf(ErrNotPDF, "document has no pages")
	}
	return out, nil
}

// page returns the reference of 1-based page n (0 means 1). It descends
// the page tree by the /Count of each node, so finding a page of a 50,000
// page document reads a few dozen objects, not all of them; a tree whose
// counts are wrong falls back to the full walk.
func (d *document) page(n int) (pdf.Ref, error) {
	if n == 0 {
		n = 1
	}
	if n < 1 {
		return pdf.Ref{}, errorf(ErrOptions, "page %d out of range", n)
	}
	if ref, ok := d.pageByCount(n); ok {
		return ref, nil
	}
	pages, err := d.pages()
	if err != nil {
		return pdf.Ref{}, err
	}
	if n > len(pages) {
		return pdf.Ref{}, errorf(ErrOptions, "page %d out of range 1..%d", n, len(pages))
	}
	return pages[n-1], nil
}

// pageByCount finds page n using /Count; ok is false when the tree does
// not cooperate (missing or inconsistent counts, cycles).
func (d *document) pageByCount(n int) (pdf.Ref, bool) {
	ref, ok := d.catalog.Get("Pages").(pdf.Ref)
	if !ok {
		return pdf.Ref{}, false
	}
	remaining := n
	for depth := 0; depth < 64; depth++ {
		node, err := d.dict(ref)
		if err != nil || node == nil {
			return pdf.Ref{}, false
		}
		if t, _ := node.Name("Type"); t == "Page" {
			return ref, remaining == 1
		}
		kids, err := d.array(node.Get("Kids"))
		if err != nil || kids == nil {
			return pdf.Ref{}, false
		}
		next := pdf.Ref{}
		for _, k := range kids {
			kr, ok := k.(pdf.Ref)
			if !ok {
				return pdf.Ref{}, false
			}
			kd, err := d.dict(kr)
			if err != nil || kd == nil {
				return pdf.Ref{}, false
			}
			count := int64(1)
			if t, _ := kd.Name("Type"); t != "Page" {
				c, ok := kd.Get("Count").(pdf.Integer)
				if !ok || c < 0 {
					return pdf.Ref{}, false
				}
				count = int64(c)
			}
			if int64(remaining) <= count {
				next = kr
				break
			}
			remaining -= int(count)
		}
		if next == (pdf.Ref{}) {
			return pdf.Ref{}, false
		}
		ref = next
	}
	return pdf.Ref{}, false
}

// field is one terminal form field (with its widget, often the same object).
type field struct {
	ref      pdf.Ref
	dict     *pdf.Dict
	fullName string
	ft       pdf.Name // inherited field type
	// inherited /DA and /Q for text fields
	da string
	q  int64
}

// acroForm returns the AcroForm dictionary (nil if none) and its reference
// (zero when it is direct in the catalog).
func (d *document) acroForm() (*pdf.Dict, pdf.Ref, error) {
	v := d.catalog.Get("AcroForm")
	ref, _ := v.(pdf.Ref)
	af, err := d.dict(v)
	if err != nil {
		return nil, pdf.Ref{}, err
	}
	if af == nil {
		return nil, pdf.Ref{}, nil
	}
	return af, ref, nil
}

// fields returns the terminal fields of the AcroForm with their fully
// qualified names (ISO 32000-1 12.7.3.2).
func (d *document) fields() ([]field, error) {
	af, _, err := d.acroForm()
	if err != nil || af == nil {
		return nil, err
	}
	top, err := d.array(af.Get("Fields"))
	if err != nil {
		return nil, err
	}
	afDA, _ := af.Get("DA").(pdf.String)
	var out []field
	seen := map[pdf.Ref]bool{}
	var walk func(o pdf.Object, parentName string, ft pdf.Name, da string, q int64, depth int) error
	walk = func(o pdf.Object, parentName string, ft pdf.Name, da string, q int64, depth int) error {
		ref, ok := o.(pdf.Ref)
		if !ok {
			return nil // fields must be indirect; ignore junk
		}
		if seen[ref] || depth > 32 || len(seen) > maxTreeNodes {
			return nil
		}
		seen[ref] = true
		fd, err := d.dict(ref)
		if err != nil || fd == nil {
			return err
		}
		name := parentName
		if t, ok := fd.Get("T").(pdf.String); ok {
			if name != "" {
				name += "."
			}
			name += t.Text()
		}
		if v, ok := fd.Name("FT"); ok {
			ft = v
		}
		if v, ok := fd.Get("DA").(pdf.String); ok {
			da = string(v.Value)
		}
		if v, ok := fd.Int("Q"); ok {
			q = v
		}
		kids, err := d.array(fd.Get("Kids"))
		if err != nil {
			return err
		}
		// A node whose kids carry /T is a non-terminal field; kids without
		// /T are its widgets.
		hasFieldKids := false
		for _, k := range kids {
			kd, err := d.dict(k)
			if err != nil {
				return err
			}
			if kd != nil && kd.Has("T") {
				hasFieldKids = true
				break
			}
		}
		if hasFieldKids {
			for _, k := range kids {
				if err := walk(k, name, ft, da, q, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		out = append(out, field{ref: ref, dict: fd, fullName: name, ft: ft, da: da, q: q})
		return nil
	}
	for _, f := range top {
		if err := walk(f, "", "", string(afDA.Value), 0, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// findField returns the field with the given fully qualified name.
func (d *document) findField(name string) (*field, error) {
	fs, err := d.fields()
	if err != nil {
		return nil, err
	}
	for i := range fs {
		if fs[i].fullName == name {
			return &fs[i], nil
		}
	}
	return nil, nil
}

// docMDP returns the P value of the document's certification signature, or
// 0 when the document is not certified.
func (d *document) docMDP() (int, error) {
	perms, err := d.dict(d.catalog.Get("Perms"))
	if err != nil || perms == nil {
		return 0, err
	}
	sig, err := d.dict(perms.Get("DocMDP"))
	if err != nil || sig == nil {
		return 0, err
	}
	refs, err := d.array(sig.Get("Reference"))
	if err != nil {
		return 0, err
	}
	for _, r := range refs {
		sr, err := d.dict(r)
		if err != nil || sr == nil {
			continue
		}
		if m, _ := sr.Name("TransformMethod"); m != "DocMDP" {
			continue
		}
		tp, err := d.dict(sr.Get("TransformParams"))
		if err != nil {
			return 0, err
		}
		if p, ok := tp.Int("P"); ok && p >= 1 && p <= 3 {
			return int(p), nil
		}
		return 2, nil // the default P when absent
	}
	return 2, nil
}

// signatureFields returns the signed signature fields, oldest first by
// their position in the field tree.
func (d *document) signatureFields() ([]field, error) {
	fs, err := d.fields()
	if err != nil {
		return nil, err
	}
	var out []field
	for _, f := range fs {
		if f.ft == "Sig" && f.dict.Get("V") != nil {
			if v, err := d.dict(f.dict.Get("V")); err == nil && v != nil {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// uniqueFieldName returns base, or base with a number appended, that no
// field uses yet.
func uniqueFieldName(fs []field, base string) string {
	used := map[string]bool{}
	for _, f := range fs {
		used[f.fullName] = true
	}
	for i := 1; ; i++ {
		name := base + itoa(i)
		if !used[name] {
			return name
		}
	}
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[n:])
}

// validFieldName rejects names a partial field name cannot hold.
func validFieldName(s string) bool {
	return s != "" && !strings.Contains(s, ".") && len(s) <= 128
}
