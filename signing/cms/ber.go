package cms

import "errors"

// maxBERDepth bounds nesting so hostile input cannot exhaust the stack.
const maxBERDepth = 64

var errBERTruncated = errors.New("truncated")

// normalizeBER re-encodes one BER element as DER as far as CMS parsing
// needs: indefinite lengths become definite, non-minimal lengths become
// minimal, and constructed OCTET STRINGs (as streaming encoders write
// eContent) become primitive. It does not sort SET OF members: signed
// attributes must be hashed as the signer sent them. Input that is already
// DER comes back byte-identical. rest is whatever follows the element.
func normalizeBER(in []byte) (out, rest []byte, err error) {
	return berElement(in, 0)
}

func berElement(in []byte, depth int) (out, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, errors.New("nesting too deep")
	}
	if len(in) < 2 {
		return nil, nil, errBERTruncated
	}
	// Identifier octets (high tag numbers continue in base-128).
	tagLen := 1
	if in[0]&0x1f == 0x1f {
		for {
			if tagLen >= len(in) {
				return nil, nil, errBERTruncated
			}
			b := in[tagLen]
			tagLen++
			if b&0x80 == 0 {
				break
			}
			if tagLen > 5 {
				return nil, nil, errors.New("tag number too large")
			}
		}
	}
	tag := in[:tagLen]
	constructed := in[0]&0x20 != 0
	p := in[tagLen:]
	if len(p) == 0 {
		return nil, nil, errBERTruncated
	}
	// Length octets.
	var content []byte
	indefinite := false
	switch l := p[0]; {
	case l < 0x80:
		p = p[1:]
		if int(l) > len(p) {
			return nil, nil, errBERTruncated
		}
		content, rest = p[:l], p[l:]
	case l == 0x80:
		if !constructed {
			return nil, nil, errors.New("indefinite length on a primitive element")
		}
		indefinite = true
		p = p[1:]
	default:
		n := int(l & 0x7f)
		if n > 4 || n+1 > len(p) {
			return nil, nil, errors.New("length too large or truncated")
		}
		length := 0
		for _, b := range p[1 : 1+n] {
			length = length<<8 | int(b)
		}
		p = p[1+n:]
		if length < 0 || length > len(p) {
			return nil, nil, errBERTruncated
		}
		content, rest = p[:length], p[length:]
	}

	if !constructed {
		return appendTLV(nil, tag, content), rest, nil
	}

	// Constructed: normalize children one by one.
	var body []byte
	flattenString := len(tag) == 1 && tag[0] == 0x24 // constructed OCTET STRING
	src := content
	if indefinite {
		src = p
	}
	for {
		if indefinite {
			if len(src) < 2 {
				return nil, nil, errBERTruncated
			}
			if src[0] == 0 && src[1] == 0 {
				rest = src[2:]
				break
			}
		} else if len(src) == 0 {
			break
		}
		child, r, err := berElement(src, depth+1)
		if err != nil {
			return nil, nil, err
		}
		src = r
		if flattenString {
			// Each segment is itself an OCTET STRING (primitive after normalization).
			if child[0] != 0x04 {
				return nil, nil, errors.New("constructed OCTET STRING holds a non-OCTET STRING segment")
			}
			_, c, err := splitTLV(child)
			if err != nil {
				return nil, nil, err
			}
			body = append(body, c...)
			continue
		}
		body = append(body, child...)
	}
	if flattenString {
		return appendTLV(nil, []byte{0x04}, body), rest, nil
	}
	return appendTLV(nil, tag, body), rest, nil
}

// appendTLV appends tag, a minimal DER length and content to dst.
func appendTLV(dst, tag, content []byte) []byte {
	dst = append(dst, tag...)
	n := len(content)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xff:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, content...)
}

// splitTLV returns the header length and content of a DER element whose
// tag is one byte.
func splitTLV(der []byte) (hdr int, content []byte, err error) {
	if len(der) < 2 {
		return 0, nil, errBERTruncated
	}
	l := der[1]
	if l < 0x80 {
		if 2+int(l) > len(der) {
			return 0, nil, errBERTruncated
		}
		return 2, der[2 : 2+int(l)], nil
	}
	n := int(l & 0x7f)
	if n == 0 || n > 4 || 2+n > len(der) {
		return 0, nil, errors.New("bad length")
	}
	length := 0
	for _, b := range der[2 : 2+n] {
		length = length<<8 | int(b)
	}
	if length < 0 || 2+n+length > len(der) {
		return 0, nil, errBERTruncated
	}
	return 2 + n, der[2+n : 2+n+length], nil
}
