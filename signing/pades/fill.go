package pades

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"

	"vanban/signing/pades/appearance"
	"vanban/signing/pdf"
)

// FillFields appends an incremental update that sets the value of text
// fields and regenerates their widgets' normal appearance with the embedded
// font. Only the field and widget objects change (plus the new appearance
// streams and font), so under a DocMDP P=2 certification the change is a
// permitted form fill and earlier signatures stay valid.
//
// Errors: ErrField (unknown field, not a text field, read-only, locked by
// a signature's field lock), ErrOptions (text the font cannot show),
// ErrNotPermitted (DocMDP P=1), and the reading errors of Prepare.
func FillFields(ctx context.Context, src io.ReaderAt, size int64, out io.Writer, values map[string]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(values) == 0 {
		return errorf(ErrOptions, "no field values")
	}
	d, err := openDocument(src, size)
	if err != nil {
		return err
	}
	mdp, err := d.docMDP()
	if err != nil {
		return err
	}
	if mdp == 1 {
		return errorf(ErrNotPermitted, "the document is certified with no changes allowed (DocMDP P=1)")
	}
	fields, err := d.fields()
	if err != nil {
		return err
	}
	locked, err := lockedFields(d)
	if err != nil {
		return err
	}
	byName := map[string]*field{}
	for i := range fields {
		byName[fields[i].fullName] = &fields[i]
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	slices.Sort(names) // deterministic output
	u := newUpdate(d)
	var fu fontUse
	for _, name := range names {
		f := byName[name]
		if f == nil {
			return errorf(ErrField, "no field named %q", name)
		}
		if f.ft != "Tx" {
			return errorf(ErrField, "field %q is a %q field, not a text field", name, f.ft)
		}
		if ff, _ := f.dict.Int("Ff"); ff&1 != 0 {
			return errorf(ErrField, "field %q is read-only", name)
		}
		if locked[name] {
			return errorf(ErrField, "field %q is locked by a signature", name)
		}
		if err := fillField(u, d, &fu, f, values[name]); err != nil {
			return err
		}
	}
	if fu.enc != nil {
		if err := addFont(u, fu.enc, fu.ref); err != nil {
			return err
		}
	}
	return writeUpdate(u, src, out)
}

// fillField sets /V and rebuilds the appearance of every widget of f.
func fillField(u *update, d *document, fu *fontUse, f *field, value string) error {
	fd := f.dict.Clone()
	fd.Set("V", pdf.TextString(value))
	size := daFontSize(f.da)
	align := appearance.Align(f.q)
	if align < appearance.AlignLeft || align > appearance.AlignRight {
		align = appearance.AlignLeft
	}
	type widget struct {
		ref  pdf.Ref
		dict *pdf.Dict
	}
	var widgets []widget
	if sub, _ := fd.Name("Subtype"); sub == "Widget" || fd.Has("Rect") {
		widgets = append(widgets, widget{f.ref, fd})
	} else {
		kids, err := d.array(fd.Get("Kids"))
		if err != nil {
			return err
		}
		for _, k := range kids {
			kr, ok := k.(pdf.Ref)
			kd, err := d.dict(k)
			if err != nil {
				return err
			}
			if ok && kd != nil {
				widgets = append(widgets, widget{kr, kd.Clone()})
			}
		}
	}
	if len(widgets) == 0 {
		return errorf(ErrField, "field %q has no widget", f.fullName)
	}
	for _, w := range widgets {
		rect, err := widgetRect(d, w.dict)
		if err != nil {
			return err
		}
		if rect.IsZero() {
			continue
		}
		style, _ := fd.Name(styleKey)
		apRef, err := textFieldAppearance(u, fu, Rect{0, 0, rect.Width(), rect.Height()}, value, size, align, widgetBackground(d, w.dict), style == "Italic")
		if err != nil {
			return err
		}
		ap, err := d.dict(w.dict.Get("AP"))
		if err != nil {
			return err
		}
		ap = ap.Clone()
		ap.Set("N", apRef)
		// A stale /D (down) appearance would show the old value when
		// clicked; text fields do not need one.
		ap.Delete("D")
		w.dict.Set("AP", ap)
		if w.ref != f.ref {
			u.replace(w.ref, w.dict)
		}
	}
	u.replace(f.ref, fd)
	return nil
}

// daFontSize reads the font size from a /DA string ("/F1 12 Tf 0 g"); 0
// means auto size.
func daFontSize(da string) float64 {
	toks := strings.Fields(da)
	for i, t := range toks {
		if t == "Tf" && i >= 1 {
			if v, err := strconv.ParseFloat(toks[i-1], 64); err == nil && v >= 0 && v < 1000 {
				return v
			}
		}
	}
	return 0
}

// lockedFields returns the names of fields that a signature's field lock
// (/Lock on the signature field, or a FieldMDP reference) excludes from
// change. Action /All locks everything; /Include lists names; /Exclude
// locks all but the listed ones.
func lockedFields(d *document) (map[string]bool, error) {
	fs, err := d.fields()
	if err != nil {
		return nil, err
	}
	all := make([]string, 0, len(fs))
	for _, f := range fs {
		all = append(all, f.fullName)
	}
	out := map[string]bool{}
	apply := func(lock *pdf.Dict) error {
		if lock == nil {
			return nil
		}
		action, _ := lock.Name("Action")
		names, err := d.array(lock.Get("Fields"))
		if err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, n := range names {
			if s, ok := n.(pdf.String); ok {
				listed[s.Text()] = true
			}
		}
		for _, name := range all {
			switch action {
			case "All":
				out[name] = true
			case "Include":
				if listed[name] {
					out[name] = true
				}
			case "Exclude":
				if !listed[name] {
					out[name] = true
				}
			}
		}
		return nil
	}
	for _, f := range fs {
		if f.ft != "Sig" || f.dict.Get("V") == nil {
			continue
		}
		lock, err := d.dict(f.dict.Get("Lock"))
		if err != nil {
			return nil, err
		}
		if err := apply(lock); err != nil {
			return nil, err
		}
		v, err := d.dict(f.dict.Get("V"))
		if err != nil || v == nil {
			continue
		}
		refs, err := d.array(v.Get("Reference"))
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			sr, err := d.dict(r)
			if err != nil || sr == nil {
				continue
			}
			if m, _ := sr.Name("TransformMethod"); m == "FieldMDP" {
				tp, err := d.dict(sr.Get("TransformParams"))
				if err != nil {
					return nil, err
				}
				if err := apply(tp); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}
