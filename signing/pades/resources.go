package pades

import (
	"vanban/signing/pades/appearance"
	"vanban/signing/pdf"
)

// addFont writes the Type0/CIDFontType2 font for the glyphs enc used; the
// Type0 font dictionary goes into fontRef, which the appearance streams
// already refer to (reserved with update.reserve before the glyphs were
// known).
func addFont(u *update, enc *appearance.Encoder, fontRef pdf.Ref) error {
	p, err := enc.Program()
	if err != nil {
		return wrapErr(ErrOptions, err, "embedding the font")
	}
	file := u.add(pdf.NewFlateStream(pdf.NewDict(pdf.DictEntry{Key: "Length1", Value: pdf.Integer(len(p.TrueType))}), p.TrueType))
	bbox := pdf.Array{pdf.Integer(p.BBox[0]), pdf.Integer(p.BBox[1]), pdf.Integer(p.BBox[2]), pdf.Integer(p.BBox[3])}
	desc := u.add(pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("FontDescriptor")},
		pdf.DictEntry{Key: "FontName", Value: pdf.Name(p.BaseFont)},
		pdf.DictEntry{Key: "Flags", Value: pdf.Integer(p.Flags)},
		pdf.DictEntry{Key: "FontBBox", Value: bbox},
		pdf.DictEntry{Key: "ItalicAngle", Value: pdf.Real(p.ItalicAngle)},
		pdf.DictEntry{Key: "Ascent", Value: pdf.Integer(p.Ascent)},
		pdf.DictEntry{Key: "Descent", Value: pdf.Integer(p.Descent)},
		pdf.DictEntry{Key: "CapHeight", Value: pdf.Integer(p.CapHeight)},
		pdf.DictEntry{Key: "StemV", Value: pdf.Integer(p.StemV)},
		pdf.DictEntry{Key: "FontFile2", Value: file},
	))
	var w pdf.Array
	for _, run := range p.W {
		ws := make(pdf.Array, len(run.Widths))
		for i, x := range run.Widths {
			ws[i] = pdf.Integer(x)
		}
		w = append(w, pdf.Integer(run.First), ws)
	}
	cid := u.add(pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("Font")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("CIDFontType2")},
		pdf.DictEntry{Key: "BaseFont", Value: pdf.Name(p.BaseFont)},
		pdf.DictEntry{Key: "CIDSystemInfo", Value: pdf.NewDict(
			pdf.DictEntry{Key: "Registry", Value: pdf.String{Value: []byte("Adobe")}},
			pdf.DictEntry{Key: "Ordering", Value: pdf.String{Value: []byte("Identity")}},
			pdf.DictEntry{Key: "Supplement", Value: pdf.Integer(0)},
		)},
		pdf.DictEntry{Key: "FontDescriptor", Value: desc},
		pdf.DictEntry{Key: "CIDToGIDMap", Value: pdf.Name("Identity")},
		pdf.DictEntry{Key: "DW", Value: pdf.Integer(1000)},
		pdf.DictEntry{Key: "W", Value: w},
	))
	toUnicode := u.add(pdf.NewFlateStream(nil, p.ToUnicode))
	u.replace(fontRef, pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("Font")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Type0")},
		pdf.DictEntry{Key: "BaseFont", Value: pdf.Name(p.BaseFont)},
		pdf.DictEntry{Key: "Encoding", Value: pdf.Name("Identity-H")},
		pdf.DictEntry{Key: "DescendantFonts", Value: pdf.Array{cid}},
		pdf.DictEntry{Key: "ToUnicode", Value: toUnicode},
	))
	return nil
}

// addImage writes img as an image XObject, with its alpha channel as an
// /SMask image, and returns the image's reference.
func addImage(u *update, img *appearance.Image) pdf.Ref {
	cs := pdf.Name("DeviceRGB")
	if img.Gray {
		cs = "DeviceGray"
	}
	d := pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("XObject")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Image")},
		pdf.DictEntry{Key: "Width", Value: pdf.Integer(img.Width)},
		pdf.DictEntry{Key: "Height", Value: pdf.Integer(img.Height)},
		pdf.DictEntry{Key: "ColorSpace", Value: cs},
		pdf.DictEntry{Key: "BitsPerComponent", Value: pdf.Integer(8)},
		pdf.DictEntry{Key: "Filter", Value: pdf.Name("FlateDecode")},
	)
	if img.Alpha != nil {
		mask := pdf.NewDict(
			pdf.DictEntry{Key: "Type", Value: pdf.Name("XObject")},
			pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Image")},
			pdf.DictEntry{Key: "Width", Value: pdf.Integer(img.Width)},
			pdf.DictEntry{Key: "Height", Value: pdf.Integer(img.Height)},
			pdf.DictEntry{Key: "ColorSpace", Value: pdf.Name("DeviceGray")},
			pdf.DictEntry{Key: "BitsPerComponent", Value: pdf.Integer(8)},
			pdf.DictEntry{Key: "Filter", Value: pdf.Name("FlateDecode")},
		)
		d.Set("SMask", u.add(pdf.NewStream(mask, img.Alpha)))
	}
	return u.add(pdf.NewStream(d, img.Data))
}

// formXObject returns an appearance stream of the given size drawing content
// with the given resources.
func formXObject(w, h float64, resources *pdf.Dict, content []byte) *pdf.Stream {
	d := pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("XObject")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Form")},
		pdf.DictEntry{Key: "BBox", Value: pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Real(w), pdf.Real(h)}},
	)
	if resources != nil {
		d.Set("Resources", resources)
	}
	return pdf.NewFlateStream(d, content)
}

// rectArray converts a Rect to a PDF array.
func rectArray(r Rect) pdf.Array {
	return pdf.Array{pdf.Real(r.LLX), pdf.Real(r.LLY), pdf.Real(r.URX), pdf.Real(r.URY)}
}
