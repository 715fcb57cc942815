package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"vanban/signing/cms"
	"vanban/signing/internal/pipe"
	"vanban/signing/pdf"
	"vanban/signing/revocation"
	"vanban/signing/tsa"
)

// ErrUnreadable is returned when the input is not a PDF this package can
// read. It wraps the signing/pdf error (ErrUserPasswordRequired, ...).
var ErrUnreadable = errors.New("verify: unreadable PDF")

// Options configure a validation.
type Options struct {
	// Roots are the trust anchors; nil trusts nothing (every signature is
	// then INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND).
	Roots *x509.CertPool
	// Intermediates are extra CA certificates for path building.
	Intermediates []*x509.Certificate
	// Online allows fetching revocation status that the document lacks.
	Online bool
	// HTTPClient for online fetches; nil means a client with a 15-second
	// timeout, so that a dead responder cannot stall a validation.
	HTTPClient *http.Client
	// Now is the validation time; zero means time.Now().
	Now time.Time
	// ReadOptions bound the PDF reader (nil: its defaults).
	ReadOptions *pdf.ReadOptions
	// Visual, when set, renders the pages that permitted changes touch
	// before and after them and reports what changed outside the fields
	// filled and the signature widgets signed (Modifications.Visual).
	Visual VisualChecker
}

// maxContents bounds a signature's /Contents (hex digits in the file).
const maxContents = 16 << 20

// sigField is a signed signature field found in the document.
type sigField struct {
	name  string
	sig   *pdf.Dict
	vRef  pdf.Ref
	field *pdf.Dict
}

// parsed is what the first pass learns about each signature.
type parsed struct {
	field    sigField
	rep      *SignatureReport
	revEnd   int64 // end of the covered revision
	revIndex int   // 0-based
	sd       *cms.SignedData
	token    *tsa.Token          // document time-stamps
	tsTime   time.Time           // valid time-stamp time (POE), zero if none
	tsaPath  []*x509.Certificate // chain of the signature time-stamp's TSA
	failed   bool                // format/integrity failure already decided
}

// Verify validates every signature of the PDF in ra. The error is only for
// input that cannot be read as a PDF (ErrUnreadable) or a cancelled
// context; problems with signatures are in the report.
func Verify(ctx context.Context, ra io.ReaderAt, size int64, opts Options) (*Report, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if opts.Online && opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	r, err := pdf.Open(ra, size, opts.ReadOptions)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	revs, err := r.Revisions()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	rep := &Report{FileSize: size, Revisions: len(revs), ValidationTime: now, Signatures: []SignatureReport{}}
	fields, err := signatureFields(r, &rep.UnsignedFields)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	v := &validator{ctx: ctx, ra: ra, size: size, r: r, revs: revs, opts: opts, now: now, revReaders: map[int]*pdf.Reader{}, increments: map[int]*increment{}, graphs: map[int]*refGraph{}}
	v.readDSS()
	certRef, p := v.docMDP()
	rep.DocMDP = p

	var all []*parsed
	for _, f := range fields {
		ps := v.first(f)
		if f.vRef == certRef && certRef != (pdf.Ref{}) {
			ps.rep.Certification, ps.rep.DocMDP = true, p
		}
		all = append(all, ps)
	}
	v.all = all
	for _, ps := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v.second(ps, p)
		rep.Signatures = append(rep.Signatures, *ps.rep)
	}
	return rep, nil
}

type validator struct {
	ctx  context.Context
	ra   io.ReaderAt
	size int64
	r    *pdf.Reader
	revs []int64
	opts Options
	now  time.Time

	dss      revocation.Evidence
	dssCerts []*x509.Certificate
	hasDSS   bool

	revReaders map[int]*pdf.Reader
	all        []*parsed
	increments map[int]*increment // by the 0-based revision each creates
	graphs     map[int]*refGraph
}

// signatureFields walks the AcroForm field tree for signed signature fields.
func signatureFields(r *pdf.Reader, unsigned *[]string) ([]sigField, error) {
	af, err := r.AcroForm()
	if err != nil {
		if errors.Is(err, pdf.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	var out []sigField
	type node struct {
		obj    pdf.Object
		prefix string
		ft     pdf.Name
		depth  int
	}
	stack := []node{}
	for i := len(af.Fields) - 1; i >= 0; i-- {
		stack = append(stack, node{obj: af.Fields[i]})
	}
	seen := map[pdf.Ref]bool{}
	for steps := 0; len(stack) > 0 && steps < maxWalk; steps++ {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if ref, ok := n.obj.(pdf.Ref); ok {
			if seen[ref] {
				continue
			}
			seen[ref] = true
		}
		d, err := r.ResolveDict(n.obj)
		if err != nil || d == nil || n.depth > 32 {
			continue
		}
		name := n.prefix
		if t, ok := d.Get("T").(pdf.String); ok {
			if name != "" {
				name += "."
			}
			name += t.Text()
		}
		ft := n.ft
		if f, ok := d.Name("FT"); ok {
			ft = f
		}
		if kids, err := r.ResolveArray(d.Get("Kids")); err == nil && len(kids) > 0 {
			for i := len(kids) - 1; i >= 0; i-- {
				stack = append(stack, node{obj: kids[i], prefix: name, ft: ft, depth: n.depth + 1})
			}
		}
		if ft != "Sig" {
			continue
		}
		sig, err := r.ResolveDict(d.Get("V"))
		if err != nil || sig == nil {
			if n.obj != nil && !d.Has("Kids") && !slices.Contains(*unsigned, name) {
				*unsigned = append(*unsigned, name)
			}
			continue
		}
		vRef, _ := d.Get("V").(pdf.Ref)
		out = append(out, sigField{name: name, sig: sig, vRef: vRef, field: d})
	}
	return out, nil
}

// docMDP finds the certification signature and its permission level.
func (v *validator) docMDP() (pdf.Ref, int) {
	cat, err := v.r.Catalog()
	if err != nil {
		return pdf.Ref{}, 0
	}
	perms, err := v.r.ResolveDict(cat.Get("Perms"))
	if err != nil || perms == nil {
		return pdf.Ref{}, 0
	}
	ref, ok := perms.Get("DocMDP").(pdf.Ref)
	if !ok {
		return pdf.Ref{}, 0
	}
	sig, err := v.r.ResolveDict(ref)
	if err != nil || sig == nil {
		return pdf.Ref{}, 0
	}
	p := 2 // ISO 32000-1 12.8.2.2: default P
	refs, _ := v.r.ResolveArray(sig.Get("Reference"))
	for _, o := range refs {
		sr, err := v.r.ResolveDict(o)
		if err != nil || sr == nil {
			continue
		}
		if m, _ := sr.Name("TransformMethod"); m != "DocMDP" {
			continue
		}
		if tp, err := v.r.ResolveDict(sr.Get("TransformParams")); err == nil && tp != nil {
			if n, ok := tp.Int("P"); ok && n >= 1 && n <= 3 {
				p = int(n)
			}
		}
	}
	return ref, p
}

// readDSS loads the document security store of the final revision.
func (v *validator) readDSS() {
	cat, err := v.r.Catalog()
	if err != nil {
		return
	}
	dss, err := v.r.ResolveDict(cat.Get("DSS"))
	if err != nil || dss == nil {
		return
	}
	v.hasDSS = true
	read := func(key pdf.Name) [][]byte {
		arr, err := v.r.ResolveArray(dss.Get(key))
		if err != nil {
			return nil
		}
		var out [][]byte
		for _, o := range arr {
			s, err := v.r.ResolveStream(o)
			if err != nil || s == nil {
				continue
			}
			b, err := s.Decoded(maxContents)
			if err == nil {
				out = append(out, b)
			}
		}
		return out
	}
	v.dss = revocation.Evidence{Certs: read("Certs"), OCSPs: read("OCSPs"), CRLs: read("CRLs")}
	for _, der := range v.dss.Certs {
		if c, err := x509.ParseCertificate(der); err == nil {
			v.dssCerts = append(v.dssCerts, c)
		}
	}
}

// revisionReader opens the document as it was at the end of revision i.
func (v *validator) revisionReader(i int) (*pdf.Reader, error) {
	if r, ok := v.revReaders[i]; ok {
		return r, nil
	}
	end := v.revs[i]
	r, err := pdf.Open(io.NewSectionReader(v.ra, 0, end), end, v.opts.ReadOptions)
	if err != nil {
		return nil, err
	}
	v.revReaders[i] = r
	return r, nil
}

func (ps *parsed) fail(ind Indication, sub SubIndication, format string, args ...any) {
	ps.failed = true
	ps.rep.Indication, ps.rep.SubIndication = ind, sub
	ps.rep.Errors = append(ps.rep.Errors, fmt.Sprintf(format, args...))
}

// first checks format and integrity of one signature.
func (v *validator) first(f sigField) *parsed {
	sig := f.sig
	rep := &SignatureReport{Field: f.name, Type: "signature"}
	ps := &parsed{field: f, rep: rep, revIndex: -1}
	if t, _ := sig.Name("Type"); t == "DocTimeStamp" {
		rep.Type = "document-timestamp"
	}
	sf, _ := sig.Name("SubFilter")
	rep.SubFilter = string(sf)
	if sf == "ETSI.RFC3161" {
		rep.Type = "document-timestamp"
	}
	text := func(k pdf.Name) string {
		if s, ok := sig.Get(k).(pdf.String); ok {
			return s.Text()
		}
		return ""
	}
	rep.Name, rep.Reason, rep.Location = text("Name"), text("Reason"), text("Location")
	if m := text("M"); m != "" {
		if t, err := parsePDFDate(m); err == nil {
			rep.ClaimedSigningTime = t
		} else {
			rep.Warnings = append(rep.Warnings, "unreadable /M: "+err.Error())
		}
	}
	br, err := v.byteRange(sig)
	if err != nil {
		ps.fail(TotalFailed, FormatFailure, "%v", err)
		return ps
	}
	rep.Coverage.ByteRange = br
	end := br[2] + br[3]
	rep.Coverage.WholeFile = end == v.size
	for i, e := range v.revs {
		if end <= e && end > e-3 && onlyEOL(v.ra, end, e) {
			ps.revIndex, ps.revEnd = i, e
			break
		}
	}
	if ps.revIndex < 0 {
		ps.fail(TotalFailed, FormatFailure, "the byte range does not end at the end of a revision")
		return ps
	}
	rep.Coverage.Revision = ps.revIndex + 1
	contents, err := v.contents(br)
	if err != nil {
		ps.fail(TotalFailed, FormatFailure, "%v", err)
		return ps
	}
	// The gap must be this signature's own /Contents; otherwise the
	// ByteRange could leave out some other part of the file unsigned.
	if c, ok := sig.Get("Contents").(pdf.String); !ok || !bytes.Equal(bytes.TrimRight(c.Value, "\x00"), bytes.TrimRight(contents, "\x00")) {
		ps.fail(TotalFailed, FormatFailure, "the bytes left out by /ByteRange are not this signature's /Contents")
		return ps
	}

	switch sf {
	case "ETSI.CAdES.detached", "adbe.pkcs7.detached":
		v.firstCMS(ps, br, contents)
	case "ETSI.RFC3161":
		v.firstDocTimestamp(ps, br, contents)
	default:
		ps.fail(TotalFailed, FormatFailure, "unsupported SubFilter %q", sf)
	}
	return ps
}

func (v *validator) firstCMS(ps *parsed, br [4]int64, contents []byte) {
	rep := ps.rep
	sd, trailing, err := cms.ParseLenient(contents)
	if err != nil {
		ps.fail(TotalFailed, FormatFailure, "signature is not a valid CMS SignedData: %v", err)
		return
	}
	if trailing > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("/Contents holds %d non-zero bytes after the CMS structure", trailing))
	}
	ps.sd = sd
	rep.Signer = certInfo(sd.Signer)
	rep.Integrity.DigestAlgorithm = sd.DigestAlgorithm.String()
	rep.Integrity.SignatureAlgorithm = sd.SignatureAlgorithm.String()
	if rep.ClaimedSigningTime.IsZero() && !sd.SigningTime.IsZero() {
		rep.ClaimedSigningTime = sd.SigningTime
	}
	if sd.EncapsulatedContent != nil {
		ps.fail(TotalFailed, FormatFailure, "a detached signature must not encapsulate content")
		return
	}
	digest, err := v.rangeDigest(br, sd.DigestAlgorithm)
	if err != nil {
		ps.fail(TotalFailed, FormatFailure, "reading the signed bytes: %v", err)
		return
	}
	err = sd.Verify(digest)
	rep.Integrity.MessageDigestOK = err == nil || cms.KindOf(err) != cms.KindDigestMismatch && cms.KindOf(err) != cms.KindSignerNotFound
	switch cms.KindOf(err) {
	case 0:
		rep.Integrity.SignatureOK = true
		rep.Integrity.SigningCertificateOK = len(sd.SigningCertificates) > 0
	case cms.KindDigestMismatch:
		ps.fail(TotalFailed, HashFailure, "the signed bytes were changed: %v", err)
		return
	case cms.KindBadSignature:
		ps.fail(TotalFailed, SigCryptoFailure, "%v", err)
		return
	case cms.KindSignerNotFound, cms.KindCertificateMismatch:
		rep.Integrity.SignatureOK = cms.KindOf(err) == cms.KindCertificateMismatch
		ps.fail(Indeterminate, NoSigningCertificateFound, "%v", err)
		return
	default:
		ps.fail(TotalFailed, FormatFailure, "%v", err)
		return
	}
	if rep.SubFilter == "ETSI.CAdES.detached" {
		if !sd.SigningCertificateV2 {
			rep.Warnings = append(rep.Warnings, "no signing-certificate-v2 attribute (required by PAdES baseline)")
		}
		if !sd.SigningTime.IsZero() {
			rep.Warnings = append(rep.Warnings, "signing-time attribute present (PAdES baseline puts the time in /M)")
		}
	}
	if sd.SignatureTimestamp != nil {
		tr := &TimestampReport{}
		rep.Timestamp = tr
		tok, err := tsa.Parse(sd.SignatureTimestamp)
		if err != nil {
			tr.Detail = err.Error()
			rep.Warnings = append(rep.Warnings, "signature time-stamp unreadable: "+err.Error())
			return
		}
		tr.Time, tr.TSA = tok.Time, certInfo(tok.Signer)
		if err := tok.CoversData(sd.Signature); err != nil {
			tr.Detail = "the time-stamp does not cover this signature value"
			rep.Warnings = append(rep.Warnings, tr.Detail)
			return
		}
		chains, err := tok.VerifyChain(v.roots(), v.extraCerts(sd)...)
		if err != nil {
			tr.Detail = err.Error()
			rep.Warnings = append(rep.Warnings, "signature time-stamp not valid: "+err.Error())
			return
		}
		tr.Valid = true
		ps.tsTime, ps.tsaPath = tok.Time, chains[0]
	}
}

func (v *validator) firstDocTimestamp(ps *parsed, br [4]int64, contents []byte) {
	rep := ps.rep
	tok, err := tsa.Parse(contents)
	if err != nil {
		ps.fail(TotalFailed, FormatFailure, "document time-stamp is not a valid token: %v", err)
		return
	}
	ps.token, ps.sd = tok, tok.SignedData
	rep.Signer = certInfo(tok.Signer)
	tr := &TimestampReport{Time: tok.Time, TSA: certInfo(tok.Signer)}
	rep.Timestamp = tr
	rep.Integrity.DigestAlgorithm = tok.Hash.String()
	rep.Integrity.SignatureAlgorithm = tok.SignedData.SignatureAlgorithm.String()
	if !tok.Hash.Available() {
		ps.fail(TotalFailed, FormatFailure, "unsupported imprint hash")
		return
	}
	digest, err := v.rangeDigest(br, tok.Hash)
	if err != nil {
		ps.fail(TotalFailed, FormatFailure, "reading the time-stamped bytes: %v", err)
		return
	}
	if err := tok.Covers(digest, tok.Hash); err != nil {
		ps.fail(TotalFailed, HashFailure, "the time-stamped bytes were changed")
		return
	}
	rep.Integrity.MessageDigestOK = true
	if err := tok.Verify(); err != nil {
		if tok.Signer == nil {
			ps.fail(Indeterminate, NoSigningCertificateFound, "%v", err)
		} else {
			ps.fail(TotalFailed, SigCryptoFailure, "%v", err)
		}
		return
	}
	rep.Integrity.SignatureOK, rep.Integrity.SigningCertificateOK = true, true
	if _, err := tok.VerifyChain(v.roots(), v.extraCerts(tok.SignedData)...); err == nil {
		tr.Valid = true
		ps.tsTime = tok.Time
	} else {
		tr.Detail = err.Error()
	}
}

func (v *validator) roots() *x509.CertPool {
	if v.opts.Roots == nil {
		return x509.NewCertPool()
	}
	return v.opts.Roots
}

func (v *validator) extraCerts(sd *cms.SignedData) []*x509.Certificate {
	out := append([]*x509.Certificate(nil), v.opts.Intermediates...)
	out = append(out, v.dssCerts...)
	if sd != nil {
		out = append(out, sd.Certificates...)
	}
	return out
}

// byteRange reads and checks /ByteRange: four non-negative integers, the
// first range starting at 0, a gap that is exactly the /Contents string,
// the second range inside the file.
func (v *validator) byteRange(sig *pdf.Dict) ([4]int64, error) {
	var br [4]int64
	arr, err := v.r.ResolveArray(sig.Get("ByteRange"))
	if err != nil || len(arr) != 4 {
		return br, errors.New("/ByteRange is not an array of four integers")
	}
	for i, o := range arr {
		n, ok := o.(pdf.Integer)
		if !ok || n < 0 {
			return br, errors.New("/ByteRange is not an array of four non-negative integers")
		}
		br[i] = int64(n)
	}
	if br[0] != 0 {
		return br, errors.New("/ByteRange does not start at the beginning of the file")
	}
	if br[1] >= br[2] || br[2]+br[3] > v.size || br[2]+br[3] < br[2] {
		return br, errors.New("/ByteRange ranges overlap or exceed the file")
	}
	gap := br[2] - br[1]
	if gap < 2 || gap > maxContents {
		return br, errors.New("/ByteRange gap is not a plausible /Contents string")
	}
	var first, last [1]byte
	if _, err := v.ra.ReadAt(first[:], br[1]); err != nil {
		return br, err
	}
	if _, err := v.ra.ReadAt(last[:], br[2]-1); err != nil {
		return br, err
	}
	if first[0] != '<' || last[0] != '>' {
		return br, errors.New("the bytes left out by /ByteRange are not exactly the /Contents hex string")
	}
	return br, nil
}

// contents decodes the hex string in the ByteRange gap: the bytes that were
// actually excluded from the digest, whatever the parsed /Contents says.
func (v *validator) contents(br [4]int64) ([]byte, error) {
	raw := make([]byte, br[2]-br[1]-2)
	if _, err := v.ra.ReadAt(raw, br[1]+1); err != nil {
		return nil, err
	}
	hexDigits := bytes.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\f', 0:
			return -1
		}
		return r
	}, raw)
	if len(hexDigits)%2 == 1 {
		hexDigits = append(hexDigits, '0')
	}
	out := make([]byte, len(hexDigits)/2)
	if _, err := hex.Decode(out, hexDigits); err != nil {
		return nil, fmt.Errorf("/Contents is not a hex string: %w", err)
	}
	return out, nil
}

// rangeDigest hashes the two byte ranges.
func (v *validator) rangeDigest(br [4]int64, h crypto.Hash) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("hash %v not available", h)
	}
	// The file is read on this goroutine and hashed on another, so on a
	// large file the hashing overlaps the reading.
	d := h.New()
	if err := pipe.Copy([]pipe.Range{{RA: v.ra, Off: br[0], N: br[1]}, {RA: v.ra, Off: br[2], N: br[3]}}, d); err != nil {
		return nil, err
	}
	return d.Sum(nil), nil
}

// onlyEOL reports whether the bytes in [from, to) are end-of-line characters.
func onlyEOL(ra io.ReaderAt, from, to int64) bool {
	if from == to {
		return true
	}
	b := make([]byte, to-from)
	if _, err := ra.ReadAt(b, from); err != nil && err != io.EOF {
		return false
	}
	return len(bytes.Trim(b, "\r\n")) == 0
}

// parsePDFDate reads a PDF date string: D:YYYYMMDDHHmmSSOHH'mm' with
// everything after the year optional.
func parsePDFDate(s string) (time.Time, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "D:")
	if len(s) < 4 {
		return time.Time{}, fmt.Errorf("date %q too short", s)
	}
	field := func(i, n, def int) (int, error) {
		if len(s) < i+n {
			return def, nil
		}
		v, err := strconv.Atoi(s[i : i+n])
		if err != nil {
			return 0, fmt.Errorf("date %q: bad digits", s)
		}
		return v, nil
	}
	var vals [6]int
	for i, spec := range [][3]int{{0, 4, 0}, {4, 2, 1}, {6, 2, 1}, {8, 2, 0}, {10, 2, 0}, {12, 2, 0}} {
		n, err := field(spec[0], spec[1], spec[2])
		if err != nil {
			return time.Time{}, err
		}
		vals[i] = n
	}
	loc := time.UTC
	if len(s) > 14 {
		switch tz := s[14:]; tz[0] {
		case 'Z':
		case '+', '-':
			digits := strings.NewReplacer("'", "", ":", "").Replace(tz[1:])
			if len(digits) < 2 {
				return time.Time{}, fmt.Errorf("date %q: bad time zone", s)
			}
			hh, err := strconv.Atoi(digits[:2])
			if err != nil {
				return time.Time{}, fmt.Errorf("date %q: bad time zone", s)
			}
			mm := 0
			if len(digits) >= 4 {
				if mm, err = strconv.Atoi(digits[2:4]); err != nil {
					return time.Time{}, fmt.Errorf("date %q: bad time zone", s)
				}
			}
			off := hh*3600 + mm*60
			if tz[0] == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		default:
			return time.Time{}, fmt.Errorf("date %q: bad time zone", s)
		}
	}
	if vals[1] < 1 || vals[1] > 12 || vals[2] < 1 || vals[2] > 31 || vals[3] > 23 || vals[4] > 59 || vals[5] > 59 {
		return time.Time{}, fmt.Errorf("date %q out of range", s)
	}
	return time.Date(vals[0], time.Month(vals[1]), vals[2], vals[3], vals[4], vals[5], 0, loc), nil
}
