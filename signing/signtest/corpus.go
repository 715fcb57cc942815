package signtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// CorpusFile describes one committed PDF in testdata/corpus, as listed in manifest.json.
type CorpusFile struct {
	// Name is the file name inside testdata/corpus; Path is its absolute path.
	Name string `json:"name"`
	Path string `json:"-"`

	Description string `json:"description"`
	// Producer is the /Producer entry in the document information (a prefix of what pdfinfo shows).
	Producer string `json:"producer"`
	// Tool names the program that wrote the last revision: libreoffice, chromium, ghostscript,
	// pdftex, qpdf, itext5, pdfbox2 or vanban-gen.
	Tool       string `json:"tool"`
	PDFVersion string `json:"pdf_version"`
	// PDFA is the claimed PDF/A part and conformance ("2B"), empty for other files.
	PDFA string `json:"pdfa,omitempty"`
	// XRef is the kind of the last cross-reference section: "table", "stream" or "hybrid".
	XRef       string `json:"xref"`
	Linearized bool   `json:"linearized"`
	Pages      int    `json:"pages"`
	// Revisions counts the original file plus each incremental update.
	Revisions int `json:"revisions"`

	Encrypted bool `json:"encrypted"`
	// Encryption is a human description such as "AES-256 (V5 R6)"; empty when not encrypted.
	Encryption string `json:"encryption,omitempty"`
	// OwnerPassword opens an encrypted file with full rights; the user password is always empty.
	OwnerPassword string `json:"owner_password,omitempty"`

	// HasForms is true when the file has fillable fields other than signature fields.
	HasForms   bool     `json:"has_forms"`
	FormFields []string `json:"form_fields,omitempty"`

	// Signatures lists existing signatures in the order they were applied.
	Signatures []CorpusSignature `json:"signatures"`

	// Quirks maps a validator name ("pdfsig", "mutool", ...) to a known, documented way in which
	// that validator misjudges this file. Tests that compare a validator's verdict with the
	// manifest must honour it, and should check that the quirk still shows.
	Quirks map[string]string `json:"quirks,omitempty"`
}

// Signed reports whether the file already carries at least one signature.
func (f CorpusFile) Signed() bool { return len(f.Signatures) > 0 }

// CorpusSignature describes one signature already present in a corpus file.
type CorpusSignature struct {
	Field     string `json:"field"`
	SubFilter string `json:"sub_filter"`
	SignerCN  string `json:"signer_cn"`
	// Certification is true for a certification (DocMDP) signature; DocMDPP is its /P value.
	Certification bool `json:"certification,omitempty"`
	DocMDPP       int  `json:"docmdp_p,omitempty"`
	// Timestamped is true for a signature with an RFC 3161 signature time-stamp (B-T) and for a
	// document time-stamp (SubFilter ETSI.RFC3161).
	Timestamped bool `json:"timestamped,omitempty"`
	// ChangedAfter says what later revisions changed: "" when the signature covers the whole
	// file, "signature" (only later signatures), "dss-timestamp" (a /DSS and a document
	// time-stamp: B-LT/B-LTA extension), "form-fill" (field values, allowed by DocMDP P=2) or
	// "annotation" (not allowed by any DocMDP level).
	ChangedAfter string `json:"changed_after"`
	// Quirks maps a validator name to a known way it misjudges this signature; see
	// CorpusFile.Quirks for whole-file problems.
	Quirks map[string]string `json:"quirks,omitempty"`
}

// Values of CorpusSignature.ChangedAfter.
const (
	ChangedNothing      = ""
	ChangedSignature    = "signature"
	ChangedDSSTimestamp = "dss-timestamp"
	ChangedFormFill     = "form-fill"
	ChangedAnnotation   = "annotation"
)

// CoversWholeFile reports whether no revision was appended after this signature.
func (s CorpusSignature) CoversWholeFile() bool { return s.ChangedAfter == ChangedNothing }

// PKI holds absolute paths of the committed test PKI (testdata/corpus/pki). The keys are test
// material only.
type PKI struct {
	CAPEM string
	CAKey string
	// CACRL is a CRL of the CA that revokes nothing, valid until 2046.
	CACRL       string
	SignerPEM   string
	SignerKey   string
	SignerP12   string
	P12Password string
	// TSAPEM/TSAKey: a time-stamping unit certificate (critical EKU timeStamping) for RFC 3161
	// tests, e.g. with openssl ts -reply.
	TSAPEM string
	TSAKey string
	// OCSPPEM/OCSPKey: a delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck), e.g.
	// for openssl ocsp -index ... on a loopback port.
	OCSPPEM string
	OCSPKey string
}

type manifest struct {
	PKI struct {
		CA          string `json:"ca"`
		CAKey       string `json:"ca_key"`
		CACRL       string `json:"ca_crl"`
		SignerCert  string `json:"signer_cert"`
		SignerKey   string `json:"signer_key"`
		SignerP12   string `json:"signer_p12"`
		P12Password string `json:"p12_password"`
		TSACert     string `json:"tsa_cert"`
		TSAKey      string `json:"tsa_key"`
		OCSPCert    string `json:"ocsp_cert"`
		OCSPKey     string `json:"ocsp_key"`
	} `json:"pki"`
	Files []CorpusFile `json:"files"`
}

// ErrNoRepoRoot is returned when no go.mod is found above the working directory.
var ErrNoRepoRoot = errors.New("signtest: no go.mod found in any parent directory")

// FindRepoRoot walks up from the working directory to the directory holding go.mod. Tests run in
// their package directory, so this finds the module root wherever the calling package lives.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("signtest: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepoRoot
		}
		dir = parent
	}
}

// RepoRoot is FindRepoRoot for tests: it fails the test when the root cannot be found.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := FindRepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// CorpusDir returns the absolute path of testdata/corpus.
func CorpusDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(RepoRoot(tb), "testdata", "corpus")
}

// LoadManifest reads and checks testdata/corpus/manifest.json under root. The result is not
// cached; Corpus and TestPKI cache it per process.
func LoadManifest(root string) (files []CorpusFile, pki PKI, err error) {
	dir := filepath.Join(root, "testdata", "corpus")
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, PKI{}, fmt.Errorf("signtest: corpus manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, PKI{}, fmt.Errorf("signtest: corpus manifest: %w", err)
	}
	if len(m.Files) == 0 {
		return nil, PKI{}, errors.New("signtest: corpus manifest lists no files")
	}
	seen := make(map[string]bool, len(m.Files))
	for i := range m.Files {
		f := &m.Files[i]
		// Names are plain file names: a path separator or ".." would escape the corpus directory.
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == ".." || seen[f.Name] {
			return nil, PKI{}, fmt.Errorf("signtest: corpus manifest: bad or duplicate name %q", f.Name)
		}
		seen[f.Name] = true
		f.Path = filepath.Join(dir, f.Name)
		for j, sig := range f.Signatures {
			switch sig.ChangedAfter {
			case ChangedNothing, ChangedSignature, ChangedDSSTimestamp, ChangedFormFill, ChangedAnnotation:
			default:
				return nil, PKI{}, fmt.Errorf("signtest: corpus manifest: %s signature %d: unknown changed_after %q", f.Name, j, sig.ChangedAfter)
			}
		}
	}
	abs := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	pki = PKI{
		CAPEM:       abs(m.PKI.CA),
		CAKey:       abs(m.PKI.CAKey),
		CACRL:       abs(m.PKI.CACRL),
		SignerPEM:   abs(m.PKI.SignerCert),
		SignerKey:   abs(m.PKI.SignerKey),
		SignerP12:   abs(m.PKI.SignerP12),
		P12Password: m.PKI.P12Password,
		TSAPEM:      abs(m.PKI.TSACert),
		TSAKey:      abs(m.PKI.TSAKey),
		OCSPPEM:     abs(m.PKI.OCSPCert),
		OCSPKey:     abs(m.PKI.OCSPKey),
	}
	return m.Files, pki, nil
}

var (
	manifestOnce  sync.Once
	manifestFiles []CorpusFile
	manifestPKI   PKI
	manifestErr   error
)

func loadManifest(tb testing.TB) ([]CorpusFile, PKI) {
	tb.Helper()
	manifestOnce.Do(func() {
		root, err := FindRepoRoot()
		if err != nil {
			manifestErr = err
			return
		}
		manifestFiles, manifestPKI, manifestErr = LoadManifest(root)
	})
	if manifestErr != nil {
		tb.Fatal(manifestErr)
	}
	return manifestFiles, manifestPKI
}

// Corpus lists the committed corpus files. The slice is a fresh copy, so callers may filter or
// reorder it.
func Corpus(tb testing.TB) []CorpusFile {
	tb.Helper()
	files, _ := loadManifest(tb)
	out := make([]CorpusFile, len(files))
	for i, f := range files {
		f.FormFields = append([]string(nil), f.FormFields...)
		f.Signatures = append([]CorpusSignature(nil), f.Signatures...)
		for j := range f.Signatures {
			f.Signatures[j].Quirks = copyQuirks(f.Signatures[j].Quirks)
		}
		f.Quirks = copyQuirks(f.Quirks)
		out[i] = f
	}
	return out
}

func copyQuirks(q map[string]string) map[string]string {
	if q == nil {
		return nil
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		out[k] = v
	}
	return out
}

// Quirk returns the documented misjudgement of validator for signature i of f, looking at the
// signature first and then at the whole file; ok is false when the validator is expected to be
// right.
func (f CorpusFile) Quirk(validator string, i int) (quirk string, ok bool) {
	if i >= 0 && i < len(f.Signatures) {
		if q, ok := f.Signatures[i].Quirks[validator]; ok {
			return q, true
		}
	}
	q, ok := f.Quirks[validator]
	return q, ok
}

// CorpusFileNamed returns the corpus file with the given name, failing the test if there is none.
func CorpusFileNamed(tb testing.TB, name string) CorpusFile {
	tb.Helper()
	for _, f := range Corpus(tb) {
		if f.Name == name {
			return f
		}
	}
	tb.Fatalf("signtest: no corpus file %q in manifest.json", name)
	return CorpusFile{}
}

// TestPKI returns the paths of the committed test CA, signer certificate, key and PKCS#12.
func TestPKI(tb testing.TB) PKI {
	tb.Helper()
	_, pki := loadManifest(tb)
	return pki
}
