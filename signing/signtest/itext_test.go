package signtest

import (
	"errors"
	"strings"
	"testing"
)

func TestItextVerifyCorpus(t *testing.T) {
	pki := TestPKI(t)
	for _, f := range signedCorpus(t) {
		t.Run(f.Name, func(t *testing.T) {
			results, err := RunItextVerify(t, f.Path, ItextVerifyOptions{CAPEM: pki.CAPEM, OwnerPassword: f.OwnerPassword})
			if quirk, ok := f.Quirks["itext5"]; ok {
				// A whole-file quirk: iText cannot read the file at all.
				if err == nil {
					t.Errorf("itext5 quirk %q no longer shows: %+v", quirk, results)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != len(f.Signatures) {
				t.Fatalf("iText found %d signatures, manifest %d", len(results), len(f.Signatures))
			}
			wantTotal := len(results)
			if !f.Signatures[len(f.Signatures)-1].CoversWholeFile() {
				wantTotal++ // iText counts the unsigned tail after the last signature as one revision
			}
			for i, r := range results {
				want := f.Signatures[i]
				if r.Name != want.Field || r.SubFilter != want.SubFilter {
					t.Errorf("signature %d: %+v, manifest %+v", i, r, want)
				}
				if r.Revision != i+1 || r.TotalRevisions != wantTotal {
					t.Errorf("signature %d: revision %d of %d, want %d of %d", i, r.Revision, r.TotalRevisions, i+1, wantTotal)
				}
				correct := r.Integrity && r.CertErrors == 0 && r.Digest == "SHA256" && !r.SignDate.IsZero() &&
					strings.Contains(r.Signer, "CN="+want.SignerCN) &&
					r.CoversWholeDocument == want.CoversWholeFile() && r.Timestamp == want.Timestamped
				if quirk, ok := f.Quirk("itext5", i); ok {
					if correct {
						t.Errorf("signature %d: itext5 quirk %q no longer shows; update manifest.json", i, quirk)
					}
					continue
				}
				if !correct {
					t.Errorf("signature %d: %+v, manifest %+v", i, r, want)
				}
				if want.Timestamped && want.SubFilter != "ETSI.RFC3161" && (!r.TimestampImprintValid || r.TimestampDate.IsZero()) {
					t.Errorf("signature %d: signature time-stamp imprint valid %v, date %v", i, r.TimestampImprintValid, r.TimestampDate)
				}
			}
		})
	}
}

func TestItextVerifyNegative(t *testing.T) {
	pki := TestPKI(t)
	signed := CorpusFileNamed(t, "itext-signed.pdf").Path
	tampered := ItextVerify(t, tamperedCopy(t, "itext-signed.pdf"), ItextVerifyOptions{CAPEM: pki.CAPEM})
	if len(tampered) != 1 || tampered[0].Integrity {
		t.Errorf("tampered: %+v", tampered)
	}
	wrongCA := ItextVerify(t, signed, ItextVerifyOptions{CAPEM: pki.SignerPEM})
	if len(wrongCA) != 1 || !wrongCA[0].Integrity || wrongCA[0].CertErrors == 0 || wrongCA[0].CertError == "" {
		t.Errorf("wrong CA: %+v", wrongCA)
	}
	noCA := ItextVerify(t, signed, ItextVerifyOptions{})
	if len(noCA) != 1 || noCA[0].CertErrors != -1 {
		t.Errorf("no CA: %+v", noCA)
	}
	if got := ItextVerify(t, CorpusFileNamed(t, "libreoffice-writer.pdf").Path, ItextVerifyOptions{}); len(got) != 0 {
		t.Errorf("unsigned: %+v", got)
	}
	var te *ToolError
	if _, err := RunItextVerify(t, CorpusFileNamed(t, "pdfbox-signed-aes256.pdf").Path, ItextVerifyOptions{}); !errors.As(err, &te) {
		t.Errorf("AES-256 file: %v, want *ToolError", err)
	}
}

func TestParseItextVerify(t *testing.T) {
	out := "name=S1\trevision=1\ttotal_revisions=2\tcovers_whole_document=false\tsub_filter=ETSI.CAdES.detached\t" +
		"digest=SHA256\tsigner=CN=A,C=VN\tsign_date=2026-11-25T08:16:04Z\tintegrity=true\tcert_errors=0\n" +
		"name=S2\trevision=2\ttotal_revisions=2\tcovers_whole_document=true\tsub_filter=adbe.pkcs7.detached\t" +
		"integrity=false\tintegrity_error=boom\n"
	r, err := ParseItextVerify(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 2 || r[0].Name != "S1" || r[0].CoversWholeDocument || !r[0].Integrity || r[0].Signer != "CN=A,C=VN" ||
		r[0].SignDate.Hour() != 8 || r[1].Integrity || r[1].IntegrityError != "boom" || !r[1].CoversWholeDocument {
		t.Errorf("%+v", r)
	}
	for name, bad := range map[string]string{
		"no name":      "revision=1\ttotal_revisions=1\n",
		"bad revision": "name=S\trevision=x\ttotal_revisions=1\n",
		"bad pair":     "name=S\tgarbage\n",
		"bad date":     "name=S\trevision=1\ttotal_revisions=1\tsign_date=yesterday\n",
		"bad errors":   "name=S\trevision=1\ttotal_revisions=1\tcert_errors=many\n",
	} {
		if _, err := ParseItextVerify(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
