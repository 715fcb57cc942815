package signtest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestCorpusManifestMatchesFiles(t *testing.T) {
	files := Corpus(t)
	if len(files) < 15 {
		t.Fatalf("corpus lists %d files, want the full set (>= 15)", len(files))
	}
	tools := map[string]bool{}
	for _, f := range files {
		tools[f.Tool] = true
		t.Run(f.Name, func(t *testing.T) {
			data, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 1<<20 {
				t.Errorf("%d bytes: corpus files must stay small", len(data))
			}
			info := PDFInfo(t, f.Path)
			if got := info["Pages"]; got != strconv.Itoa(f.Pages) {
				t.Errorf("pdfinfo Pages = %q, manifest %d", got, f.Pages)
			}
			if got := info["PDF version"]; got != f.PDFVersion {
				t.Errorf("pdfinfo PDF version = %q, manifest %q", got, f.PDFVersion)
			}
			if !strings.HasPrefix(info["Producer"], f.Producer) {
				t.Errorf("pdfinfo Producer = %q, manifest %q", info["Producer"], f.Producer)
			}
			if got := strings.HasPrefix(info["Encrypted"], "yes"); got != f.Encrypted {
				t.Errorf("pdfinfo Encrypted = %q, manifest %v", info["Encrypted"], f.Encrypted)
			}
			if f.Encrypted && f.OwnerPassword == "" {
				t.Error("encrypted corpus file without owner_password in the manifest")
			}
			if got := info["Optimized"] == "yes"; got != f.Linearized {
				t.Errorf("pdfinfo Optimized = %q, manifest linearized %v", info["Optimized"], f.Linearized)
			}
			wantForm := f.HasForms || f.Signed()
			if got := info["Form"] == "AcroForm"; got != wantForm {
				t.Errorf("pdfinfo Form = %q, want AcroForm: %v", info["Form"], wantForm)
			}
			for _, name := range f.FormFields {
				if !bytes.Contains(data, []byte("/T("+name+")")) && !bytes.Contains(data, []byte("/T ("+name+")")) {
					t.Errorf("form field %q not found in the file", name)
				}
			}
			claimsPDFA := bytes.Contains(data, []byte("pdfaid:part"))
			if claimsPDFA != (f.PDFA != "") {
				t.Errorf("XMP pdfaid present: %v, manifest pdfa %q", claimsPDFA, f.PDFA)
			}
			if f.PDFA != "" {
				part, conf := f.PDFA[:1], f.PDFA[1:]
				if !bytes.Contains(data, []byte("<pdfaid:part>"+part+"</pdfaid:part>")) ||
					!bytes.Contains(data, []byte("<pdfaid:conformance>"+conf+"</pdfaid:conformance>")) {
					t.Errorf("XMP does not claim PDF/A-%s", f.PDFA)
				}
			}
			if got := xrefKind(t, data); got != f.XRef {
				t.Errorf("last xref section is %q, manifest %q", got, f.XRef)
			}
			revisions := bytes.Count(data, []byte("%%EOF"))
			if f.Linearized {
				revisions-- // the first-page section ends with its own %%EOF
			}
			if revisions != f.Revisions {
				t.Errorf("%d revisions (%%%%EOF markers), manifest %d", revisions, f.Revisions)
			}
			ranges, err := SignedRanges(f.Path)
			switch {
			case f.Signed() && err != nil:
				t.Errorf("SignedRanges: %v", err)
			case !f.Signed() && err != ErrNoSignature:
				t.Errorf("SignedRanges on an unsigned file: %v, want ErrNoSignature", err)
			case len(ranges) != len(f.Signatures):
				t.Errorf("found %d signatures, manifest %d", len(ranges), len(f.Signatures))
			}
		})
	}
	for _, tool := range []string{"libreoffice", "chromium", "ghostscript", "pdftex", "qpdf", "itext5", "pdfbox2"} {
		if !tools[tool] {
			t.Errorf("no corpus file from %s", tool)
		}
	}
}

var xrefStreamRE = regexp.MustCompile(`^\d+\s+\d+\s+obj\s*<<`)

// xrefKind looks at the section startxref points to. It is deliberately separate from
// ExtractByteRangeAndContents: the manifest check must not trust the code it describes.
func xrefKind(t *testing.T, data []byte) string {
	t.Helper()
	tail := data[max(0, len(data)-64):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		t.Fatal("no startxref in the last 64 bytes")
	}
	fields := strings.Fields(string(tail[i+len("startxref"):]))
	if len(fields) == 0 {
		t.Fatal("startxref without offset")
	}
	off, err := strconv.Atoi(fields[0])
	if err != nil || off >= len(data) {
		t.Fatalf("bad startxref offset %q", fields[0])
	}
	section := data[off:]
	switch {
	case bytes.HasPrefix(section, []byte("xref")):
		trailer := section[:bytes.Index(section, []byte("startxref"))]
		if bytes.Contains(trailer, []byte("/XRefStm")) {
			return "hybrid"
		}
		return "table"
	case xrefStreamRE.Match(section[:min(len(section), 40)]):
		return "stream"
	}
	return "unknown"
}

func TestCorpusFileNamedAndPKI(t *testing.T) {
	f := CorpusFileNamed(t, "itext-signed.pdf")
	if !f.Signed() || f.Signatures[0].SubFilter != "ETSI.CAdES.detached" {
		t.Errorf("itext-signed.pdf: %+v", f)
	}
	if filepath.Base(f.Path) != f.Name || !filepath.IsAbs(f.Path) {
		t.Errorf("Path %q is not the absolute path of %q", f.Path, f.Name)
	}
	pki := TestPKI(t)
	for _, p := range []string{pki.CAPEM, pki.CAKey, pki.CACRL, pki.SignerPEM, pki.SignerKey, pki.SignerP12,
		pki.TSAPEM, pki.TSAKey, pki.OCSPPEM, pki.OCSPKey} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if pki.P12Password != "test" {
		t.Errorf("P12Password = %q", pki.P12Password)
	}
	// Corpus returns copies: changing one must not change the next call's result.
	files := Corpus(t)
	files[0].Name = "changed"
	if Corpus(t)[0].Name == "changed" {
		t.Error("Corpus shares its backing array between calls")
	}
}

func TestLoadManifestErrors(t *testing.T) {
	root := t.TempDir()
	if _, _, err := LoadManifest(root); err == nil {
		t.Error("missing manifest: no error")
	}
	dir := filepath.Join(root, "testdata", "corpus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"not json":       "{",
		"no files":       `{"files": []}`,
		"path traversal": `{"files": [{"name": "../go.mod"}]}`,
		"duplicate":      `{"files": [{"name": "a.pdf"}, {"name": "a.pdf"}]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadManifest(root); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
