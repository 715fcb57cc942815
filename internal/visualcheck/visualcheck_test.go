package visualcheck_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"vanban/internal/render"
	"vanban/internal/visualcheck"
	"vanban/signing/devpki"
	"vanban/signing/pades"
	"vanban/signing/pdf"
	"vanban/signing/verify"
)

var (
	engineOnce sync.Once
	engine     *render.Engine
)

// sharedEngine is one PDFium engine for the package's tests; its compiled
// module is cached where the web's is in a development checkout.
func sharedEngine(t testing.TB) *render.Engine {
	t.Helper()
	engineOnce.Do(func() {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		engine = render.New(render.Options{CacheDir: filepath.Join(dir, "vanban-test-wazero")})
	})
	return engine
}

type signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

func pki(t testing.TB) (*devpki.PKI, signer, signer) {
	t.Helper()
	p, err := devpki.New("http://127.0.0.1:9", "")
	if err != nil {
		t.Fatal(err)
	}
	var out [2]signer
	for i, who := range []struct {
		cn string
		u  devpki.Usage
	}{{"Nguyễn Văn Quyết", devpki.Person}, {"UBND xã Thành Long", devpki.Organization}} {
		if out[i].key, out[i].chain, err = p.IssueSigner(who.cn, "UBND xã Thành Long", devpki.KeyP256, who.u); err != nil {
			t.Fatal(err)
		}
	}
	return p, out[0], out[1]
}

func sample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/corpus/libreoffice-writer.pdf")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(t testing.TB, src []byte, s signer, opts pades.Options) []byte {
	t.Helper()
	opts.Level, opts.Chain = pades.LevelBB, s.chain
	var out bytes.Buffer
	if err := pades.Sign(context.Background(), bytes.NewReader(src), int64(len(src)), &out, s.key, s.chain, opts); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func check(t *testing.T, data []byte, visual verify.VisualChecker) *verify.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := verify.Verify(ctx, bytes.NewReader(data), int64(len(data)), verify.Options{Visual: visual})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// overlay adds to page 1, in a new revision written by the PDF writer
// (not the signing code), a square annotation whose appearance paints a
// white box with other words over the page's text: a change the
// whitelist accepts after an approval signature (annotations are
// permitted), which changes what the reader sees where no field is.
func overlay(t *testing.T, src []byte) []byte {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(src), int64(len(src)), nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	u := pdf.NewUpdate(r)
	font := u.Add(pdf.NewDict(pdf.DictEntry{Key: "Type", Value: pdf.Name("Font")}, pdf.DictEntry{Key: "Subtype", Value: pdf.Name("Type1")},
		pdf.DictEntry{Key: "BaseFont", Value: pdf.Name("Helvetica")}))
	apDict := pdf.NewDict()
	apDict.Set("Type", pdf.Name("XObject"))
	apDict.Set("Subtype", pdf.Name("Form"))
	apDict.Set("BBox", pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(400), pdf.Integer(120)})
	apDict.Set("Resources", pdf.NewDict(pdf.DictEntry{Key: "Font", Value: pdf.NewDict(pdf.DictEntry{Key: "F1", Value: font})}))
	ap := u.Add(pdf.NewStream(apDict, []byte("1 1 1 rg 0 0 400 120 re f 0 0 0 rg BT /F1 18 Tf 10 50 Td (Chi 500 trieu dong) Tj ET")))
	box := page.CropBox
	annot := pdf.NewDict()
	annot.Set("Type", pdf.Name("Annot"))
	annot.Set("Subtype", pdf.Name("Square"))
	annot.Set("F", pdf.Integer(4))
	annot.Set("Rect", pdf.Array{pdf.Real(box[0] + 60), pdf.Real(box[3] - 260), pdf.Real(box[0] + 460), pdf.Real(box[3] - 140)})
	annot.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: ap}))
	annot.Set("P", page.Ref)
	aref := u.Add(annot)
	pd := page.Dict.Clone()
	annots, _ := r.ResolveArray(pd.Get("Annots"))
	pd.Set("Annots", append(append(pdf.Array{}, annots...), aref))
	if err := u.Replace(page.Ref, pd); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := u.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestShadowOverlayIsReported(t *testing.T) {
	_, leader, _ := pki(t)
	signed := sign(t, sample(t), leader, pades.Options{FieldName: "LanhDao"})
	shadowed := overlay(t, signed)
	checker := visualcheck.New(sharedEngine(t))

	// The object-level analysis accepts the overlay: it is an annotation.
	plain := check(t, shadowed, nil).Signatures[0]
	if !plain.Modifications.Permitted || plain.Modifications.VisualChecked {
		t.Fatalf("without the visual check: %+v", plain.Modifications)
	}
	got := check(t, shadowed, checker).Signatures[0]
	m := got.Modifications
	if !m.VisualChecked || len(m.Visual) != 1 {
		js, _ := json.MarshalIndent(m, "", "  ")
		t.Fatalf("visual check of the overlay: %s", js)
	}
	d := m.Visual[0]
	r, _ := pdf.Open(bytes.NewReader(shadowed), int64(len(shadowed)), nil)
	page, _ := r.Page(1)
	box := page.CropBox
	// The difference lies within the annotation's rectangle (the white box
	// hides the page's text, the words replace it), on page 1, in the
	// revision after the signed one.
	want := [4]float64{box[0] + 60, box[3] - 260, box[0] + 460, box[3] - 140}
	if d.Page != 1 || d.Revision != 3 || d.Pixels < 100 ||
		d.Rect[0] < want[0]-2 || d.Rect[1] < want[1]-2 || d.Rect[2] > want[2]+2 || d.Rect[3] > want[3]+2 {
		t.Fatalf("difference %+v, want inside %v", d, want)
	}
	if len(got.Warnings) == 0 {
		t.Fatal("no warning for the visible change")
	}
}

// leaderFillSeal is vanban's own issue: the leader's certification (P=2)
// with the number and date fields, the fill, the seal.
func leaderFillSeal(t testing.TB) (certified, sealed []byte) {
	_, leader, seal := pki(t)
	ctx := context.Background()
	certified = sign(t, sample(t), leader, pades.Options{Certify: 2, FieldName: "LanhDao", Name: "Nguyễn Văn Quyết",
		Appearance: &pades.Appearance{Page: 1, Rect: pades.Rect{LLX: 330, LLY: 120, URX: 530, URY: 200}, Lines: []string{"Nguyễn Văn Quyết"}},
		Fields: []pades.ExtraField{
			{Name: "SoVanBan", Kind: pades.TextField, Page: 1, Rect: pades.Rect{LLX: 60, LLY: 740, URX: 260, URY: 760}, FontSize: 13},
			{Name: "NgayBanHanh", Kind: pades.TextField, Page: 1, Rect: pades.Rect{LLX: 300, LLY: 740, URX: 560, URY: 760}, FontSize: 13},
			{Name: "DauCoQuan", Kind: pades.SignatureField, Page: 1, Rect: pades.Rect{LLX: 280, LLY: 110, URX: 400, URY: 230}},
		}})
	var filled bytes.Buffer
	if err := pades.FillFields(ctx, bytes.NewReader(certified), int64(len(certified)), &filled, map[string]string{
		"SoVanBan": "Số: 05/QĐ-UBND", "NgayBanHanh": "Thành Long, ngày 24 tháng 11 năm 2026"}); err != nil {
		t.Fatal(err)
	}
	sealed = sign(t, filled.Bytes(), seal, pades.Options{FieldName: "DauCoQuan",
		Appearance: &pades.Appearance{Page: 1, Rect: pades.Rect{LLX: 280, LLY: 110, URX: 400, URY: 230}, Lines: []string{"UBND xã Thành Long"}}})
	return certified, sealed
}

func TestGenuineFillIsNotReported(t *testing.T) {
	ctx := context.Background()
	certified, sealed := leaderFillSeal(t)
	rep := check(t, sealed, visualcheck.New(sharedEngine(t)))
	lead := rep.Signatures[0].Modifications
	if !lead.Permitted || !lead.VisualChecked || len(lead.Visual) != 0 {
		js, _ := json.MarshalIndent(lead, "", "  ")
		t.Fatalf("the fill and the seal are reported: %s", js)
	}
	// The visual check sees the fill: the same update without the
	// allowed rectangles would be a difference (the check is not blind).
	strict := &visualcheck.Checker{Engine: sharedEngine(t)}
	diffs, err := strict.CompareRevisions(ctx, certified, sealed, []verify.VisualPage{{Page: 1, CropBox: pageBox(t, sealed)}})
	if err != nil || len(diffs) != 1 {
		t.Fatalf("without allowed areas: %v %+v", err, diffs)
	}
}

func pageBox(t *testing.T, b []byte) pdf.Rect {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	return p.CropBox
}

// BenchmarkVisualCheckFill is the cost of the check on vanban's own
// issued document (one signature with a fill after it: two renders of
// one page in fresh PDFium instances), against the validation alone.
func BenchmarkVisualCheckFill(b *testing.B) {
	_, sealed := leaderFillSeal(b)
	for _, c := range []struct {
		name   string
		visual verify.VisualChecker
	}{{"off", nil}, {"on", visualcheck.New(sharedEngine(b))}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rep, err := verify.Verify(context.Background(), bytes.NewReader(sealed), int64(len(sealed)), verify.Options{Visual: c.visual})
				if err != nil || (c.visual != nil && !rep.Signatures[0].Modifications.VisualChecked) {
					b.Fatalf("%v %+v", err, rep.Signatures[0].Modifications)
				}
			}
		})
	}
}
