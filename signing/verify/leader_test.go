package verify

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"vanban/signing/pades"
	"vanban/signing/pdf"
)

// TestLeaderFillSealReport validates the office workflow exactly as
// pades.TestLeaderFillSeal builds it (the independent validators' view is
// there): the leader's certification signature (DocMDP P=2, B-T) creates
// the number and date text fields and the empty seal field; the system
// fills number and date; the office seal signs the prepared field at B-LT.
// TestCertificationAndFormFill covers filling a field the producer made;
// here the fields are the ones the certification itself added, both are
// filled, and the report must call the fill a permitted form fill.
func TestLeaderFillSealReport(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	src := corpusPDF(t, "libreoffice-writer.pdf")

	leader := sign(t, src, w.key, w.chain, pades.Options{
		Level: pades.LevelBT, TSA: w.tsa(), Certify: 2, FieldName: "LanhDao", Reason: "Ký ban hành",
		Appearance: &pades.Appearance{Page: 1, Rect: pades.Rect{LLX: 330, LLY: 120, URX: 530, URY: 200}, Lines: []string{"Nguyễn Văn Quyết"}},
		Fields: []pades.ExtraField{
			{Name: "SoVanBan", Kind: pades.TextField, Page: 1, Rect: pades.Rect{LLX: 60, LLY: 740, URX: 260, URY: 760}, FontSize: 13},
			{Name: "NgayBanHanh", Kind: pades.TextField, Page: 1, Rect: pades.Rect{LLX: 300, LLY: 740, URX: 560, URY: 760}, FontSize: 13},
			{Name: "DauCoQuan", Kind: pades.SignatureField, Page: 1, Rect: pades.Rect{LLX: 280, LLY: 110, URX: 400, URY: 230}},
		},
	})
	var filled bytes.Buffer
	if err := pades.FillFields(ctx, bytes.NewReader(leader), int64(len(leader)), &filled, map[string]string{
		"SoVanBan":    "Số: 05/QĐ-UBND",
		"NgayBanHanh": "Thành Long, ngày 24 tháng 11 năm 2026",
	}); err != nil {
		t.Fatalf("FillFields: %v", err)
	}
	sealed := sign(t, filled.Bytes(), w.sealK, w.sealCh, pades.Options{
		Level: pades.LevelBLT, TSA: w.tsa(), Revocation: w.collector(), FieldName: "DauCoQuan",
		Appearance: &pades.Appearance{Lines: []string{"Văn phòng UBND tỉnh"}},
	})

	// Offline: the leader's revocation data arrives with the seal's /DSS
	// only if the collector gathered it; online fetching settles it either way.
	rep := check(t, sealed, Options{Roots: w.pki.Roots(), Online: true})
	if rep.DocMDP != 2 || len(rep.Signatures) != 2 {
		t.Fatalf("DocMDP %d, %d signatures; want 2 and 2", rep.DocMDP, len(rep.Signatures))
	}
	lead, seal := rep.Signatures[0], rep.Signatures[1]
	if lead.Field != "LanhDao" || !lead.Certification || lead.DocMDP != 2 {
		t.Fatalf("leader: field %q certification %v P=%d", lead.Field, lead.Certification, lead.DocMDP)
	}
	// The seal's B-LT /DSS carries the leader's chain and status too.
	expect(t, lead, TotalPassed, "", "B-LT")
	m := lead.Modifications
	if !m.Permitted || !slices.Contains(m.Categories, ModFormFill) || !slices.Contains(m.Categories, ModSignatures) ||
		slices.Contains(m.Categories, ModOther) || slices.Contains(m.Categories, ModAnnotations) {
		t.Fatalf("leader's later changes: %+v; want a permitted form fill and signature", m)
	}
	if lead.Coverage.WholeFile || lead.Coverage.Revision != 2 {
		t.Errorf("leader coverage: %+v", lead.Coverage)
	}
	if seal.Field != "DauCoQuan" || seal.Signer.CommonName != "Văn phòng UBND tỉnh" || seal.Certification {
		t.Fatalf("seal: field %q signer %q certification %v", seal.Field, seal.Signer.CommonName, seal.Certification)
	}
	// The seal's own /DSS revision follows it: a permitted DSS change.
	expect(t, seal, TotalPassed, "", "B-LT")
	if !seal.Modifications.Permitted || !slices.Equal(slices.DeleteFunc(slices.Clone(seal.Modifications.Categories), func(c string) bool { return c == ModMetadata }), []string{ModDSS}) {
		t.Fatalf("seal's later changes: %+v; want only the DSS", seal.Modifications)
	}

	// Renumbering after the seal: under P=2 still a permitted form fill,
	// which both reports must list. The first fill's appearance stream is
	// now referenced by nothing; it must not count as an unexplained
	// change that breaks the leader's signature.
	var refilled bytes.Buffer
	if err := pades.FillFields(ctx, bytes.NewReader(sealed), int64(len(sealed)), &refilled, map[string]string{"SoVanBan": "Số: 06/QĐ-UBND"}); err != nil {
		t.Fatalf("FillFields after the seal: %v", err)
	}
	rep = check(t, refilled.Bytes(), Options{Roots: w.pki.Roots(), Online: true})
	expect(t, rep.Signatures[0], TotalPassed, "", "B-LT")
	expect(t, rep.Signatures[1], TotalPassed, "", "B-LT")
	for _, s := range rep.Signatures {
		if !slices.Contains(s.Modifications.Categories, ModFormFill) || slices.Contains(s.Modifications.Categories, ModOther) {
			t.Errorf("%s after a refill: %+v; want the fill reported and nothing unexplained", s.Field, s.Modifications)
		}
	}
	// Each update is judged against the revision before it, so the first
	// fill's appearance was in use when the refill replaced it: every
	// object of every update after the leader matched a rule.
	for _, ch := range rep.Signatures[0].Modifications.Objects {
		if !ch.Permitted || ch.Rule == NoRule {
			t.Errorf("leader after a refill: %+v", ch)
		}
	}
}

// TestUnreferencedObjects: an object added after signing that nothing
// refers to is reported but harmless; the same object once a page uses
// it is an unexplained change that fails the signature.
func TestUnreferencedObjects(t *testing.T) {
	w := newWorld(t)
	signed := sign(t, corpusPDF(t, "libreoffice-writer.pdf"), w.key, w.chain, pades.Options{Level: pades.LevelBB})
	opts := Options{Roots: w.pki.Roots(), Online: true}
	r, err := pdf.Open(bytes.NewReader(signed), int64(len(signed)), nil)
	if err != nil {
		t.Fatal(err)
	}
	xobj := pdf.NewStream(pdf.NewDict(
		pdf.DictEntry{Key: "Type", Value: pdf.Name("XObject")},
		pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Form")},
		pdf.DictEntry{Key: "BBox", Value: pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(100), pdf.Integer(100)}},
	), []byte("0 0 1 rg 0 0 100 100 re f"))

	u := pdf.NewUpdate(r)
	u.Add(xobj)
	var orphan bytes.Buffer
	if _, err := u.Write(&orphan); err != nil {
		t.Fatal(err)
	}
	s := check(t, orphan.Bytes(), opts).Signatures[0]
	expect(t, s, TotalPassed, "", "B-B")
	if !slices.Equal(s.Modifications.Categories, []string{ModUnreferenced}) {
		t.Fatalf("orphan object: %+v", s.Modifications)
	}

	// Referenced from the first page's resources: a real change.
	u = pdf.NewUpdate(r)
	ref := u.Add(xobj)
	page, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	pd := page.Dict.Clone()
	res, err := r.ResolveDict(pd.Get("Resources"))
	if err != nil || res == nil {
		t.Fatalf("page resources: %v", err)
	}
	res = res.Clone()
	res.Set("XObject", pdf.NewDict(pdf.DictEntry{Key: "Extra", Value: ref}))
	pd.Set("Resources", res)
	if err := u.Replace(page.Ref, pd); err != nil {
		t.Fatal(err)
	}
	var used bytes.Buffer
	if _, err := u.Write(&used); err != nil {
		t.Fatal(err)
	}
	s = check(t, used.Bytes(), opts).Signatures[0]
	if s.Indication != TotalFailed || slices.Contains(s.Modifications.Categories, ModUnreferenced) {
		t.Fatalf("referenced object: %s/%s %+v", s.Indication, s.SubIndication, s.Modifications)
	}
}
