package verify

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"vanban/signing/pades"
	"vanban/signing/pdf"
)

// formPDF builds a one-page document with two text fields. The page
// draws form XObject 6 ("/Fm0 Do"); field "so" (widget 5) shows the same
// XObject 6 as its appearance, so the two share it; field "ngay"
// (widget 7) has an appearance of its own (8).
func formPDF() []byte {
	objs := map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 7 0 R] /DA (/Helv 0 Tf 0 g) >> >>",
		2: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Fm0 6 0 R >> /Font << /F1 9 0 R >> >> /Annots [5 0 R 7 0 R] >>",
		5: "<< /Type /Annot /Subtype /Widget /FT /Tx /T (so) /Rect [400 780 560 800] /P 3 0 R /F 4 /AP << /N 6 0 R >> >>",
		7: "<< /Type /Annot /Subtype /Widget /FT /Tx /T (ngay) /Rect [400 750 560 770] /P 3 0 R /F 4 /AP << /N 8 0 R >> >>",
		9: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	streams := map[int][2]string{
		4: {"", "BT /F1 14 Tf 72 700 Td (Quyet dinh so 01 ve viec chi 100 trieu dong) Tj ET q 1 0 0 1 72 600 cm /Fm0 Do Q"},
		6: {"/Type /XObject /Subtype /Form /BBox [0 0 160 20] /Resources << /Font << /F1 9 0 R >> >>", "BT /F1 10 Tf 2 5 Td (Chu tich UBND) Tj ET"},
		8: {"/Type /XObject /Subtype /Form /BBox [0 0 160 20]", ""},
	}
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, 10)
	for n := 1; n <= 9; n++ {
		offs[n] = buf.Len()
		if s, ok := streams[n]; ok {
			fmt.Fprintf(&buf, "%d 0 obj\n<< %s /Length %d >>\nstream\n%s\nendstream\nendobj\n", n, s[0], len(s[1]), s[1])
			continue
		}
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", n, objs[n])
	}
	x := buf.Len()
	buf.WriteString("xref\n0 10\n0000000000 65535 f \n")
	for n := 1; n <= 9; n++ {
		fmt.Fprintf(&buf, "%010d 00000 n \n", offs[n])
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size 10 /Root 1 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>] >>\nstartxref\n%d\n%%%%EOF\n", x)
	return buf.Bytes()
}

// update applies edit to a new incremental update of src.
func update(t *testing.T, src []byte, edit func(r *pdf.Reader, u *pdf.Update)) []byte {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(src), int64(len(src)), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := pdf.NewUpdate(r)
	edit(r, u)
	var out bytes.Buffer
	if _, err := u.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// fill sets field widget num's /V and, when ap is not zero, its /AP /N.
func fill(t *testing.T, r *pdf.Reader, u *pdf.Update, num uint32, value string, ap pdf.Ref) {
	t.Helper()
	d, err := r.ResolveDict(pdf.Ref{Num: num})
	if err != nil || d == nil {
		t.Fatalf("widget %d: %v", num, err)
	}
	d = d.Clone()
	d.Set("V", pdf.TextString(value))
	if !ap.IsZero() {
		d.Set("AP", pdf.NewDict(pdf.DictEntry{Key: "N", Value: ap}))
	}
	if err := u.Replace(pdf.Ref{Num: num}, d); err != nil {
		t.Fatal(err)
	}
}

func appearance(text string) *pdf.Stream {
	d := pdf.NewDict()
	d.Set("Type", pdf.Name("XObject"))
	d.Set("Subtype", pdf.Name("Form"))
	d.Set("BBox", pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(160), pdf.Integer(20)})
	return pdf.NewStream(d, []byte("BT /F1 10 Tf 2 5 Td ("+text+") Tj ET"))
}

// TestClobberingAppearance: an update that looks like a form fill but
// rewrites an appearance stream that the page also draws (or another
// widget shows) changes what the page says; it must be reported as not
// permitted, naming the object and the missing rule. A genuine fill with
// an appearance of its own stays permitted.
func TestClobberingAppearance(t *testing.T) {
	w := newWorld(t)
	signed := sign(t, formPDF(), w.key, w.chain, pades.Options{Level: pades.LevelBB, FieldName: "LanhDao"})
	opts := Options{Roots: w.pki.Roots(), Online: true}
	expect(t, check(t, signed, opts).Signatures[0], TotalPassed, "", "B-B")

	cases := []struct {
		name      string
		edit      func(r *pdf.Reader, u *pdf.Update)
		permitted bool
		object    string // the object reported without a rule
		reason    string
	}{
		{"genuine fill with its own appearance", func(r *pdf.Reader, u *pdf.Update) {
			fill(t, r, u, 7, "05/02/2026", u.Add(appearance("05/02/2026")))
		}, true, "", ""},
		{"fill that rewrites a form XObject the page draws", func(r *pdf.Reader, u *pdf.Update) {
			fill(t, r, u, 5, "99", pdf.Ref{})
			if err := u.Replace(pdf.Ref{Num: 6}, appearance("Chu tich UBND - da huy")); err != nil {
				t.Fatal(err)
			}
		}, false, "6 0 R", "Page 3 0 R (/Resources)"},
		{"fill that rewrites the page content as its appearance", func(r *pdf.Reader, u *pdf.Update) {
			fill(t, r, u, 7, "x", pdf.Ref{Num: 4})
			s := pdf.NewStream(pdf.NewDict(), []byte("BT /F1 14 Tf 72 700 Td (Quyet dinh so 01 ve viec chi 900 trieu dong) Tj ET"))
			if err := u.Replace(pdf.Ref{Num: 4}, s); err != nil {
				t.Fatal(err)
			}
		}, false, "4 0 R", "Page 3 0 R (/Contents)"},
		{"fill that rewrites another widget's appearance", func(r *pdf.Reader, u *pdf.Update) {
			fill(t, r, u, 5, "99", pdf.Ref{Num: 8})
			if err := u.Replace(pdf.Ref{Num: 8}, appearance("forged date")); err != nil {
				t.Fatal(err)
			}
		}, false, "8 0 R", "7 0 R (/AP)"},
		{"fill that borrows the page's XObject as its appearance", func(r *pdf.Reader, u *pdf.Update) {
			fill(t, r, u, 7, "x", pdf.Ref{Num: 6})
		}, false, "7 0 R", "shared with"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := check(t, update(t, signed, tc.edit), opts)
			s := rep.Signatures[0]
			m := s.Modifications
			if m.Permitted != tc.permitted {
				t.Fatalf("permitted = %v, want %v: %+v", m.Permitted, tc.permitted, m.Objects)
			}
			if tc.permitted {
				expect(t, s, TotalPassed, "", "B-B")
				return
			}
			expect(t, s, TotalFailed, SigConstraintsFailure, "B-B")
			var found bool
			for _, ch := range m.Objects {
				if ch.Object == tc.object && ch.Rule == NoRule && !ch.Permitted && strings.Contains(ch.Reason, tc.reason) {
					found = true
				}
			}
			t.Logf("%s", s.Errors)
			if !found {
				t.Fatalf("no %q without a rule mentioning %q: %+v", tc.object, tc.reason, m.Objects)
			}
			if len(s.Errors) == 0 || !strings.Contains(strings.Join(s.Errors, " "), "not permitted") {
				t.Fatalf("errors %q do not say why", s.Errors)
			}
		})
	}
}
