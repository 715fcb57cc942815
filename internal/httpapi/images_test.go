package httpapi_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"testing"

	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

func signaturePNG(t *testing.T, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 60, 30))
	for x := 5; x < 55; x++ {
		img.Set(x, 15+(x%7)-3, c)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A leader sets their own handwritten signature, an administrator the
// organization's seal; other people and other organizations cannot, and a
// file that is no PNG is refused and not kept.
func TestSignatureImages(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	leader := e.users["A.signer"]
	sig := signaturePNG(t, color.NRGBA{0, 0, 200, 255})
	if code, b := e.uploadAs("A.signer", "PUT", "/api/v1/users/"+leader.ID+"/signature-image", nil, "chu-ky.png", sig); code != http.StatusNoContent {
		t.Fatalf("own signature: %d %s", code, b)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/users/"+leader.ID+"/signature-image", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["A.admin"])
	if code, b := e.send(req); code != http.StatusOK || !bytes.Equal(b, sig) {
		t.Errorf("the admin reads the signature back: %d, %d bytes", code, len(b))
	}
	for _, who := range []string{"A.drafter", "B.admin"} {
		if code, _ := e.uploadAs(who, "PUT", "/api/v1/users/"+leader.ID+"/signature-image", nil, "x.png", sig); code != http.StatusForbidden && code != http.StatusNotFound {
			t.Errorf("%s sets the leader's signature: %d", who, code)
		}
	}
	if code, _ := e.uploadAs("A.clerk", "PUT", "/api/v1/seal-image", nil, "dau.png", signaturePNG(t, color.NRGBA{200, 0, 0, 255})); code != http.StatusForbidden {
		t.Errorf("a clerk sets the seal: %d", code)
	}
	if code, b := e.uploadAs("A.admin", "PUT", "/api/v1/seal-image", nil, "dau.png", signaturePNG(t, color.NRGBA{200, 0, 0, 255})); code != http.StatusNoContent {
		t.Fatalf("the admin sets the seal: %d %s", code, b)
	}
	key, err := e.db.SignatureImage(t.Context(), store.ImageOfOrg, e.orgA.ID)
	if err != nil || key == "" {
		t.Fatalf("seal on file: %q %v", key, err)
	}
	for name, body := range map[string][]byte{"a PDF": samplePDF(t), "a truncated PNG": sig[:len(sig)/2]} {
		if code, b := e.uploadAs("A.admin", "PUT", "/api/v1/seal-image", nil, "x.png", body); code != http.StatusUnprocessableEntity {
			t.Errorf("%s as the seal: %d %s", name, code, b)
		}
	}
	if again, _ := e.db.SignatureImage(t.Context(), store.ImageOfOrg, e.orgA.ID); again != key {
		t.Error("a refused image replaced the seal on file")
	}
	// The refused PDF is the same bytes as a draft's version: that
	// version must still download.
	d := e.draft("Quyết định có cùng tệp", "")
	if code, _ := e.uploadAs("A.admin", "PUT", "/api/v1/seal-image", nil, "x.png", samplePDF(t)); code != http.StatusUnprocessableEntity {
		t.Fatalf("a PDF as the seal: %d", code)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/api/v1/documents/"+d.ID+"/versions/1/file", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["A.drafter"])
	if code, b := e.send(req); code != http.StatusOK || !bytes.Equal(b, samplePDF(t)) {
		t.Errorf("the draft's PDF after a refused image upload of the same bytes: %d", code)
	}
}
