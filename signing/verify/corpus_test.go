package verify

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const corpusDir = "../../testdata/corpus"

type manifest struct {
	Files []struct {
		Name       string `json:"name"`
		Signatures []struct {
			Field         string `json:"field"`
			SubFilter     string `json:"sub_filter"`
			SignerCN      string `json:"signer_cn"`
			Certification bool   `json:"certification"`
			DocMDP        int    `json:"docmdp_p"`
			ChangedAfter  string `json:"changed_after"`
			Timestamped   bool   `json:"timestamped"`
		} `json:"signatures"`
	} `json:"files"`
}

func corpusRoots(t *testing.T) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "pki", "ca.pem"))
	if err != nil {
		t.Skipf("corpus PKI not present: %v", err)
	}
	blk, _ := pem.Decode(b)
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

func verifyFile(t *testing.T, path string, opts Options) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	rep, err := Verify(context.Background(), f, fi.Size(), opts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}

// TestCorpus validates the PDFs signed by iText 5 and PDFBox 2 against the
// manifest: field, SubFilter, signer, certification, and the kind of
// change made after signing.
func TestCorpus(t *testing.T) {
	roots := corpusRoots(t)
	b, err := os.ReadFile(filepath.Join(corpusDir, "manifest.json"))
	if err != nil {
		t.Skipf("corpus manifest not present: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		t.Run(f.Name, func(t *testing.T) {
			rep := verifyFile(t, filepath.Join(corpusDir, f.Name), Options{Roots: roots})
			if len(rep.Signatures) != len(f.Signatures) {
				t.Fatalf("%d signatures, manifest says %d", len(rep.Signatures), len(f.Signatures))
			}
			for i, want := range f.Signatures {
				got := rep.Signatures[i]
				t.Logf("%s: %s %s level %q modifications %v %q", got.Field, got.Indication, got.SubIndication, got.Level, got.Modifications.Categories, got.Modifications.Details)
				js, _ := json.MarshalIndent(got, "", "  ")
				// Producers update /Info (ModDate) when they append; that is
				// reported as metadata and permitted, so the manifest ignores it.
				cats := slices.DeleteFunc(slices.Clone(got.Modifications.Categories), func(c string) bool { return c == ModMetadata })
				if got.Field != want.Field || got.SubFilter != want.SubFilter || got.Signer == nil || got.Signer.CommonName != want.SignerCN {
					t.Fatalf("signature %d: %s", i, js)
				}
				if got.Certification != want.Certification || (want.Certification && got.DocMDP != want.DocMDP) {
					t.Fatalf("certification: %s", js)
				}
				if got.Indication != TotalPassed {
					t.Fatalf("indication %s/%s: %s", got.Indication, got.SubIndication, js)
				}
				switch want.ChangedAfter {
				case "":
					if len(cats) != 0 {
						t.Fatalf("unexpected modifications: %s", js)
					}
				case "annotation":
					if !slices.Equal(cats, []string{ModAnnotations}) {
						t.Fatalf("want annotations: %s", js)
					}
				case "form-fill":
					if !slices.Contains(cats, ModFormFill) || slices.Contains(cats, ModOther) {
						t.Fatalf("want form fill: %s", js)
					}
				case "dss-timestamp":
					// LT/LTA extension: a DSS, then a document time-stamp.
					for _, c := range cats {
						if c != ModDSS && c != ModSignatures {
							t.Fatalf("want only DSS and time-stamp changes: %s", js)
						}
					}
					if !slices.Contains(cats, ModDSS) {
						t.Fatalf("want DSS changes: %s", js)
					}
				case "signature":
					if !slices.Contains(cats, ModSignatures) || slices.Contains(cats, ModOther) {
						t.Fatalf("want signatures: %s", js)
					}
				default:
					t.Fatalf("manifest value %q not handled", want.ChangedAfter)
				}
				if want.Timestamped && (got.Timestamp == nil || !got.Timestamp.Valid) {
					t.Fatalf("want a valid time-stamp: %s", js)
				}
				wantLevel := ""
				if want.SubFilter == "ETSI.CAdES.detached" {
					switch {
					case want.ChangedAfter == "dss-timestamp":
						wantLevel = "B-LTA"
					case want.Timestamped:
						wantLevel = "B-T"
					default:
						wantLevel = "B-B"
					}
				}
				if got.Level != wantLevel {
					t.Fatalf("level %q, want %q: %s", got.Level, wantLevel, js)
				}
			}
		})
	}
}
