package signtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestExtractByteRangeAndContentsCorpus(t *testing.T) {
	for _, f := range signedCorpus(t) {
		t.Run(f.Name, func(t *testing.T) {
			data, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			content, cms, err := ExtractByteRangeAndContents(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			ranges, err := SignedRanges(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			last := ranges[len(ranges)-1]
			if got, want := last.CoversWholeFile(int64(len(data))), f.Signatures[len(f.Signatures)-1].CoversWholeFile(); got != want {
				t.Errorf("last signature %v covers a file of %d bytes: %v, manifest %v", last.ByteRange, len(data), got, want)
			}
			br := last.ByteRange
			want := append(append([]byte(nil), data[br[0]:br[0]+br[1]]...), data[br[2]:br[2]+br[3]]...)
			if !bytes.Equal(content, want) {
				t.Error("signed content differs from the two ranges")
			}
			// The gap is exactly the hex string: "<" + hex + ">".
			gap := data[br[0]+br[1] : br[2]]
			if gap[0] != '<' || gap[len(gap)-1] != '>' || 2*len(cms) > len(gap)-2 {
				t.Errorf("CMS of %d bytes does not fit the gap of %d", len(cms), len(gap))
			}
			if cms[0] != 0x30 {
				t.Errorf("CMS starts with 0x%02x", cms[0])
			}
			// Only PDFBox on an AES-256 file leaves garbage after the CMS (see the manifest).
			if want := f.Name == "pdfbox-signed-aes256.pdf"; last.DirtyPadding != want {
				t.Errorf("DirtyPadding %v, want %v", last.DirtyPadding, want)
			}
			for i, r := range ranges {
				if r.SubFilter != f.Signatures[i].SubFilter {
					t.Errorf("signature %d: SubFilter %q, manifest %q", i, r.SubFilter, f.Signatures[i].SubFilter)
				}
			}
			// The earlier signatures of a multi-signature file do not cover the whole file.
			for _, r := range ranges[:len(ranges)-1] {
				if r.CoversWholeFile(int64(len(data))) {
					t.Errorf("earlier signature %v covers the whole file", r.ByteRange)
				}
			}
			var streamed bytes.Buffer
			if err := WriteSignedContent(&streamed, f.Path, br); err != nil || !bytes.Equal(streamed.Bytes(), want) {
				t.Errorf("WriteSignedContent: %v", err)
			}
		})
	}
}

func TestExtractByteRangeAndContentsErrors(t *testing.T) {
	if _, _, err := ExtractByteRangeAndContents(CorpusFileNamed(t, "libreoffice-writer.pdf").Path); !errors.Is(err, ErrNoSignature) {
		t.Errorf("unsigned: %v", err)
	}
	if _, _, err := ExtractByteRangeAndContents(filepath.Join(t.TempDir(), "missing.pdf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// Placeholders as signers write them before the signature exists, and damaged signatures.
	gap := "<3003020100000000>"
	for name, body := range map[string]string{
		"placeholder":     "/ByteRange [0 ********** ********** **********] /Contents <0000>",
		"three numbers":   "/ByteRange [0 10 20] " + gap,
		"past the end":    "/ByteRange [0 1 2 999999]" + gap,
		"overlap":         "/ByteRange [0 30 20 1]" + gap,
		"gap not hex":     fmt.Sprintf("/ByteRange [0 %d %d 2](%s)zz", 30, 30+len(gap), gap[1:len(gap)-1]),
		"huge number":     "/ByteRange [0 99999999999999999999 1 1]" + gap,
		"no array":        "/ByteRange 12 0 R",
		"not a sequence":  withGap("<0403000000>"),
		"bad hex":         withGap("<30030201zz>"),
		"long length":     withGap("<3085000000000100>"),
		"indef primitive": withGap("<30800480000000>"),
		"indef truncated": withGap("<308030>"),
	} {
		path := filepath.Join(t.TempDir(), "x.pdf")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ExtractByteRangeAndContents(path); !errors.Is(err, ErrMalformedSignature) {
			t.Errorf("%s: %v, want ErrMalformedSignature", name, err)
		}
	}
}

// withGap builds a tiny file whose /ByteRange points exactly around contents.
func withGap(contents string) string {
	prefix := "%PDF-1.7\n"
	// The ByteRange text has a fixed width so the offsets can be computed before writing it.
	head := prefix + "/ByteRange [0 0000000100 0000000200 0000000010] /Contents "
	start := len(head)
	end := start + len(contents)
	br := fmt.Sprintf("/ByteRange [0 %010d %010d %010d] /Contents ", start, end, 10)
	return prefix + br + contents + "0123456789"
}

func TestTrimDERIndefiniteLength(t *testing.T) {
	// SEQUENCE (indefinite) { INTEGER 5, SEQUENCE (indefinite) { OCTET STRING "ab" } } + padding.
	ber := []byte{0x30, 0x80, 0x02, 0x01, 0x05, 0x30, 0x80, 0x04, 0x02, 'a', 'b', 0, 0, 0, 0}
	got, dirty, err := trimDER(append(ber, 0, 0, 0, 0))
	if err != nil || !bytes.Equal(got, ber) || dirty {
		t.Errorf("trimDER = %x, %v, %v", got, dirty, err)
	}
	got, dirty, err = trimDER(append(ber, 0, 0xff, 0))
	if err != nil || !bytes.Equal(got, ber) || !dirty {
		t.Errorf("trimDER with garbage padding = %x, %v, %v", got, dirty, err)
	}
	deep := bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+2)
	if _, _, err := trimDER(deep); err == nil {
		t.Error("unbounded nesting accepted")
	}
}

func FuzzFindSignedRanges(f *testing.F) {
	f.Add([]byte(withGap("<3003020100>")))
	f.Add([]byte(withGap("<30800201050000>")))
	f.Add([]byte("/ByteRange [0 1 2 3]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sigs, err := findSignedRanges(data)
		if err != nil {
			return
		}
		for _, s := range sigs {
			br := s.ByteRange
			if br[0]+br[1] > br[2] || br[2]+br[3] > int64(len(data)) || len(s.CMS) == 0 {
				t.Fatalf("accepted an impossible range %v for %d bytes", br, len(data))
			}
		}
	})
}
