package pdf

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Object is any PDF object: Null, Bool, Integer, Real, String, Name, Array,
// *Dict, Ref, *Stream, or a *Placeholder (writer only).
type Object interface {
	isObject()
}

// Null is the PDF null object.
type Null struct{}

// Bool is a PDF boolean.
type Bool bool

// Integer is a PDF integer.
type Integer int64

// Real is a PDF real number.
type Real float64

// String is a PDF string. Value holds the raw bytes (after unescaping and,
// for parsed objects of encrypted files, after decryption). Hex records the
// syntax it was read with and selects the syntax it is written with.
type String struct {
	Value []byte
	Hex   bool
}

// Name is a PDF name without the leading slash, with #xx escapes decoded.
type Name string

// Array is a PDF array.
type Array []Object

// Ref is an indirect reference "Num Gen R".
type Ref struct {
	Num uint32
	Gen uint16
}

func (Null) isObject()    {}
func (Bool) isObject()    {}
func (Integer) isObject() {}
func (Real) isObject()    {}
func (String) isObject()  {}
func (Name) isObject()    {}
func (Array) isObject()   {}
func (*Dict) isObject()   {}
func (Ref) isObject()     {}
func (*Stream) isObject() {}

// String formats the reference as it appears in a file, e.g. "12 0 R".
func (r Ref) String() string {
	return strconv.FormatUint(uint64(r.Num), 10) + " " + strconv.FormatUint(uint64(r.Gen), 10) + " R"
}

// IsZero reports whether r is the zero Ref (object 0 is never a real object).
func (r Ref) IsZero() bool { return r.Num == 0 && r.Gen == 0 }

// DictEntry is one key/value pair of a Dict.
type DictEntry struct {
	Key   Name
	Value Object
}

// Dict is a PDF dictionary that keeps its keys in insertion (or file) order,
// so that writing the same dictionary twice gives the same bytes. The zero
// value is an empty dictionary ready to use. Dictionaries are small in
// practice, so lookups are linear.
type Dict struct {
	entries []DictEntry
}

// NewDict returns a dictionary with the given entries, in order. Later
// duplicates replace earlier ones.
func NewDict(entries ...DictEntry) *Dict {
	d := &Dict{entries: make([]DictEntry, 0, len(entries))}
	for _, e := range entries {
		d.Set(e.Key, e.Value)
	}
	return d
}

// Len returns the number of entries.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.entries)
}

// Get returns the value for key, or nil when absent. Values are not resolved.
func (d *Dict) Get(key Name) Object {
	if d == nil {
		return nil
	}
	for i := range d.entries {
		if d.entries[i].Key == key {
			return d.entries[i].Value
		}
	}
	return nil
}

// Has reports whether key is present.
func (d *Dict) Has(key Name) bool { return d.Get(key) != nil }

// Set stores value under key, keeping the position of an existing key and
// appending a new one. Setting a nil value deletes the key.
func (d *Dict) Set(key Name, value Object) {
	if value == nil {
		d.Delete(key)
		return
	}
	for i := range d.entries {
		if d.entries[i].Key == key {
			d.entries[i].Value = value
			return
		}
	}
	d.entries = append(d.entries, DictEntry{Key: key, Value: value})
}

// Delete removes key if present.
func (d *Dict) Delete(key Name) {
	if d == nil {
		return
	}
	for i := range d.entries {
		if d.entries[i].Key == key {
			d.entries = append(d.entries[:i], d.entries[i+1:]...)
			return
		}
	}
}

// Keys returns the keys in order.
func (d *Dict) Keys() []Name {
	if d == nil {
		return nil
	}
	keys := make([]Name, len(d.entries))
	for i, e := range d.entries {
		keys[i] = e.Key
	}
	return keys
}

// Entries returns a copy of the entries in order.
func (d *Dict) Entries() []DictEntry {
	if d == nil {
		return nil
	}
	return append([]DictEntry(nil), d.entries...)
}

// Clone returns a shallow copy: a new Dict with the same values, so that
// setting keys on the copy leaves the original untouched.
func (d *Dict) Clone() *Dict {
	if d == nil {
		return &Dict{}
	}
	return &Dict{entries: append([]DictEntry(nil), d.entries...)}
}

// Name returns the value of key if it is a direct Name.
func (d *Dict) Name(key Name) (Name, bool) {
	n, ok := d.Get(key).(Name)
	return n, ok
}

// Int returns the value of key if it is a direct Integer.
func (d *Dict) Int(key Name) (int64, bool) {
	n, ok := d.Get(key).(Integer)
	return int64(n), ok
}

// Stream is a PDF stream: a dictionary plus data. A Stream parsed from a file
// reads its data lazily from the file (the file is never loaded in memory);
// a Stream made with NewStream holds its (encoded) data in memory.
type Stream struct {
	Dict *Dict

	// Parsed streams: where the raw (possibly encrypted, filtered) data lies.
	r      *Reader
	ref    Ref // object the stream belongs to, for decryption
	offset int64
	length int64
	// New streams: the filtered (encoded) but unencrypted data.
	data  []byte
	isNew bool
}

// NewStream returns a stream whose data is already encoded with the filters
// named in dict (none: raw bytes). The writer sets /Length and encrypts the
// data when the document is encrypted.
func NewStream(dict *Dict, encoded []byte) *Stream {
	if dict == nil {
		dict = &Dict{}
	}
	return &Stream{Dict: dict, data: encoded, isNew: true}
}

// NewFlateStream compresses plain with FlateDecode and returns the stream,
// setting /Filter on a copy of dict. Data shorter than flateMin is stored
// as it is, without /Filter: deflate would make it longer, and the first
// deflate writer of a process (its tables are about a megabyte) costs half
// a millisecond, a fifth of an invisible signature's own work.
func NewFlateStream(dict *Dict, plain []byte) *Stream {
	d := dict.Clone()
	d.Delete("DecodeParms")
	if len(plain) < flateMin {
		d.Delete("Filter")
		return NewStream(d, plain)
	}
	d.Set("Filter", Name("FlateDecode"))
	return NewStream(d, flateEncode(plain))
}

// flateMin is the least data NewFlateStream compresses.
const flateMin = 64

// Ref returns the object the stream was read from (zero for new streams).
func (s *Stream) Ref() Ref { return s.ref }

// Offset returns the absolute file offset of the raw stream data of a parsed
// stream, or -1 for a new stream.
func (s *Stream) Offset() int64 {
	if s.isNew {
		return -1
	}
	return s.offset
}

// RawLength returns the length of the stored data: the bytes between
// "stream" and "endstream" in the file (still encrypted), or the encoded
// data of a new stream.
func (s *Stream) RawLength() int64 {
	if s.isNew {
		return int64(len(s.data))
	}
	return s.length
}

// TextString encodes a Go string as a PDF text string: PDFDocEncoding when
// the text is printable ASCII, otherwise UTF-16BE with a byte order mark
// (needed for Vietnamese names, reasons and locations).
func TextString(s string) String {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return String{Value: []byte(s)}
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2, 2+2*len(u))
	b[0], b[1] = 0xfe, 0xff
	for _, c := range u {
		b = binary.BigEndian.AppendUint16(b, c)
	}
	return String{Value: b}
}

// Text decodes a PDF text string: UTF-16BE or UTF-8 with a byte order mark,
// otherwise PDFDocEncoding (treated as Latin-1 for the printable range, which
// matches PDFDocEncoding except for a few rarely used punctuation codes).
func (s String) Text() string {
	b := s.Value
	if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
		b = b[2:]
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			u = append(u, binary.BigEndian.Uint16(b[i:]))
		}
		return string(utf16.Decode(u))
	}
	if len(b) >= 3 && bytes.Equal(b[:3], []byte{0xef, 0xbb, 0xbf}) {
		return string(bytes.ToValidUTF8(b[3:], []byte(string(utf8.RuneError))))
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
