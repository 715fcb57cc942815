package pades

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vanban/signing/pades/appearance"
	"vanban/signing/pdf"
	"vanban/signing/signtest"
)

// buildPDF writes objects 1..n (given as bodies) with a classic xref table;
// object 1 must be the catalog.
func buildPDF(objs []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d/Root 1 0 R/ID[<0102030405060708><0102030405060708>]>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

const pageContent = "BT /F1 24 Tf 72 700 Td (Structure test) Tj ET 0 0 1 rg 72 600 200 50 re f"

// structureVariants are documents whose form and annotations are stored in
// the ways real producers store them.
func structureVariants() map[string][]byte {
	stream := fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", len(pageContent), pageContent)
	font := "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"
	return map[string][]byte{
		// Direct AcroForm with direct /Fields, direct /DR, /NeedAppearances,
		// a text field, and a direct /Annots array with a link.
		"direct": buildPDF([]string{
			"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[6 0 R]/DR<</Font<</Helv 5 0 R>>>>/DA(/Helv 0 Tf 0 g)/NeedAppearances true>>>>",
			"<</Type/Pages/Kids[3 0 R]/Count 1>>",
			"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>/Annots[<</Type/Annot/Subtype/Link/Rect[72 600 272 650]/Border[0 0 0]/A<</S/URI/URI(https://example.org)>>>>6 0 R]>>",
			stream,
			font,
			"<</Type/Annot/Subtype/Widget/FT/Tx/T(GhiChu)/V(old)/Rect[72 500 272 520]/P 3 0 R/F 4>>",
		}),
		// Everything indirect: AcroForm, /Fields, /DR, /DR /Font, /Annots;
		// a two-level page tree with inherited /Resources and /MediaBox.
		"indirect": buildPDF([]string{
			"<</Type/Catalog/Pages 2 0 R/AcroForm 7 0 R>>",
			"<</Type/Pages/Kids[11 0 R]/Count 2/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>>>",
			"<</Type/Page/Parent 11 0 R/Contents 4 0 R/Annots 10 0 R>>",
			stream,
			font,
			"<</Type/Annot/Subtype/Widget/FT/Tx/T(GhiChu)/V(old)/Rect[72 500 272 520]/P 3 0 R/F 4/DA(/Helv 10 Tf 0 g)>>",
			"<</Fields 8 0 R/DR 9 0 R/DA(/Helv 0 Tf 0 g)>>",
			"[6 0 R]",
			"<</Font 12 0 R>>",
			"[6 0 R]",
			"<</Type/Pages/Parent 2 0 R/Kids[3 0 R 13 0 R]/Count 2>>",
			"<</Helv 5 0 R>>",
			"<</Type/Page/Parent 11 0 R/Contents 4 0 R>>",
		}),
	}
}

// TestStructureVariants signs, certifies with extra fields, fills and seals
// documents with direct and indirect form structures, themselves rewritten
// by qpdf (object streams, linearization, owner-password encryption), and
// checks that nothing of the original form is lost.
func TestStructureVariants(t *testing.T) {
	qpdf := signtest.RequireTool(t, "qpdf")
	signtest.RequireTool(t, "pdfsig")
	ctx := context.Background()
	s := loadTestSigner(t)
	rewrites := map[string][]string{
		"plain":    nil,
		"objstm":   {"--object-streams=generate"},
		"linear":   {"--linearize"},
		"aes128":   {"--encrypt", "", "owner", "128", "--use-aes=y", "--"},
		"rc4-40":   {"--allow-weak-crypto", "--encrypt", "", "owner", "40", "--"},
		"xrefonly": {"--object-streams=disable", "--compress-streams=n"},
	}
	for vname, doc := range structureVariants() {
		for rname, args := range rewrites {
			t.Run(vname+"-"+rname, func(t *testing.T) {
				in := doc
				if args != nil {
					src := writeTemp(t, "src.pdf", doc)
					dst := filepath.Join(t.TempDir(), "dst.pdf")
					if out, err := exec.Command(qpdf, append(append([]string{}, args...), src, dst)...).CombinedOutput(); err != nil {
						t.Fatalf("qpdf: %v\n%s", err, out)
					}
					in = readFile(t, dst)
				}
				if err := signtest.QPDFCheck(t, writeTemp(t, "input.pdf", in)); err != nil {
					t.Fatalf("input is broken: %v", err)
				}
				var leader bytes.Buffer
				err := Sign(ctx, bytes.NewReader(in), int64(len(in)), &leader, s.key, s.chain, Options{
					Certify:    2,
					Appearance: &Appearance{Rect: Rect{300, 100, 500, 160}},
					Fields: []ExtraField{
						{Name: "SoVanBan", Kind: TextField, Rect: Rect{72, 750, 272, 770}},
						{Name: "DauCoQuan", Kind: SignatureField, Rect: Rect{300, 170, 400, 270}},
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				checkSigned(t, writeTemp(t, "leader.pdf", leader.Bytes()), 1, s.caPEM)
				checkForm(t, in, leader.Bytes(), []string{"Signature1", "SoVanBan", "DauCoQuan"})

				var filled bytes.Buffer
				if err := FillFields(ctx, bytes.NewReader(leader.Bytes()), int64(leader.Len()), &filled, map[string]string{"SoVanBan": "12/QĐ-UBND"}); err != nil {
					t.Fatal(err)
				}
				var sealed bytes.Buffer
				if err := Sign(ctx, bytes.NewReader(filled.Bytes()), int64(filled.Len()), &sealed, s.key, s.chain, Options{FieldName: "DauCoQuan"}); err != nil {
					t.Fatal(err)
				}
				out := writeTemp(t, "sealed.pdf", sealed.Bytes())
				checkSigned(t, out, 2, s.caPEM)
				checkForm(t, in, sealed.Bytes(), []string{"Signature1", "SoVanBan", "DauCoQuan"})
				if text := pdftotext(t, out, 1); !strings.Contains(text, "12/QĐ-UBND") || !strings.Contains(text, "Structure test") {
					t.Errorf("page text after fill:\n%s", text)
				}
			})
		}
	}
}

// formSummary is what checkForm compares between versions of a file.
type formSummary struct {
	fields   []string
	afKeys   []pdf.Name
	drFonts  []pdf.Name
	annots   []string // subtypes of page 1's annotations
	sigFlags int64
}

func summarize(t *testing.T, data []byte) formSummary {
	t.Helper()
	var v vfile
	v.appendBytes(data)
	d, err := openDocument(&v, v.Size())
	if err != nil {
		t.Fatal(err)
	}
	var sum formSummary
	fs, err := d.fields()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		sum.fields = append(sum.fields, f.fullName)
	}
	if af, _, err := d.acroForm(); err == nil && af != nil {
		sum.afKeys = af.Keys()
		sum.sigFlags, _ = af.Int("SigFlags")
		dr, _ := d.dict(af.Get("DR"))
		fonts, _ := d.dict(dr.Get("Font"))
		sum.drFonts = fonts.Keys()
	}
	page, err := d.page(1)
	if err != nil {
		t.Fatal(err)
	}
	pd, _ := d.dict(page)
	annots, _ := d.array(pd.Get("Annots"))
	for _, a := range annots {
		ad, _ := d.dict(a)
		sub, _ := ad.Name("Subtype")
		sum.annots = append(sum.annots, string(sub))
	}
	return sum
}

// checkForm checks that the signed file kept everything of the original's
// form (fields, AcroForm keys such as /DR /DA /NeedAppearances, /DR fonts,
// page annotations) and gained the new fields, our font and SigFlags 3.
func checkForm(t *testing.T, orig, data []byte, newFields []string) {
	t.Helper()
	before, after := summarize(t, orig), summarize(t, data)
	for _, f := range append(append([]string{}, before.fields...), newFields...) {
		if !slices.Contains(after.fields, f) {
			t.Errorf("field %q missing; fields now %v", f, after.fields)
		}
	}
	for _, k := range before.afKeys {
		if !slices.Contains(after.afKeys, k) {
			t.Errorf("AcroForm lost /%s", k)
		}
	}
	for _, k := range append(append([]pdf.Name{}, before.drFonts...), appearance.FontName) {
		if !slices.Contains(after.drFonts, k) {
			t.Errorf("/DR /Font lost /%s (now %v)", k, after.drFonts)
		}
	}
	for _, a := range before.annots {
		if !slices.Contains(after.annots, a) {
			t.Errorf("page 1 lost its %s annotation", a)
		}
	}
	if len(after.annots) < len(before.annots) {
		t.Errorf("page 1 had %d annotations, now %d", len(before.annots), len(after.annots))
	}
	if after.sigFlags != 3 {
		t.Errorf("SigFlags %d, want 3", after.sigFlags)
	}
}
