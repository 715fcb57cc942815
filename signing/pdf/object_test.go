package pdf

import (
	"bytes"
	"compress/lzw"
	"encoding/ascii85"
	"errors"
	"math"
	"reflect"
	"testing"
)

func writeString(t *testing.T, o Object) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteObject(&buf, o); err != nil {
		t.Fatalf("WriteObject(%#v): %v", o, err)
	}
	return buf.String()
}

func TestWriteObject(t *testing.T) {
	d := NewDict(DictEntry{"Type", Name("Sig")}, DictEntry{"A b", Integer(-3)})
	d.Set("Z", Bool(true))
	d.Set("Type", Name("Catalog")) // keeps its position
	tests := []struct {
		in   Object
		want string
	}{
		{Null{}, "null"},
		{Bool(false), "false"},
		{Integer(-42), "-42"},
		{Real(1.5), "1.5"},
		{Real(math.Copysign(0, -1)), "0.0"},
		{Real(3), "3.0"},
		{Real(1e20), "100000000000000000000.0"},
		{Real(0.000001), "0.000001"},
		{Name("Type"), "/Type"},
		{Name("A B#(x)/%"), "/A#20B#23#28x#29#2F#25"},
		{Name(""), "/"},
		{Name("Chữ"), "/Ch#E1#BB#AF"},
		{String{Value: []byte("a(b)c\\d\re\n")}, `(a\(b\)c\\d\re\n)`},
		{String{Value: []byte{0, 0xff}, Hex: true}, "<00ff>"},
		{Array{Integer(1), Ref{Num: 12}, Array{}}, "[1 12 0 R []]"},
		{d, "<< /Type /Catalog /A#20b -3 /Z true >>"},
		{&Dict{}, "<< >>"},
		{Ref{Num: 7, Gen: 2}, "7 2 R"},
		{ContentsPlaceholder("c", 2), "<0000>"},
		{NewStream(NewDict(DictEntry{"Length", Integer(99)}), []byte("xyz")), "<< /Length 3 >>\nstream\nxyz\nendstream"},
	}
	for _, tc := range tests {
		if got := writeString(t, tc.in); got != tc.want {
			t.Errorf("WriteObject(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	bad := []Object{nil, Real(math.NaN()), Real(math.Inf(1)), Name("a\x00b"), Array{NewStream(nil, nil)}, Array{nil}}
	for _, o := range bad {
		if err := WriteObject(&bytes.Buffer{}, o); !errors.Is(err, ErrInvalidObject) {
			t.Errorf("WriteObject(%#v) err = %v, want ErrInvalidObject", o, err)
		}
	}
	deep := Object(Integer(1))
	for i := 0; i < maxWriteDepth+5; i++ {
		deep = Array{deep}
	}
	if err := WriteObject(&bytes.Buffer{}, deep); !errors.Is(err, ErrInvalidObject) {
		t.Errorf("deep nesting err = %v", err)
	}
}

// parseOne parses a single object from b.
func parseOne(b []byte) (Object, error) {
	p := &parser{lx: newBytesLexer(b, 0, 1<<20), maxDepth: 100, maxItems: 1 << 16}
	return p.object(0)
}

func TestParseObject(t *testing.T) {
	tests := []struct {
		in   string
		want Object
	}{
		{"  % comment\n 12 0 R", Ref{Num: 12}},
		{"12 0", Integer(12)},
		{"+.5", Real(0.5)},
		{"-3.", Real(-3)},
		{"99999999999999999999", Real(1e20)},
		{"(a\\101\\7b\\\r\nc\r\nd\\q)", String{Value: []byte("aA\x07bc\ndq")}},
		{"((nested) \\) )", String{Value: []byte("(nested) ) ")}},
		{"<41 42 4>", String{Value: []byte("AB@"), Hex: true}},
		{"/A#20B", Name("A B")},
		{"[1 2 R 3 /N<<>>]", Array{Ref{Num: 1, Gen: 2}, Integer(3), Name("N"), &Dict{}}},
		{"[1 R]", nil},
		{"<< /A null /B 1 >>", NewDict(DictEntry{"B", Integer(1)})},
		{"<< /A >>", &Dict{}},
	}
	for _, tc := range tests {
		got, err := parseOne([]byte(tc.in))
		if tc.want == nil {
			// "1 R" without a generation is not a reference: R is a stray keyword.
			if err == nil {
				t.Errorf("parse %q = %#v, want error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parse %q: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parse %q = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "(unterminated", "<4G>", "<< /A 1", "[1 2", ">", ")", "<< 1 2 >>", "/A#2", "endobj", "-1 0 R", "1 70000 R"} {
		if _, err := parseOne([]byte(bad)); !isTyped(err) {
			t.Errorf("parse %q err = %v, want typed error", bad, err)
		}
	}
}

func TestRoundTripObjects(t *testing.T) {
	objs := []Object{
		NewDict(
			DictEntry{"Type", Name("Annot")},
			DictEntry{"T", TextString("Số hiệu văn bản")},
			DictEntry{"Bin", String{Value: []byte{0, 1, 2, '\r', '\n', '(', ')', '\\', 0xff}}},
			DictEntry{"Hex", String{Value: []byte{0xde, 0xad}, Hex: true}},
			DictEntry{"Rect", Array{Real(1.25), Integer(-7), Real(1e-5), Integer(math.MaxInt64)}},
			DictEntry{"Odd name #/()", Null{}},
			DictEntry{"P", Ref{Num: 1<<32 - 1, Gen: 65535}},
		),
	}
	for _, o := range objs {
		s := writeString(t, o)
		back, err := parseOne([]byte(s))
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		// A null entry disappears, as in any PDF reader.
		o.(*Dict).Delete("Odd name #/()")
		if !reflect.DeepEqual(back, o) {
			t.Errorf("round trip\n got %#v\nwant %#v", back, o)
		}
	}
}

func TestTextString(t *testing.T) {
	for _, s := range []string{"", "plain ascii", "Quyết định số 12/QĐ-UBND", "Hà Nội 😀"} {
		if got := TextString(s).Text(); got != s {
			t.Errorf("TextString(%q).Text() = %q", s, got)
		}
	}
	if v := TextString("abc").Value; string(v) != "abc" {
		t.Errorf("ASCII text encoded as %q", v)
	}
	if got := (String{Value: []byte("\xef\xbb\xbfvi\xe1\xbb\x87t")}).Text(); got != "việt" {
		t.Errorf("UTF-8 text = %q", got)
	}
	if got := (String{Value: []byte("caf\xe9")}).Text(); got != "café" {
		t.Errorf("PDFDoc text = %q", got)
	}
}

func TestDict(t *testing.T) {
	var d Dict
	d.Set("B", Integer(1))
	d.Set("A", Integer(2))
	d.Set("B", Integer(3))
	if got := d.Keys(); !reflect.DeepEqual(got, []Name{"B", "A"}) {
		t.Errorf("keys %v", got)
	}
	c := d.Clone()
	c.Set("C", Null{})
	c.Delete("B")
	if d.Len() != 2 || c.Len() != 2 || !d.Has("B") || c.Has("B") {
		t.Errorf("clone shares state: %v %v", d.Keys(), c.Keys())
	}
	d.Set("A", nil)
	if d.Has("A") {
		t.Error("Set(nil) did not delete")
	}
	var nilDict *Dict
	if nilDict.Get("X") != nil || nilDict.Len() != 0 {
		t.Error("nil dict not empty")
	}
}

func TestFilters(t *testing.T) {
	plain := []byte("The quick brown fox jumps over the lazy dog 0123456789")
	a85 := make([]byte, ascii85.MaxEncodedLen(len(plain)))
	a85 = a85[:ascii85.Encode(a85, plain)]
	tests := []struct {
		name string
		dict *Dict
		data []byte
	}{
		{"hex", NewDict(DictEntry{"Filter", Name("ASCIIHexDecode")}), []byte(hexSpaced(plain) + ">")},
		{"a85", NewDict(DictEntry{"Filter", Name("ASCII85Decode")}), append(append([]byte{}, a85...), "~>"...)},
		{"flate+hex", NewDict(DictEntry{"Filter", Array{Name("ASCIIHexDecode"), Name("FlateDecode")}}), []byte(hexSpaced(flateBytes(plain)) + ">")},
		{"raw deflate", NewDict(DictEntry{"Filter", Name("FlateDecode")}), flateBytes(plain)[2:]},
	}
	for _, tc := range tests {
		got, err := NewStream(tc.dict, tc.data).Decoded(0)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
	var gif, tif bytes.Buffer
	gw := lzw.NewWriter(&gif, lzw.MSB, 8)
	gw.Write(bytes.Repeat(plain, 500))
	gw.Close()
	tif.Write(lzwEncodeEarly(bytes.Repeat(plain, 500)))
	more := []struct {
		name string
		dict *Dict
		data []byte
	}{
		{"lzw early 1", NewDict(DictEntry{"Filter", Name("LZWDecode")}), tif.Bytes()},
		{"lzw early 0", NewDict(DictEntry{"Filter", Name("LZWDecode")}, DictEntry{"DecodeParms", NewDict(DictEntry{"EarlyChange", Integer(0)})}), gif.Bytes()},
	}
	for _, tc := range more {
		got, err := NewStream(tc.dict, tc.data).Decoded(0)
		if err != nil || !bytes.Equal(got, bytes.Repeat(plain, 500)) {
			t.Errorf("%s: %d bytes, %v", tc.name, len(got), err)
		}
	}
	// The variants differ once codes widen: the wrong one must not decode.
	wrong := NewDict(DictEntry{"Filter", Name("LZWDecode")}, DictEntry{"DecodeParms", NewDict(DictEntry{"EarlyChange", Integer(0)})})
	if got, err := NewStream(wrong, tif.Bytes()).Decoded(0); err == nil && bytes.Equal(got, bytes.Repeat(plain, 500)) {
		t.Error("EarlyChange is ignored")
	}
	rl := []byte{2, 'a', 'b', 'c', 254, 'x', 0, 'z', 128, 'q'}
	if got, err := NewStream(NewDict(DictEntry{"Filter", Name("RunLengthDecode")}), rl).Decoded(0); err != nil || string(got) != "abcxxxz" {
		t.Errorf("run length: %q, %v", got, err)
	}
	if _, err := NewStream(NewDict(DictEntry{"Filter", Name("FlateDecode")}), flateBytes(make([]byte, 1000))).Decoded(999); !errors.Is(err, ErrLimit) {
		t.Errorf("limit: %v", err)
	}
	if _, err := NewStream(NewDict(DictEntry{"Filter", Name("JBIG2Decode")}), nil).Decoded(0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unsupported: %v", err)
	}
}

func hexSpaced(b []byte) string {
	var s []byte
	for i, c := range b {
		if i%7 == 0 {
			s = append(s, ' ')
		}
		s = append(s, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(s)
}

// pngEncode applies PNG filter ft to every row (test-side encoder).
func pngEncode(data []byte, columns, bpp int, ft byte) []byte {
	var out []byte
	prev := make([]byte, columns)
	for i := 0; i < len(data); i += columns {
		row := data[i:min(i+columns, len(data))]
		out = append(out, ft)
		for j := range row {
			var a, b, c int
			if j >= bpp {
				a, c = int(row[j-bpp]), int(prev[j-bpp])
			}
			b = int(prev[j])
			var p byte
			switch ft {
			case 1:
				p = byte(a)
			case 2:
				p = byte(b)
			case 3:
				p = byte((a + b) / 2)
			case 4:
				p = paeth(a, b, c)
			}
			out = append(out, row[j]-p)
		}
		prev = append(prev[:0], row...)
		for len(prev) < columns {
			prev = append(prev, 0)
		}
	}
	return out
}

func TestPredictors(t *testing.T) {
	data := make([]byte, 12*20)
	for i := range data {
		data[i] = byte(i*7 + i*i/3)
	}
	for ft := byte(0); ft <= 4; ft++ {
		enc := pngEncode(data, 12, 3, ft)
		d := NewDict(DictEntry{"Filter", Name("FlateDecode")}, DictEntry{"DecodeParms", NewDict(
			DictEntry{"Predictor", Integer(12)}, DictEntry{"Colors", Integer(3)}, DictEntry{"Columns", Integer(4)})})
		got, err := NewStream(d, flateBytes(enc)).Decoded(0)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("PNG filter %d: %v\n got %v\nwant %v", ft, err, got[:24], data[:24])
		}
	}
	// TIFF predictor 2, 8 bits, 2 colors.
	var enc []byte
	for i := 0; i < len(data); i += 12 {
		row := data[i : i+12]
		for j := range row {
			if j >= 2 {
				enc = append(enc, row[j]-row[j-2])
			} else {
				enc = append(enc, row[j])
			}
		}
	}
	d := NewDict(DictEntry{"Filter", Name("FlateDecode")}, DictEntry{"DecodeParms", NewDict(
		DictEntry{"Predictor", Integer(2)}, DictEntry{"Colors", Integer(2)}, DictEntry{"Columns", Integer(6)})})
	if got, err := NewStream(d, flateBytes(enc)).Decoded(0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("TIFF predictor: %v", err)
	}
}

// lzwEncodeEarly is a test-side LZW encoder with EarlyChange 1 (codes widen
// one entry early), the PDF default, which compress/lzw does not produce.
// It tracks the decoder's state (hi, overflow) to pick each code's width.
func lzwEncodeEarly(data []byte) []byte {
	var out []byte
	var acc uint64
	var nbits uint
	width, hi, overflow := uint(9), 257, 512
	write := func(code int) {
		acc = acc<<width | uint64(code)
		nbits += width
		for nbits >= 8 {
			out = append(out, byte(acc>>(nbits-8)))
			nbits -= 8
		}
	}
	emit := func(code int) {
		write(code)
		hi++
		if hi+1 >= overflow && width < 12 {
			width++
			overflow <<= 1
		}
	}
	clear := func() {
		write(256)
		width, hi, overflow = 9, 257, 512
	}
	dict := map[string]int{}
	next := 258
	clear()
	code := func(w string) int {
		if len(w) == 1 {
			return int(w[0])
		}
		return dict[w]
	}
	w := ""
	for _, c := range data {
		wc := w + string([]byte{c})
		if _, ok := dict[wc]; ok || len(wc) == 1 {
			w = wc
			continue
		}
		emit(code(w))
		dict[wc] = next
		next++
		w = string([]byte{c})
		if next >= 4000 {
			emit(code(w))
			clear()
			dict = map[string]int{}
			next = 258
			w = ""
		}
	}
	if w != "" {
		emit(code(w))
	}
	write(257)
	if nbits > 0 {
		out = append(out, byte(acc<<(8-nbits)))
	}
	return out
}
