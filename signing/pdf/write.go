package pdf

import (
	"bufio"
	"encoding/hex"
	"io"
	"math"
	"strconv"
	"strings"
)

// Placeholder is an Object the writer emits verbatim, never encrypted, and
// whose absolute output offset it reports in WriteResult.Placeholders under
// Name. The caller patches it later in place with a value of exactly the same
// width (see PatchHexString and PatchByteRange). Text must be a valid PDF
// object at its position (a hex string, an array, ...).
type Placeholder struct {
	Name string
	Text []byte
}

func (*Placeholder) isObject() {}

// ByteRangeWidth is the width of ByteRangePlaceholder: room for four
// ten-digit numbers, which covers files up to 9.3 GB.
const ByteRangeWidth = len("[0 ********** ********** **********]")

// ContentsPlaceholder reserves a hex string "<00…00>" able to hold n bytes
// (2n hex digits plus the angle brackets). PDF signatures must not be
// encrypted, which is why a placeholder, not a String, carries /Contents.
func ContentsPlaceholder(name string, n int) *Placeholder {
	t := make([]byte, 2*n+2)
	t[0] = '<'
	for i := 1; i < len(t)-1; i++ {
		t[i] = '0'
	}
	t[len(t)-1] = '>'
	return &Placeholder{Name: name, Text: t}
}

// ByteRangePlaceholder reserves "[0 ********** ********** **********]" for a
// /ByteRange array, to be filled with PatchByteRange once the offsets are known.
func ByteRangePlaceholder(name string) *Placeholder {
	return &Placeholder{Name: name, Text: []byte("[0 ********** ********** **********]")}
}

// WriteObject serializes obj in PDF syntax to w (no encryption). A *Stream is
// written as dictionary, "stream", data, "endstream" and is only accepted at
// the top level; placeholders are written verbatim.
func WriteObject(w io.Writer, obj Object) error {
	bw := bufio.NewWriter(w)
	ow := &objWriter{w: bw}
	ow.top(obj)
	if ow.err != nil {
		return ow.err
	}
	return bw.Flush()
}

// objWriter serializes objects, counts bytes (for placeholder offsets) and
// encrypts strings and stream data when crypt is set.
type objWriter struct {
	w     *bufio.Writer
	n     int64 // bytes written through this writer
	base  int64 // absolute output offset of the first byte written
	err   error
	crypt *securityHandler // nil: write plaintext
	ref   Ref              // object being written, selects the encryption key
	// noEncrypt disables string encryption inside the current object, used
	// for the values the PDF specification leaves unencrypted.
	noEncrypt    bool
	placeholders map[string]Span
	depth        int
}

func (ow *objWriter) write(b []byte) {
	if ow.err != nil {
		return
	}
	n, err := ow.w.Write(b)
	ow.n += int64(n)
	ow.err = err
}

func (ow *objWriter) writeString(s string) {
	if ow.err != nil {
		return
	}
	n, err := ow.w.WriteString(s)
	ow.n += int64(n)
	ow.err = err
}

func (ow *objWriter) fail(err error) {
	if ow.err == nil {
		ow.err = err
	}
}

// top writes a top-level object: like value, but streams are allowed.
func (ow *objWriter) top(obj Object) {
	if s, ok := obj.(*Stream); ok {
		ow.stream(s)
		return
	}
	ow.value(obj)
}

const maxWriteDepth = 256

func (ow *objWriter) value(obj Object) {
	if ow.err != nil {
		return
	}
	switch o := obj.(type) {
	case nil:
		ow.fail(invalidObject("nil object (use Null{})"))
	case Null:
		ow.writeString("null")
	case Bool:
		if o {
			ow.writeString("true")
		} else {
			ow.writeString("false")
		}
	case Integer:
		ow.writeString(strconv.FormatInt(int64(o), 10))
	case Real:
		f := float64(o)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			ow.fail(invalidObject("real %v has no PDF representation", f))
			return
		}
		if f == 0 {
			f = 0 // turn -0 into 0
		}
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0" // stays a real when read back
		}
		ow.writeString(s)
	case String:
		v := o.Value
		if ow.crypt != nil && !ow.noEncrypt {
			var err error
			if v, err = ow.crypt.encryptString(ow.ref, v); err != nil {
				ow.fail(err)
				return
			}
			// Ciphertext is binary: hex keeps the file readable and 7-bit.
			ow.write(appendHexString(nil, v))
			return
		}
		if o.Hex {
			ow.write(appendHexString(nil, v))
		} else {
			ow.write(appendLiteralString(nil, v))
		}
	case Name:
		b, err := appendName(nil, o)
		if err != nil {
			ow.fail(err)
			return
		}
		ow.write(b)
	case Array:
		ow.depth++
		if ow.depth > maxWriteDepth {
			ow.fail(invalidObject("nesting deeper than %d", maxWriteDepth))
			return
		}
		ow.writeString("[")
		for i, e := range o {
			if i > 0 {
				ow.writeString(" ")
			}
			ow.value(e)
		}
		ow.writeString("]")
		ow.depth--
	case *Dict:
		ow.dict(o)
	case Ref:
		ow.writeString(o.String())
	case *Stream:
		ow.fail(invalidObject("stream must be an indirect object, not nested"))
	case *Placeholder:
		if o == nil {
			ow.fail(invalidObject("nil placeholder"))
			return
		}
		if ow.placeholders != nil {
			if _, dup := ow.placeholders[o.Name]; dup {
				ow.fail(invalidObject("placeholder %q used twice", o.Name))
				return
			}
			ow.placeholders[o.Name] = Span{Offset: ow.base + ow.n, Length: int64(len(o.Text))}
		}
		ow.write(o.Text)
	default:
		ow.fail(invalidObject("unknown object type %T", obj))
	}
}

func (ow *objWriter) dict(d *Dict) {
	if d == nil {
		ow.writeString("<<>>")
		return
	}
	ow.depth++
	if ow.depth > maxWriteDepth {
		ow.fail(invalidObject("nesting deeper than %d", maxWriteDepth))
		return
	}
	// Signature dictionaries keep /Contents in clear (ISO 32000-2 7.6.2);
	// a Placeholder already is never encrypted, this covers a String value.
	saved := ow.noEncrypt
	sig := isSignatureDict(d)
	ow.writeString("<<")
	for _, e := range d.entries {
		ow.writeString(" ")
		b, err := appendName(nil, e.Key)
		if err != nil {
			ow.fail(err)
			return
		}
		ow.write(b)
		ow.writeString(" ")
		ow.noEncrypt = saved || (sig && e.Key == "Contents")
		ow.value(e.Value)
		ow.noEncrypt = saved
	}
	ow.writeString(" >>")
	ow.depth--
}

// isSignatureDict recognizes signature and document timestamp dictionaries,
// whose /Contents is not encrypted.
func isSignatureDict(d *Dict) bool {
	t, _ := d.Name("Type")
	if t == "Sig" || t == "DocTimeStamp" {
		return true
	}
	return d.Has("ByteRange") && d.Has("Contents") && d.Has("Filter")
}

// stream writes dict, keyword and data. /Length is set to the number of data
// bytes actually written (after encryption) on a copy of the dictionary.
func (ow *objWriter) stream(s *Stream) {
	if s == nil {
		ow.fail(invalidObject("nil stream"))
		return
	}
	src, n, err := s.encodedData()
	if err != nil {
		ow.fail(err)
		return
	}
	encrypt := ow.crypt != nil && !ow.noEncrypt && ow.crypt.encryptsStream(s.Dict)
	length := n
	if encrypt {
		length = ow.crypt.streamCipherLen(n)
	}
	d := s.Dict.Clone()
	d.Set("Length", Integer(length))
	ow.dict(d)
	ow.writeString("\nstream\n")
	if ow.err != nil {
		return
	}
	var dst io.Writer = countWriter{ow}
	var closer io.Closer
	if encrypt {
		wc, err := ow.crypt.streamEncrypter(ow.ref, dst)
		if err != nil {
			ow.fail(err)
			return
		}
		dst, closer = wc, wc
	}
	copied, err := io.Copy(dst, io.LimitReader(src, n))
	if err == nil && copied != n {
		err = malformed(s.offset, "stream data shorter than its length")
	}
	if err == nil && closer != nil {
		err = closer.Close()
	}
	if err != nil {
		ow.fail(err)
		return
	}
	ow.writeString("\nendstream")
}

// countWriter lets a stream copy go through objWriter's accounting.
type countWriter struct{ ow *objWriter }

func (c countWriter) Write(p []byte) (int, error) {
	if c.ow.err != nil {
		return 0, c.ow.err
	}
	n, err := c.ow.w.Write(p)
	c.ow.n += int64(n)
	if err != nil {
		c.ow.err = err
	}
	return n, err
}

// nameRegular reports whether c may appear unescaped in a name.
func nameRegular(c byte) bool {
	if c < 0x21 || c > 0x7e {
		return false
	}
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%', '#':
		return false
	}
	return true
}

func appendName(b []byte, n Name) ([]byte, error) {
	b = append(b, '/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == 0 {
			return nil, invalidObject("name %q contains a NUL byte", string(n))
		}
		if nameRegular(c) {
			b = append(b, c)
		} else {
			b = append(b, '#', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b, nil
}

const hexDigits = "0123456789ABCDEF"

func appendHexString(b []byte, v []byte) []byte {
	b = append(b, '<')
	b = hex.AppendEncode(b, v)
	return append(b, '>')
}

// appendLiteralString escapes exactly what a reader would otherwise change:
// backslash and parentheses (balanced or not), and CR (which readers turn
// into LF); other control bytes are escaped for readability.
func appendLiteralString(b []byte, v []byte) []byte {
	b = append(b, '(')
	for _, c := range v {
		switch c {
		case '\\', '(', ')':
			b = append(b, '\\', c)
		case '\r':
			b = append(b, '\\', 'r')
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, c)
		}
	}
	return append(b, ')')
}
