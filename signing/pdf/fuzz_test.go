package pdf

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func FuzzOpen(f *testing.F) {
	f.Add(basePDF(2))
	f.Add(hybridPDF())
	f.Add([]byte("%PDF-1.4\ntrailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF"))
	if ok, _ := lookQpdf(); ok {
		for _, args := range [][]string{
			{"--object-streams=generate"},
			{"--linearize"},
			{"--encrypt", "", "o", "256", "--", "--object-streams=generate"},
			{"--encrypt", "", "o", "128", "--use-aes=y", "--"},
			{"--allow-weak-crypto", "--encrypt", "", "o", "40", "--"},
		} {
			f.Add(qpdf(f, basePDF(2), args...))
		}
	}
	opts := &ReadOptions{MaxStreamSize: 1 << 20, MaxStringSize: 1 << 20, MaxContainerLen: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
		if err != nil {
			if !isTyped(err) {
				t.Fatalf("Open: untyped error %v", err)
			}
			return
		}
		typed := func(what string, err error) {
			if err != nil && !isTyped(err) {
				t.Fatalf("%s: untyped error %v", what, err)
			}
		}
		for i, ref := range r.Objects() {
			if i > 2000 {
				break
			}
			o, err := r.Resolve(ref)
			typed("Resolve", err)
			if s, ok := o.(*Stream); ok {
				_, err := s.Decoded(1 << 20)
				typed("Decoded", err)
			}
		}
		if n, err := r.NumPages(); err == nil {
			for i := 1; i <= min(n, 10); i++ {
				_, err := r.Page(i)
				typed("Page", err)
			}
		}
		_, err = r.AcroForm()
		typed("AcroForm", err)
		_, err = r.Revisions()
		typed("Revisions", err)
		u := NewUpdate(r)
		u.Add(NewDict(DictEntry{"S", String{Value: []byte("x")}}))
		if cat, err := r.Catalog(); err == nil {
			typed("Replace", u.Replace(r.Root(), cat))
		}
		_, err = u.Write(io.Discard)
		if err != nil && !isTyped(err) && !errors.Is(err, ErrInvalidObject) {
			t.Fatalf("Write: untyped error %v", err)
		}
	})
}

// equalObjects compares objects structurally (nil and empty containers alike).
func equalObjects(a, b Object) bool {
	switch x := a.(type) {
	case Array:
		y, ok := b.(Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalObjects(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for i, e := range x.entries {
			if y.entries[i].Key != e.Key || !equalObjects(e.Value, y.entries[i].Value) {
				return false
			}
		}
		return true
	case String:
		y, ok := b.(String)
		return ok && x.Hex == y.Hex && bytes.Equal(x.Value, y.Value)
	}
	return a == b
}

func FuzzWriteObject(f *testing.F) {
	for _, s := range []string{
		"<< /Type /Catalog /Pages 2 0 R /A [1 2.5 -3 (x\\(y) <00ff> /N#20x true null] >>",
		"(\\101\\r\\n\\\\)", "[[[<<>>]]]", "/A#23#00", "-.5", "99999999999999999999999",
		"<< /Contents <0000> /ByteRange [0 1 2 3] /Type /Sig >>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := parseOne(data)
		if err != nil {
			if !isTyped(err) {
				t.Fatalf("parse: untyped error %v", err)
			}
			return
		}
		var b1 bytes.Buffer
		if err := WriteObject(&b1, o); err != nil {
			if !errors.Is(err, ErrInvalidObject) {
				t.Fatalf("WriteObject: %v", err)
			}
			return
		}
		o2, err := parseOne(b1.Bytes())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b1.Bytes(), err)
		}
		if !equalObjects(o, o2) {
			t.Fatalf("round trip changed the object:\n%#v\n%#v\n(%q)", o, o2, b1.Bytes())
		}
		var b2 bytes.Buffer
		if err := WriteObject(&b2, o2); err != nil || !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatalf("second write differs: %q vs %q (%v)", b1.Bytes(), b2.Bytes(), err)
		}
	})
}
