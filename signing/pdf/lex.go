package pdf

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

const maxTokenLen = 1024

type tokKind uint8

const (
	tEOF tokKind = iota
	tInt
	tReal
	tName
	tString
	tHex
	tDictOpen
	tDictClose
	tArrOpen
	tArrClose
	tKeyword
)

type token struct {
	kind tokKind
	off  int64 // absolute offset of the first byte of the token
	i    int64
	f    float64
	b    []byte // string value, name, or keyword text
}

func (t token) is(kw string) bool { return t.kind == tKeyword && string(t.b) == kw }

// lexer tokenizes PDF syntax from a buffered reader and tracks the absolute
// offset of the next byte so that stream data and placeholders can be located.
type lexer struct {
	br        *bufio.Reader
	pos       int64 // absolute offset of the next unread byte
	back      []token
	maxString int
}

func isWhite(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// newFileLexer reads the file from off onwards.
func newFileLexer(ra io.ReaderAt, off, size int64, maxString int) *lexer {
	sr := io.NewSectionReader(ra, off, size-off)
	return &lexer{br: bufio.NewReaderSize(sr, 4096), pos: off, maxString: maxString}
}

// newBytesLexer reads b; offsets are relative to b's start plus base.
func newBytesLexer(b []byte, base int64, maxString int) *lexer {
	return &lexer{br: bufio.NewReaderSize(bytes.NewReader(b), 512), pos: base, maxString: maxString}
}

func (lx *lexer) readByte() (byte, error) {
	c, err := lx.br.ReadByte()
	if err == nil {
		lx.pos++
	}
	return c, err
}

func (lx *lexer) unreadByte() {
	if lx.br.UnreadByte() == nil {
		lx.pos--
	}
}

func (lx *lexer) unread(t token) { lx.back = append(lx.back, t) }

// skipSpace skips white space and comments.
func (lx *lexer) skipSpace() error {
	for {
		c, err := lx.readByte()
		if err != nil {
			return err
		}
		if isWhite(c) {
			continue
		}
		if c == '%' {
			for {
				c, err = lx.readByte()
				if err != nil {
					return err
				}
				if c == '\n' || c == '\r' {
					break
				}
			}
			continue
		}
		lx.unreadByte()
		return nil
	}
}

func (lx *lexer) next() (token, error) {
	if n := len(lx.back); n > 0 {
		t := lx.back[n-1]
		lx.back = lx.back[:n-1]
		return t, nil
	}
	if err := lx.skipSpace(); err != nil {
		if err == io.EOF {
			return token{kind: tEOF, off: lx.pos}, nil
		}
		return token{}, wrapIO(lx.pos, "reading token", err)
	}
	off := lx.pos
	c, err := lx.readByte()
	if err != nil {
		return token{}, wrapIO(off, "reading token", err)
	}
	switch c {
	case '[':
		return token{kind: tArrOpen, off: off}, nil
	case ']':
		return token{kind: tArrClose, off: off}, nil
	case '{', '}':
		// PostScript calculator braces: only meaningful inside type 4
		// function streams, which are data; as a token they are keywords.
		return token{kind: tKeyword, off: off, b: []byte{c}}, nil
	case '<':
		c2, err := lx.readByte()
		if err == nil && c2 == '<' {
			return token{kind: tDictOpen, off: off}, nil
		}
		if err == nil {
			lx.unreadByte()
		}
		return lx.hexString(off)
	case '>':
		c2, err := lx.readByte()
		if err == nil && c2 == '>' {
			return token{kind: tDictClose, off: off}, nil
		}
		return token{}, malformed(off, "unexpected '>'")
	case '(':
		return lx.literalString(off)
	case ')':
		return token{}, malformed(off, "unexpected ')'")
	case '/':
		return lx.name(off)
	}
	// A regular run: number or keyword.
	buf := []byte{c}
	for {
		c, err := lx.readByte()
		if err != nil {
			break
		}
		if isWhite(c) || isDelim(c) {
			lx.unreadByte()
			break
		}
		// Long enough for any finite real written out without exponent
		// (at most ~330 characters), so written numbers always read back.
		if len(buf) >= maxTokenLen {
			return token{}, malformed(off, "token longer than %d bytes", maxTokenLen)
		}
		buf = append(buf, c)
	}
	if t, ok := parseNumber(buf); ok {
		t.off = off
		return t, nil
	}
	return token{kind: tKeyword, off: off, b: buf}, nil
}

// parseNumber accepts PDF numbers: optional sign, digits, at most one period.
func parseNumber(b []byte) (token, bool) {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits, dots := 0, 0
	for ; i < len(b); i++ {
		switch {
		case b[i] >= '0' && b[i] <= '9':
			digits++
		case b[i] == '.':
			dots++
		default:
			return token{}, false
		}
	}
	if digits == 0 || dots > 1 {
		return token{}, false
	}
	s := string(b)
	if dots == 0 {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return token{kind: tInt, i: n}, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return token{}, false
	}
	return token{kind: tReal, f: f}, true
}

func (lx *lexer) name(off int64) (token, error) {
	var buf []byte
	for {
		c, err := lx.readByte()
		if err != nil {
			break
		}
		if isWhite(c) || isDelim(c) {
			lx.unreadByte()
			break
		}
		if c == '#' {
			h1, e1 := lx.readByte()
			h2, e2 := lx.readByte()
			v1, ok1 := unhex(h1)
			v2, ok2 := unhex(h2)
			if e1 != nil || e2 != nil || !ok1 || !ok2 {
				return token{}, malformed(off, "bad #xx escape in name")
			}
			c = v1<<4 | v2
		}
		if len(buf) >= 4096 {
			return token{}, malformed(off, "name longer than 4096 bytes")
		}
		buf = append(buf, c)
	}
	return token{kind: tName, off: off, b: buf}, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (lx *lexer) hexString(off int64) (token, error) {
	var buf []byte
	var hi byte
	half := false
	for {
		c, err := lx.readByte()
		if err != nil {
			return token{}, malformed(off, "unterminated hex string")
		}
		if c == '>' {
			break
		}
		if isWhite(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return token{}, malformed(lx.pos-1, "invalid character %q in hex string", c)
		}
		if half {
			buf = append(buf, hi<<4|v)
			if len(buf) > lx.maxString {
				return token{}, limitErr(off, "string longer than %d bytes", lx.maxString)
			}
		} else {
			hi = v
		}
		half = !half
	}
	if half { // odd number of digits: the last one is followed by 0
		buf = append(buf, hi<<4)
	}
	return token{kind: tHex, off: off, b: buf}, nil
}

func (lx *lexer) literalString(off int64) (token, error) {
	var buf []byte
	depth := 1
	for {
		c, err := lx.readByte()
		if err != nil {
			return token{}, malformed(off, "unterminated literal string")
		}
		if len(buf) > lx.maxString {
			return token{}, limitErr(off, "string longer than %d bytes", lx.maxString)
		}
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return token{kind: tString, off: off, b: buf}, nil
			}
		case '\r':
			// An unescaped end of line reads as a single LF.
			if c2, err := lx.readByte(); err == nil && c2 != '\n' {
				lx.unreadByte()
			}
			c = '\n'
		case '\\':
			e, err := lx.readByte()
			if err != nil {
				return token{}, malformed(off, "unterminated literal string")
			}
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if c2, err := lx.readByte(); err == nil && c2 != '\n' {
					lx.unreadByte()
				}
				continue // line continuation
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2; k++ {
						d, err := lx.readByte()
						if err != nil {
							break
						}
						if d < '0' || d > '7' {
							lx.unreadByte()
							break
						}
						v = v*8 + int(d-'0')
					}
					c = byte(v) // high-order overflow is ignored (ISO 32000 7.3.4.2)
				} else {
					c = e // \( \) \\ and unknown escapes: the character itself
				}
			}
		}
		buf = append(buf, c)
	}
}
