package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/devpki"
	"vanban/signing/pades"
	"vanban/signing/verify"
)

// signedSample is the LibreOffice sample signed at B-B by a person of a
// development PKI the harness's validator does not trust.
func signedSample(t *testing.T) []byte {
	t.Helper()
	p, err := devpki.New("http://127.0.0.1:9", "")
	if err != nil {
		t.Fatal(err)
	}
	key, chain, err := p.IssueSigner("Trần Thị Giám Đốc", "Sở Y tế", devpki.KeyP256, devpki.Person)
	if err != nil {
		t.Fatal(err)
	}
	src := samplePDF(t)
	var out bytes.Buffer
	if err := pades.Sign(context.Background(), bytes.NewReader(src), int64(len(src)), &out, key, chain, pades.Options{Level: pades.LevelBB, Chain: chain}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestVerificationKeptAndRerun(t *testing.T) {
	signed := signedSample(t)
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		code, b := e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan,
			Subject: "Công văn có chữ ký", SenderName: "Sở Y tế", SenderSymbol: "7/SYT-VP"}, "cv.pdf", signed)
		if code != http.StatusCreated {
			t.Fatalf("register: %d %s", code, b)
		}
		var reg httpapi.IncomingRegistered
		e.must(json.Unmarshal(b, &reg))
		// The report made on receipt comes back with the registration:
		// an untrusted chain, not a forgery.
		if reg.Verification == nil || len(reg.Verification.Signatures) != 1 ||
			reg.Verification.Signatures[0].Indication != verify.Indeterminate || reg.Verification.Signatures[0].Signer.CommonName != "Trần Thị Giám Đốc" {
			t.Fatalf("verification on receipt: %+v", reg.Verification)
		}
		id := reg.Document.ID
		var list struct{ Items []httpapi.Verification }
		e.ok("A.clerk", "GET", "/api/v1/documents/"+id+"/verifications", nil, 200, &list)
		if len(list.Items) != 1 || list.Items[0].Indication != "INDETERMINATE" || list.Items[0].CreatedBy != e.users["A.clerk"].ID || list.Items[0].VersionSeq != 1 {
			t.Fatalf("kept: %+v", list.Items)
		}

		// The version's report is the kept one, not made again.
		var rep verify.Report
		e.ok("A.signer", "GET", "/api/v1/documents/"+id+"/versions/1/verification", nil, 200, &rep)
		if !rep.ValidationTime.Equal(list.Items[0].Report.ValidationTime) {
			t.Errorf("version report made at %s, kept one at %s", rep.ValidationTime, list.Items[0].Report.ValidationTime)
		}

		// Re-run by the leader: a second record, the first kept.
		var again httpapi.Verification
		e.ok("A.signer", "POST", "/api/v1/documents/"+id+"/verify", nil, 201, &again)
		if again.CreatedBy != e.users["A.signer"].ID || again.ID == list.Items[0].ID || len(again.Report.Signatures) != 1 {
			t.Fatalf("re-run: %+v", again)
		}
		e.ok("A.clerk", "GET", "/api/v1/documents/"+id+"/verifications", nil, 200, &list)
		if len(list.Items) != 2 || list.Items[1].ID != again.ID {
			t.Fatalf("after re-run: %+v", list.Items)
		}
		// Another organization sees nothing; bad versions are 4xx.
		e.ok("B.clerk", "POST", "/api/v1/documents/"+id+"/verify", nil, 404, nil)
		e.ok("B.clerk", "GET", "/api/v1/documents/"+id+"/verifications", nil, 404, nil)
		e.ok("A.clerk", "POST", "/api/v1/documents/"+id+"/verify?version=7", nil, 404, nil)
		e.ok("A.clerk", "POST", "/api/v1/documents/"+id+"/verify?version=x", nil, 422, nil)
		e.ok("", "POST", "/api/v1/documents/"+id+"/verify", nil, 401, nil)
	})
}
