package edxml_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"vanban/exchange/edxml"
)

// FuzzDecode: no input panics, errors are always *edxml.Error, and whatever
// decodes re-encodes to a package that decodes to the same thing. The seed
// corpus (the hand-written packages and testdata/fuzz/FuzzDecode) runs in
// every go test.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.edxml")
	more, _ := filepath.Glob("testdata/*.xml")
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	lim := edxml.Limits{MaxBytes: 1 << 20, MaxAttachmentSize: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		var contents [][]byte
		opt := edxml.DecodeOptions{Limits: lim, Attachment: func(a *edxml.Attachment, r io.Reader) error {
			b, err := io.ReadAll(r)
			contents = append(contents, b)
			return err
		}}
		msg, err := edxml.Decode(bytes.NewReader(data), opt)
		if err != nil {
			if _, ok := err.(*edxml.Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		var buf bytes.Buffer
		if msg.Status != nil {
			if err := edxml.EncodeStatus(&buf, msg.Status); err != nil {
				t.Fatalf("decoded status does not encode: %v", err)
			}
		} else {
			var rs []io.Reader
			for _, c := range contents {
				rs = append(rs, bytes.NewReader(c))
			}
			if err := edxml.Encode(&buf, msg.Package, rs); err != nil {
				t.Fatalf("decoded package does not encode: %v", err)
			}
		}
		contents = nil
		again, err := edxml.Decode(bytes.NewReader(buf.Bytes()), opt)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(again, msg) {
			t.Fatalf("re-encoded message differs\n got %#v\nwant %#v", again, msg)
		}
	})
}
