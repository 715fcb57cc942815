package pades

import (
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"

	"vanban/signing/pdf"
)

// maxEvidenceStream bounds how much of an existing DSS stream we read to
// de-duplicate it.
const maxEvidenceStream = 16 << 20

// AddDSS appends an incremental update that adds ev to the document
// security store (/DSS in the catalog), merging with an existing one, and
// records a /VRI entry for every signature of the document (keyed by the
// uppercase hex SHA-1 of its /Contents) pointing at the evidence.
//
// Errors: ErrNotPDF, ErrUserPassword, ErrUnsupported, ErrNoSignature.
func AddDSS(ctx context.Context, src io.ReaderAt, size int64, out io.Writer, ev *Evidence) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var v vfile
	v.appendRange(src, 0, size)
	sigs, err := signatureContents(&v)
	if err != nil {
		return err
	}
	if len(sigs) == 0 {
		return errorf(ErrNoSignature, "nothing to add validation data for")
	}
	inc, err := dssIncrement(&v, ev, sigs)
	if err != nil {
		return err
	}
	v.appendBytes(inc)
	return v.writeRange(out, 0, v.Size())
}

// signatureContents returns the /Contents of every signature and document
// time-stamp of the document read from v, in field order.
func signatureContents(v *vfile) ([][]byte, error) {
	d, err := openDocument(v, v.Size())
	if err != nil {
		return nil, err
	}
	fs, err := d.signatureFields()
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, f := range fs {
		sd, err := d.dict(f.dict.Get("V"))
		if err != nil || sd == nil {
			continue
		}
		if c, ok := sd.Get("Contents").(pdf.String); ok {
			out = append(out, c.Value)
		}
	}
	return out, nil
}

// vriKey is the /VRI key of a signature: uppercase hex SHA-1 of the bytes
// of its /Contents string, as written (zero padding included), which is
// what other implementations compute from the parsed string.
func vriKey(contents []byte) pdf.Name {
	sum := sha1.Sum(contents)
	return pdf.Name(strings.ToUpper(hex.EncodeToString(sum[:])))
}

// dssIncrement builds the update that adds ev to the DSS of the document in
// v. sigContents are the signatures' /Contents: either the padded string
// bytes read from the file or, right after Finish, the DER, which we pad
// the same way the placeholder did when we know it (see padContents).
func dssIncrement(v *vfile, ev *Evidence, sigContents [][]byte) ([]byte, error) {
	d, err := openDocument(v, v.Size())
	if err != nil {
		return nil, err
	}
	// Re-read the signatures from the file so the VRI keys are computed on
	// exactly the /Contents bytes a validator sees.
	fileSigs, err := signatureContents(v)
	if err != nil {
		return nil, err
	}
	keys := map[pdf.Name]bool{}
	for _, c := range fileSigs {
		for _, want := range sigContents {
			if len(want) <= len(c) && string(c[:len(want)]) == string(want) {
				keys[vriKey(c)] = true
			}
		}
	}
	u := newUpdate(d)
	catalog := d.catalog.Clone()
	dssObj := catalog.Get("DSS")
	dss, err := d.dict(dssObj)
	if err != nil {
		return nil, err
	}
	dss = dss.Clone()
	if ev == nil {
		ev = &Evidence{}
	}
	var vriRefs [3]pdf.Array
	for i, kind := range []struct {
		key   pdf.Name
		items [][]byte
	}{{"Certs", ev.Certs}, {"OCSPs", ev.OCSPs}, {"CRLs", ev.CRLs}} {
		arrObj := dss.Get(kind.key)
		arr, err := d.array(arrObj)
		if err != nil {
			return nil, err
		}
		have := map[[32]byte]pdf.Ref{}
		for _, o := range arr {
			ref, ok := o.(pdf.Ref)
			if !ok {
				continue
			}
			s, err := d.resolve(ref)
			if err != nil {
				return nil, err
			}
			if st, ok := s.(*pdf.Stream); ok {
				if data, err := st.Decoded(maxEvidenceStream); err == nil {
					have[sha256.Sum256(data)] = ref
				}
			}
		}
		newArr := append(pdf.Array(nil), arr...)
		for _, item := range kind.items {
			sum := sha256.Sum256(item)
			ref, ok := have[sum]
			if !ok {
				ref = u.add(pdf.NewFlateStream(nil, item))
				have[sum] = ref
				newArr = append(newArr, ref)
			}
			if !containsRef(vriRefs[i], ref) {
				vriRefs[i] = append(vriRefs[i], ref)
			}
		}
		if len(newArr) == 0 {
			continue
		}
		if ref, ok := arrObj.(pdf.Ref); ok {
			u.replace(ref, newArr)
		} else {
			dss.Set(kind.key, newArr)
		}
	}
	if len(keys) > 0 {
		vriObj := dss.Get("VRI")
		vri, err := d.dict(vriObj)
		if err != nil {
			return nil, err
		}
		vri = vri.Clone()
		for key := range keys {
			entry := pdf.NewDict(pdf.DictEntry{Key: "Type", Value: pdf.Name("VRI")})
			for i, k := range []pdf.Name{"Cert", "OCSP", "CRL"} {
				if len(vriRefs[i]) > 0 {
					entry.Set(k, vriRefs[i])
				}
			}
			vri.Set(key, u.add(entry))
		}
		if ref, ok := vriObj.(pdf.Ref); ok {
			u.replace(ref, vri)
		} else {
			dss.Set("VRI", vri)
		}
	}
	dss.Set("Type", pdf.Name("DSS"))
	if ref, ok := dssObj.(pdf.Ref); ok {
		u.replace(ref, dss)
	} else {
		catalog.Set("DSS", u.add(dss))
		u.replace(d.rootRef, catalog)
	}
	inc, _, err := u.layout()
	return inc, err
}

func containsRef(a pdf.Array, r pdf.Ref) bool {
	for _, o := range a {
		if o == r {
			return true
		}
	}
	return false
}

// docTimestampSize is the room reserved for a document time-stamp token:
// tokens carry the TSA chain and are typically 3 to 8 KB.
const docTimestampSize = 20 << 10

// AddDocumentTimestamp appends a document time-stamp (PAdES B-LTA): an
// invisible signature field whose /V has /Type /DocTimeStamp and /SubFilter
// /ETSI.RFC3161, and whose /Contents is the RFC 3161 token over the byte
// range.
//
// Errors: ErrNotPDF, ErrUserPassword, ErrTimestamp, ErrContentsTooSmall.
func AddDocumentTimestamp(ctx context.Context, src io.ReaderAt, size int64, out io.Writer, tsa Timestamper) error {
	var v vfile
	v.appendRange(src, 0, size)
	inc, err := docTimestampIncrement(ctx, &v, tsa, crypto.SHA256)
	if err != nil {
		return err
	}
	v.appendBytes(inc)
	return v.writeRange(out, 0, v.Size())
}

func docTimestampIncrement(ctx context.Context, v *vfile, tsa Timestamper, h crypto.Hash) ([]byte, error) {
	if tsa == nil {
		return nil, wrapErr(ErrTimestamp, errNoTSA, "document time-stamp")
	}
	d, err := openDocument(v, v.Size())
	if err != nil {
		return nil, err
	}
	fields, err := d.fields()
	if err != nil {
		return nil, err
	}
	pageRef, err := d.page(1)
	if err != nil {
		return nil, err
	}
	u := newUpdate(d)
	fc := &formChanges{u: u, needsForm: true}
	sigRef := u.add(sigDict(sigDictSpec{docTimeStamp: true, contentsSize: docTimestampSize}))
	widget := pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("Annot")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Widget")},
		pdf.DictEntry{Key: "FT", Value: pdf.Name("Sig")},
		pdf.DictEntry{Key: "T", Value: fieldTitle(uniqueFieldName(fields, "DocTimeStamp"))},
		pdf.DictEntry{Key: "V", Value: sigRef},
		pdf.DictEntry{Key: "F", Value: pdf.Integer(annotPrint | annotLocked)},
		pdf.DictEntry{Key: "P", Value: pageRef},
		pdf.DictEntry{Key: "Rect", Value: pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(0), pdf.Integer(0)}},
		pdf.DictEntry{Key: "AP", Value: pdf.NewDict(pdf.DictEntry{Key: "N", Value: emptyAppearance(u, Rect{})})},
	)
	ref := u.add(widget)
	fc.newFields = append(fc.newFields, ref)
	fc.addWidget(pageRef, ref)
	if err := fc.apply(); err != nil {
		return nil, err
	}
	inc, res, err := u.layout()
	if err != nil {
		return nil, err
	}
	base := v.Size()
	br, err := res.ByteRange(contentsPlaceholder)
	if err != nil {
		return nil, mapPDFError(err, "locating /Contents")
	}
	span := res.Placeholders[byteRangePlaceholder]
	text, err := pdf.FormatByteRange(br, int(span.Length))
	if err != nil {
		return nil, mapPDFError(err, "byte range")
	}
	copy(inc[span.Offset-base:], text)
	digest := h.New()
	if err := v.writeRange(digest, 0, base); err != nil {
		return nil, wrapErr(ErrNotPDF, err, "hashing the document")
	}
	digest.Write(inc[:br[1]-base])
	digest.Write(inc[br[2]-base:])
	token, err := tsa.Timestamp(ctx, digest.Sum(nil), h)
	if err != nil {
		return nil, wrapErr(ErrTimestamp, err, "document time-stamp")
	}
	patch, err := pdf.FormatHexString(token, int(br[2]-br[1]))
	if err != nil {
		return nil, wrapErr(ErrContentsTooSmall, err, "document time-stamp token of %d bytes", len(token))
	}
	copy(inc[br[1]-base:], patch)
	return inc, nil
}

// Services are the network services that extension needs.
type Services struct {
	TSA        Timestamper
	Revocation RevocationCollector
}

// Extend raises an already signed document to level: B-LT adds a /DSS with
// evidence for every signature's chain (and the chains of their
// time-stamps); B-LTA then adds a document time-stamp. Calling it again on
// a B-LTA file renews the archive time-stamp (ETSI EN 319 142-1 LTA
// renewal: LT for the last time-stamp, then a new time-stamp).
//
// Errors: ErrNoSignature, ErrRevocation, ErrTimestamp, ErrOptions and the
// reading errors of Prepare.
func Extend(ctx context.Context, src io.ReaderAt, size int64, out io.Writer, level Level, svc Services) error {
	if level != LevelBLT && level != LevelBLTA {
		return errorf(ErrOptions, "extension targets B-LT or B-LTA, not %s", level)
	}
	if svc.Revocation == nil {
		return errorf(ErrRevocation, "no revocation collector")
	}
	var v vfile
	v.appendRange(src, 0, size)
	sigs, err := signatureContents(&v)
	if err != nil {
		return err
	}
	if len(sigs) == 0 {
		return errorf(ErrNoSignature, "nothing to extend")
	}
	all := &Evidence{}
	for _, c := range sigs {
		chains, err := chainsOf(c)
		if err != nil {
			return err
		}
		for _, chain := range chains {
			ev, err := svc.Revocation(ctx, chain)
			if err != nil {
				return wrapErr(ErrRevocation, err, "chain of %s", chain[0].Subject.CommonName)
			}
			all.merge(ev)
			for _, cert := range chain {
				all.Certs = append(all.Certs, cert.Raw)
			}
		}
	}
	inc, err := dssIncrement(&v, all, sigs)
	if err != nil {
		return err
	}
	v.appendBytes(inc)
	if level == LevelBLTA {
		inc, err := docTimestampIncrement(ctx, &v, svc.TSA, crypto.SHA256)
		if err != nil {
			return err
		}
		v.appendBytes(inc)
	}
	return v.writeRange(out, 0, v.Size())
}
