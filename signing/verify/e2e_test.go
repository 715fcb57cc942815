package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vanban/signing/devpki"
	"vanban/signing/pades"
	"vanban/signing/pdf"
	"vanban/signing/revocation"
	"vanban/signing/tsa"
)

// world is a development PKI served over HTTP, and signers from it.
type world struct {
	pki    *devpki.PKI
	srv    *httptest.Server
	key    crypto.Signer
	chain  []*x509.Certificate
	sealK  crypto.Signer
	sealCh []*x509.Certificate
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := devpki.New("http://"+ln.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: p.Handler()}}
	srv.Start()
	t.Cleanup(srv.Close)
	w := &world{pki: p, srv: srv}
	if w.key, w.chain, err = p.IssueSigner("Nguyễn Văn Quyết", "UBND tỉnh", devpki.KeyRSA2048, devpki.Person); err != nil {
		t.Fatal(err)
	}
	if w.sealK, w.sealCh, err = p.IssueSigner("Văn phòng UBND tỉnh", "UBND tỉnh", devpki.KeyP256, devpki.Organization); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) tsa() *tsa.Client { return &tsa.Client{URL: w.pki.TSAURL()} }

func (w *world) collector() pades.RevocationCollector {
	return func(ctx context.Context, chain []*x509.Certificate) (*pades.Evidence, error) {
		ev, err := revocation.Collect(ctx, chain, w.pki.Roots(), nil)
		if err != nil {
			return nil, err
		}
		return &pades.Evidence{Certs: ev.Certs, OCSPs: ev.OCSPs, CRLs: ev.CRLs}, nil
	}
}

func corpusPDF(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Skipf("corpus file %s not present: %v", name, err)
	}
	return b
}

func sign(t *testing.T, src []byte, key crypto.Signer, chain []*x509.Certificate, opts pades.Options) []byte {
	t.Helper()
	opts.Chain = chain
	var out bytes.Buffer
	if err := pades.Sign(context.Background(), bytes.NewReader(src), int64(len(src)), &out, key, chain, opts); err != nil {
		t.Fatalf("pades.Sign: %v", err)
	}
	return out.Bytes()
}

func check(t *testing.T, data []byte, opts Options) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func expect(t *testing.T, s SignatureReport, ind Indication, sub SubIndication, level string) {
	t.Helper()
	if s.Indication != ind || s.SubIndication != sub || s.Level != level {
		js, _ := json.MarshalIndent(s, "", "  ")
		t.Fatalf("got %s/%s level %q, want %s/%s level %q:\n%s", s.Indication, s.SubIndication, s.Level, ind, sub, level, js)
	}
}

func TestLevelsWithDevPKI(t *testing.T) {
	w := newWorld(t)
	src := corpusPDF(t, "libreoffice-writer.pdf")
	roots := w.pki.Roots()

	bb := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBB, Reason: "Phê duyệt"})
	// Offline, a B-B signature of a certificate with OCSP/CRL pointers has
	// unknown revocation status; online it passes.
	rep := check(t, bb, Options{Roots: roots})
	if len(rep.Signatures) != 1 {
		t.Fatalf("%d signatures", len(rep.Signatures))
	}
	expect(t, rep.Signatures[0], Indeterminate, TryLater, "B-B")
	rep = check(t, bb, Options{Roots: roots, Online: true})
	s := rep.Signatures[0]
	expect(t, s, TotalPassed, "", "B-B")
	if !s.Coverage.WholeFile || s.Coverage.Revision != 2 || s.Signer.CommonName != "Nguyễn Văn Quyết" || s.Reason != "Phê duyệt" || s.ClaimedSigningTime.IsZero() {
		t.Fatalf("report fields: %+v", s)
	}
	// The signer (from the delegated responder) and the issuing CA (from the root).
	if len(s.Revocation) != 2 {
		t.Fatalf("revocation: %+v", s.Revocation)
	}
	for _, rr := range s.Revocation {
		if !rr.Online || rr.Status.State != revocation.Good || rr.Status.Source != "ocsp" {
			t.Fatalf("revocation: %+v", s.Revocation)
		}
	}

	// Unknown trust anchor.
	other, err := devpki.New("http://127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, check(t, bb, Options{Roots: other.Roots(), Online: true}).Signatures[0], Indeterminate, NoCertificateChainFound, "B-B")
	expect(t, check(t, bb, Options{}).Signatures[0], Indeterminate, NoCertificateChainFound, "B-B")

	bt := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBT, TSA: w.tsa()})
	s = check(t, bt, Options{Roots: roots, Online: true}).Signatures[0]
	expect(t, s, TotalPassed, "", "B-T")
	if s.Timestamp == nil || !s.Timestamp.Valid || !s.BestSignatureTime.Equal(s.Timestamp.Time) {
		t.Fatalf("timestamp: %+v", s.Timestamp)
	}

	blt := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBLT, TSA: w.tsa(), Revocation: w.collector()})
	// B-LT validates offline from the DSS.
	s = check(t, blt, Options{Roots: roots}).Signatures[0]
	expect(t, s, TotalPassed, "", "B-LT")
	if !slices.Contains(s.Modifications.Categories, ModDSS) || !s.Modifications.Permitted {
		t.Fatalf("DSS update: %+v", s.Modifications)
	}
	for _, rr := range s.Revocation {
		if rr.Online || rr.Status.State != revocation.Good {
			t.Fatalf("revocation from DSS: %+v", s.Revocation)
		}
	}

	blta := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBLTA, TSA: w.tsa(), Revocation: w.collector()})
	rep = check(t, blta, Options{Roots: roots, Online: true})
	if len(rep.Signatures) != 2 || rep.Signatures[1].Type != "document-timestamp" {
		t.Fatalf("want signature and document time-stamp, got %d", len(rep.Signatures))
	}
	expect(t, rep.Signatures[0], TotalPassed, "", "B-LTA")
	expect(t, rep.Signatures[1], TotalPassed, "", "")
	if rep.Signatures[1].SubFilter != "ETSI.RFC3161" || !rep.Signatures[1].Timestamp.Valid {
		t.Fatalf("document time-stamp: %+v", rep.Signatures[1])
	}
}

// flipInSignedRange flips one byte of a content stream inside the first
// signed range, leaving the file parseable.
func flipInSignedRange(t *testing.T, data []byte, br [4]int64) []byte {
	t.Helper()
	i := bytes.Index(data[:br[1]], []byte("stream\n"))
	if i < 0 {
		i = bytes.Index(data[:br[1]], []byte("stream\r\n"))
	}
	if i < 0 {
		t.Fatal("no stream in the signed range")
	}
	out := bytes.Clone(data)
	out[i+10] ^= 0x01
	return out
}

func TestTamperingIsCaught(t *testing.T) {
	w := newWorld(t)
	src := corpusPDF(t, "libreoffice-writer.pdf")
	opts := Options{Roots: w.pki.Roots(), Online: true}
	signed := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBT, TSA: w.tsa()})
	s := check(t, signed, opts).Signatures[0]
	expect(t, s, TotalPassed, "", "B-T")

	t.Run("flipped byte in signed range", func(t *testing.T) {
		bad := flipInSignedRange(t, signed, s.Coverage.ByteRange)
		got := check(t, bad, opts).Signatures[0]
		expect(t, got, TotalFailed, HashFailure, "")
		if got.Integrity.MessageDigestOK {
			t.Fatal("message digest reported OK")
		}
	})

	t.Run("page content swapped in a later update", func(t *testing.T) {
		r, err := pdf.Open(bytes.NewReader(signed), int64(len(signed)), nil)
		if err != nil {
			t.Fatal(err)
		}
		page, err := r.Page(1)
		if err != nil {
			t.Fatal(err)
		}
		contentRef, ok := page.Dict.Get("Contents").(pdf.Ref)
		if !ok {
			arr, _ := page.Dict.Get("Contents").(pdf.Array)
			if len(arr) == 0 {
				t.Fatal("page has no content stream reference")
			}
			contentRef = arr[0].(pdf.Ref)
		}
		u := pdf.NewUpdate(r)
		fake := pdf.NewFlateStream(pdf.NewDict(), []byte("BT /F1 24 Tf 72 700 Td (Quyet dinh da bi sua) Tj ET"))
		if err := u.Replace(contentRef, fake); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer // Write copies the signed file, then appends
		if _, err := u.Write(&out); err != nil {
			t.Fatal(err)
		}
		got := check(t, out.Bytes(), opts).Signatures[0]
		expect(t, got, TotalFailed, SigConstraintsFailure, "B-T")
		if got.Coverage.WholeFile || !slices.Contains(got.Modifications.Categories, ModOther) || got.Modifications.Permitted {
			t.Fatalf("modifications: %+v", got.Modifications)
		}
		// The signature itself is still cryptographically intact.
		if !got.Integrity.MessageDigestOK || !got.Integrity.SignatureOK {
			t.Fatalf("integrity: %+v", got.Integrity)
		}
	})

	t.Run("page dictionary pointed at new content", func(t *testing.T) {
		r, err := pdf.Open(bytes.NewReader(signed), int64(len(signed)), nil)
		if err != nil {
			t.Fatal(err)
		}
		page, err := r.Page(1)
		if err != nil {
			t.Fatal(err)
		}
		u := pdf.NewUpdate(r)
		ref := u.Add(pdf.NewFlateStream(pdf.NewDict(), []byte("BT /F1 24 Tf 72 700 Td (Khac) Tj ET")))
		nd := page.Dict.Clone()
		nd.Set("Contents", ref)
		if err := u.Replace(page.Ref, nd); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer // Write copies the signed file, then appends
		if _, err := u.Write(&out); err != nil {
			t.Fatal(err)
		}
		expect(t, check(t, out.Bytes(), opts).Signatures[0], TotalFailed, SigConstraintsFailure, "B-T")
	})

	t.Run("revoked signer", func(t *testing.T) {
		key, chain, err := w.pki.IssueSigner("Người bị thu hồi", "UBND", devpki.KeyP256, devpki.Person)
		if err != nil {
			t.Fatal(err)
		}
		bb := sign(t, src, key, chain, pades.Options{Level: pades.LevelBB})
		bt := sign(t, src, key, chain, pades.Options{Level: pades.LevelBT, TSA: w.tsa()})
		// Time-stamps and revocation times have one-second resolution:
		// make the revocation strictly later than the time-stamp.
		time.Sleep(1100 * time.Millisecond)
		if err := w.pki.Revoke(chain[0].SerialNumber, 1); err != nil {
			t.Fatal(err)
		}
		// Without a time-stamp nothing proves the signature predates the revocation.
		expect(t, check(t, bb, opts).Signatures[0], Indeterminate, RevokedNoPOE, "B-B")
		// With one, the signature existed before: it stays valid.
		got := check(t, bt, opts).Signatures[0]
		expect(t, got, TotalPassed, "", "B-T")
		if len(got.Warnings) == 0 {
			t.Fatal("no warning about the later revocation")
		}
		// Signed after the revocation (time-stamp later than it): revoked.
		late := sign(t, src, key, chain, pades.Options{Level: pades.LevelBT, TSA: w.tsa()})
		expect(t, check(t, late, opts).Signatures[0], TotalFailed, Revoked, "B-T")
	})
}

func TestCertificationAndFormFill(t *testing.T) {
	w := newWorld(t)
	src := corpusPDF(t, "libreoffice-form.pdf")
	opts := Options{Roots: w.pki.Roots(), Online: true}
	ctx := context.Background()
	fill := func(t *testing.T, in []byte) []byte {
		t.Helper()
		var out bytes.Buffer
		if err := pades.FillFields(ctx, bytes.NewReader(in), int64(len(in)), &out, map[string]string{"SoVanBan": "12/QĐ-UBND"}); err != nil {
			t.Fatalf("FillFields: %v", err)
		}
		return out.Bytes()
	}

	certified := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBB, Certify: 2, FieldName: "LanhDao",
		Fields: []pades.ExtraField{{Name: "DauCoQuan", Kind: pades.SignatureField}}})
	filled := fill(t, certified)
	sealed := sign(t, filled, w.sealK, w.sealCh, pades.Options{Level: pades.LevelBB, FieldName: "DauCoQuan"})
	rep := check(t, sealed, opts)
	if rep.DocMDP != 2 || len(rep.Signatures) != 2 {
		t.Fatalf("DocMDP %d, %d signatures", rep.DocMDP, len(rep.Signatures))
	}
	leader := rep.Signatures[0]
	if leader.Field != "LanhDao" || !leader.Certification {
		t.Fatalf("first signature: %+v", leader)
	}
	expect(t, leader, TotalPassed, "", "B-B")
	cats := slices.DeleteFunc(slices.Clone(leader.Modifications.Categories), func(c string) bool { return c == ModMetadata })
	if !slices.Equal(cats, []string{ModFormFill, ModSignatures}) {
		t.Fatalf("leader modifications: %+v", leader.Modifications)
	}
	seal := rep.Signatures[1]
	expect(t, seal, TotalPassed, "", "B-B")
	if seal.Signer.CommonName != "Văn phòng UBND tỉnh" || !seal.Coverage.WholeFile {
		t.Fatalf("seal: %+v", seal)
	}

	// Under P=1 the same form fill breaks the certification. FillFields
	// refuses, so the fill is made directly with the PDF writer.
	strict := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBB, Certify: 1, FieldName: "LanhDao"})
	var out bytes.Buffer
	if err := pades.FillFields(ctx, bytes.NewReader(strict), int64(len(strict)), &out, map[string]string{"SoVanBan": "1"}); err == nil {
		t.Fatal("FillFields accepted a P=1 document")
	}
	r, err := pdf.Open(bytes.NewReader(strict), int64(len(strict)), nil)
	if err != nil {
		t.Fatal(err)
	}
	af, err := r.AcroForm()
	if err != nil {
		t.Fatal(err)
	}
	var fieldRef pdf.Ref
	var fieldDict *pdf.Dict
	for _, f := range af.Fields {
		d, _ := r.ResolveDict(f)
		if t2, ok := d.Get("T").(pdf.String); ok && t2.Text() == "SoVanBan" {
			fieldRef, fieldDict = f.(pdf.Ref), d.Clone()
		}
	}
	if fieldDict == nil {
		t.Fatal("field SoVanBan not found")
	}
	fieldDict.Set("V", pdf.TextString("99"))
	u := pdf.NewUpdate(r)
	if err := u.Replace(fieldRef, fieldDict); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := u.Write(&out); err != nil {
		t.Fatal(err)
	}
	got := check(t, out.Bytes(), opts).Signatures[0]
	expect(t, got, TotalFailed, SigConstraintsFailure, "B-B")
	if !slices.Contains(got.Modifications.Categories, ModFormFill) {
		t.Fatalf("P=1 fill: %+v", got.Modifications)
	}
}

func TestNotAPDF(t *testing.T) {
	if _, err := Verify(context.Background(), bytes.NewReader([]byte("hello")), 5, Options{}); err == nil {
		t.Fatal("garbage accepted")
	}
	rep := check(t, corpusPDF(t, "libreoffice-writer.pdf"), Options{})
	if len(rep.Signatures) != 0 || rep.Revisions != 1 {
		t.Fatalf("unsigned file: %+v", rep)
	}
}

func TestParsePDFDate(t *testing.T) {
	for in, want := range map[string]string{
		"D:20261125081500+07'00'": "2026-11-25T08:15:00+07:00",
		"D:20261125081500Z":       "2026-11-25T08:15:00Z",
		"D:2026112508":            "2026-11-25T08:00:00Z",
		"20261125081500-05'30":    "2026-11-25T08:15:00-05:30",
	} {
		got, err := parsePDFDate(in)
		if err != nil || got.Format("2006-01-02T15:04:05Z07:00") != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "D:20", "D:2026AB", "D:20261325", "D:20261125081500X"} {
		if _, err := parsePDFDate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRevokedTSA(t *testing.T) {
	w := newWorld(t)
	src := corpusPDF(t, "libreoffice-writer.pdf")
	bt := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBT, TSA: w.tsa()})
	opts := Options{Roots: w.pki.Roots(), Online: true}
	expect(t, check(t, bt, opts).Signatures[0], TotalPassed, "", "B-T")
	if err := w.pki.Revoke(w.pki.TSAChain()[0].SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	// The time-stamp no longer proves anything: the signature is judged
	// now, as a B-B one.
	s := check(t, bt, opts).Signatures[0]
	expect(t, s, TotalPassed, "", "B-B")
	if s.Timestamp == nil || s.Timestamp.Valid || s.BestSignatureTime.Equal(s.Timestamp.Time) {
		t.Fatalf("timestamp still trusted: %+v", s.Timestamp)
	}
}

// withLockedSigField adds an empty signature field "LanhDao" whose /Lock
// protects the field named locked, as a form designer would.
func withLockedSigField(t *testing.T, src []byte, locked string) []byte {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(src), int64(len(src)), nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	af, err := r.AcroForm()
	if err != nil {
		t.Fatal(err)
	}
	u := pdf.NewUpdate(r)
	lock := pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("SigFieldLock")},
		pdf.DictEntry{Key: "Action", Value: pdf.Name("Include")},
		pdf.DictEntry{Key: "Fields", Value: pdf.Array{pdf.TextString(locked)}},
	)
	field := u.Add(pdf.NewDict(
		pdf.DictEntry{Key: "FT", Value: pdf.Name("Sig")},
		pdf.DictEntry{Key: "T", Value: pdf.TextString("LanhDao")},
		pdf.DictEntry{Key: "Type", Value: pdf.Name("Annot")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Widget")},
		pdf.DictEntry{Key: "Rect", Value: pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(0), pdf.Integer(0)}},
		pdf.DictEntry{Key: "F", Value: pdf.Integer(132)},
		pdf.DictEntry{Key: "P", Value: page.Ref},
		pdf.DictEntry{Key: "Lock", Value: lock},
	))
	fields := append(append(pdf.Array{}, af.Fields...), field)
	switch {
	case af.FieldsRef != (pdf.Ref{}):
		if err := u.Replace(af.FieldsRef, fields); err != nil {
			t.Fatal(err)
		}
	case af.Ref != (pdf.Ref{}):
		nd := af.Dict.Clone()
		nd.Set("Fields", fields)
		if err := u.Replace(af.Ref, nd); err != nil {
			t.Fatal(err)
		}
	default:
		t.Skip("direct AcroForm in the catalog: not handled by this helper")
	}
	pd := page.Dict.Clone()
	annots, _ := r.ResolveArray(pd.Get("Annots"))
	pd.Set("Annots", append(append(pdf.Array{}, annots...), field))
	if err := u.Replace(page.Ref, pd); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := u.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// setField changes a text field's value directly with the PDF writer.
func setField(t *testing.T, src []byte, name, value string) []byte {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(src), int64(len(src)), nil)
	if err != nil {
		t.Fatal(err)
	}
	af, err := r.AcroForm()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range af.Fields {
		d, _ := r.ResolveDict(f)
		ref, isRef := f.(pdf.Ref)
		if tt, ok := d.Get("T").(pdf.String); ok && isRef && tt.Text() == name {
			nd := d.Clone()
			nd.Set("V", pdf.TextString(value))
			u := pdf.NewUpdate(r)
			if err := u.Replace(ref, nd); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if _, err := u.Write(&out); err != nil {
				t.Fatal(err)
			}
			return out.Bytes()
		}
	}
	t.Fatalf("field %s not found", name)
	return nil
}

func TestFieldLock(t *testing.T) {
	w := newWorld(t)
	src := withLockedSigField(t, corpusPDF(t, "libreoffice-form.pdf"), "SoVanBan")
	signed := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBB, FieldName: "LanhDao"})
	opts := Options{Roots: w.pki.Roots(), Online: true}
	expect(t, check(t, signed, opts).Signatures[0], TotalPassed, "", "B-B")

	// Another field may still be filled (with a warning: not certified).
	other := check(t, setField(t, signed, "NgayBanHanh", "25/11/2026"), opts).Signatures[0]
	expect(t, other, TotalPassed, "", "B-B")
	if !slices.Contains(other.Modifications.Categories, ModFormFill) || len(other.Warnings) == 0 {
		t.Fatalf("fill of an unlocked field: %+v", other.Modifications)
	}
	// The locked one may not.
	locked := check(t, setField(t, signed, "SoVanBan", "99/QĐ"), opts).Signatures[0]
	expect(t, locked, TotalFailed, SigConstraintsFailure, "B-B")
}

func TestDeletedObject(t *testing.T) {
	w := newWorld(t)
	signed := sign(t, corpusPDF(t, "libreoffice-writer.pdf"), w.key, w.chain, pades.Options{Level: pades.LevelBB})
	r, err := pdf.Open(bytes.NewReader(signed), int64(len(signed)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.XRefKind() != pdf.XRefTable {
		t.Skip("helper writes a classic xref section")
	}
	page, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	content, ok := page.Dict.Get("Contents").(pdf.Ref)
	if !ok {
		t.Skip("page contents is not a single reference")
	}
	// Free the page's content stream in an appended xref section: the
	// page then shows nothing, though no object was rewritten.
	var b bytes.Buffer
	b.Write(signed)
	off := b.Len()
	fmt.Fprintf(&b, "xref\n%d 1\n0000000000 %05d f\r\n", content.Num, content.Gen+1)
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d %d R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n",
		r.Size(), r.Root().Num, r.Root().Gen, r.XRefOffset(), off)
	s := check(t, b.Bytes(), Options{Roots: w.pki.Roots(), Online: true}).Signatures[0]
	expect(t, s, TotalFailed, SigConstraintsFailure, "B-B")
}

func TestFormatFailures(t *testing.T) {
	w := newWorld(t)
	signed := sign(t, corpusPDF(t, "libreoffice-writer.pdf"), w.key, w.chain, pades.Options{Level: pades.LevelBB})
	opts := Options{Roots: w.pki.Roots(), Online: true}
	i := bytes.LastIndex(signed, []byte("/ByteRange ["))
	if i < 0 {
		t.Fatal("no /ByteRange")
	}
	i += len("/ByteRange [")
	for i < len(signed) && signed[i] == ' ' {
		i++
	}
	edit := func(t *testing.T, f func(b []byte)) SignatureReport {
		t.Helper()
		b := bytes.Clone(signed)
		f(b)
		rep := check(t, b, opts)
		if len(rep.Signatures) != 1 {
			t.Fatalf("%d signatures", len(rep.Signatures))
		}
		return rep.Signatures[0]
	}
	t.Run("byte range not from the start", func(t *testing.T) {
		s := edit(t, func(b []byte) { b[i] = '1' })
		expect(t, s, TotalFailed, FormatFailure, "")
	})
	t.Run("gap is not the contents string", func(t *testing.T) {
		// Shift the end of the first range by one digit's worth: the gap
		// no longer starts with '<'.
		s := edit(t, func(b []byte) {
			j := i + 1
			for b[j] == ' ' {
				j++
			}
			end := j
			for b[end] >= '0' && b[end] <= '9' {
				end++
			}
			if b[end-1] == '0' {
				t.Skip("first range ends in 0; this edit needs another digit")
			}
			b[end-1]-- // first range one byte shorter
		})
		expect(t, s, TotalFailed, FormatFailure, "")
		if len(s.Errors) == 0 || !strings.Contains(s.Errors[0], "/Contents") {
			t.Fatalf("errors: %v", s.Errors)
		}
	})
	t.Run("unknown sub-filter", func(t *testing.T) {
		s := edit(t, func(b []byte) {
			k := bytes.LastIndex(b, []byte("ETSI.CAdES.detached"))
			b[k+len("ETSI.CAdES.detache")] = 'x'
		})
		expect(t, s, TotalFailed, FormatFailure, "")
	})
	t.Run("garbage signature", func(t *testing.T) {
		s := edit(t, func(b []byte) {
			c := i
			for b[c] != '<' {
				c++
			}
			copy(b[c+1:], "3082FFFF")
		})
		expect(t, s, TotalFailed, FormatFailure, "")
	})
}
