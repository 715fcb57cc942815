package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"vanban/signing/pdf"
)

// maxWalk bounds graph walks over hostile files.
const maxWalk = 200000

// maxCompareStream bounds the stream data compared byte by byte.
const maxCompareStream = 64 << 20

// change is one object that differs between the signed revision and the
// final document.
type change struct {
	ref      pdf.Ref
	old, cur pdf.Object // resolved; old nil for a new object
}

// classified are the modifications found between two revisions.
type classified struct {
	categories map[string]bool
	details    []string
	// newApprovals counts signature dictionaries added (not document time-stamps).
	newApprovals int
	// changedFields are the fully qualified names of fields whose value
	// changed (filled, or signed), for FieldMDP locks.
	changedFields []string
}

func (c *classified) add(cat, format string, args ...any) {
	if c.categories == nil {
		c.categories = map[string]bool{}
	}
	c.categories[cat] = true
	if len(c.details) < 50 {
		c.details = append(c.details, cat+": "+fmt.Sprintf(format, args...))
	}
}

func (c *classified) list() []string {
	var out []string
	for k := range c.categories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// differ compares a signed revision (old) with the final document (cur).
type differ struct {
	old, cur *pdf.Reader
	out      classified

	dssRefs     map[pdf.Ref]bool
	annotsArray map[pdf.Ref]pdf.Ref // indirect /Annots arrays -> page
	fieldsRef   pdf.Ref
	acroRef     pdf.Ref
}

// classifyChanges lists and classifies what changed from old to cur.
func classifyChanges(old, cur *pdf.Reader) (*classified, error) {
	d := &differ{old: old, cur: cur, dssRefs: map[pdf.Ref]bool{}, annotsArray: map[pdf.Ref]pdf.Ref{}}
	changes, err := d.diff()
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 && catalogEqual(old, cur) {
		return &d.out, nil
	}
	if err := d.index(); err != nil {
		return nil, err
	}
	d.catalog()
	owners := map[pdf.Ref]string{} // new objects reachable from a classified owner
	var rest []change
	for _, ch := range changes {
		cat, owner := d.primary(ch)
		switch {
		case cat == "":
			rest = append(rest, ch)
		case cat == "skip":
		default:
			if owner {
				d.reach(ch.cur, cat, owners)
			}
		}
	}
	var reachable map[pdf.Ref]bool // computed only when needed
	for _, ch := range rest {
		if cat, ok := owners[ch.ref]; ok && ch.old == nil {
			d.out.add(cat, "object %v used by a %s change", ch.ref, cat)
			continue
		}
		if ch.old == nil {
			// A new object no classified owner reaches may simply be
			// garbage: an intermediate revision's appearance stream that
			// a later fill replaced. Only a complete walk from the trailer
			// can tell; an incomplete one (a huge or hostile file) keeps
			// the strict verdict.
			if reachable == nil {
				reachable = d.reachableFromTrailer()
			}
			if reachable != nil && !reachable[ch.ref] {
				d.out.add(ModUnreferenced, "object %v (%s) added but not referenced", ch.ref, describe(ch.cur))
				continue
			}
		}
		d.out.add(ModOther, "object %v (%s) %s", ch.ref, describe(ch.cur), verb(ch))
	}
	return &d.out, nil
}

// reachableFromTrailer returns every object reachable from the current
// trailer, following all keys, or nil when the walk hit maxWalk.
func (d *differ) reachableFromTrailer() map[pdf.Ref]bool {
	seen := map[pdf.Ref]bool{}
	trailer := d.cur.Trailer()
	trailer.Delete("Prev")
	stack := []pdf.Object{trailer}
	for steps := 0; len(stack) > 0; steps++ {
		if steps >= maxWalk {
			return nil
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := top.(type) {
		case pdf.Ref:
			if seen[v] {
				continue
			}
			seen[v] = true
			if obj, err := d.cur.Resolve(v); err == nil {
				stack = append(stack, obj)
			}
		case pdf.Array:
			stack = append(stack, v...)
		case *pdf.Dict:
			for _, e := range v.Entries() {
				stack = append(stack, e.Value)
			}
		case *pdf.Stream:
			stack = append(stack, v.Dict)
		}
	}
	return seen
}

func verb(ch change) string {
	if ch.old == nil {
		return "added"
	}
	return "changed"
}

func describe(o pdf.Object) string {
	if d := dictOf(o); d != nil {
		t, _ := d.Name("Type")
		s, _ := d.Name("Subtype")
		switch {
		case t != "" && s != "":
			return string(t) + "/" + string(s)
		case t != "":
			return string(t)
		case s != "":
			return string(s)
		}
		if _, ok := o.(*pdf.Stream); ok {
			return "stream"
		}
		return "dictionary"
	}
	return fmt.Sprintf("%T", o)
}

func dictOf(o pdf.Object) *pdf.Dict {
	switch v := o.(type) {
	case *pdf.Dict:
		return v
	case *pdf.Stream:
		return v.Dict
	}
	return nil
}

func catalogEqual(old, cur *pdf.Reader) bool {
	a, err1 := old.Catalog()
	b, err2 := cur.Catalog()
	return err1 == nil && err2 == nil && objEqual(a, b)
}

// diff returns the objects of cur that are new or different in old.
func (d *differ) diff() ([]change, error) {
	var out []change
	for _, ref := range d.cur.Objects() {
		cur, err := d.cur.Object(ref.Num)
		if err != nil {
			if errors.Is(err, pdf.ErrNotFound) {
				continue
			}
			return nil, err
		}
		if s, ok := cur.(*pdf.Stream); ok {
			if t, _ := s.Dict.Name("Type"); t == "XRef" || t == "ObjStm" {
				continue // structure, not content
			}
		}
		old, err := d.old.Object(ref.Num)
		if err != nil {
			if !errors.Is(err, pdf.ErrNotFound) && !errors.Is(err, pdf.ErrMalformed) {
				return nil, err
			}
			old = nil
		}
		if _, isNull := old.(pdf.Null); isNull {
			old = nil
		}
		if old != nil && objEqual(old, cur) {
			continue
		}
		out = append(out, change{ref: ref, old: old, cur: cur})
	}
	// Objects of the signed revision that are gone (freed, or reused
	// with another generation): whatever referred to them now reads null.
	inCur := map[uint32]bool{}
	for _, ref := range d.cur.Objects() {
		inCur[ref.Num] = true
	}
	for _, ref := range d.old.Objects() {
		if !inCur[ref.Num] {
			d.out.add(ModOther, "object %v was deleted", ref)
		}
	}
	return out, nil
}

// objEqual compares two resolved objects by serialization; streams by
// dictionary and stored data.
func objEqual(a, b pdf.Object) bool {
	sa, aStream := a.(*pdf.Stream)
	sb, bStream := b.(*pdf.Stream)
	if aStream != bStream {
		return false
	}
	if aStream {
		if !bytes.Equal(serialize(sa.Dict), serialize(sb.Dict)) {
			return false
		}
		if sa.Offset() == sb.Offset() && sa.RawLength() == sb.RawLength() {
			return true
		}
		if sa.RawLength() != sb.RawLength() || sa.RawLength() > maxCompareStream {
			return false
		}
		da, errA := readEncoded(sa)
		db, errB := readEncoded(sb)
		return errA == nil && errB == nil && bytes.Equal(da, db)
	}
	return bytes.Equal(serialize(a), serialize(b))
}

func readEncoded(s *pdf.Stream) ([]byte, error) {
	r, n, err := s.Encoded()
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, min(n, maxCompareStream)))
}

func serialize(o pdf.Object) []byte {
	var b bytes.Buffer
	if err := pdf.WriteObject(&b, o); err != nil {
		return []byte(fmt.Sprintf("unserializable %p", o)) // never equal to another
	}
	return b.Bytes()
}

// index gathers the context classification needs from the final document.
func (d *differ) index() error {
	cat, err := d.cur.Catalog()
	if err != nil {
		return err
	}
	if dss := cat.Get("DSS"); dss != nil {
		d.walk(dss, func(r pdf.Ref) { d.dssRefs[r] = true }, nil)
	}
	if af := cat.Get("AcroForm"); af != nil {
		d.acroRef, _ = af.(pdf.Ref)
		if afd, err := d.cur.ResolveDict(af); err == nil && afd != nil {
			d.fieldsRef, _ = afd.Get("Fields").(pdf.Ref)
		}
	}
	n, err := d.cur.NumPages()
	if err != nil {
		return nil // a broken page tree shows up as "other" changes
	}
	for i := 1; i <= n && i <= maxWalk; i++ {
		p, err := d.cur.Page(i)
		if err != nil {
			break
		}
		if ar, ok := p.Dict.Get("Annots").(pdf.Ref); ok {
			d.annotsArray[ar] = p.Ref
		}
	}
	return nil
}

// walk visits the references reachable from o (not through /P, /Parent
// or /Prev links, which climb back into the document).
func (d *differ) walk(o pdf.Object, visit func(pdf.Ref), seen map[pdf.Ref]bool) {
	if seen == nil {
		seen = map[pdf.Ref]bool{}
	}
	stack := []pdf.Object{o}
	for steps := 0; len(stack) > 0 && steps < maxWalk; steps++ {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := top.(type) {
		case pdf.Ref:
			if seen[v] {
				continue
			}
			seen[v] = true
			visit(v)
			if obj, err := d.cur.Resolve(v); err == nil {
				stack = append(stack, obj)
			}
		case pdf.Array:
			stack = append(stack, v...)
		case *pdf.Dict:
			for _, e := range v.Entries() {
				if e.Key == "P" || e.Key == "Parent" || e.Key == "Prev" {
					continue
				}
				stack = append(stack, e.Value)
			}
		case *pdf.Stream:
			stack = append(stack, v.Dict)
		}
	}
}

// reach marks new objects reachable from o as belonging to category cat.
func (d *differ) reach(o pdf.Object, cat string, owners map[pdf.Ref]string) {
	d.walk(o, func(r pdf.Ref) {
		if _, done := owners[r]; !done {
			owners[r] = cat
		}
	}, nil)
}

// catalog classifies the catalog's own changes.
func (d *differ) catalog() {
	oc, err1 := d.old.Catalog()
	nc, err2 := d.cur.Catalog()
	if err1 != nil || err2 != nil {
		d.out.add(ModOther, "catalog unreadable")
		return
	}
	for _, k := range changedKeys(oc, nc) {
		switch k {
		case "DSS", "Extensions":
			d.out.add(ModDSS, "catalog /%s", k)
		case "Metadata", "Version":
			d.out.add(ModMetadata, "catalog /%s", k)
		case "AcroForm":
			// Added, made direct, or pointed at another object: compare contents.
			oa, _ := d.old.ResolveDict(oc.Get("AcroForm"))
			na, _ := d.cur.ResolveDict(nc.Get("AcroForm"))
			d.acroForm(oa, na)
		default:
			d.out.add(ModOther, "catalog /%s changed", k)
		}
	}
}

// changedKeys lists the keys whose values differ between two dictionaries.
func changedKeys(a, b *pdf.Dict) []pdf.Name {
	var out []pdf.Name
	keys := map[pdf.Name]bool{}
	if a != nil {
		for _, k := range a.Keys() {
			keys[k] = true
		}
	}
	if b != nil {
		for _, k := range b.Keys() {
			keys[k] = true
		}
	}
	for k := range keys {
		var va, vb pdf.Object
		if a != nil {
			va = a.Get(k)
		}
		if b != nil {
			vb = b.Get(k)
		}
		if va == nil || vb == nil {
			if va != vb {
				out = append(out, k)
			}
			continue
		}
		if !bytes.Equal(serialize(va), serialize(vb)) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// primary classifies objects whose nature is clear on their own. It
// returns "" when it cannot, "skip" for objects handled elsewhere, and
// whether new objects reachable from this one share its category.
func (d *differ) primary(ch change) (string, bool) {
	if ch.ref == d.cur.Root() {
		return "skip", false // see catalog
	}
	if info, ok := d.cur.Info(); ok && ch.ref == info {
		d.out.add(ModMetadata, "document information dictionary")
		return ModMetadata, false
	}
	if d.dssRefs[ch.ref] {
		d.out.add(ModDSS, "object %v of the DSS", ch.ref)
		return ModDSS, true
	}
	if ch.ref == d.acroRef && d.acroRef != (pdf.Ref{}) {
		d.acroForm(dictOf(ch.old), dictOf(ch.cur))
		return ModFormFill, true
	}
	if arr, ok := ch.cur.(pdf.Array); ok {
		switch {
		case ch.ref == d.fieldsRef && d.fieldsRef != (pdf.Ref{}):
			old, _ := ch.old.(pdf.Array)
			d.fields(old, arr)
			return "skip", false
		default:
			if _, ok := d.annotsArray[ch.ref]; ok {
				old, _ := ch.old.(pdf.Array)
				d.annots(old, arr)
				return "skip", false
			}
		}
		return "", false
	}
	dict := dictOf(ch.cur)
	if dict == nil {
		return "", false
	}
	typ, _ := dict.Name("Type")
	sub, _ := dict.Name("Subtype")
	switch {
	case typ == "Sig" || typ == "DocTimeStamp" || (dict.Has("ByteRange") && dict.Has("Contents") && dict.Has("Filter")):
		if ch.old != nil {
			d.out.add(ModOther, "signature dictionary %v was altered", ch.ref)
			return ModOther, false
		}
		if typ != "DocTimeStamp" {
			d.out.newApprovals++
		}
		d.out.add(ModSignatures, "signature dictionary %v added", ch.ref)
		return ModSignatures, true
	case typ == "Page":
		d.page(ch)
		return ModAnnotations, false
	case typ == "Pages" || typ == "Catalog":
		d.out.add(ModOther, "page tree node %v %s", ch.ref, verb(ch))
		return ModOther, false
	case dict.Has("FT") || sub == "Widget" || (dict.Has("T") && (dict.Has("Kids") || dict.Has("Parent"))):
		cat := d.field(ch, dict)
		return cat, cat != ModOther
	case sub != "" && (typ == "Annot" || dict.Has("Rect")):
		d.out.add(ModAnnotations, "annotation %v (%s) %s", ch.ref, sub, verb(ch))
		return ModAnnotations, true
	case typ == "Metadata":
		d.out.add(ModMetadata, "metadata stream %v", ch.ref)
		return ModMetadata, false
	}
	return "", false
}

// fieldType returns the field type of a field or widget, inherited
// through /Parent.
func (d *differ) fieldType(dict *pdf.Dict) pdf.Name {
	for i := 0; dict != nil && i < 64; i++ {
		if ft, ok := dict.Name("FT"); ok {
			return ft
		}
		p, err := d.cur.ResolveDict(dict.Get("Parent"))
		if err != nil {
			return ""
		}
		dict = p
	}
	return ""
}

// fieldName returns the fully qualified name of a field (or of the field
// a widget belongs to).
func (d *differ) fieldName(dict *pdf.Dict) string {
	var parts []string
	for i := 0; dict != nil && i < 64; i++ {
		if t, ok := dict.Get("T").(pdf.String); ok {
			parts = append([]string{t.Text()}, parts...)
		}
		p, err := d.cur.ResolveDict(dict.Get("Parent"))
		if err != nil {
			break
		}
		dict = p
	}
	name := ""
	for i, p := range parts {
		if i > 0 {
			name += "."
		}
		name += p
	}
	return name
}

// field classifies a change to a form field or widget annotation.
func (d *differ) field(ch change, dict *pdf.Dict) string {
	ft := d.fieldType(dict)
	if name := d.fieldName(dict); name != "" && !slices.Contains(d.out.changedFields, name) {
		d.out.changedFields = append(d.out.changedFields, name)
	}
	if ch.old == nil {
		if ft == "Sig" {
			d.out.add(ModSignatures, "signature field %v added", ch.ref)
			return ModSignatures
		}
		d.out.add(ModOther, "form field %v (%s) added", ch.ref, ft)
		return ModOther
	}
	od := dictOf(ch.old)
	keys := changedKeys(od, dict)
	fillKeys := map[pdf.Name]bool{"V": true, "AS": true, "AP": true, "M": true, "MK": true}
	if ft == "Sig" {
		if slices.Contains(keys, "V") && od != nil && od.Get("V") != nil {
			if _, isNull := od.Get("V").(pdf.Null); !isNull {
				d.out.add(ModOther, "signature field %v: its signature was replaced", ch.ref)
				return ModOther
			}
		}
		fillKeys["Lock"], fillKeys["SV"], fillKeys["F"] = false, false, true
		for _, k := range keys {
			if !fillKeys[k] {
				d.out.add(ModOther, "signature field %v: /%s changed", ch.ref, k)
				return ModOther
			}
		}
		d.out.add(ModSignatures, "signature field %v signed", ch.ref)
		return ModSignatures
	}
	for _, k := range keys {
		if !fillKeys[k] {
			d.out.add(ModOther, "form field %v: /%s changed", ch.ref, k)
			return ModOther
		}
	}
	d.out.add(ModFormFill, "form field %v filled", ch.ref)
	return ModFormFill
}

// page classifies a change to a page dictionary: only its /Annots may change.
func (d *differ) page(ch change) {
	if ch.old == nil {
		d.out.add(ModOther, "page %v added", ch.ref)
		return
	}
	od, nd := dictOf(ch.old), dictOf(ch.cur)
	for _, k := range changedKeys(od, nd) {
		if k != "Annots" {
			d.out.add(ModOther, "page %v: /%s changed", ch.ref, k)
			continue
		}
		oa, _ := d.old.ResolveArray(od.Get("Annots"))
		na, _ := d.cur.ResolveArray(nd.Get("Annots"))
		d.annots(oa, na)
	}
}

// annots classifies the entries added to or removed from an /Annots array.
func (d *differ) annots(old, cur pdf.Array) {
	added, removed := refDiff(old, cur)
	for _, r := range added {
		a, err := d.cur.ResolveDict(r)
		if err != nil || a == nil {
			d.out.add(ModOther, "unreadable annotation %v added", r)
			continue
		}
		sub, _ := a.Name("Subtype")
		if sub == "Widget" {
			if d.fieldType(a) == "Sig" {
				d.out.add(ModSignatures, "signature widget %v added to a page", r)
			} else {
				d.out.add(ModOther, "form widget %v added to a page", r)
			}
			continue
		}
		d.out.add(ModAnnotations, "annotation %v (%s) added", r, sub)
	}
	for _, r := range removed {
		d.out.add(ModAnnotations, "annotation %v removed", r)
	}
}

// fields classifies changes to the AcroForm /Fields array.
func (d *differ) fields(old, cur pdf.Array) {
	added, removed := refDiff(old, cur)
	for _, r := range added {
		f, err := d.cur.ResolveDict(r)
		if err == nil && f != nil && d.fieldType(f) == "Sig" {
			d.out.add(ModSignatures, "signature field %v added to the form", r)
			continue
		}
		d.out.add(ModOther, "form field %v added", r)
	}
	for _, r := range removed {
		d.out.add(ModOther, "form field %v removed", r)
	}
}

// acroForm classifies changes to the interactive form dictionary.
func (d *differ) acroForm(old, cur *pdf.Dict) {
	if old == nil {
		if cur != nil {
			fields, _ := d.cur.ResolveArray(cur.Get("Fields"))
			d.fields(nil, fields)
			d.out.add(ModSignatures, "interactive form added")
		}
		return
	}
	for _, k := range changedKeys(old, cur) {
		switch k {
		case "Fields":
			of, _ := d.old.ResolveArray(old.Get("Fields"))
			nf, _ := d.cur.ResolveArray(cur.Get("Fields"))
			d.fields(of, nf)
		case "SigFlags":
			d.out.add(ModSignatures, "form /SigFlags")
		case "DR", "DA", "NeedAppearances":
			d.out.add(ModFormFill, "form /%s", k)
		default:
			d.out.add(ModOther, "form /%s changed", k)
		}
	}
}

// refDiff returns the references added to and removed from an array.
func refDiff(old, cur pdf.Array) (added, removed []pdf.Ref) {
	set := func(a pdf.Array) map[pdf.Ref]bool {
		m := map[pdf.Ref]bool{}
		for _, o := range a {
			if r, ok := o.(pdf.Ref); ok {
				m[r] = true
			}
		}
		return m
	}
	os, ns := set(old), set(cur)
	for _, o := range cur {
		if r, ok := o.(pdf.Ref); ok && !os[r] {
			added = append(added, r)
		}
	}
	for _, o := range old {
		if r, ok := o.(pdf.Ref); ok && !ns[r] {
			removed = append(removed, r)
		}
	}
	return added, removed
}

// permitted judges categories against the DocMDP permission p (0 when
// the document is not certified).
func permitted(c *classified, p int) (bool, string) {
	for cat := range c.categories {
		switch cat {
		case ModDSS, ModMetadata, ModUnreferenced:
		case ModSignatures:
			if p == 1 && c.newApprovals > 0 {
				return false, "a signature was added to a document certified with no changes allowed (DocMDP P=1)"
			}
		case ModFormFill:
			if p == 1 {
				return false, "form fields were filled in a document certified with no changes allowed (DocMDP P=1)"
			}
		case ModAnnotations:
			if p == 1 || p == 2 {
				return false, fmt.Sprintf("annotations were changed in a document certified with DocMDP P=%d", p)
			}
		default:
			return false, "the document was changed after signing in a way no signature permits (" + cat + ")"
		}
	}
	return true, ""
}

// fieldLock is a FieldMDP restriction (ISO 32000-1 12.8.2.4 and the
// signature field /Lock dictionary, 12.7.4.5).
type fieldLock struct {
	action string // All, Include, Exclude
	fields []string
}

// locks reports whether the lock forbids changing the named field.
func (l fieldLock) locks(name string) bool {
	switch l.action {
	case "All":
		return true
	case "Include":
		return slices.Contains(l.fields, name)
	case "Exclude":
		return !slices.Contains(l.fields, name)
	}
	return false
}

// readLock reads a FieldMDP transform parameters or /Lock dictionary.
func readLock(r *pdf.Reader, o pdf.Object) (fieldLock, bool) {
	d, err := r.ResolveDict(o)
	if err != nil || d == nil {
		return fieldLock{}, false
	}
	a, ok := d.Name("Action")
	if !ok {
		return fieldLock{}, false
	}
	l := fieldLock{action: string(a)}
	arr, _ := r.ResolveArray(d.Get("Fields"))
	for _, f := range arr {
		if s, ok := f.(pdf.String); ok {
			l.fields = append(l.fields, s.Text())
		}
	}
	return l, true
}
