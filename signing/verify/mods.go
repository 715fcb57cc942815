package verify

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"vanban/signing/pdf"
)

// Change analysis, in the spirit of pyHanko's difference analysis and EU
// DSS's object-modification checks: every object an incremental update
// adds, changes or deletes must match a rule of the whitelist below, or
// it is reported with NoRule and the change is not permitted. Each
// revision is compared with the one before it (so the work is the size of
// the updates, not the document times the signatures), and a signature
// is judged on the increments after the revision it covers, with the
// DocMDP level of the certification and the FieldMDP locks of every
// signature made before each increment.

// Rules of the whitelist. Each object change names the one it matched.
const (
	// RuleUnchanged: the object was written again with the same content
	// (another writer's serialization, key order, numbers as reals).
	RuleUnchanged = "unchanged"
	// RuleStructure: a cross-reference or object stream nothing refers to
	// (an object stream repacked, the new xref stream).
	RuleStructure = "structure"
	// RuleUnreferenced: added, but nothing in the document uses it.
	RuleUnreferenced = "unreferenced"
	// RuleFreed: deleted, and nothing in the document refers to it any more.
	RuleFreed = "freed-unused"
	// RuleDSS: the document security store (certificates, OCSP responses,
	// CRLs, VRI) and the catalog's /DSS and /Extensions.
	RuleDSS = "dss"
	// RuleDocTimestamp: a document time-stamp (ETSI.RFC3161).
	RuleDocTimestamp = "document-timestamp"
	// RuleSignature: a new signature dictionary.
	RuleSignature = "signature"
	// RuleSignatureField: a new signature field or widget, or an empty
	// signature field signed.
	RuleSignatureField = "signature-field"
	// RuleFormFill: a field of another type gets a new value (/V, /AS)
	// and appearance (/AP) of its own.
	RuleFormFill = "form-fill"
	// RuleAppearance: an appearance stream (or its resources) used only by
	// widgets filled or signed in the same update.
	RuleAppearance = "field-appearance"
	// RuleAcroForm: interactive form bookkeeping: /Fields gaining signature
	// fields, /SigFlags, /DR, /DA, /NeedAppearances.
	RuleAcroForm = "acroform"
	// RulePageAnnots: a page's /Annots gaining signature widgets.
	RulePageAnnots = "page-annots"
	// RuleAnnotation: an annotation (not a widget) added or changed.
	RuleAnnotation = "annotation"
	// RuleMetadata: the information dictionary, the XMP metadata stream,
	// the catalog's /Version.
	RuleMetadata = "metadata"
	// RuleCatalog: the catalog changed only in keys other rules allow.
	RuleCatalog = "catalog"
	// NoRule: no rule allows the change.
	NoRule = "no rule"
)

// maxWalk bounds graph walks over hostile files.
const maxWalk = 200000

// maxCompareStream bounds the stream data compared byte by byte.
const maxCompareStream = 64 << 20

// maxListedChanges bounds the object changes listed per signature (the
// not permitted ones come first).
const maxListedChanges = 300

// ObjectChange is one object an update after the signature added,
// changed or deleted, with the rule it matched.
type ObjectChange struct {
	// Revision is the 1-based revision that made the change.
	Revision int    `json:"revision"`
	Object   string `json:"object"`
	// Change is "added", "changed" or "deleted".
	Change string `json:"change"`
	Type   string `json:"type,omitempty"`
	// Rule is the whitelist rule the change matched (Rule* constants), or
	// NoRule.
	Rule string `json:"rule"`
	// Permitted: the rule allows the change for this signature (DocMDP
	// level and FieldMDP locks applied).
	Permitted bool   `json:"permitted"`
	Reason    string `json:"reason,omitempty"`

	category string // Mod* category, for DocMDP
	field    string // fully qualified field name filled or signed, for FieldMDP
	num      uint32
}

// use is one reference to an object: from object from (0: the trailer)
// under the top-level key of that object.
type use struct {
	from uint32
	key  pdf.Name
}

// refGraph is the reference graph of one revision.
type refGraph struct {
	uses     map[uint32][]use
	complete bool // the walk visited everything within maxWalk
}

// buildGraph walks a revision from its trailer and records, for every
// object, where it is referenced from.
func buildGraph(r *pdf.Reader) *refGraph {
	g := &refGraph{uses: map[uint32][]use{}, complete: true}
	type item struct {
		from uint32
		key  pdf.Name
		top  bool // the object itself: its dictionary keys name the uses
		obj  pdf.Object
	}
	var stack []item
	tr := r.Trailer()
	for _, e := range tr.Entries() {
		if e.Key != "Prev" && e.Key != "XRefStm" {
			stack = append(stack, item{key: e.Key, obj: e.Value})
		}
	}
	seen := map[uint32]bool{}
	for steps := 0; len(stack) > 0; steps++ {
		if steps >= maxWalk {
			g.complete = false
			return g
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := it.obj.(type) {
		case pdf.Ref:
			g.uses[v.Num] = append(g.uses[v.Num], use{from: it.from, key: it.key})
			if seen[v.Num] {
				continue
			}
			seen[v.Num] = true
			o, err := r.Object(v.Num)
			if err != nil {
				continue
			}
			stack = append(stack, item{from: v.Num, top: true, obj: o})
		case pdf.Array:
			for _, e := range v {
				stack = append(stack, item{from: it.from, key: it.key, obj: e})
			}
		case *pdf.Dict:
			for _, e := range v.Entries() {
				k := it.key
				if it.top {
					k = e.Key
				}
				stack = append(stack, item{from: it.from, key: k, obj: e.Value})
			}
		case *pdf.Stream:
			stack = append(stack, item{from: it.from, key: it.key, top: it.top, obj: v.Dict})
		}
	}
	return g
}

// subtree returns the objects reachable from o (not through /P, /Parent).
func subtree(r *pdf.Reader, o pdf.Object) map[uint32]bool {
	set := map[uint32]bool{}
	stack := []pdf.Object{o}
	for steps := 0; len(stack) > 0 && steps < maxWalk; steps++ {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := top.(type) {
		case pdf.Ref:
			if set[v.Num] {
				continue
			}
			set[v.Num] = true
			if obj, err := r.Object(v.Num); err == nil {
				stack = append(stack, obj)
			}
		case pdf.Array:
			stack = append(stack, v...)
		case *pdf.Dict:
			for _, e := range v.Entries() {
				if e.Key != "P" && e.Key != "Parent" {
					stack = append(stack, e.Value)
				}
			}
		case *pdf.Stream:
			stack = append(stack, v.Dict)
		}
	}
	return set
}

// increment is the analysis of one incremental update: revision rev-1 to rev.
type increment struct {
	rev       int // 0-based index of the revision the update creates
	changes   []ObjectChange
	approvals int // signatures added (not document time-stamps)
	// painted are the fields and widgets filled or signed: the areas the
	// update may repaint (for the visual check).
	painted []uint32
	err     error
}

// incrementAnalysis carries the context of one increment.
type incrementAnalysis struct {
	old, cur   *pdf.Reader
	gOld, gCur func() *refGraph
	inc        *increment

	touched map[uint32]int // object -> index in inc.changes
	oldObj  map[uint32]pdf.Object
	curObj  map[uint32]pdf.Object

	oldDSS, curDSS map[uint32]bool
	oldDR          map[uint32]bool
	widgets        map[uint32]bool // widgets (fields) filled or signed here
	apTargets      map[uint32][]uint32
}

// analyzeIncrement compares revision i-1 with revision i.
func (v *validator) analyzeIncrement(i int) *increment {
	if inc, ok := v.increments[i]; ok {
		return inc
	}
	inc := &increment{rev: i}
	v.increments[i] = inc
	old, err := v.revisionReader(i - 1)
	if err != nil {
		inc.err = fmt.Errorf("revision %d cannot be read on its own: %w", i, err)
		return inc
	}
	cur, err := v.revisionReader(i)
	if err != nil {
		inc.err = fmt.Errorf("revision %d cannot be read on its own: %w", i+1, err)
		return inc
	}
	a := &incrementAnalysis{
		old: old, cur: cur, inc: inc,
		gOld:    func() *refGraph { return v.graph(i - 1) },
		gCur:    func() *refGraph { return v.graph(i) },
		touched: map[uint32]int{}, oldObj: map[uint32]pdf.Object{}, curObj: map[uint32]pdf.Object{},
		widgets: map[uint32]bool{}, apTargets: map[uint32][]uint32{},
	}
	a.run()
	for n := range a.widgets {
		inc.painted = append(inc.painted, n)
	}
	return inc
}

// graph returns the (cached) reference graph of revision i.
func (v *validator) graph(i int) *refGraph {
	if g, ok := v.graphs[i]; ok {
		return g
	}
	r, err := v.revisionReader(i)
	g := &refGraph{uses: map[uint32][]use{}}
	if err == nil {
		g = buildGraph(r)
	}
	v.graphs[i] = g
	return g
}

func (a *incrementAnalysis) set(num uint32, rule, category, format string, args ...any) {
	ch := &a.inc.changes[a.touched[num]]
	ch.Rule, ch.category = rule, category
	ch.Reason = fmt.Sprintf(format, args...)
}

func (a *incrementAnalysis) change(num uint32) *ObjectChange { return &a.inc.changes[a.touched[num]] }

func (a *incrementAnalysis) run() {
	// The objects whose cross-reference entries differ.
	nums := map[uint32]bool{}
	for _, ref := range a.old.Objects() {
		nums[ref.Num] = true
	}
	for _, ref := range a.cur.Objects() {
		nums[ref.Num] = true
	}
	sorted := make([]uint32, 0, len(nums))
	for n := range nums {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	for _, n := range sorted {
		lo, okO := a.old.Location(n)
		lc, okC := a.cur.Location(n)
		if okO && okC && lo == lc {
			if lo.Stream == 0 {
				continue
			}
			so, _ := a.old.Location(lo.Stream)
			sc, _ := a.cur.Location(lc.Stream)
			if so == sc {
				continue
			}
		}
		var oldO, curO pdf.Object
		if okO {
			if o, err := a.old.Object(n); err == nil {
				oldO = o
			}
		}
		if okC {
			o, err := a.cur.Object(n)
			if err != nil {
				a.add(n, "changed", "", NoRule, "", "unreadable: "+err.Error())
				continue
			}
			curO = o
		}
		if _, isNull := oldO.(pdf.Null); isNull {
			oldO = nil
		}
		if _, isNull := curO.(pdf.Null); isNull {
			curO = nil
		}
		switch {
		case oldO == nil && curO == nil:
			continue
		case oldO == nil:
			a.add(n, "added", describe(curO), "", "", "")
		case curO == nil:
			a.add(n, "deleted", describe(oldO), "", "", "")
		default:
			if deepEqual(a.old, a.cur, oldO, curO, 0) {
				a.add(n, "changed", describe(curO), RuleUnchanged, "", "written again with the same content")
				continue
			}
			a.add(n, "changed", describe(curO), "", "", "")
		}
		a.oldObj[n], a.curObj[n] = oldO, curO
	}
	if len(a.inc.changes) == 0 {
		return
	}
	a.context()
	// Objects whose nature decides the rule.
	for i := range a.inc.changes {
		ch := &a.inc.changes[i]
		if ch.Rule != "" {
			continue
		}
		switch ch.Change {
		case "deleted":
			a.deleted(ch.num)
		case "added":
			a.added(ch.num)
		default:
			a.changed(ch.num)
		}
	}
	a.appearances()
	a.ownership()
}

func (a *incrementAnalysis) add(num uint32, kind, typ, rule, category, reason string) {
	a.touched[num] = len(a.inc.changes)
	a.inc.changes = append(a.inc.changes, ObjectChange{
		Revision: a.inc.rev + 1, Object: fmt.Sprintf("%d 0 R", num), Change: kind, Type: typ,
		Rule: rule, category: category, Reason: reason, num: num,
	})
}

// context gathers the document structure the rules need.
func (a *incrementAnalysis) context() {
	a.oldDSS, a.curDSS = map[uint32]bool{}, map[uint32]bool{}
	a.oldDR = map[uint32]bool{}
	if cat, err := a.old.Catalog(); err == nil {
		if d := cat.Get("DSS"); d != nil {
			a.oldDSS = subtree(a.old, d)
		}
		if af, err := a.old.ResolveDict(cat.Get("AcroForm")); err == nil && af != nil && af.Get("DR") != nil {
			a.oldDR = subtree(a.old, af.Get("DR"))
		}
	}
	if cat, err := a.cur.Catalog(); err == nil {
		if d := cat.Get("DSS"); d != nil {
			a.curDSS = subtree(a.cur, d)
		}
	}
}

func (a *incrementAnalysis) isTouched(num uint32) bool { _, ok := a.touched[num]; return ok }

// usedOnlyFrom reports whether every use of num in g comes from an object
// that ok accepts (and there is at least one).
func usedOnlyFrom(g *refGraph, num uint32, ok func(use) bool) bool {
	us := g.uses[num]
	if len(us) == 0 {
		return false
	}
	for _, u := range us {
		if !ok(u) {
			return false
		}
	}
	return true
}

func (a *incrementAnalysis) deleted(num uint32) {
	g := a.gCur()
	if us := g.uses[num]; len(us) > 0 {
		a.set(num, NoRule, ModOther, "deleted, but %s still refers to it (it now reads as null)", a.userText(us[0]))
		return
	}
	if !g.complete {
		a.set(num, NoRule, ModOther, "deleted; the document is too large to prove nothing refers to it")
		return
	}
	a.set(num, RuleFreed, "", "deleted; nothing refers to it any more")
}

func (a *incrementAnalysis) userText(u use) string {
	if u.from == 0 {
		return "the trailer (/" + string(u.key) + ")"
	}
	typ := ""
	if o, err := a.cur.Object(u.from); err == nil {
		typ = describe(o) + " "
	} else if o, err := a.old.Object(u.from); err == nil {
		typ = describe(o) + " "
	}
	s := fmt.Sprintf("%s%d 0 R", typ, u.from)
	if u.key != "" {
		s += " (/" + string(u.key) + ")"
	}
	return s
}

func isSigDict(d *pdf.Dict) bool {
	t, _ := d.Name("Type")
	return t == "Sig" || t == "DocTimeStamp" || (d.Has("ByteRange") && d.Has("Contents") && d.Has("Filter"))
}

func isDocTimestamp(d *pdf.Dict) bool {
	t, _ := d.Name("Type")
	sf, _ := d.Name("SubFilter")
	return t == "DocTimeStamp" || sf == "ETSI.RFC3161"
}

func isField(d *pdf.Dict) bool {
	sub, _ := d.Name("Subtype")
	return d.Has("FT") || sub == "Widget" || (d.Has("T") && (d.Has("Kids") || d.Has("Parent")))
}

func isStructure(o pdf.Object) bool {
	s, ok := o.(*pdf.Stream)
	if !ok {
		return false
	}
	t, _ := s.Dict.Name("Type")
	return t == "XRef" || t == "ObjStm"
}

func (a *incrementAnalysis) added(num uint32) {
	o := a.curObj[num]
	d := dictOf(o)
	cat, _ := a.cur.Catalog()
	g := a.gCur()
	switch {
	case isStructure(o) && len(g.uses[num]) == 0:
		a.set(num, RuleStructure, "", "cross-reference or object stream")
	case len(g.uses[num]) == 0 && g.complete:
		a.set(num, RuleUnreferenced, ModUnreferenced, "added; nothing uses it")
	case num == a.cur.Root().Num:
		a.catalog(num)
	case a.isInfo(num):
		a.set(num, RuleMetadata, ModMetadata, "document information dictionary")
	case a.curDSS[num]:
		a.set(num, RuleDSS, ModDSS, "part of the document security store")
	case cat != nil && refNum(cat.Get("Metadata")) == num:
		a.set(num, RuleMetadata, ModMetadata, "XMP metadata stream")
	case d == nil:
		// Content: judged by who uses it (ownership).
	case isSigDict(d):
		if isDocTimestamp(d) {
			a.set(num, RuleDocTimestamp, ModDSS, "document time-stamp")
		} else {
			a.inc.approvals++
			a.set(num, RuleSignature, ModSignatures, "signature dictionary")
		}
	case isField(d):
		name := fieldName(a.cur, d)
		if fieldType(a.cur, d) == "Sig" {
			a.set(num, RuleSignatureField, ModSignatures, "signature field %q", name)
			a.widgets[num] = true
			a.noteAppearance(num, d)
		} else {
			a.set(num, NoRule, ModOther, "a form field (%q) was added", name)
		}
	default:
		typ, _ := d.Name("Type")
		sub, _ := d.Name("Subtype")
		switch {
		case typ == "Page" || typ == "Pages":
			a.set(num, NoRule, ModOther, "a page was added")
		case sub != "" && (typ == "Annot" || d.Has("Rect")):
			a.set(num, RuleAnnotation, ModAnnotations, "%s annotation added", sub)
		}
	}
}

func (a *incrementAnalysis) isInfo(num uint32) bool {
	if ref, ok := a.cur.Info(); ok && ref.Num == num {
		return true
	}
	if ref, ok := a.old.Info(); ok && ref.Num == num {
		return true
	}
	return false
}

func refNum(o pdf.Object) uint32 {
	if r, ok := o.(pdf.Ref); ok {
		return r.Num
	}
	return 0
}

func (a *incrementAnalysis) changed(num uint32) {
	oldO, curO := a.oldObj[num], a.curObj[num]
	od, cd := dictOf(oldO), dictOf(curO)
	ocat, _ := a.old.Catalog()
	ccat, _ := a.cur.Catalog()
	switch {
	case isStructure(curO) && len(a.gCur().uses[num]) == 0:
		a.set(num, RuleStructure, "", "cross-reference or object stream")
	case num == a.cur.Root().Num:
		a.catalog(num)
	case a.isInfo(num):
		a.set(num, RuleMetadata, ModMetadata, "document information dictionary")
	case ccat != nil && refNum(ccat.Get("Metadata")) == num && usedOnlyFrom(a.gOld(), num, func(u use) bool { return u.from == a.old.Root().Num && u.key == "Metadata" }):
		a.set(num, RuleMetadata, ModMetadata, "XMP metadata stream")
	case a.oldDSS[num] && usedOnlyFrom(a.gOld(), num, func(u use) bool {
		return a.oldDSS[u.from] || (u.from == a.old.Root().Num && u.key == "DSS")
	}):
		a.set(num, RuleDSS, ModDSS, "document security store updated")
	case od == nil || cd == nil:
		// Arrays and other direct values: /Fields and /Annots arrays, or content.
		switch {
		case ccat != nil && a.isFieldsArray(ccat, num):
			oa, _ := oldO.(pdf.Array)
			ca, _ := curO.(pdf.Array)
			rule, why := a.fieldsRule(oa, ca)
			a.set(num, rule, ModSignatures, "/Fields: %s", why)
		case a.isAnnotsArray(num):
			oa, _ := oldO.(pdf.Array)
			ca, _ := curO.(pdf.Array)
			rule, cat, why := a.annotsRule(oa, ca)
			a.set(num, rule, cat, "/Annots: %s", why)
		}
	case ccat != nil && refNum(ccat.Get("AcroForm")) == num:
		rule, why := a.acroFormRule(od, cd)
		a.set(num, rule, ModSignatures, "interactive form: %s", why)
	case a.oldDR[num] && usedOnlyFrom(a.gOld(), num, func(u use) bool {
		return a.oldDR[u.from] || (ocat != nil && u.from == refNum(ocat.Get("AcroForm")) && u.key == "DR")
	}):
		a.set(num, RuleAcroForm, ModSignatures, "default resources of the form")
	case isSigDict(cd) || isSigDict(od):
		a.set(num, NoRule, ModOther, "a signature dictionary was altered")
	case isField(cd):
		a.field(num, od, cd)
	default:
		typ, _ := cd.Name("Type")
		sub, _ := cd.Name("Subtype")
		switch {
		case typ == "Page":
			a.page(num, od, cd)
		case typ == "Pages":
			a.set(num, NoRule, ModOther, "the page tree changed (%s)", keyList(changedKeys(a.old, a.cur, od, cd)))
		case typ == "Catalog":
			a.set(num, NoRule, ModOther, "a catalog that is not the document's root changed")
		case sub != "" && sub != "Form" && sub != "Image" && (typ == "Annot" || cd.Has("Rect")):
			a.set(num, RuleAnnotation, ModAnnotations, "%s annotation changed (%s)", sub, keyList(changedKeys(a.old, a.cur, od, cd)))
		}
	}
}

func (a *incrementAnalysis) isFieldsArray(cat *pdf.Dict, num uint32) bool {
	af, err := a.cur.ResolveDict(cat.Get("AcroForm"))
	return err == nil && af != nil && refNum(af.Get("Fields")) == num
}

func (a *incrementAnalysis) isAnnotsArray(num uint32) bool {
	for _, g := range []*refGraph{a.gOld(), a.gCur()} {
		for _, u := range g.uses[num] {
			if u.key == "Annots" {
				return true
			}
		}
	}
	return false
}

func keyList(keys []pdf.Name) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "/" + string(k)
	}
	return strings.Join(parts, " ")
}

// catalog judges the document catalog's changed keys.
func (a *incrementAnalysis) catalog(num uint32) {
	oc, err1 := a.old.Catalog()
	nc, err2 := a.cur.Catalog()
	if err1 != nil || err2 != nil {
		a.set(num, NoRule, ModOther, "catalog unreadable")
		return
	}
	category := ""
	var allowed, refused []string
	for _, k := range changedKeys(a.old, a.cur, oc, nc) {
		switch k {
		case "DSS", "Extensions":
			allowed = append(allowed, "/"+string(k))
			if category == "" {
				category = ModDSS
			}
		case "Metadata", "Version":
			allowed = append(allowed, "/"+string(k))
			if category == "" {
				category = ModMetadata
			}
		case "AcroForm":
			if on, cn := refNum(oc.Get("AcroForm")), refNum(nc.Get("AcroForm")); on == cn && on != 0 {
				continue // the same form object, judged on its own
			}
			oa, _ := a.old.ResolveDict(oc.Get("AcroForm"))
			na, _ := a.cur.ResolveDict(nc.Get("AcroForm"))
			rule, why := a.acroFormRule(oa, na)
			if rule == NoRule {
				refused = append(refused, "/AcroForm: "+why)
				continue
			}
			allowed = append(allowed, "/AcroForm")
			category = ModSignatures
		default:
			refused = append(refused, "/"+string(k)+" changed")
		}
	}
	if len(refused) > 0 {
		a.set(num, NoRule, ModOther, "catalog: %s", strings.Join(refused, "; "))
		return
	}
	a.set(num, RuleCatalog, category, "catalog: %s", strings.Join(allowed, " "))
}

// acroFormRule judges a change of the interactive form dictionary.
func (a *incrementAnalysis) acroFormRule(old, cur *pdf.Dict) (string, string) {
	if cur == nil {
		return NoRule, "the interactive form was removed"
	}
	var notes []string
	keys := changedKeys(a.old, a.cur, old, cur)
	if old == nil {
		keys = cur.Keys()
		notes = append(notes, "added")
	}
	for _, k := range keys {
		switch k {
		case "Fields":
			var of pdf.Array
			if old != nil {
				of, _ = a.old.ResolveArray(old.Get("Fields"))
			}
			nf, _ := a.cur.ResolveArray(cur.Get("Fields"))
			if rule, why := a.fieldsRule(of, nf); rule == NoRule {
				return NoRule, why
			}
			notes = append(notes, "/Fields")
		case "SigFlags", "DR", "DA", "NeedAppearances":
			notes = append(notes, "/"+string(k))
		default:
			return NoRule, "/" + string(k) + " changed"
		}
	}
	return RuleAcroForm, strings.Join(notes, " ")
}

// fieldsRule judges the /Fields array: it may gain signature fields.
func (a *incrementAnalysis) fieldsRule(old, cur pdf.Array) (string, string) {
	added, removed := refDiff(old, cur)
	if len(removed) > 0 {
		return NoRule, fmt.Sprintf("field %v removed", removed[0])
	}
	for _, r := range added {
		f, err := a.cur.ResolveDict(r)
		if err != nil || f == nil || fieldType(a.cur, f) != "Sig" {
			return NoRule, fmt.Sprintf("form field %v added", r)
		}
	}
	if len(added) == 0 {
		return RuleAcroForm, "reordered"
	}
	return RuleAcroForm, fmt.Sprintf("%d signature field(s) added", len(added))
}

// annotsRule judges a page's /Annots: it may gain signature widgets and
// (rule annotation) other annotations; nothing may be removed.
func (a *incrementAnalysis) annotsRule(old, cur pdf.Array) (string, string, string) {
	added, removed := refDiff(old, cur)
	if len(removed) > 0 {
		return NoRule, ModOther, fmt.Sprintf("annotation %v removed", removed[0])
	}
	rule, cat := RulePageAnnots, ModSignatures
	for _, r := range added {
		d, err := a.cur.ResolveDict(r)
		if err != nil || d == nil {
			return NoRule, ModOther, fmt.Sprintf("unreadable annotation %v added", r)
		}
		if sub, _ := d.Name("Subtype"); sub == "Widget" || d.Has("FT") {
			if fieldType(a.cur, d) != "Sig" {
				return NoRule, ModOther, fmt.Sprintf("form widget %v added", r)
			}
			continue
		}
		rule, cat = RuleAnnotation, ModAnnotations
	}
	return rule, cat, fmt.Sprintf("%d annotation(s) added", len(added))
}

// page judges a changed page dictionary: only /Annots may change.
func (a *incrementAnalysis) page(num uint32, od, cd *pdf.Dict) {
	for _, k := range changedKeys(a.old, a.cur, od, cd) {
		if k != "Annots" {
			a.set(num, NoRule, ModOther, "page /%s changed", k)
			return
		}
	}
	oa, _ := a.old.ResolveArray(od.Get("Annots"))
	ca, _ := a.cur.ResolveArray(cd.Get("Annots"))
	rule, cat, why := a.annotsRule(oa, ca)
	a.set(num, rule, cat, "page /Annots: %s", why)
}

// field judges a changed form field or widget.
func (a *incrementAnalysis) field(num uint32, od, cd *pdf.Dict) {
	name := fieldName(a.cur, cd)
	keys := changedKeys(a.old, a.cur, od, cd)
	ch := a.change(num)
	ch.field = name
	if fieldType(a.cur, cd) == "Sig" {
		for _, k := range keys {
			switch k {
			case "V":
				if ov := od.Get("V"); ov != nil {
					if o, _ := a.old.Resolve(ov); o != nil && o != (pdf.Null{}) {
						a.set(num, NoRule, ModOther, "signature field %q: its signature was replaced", name)
						return
					}
				}
			case "AP", "AS", "MK", "F", "DA", "Lock", "SV":
			default:
				a.set(num, NoRule, ModOther, "signature field %q: /%s changed", name, k)
				return
			}
		}
		a.widgets[num] = true
		a.noteAppearance(num, cd)
		a.set(num, RuleSignatureField, ModSignatures, "signature field %q signed (%s)", name, keyList(keys))
		return
	}
	for _, k := range keys {
		switch k {
		case "V", "AS", "AP", "M":
		default:
			a.set(num, NoRule, ModOther, "form field %q: /%s changed", name, k)
			return
		}
	}
	a.widgets[num] = true
	a.noteAppearance(num, cd)
	a.set(num, RuleFormFill, ModFormFill, "form field %q filled (%s)", name, keyList(keys))
}

// noteAppearance records the appearance streams a widget now shows.
func (a *incrementAnalysis) noteAppearance(num uint32, d *pdf.Dict) {
	ap := d.Get("AP")
	var targets []uint32
	if r, ok := ap.(pdf.Ref); ok {
		targets = append(targets, r.Num)
	}
	apd, err := a.cur.ResolveDict(ap)
	if err != nil || apd == nil {
		return
	}
	for _, k := range []pdf.Name{"N", "D", "R"} {
		v := apd.Get(k)
		if r, ok := v.(pdf.Ref); ok {
			targets = append(targets, r.Num)
			if o, err := a.cur.Object(r.Num); err == nil {
				if sd, ok := o.(*pdf.Dict); ok { // appearance states: /On, /Off
					for _, e := range sd.Entries() {
						if sr, ok := e.Value.(pdf.Ref); ok {
							targets = append(targets, sr.Num)
						}
					}
				}
			}
		} else if sd, ok := v.(*pdf.Dict); ok {
			for _, e := range sd.Entries() {
				if sr, ok := e.Value.(pdf.Ref); ok {
					targets = append(targets, sr.Num)
				}
			}
		}
	}
	a.apTargets[num] = targets
}

// appearances judges existing objects changed in place that are not
// covered by a rule of their own: they pass only as the appearance (or
// part of it) of widgets filled or signed in this update, used by nothing
// else before or after it. This is where an update that rewrites a page's
// content, another widget's appearance or a form XObject drawn elsewhere
// under the cover of a form fill is caught.
func (a *incrementAnalysis) appearances() {
	inSet := map[uint32]bool{}
	for w := range a.widgets {
		inSet[w] = true
	}
	var pending []uint32
	for i := range a.inc.changes {
		ch := &a.inc.changes[i]
		if ch.Rule == "" && ch.Change == "changed" {
			pending = append(pending, ch.num)
		}
	}
	gOld, gCur := a.gOld(), a.gCur()
	owned := func(num uint32) bool {
		all := append(slices.Clone(gOld.uses[num]), gCur.uses[num]...)
		if len(all) == 0 {
			return false
		}
		for _, u := range all {
			if !inSet[u.from] {
				return false
			}
		}
		return true
	}
	for progress := true; progress; {
		progress = false
		for _, n := range pending {
			if !inSet[n] && owned(n) {
				inSet[n], progress = true, true
			}
		}
	}
	for _, n := range pending {
		if inSet[n] {
			a.set(n, RuleAppearance, ModFormFill, "appearance used only by widgets filled or signed in this update")
			continue
		}
		var others []string
		for _, u := range append(slices.Clone(gOld.uses[n]), gCur.uses[n]...) {
			if !inSet[u.from] && len(others) < 3 {
				if t := a.userText(u); !slices.Contains(others, t) {
					others = append(others, t)
				}
			}
		}
		if len(others) > 0 && a.sharedWithWidget(n) {
			a.set(n, NoRule, ModOther, "the appearance of a filled field was rewritten in place, but %s also uses it", strings.Join(others, ", "))
			continue
		}
		if len(others) > 0 {
			a.set(n, NoRule, ModOther, "changed; used by %s", strings.Join(others, ", "))
			continue
		}
		a.set(n, NoRule, ModOther, "changed, and no rule covers a change of this object")
	}
	// A fill must show an appearance of its own: an existing object it
	// points to must not be used by anything else.
	for w, targets := range a.apTargets {
		if a.change(w).Rule == NoRule {
			continue
		}
		for _, t := range targets {
			if ch, ok := a.touched[t]; ok && a.inc.changes[ch].Change == "added" {
				continue
			}
			if inSet[t] {
				continue
			}
			var others []string
			for _, u := range gCur.uses[t] {
				if u.from != w && !inSet[u.from] && !slices.Contains(a.apTargets[w], u.from) && len(others) < 3 {
					others = append(others, a.userText(u))
				}
			}
			if len(others) > 0 {
				ch := a.change(w)
				a.set(w, NoRule, ModOther, "%s, but its appearance %d 0 R is shared with %s", ch.Reason, t, strings.Join(others, ", "))
				break
			}
		}
	}
}

// sharedWithWidget reports whether a filled widget of this update shows num.
func (a *incrementAnalysis) sharedWithWidget(num uint32) bool {
	for _, targets := range a.apTargets {
		if slices.Contains(targets, num) {
			return true
		}
	}
	return false
}

// ownership judges added objects without a rule of their own by who uses
// them: content (appearance streams, fonts, DSS entries, ...) passes when
// every object that refers to it is a change this update makes under a
// rule, and that reference is new. A reference that an unchanged object
// already held (a dangling reference now filled in) is not permitted: it
// changes what that object shows without changing it.
func (a *incrementAnalysis) ownership() {
	g := a.gCur()
	// Added objects with a rule still need their users checked.
	for i := range a.inc.changes {
		ch := &a.inc.changes[i]
		if ch.Change != "added" || ch.Rule == NoRule || ch.Rule == RuleStructure {
			continue
		}
		if u, bad := a.preexistingUse(ch.num, g); bad {
			a.set(ch.num, NoRule, ModOther, "fills a reference %s held before this update", a.userText(u))
		}
	}
	for progress := true; progress; {
		progress = false
		for i := range a.inc.changes {
			ch := &a.inc.changes[i]
			if ch.Rule != "" {
				continue
			}
			us := g.uses[ch.num]
			if len(us) == 0 {
				if g.complete {
					a.set(ch.num, RuleUnreferenced, ModUnreferenced, "added; nothing uses it")
				} else {
					a.set(ch.num, NoRule, ModOther, "added; the document is too large to prove nothing uses it")
				}
				progress = true
				continue
			}
			var owner *ObjectChange
			resolved := true
			for _, u := range us {
				if u.from == 0 {
					a.set(ch.num, NoRule, ModOther, "referenced from the trailer (/%s)", u.key)
					owner = nil
					break
				}
				j, ok := a.touched[u.from]
				if !ok {
					a.set(ch.num, NoRule, ModOther, "used by %s, which the update did not change: a reference it held before now shows new content", a.userText(u))
					break
				}
				o := &a.inc.changes[j]
				switch {
				case o.Rule == "":
					resolved = false
				case o.Rule == NoRule:
					a.set(ch.num, NoRule, ModOther, "part of the not permitted change of %s", o.Object)
				case owner == nil || o.Rule == RuleUnreferenced:
					owner = o
				}
				if a.change(ch.num).Rule != "" {
					break
				}
			}
			if a.change(ch.num).Rule != "" {
				progress = true
				continue
			}
			if resolved && owner != nil {
				rule, cat := owner.Rule, owner.category
				if rule == RuleCatalog {
					rule = RuleDSS // the catalog owns what it gains under /DSS, /AcroForm ...
				}
				a.set(ch.num, rule, cat, "used by %s (%s)", owner.Object, owner.Rule)
				progress = true
			}
		}
	}
	// Cycles among added objects: owned when some user is permitted.
	for i := range a.inc.changes {
		ch := &a.inc.changes[i]
		if ch.Rule != "" {
			continue
		}
		for _, u := range g.uses[ch.num] {
			if j, ok := a.touched[u.from]; ok && a.inc.changes[j].Rule != "" && a.inc.changes[j].Rule != NoRule {
				a.set(ch.num, a.inc.changes[j].Rule, a.inc.changes[j].category, "used by %s", a.inc.changes[j].Object)
				break
			}
		}
		if ch.Rule == "" {
			a.set(ch.num, NoRule, ModOther, "added, and used only by other unexplained objects")
		}
	}
}

// preexistingUse finds a use of num by an object that existed before the
// update and referred to num already (num was then free or undefined).
func (a *incrementAnalysis) preexistingUse(num uint32, g *refGraph) (use, bool) {
	for _, u := range g.uses[num] {
		if u.from == 0 {
			continue
		}
		if !a.isTouched(u.from) {
			return u, true
		}
		if old := a.oldObj[u.from]; old != nil && refersTo(old, num) {
			return u, true
		}
	}
	return use{}, false
}

// refersTo reports whether o holds a direct reference to num.
func refersTo(o pdf.Object, num uint32) bool {
	stack := []pdf.Object{o}
	for steps := 0; len(stack) > 0 && steps < 100000; steps++ {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := top.(type) {
		case pdf.Ref:
			if v.Num == num {
				return true
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
	return false
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
		if d.Has("FT") {
			return "field"
		}
		if _, ok := o.(*pdf.Stream); ok {
			return "stream"
		}
		return "dictionary"
	}
	switch o.(type) {
	case pdf.Array:
		return "array"
	case nil:
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(fmt.Sprintf("%T", o), "pdf."))
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

// deepEqual compares two objects by meaning: numbers by value (612 equals
// 612.0), dictionaries regardless of key order, strings regardless of
// literal or hex syntax, references by object number, streams by their
// dictionary (less /Length, /Filter, /DecodeParms) and decoded data.
func deepEqual(ra, rb *pdf.Reader, a, b pdf.Object, depth int) bool {
	if depth > 64 {
		return false
	}
	if na, ok := number(a); ok {
		nb, ok := number(b)
		return ok && (na == nb || math.Abs(na-nb) < 1e-9*math.Max(1, math.Abs(na)))
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case pdf.Null:
		_, ok := b.(pdf.Null)
		return ok || b == nil
	case pdf.Bool:
		y, ok := b.(pdf.Bool)
		return ok && x == y
	case pdf.Name:
		y, ok := b.(pdf.Name)
		return ok && x == y
	case pdf.String:
		y, ok := b.(pdf.String)
		return ok && bytes.Equal(x.Value, y.Value)
	case pdf.Ref:
		y, ok := b.(pdf.Ref)
		return ok && x.Num == y.Num
	case pdf.Array:
		y, ok := b.(pdf.Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(ra, rb, x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case *pdf.Dict:
		y, ok := b.(*pdf.Dict)
		return ok && dictEqual(ra, rb, x, y, depth, nil)
	case *pdf.Stream:
		y, ok := b.(*pdf.Stream)
		if !ok {
			return false
		}
		if x.Offset() >= 0 && x.Offset() == y.Offset() && x.RawLength() == y.RawLength() && sameFilters(x, y) && dictEqual(ra, rb, x.Dict, y.Dict, depth, nil) {
			return true
		}
		skip := map[pdf.Name]bool{"Length": true, "Filter": true, "DecodeParms": true}
		if !dictEqual(ra, rb, x.Dict, y.Dict, depth, skip) {
			return false
		}
		if sameFilters(x, y) && x.RawLength() == y.RawLength() {
			da, errA := readEncoded(x)
			db, errB := readEncoded(y)
			if errA == nil && errB == nil && bytes.Equal(da, db) {
				return true
			}
		}
		da, errA := x.Decoded(maxCompareStream)
		db, errB := y.Decoded(maxCompareStream)
		return errA == nil && errB == nil && bytes.Equal(da, db)
	}
	return false
}

func sameFilters(a, b *pdf.Stream) bool {
	return bytes.Equal(serialize(a.Dict.Get("Filter")), serialize(b.Dict.Get("Filter"))) &&
		bytes.Equal(serialize(a.Dict.Get("DecodeParms")), serialize(b.Dict.Get("DecodeParms")))
}

func dictEqual(ra, rb *pdf.Reader, x, y *pdf.Dict, depth int, skip map[pdf.Name]bool) bool {
	count := func(d *pdf.Dict) int {
		n := 0
		for _, k := range d.Keys() {
			if !skip[k] {
				n++
			}
		}
		return n
	}
	if count(x) != count(y) {
		return false
	}
	for _, e := range x.Entries() {
		if skip[e.Key] {
			continue
		}
		if !deepEqual(ra, rb, e.Value, y.Get(e.Key), depth+1) {
			return false
		}
	}
	return true
}

func number(o pdf.Object) (float64, bool) {
	switch v := o.(type) {
	case pdf.Integer:
		return float64(v), true
	case pdf.Real:
		return float64(v), true
	}
	return 0, false
}

func readEncoded(s *pdf.Stream) ([]byte, error) {
	r, n, err := s.Encoded()
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, min(n, maxCompareStream)))
}

func serialize(o pdf.Object) []byte {
	if o == nil {
		return nil
	}
	var b bytes.Buffer
	if err := pdf.WriteObject(&b, o); err != nil {
		return []byte(fmt.Sprintf("unserializable %p", o)) // never equal to another
	}
	return b.Bytes()
}

// changedKeys lists the keys whose values differ in meaning between two
// dictionaries (direct values compared; references by number).
func changedKeys(ra, rb *pdf.Reader, a, b *pdf.Dict) []pdf.Name {
	keys := map[pdf.Name]bool{}
	for _, d := range []*pdf.Dict{a, b} {
		if d != nil {
			for _, k := range d.Keys() {
				keys[k] = true
			}
		}
	}
	var out []pdf.Name
	for k := range keys {
		var va, vb pdf.Object
		if a != nil {
			va = a.Get(k)
		}
		if b != nil {
			vb = b.Get(k)
		}
		if !deepEqual(ra, rb, va, vb, 0) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// fieldType returns the field type of a field or widget, inherited
// through /Parent.
func fieldType(r *pdf.Reader, dict *pdf.Dict) pdf.Name {
	for i := 0; dict != nil && i < 64; i++ {
		if ft, ok := dict.Name("FT"); ok {
			return ft
		}
		p, err := r.ResolveDict(dict.Get("Parent"))
		if err != nil {
			return ""
		}
		dict = p
	}
	return ""
}

// fieldName returns the fully qualified name of a field (or of the field
// a widget belongs to).
func fieldName(r *pdf.Reader, dict *pdf.Dict) string {
	var parts []string
	for i := 0; dict != nil && i < 64; i++ {
		if t, ok := dict.Get("T").(pdf.String); ok {
			parts = append([]string{t.Text()}, parts...)
		}
		p, err := r.ResolveDict(dict.Get("Parent"))
		if err != nil {
			break
		}
		dict = p
	}
	return strings.Join(parts, ".")
}

// refDiff returns the references added to and removed from an array.
func refDiff(old, cur pdf.Array) (added, removed []pdf.Ref) {
	set := func(a pdf.Array) map[uint32]bool {
		m := map[uint32]bool{}
		for _, o := range a {
			if r, ok := o.(pdf.Ref); ok {
				m[r.Num] = true
			}
		}
		return m
	}
	os, ns := set(old), set(cur)
	for _, o := range cur {
		if r, ok := o.(pdf.Ref); ok && !os[r.Num] {
			added = append(added, r)
		}
	}
	for _, o := range old {
		if r, ok := o.(pdf.Ref); ok && !ns[r.Num] {
			removed = append(removed, r)
		}
	}
	return added, removed
}

// allowedCategory judges a change's category against the DocMDP
// permission p (0 when the document is not certified) and whether the
// update added approval signatures.
func allowedCategory(cat string, p int, approvals int) (bool, string) {
	switch cat {
	case "", ModDSS, ModMetadata, ModUnreferenced:
		return true, ""
	case ModSignatures:
		if p == 1 && approvals > 0 {
			return false, "a signature was added to a document certified with no changes allowed (DocMDP P=1)"
		}
		return true, ""
	case ModFormFill:
		if p == 1 {
			return false, "a form field was filled in a document certified with no changes allowed (DocMDP P=1)"
		}
		return true, ""
	case ModAnnotations:
		if p == 1 || p == 2 {
			return false, fmt.Sprintf("an annotation was changed in a document certified with DocMDP P=%d", p)
		}
		return true, ""
	}
	return false, "no rule permits this change"
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

// sigLocks reads the FieldMDP locks of a signature: its /Reference
// entries and its field's /Lock.
func (v *validator) sigLocks(ps *parsed) []fieldLock {
	var locks []fieldLock
	refs, _ := v.r.ResolveArray(ps.field.sig.Get("Reference"))
	for _, o := range refs {
		sr, err := v.r.ResolveDict(o)
		if err != nil || sr == nil {
			continue
		}
		if m, _ := sr.Name("TransformMethod"); m == "FieldMDP" {
			if l, ok := readLock(v.r, sr.Get("TransformParams")); ok {
				locks = append(locks, l)
			}
		}
	}
	if ps.field.field != nil {
		if l, ok := readLock(v.r, ps.field.field.Get("Lock")); ok {
			locks = append(locks, l)
		}
	}
	return locks
}

// judged is the change analysis of one signature.
type judged struct {
	changes    []ObjectChange
	categories []string
	permitted  bool
	why        string
	err        error
}

// judge analyses the increments after the revision ps covers.
func (v *validator) judge(ps *parsed, docMDP int) judged {
	out := judged{permitted: true}
	cats := map[string]bool{}
	p := 0
	for _, o := range v.all {
		if o.rep.Certification && o.revIndex >= 0 && o.revIndex <= ps.revIndex {
			p = docMDP
		}
	}
	for i := ps.revIndex + 1; i < len(v.revs); i++ {
		inc := v.analyzeIncrement(i)
		if inc.err != nil {
			out.err, out.permitted = inc.err, false
			out.why = "the changes after signing cannot be determined: " + inc.err.Error()
			return out
		}
		// FieldMDP locks of every signature made before this update.
		type owned struct {
			lock  fieldLock
			field string
		}
		var locks []owned
		for _, o := range v.all {
			if o.revIndex >= 0 && o.revIndex < i {
				for _, l := range v.sigLocks(o) {
					locks = append(locks, owned{l, o.field.name})
				}
			}
		}
		for _, ch := range inc.changes {
			ch.Permitted = ch.Rule != NoRule
			if ch.Permitted {
				if ok, why := allowedCategory(ch.category, p, inc.approvals); !ok {
					ch.Permitted = false
					ch.Reason += "; " + why
				}
			}
			if ch.Permitted && ch.field != "" {
				for _, l := range locks {
					if l.field != ch.field && l.lock.locks(ch.field) {
						ch.Permitted = false
						ch.Reason += fmt.Sprintf("; field %q is locked by signature %q (FieldMDP /%s)", ch.field, l.field, l.lock.action)
						break
					}
				}
			}
			if !ch.Permitted && out.permitted {
				out.permitted = false
				out.why = fmt.Sprintf("revision %d, %s %s: %s", ch.Revision, ch.Object, ch.Change, ch.Reason)
			}
			if ch.Rule != RuleUnchanged && ch.Rule != RuleStructure {
				c := ch.category
				if ch.Rule == NoRule {
					c = ModOther
				}
				if c != "" {
					cats[c] = true
				}
			}
			out.changes = append(out.changes, ch)
		}
	}
	for c := range cats {
		out.categories = append(out.categories, c)
	}
	sort.Strings(out.categories)
	sort.SliceStable(out.changes, func(i, j int) bool { return !out.changes[i].Permitted && out.changes[j].Permitted })
	return out
}
