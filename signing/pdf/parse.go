package pdf

import "math"

// parser turns tokens into objects under the reader's limits.
type parser struct {
	lx       *lexer
	maxDepth int
	maxItems int
}

// object parses one object. Streams are not handled here: the caller sees
// the "stream" keyword after a dictionary.
func (p *parser) object(depth int) (Object, error) {
	t, err := p.lx.next()
	if err != nil {
		return nil, err
	}
	return p.objectFrom(t, depth)
}

func (p *parser) objectFrom(t token, depth int) (Object, error) {
	switch t.kind {
	case tEOF:
		return nil, malformed(t.off, "unexpected end of data")
	case tInt:
		return p.intOrRef(t)
	case tReal:
		return Real(t.f), nil
	case tName:
		return Name(t.b), nil
	case tString:
		return String{Value: t.b}, nil
	case tHex:
		return String{Value: t.b, Hex: true}, nil
	case tArrOpen:
		if depth >= p.maxDepth {
			return nil, limitErr(t.off, "objects nested deeper than %d", p.maxDepth)
		}
		arr := Array{}
		for {
			e, err := p.lx.next()
			if err != nil {
				return nil, err
			}
			if e.kind == tArrClose {
				return arr, nil
			}
			if len(arr) >= p.maxItems {
				return nil, limitErr(t.off, "array with more than %d elements", p.maxItems)
			}
			v, err := p.objectFrom(e, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
	case tDictOpen:
		if depth >= p.maxDepth {
			return nil, limitErr(t.off, "objects nested deeper than %d", p.maxDepth)
		}
		// Repeated keys: the last value wins, as in qpdf and pdfium. The
		// index keeps that linear for dictionaries with many keys; a null
		// value leaves a hole (no entry) that is removed at the end.
		d := &Dict{}
		index := map[Name]int{}
		done := func() *Dict {
			live := d.entries[:0]
			for _, e := range d.entries {
				if e.Value != nil {
					live = append(live, e)
				}
			}
			d.entries = live
			return d
		}
		for {
			k, err := p.lx.next()
			if err != nil {
				return nil, err
			}
			if k.kind == tDictClose {
				return done(), nil
			}
			if k.kind != tName {
				return nil, malformed(k.off, "dictionary key is not a name")
			}
			if len(d.entries) >= p.maxItems {
				return nil, limitErr(t.off, "dictionary with more than %d entries", p.maxItems)
			}
			vt, err := p.lx.next()
			if err != nil {
				return nil, err
			}
			if vt.kind == tDictClose {
				// "/Key >>": a key without value. Seen in the wild; the
				// entry is equivalent to absent (null).
				return done(), nil
			}
			v, err := p.objectFrom(vt, depth+1)
			if err != nil {
				return nil, err
			}
			if _, isNull := v.(Null); isNull {
				v = nil // a null value is the same as no entry
			}
			key := Name(k.b)
			if i, ok := index[key]; ok {
				d.entries[i].Value = v
				continue
			}
			if v != nil {
				index[key] = len(d.entries)
				d.entries = append(d.entries, DictEntry{Key: key, Value: v})
			}
		}
	case tKeyword:
		switch string(t.b) {
		case "true":
			return Bool(true), nil
		case "false":
			return Bool(false), nil
		case "null":
			return Null{}, nil
		}
		return nil, malformed(t.off, "unexpected keyword %q", t.b)
	}
	return nil, malformed(t.off, "unexpected delimiter")
}

// intOrRef looks two tokens ahead for "gen R".
func (p *parser) intOrRef(t token) (Object, error) {
	t2, err := p.lx.next()
	if err != nil {
		return nil, err
	}
	if t2.kind != tInt {
		p.lx.unread(t2)
		return Integer(t.i), nil
	}
	t3, err := p.lx.next()
	if err != nil {
		return nil, err
	}
	if !t3.is("R") {
		p.lx.unread(t3)
		p.lx.unread(t2)
		return Integer(t.i), nil
	}
	if t.i < 0 || t.i > math.MaxUint32 || t2.i < 0 || t2.i > math.MaxUint16 {
		return nil, malformed(t.off, "reference %d %d R out of range", t.i, t2.i)
	}
	return Ref{Num: uint32(t.i), Gen: uint16(t2.i)}, nil
}
