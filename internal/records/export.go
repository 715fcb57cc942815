package records

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/pdf"
)

// Export package members.
const (
	ExportIndex    = "muc-luc.pdf"
	ExportMetadata = "metadata.xml"
	ExportManifest = "manifest.json"
	ExportSeal     = "manifest.p7s"
	ExportDocDir   = "van-ban/"
)

// Metadata is metadata.xml: the file and its documents described with the
// fields of Circular 02/2019/TT-BNV (standard of input metadata for
// archival documents), element names as the circular gives them.
type Metadata struct {
	XMLName   xml.Name      `xml:"ArchivesMetadata"`
	Standard  string        `xml:"standard,attr"`
	File      FileMetadata  `xml:"File"`
	Documents []DocMetadata `xml:"Documents>Document"`
}

// FileMetadata describes the file (hồ sơ).
type FileMetadata struct {
	FileCode     string `xml:"FileCode"`
	OrganName    string `xml:"OrganName"`
	FileCatalog  int    `xml:"FileCatalog"` // the year of the file list
	FileNotation string `xml:"FileNotation"`
	Title        string `xml:"Title"`
	Maintenance  string `xml:"Maintenance"` // retention
	Rights       string `xml:"Rights"`
	Language     string `xml:"Language"`
	StartDate    string `xml:"StartDate"`
	EndDate      string `xml:"EndDate,omitempty"`
	DocTotal     int    `xml:"DocTotal"`
	PageTotal    int    `xml:"PageTotal"`
	Description  string `xml:"Description,omitempty"`
}

// DocMetadata describes one document of the file.
type DocMetadata struct {
	FileCode        string `xml:"FileCode"`
	DocOrdinal      int    `xml:"DocOrdinal"`
	TypeName        string `xml:"TypeName"`
	CodeNumber      string `xml:"CodeNumber"`
	CodeNotation    string `xml:"CodeNotation"`
	IssuedDate      string `xml:"IssuedDate"`
	OrganName       string `xml:"OrganName"`
	Subject         string `xml:"Subject"`
	Language        string `xml:"Language"`
	PageAmount      int    `xml:"PageAmount"`
	Description     string `xml:"Description,omitempty"`
	ConfidenceLevel string `xml:"ConfidenceLevel"`
	SignerInfo      string `xml:"SignerInfo,omitempty"`
	Format          string `xml:"Format"`
	// FileName and SHA256 tie the entry to its PDF in the package.
	FileName string `xml:"FileName"`
	SHA256   string `xml:"SHA256"`
}

// ExportManifestJSON is manifest.json.
type ExportManifestJSON struct {
	Format   string               `json:"format"`
	FileID   string               `json:"file_id"`
	FileCode string               `json:"file_code"`
	Created  time.Time            `json:"created_at"`
	Members  []ExportManifestItem `json:"members"`
}

// ExportManifestItem is one member's digest.
type ExportManifestItem struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ExportFormat tags the export manifest.
const ExportFormat = "vanban-file-export-v1"

// fileCode is the file's code (mã hồ sơ, Circular 02/2019): the
// organization, the year and the file notation.
func fileCode(org *document.Organization, f *document.RecordFile) string {
	notation := f.Notation
	if notation == "" {
		notation = fmt.Sprintf("%02d", f.Number)
	}
	return org.Abbrev + "." + strconv.Itoa(f.Year) + "." + notation
}

func vnDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(time.FixedZone("ICT", 7*3600)).Format("02/01/2006")
}

// docDate is the document's own date for the index: issue date, or the
// sender's date for incoming documents, or when it was made.
func docDate(d *document.Document) time.Time {
	for _, t := range []time.Time{d.IssuedAt, d.NumberedAt, d.SenderDate, d.ReceivedAt} {
		if !t.IsZero() {
			return t
		}
	}
	return d.CreatedAt
}

// Export writes the file as one package (ZIP): each document's final PDF
// in time order under van-ban/, the index (muc-luc.pdf), metadata.xml and
// a manifest of SHA-256 digests sealed by the organization. Every
// document must be visible to the actor.
func (s *Service) Export(ctx context.Context, a workflow.Actor, fileID string, w io.Writer) error {
	f, _, isKeeper, err := s.file(ctx, a, fileID)
	if err != nil {
		return err
	}
	if !isKeeper {
		return forbidden("exporting a file")
	}
	org, err := s.db.Organization(ctx, f.OrgID)
	if err != nil {
		return err
	}
	docs, err := s.db.FileDocuments(ctx, fileID)
	if err != nil {
		return err
	}
	code := fileCode(org, f)
	now := s.Now().UTC().Truncate(time.Second)
	zw := zip.NewWriter(w)
	var man []ExportManifestItem
	put := func(name string, b []byte) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		if _, err := fw.Write(b); err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		man = append(man, ExportManifestItem{Name: name, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	meta := Metadata{Standard: "Thông tư 02/2019/TT-BNV", File: FileMetadata{FileCode: code, OrganName: org.Name, FileCatalog: f.Year,
		FileNotation: f.Notation, Title: f.Title, Maintenance: f.Retention(), Rights: "Hạn chế sử dụng", Language: "Tiếng Việt",
		StartDate: vnDate(f.StartDate), EndDate: vnDate(f.EndDate), DocTotal: len(docs)}}
	index := &indexTable{
		Title: []string{"MỤC LỤC VĂN BẢN", fmt.Sprintf("Hồ sơ số %s: %s", cmpStr(f.Notation, strconv.Itoa(f.Number)), f.Title),
			fmt.Sprintf("%s — năm %d — thời hạn bảo quản: %s", org.Name, f.Year, f.Retention())},
		Headers:  []string{"STT", "Số, ký hiệu văn bản", "Ngày tháng văn bản", "Tác giả văn bản", "Trích yếu nội dung văn bản", "Tờ số", "Ghi chú"},
		Widths:   []float64{28, 82, 62, 92, 166, 46, 63},
		FontSize: 9,
	}
	sheet := 1 // the first sheet (tờ) of each document in the file
	for i, d := range docs {
		v, err := s.docs.Get(ctx, a, d.ID)
		if err != nil {
			return document.Errorf(document.EFORBIDDEN, "document %d of the file cannot be exported by you: %v", i+1, err)
		}
		if len(v.Versions) == 0 {
			return document.Errorf(document.ECONFLICT, "document %q has no PDF", d.Subject)
		}
		final := v.Versions[len(v.Versions)-1]
		b, err := s.readBlob(ctx, final.BlobKey)
		if err != nil {
			return err
		}
		pages, err := pageCount(b)
		if err != nil {
			return document.Errorf(document.ECONFLICT, "document %q: %v", d.Subject, err)
		}
		name := fmt.Sprintf("%s%03d.pdf", ExportDocDir, i+1)
		if err := put(name, b); err != nil {
			return err
		}
		typeName := d.TypeCode
		if t, err := s.db.DocumentType(ctx, d.TypeCode); err == nil {
			typeName = t.Name
		}
		number, notation := splitSymbol(d)
		author := org.Name
		if d.Direction == document.Incoming && d.SenderName != "" {
			author = d.SenderName
		}
		signer := ""
		if d.SignerID != "" {
			if u, err := s.db.User(ctx, d.SignerID); err == nil {
				signer = strings.TrimSpace(u.Title + " " + u.FullName)
			}
		}
		sum := sha256.Sum256(b)
		meta.Documents = append(meta.Documents, DocMetadata{FileCode: code, DocOrdinal: i + 1, TypeName: typeName, CodeNumber: number,
			CodeNotation: notation, IssuedDate: vnDate(docDate(d)), OrganName: author, Subject: d.Subject, Language: "Tiếng Việt",
			PageAmount: pages, ConfidenceLevel: string(d.Confidentiality), SignerInfo: signer, Format: "PDF/A-PAdES",
			FileName: name, SHA256: hex.EncodeToString(sum[:])})
		meta.File.PageTotal += pages
		sheets := strconv.Itoa(sheet)
		if pages > 1 {
			sheets += "–" + strconv.Itoa(sheet+pages-1)
		}
		index.Rows = append(index.Rows, []string{strconv.Itoa(i + 1), d.Symbol, vnDate(docDate(d)), author, d.Subject, sheets, ""})
		sheet += pages
	}
	var idx bytes.Buffer
	if _, err := writeIndexPDF(&idx, index); err != nil {
		return err
	}
	if err := put(ExportIndex, idx.Bytes()); err != nil {
		return err
	}
	xb, err := xml.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := put(ExportMetadata, append([]byte(xml.Header), xb...)); err != nil {
		return err
	}
	manifest, err := json.MarshalIndent(ExportManifestJSON{Format: ExportFormat, FileID: f.ID, FileCode: code, Created: now, Members: man}, "", "  ")
	if err != nil {
		return err
	}
	seal, err := s.sealer.Seal(ctx, f.OrgID, manifest)
	if err != nil {
		return fmt.Errorf("records: seal the export manifest: %w", err)
	}
	for _, m := range []struct {
		name string
		b    []byte
	}{{ExportManifest, manifest}, {ExportSeal, seal}} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		if _, err := fw.Write(m.b); err != nil {
			return err
		}
	}
	return zw.Close()
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// splitSymbol gives the number and the notation of the document's symbol
// ("01/QĐ-UBND" is 01 and QĐ-UBND).
func splitSymbol(d *document.Document) (number, notation string) {
	sym := d.Symbol
	if n, rest, ok := strings.Cut(sym, "/"); ok {
		return n, rest
	}
	if d.Number > 0 {
		return fmt.Sprintf("%02d", d.Number), sym
	}
	return "", sym
}

// maxExportPDF bounds one document read into memory for the export.
const maxExportPDF = 512 << 20

func (s *Service) readBlob(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := s.blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxExportPDF+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxExportPDF {
		return nil, document.Errorf(document.EINVALID, "a document of the file is larger than %d bytes", maxExportPDF)
	}
	return b, nil
}

func pageCount(b []byte) (int, error) {
	r, err := pdf.Open(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		return 0, err
	}
	return r.NumPages()
}
