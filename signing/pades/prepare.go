package pades

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"hash"
	"io"
	"time"

	"vanban/signing/cms"
	"vanban/signing/internal/pipe"
	"vanban/signing/pades/appearance"
	"vanban/signing/pdf"
)

// Prepare writes to prepared the original PDF followed by an incremental
// update that adds the signature field (or fills the named empty one), the
// signature dictionary with a zeroed /Contents placeholder and the final
// /ByteRange, and any extra fields; it returns the State holding the digest
// the signer must sign.
//
// The original bytes are copied once, hashed on the way; the update is laid
// out in memory first (it is small) so that the byte range is known before
// anything is written.
//
// Errors: ErrNotPDF, ErrUserPassword, ErrUnsupported, ErrOptions, ErrField,
// ErrNotPermitted, and write errors of prepared.
func Prepare(ctx context.Context, src io.ReaderAt, size int64, prepared io.Writer, opts Options) (*State, error) {
	st, inc, err := prepareIncrement(ctx, src, size, opts.Chain, opts)
	if err != nil {
		return nil, err
	}
	if err := st.stream(src, size, inc, prepared); err != nil {
		return nil, err
	}
	return st, nil
}

// prepareIncrement builds the increment in memory and a State lacking the
// digests (filled by stream).
func prepareIncrement(ctx context.Context, src io.ReaderAt, size int64, chain []*x509.Certificate, opts Options) (*State, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, nil, errorf(ErrOptions, "no signer certificate")
	}
	leaf := chain[0]
	h, err := opts.hash()
	if err != nil {
		return nil, nil, err
	}
	alg, err := opts.algorithm(leaf)
	if err != nil {
		return nil, nil, err
	}
	level := opts.level()
	if !level.valid() {
		return nil, nil, errorf(ErrOptions, "unknown level %d", int(level))
	}
	if opts.Certify < 0 || opts.Certify > 3 {
		return nil, nil, errorf(ErrOptions, "DocMDP permission %d is not 1, 2 or 3", opts.Certify)
	}
	if err := opts.Lock.valid(); err != nil {
		return nil, nil, err
	}
	for _, f := range opts.Fields {
		if err := f.Lock.valid(); err != nil {
			return nil, nil, err
		}
	}
	if opts.ContentsSize < 0 || opts.ContentsSize > 1<<20 {
		return nil, nil, errorf(ErrOptions, "contents size %d out of range", opts.ContentsSize)
	}
	d, err := openDocument(src, size)
	if err != nil {
		return nil, nil, err
	}
	mdp, err := d.docMDP()
	if err != nil {
		return nil, nil, err
	}
	if mdp == 1 {
		return nil, nil, errorf(ErrNotPermitted, "the document is certified with no changes allowed (DocMDP P=1)")
	}
	signed, err := d.signatureFields()
	if err != nil {
		return nil, nil, err
	}
	if opts.Certify > 0 && (len(signed) > 0 || mdp > 0) {
		return nil, nil, errorf(ErrNotPermitted, "a certification signature must be the first signature of the document")
	}
	fields, err := d.fields()
	if err != nil {
		return nil, nil, err
	}

	u := newUpdate(d)
	fc := &formChanges{u: u, needsForm: true}
	var fu fontUse

	signingTime := opts.SigningTime
	if signingTime.IsZero() {
		signingTime = time.Now()
	}
	name := opts.Name
	if name == "" {
		name = leaf.Subject.CommonName
	}
	contentsSize := opts.ContentsSize
	if contentsSize == 0 {
		contentsSize = estimateContentsSize(chain, level)
	}
	lock := opts.Lock
	if lock == nil && opts.FieldName != "" {
		for i := range fields {
			if fields[i].fullName == opts.FieldName {
				lock = existingLock(d, fields[i].dict)
			}
		}
	}
	sigRef := u.add(sigDict(sigDictSpec{
		lock:         lock,
		contentsSize: contentsSize,
		signingTime:  signingTime,
		name:         name,
		reason:       opts.Reason,
		location:     opts.Location,
		contact:      opts.Contact,
		certify:      opts.Certify,
	}))
	if opts.Certify > 0 {
		fc.perms = sigRef
	}

	// The signature field: an existing empty one (the seal field the
	// leader's certification created), or a new one.
	fieldName := opts.FieldName
	var existing *field
	if fieldName != "" {
		for i := range fields {
			if fields[i].fullName == fieldName {
				existing = &fields[i]
			}
		}
	} else {
		fieldName = uniqueFieldName(fields, "Signature")
	}
	if existing == nil && !validFieldName(fieldName) {
		return nil, nil, errorf(ErrOptions, "field name %q must be non-empty, without '.', at most 128 bytes", fieldName)
	}
	if existing == nil && mdp == 2 {
		return nil, nil, errorf(ErrNotPermitted, "the certification (DocMDP P=2) permits signing existing empty signature fields only; %q does not exist", fieldName)
	}
	if existing != nil {
		if existing.ft != "Sig" {
			return nil, nil, errorf(ErrField, "field %q is a %s field, not a signature field", fieldName, existing.ft)
		}
		if existing.dict.Get("V") != nil {
			if v, _ := d.dict(existing.dict.Get("V")); v != nil {
				return nil, nil, errorf(ErrField, "field %q is already signed", fieldName)
			}
		}
		if err := signExistingField(u, d, existing, sigRef, &fu, opts, leaf, signingTime, name); err != nil {
			return nil, nil, err
		}
	} else {
		if err := addSignatureField(u, d, fc, fieldName, sigRef, &fu, opts, leaf, signingTime, name); err != nil {
			return nil, nil, err
		}
	}

	if len(opts.Fields) > 0 {
		if mdp == 2 {
			return nil, nil, errorf(ErrNotPermitted, "the certification (DocMDP P=2) does not permit new form fields")
		}
		if err := addExtraFields(u, d, fc, fields, fieldName, &fu, opts.Fields); err != nil {
			return nil, nil, err
		}
	}
	if existing != nil && len(opts.Fields) == 0 && opts.Certify == 0 {
		// Signing an existing field changes neither the form nor the
		// catalog: keep the update minimal, as DocMDP P=2 expects.
		fc.needsForm = false
	}
	if fu.enc != nil {
		if fc.drFont == (pdf.Ref{}) && hasTextField(opts.Fields) {
			fc.drFont = fu.ref
		}
		if err := addFont(u, fu.enc, fu.ref); err != nil {
			return nil, nil, err
		}
	}
	if err := fc.apply(); err != nil {
		return nil, nil, err
	}
	inc, res, err := u.layout()
	if err != nil {
		return nil, nil, err
	}
	br, err := res.ByteRange(contentsPlaceholder)
	if err != nil {
		return nil, nil, mapPDFError(err, "locating /Contents")
	}
	span := res.Placeholders[byteRangePlaceholder]
	text, err := pdf.FormatByteRange(br, int(span.Length))
	if err != nil {
		return nil, nil, mapPDFError(err, "byte range")
	}
	copy(inc[span.Offset-size:], text)

	der := make([][]byte, len(chain))
	for i, c := range chain {
		der[i] = c.Raw
	}
	st := &State{
		Version:        stateVersion,
		Hash:           h.String(),
		Algorithm:      alg.String(),
		Chain:          der,
		ByteRange:      br,
		ContentsOffset: br[1],
		ContentsSize:   contentsSize,
		PreparedSize:   res.Size,
		Level:          level,
		FieldName:      fieldName,
		TSA:            opts.TSA,
		Revocation:     opts.Revocation,
	}
	return st, inc, nil
}

func hasTextField(fs []ExtraField) bool {
	for _, f := range fs {
		if f.Kind == TextField {
			return true
		}
	}
	return false
}

// stream writes original+increment to w while hashing the byte ranges and
// the whole file, and completes st with the digests and signed attributes.
// With w nil (Sign, which never materializes the prepared file) only the
// byte ranges are hashed: the whole-file hash pins a prepared file handed
// to a later Finish, and there is none. Reading, writing and each hash run
// on their own goroutines (signing/internal/pipe), so on a large file the
// hashing overlaps the system calls.
func (st *State) stream(src io.ReaderAt, size int64, inc []byte, w io.Writer) error {
	h, err := st.HashFunc()
	if err != nil {
		return err
	}
	content := h.New()
	var file hash.Hash
	c0 := st.ByteRange[1] - size // placeholder start within inc
	c1 := st.ByteRange[2] - size
	if c0 < 0 || c1 > int64(len(inc)) || c0 > c1 {
		return errorf(ErrState, "placeholder outside the increment")
	}
	sinks := []io.Writer{content}
	if w != nil {
		file = sha256.New()
		sinks = []io.Writer{w, content, file}
	}
	if err := pipe.Copy([]pipe.Range{{RA: src, Off: 0, N: size}}, sinks...); err != nil {
		return wrapErr(ErrNotPDF, err, "copying the original")
	}
	for _, part := range []struct {
		b      []byte
		hashed bool
	}{{inc[:c0], true}, {inc[c0:c1], false}, {inc[c1:], true}} {
		if w != nil {
			if _, err := w.Write(part.b); err != nil {
				return err
			}
			file.Write(part.b)
		}
		if part.hashed {
			content.Write(part.b)
		}
	}
	st.ContentDigest = content.Sum(nil)
	if file != nil {
		st.PreparedSHA256 = file.Sum(nil)
	}
	certs, err := st.Certificates()
	if err != nil {
		return err
	}
	attrs, err := cms.SignedAttributes(st.ContentDigest, h, certs[0])
	if err != nil {
		return wrapErr(ErrOptions, err, "signed attributes")
	}
	st.SignedAttributes = attrs
	return nil
}

// estimateContentsSize returns the bytes to reserve for the CMS: the
// certificates, signature and attributes, plus room for a time-stamp token
// (which carries the TSA's own chain) at B-T and above, rounded up.
func estimateContentsSize(chain []*x509.Certificate, level Level) int {
	n := 1500 // SignedData framing, algorithm identifiers, signed attributes
	for _, c := range chain {
		n += len(c.Raw) + 16
	}
	switch pub := chain[0].PublicKey.(type) {
	case *rsa.PublicKey:
		n += pub.Size()
	case *ecdsa.PublicKey:
		n += 2*((pub.Curve.Params().BitSize+7)/8) + 16
	default:
		n += 1024
	}
	if level >= LevelBT {
		n += 12 << 10
	}
	n += n / 4
	return (n + 1023) / 1024 * 1024
}

// defaultLines is the text of a visible signature when the caller gives
// none: signer, organization, time.
func defaultLines(leaf *x509.Certificate, name string, t time.Time) []string {
	lines := []string{"Ký bởi: " + name}
	if len(leaf.Subject.Organization) > 0 && leaf.Subject.Organization[0] != "" {
		lines = append(lines, "Cơ quan: "+leaf.Subject.Organization[0])
	}
	return append(lines, "Thời gian: "+appearance.FormatTime(t))
}

// signatureAppearance builds the /AP /N stream of a visible signature.
func signatureAppearance(u *update, fu *fontUse, ap *Appearance, rect Rect, leaf *x509.Certificate, t time.Time, name string) (pdf.Ref, error) {
	spec := appearance.Signature{Width: rect.Width(), Height: rect.Height(), Placement: ap.Placement, Lines: ap.Lines, FontSize: ap.FontSize, TextRGB: ap.TextRGB}
	if len(spec.Lines) == 0 && len(ap.Image) == 0 {
		spec.Lines = defaultLines(leaf, name, t)
	}
	res := &pdf.Dict{}
	if len(ap.Image) > 0 {
		img, err := appearance.DecodePNG(bytes.NewReader(ap.Image))
		if err != nil {
			return pdf.Ref{}, wrapErr(ErrOptions, err, "signature image")
		}
		spec.Image = img
		res.Set("XObject", pdf.NewDict(pdf.DictEntry{Key: appearance.ImageName, Value: addImage(u, img)}))
	}
	var content []byte
	var err error
	if len(spec.Lines) > 0 {
		enc, fontRef := fu.get(u)
		content, err = spec.Content(enc)
		res.Set("Font", pdf.NewDict(pdf.DictEntry{Key: appearance.FontName, Value: fontRef}))
	} else {
		content, err = spec.Content(appearance.MustDefaultFont().NewEncoder())
	}
	if err != nil {
		return pdf.Ref{}, wrapErr(ErrOptions, err, "signature appearance")
	}
	return u.add(formXObject(rect.Width(), rect.Height(), res, content)), nil
}

// addSignatureField creates a merged signature field and widget.
func addSignatureField(u *update, d *document, fc *formChanges, name string, sigRef pdf.Ref, fu *fontUse, opts Options, leaf *x509.Certificate, t time.Time, signer string) error {
	ap := opts.Appearance
	if ap == nil {
		ap = &Appearance{}
	}
	if !ap.Rect.valid() {
		return errorf(ErrOptions, "signature rectangle %s is not valid", describe(ap.Rect))
	}
	pageRef, err := d.page(ap.Page)
	if err != nil {
		return err
	}
	widget := pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("Annot")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Widget")},
		pdf.DictEntry{Key: "FT", Value: pdf.Name("Sig")},
		pdf.DictEntry{Key: "T", Value: fieldTitle(name)},
		pdf.DictEntry{Key: "V", Value: sigRef},
		pdf.DictEntry{Key: "F", Value: pdf.Integer(annotPrint | annotLocked)},
		pdf.DictEntry{Key: "P", Value: pageRef},
	)
	if opts.Lock != nil {
		widget.Set("Lock", opts.Lock.lockDict("SigFieldLock"))
	}
	if ap.Rect.IsZero() {
		widget.Set("Rect", pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(0), pdf.Integer(0)})
		widget.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: emptyAppearance(u, Rect{})}))
	} else {
		apRef, err := signatureAppearance(u, fu, ap, ap.Rect, leaf, t, signer)
		if err != nil {
			return err
		}
		widget.Set("Rect", rectArray(ap.Rect))
		widget.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: apRef}))
	}
	ref := u.add(widget)
	fc.newFields = append(fc.newFields, ref)
	fc.addWidget(pageRef, ref)
	return nil
}

// signExistingField sets /V on an empty signature field and, for a visible
// signature, gives its widget the appearance drawn into the widget's own
// rectangle. Nothing else of the form changes.
func signExistingField(u *update, d *document, f *field, sigRef pdf.Ref, fu *fontUse, opts Options, leaf *x509.Certificate, t time.Time, signer string) error {
	fd := f.dict.Clone()
	fd.Set("V", sigRef)
	if opts.Lock != nil && !fd.Has("Lock") {
		fd.Set("Lock", opts.Lock.lockDict("SigFieldLock"))
	}
	widgetRef, widget := f.ref, fd
	if sub, _ := fd.Name("Subtype"); sub != "Widget" {
		kids, err := d.array(fd.Get("Kids"))
		if err != nil {
			return err
		}
		if len(kids) == 0 {
			return errorf(ErrField, "signature field %q has no widget", f.fullName)
		}
		kr, ok := kids[0].(pdf.Ref)
		kd, err := d.dict(kids[0])
		if err != nil || !ok || kd == nil {
			return errorf(ErrField, "signature field %q has a broken widget", f.fullName)
		}
		widgetRef, widget = kr, kd.Clone()
	}
	if opts.Appearance != nil && (len(opts.Appearance.Image) > 0 || len(opts.Appearance.Lines) > 0 || !opts.Appearance.Rect.IsZero()) {
		rect, err := widgetRect(d, widget)
		if err != nil {
			return err
		}
		if !rect.IsZero() {
			apRef, err := signatureAppearance(u, fu, opts.Appearance, Rect{0, 0, rect.Width(), rect.Height()}, leaf, t, signer)
			if err != nil {
				return err
			}
			widget.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: apRef}))
		}
	}
	u.replace(f.ref, fd)
	if widgetRef != f.ref {
		u.replace(widgetRef, widget)
	}
	return nil
}

// widgetRect reads a widget's /Rect, normalized.
func widgetRect(d *document, w *pdf.Dict) (Rect, error) {
	a, err := d.array(w.Get("Rect"))
	if err != nil {
		return Rect{}, err
	}
	if len(a) != 4 {
		return Rect{}, nil
	}
	var v [4]float64
	for i, o := range a {
		o, err := d.resolve(o)
		if err != nil {
			return Rect{}, err
		}
		switch n := o.(type) {
		case pdf.Integer:
			v[i] = float64(n)
		case pdf.Real:
			v[i] = float64(n)
		}
	}
	return Rect{min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])}, nil
}

// addExtraFields creates the text and signature fields a certification
// prepares for later steps (number, date, seal).
func addExtraFields(u *update, d *document, fc *formChanges, existing []field, sigName string, fu *fontUse, specs []ExtraField) error {
	names := map[string]bool{sigName: true}
	for _, f := range existing {
		names[f.fullName] = true
	}
	for _, spec := range specs {
		if !validFieldName(spec.Name) {
			return errorf(ErrOptions, "field name %q must be non-empty, without '.', at most 128 bytes", spec.Name)
		}
		if names[spec.Name] {
			return errorf(ErrOptions, "a field named %q already exists", spec.Name)
		}
		names[spec.Name] = true
		if !spec.Rect.valid() || (spec.Kind == TextField && spec.Rect.IsZero()) {
			return errorf(ErrOptions, "field %q: rectangle %s is not valid", spec.Name, describe(spec.Rect))
		}
		pageRef, err := d.page(spec.Page)
		if err != nil {
			return err
		}
		f := pdf.NewDict(
			pdf.DictEntry{Key: "Type", Value: pdf.Name("Annot")},
			pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Widget")},
			pdf.DictEntry{Key: "T", Value: fieldTitle(spec.Name)},
			pdf.DictEntry{Key: "F", Value: pdf.Integer(annotPrint)},
			pdf.DictEntry{Key: "P", Value: pageRef},
			pdf.DictEntry{Key: "Rect", Value: rectArray(spec.Rect)},
		)
		switch spec.Kind {
		case TextField:
			size := spec.FontSize
			f.Set("FT", pdf.Name("Tx"))
			f.Set("DA", pdf.String{Value: []byte(appearance.DA(size))})
			if spec.Align != appearance.AlignLeft {
				f.Set("Q", pdf.Integer(spec.Align))
			}
			f.Set("V", pdf.TextString(spec.Value))
			enc, _ := fu.get(u)
			// The /DR font must be able to show anything a person types.
			enc.Hex(vietnameseRepertoire)
			if n := len(spec.Background); n != 0 && n != 1 && n != 3 {
				return errorf(ErrOptions, "field %q: background needs 1 (gray) or 3 (RGB) components, not %d", spec.Name, n)
			}
			if len(spec.Background) > 0 {
				f.Set("MK", pdf.NewDict(pdf.DictEntry{Key: "BG", Value: colourArray(spec.Background)}))
			}
			if spec.Italic {
				f.Set(styleKey, pdf.Name("Italic"))
			}
			apRef, err := textFieldAppearance(u, fu, spec.Rect, spec.Value, size, spec.Align, spec.Background, spec.Italic)
			if err != nil {
				return err
			}
			f.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: apRef}))
		case SignatureField:
			f.Set("FT", pdf.Name("Sig"))
			if spec.Lock != nil {
				f.Set("Lock", spec.Lock.lockDict("SigFieldLock"))
			}
			f.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: emptyAppearance(u, Rect{0, 0, spec.Rect.Width(), spec.Rect.Height()})}))
		default:
			return errorf(ErrOptions, "field %q: unknown kind %d", spec.Name, spec.Kind)
		}
		ref := u.add(f)
		fc.newFields = append(fc.newFields, ref)
		fc.addWidget(pageRef, ref)
	}
	return nil
}

// existingLock reads the /Lock of a signature field about to be signed,
// so the signature carries the matching FieldMDP transform.
func existingLock(d *document, field *pdf.Dict) *FieldLock {
	ld, err := d.dict(field.Get("Lock"))
	if err != nil || ld == nil {
		return nil
	}
	a, ok := ld.Name("Action")
	if !ok || (a != "All" && a != "Include" && a != "Exclude") {
		return nil
	}
	l := &FieldLock{Action: string(a)}
	arr, _ := d.array(ld.Get("Fields"))
	for _, f := range arr {
		if s, ok := f.(pdf.String); ok {
			l.Fields = append(l.Fields, s.Text())
		}
	}
	return l
}
