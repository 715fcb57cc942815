package pdf

import (
	"bytes"
	"io"
	"slices"
)

// ResolveDict resolves obj and returns it as a dictionary (the dictionary of
// a stream is accepted too). Errors: ErrMalformed when it is something else
// (including null).
func (r *Reader) ResolveDict(obj Object) (*Dict, error) {
	o, err := r.Resolve(obj)
	if err != nil {
		return nil, err
	}
	switch v := o.(type) {
	case *Dict:
		return v, nil
	case *Stream:
		return v.Dict, nil
	}
	return nil, malformed(-1, "expected a dictionary for %s, found %T", describe(obj), o)
}

// ResolveArray resolves obj and returns it as an array.
func (r *Reader) ResolveArray(obj Object) (Array, error) {
	o, err := r.Resolve(obj)
	if err != nil {
		return nil, err
	}
	if a, ok := o.(Array); ok {
		return a, nil
	}
	return nil, malformed(-1, "expected an array for %s, found %T", describe(obj), o)
}

// ResolveStream resolves obj and returns it as a stream.
func (r *Reader) ResolveStream(obj Object) (*Stream, error) {
	o, err := r.Resolve(obj)
	if err != nil {
		return nil, err
	}
	if s, ok := o.(*Stream); ok {
		return s, nil
	}
	return nil, malformed(-1, "expected a stream for %s, found %T", describe(obj), o)
}

// ResolveNumber resolves obj and returns it as a float (Integer or Real).
func (r *Reader) ResolveNumber(obj Object) (float64, error) {
	o, err := r.Resolve(obj)
	if err != nil {
		return 0, err
	}
	switch v := o.(type) {
	case Integer:
		return float64(v), nil
	case Real:
		return float64(v), nil
	}
	return 0, malformed(-1, "expected a number for %s, found %T", describe(obj), o)
}

func describe(o Object) string {
	if ref, ok := o.(Ref); ok {
		return "object " + ref.String()
	}
	return "a direct value"
}

// Rect is a rectangle [llx lly urx ury].
type Rect [4]float64

// ResolveRect resolves obj as a rectangle, normalized so that ll < ur.
func (r *Reader) ResolveRect(obj Object) (Rect, error) {
	a, err := r.ResolveArray(obj)
	if err != nil {
		return Rect{}, err
	}
	if len(a) != 4 {
		return Rect{}, malformed(-1, "rectangle with %d numbers", len(a))
	}
	var rc Rect
	for i, e := range a {
		if rc[i], err = r.ResolveNumber(e); err != nil {
			return Rect{}, err
		}
	}
	if rc[0] > rc[2] {
		rc[0], rc[2] = rc[2], rc[0]
	}
	if rc[1] > rc[3] {
		rc[1], rc[3] = rc[3], rc[1]
	}
	return rc, nil
}

// Catalog returns the document catalog (a fresh copy).
func (r *Reader) Catalog() (*Dict, error) {
	return r.ResolveDict(r.Root())
}

// NumPages returns /Count of the page tree root.
func (r *Reader) NumPages() (int, error) {
	cat, err := r.Catalog()
	if err != nil {
		return 0, err
	}
	pages, err := r.ResolveDict(cat.Get("Pages"))
	if err != nil {
		return 0, err
	}
	n, err := r.Resolve(pages.Get("Count"))
	if err != nil {
		return 0, err
	}
	c, ok := n.(Integer)
	if !ok || c < 0 {
		return 0, malformed(-1, "page tree root has no valid /Count")
	}
	return int(c), nil
}

// Page is a page with its inheritable attributes resolved from the tree.
type Page struct {
	Number    int   // 1-based
	Ref       Ref   // the page object
	Dict      *Dict // the page dictionary as stored (fresh copy)
	MediaBox  Rect
	CropBox   Rect   // MediaBox when absent
	Rotate    int    // normalized to 0, 90, 180 or 270
	Resources Object // inherited /Resources as stored (Ref or *Dict), nil if none
}

// Page returns page n (1-based). It descends the page tree using /Count, so
// it reads only the nodes on the path. Errors: ErrNotFound when n is out of
// range, ErrMalformed for a broken tree, ErrLimit for a looping tree.
func (r *Reader) Page(n int) (*Page, error) {
	cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	node, ok := cat.Get("Pages").(Ref)
	if !ok {
		return nil, malformed(-1, "catalog /Pages is not a reference")
	}
	if n < 1 {
		return nil, &Error{Kind: ErrNotFound, Offset: -1, Reason: "page numbers start at 1"}
	}
	inherited := map[Name]Object{}
	remaining := n
	var visited []Ref
	for {
		if slices.Contains(visited, node) {
			return nil, limitErr(-1, "page tree loops through %v", node)
		}
		if len(visited) > r.opts.MaxDepth {
			return nil, limitErr(-1, "page tree deeper than %d", r.opts.MaxDepth)
		}
		visited = append(visited, node)
		d, err := r.ResolveDict(node)
		if err != nil {
			return nil, err
		}
		for _, k := range []Name{"MediaBox", "CropBox", "Rotate", "Resources"} {
			if v := d.Get(k); v != nil {
				inherited[k] = v
			}
		}
		kids, err := r.ResolveArray(d.Get("Kids"))
		if err != nil {
			return nil, err
		}
		count, _ := d.Int("Count")
		next := Ref{}
		// Leaf-only node (Count equals the number of kids): jump to the kid.
		if int(count) == len(kids) && remaining <= len(kids) {
			if ref, ok := kids[remaining-1].(Ref); ok {
				if kd, err := r.ResolveDict(ref); err == nil && !kd.Has("Kids") {
					return r.makePage(n, ref, kd, inherited)
				}
			}
		}
		for _, kid := range kids {
			ref, ok := kid.(Ref)
			if !ok {
				return nil, malformed(-1, "page tree kid is not a reference")
			}
			kd, err := r.ResolveDict(ref)
			if err != nil {
				return nil, err
			}
			if kd.Has("Kids") {
				c, _ := kd.Int("Count")
				if remaining <= int(c) {
					next = ref
					break
				}
				remaining -= int(c)
				continue
			}
			remaining--
			if remaining == 0 {
				return r.makePage(n, ref, kd, inherited)
			}
		}
		if next.IsZero() {
			return nil, &Error{Kind: ErrNotFound, Offset: -1, Reason: "page out of range"}
		}
		node = next
	}
}

func (r *Reader) makePage(n int, ref Ref, d *Dict, inherited map[Name]Object) (*Page, error) {
	for _, k := range []Name{"MediaBox", "CropBox", "Rotate", "Resources"} {
		if v := d.Get(k); v != nil {
			inherited[k] = v
		}
	}
	p := &Page{Number: n, Ref: ref, Dict: d, Resources: inherited["Resources"]}
	mb, ok := inherited["MediaBox"]
	if !ok {
		// Required, but missing in some files: US Letter, as viewers assume.
		p.MediaBox = Rect{0, 0, 612, 792}
	} else {
		var err error
		if p.MediaBox, err = r.ResolveRect(mb); err != nil {
			return nil, err
		}
	}
	p.CropBox = p.MediaBox
	if cb, ok := inherited["CropBox"]; ok {
		if rc, err := r.ResolveRect(cb); err == nil {
			p.CropBox = rc
		}
	}
	if rot, ok := inherited["Rotate"]; ok {
		if v, err := r.ResolveNumber(rot); err == nil {
			p.Rotate = ((int(v)/90)%4 + 4) % 4 * 90
		}
	}
	return p, nil
}

// AcroForm is the interactive form dictionary and its fields.
type AcroForm struct {
	Ref       Ref   // zero when the dictionary is direct in the catalog
	Dict      *Dict // fresh copy
	Fields    Array // the /Fields array (elements as stored, usually Refs)
	FieldsRef Ref   // zero when /Fields is a direct array
}

// AcroForm returns the document's interactive form. Errors: ErrNotFound when
// the catalog has no /AcroForm.
func (r *Reader) AcroForm() (*AcroForm, error) {
	cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	v := cat.Get("AcroForm")
	if v == nil {
		return nil, &Error{Kind: ErrNotFound, Offset: -1, Reason: "no /AcroForm"}
	}
	af := &AcroForm{}
	af.Ref, _ = v.(Ref)
	o, err := r.Resolve(v)
	if err != nil {
		return nil, err
	}
	if _, isNull := o.(Null); isNull {
		return nil, &Error{Kind: ErrNotFound, Offset: -1, Reason: "/AcroForm is null"}
	}
	if af.Dict, err = r.ResolveDict(o); err != nil {
		return nil, err
	}
	fv := af.Dict.Get("Fields")
	af.FieldsRef, _ = fv.(Ref)
	if fv != nil {
		fo, err := r.Resolve(fv)
		if err != nil {
			return nil, err
		}
		switch f := fo.(type) {
		case Array:
			af.Fields = f
		case Null:
		default:
			return nil, malformed(-1, "/AcroForm /Fields is a %T", fo)
		}
	}
	return af, nil
}

// Revisions returns the byte offsets where each revision of the file ends:
// just after the "%%EOF" (and its end-of-line) that follows each
// cross-reference section of the /Prev chain, oldest first. The dummy
// "startxref 0" section of a linearized file's first page is not a revision.
// A signature covers a whole revision when its ByteRange ends at one of
// these offsets.
func (r *Reader) Revisions() ([]int64, error) {
	var ends []int64
	for _, s := range r.sections {
		end, ok, err := r.revisionEnd(s.end)
		if err != nil {
			return nil, err
		}
		if ok && !slices.Contains(ends, end) {
			ends = append(ends, end)
		}
	}
	slices.Sort(ends)
	return ends, nil
}

// revisionEnd finds "startxref N %%EOF" after a section and returns the
// offset just after it.
func (r *Reader) revisionEnd(from int64) (int64, bool, error) {
	const window = 4096
	n := min(window, r.size-from)
	if n <= 0 {
		return 0, false, nil
	}
	buf := make([]byte, n)
	if _, err := r.ra.ReadAt(buf, from); err != nil && err != io.EOF {
		return 0, false, wrapIO(from, "reading after xref section", err)
	}
	i := bytes.Index(buf, []byte("startxref"))
	if i < 0 {
		return 0, false, nil
	}
	lx := newBytesLexer(buf[i+9:], 0, 64)
	t, err := lx.next()
	if err != nil || t.kind != tInt {
		return 0, false, nil
	}
	if t.i == 0 {
		return 0, false, nil // linearization dummy
	}
	rest := buf[i+9:]
	j := bytes.Index(rest, []byte("%%EOF"))
	if j < 0 {
		return 0, false, nil
	}
	end := from + int64(i+9+j+5)
	tail := rest[j+5:]
	switch {
	case bytes.HasPrefix(tail, []byte("\r\n")):
		end += 2
	case bytes.HasPrefix(tail, []byte("\n")), bytes.HasPrefix(tail, []byte("\r")):
		end++
	}
	return end, true, nil
}
