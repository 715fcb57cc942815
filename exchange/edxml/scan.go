package edxml

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Element is an XML element kept as it came: one this package does not
// know, or the XML-DSig Signature. Text is the element's character data
// (whitespace between child elements dropped).
type Element struct {
	Space    string     `json:"space,omitempty"`
	Local    string     `json:"local"`
	Attrs    []Attr     `json:"attrs,omitempty"`
	Text     string     `json:"text,omitempty"`
	Children []*Element `json:"children,omitempty"`
}

// Attr is an attribute; namespace declarations are not kept as attributes.
type Attr struct {
	Space string `json:"space,omitempty"`
	Local string `json:"local"`
	Value string `json:"value"`
}

// Child returns the first child with local name local in the edXML or no
// namespace, or nil.
func (e *Element) Child(local string) *Element {
	for _, c := range e.Children {
		if c.Local == local && isOurs(c.Space) {
			return c
		}
	}
	return nil
}

// Limits bound what Decode accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes          int64 // whole input; default 256 MiB
	MaxDepth          int   // element nesting; default 32
	MaxElements       int   // elements outside attachment content; default 20,000
	MaxText           int   // characters of one element's text (not attachment content); default 64 KiB
	MaxAttachments    int   // default 100
	MaxAttachmentSize int64 // decoded bytes of one attachment; default 100 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 256 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 20000
	}
	if l.MaxText <= 0 {
		l.MaxText = 64 << 10
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 100
	}
	if l.MaxAttachmentSize <= 0 {
		l.MaxAttachmentSize = 100 << 20
	}
	return l
}

// maxComment bounds a comment, which is skipped but must be read.
const maxComment = 64 << 10

// maxAttr bounds an attribute value; edXML carries data in elements, and
// attributes hold little more than namespace URIs and xlink references.
const maxAttr = 8 << 10

type tokKind int

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokText
)

type name struct{ prefix, local string }

func (n name) String() string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

type rawAttr struct {
	name  name
	value string
}

type token struct {
	kind      tokKind
	name      name
	space     string // resolved namespace of a start or end tag
	attrs     []Attr // resolved, without xmlns declarations
	selfClose bool
	text      string
	offset    int64
}

// countingReader enforces MaxBytes and tracks the offset for errors.
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
}

var errTooLarge = errors.New("input too large")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.max {
		// Allow one byte past the limit to tell "exactly max" from "more".
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.max-c.n {
		p = p[:c.max-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// scanner is a streaming XML tokenizer for the subset edXML uses: elements,
// attributes, namespaces, character data, CDATA, comments and processing
// instructions. DTDs and custom entities are refused.
type scanner struct {
	cr       *countingReader
	br       *bufio.Reader
	lim      Limits
	ns       []map[string]string // namespace scopes, innermost last
	stack    []name              // open elements
	path     []string            // local names of open elements, for errors
	elements int
	sawRoot  bool
	rootDone bool
}

func newScanner(r io.Reader, lim Limits) *scanner {
	cr := &countingReader{r: r, max: lim.MaxBytes}
	return &scanner{cr: cr, br: bufio.NewReaderSize(cr, 64<<10), lim: lim,
		ns: []map[string]string{{"xml": "http://www.w3.org/XML/1998/namespace"}}}
}

func (s *scanner) offset() int64 { return s.cr.n - int64(s.br.Buffered()) }

func (s *scanner) pathString() string { return strings.Join(s.path, "/") }

func (s *scanner) fail(kind Kind, format string, args ...any) *Error {
	e := errf(kind, s.pathString(), format, args...)
	e.Offset = s.offset()
	return e
}

// ioErr turns a read error into an *Error: the size limit, a truncated
// document or a failing reader.
func (s *scanner) ioErr(err error) *Error {
	switch {
	case errors.Is(err, errTooLarge):
		return s.fail(KindLimit, "package larger than %d bytes", s.lim.MaxBytes)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return s.fail(KindSyntax, "unexpected end of input")
	}
	e := s.fail(KindIO, "reading package")
	e.Err = err
	return e
}

func (s *scanner) readByte() (byte, error) {
	b, err := s.br.ReadByte()
	if err != nil {
		return 0, s.ioErr(err)
	}
	return b, nil
}

func (s *scanner) peekIs(prefix string) bool {
	b, _ := s.br.Peek(len(prefix))
	return string(b) == prefix
}

func (s *scanner) skipSpace() error {
	for {
		b, err := s.br.Peek(1)
		if err != nil {
			return s.ioErr(err)
		}
		if !isSpace(b[0]) {
			return nil
		}
		s.br.ReadByte()
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// readUntil consumes up to and including delim and returns what came
// before it, refusing more than max bytes.
func (s *scanner) readUntil(delim string, max int, what string) (string, error) {
	var buf bytes.Buffer
	for {
		b, err := s.readByte()
		if err != nil {
			return "", err
		}
		buf.WriteByte(b)
		if buf.Len() > max+len(delim) {
			return "", s.fail(KindLimit, "%s longer than %d bytes", what, max)
		}
		if b == delim[len(delim)-1] && bytes.HasSuffix(buf.Bytes(), []byte(delim)) {
			return string(buf.Bytes()[:buf.Len()-len(delim)]), nil
		}
	}
}

// next returns the next start tag, end tag or text run. Comments and
// processing instructions are skipped; CDATA sections come back as text.
// Text is limited to MaxText; use streamText for attachment content.
func (s *scanner) next() (token, error) {
	for {
		off := s.offset()
		b, err := s.br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) && len(s.stack) == 0 {
				if !s.sawRoot {
					return token{}, s.fail(KindSyntax, "no root element")
				}
				return token{kind: tokEOF}, nil
			}
			return token{}, s.ioErr(err)
		}
		if b[0] != '<' {
			text, err := s.readText(s.lim.MaxText)
			if err != nil {
				return token{}, err
			}
			if len(s.stack) == 0 && strings.TrimSpace(text) != "" {
				return token{}, s.fail(KindSyntax, "text outside the root element")
			}
			return token{kind: tokText, text: text, offset: off}, nil
		}
		switch {
		case s.peekIs("<?"):
			s.br.Discard(2)
			pi, err := s.readUntil("?>", 4096, "processing instruction")
			if err != nil {
				return token{}, err
			}
			if err := s.checkDeclaration(pi); err != nil {
				return token{}, err
			}
			continue
		case s.peekIs("<!--"):
			s.br.Discard(4)
			if _, err := s.readUntil("-->", maxComment, "comment"); err != nil {
				return token{}, err
			}
			continue
		case s.peekIs("<![CDATA["):
			if len(s.stack) == 0 {
				return token{}, s.fail(KindSyntax, "CDATA outside the root element")
			}
			text, err := s.readText(s.lim.MaxText)
			if err != nil {
				return token{}, err
			}
			return token{kind: tokText, text: text, offset: off}, nil
		case s.peekIs("<!DOCTYPE"), s.peekIs("<!ENTITY"):
			return token{}, s.fail(KindForbidden, "document type declarations (DTD) are not accepted")
		case s.peekIs("<!"):
			return token{}, s.fail(KindSyntax, "unexpected markup declaration")
		case s.peekIs("</"):
			s.br.Discard(2)
			return s.endTag(off)
		default:
			s.br.Discard(1)
			return s.startTag(off)
		}
	}
}

// checkDeclaration refuses an XML declaration naming an encoding other than
// UTF-8 (and its ASCII subset): we read bytes as UTF-8.
func (s *scanner) checkDeclaration(pi string) error {
	if !strings.HasPrefix(pi, "xml") || (len(pi) > 3 && !isSpace(pi[3])) {
		return nil
	}
	i := strings.Index(pi, "encoding")
	if i < 0 {
		return nil
	}
	rest := strings.TrimLeft(pi[i+len("encoding"):], " \t\r\n=")
	if rest == "" {
		return s.fail(KindSyntax, "malformed XML declaration")
	}
	q := rest[0]
	end := strings.IndexByte(rest[1:], q)
	if (q != '"' && q != '\'') || end < 0 {
		return s.fail(KindSyntax, "malformed XML declaration")
	}
	switch strings.ToLower(rest[1 : 1+end]) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return nil
	}
	return s.fail(KindForbidden, "encoding %q is not accepted (edXML is UTF-8)", rest[1:1+end])
}

func (s *scanner) readName() (name, error) {
	var buf []byte
	for {
		b, err := s.br.Peek(1)
		if err != nil {
			return name{}, s.ioErr(err)
		}
		c := b[0]
		if isSpace(c) || c == '>' || c == '/' || c == '=' {
			break
		}
		if c == '<' || c == '"' || c == '\'' || c == '&' {
			return name{}, s.fail(KindSyntax, "invalid character %q in a name", c)
		}
		s.br.ReadByte()
		buf = append(buf, c)
		if len(buf) > 256 {
			return name{}, s.fail(KindLimit, "name longer than 256 bytes")
		}
	}
	if len(buf) == 0 || !utf8.Valid(buf) {
		return name{}, s.fail(KindSyntax, "missing or invalid name")
	}
	str := string(buf)
	if c := str[0]; c == '-' || c == '.' || (c >= '0' && c <= '9') {
		return name{}, s.fail(KindSyntax, "invalid name %q", str)
	}
	if i := strings.IndexByte(str, ':'); i >= 0 {
		if i == 0 || i == len(str)-1 || strings.IndexByte(str[i+1:], ':') >= 0 {
			return name{}, s.fail(KindSyntax, "invalid qualified name %q", str)
		}
		return name{prefix: str[:i], local: str[i+1:]}, nil
	}
	return name{local: str}, nil
}

func (s *scanner) startTag(off int64) (token, error) {
	if s.rootDone {
		return token{}, s.fail(KindSyntax, "second root element")
	}
	n, err := s.readName()
	if err != nil {
		return token{}, err
	}
	var raw []rawAttr
	selfClose := false
	for {
		if err := s.skipSpace(); err != nil {
			return token{}, err
		}
		b, err := s.readByte()
		if err != nil {
			return token{}, err
		}
		if b == '>' {
			break
		}
		if b == '/' {
			if b, err = s.readByte(); err != nil {
				return token{}, err
			}
			if b != '>' {
				return token{}, s.fail(KindSyntax, "expected '>' after '/' in <%s>", n)
			}
			selfClose = true
			break
		}
		s.br.UnreadByte()
		an, err := s.readName()
		if err != nil {
			return token{}, err
		}
		if err := s.skipSpace(); err != nil {
			return token{}, err
		}
		if b, err = s.readByte(); err != nil {
			return token{}, err
		}
		if b != '=' {
			return token{}, s.fail(KindSyntax, "attribute %s of <%s> has no value", an, n)
		}
		if err := s.skipSpace(); err != nil {
			return token{}, err
		}
		v, err := s.attrValue()
		if err != nil {
			return token{}, err
		}
		for _, a := range raw {
			if a.name == an {
				return token{}, s.fail(KindSyntax, "duplicate attribute %s in <%s>", an, n)
			}
		}
		raw = append(raw, rawAttr{an, v})
		if len(raw) > 64 {
			return token{}, s.fail(KindLimit, "more than 64 attributes in <%s>", n)
		}
	}
	s.elements++
	if s.elements > s.lim.MaxElements {
		return token{}, s.fail(KindLimit, "more than %d elements", s.lim.MaxElements)
	}
	if len(s.stack) >= s.lim.MaxDepth {
		return token{}, s.fail(KindLimit, "elements nested deeper than %d", s.lim.MaxDepth)
	}
	scope := map[string]string{}
	for _, a := range raw {
		switch {
		case a.name.prefix == "" && a.name.local == "xmlns":
			scope[""] = a.value
		case a.name.prefix == "xmlns":
			if a.value == "" {
				return token{}, s.fail(KindSyntax, "empty namespace for prefix %s", a.name.local)
			}
			scope[a.name.local] = a.value
		}
	}
	s.ns = append(s.ns, scope)
	s.stack = append(s.stack, n)
	s.path = append(s.path, n.local)
	space, ok := s.lookup(n.prefix)
	if !ok {
		return token{}, s.fail(KindSyntax, "undeclared namespace prefix %q in <%s>", n.prefix, n)
	}
	var attrs []Attr
	for _, a := range raw {
		if (a.name.prefix == "" && a.name.local == "xmlns") || a.name.prefix == "xmlns" {
			continue
		}
		as := ""
		if a.name.prefix != "" {
			if as, ok = s.lookup(a.name.prefix); !ok {
				return token{}, s.fail(KindSyntax, "undeclared namespace prefix %q in attribute %s", a.name.prefix, a.name)
			}
		}
		attrs = append(attrs, Attr{Space: as, Local: a.name.local, Value: a.value})
	}
	s.sawRoot = true
	t := token{kind: tokStart, name: n, space: space, attrs: attrs, selfClose: selfClose, offset: off}
	if selfClose {
		s.pop()
	}
	return t, nil
}

func (s *scanner) pop() {
	s.stack = s.stack[:len(s.stack)-1]
	s.path = s.path[:len(s.path)-1]
	s.ns = s.ns[:len(s.ns)-1]
	if len(s.stack) == 0 {
		s.rootDone = true
	}
}

func (s *scanner) lookup(prefix string) (string, bool) {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if v, ok := s.ns[i][prefix]; ok {
			return v, true
		}
	}
	return "", prefix == ""
}

func (s *scanner) endTag(off int64) (token, error) {
	n, err := s.readName()
	if err != nil {
		return token{}, err
	}
	if err := s.skipSpace(); err != nil {
		return token{}, err
	}
	b, err := s.readByte()
	if err != nil {
		return token{}, err
	}
	if b != '>' {
		return token{}, s.fail(KindSyntax, "expected '>' in </%s>", n)
	}
	if len(s.stack) == 0 {
		return token{}, s.fail(KindSyntax, "end tag </%s> without a start tag", n)
	}
	if open := s.stack[len(s.stack)-1]; open != n {
		return token{}, s.fail(KindSyntax, "end tag </%s> does not match <%s>", n, open)
	}
	space, _ := s.lookup(n.prefix)
	s.pop()
	return token{kind: tokEnd, name: n, space: space, offset: off}, nil
}

func (s *scanner) attrValue() (string, error) {
	q, err := s.readByte()
	if err != nil {
		return "", err
	}
	if q != '"' && q != '\'' {
		return "", s.fail(KindSyntax, "attribute value not quoted")
	}
	var buf []byte
	for {
		b, err := s.readByte()
		if err != nil {
			return "", err
		}
		switch b {
		case q:
			if !utf8.Valid(buf) {
				return "", s.fail(KindSyntax, "attribute value is not UTF-8")
			}
			return string(buf), nil
		case '<':
			return "", s.fail(KindSyntax, "'<' in an attribute value")
		case '&':
			r, err := s.entity()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		case '\t', '\n', '\r':
			buf = append(buf, ' ') // attribute value normalization
		default:
			buf = append(buf, b)
		}
		if len(buf) > maxAttr {
			return "", s.fail(KindLimit, "attribute value longer than %d bytes", maxAttr)
		}
	}
}

// entity reads a reference after '&': the five predefined entities and
// character references. Anything else would need a DTD, which we refuse.
func (s *scanner) entity() (rune, error) {
	ref, err := s.readUntil(";", 12, "entity reference")
	if err != nil {
		if IsKind(err, KindLimit) {
			return 0, s.fail(KindSyntax, "unterminated entity reference")
		}
		return 0, err
	}
	switch ref {
	case "lt":
		return '<', nil
	case "gt":
		return '>', nil
	case "amp":
		return '&', nil
	case "quot":
		return '"', nil
	case "apos":
		return '\'', nil
	}
	if len(ref) > 1 && ref[0] == '#' {
		base, digits := 10, ref[1:]
		if digits[0] == 'x' {
			base, digits = 16, digits[1:]
		}
		var v rune
		for _, c := range digits {
			d := digitVal(c, base)
			if d < 0 {
				return 0, s.fail(KindSyntax, "invalid character reference &%s;", ref)
			}
			v = v*rune(base) + rune(d)
			if v > utf8.MaxRune {
				break
			}
		}
		if digits == "" || !isXMLChar(v) {
			return 0, s.fail(KindSyntax, "invalid character reference &%s;", ref)
		}
		return v, nil
	}
	return 0, s.fail(KindForbidden, "entity &%s; is not defined (no DTD is accepted)", ref)
}

func digitVal(c rune, base int) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case base == 16 && c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case base == 16 && c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// readText reads character data (and CDATA sections) up to the next markup
// other than CDATA, at most max bytes after entity decoding.
func (s *scanner) readText(max int) (string, error) {
	var buf []byte
	r := s.textReader()
	chunk := make([]byte, 4096)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if len(buf) > max {
			return "", s.fail(KindLimit, "text longer than %d bytes", max)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	if !utf8.Valid(buf) {
		return "", s.fail(KindSyntax, "text is not UTF-8")
	}
	for _, c := range string(buf) {
		if !isXMLChar(c) {
			return "", s.fail(KindSyntax, "character %U is not allowed in XML", c)
		}
	}
	return string(buf), nil
}

// textReader returns a reader of the character data from here to the next
// start or end tag: entities decoded, CDATA unwrapped, comments skipped.
// It stops at '<' of a tag without consuming it.
func (s *scanner) textReader() *textReader { return &textReader{s: s} }

type textReader struct {
	s       *scanner
	inCDATA bool
	pending []byte // decoded entity bytes not yet returned
	done    bool
}

func (t *textReader) Read(p []byte) (int, error) {
	s := t.s
	n := 0
	for n < len(p) {
		if len(t.pending) > 0 {
			c := copy(p[n:], t.pending)
			t.pending = t.pending[c:]
			n += c
			continue
		}
		if t.done {
			break
		}
		if t.inCDATA {
			buf, err := s.br.Peek(1)
			if err != nil {
				return n, s.ioErr(err)
			}
			if s.peekIs("]]>") {
				s.br.Discard(3)
				t.inCDATA = false
				continue
			}
			avail, _ := s.br.Peek(min(s.br.Buffered(), len(p)-n))
			if len(avail) == 0 {
				avail = buf
			}
			end := bytes.IndexByte(avail, ']')
			if end == 0 {
				end = 1 // a lone ']' that is not "]]>"
			} else if end < 0 {
				end = len(avail)
			}
			c := copy(p[n:], avail[:end])
			s.br.Discard(c)
			n += c
			continue
		}
		b, err := s.br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) && len(s.stack) == 0 {
				t.done = true // whitespace after the root element
				break
			}
			return n, s.ioErr(err) // end of input inside an element
		}
		switch b[0] {
		case '<':
			switch {
			case s.peekIs("<![CDATA["):
				s.br.Discard(9)
				t.inCDATA = true
			case s.peekIs("<!--"):
				s.br.Discard(4)
				if _, err := s.readUntil("-->", maxComment, "comment"); err != nil {
					return n, err
				}
			default:
				t.done = true
			}
			continue
		case '&':
			s.br.Discard(1)
			r, err := s.entity()
			if err != nil {
				return n, err
			}
			t.pending = utf8.AppendRune(nil, r)
			continue
		case '>':
			if s.peekIs(">") && n >= 2 && bytes.HasSuffix(p[:n], []byte("]]")) {
				return n, s.fail(KindSyntax, "']]>' in text")
			}
		}
		// Look only as far as the caller can take: scanning the whole
		// buffer on every small read would be quadratic.
		avail, _ := s.br.Peek(min(s.br.Buffered(), len(p)-n))
		if len(avail) == 0 {
			avail = b
		}
		end := indexMarkup(avail)
		if end < 0 {
			end = len(avail)
		}
		c := copy(p[n:], avail[:end])
		s.br.Discard(c)
		n += c
	}
	if n == 0 && t.done {
		return 0, io.EOF
	}
	return n, nil
}

// indexMarkup returns the index of the first '<' or '&' in b, or -1.
func indexMarkup(b []byte) int {
	lt, amp := bytes.IndexByte(b, '<'), bytes.IndexByte(b, '&')
	switch {
	case lt < 0:
		return amp
	case amp < 0 || lt < amp:
		return lt
	}
	return amp
}
