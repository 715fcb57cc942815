package pades

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/pades/appearance"
	"vanban/signing/signtest"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeTemp writes data to a temp file. With PADES_KEEP=dir the file is
// also copied there, to look at the outputs in a viewer.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	if dir := os.Getenv("PADES_KEEP"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sealPNG draws a red ring with a transparent background, like a scanned
// office seal.
func sealPNG(t testing.TB, c color.NRGBA) []byte {
	t.Helper()
	const n = 120
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			dx, dy := float64(x-n/2), float64(y-n/2)
			r2 := dx*dx + dy*dy
			if r2 < 58*58 && r2 > 48*48 || r2 < 8*8 {
				img.Set(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLeaderFillSeal is the document's life: the leader certifies with
// DocMDP P=2 and creates the number, date and seal fields; the system fills
// number and date; the clerk signs the seal field. Both signatures must
// stay valid.
func TestLeaderFillSeal(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	ctx := context.Background()
	s := loadTestSigner(t)
	ca := newTestCA(t, "Vanban Test Org CA")
	sealKey, sealChain := ca.issue(t, "Ủy ban nhân dân tỉnh Thành Long", "UBND tỉnh Thành Long", nil)

	orig := readFile(t, signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path)
	signTime := time.Date(2026, 11, 24, 7, 5, 9, 0, time.UTC)

	// 1. Leader: certification P=2, visible handwritten signature in blue.
	var leader bytes.Buffer
	err := Sign(ctx, bytes.NewReader(orig), int64(len(orig)), &leader, s.key, s.chain, Options{
		FieldName:   "LanhDao",
		Certify:     2,
		SigningTime: signTime,
		Reason:      "Ký ban hành",
		Appearance:  &Appearance{Page: 1, Rect: Rect{330, 120, 530, 200}, Image: sealPNG(t, color.NRGBA{0, 0, 200, 255}), Placement: appearance.ImageAbove, Lines: []string{"Nguyễn Văn Thử"}},
		Fields: []ExtraField{
			{Name: "SoVanBan", Kind: TextField, Page: 1, Rect: Rect{60, 740, 260, 760}, FontSize: 13, Align: appearance.AlignCenter},
			{Name: "NgayBanHanh", Kind: TextField, Page: 1, Rect: Rect{300, 740, 560, 760}, FontSize: 13},
			{Name: "DauCoQuan", Kind: SignatureField, Page: 1, Rect: Rect{280, 110, 400, 230}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	leaderPath := writeTemp(t, "1-leader.pdf", leader.Bytes())
	res := checkSigned(t, leaderPath, 1, s.caPEM)
	if !strings.Contains(res[0].Fields["Signature Type"]+res[0].SignatureType, "ETSI.CAdES.detached") {
		t.Errorf("signature type %q", res[0].SignatureType)
	}

	// 2. The system fills number and date.
	var filled bytes.Buffer
	err = FillFields(ctx, bytes.NewReader(leader.Bytes()), int64(leader.Len()), &filled, map[string]string{
		"SoVanBan":    "Số: 05/QĐ-UBND",
		"NgayBanHanh": "Thành Long, ngày 24 tháng 11 năm 2026",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(filled.Bytes(), leader.Bytes()) {
		t.Fatal("FillFields did not append")
	}
	filledPath := writeTemp(t, "2-filled.pdf", filled.Bytes())
	res = signtest.PDFSig(t, filledPath, s.caPEM)
	if len(res) < 1 || !res[0].SignatureValid() || res[0].TotalDocumentSigned {
		t.Fatalf("after filling, the leader's signature: %+v", res)
	}
	if err := signtest.QPDFCheck(t, filledPath); err != nil {
		t.Error(err)
	}
	text := pdftotext(t, filledPath, 1)
	for _, want := range []string{"05/QĐ-UBND", "ngày 24 tháng 11 năm 2026", "Nguyễn Văn Thử"} {
		if !strings.Contains(text, want) {
			t.Errorf("page 1 text lacks %q:\n%s", want, text)
		}
	}
	if m := signtest.MutoolVerify(t, filledPath); len(m) < 1 || !m[0].DigestValid() {
		t.Errorf("mutool after fill: %+v", m)
	}

	// 3. The clerk applies the seal into the prepared field, two-phase
	// across a JSON round trip of the state (as a SIM or HSM session would).
	var prepared bytes.Buffer
	st, err := Prepare(ctx, bytes.NewReader(filled.Bytes()), int64(filled.Len()), &prepared, Options{
		Chain:       sealChain,
		FieldName:   "DauCoQuan",
		SigningTime: signTime.Add(10 * time.Minute),
		Appearance:  &Appearance{Image: sealPNG(t, color.NRGBA{220, 0, 0, 255}), Placement: appearance.ImageBehind, Lines: []string{"UBND tỉnh Thành Long", appearance.FormatTime(signTime.Add(10 * time.Minute))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var loaded State
	if err := json.Unmarshal(js, &loaded); err != nil {
		t.Fatal(err)
	}
	req, err := loaded.Request("tx-1", "", "Đóng dấu")
	if err != nil {
		t.Fatal(err)
	}
	local, err := signing.NewLocal("test", sealKey, sealChain)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signing.SignAndWait(ctx, local, sealChain[0], req, signing.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var final bytes.Buffer
	if err := Finish(ctx, &loaded, bytes.NewReader(prepared.Bytes()), sig, &final); err != nil {
		t.Fatal(err)
	}
	finalPath := writeTemp(t, "3-sealed.pdf", final.Bytes())
	res = checkSigned(t, finalPath, 2, s.caPEM, ca.pem)
	if res[0].Field != "LanhDao" || res[1].Field != "DauCoQuan" {
		t.Errorf("signature fields %q, %q", res[0].Field, res[1].Field)
	}
	if err := signtest.OpenSSLVerifyLastSignature(t, finalPath, ca.pem); err != nil {
		t.Error(err)
	}
}

// TestTwoPhaseRejects checks that Finish fails closed.
func TestTwoPhaseRejects(t *testing.T) {
	ctx := context.Background()
	s := loadTestSigner(t)
	orig := readFile(t, signtest.CorpusFileNamed(t, "chromium.pdf").Path)
	var prepared bytes.Buffer
	st, err := Prepare(ctx, bytes.NewReader(orig), int64(len(orig)), &prepared, Options{Chain: s.chain})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(prepared.Bytes(), orig) {
		t.Fatal("prepared file does not start with the original")
	}
	good, err := s.key.Sign(nil, st.Digest(), mustHash(t, st))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer

	// A signature over another digest.
	other := append([]byte(nil), st.Digest()...)
	other[0] ^= 1
	bad, _ := s.key.Sign(nil, other, mustHash(t, st))
	if err := Finish(ctx, st, bytes.NewReader(prepared.Bytes()), bad, &out); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong signature: err = %v, want ErrBadSignature", err)
	}
	// A changed prepared file.
	changed := append([]byte(nil), prepared.Bytes()...)
	changed[100] ^= 1
	if err := Finish(ctx, st, bytes.NewReader(changed), good, &out); !errors.Is(err, ErrState) {
		t.Errorf("changed file: err = %v, want ErrState", err)
	}
	// A longer prepared file.
	if err := Finish(ctx, st, bytes.NewReader(append(prepared.Bytes(), '\n')), good, &out); !errors.Is(err, ErrState) {
		t.Errorf("longer file: err = %v, want ErrState", err)
	}
	// A corrupt state.
	broken := *st
	broken.ByteRange[3]++
	if err := Finish(ctx, &broken, bytes.NewReader(prepared.Bytes()), good, &out); !errors.Is(err, ErrState) {
		t.Errorf("corrupt state: err = %v, want ErrState", err)
	}
	// B-T without a TSA after a JSON round trip.
	bt := *st
	bt.Level = LevelBT
	if err := Finish(ctx, &bt, bytes.NewReader(prepared.Bytes()), good, &out); !errors.Is(err, ErrTimestamp) {
		t.Errorf("B-T without TSA: err = %v, want ErrTimestamp", err)
	}
	if out.Len() != 0 {
		t.Errorf("failed Finish calls wrote %d bytes", out.Len())
	}
	// The good signature still works.
	if err := Finish(ctx, st, bytes.NewReader(prepared.Bytes()), good, &out); err != nil {
		t.Fatal(err)
	}
}

// TestContentsTooSmall checks the typed error when the CMS does not fit.
func TestContentsTooSmall(t *testing.T) {
	s := loadTestSigner(t)
	orig := readFile(t, signtest.CorpusFileNamed(t, "chromium.pdf").Path)
	var out bytes.Buffer
	err := Sign(context.Background(), bytes.NewReader(orig), int64(len(orig)), &out, s.key, s.chain, Options{ContentsSize: 1000})
	if !errors.Is(err, ErrContentsTooSmall) {
		t.Fatalf("err = %v, want ErrContentsTooSmall", err)
	}
	if out.Len() != 0 {
		t.Error("output written despite the error")
	}
}

func mustHash(t testing.TB, st *State) crypto.Hash {
	t.Helper()
	h, err := st.HashFunc()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestBadInput checks that unusable inputs give typed errors.
func TestBadInput(t *testing.T) {
	s := loadTestSigner(t)
	orig := readFile(t, signtest.CorpusFileNamed(t, "libreoffice-writer.pdf").Path)
	userPW := userPasswordPDF(t, orig)
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"empty":         {nil, ErrNotPDF},
		"not a pdf":     {[]byte("<html><body>hello</body></html>\n"), ErrNotPDF},
		"truncated":     {orig[:len(orig)/2], ErrNotPDF},
		"header only":   {[]byte("%PDF-1.7\n%%EOF\n"), ErrNotPDF},
		"user password": {userPW, ErrUserPassword},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Sign(context.Background(), bytes.NewReader(c.in), int64(len(c.in)), &out, s.key, s.chain, Options{})
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if len(c.in) > 0 {
				var prepared bytes.Buffer
				_, err := Prepare(context.Background(), bytes.NewReader(c.in), int64(len(c.in)), &prepared, Options{Chain: s.chain})
				if !errors.Is(err, c.want) {
					t.Errorf("Prepare: err = %v, want %v", err, c.want)
				}
			}
		})
	}
	var out bytes.Buffer
	if err := Sign(context.Background(), bytes.NewReader(orig), int64(len(orig)), &out, s.key, nil, Options{}); !errors.Is(err, ErrOptions) {
		t.Errorf("no chain: err = %v, want ErrOptions", err)
	}
	if err := Sign(context.Background(), bytes.NewReader(orig), int64(len(orig)), &out, s.key, s.chain, Options{Appearance: &Appearance{Page: 9, Rect: Rect{0, 0, 10, 10}}}); !errors.Is(err, ErrOptions) {
		t.Errorf("page out of range: err = %v, want ErrOptions", err)
	}
	if err := FillFields(context.Background(), bytes.NewReader(orig), int64(len(orig)), &out, map[string]string{"Nope": "x"}); !errors.Is(err, ErrField) {
		t.Errorf("unknown field: err = %v, want ErrField", err)
	}
}

func userPasswordPDF(t testing.TB, orig []byte) []byte {
	t.Helper()
	qpdf := signtest.RequireTool(t, "qpdf")
	in := writeTemp(t, "in.pdf", orig)
	out := filepath.Join(t.TempDir(), "user.pdf")
	if b, err := exec.Command(qpdf, "--encrypt", "userpw", "ownerpw", "256", "--", in, out).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, b)
	}
	return readFile(t, out)
}
