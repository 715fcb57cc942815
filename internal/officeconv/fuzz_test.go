package officeconv

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheckPackage: the package scan reads untrusted ZIP and XML; whatever
// the bytes, it answers with nil or a typed *Error (or the context's
// error), never a panic.
func FuzzCheckPackage(f *testing.F) {
	zipOf := func(files map[string]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range files {
			w, _ := zw.Create(name)
			w.Write([]byte(body))
		}
		zw.Close()
		return buf.Bytes()
	}
	f.Add(zipOf(map[string]string{"word/document.xml": `<w:document xmlns:w="w"><w:body><w:p><w:r><w:instrText> INCLUDEPICTURE "http://x/" </w:instrText></w:r></w:p></w:body></w:document>`}), true)
	f.Add(zipOf(map[string]string{"word/_rels/document.xml.rels": `<Relationships><Relationship Id="r" Type="t" Target="file:///etc/passwd" TargetMode="External"/></Relationships>`}), true)
	f.Add(zipOf(map[string]string{"content.xml": `<o xmlns:xlink="x"><draw:image xlink:href="Pictures/a.png"/><text:a xlink:href="http://ok/">x</text:a></o>`}), false)
	f.Add(zipOf(map[string]string{"content.xml": `<o><draw:image href="&#x66;ile:///x"/><<<`}), false)
	f.Add([]byte("PK\x03\x04 not really"), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, docx bool) {
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ext := ".odt"
		if docx {
			ext = ".docx"
		}
		err := checkPackage(context.Background(), p, ext)
		if err == nil {
			return
		}
		if _, ok := err.(*Error); !ok {
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}
