package pades

import (
	"fmt"
	"strings"
	"time"

	"vanban/signing/pades/appearance"
	"vanban/signing/pdf"
)

// Annotation flags (ISO 32000-1 12.5.3).
const (
	annotPrint  = 4
	annotLocked = 128
)

// contentsPlaceholder and byteRangePlaceholder name the placeholders of a
// signature dictionary in pdf.WriteResult.
const (
	contentsPlaceholder  = "Contents"
	byteRangePlaceholder = "ByteRange"
)

// pdfDate formats t as a PDF date in Vietnam time: D:20261124140509+07'00'.
func pdfDate(t time.Time) pdf.String {
	s := t.In(time.FixedZone("ICT", 7*3600)).Format("20060102150405-07'00'")
	return pdf.String{Value: []byte("D:" + s)}
}

// sigDictSpec is what goes into a signature or document time-stamp
// dictionary.
type sigDictSpec struct {
	docTimeStamp bool
	contentsSize int
	signingTime  time.Time
	name         string
	reason       string
	location     string
	contact      string
	certify      int        // DocMDP P, 0 for approval signatures
	lock         *FieldLock // FieldMDP lock of the signature, nil for none
}

// sigDict builds the /V dictionary with fixed-width placeholders.
func sigDict(s sigDictSpec) *pdf.Dict {
	d := &pdf.Dict{}
	if s.docTimeStamp {
		d.Set("Type", pdf.Name("DocTimeStamp"))
		d.Set("Filter", pdf.Name("Adobe.PPKLite"))
		d.Set("SubFilter", pdf.Name("ETSI.RFC3161"))
	} else {
		d.Set("Type", pdf.Name("Sig"))
		d.Set("Filter", pdf.Name("Adobe.PPKLite"))
		d.Set("SubFilter", pdf.Name("ETSI.CAdES.detached"))
	}
	d.Set("ByteRange", pdf.ByteRangePlaceholder(byteRangePlaceholder))
	d.Set("Contents", pdf.ContentsPlaceholder(contentsPlaceholder, s.contentsSize))
	if s.docTimeStamp {
		return d
	}
	d.Set("M", pdfDate(s.signingTime))
	if s.name != "" {
		d.Set("Name", pdf.TextString(s.name))
	}
	if s.reason != "" {
		d.Set("Reason", pdf.TextString(s.reason))
	}
	if s.location != "" {
		d.Set("Location", pdf.TextString(s.location))
	}
	if s.contact != "" {
		d.Set("ContactInfo", pdf.TextString(s.contact))
	}
	var refs pdf.Array
	if s.certify > 0 {
		refs = append(refs, pdf.NewDict(
			pdf.DictEntry{Key: "Type", Value: pdf.Name("SigRef")},
			pdf.DictEntry{Key: "TransformMethod", Value: pdf.Name("DocMDP")},
			pdf.DictEntry{Key: "TransformParams", Value: pdf.NewDict(
				pdf.DictEntry{Key: "Type", Value: pdf.Name("TransformParams")},
				pdf.DictEntry{Key: "P", Value: pdf.Integer(s.certify)},
				pdf.DictEntry{Key: "V", Value: pdf.Name("1.2")},
			)},
		))
	}
	if s.lock != nil {
		refs = append(refs, pdf.NewDict(
			pdf.DictEntry{Key: "Type", Value: pdf.Name("SigRef")},
			pdf.DictEntry{Key: "TransformMethod", Value: pdf.Name("FieldMDP")},
			pdf.DictEntry{Key: "TransformParams", Value: s.lock.lockDict("TransformParams")},
		))
	}
	if len(refs) > 0 {
		d.Set("Reference", refs)
	}
	return d
}

// formChanges accumulates what one update adds to the AcroForm and pages,
// then writes the merged objects once, so that several new fields on one
// page produce one new version of that page.
type formChanges struct {
	u         *update
	newFields []pdf.Ref
	annots    map[pdf.Ref][]pdf.Ref // page -> new widgets
	pageOrder []pdf.Ref
	drFont    pdf.Ref // font to register in /DR under appearance.FontName
	perms     pdf.Ref // signature for /Perms /DocMDP
	needsForm bool
}

func (fc *formChanges) addWidget(page, widget pdf.Ref) {
	if fc.annots == nil {
		fc.annots = map[pdf.Ref][]pdf.Ref{}
	}
	if _, ok := fc.annots[page]; !ok {
		fc.pageOrder = append(fc.pageOrder, page)
	}
	fc.annots[page] = append(fc.annots[page], widget)
}

// apply merges the changes into the page /Annots, the AcroForm and the
// catalog, keeping everything that was there: other fields, /DR, /DA,
// /NeedAppearances, other annotations.
func (fc *formChanges) apply() error {
	u, d := fc.u, fc.u.d
	for _, pageRef := range fc.pageOrder {
		page, err := u.current(pageRef)
		if err != nil {
			return err
		}
		if page == nil {
			return errorf(ErrNotPDF, "page %v is not a dictionary", pageRef)
		}
		page = page.Clone()
		widgets := fc.annots[pageRef]
		switch a := page.Get("Annots").(type) {
		case pdf.Ref:
			// An indirect /Annots array is rewritten in place, so the page
			// object itself stays untouched.
			arr, err := d.array(a)
			if err != nil {
				return err
			}
			if pending, ok := u.u.Pending(a); ok {
				arr, _ = pending.(pdf.Array)
			}
			u.replace(a, appendRefs(arr, widgets))
		case pdf.Array:
			page.Set("Annots", appendRefs(a, widgets))
			u.replace(pageRef, page)
		default:
			page.Set("Annots", appendRefs(nil, widgets))
			u.replace(pageRef, page)
		}
	}

	catalog, err := u.current(d.rootRef)
	if err != nil {
		return err
	}
	catalog = catalog.Clone()
	catalogChanged := false
	if fc.perms != (pdf.Ref{}) {
		perms, err := d.dict(catalog.Get("Perms"))
		if err != nil {
			return err
		}
		perms = perms.Clone()
		perms.Set("DocMDP", fc.perms)
		catalog.Set("Perms", perms)
		catalogChanged = true
	}
	if len(fc.newFields) > 0 || fc.needsForm || fc.drFont != (pdf.Ref{}) {
		af, afRef, err := d.acroForm()
		if err != nil {
			return err
		}
		if afRef != (pdf.Ref{}) {
			if cur, err := u.current(afRef); err == nil && cur != nil {
				af = cur
			}
		}
		af = af.Clone()
		if len(fc.newFields) > 0 {
			switch f := af.Get("Fields").(type) {
			case pdf.Ref:
				arr, err := d.array(f)
				if err != nil {
					return err
				}
				u.replace(f, appendRefs(arr, fc.newFields))
			case pdf.Array:
				af.Set("Fields", appendRefs(f, fc.newFields))
			default:
				af.Set("Fields", appendRefs(nil, fc.newFields))
			}
		}
		flags, _ := af.Int("SigFlags")
		af.Set("SigFlags", pdf.Integer(flags|3))
		if fc.drFont != (pdf.Ref{}) {
			if err := fc.addDRFont(af); err != nil {
				return err
			}
			if !af.Has("DA") {
				af.Set("DA", pdf.String{Value: []byte(appearance.DA(0))})
			}
		}
		if afRef != (pdf.Ref{}) {
			u.replace(afRef, af)
		} else {
			// A direct or new AcroForm: new ones are made indirect, the
			// usual form, which also keeps later updates small.
			catalog.Set("AcroForm", u.add(af))
			catalogChanged = true
		}
	}
	if catalogChanged {
		u.replace(d.rootRef, catalog)
	}
	return nil
}

// addDRFont registers our font in the AcroForm's default resources, which
// a field's /DA refers to. Indirect /DR and /DR /Font dictionaries are
// rewritten in place.
func (fc *formChanges) addDRFont(af *pdf.Dict) error {
	u, d := fc.u, fc.u.d
	drObj := af.Get("DR")
	dr, err := d.dict(drObj)
	if err != nil {
		return err
	}
	dr = dr.Clone()
	fontObj := dr.Get("Font")
	fonts, err := d.dict(fontObj)
	if err != nil {
		return err
	}
	fonts = fonts.Clone()
	fonts.Set(appearance.FontName, fc.drFont)
	if ref, ok := fontObj.(pdf.Ref); ok {
		u.replace(ref, fonts)
	} else {
		dr.Set("Font", fonts)
	}
	if ref, ok := drObj.(pdf.Ref); ok {
		u.replace(ref, dr)
	} else {
		af.Set("DR", dr)
	}
	return nil
}

func appendRefs(arr pdf.Array, refs []pdf.Ref) pdf.Array {
	out := make(pdf.Array, 0, len(arr)+len(refs))
	out = append(out, arr...)
	for _, r := range refs {
		out = append(out, r)
	}
	return out
}

// fontFor reserves the update's font resource on first use.
type fontUse struct {
	enc *appearance.Encoder
	ref pdf.Ref
}

func (f *fontUse) get(u *update) (*appearance.Encoder, pdf.Ref) {
	if f.enc == nil {
		f.enc = appearance.MustDefaultFont().NewEncoder()
		f.ref = u.reserve()
	}
	return f.enc, f.ref
}

// vietnameseRepertoire is the text a viewer may need when someone edits a
// field that uses our /DR font: printable ASCII and the Vietnamese letters.
var vietnameseRepertoire = func() string {
	var b strings.Builder
	for r := rune(0x20); r < 0x7f; r++ {
		b.WriteRune(r)
	}
	b.WriteString("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư–“”‘’…")
	for r := rune(0x1EA0); r <= 0x1EF9; r++ {
		b.WriteRune(r)
	}
	return b.String()
}()

// styleKey is our private field key for the text style (/Italic), which
// a text field's /DA cannot express with a single embedded font.
const styleKey = "VNBStyle"

// textFieldAppearance builds the /AP /N stream of a text field.
func textFieldAppearance(u *update, fu *fontUse, rect Rect, value string, size float64, align appearance.Align, bg []float64, italic bool) (pdf.Ref, error) {
	enc, fontRef := fu.get(u)
	content, err := appearance.TextField{Width: rect.Width(), Height: rect.Height(), Value: value, FontSize: size, Align: align, Background: bg, Italic: italic}.Content(enc)
	if err != nil {
		return pdf.Ref{}, wrapErr(ErrOptions, err, "field appearance")
	}
	res := pdf.NewDict(pdf.DictEntry{Key: "Font", Value: pdf.NewDict(pdf.DictEntry{Key: appearance.FontName, Value: fontRef})})
	return u.add(formXObject(rect.Width(), rect.Height(), res, content)), nil
}

// colourArray is a /MK colour entry.
func colourArray(c []float64) pdf.Array {
	a := make(pdf.Array, len(c))
	for i, v := range c {
		a[i] = pdf.Real(v)
	}
	return a
}

// widgetBackground reads a widget's /MK /BG colour (gray or RGB); nil when
// it has none or one we do not draw (CMYK).
func widgetBackground(d *document, widget *pdf.Dict) []float64 {
	mk, err := d.dict(widget.Get("MK"))
	if err != nil || mk == nil {
		return nil
	}
	arr, err := d.array(mk.Get("BG"))
	if err != nil || (len(arr) != 1 && len(arr) != 3) {
		return nil
	}
	out := make([]float64, len(arr))
	for i, o := range arr {
		switch v := o.(type) {
		case pdf.Integer:
			out[i] = float64(v)
		case pdf.Real:
			out[i] = float64(v)
		default:
			return nil
		}
	}
	return out
}

// emptyAppearance is the appearance of an invisible or unsigned widget.
func emptyAppearance(u *update, rect Rect) pdf.Ref {
	return u.add(formXObject(max(rect.Width(), 0), max(rect.Height(), 0), nil, nil))
}

func fieldTitle(name string) pdf.String { return pdf.TextString(name) }

func describe(r Rect) string {
	return fmt.Sprintf("[%g %g %g %g]", r.LLX, r.LLY, r.URX, r.URY)
}

// lockDict is the field's /Lock (a SigFieldLock dictionary) or, with
// typ "TransformParams", the FieldMDP transform parameters.
func (l *FieldLock) lockDict(typ pdf.Name) *pdf.Dict {
	d := pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: typ},
		pdf.DictEntry{Key: "Action", Value: pdf.Name(l.Action)},
	)
	if l.Action != "All" {
		arr := pdf.Array{}
		for _, f := range l.Fields {
			arr = append(arr, pdf.TextString(f))
		}
		d.Set("Fields", arr)
	}
	if typ == "TransformParams" {
		d.Set("V", pdf.Name("1.2"))
	}
	return d
}
