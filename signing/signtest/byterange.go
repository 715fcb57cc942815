package signtest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
)

// SignedRange is one signature's /ByteRange and /Contents, found by scanning the file's bytes.
type SignedRange struct {
	// ByteRange is [offset1 length1 offset2 length2] as written in the file.
	ByteRange [4]int64
	// ByteRangeOffset is where "/ByteRange" starts in the file.
	ByteRangeOffset int64
	// CMS is the DER signature from /Contents with the zero padding removed.
	CMS []byte
	// SubFilter is the /SubFilter of the signature dictionary holding this /ByteRange (for
	// example "ETSI.CAdES.detached" or "ETSI.RFC3161"), empty when none was found.
	SubFilter string
	// DirtyPadding is true when the bytes after the CMS in /Contents are not all zero. PDFBox
	// 2.0.27 does this on AES-256 files (the rest of an encrypted placeholder stays); poppler then
	// reports "Not total document signed". The CMS itself is still intact.
	DirtyPadding bool
}

// CoversWholeFile reports whether the range covers everything but /Contents up to size.
func (s SignedRange) CoversWholeFile(size int64) bool {
	return s.ByteRange[0] == 0 && s.ByteRange[2]+s.ByteRange[3] == size
}

// ExtractByteRangeAndContents returns the bytes covered by the last signature of file (the one
// whose byte range ends last) and its CMS. It is a TEST HELPER, not a PDF parser: it reads the
// whole file and scans for "/ByteRange [a b c d]" literally, then takes the hex string that must
// fill the gap between the two ranges. That is enough for files written by signers (signature
// dictionaries are never in object streams, and /Contents is never encrypted), and it is
// independent of our own parser, which is the point. Errors: ErrNoSignature,
// ErrMalformedSignature (wrapped with detail), or the read error.
func ExtractByteRangeAndContents(file string) (signedContent []byte, cms []byte, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("signtest: %w", err)
	}
	sigs, err := findSignedRanges(data)
	if err != nil {
		return nil, nil, err
	}
	last := sigs[len(sigs)-1]
	br := last.ByteRange
	signed := make([]byte, 0, br[1]+br[3])
	signed = append(signed, data[br[0]:br[0]+br[1]]...)
	signed = append(signed, data[br[2]:br[2]+br[3]]...)
	return signed, last.CMS, nil
}

// SignedRanges lists every signature of file found the same way as ExtractByteRangeAndContents,
// ordered by where their byte ranges end (the order they were applied in an append-only file).
func SignedRanges(file string) ([]SignedRange, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("signtest: %w", err)
	}
	return findSignedRanges(data)
}

// WriteSignedContent writes the bytes covered by br from file to w, streaming, for files too
// large to hold twice in memory.
func WriteSignedContent(w io.Writer, file string, br [4]int64) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("signtest: %w", err)
	}
	defer f.Close()
	for _, r := range [][2]int64{{br[0], br[1]}, {br[2], br[3]}} {
		if _, err := io.Copy(w, io.NewSectionReader(f, r[0], r[1])); err != nil {
			return fmt.Errorf("signtest: copying signed range: %w", err)
		}
	}
	return nil
}

func findSignedRanges(data []byte) ([]SignedRange, error) {
	key := []byte("/ByteRange")
	var found []SignedRange
	var firstErr error
	for pos := 0; ; {
		i := bytes.Index(data[pos:], key)
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + len(key)
		sr, err := parseSignedRange(data, at, pos)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		found = append(found, sr)
	}
	if len(found) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, ErrNoSignature
	}
	// Stable insertion sort by end of the second range, then by position: few elements.
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && rangeLess(found[j], found[j-1]); j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	return found, nil
}

func rangeLess(a, b SignedRange) bool {
	ea, eb := a.ByteRange[2]+a.ByteRange[3], b.ByteRange[2]+b.ByteRange[3]
	if ea != eb {
		return ea < eb
	}
	return a.ByteRangeOffset < b.ByteRangeOffset
}

func parseSignedRange(data []byte, at, pos int) (SignedRange, error) {
	malformed := func(format string, args ...any) error {
		return fmt.Errorf("%w: at offset %d: %s", ErrMalformedSignature, at, fmt.Sprintf(format, args...))
	}
	pos = skipSpace(data, pos)
	if pos >= len(data) || data[pos] != '[' {
		return SignedRange{}, malformed("/ByteRange is not followed by an array")
	}
	pos++
	var br [4]int64
	for k := 0; k < 4; k++ {
		pos = skipSpace(data, pos)
		start := pos
		for pos < len(data) && data[pos] >= '0' && data[pos] <= '9' {
			pos++
		}
		if start == pos || pos-start > 15 {
			return SignedRange{}, malformed("/ByteRange element %d is not a non-negative integer", k)
		}
		n, err := strconv.ParseInt(string(data[start:pos]), 10, 64)
		if err != nil {
			return SignedRange{}, malformed("/ByteRange element %d: %v", k, err)
		}
		br[k] = n
	}
	pos = skipSpace(data, pos)
	if pos >= len(data) || data[pos] != ']' {
		return SignedRange{}, malformed("/ByteRange does not have exactly four integers")
	}
	size := int64(len(data))
	if br[0]+br[1] > br[2] || br[2]+br[3] > size {
		return SignedRange{}, malformed("/ByteRange %v does not fit a file of %d bytes", br, size)
	}
	gap := data[br[0]+br[1] : br[2]]
	if len(gap) < 2 || gap[0] != '<' || gap[len(gap)-1] != '>' {
		return SignedRange{}, malformed("the gap of /ByteRange %v is not a hex string", br)
	}
	raw, err := hex.DecodeString(string(stripSpace(gap[1 : len(gap)-1])))
	if err != nil {
		return SignedRange{}, malformed("/Contents: %v", err)
	}
	cms, dirty, err := trimDER(raw)
	if err != nil {
		return SignedRange{}, malformed("/Contents: %v", err)
	}
	return SignedRange{ByteRange: br, ByteRangeOffset: int64(at), CMS: cms, DirtyPadding: dirty,
		SubFilter: subFilter(data, at, br)}, nil
}

// subFilter finds /SubFilter in the indirect object around the /ByteRange at offset at: from
// the last "obj" before it to the first "endobj" after it, skipping the /Contents hex string.
// Signature dictionaries are never in object streams, so the object's text is in the file.
func subFilter(data []byte, at int, br [4]int64) string {
	start := bytes.LastIndex(data[:at], []byte("obj"))
	if start < 0 {
		return ""
	}
	end := bytes.Index(data[at:], []byte("endobj"))
	if end < 0 {
		end = len(data)
	} else {
		end += at
	}
	gapStart, gapEnd := int(br[0]+br[1]), int(br[2])
	for _, part := range [][2]int{{start, min(end, gapStart)}, {max(start, gapEnd), end}} {
		if part[0] >= part[1] {
			continue
		}
		text := data[part[0]:part[1]]
		i := bytes.Index(text, []byte("/SubFilter"))
		if i < 0 {
			continue
		}
		rest := text[i+len("/SubFilter"):]
		j := skipSpace(rest, 0)
		if j >= len(rest) || rest[j] != '/' {
			continue
		}
		k := j + 1
		for k < len(rest) && !isPDFSpace(rest[k]) && !bytes.ContainsRune([]byte("/<>[]()"), rune(rest[k])) {
			k++
		}
		return string(rest[j+1 : k])
	}
	return ""
}

func skipSpace(data []byte, pos int) int {
	for pos < len(data) && isPDFSpace(data[pos]) {
		pos++
	}
	return pos
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func stripSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if !isPDFSpace(c) {
			out = append(out, c)
		}
	}
	return out
}

// trimDER cuts the padding signers leave after the signature in /Contents and reports whether
// that padding was anything but zeros. Most signers write DER; BouncyCastle (PDFBox) writes BER
// with indefinite lengths, so the end is found by walking the encoding rather than by reading
// one length.
func trimDER(raw []byte) (cms []byte, dirtyPadding bool, err error) {
	if len(raw) < 2 || raw[0] != 0x30 {
		return nil, false, fmt.Errorf("not a DER SEQUENCE")
	}
	end, err := berEnd(raw, 0, 0)
	if err != nil {
		return nil, false, err
	}
	for _, b := range raw[end:] {
		if b != 0 {
			dirtyPadding = true
			break
		}
	}
	return raw[:end], dirtyPadding, nil
}

// maxBERDepth bounds recursion on hostile input; real CMS nests about a dozen levels.
const maxBERDepth = 64

// berEnd returns the offset just after the BER element starting at pos.
func berEnd(data []byte, pos, depth int) (int, error) {
	if depth > maxBERDepth {
		return 0, fmt.Errorf("BER nested deeper than %d", maxBERDepth)
	}
	if pos >= len(data) {
		return 0, fmt.Errorf("truncated BER element")
	}
	tag := data[pos]
	pos++
	if tag&0x1f == 0x1f { // high tag number form: base-128 continuation bytes
		for {
			if pos >= len(data) {
				return 0, fmt.Errorf("truncated BER tag")
			}
			b := data[pos]
			pos++
			if b&0x80 == 0 {
				break
			}
		}
	}
	if pos >= len(data) {
		return 0, fmt.Errorf("truncated BER length")
	}
	l := data[pos]
	pos++
	switch {
	case l < 0x80:
		return checkedEnd(data, pos, int(l))
	case l == 0x80:
		if tag&0x20 == 0 {
			return 0, fmt.Errorf("indefinite length on a primitive BER element")
		}
		// Children until the end-of-contents marker 00 00.
		for {
			if pos+2 <= len(data) && data[pos] == 0 && data[pos+1] == 0 {
				return pos + 2, nil
			}
			next, err := berEnd(data, pos, depth+1)
			if err != nil {
				return 0, err
			}
			pos = next
		}
	case l > 0x84:
		return 0, fmt.Errorf("BER length of %d bytes is too large", l&0x7f)
	default:
		n := int(l & 0x7f)
		if pos+n > len(data) {
			return 0, fmt.Errorf("truncated BER length")
		}
		length := 0
		for _, b := range data[pos : pos+n] {
			length = length<<8 | int(b)
		}
		return checkedEnd(data, pos+n, length)
	}
}

func checkedEnd(data []byte, pos, length int) (int, error) {
	if length < 0 || length > len(data)-pos {
		return 0, fmt.Errorf("BER length %d exceeds the %d bytes left in /Contents", length, len(data)-pos)
	}
	return pos + length, nil
}
