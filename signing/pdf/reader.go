package pdf

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
)

// ReadOptions bounds the resources a (possibly hostile) file may consume.
// Zero fields take the defaults documented on each field.
type ReadOptions struct {
	// MaxStreamSize caps the decompressed size of an object or xref stream,
	// and of Stream.Decoded when called with limit 0. Default 64 MiB.
	MaxStreamSize int64
	// MaxDepth caps the nesting of arrays and dictionaries. Default 100.
	MaxDepth int
	// MaxObjStmObjects caps the number of objects one object stream may
	// declare. Default 100000.
	MaxObjStmObjects int
	// MaxXRefSections caps the length of the /Prev chain (including
	// /XRefStm sections). Default 10000.
	MaxXRefSections int
	// MaxRefChain caps how many references Resolve follows (a ref to a ref
	// to ...) and how deeply object loads may nest. Default 32.
	MaxRefChain int
	// MaxStringSize caps one string token. Default 16 MiB.
	MaxStringSize int
	// MaxContainerLen caps the elements of one array or dictionary.
	// Default 1<<20.
	MaxContainerLen int
	// ObjStmCacheSize is how many decoded object streams are kept. Default 4.
	ObjStmCacheSize int
	// Password is tried as user password after the empty one (empty: only
	// the empty password is tried).
	Password []byte
}

func (o *ReadOptions) withDefaults() ReadOptions {
	var v ReadOptions
	if o != nil {
		v = *o
	}
	if v.MaxStreamSize <= 0 {
		v.MaxStreamSize = 64 << 20
	}
	if v.MaxDepth <= 0 {
		v.MaxDepth = 100
	}
	if v.MaxObjStmObjects <= 0 {
		v.MaxObjStmObjects = 100000
	}
	if v.MaxXRefSections <= 0 {
		v.MaxXRefSections = 10000
	}
	if v.MaxRefChain <= 0 {
		v.MaxRefChain = 32
	}
	if v.MaxStringSize <= 0 {
		v.MaxStringSize = 16 << 20
	}
	if v.MaxContainerLen <= 0 {
		v.MaxContainerLen = 1 << 20
	}
	if v.ObjStmCacheSize <= 0 {
		v.ObjStmCacheSize = 4
	}
	return v
}

// XRefKind is the syntax of a cross-reference section.
type XRefKind int

const (
	XRefTable  XRefKind = iota + 1 // classic "xref" table and "trailer"
	XRefStream                     // cross-reference stream (PDF 1.5)
	XRefHybrid                     // table whose trailer has /XRefStm
)

func (k XRefKind) String() string {
	switch k {
	case XRefTable:
		return "table"
	case XRefStream:
		return "stream"
	case XRefHybrid:
		return "hybrid"
	}
	return "unknown"
}

type entryKind uint8

const (
	entryNone entryKind = iota // not listed (the zero value of an index slot)
	entryFree
	entryOffset
	entryCompressed
)

// xrefEntry locates one object: at a file offset, or as the idx-th object of
// object stream stm.
type xrefEntry struct {
	off  int64  // entryOffset: byte offset; entryCompressed: object stream number
	idx  uint32 // entryCompressed: index in the object stream
	gen  uint16
	kind entryKind
}

// xrefSection remembers one parsed section, for Revisions.
type xrefSection struct {
	offset int64
	kind   XRefKind
	end    int64 // offset just after the section (trailer dict or endobj)
}

// Reader gives lazy access to a PDF file. Only the cross-reference index is
// kept in memory; objects are parsed on each request and returned as fresh
// values the caller may modify. A Reader is safe for concurrent use.
type Reader struct {
	ra   io.ReaderAt
	size int64
	opts ReadOptions

	index    xrefIndex
	maxNum   uint32
	trailer  *Dict
	sections []xrefSection // newest first
	lastKind XRefKind
	lastOff  int64
	hasEOL   bool // the file ends with an end-of-line marker
	version  string

	crypt      *securityHandler
	encryptRef Ref
	// lastTableFree lists the objects the table section just read declared
	// free; its /XRefStm (hybrid file) may define them.
	lastTableFree map[uint32]bool

	mu    sync.Mutex
	cache []*objStm // most recently used first
}

// Open reads the cross-reference chain of the PDF in r (size bytes) and sets
// up decryption. Objects are read later, on demand.
//
// Errors: ErrMalformed (no startxref, broken xref, missing /Root),
// ErrLimit (xref chain too long, xref stream too large),
// ErrUserPasswordRequired, ErrUnsupported (unknown security handler).
func Open(ra io.ReaderAt, size int64, opts *ReadOptions) (*Reader, error) {
	r := &Reader{ra: ra, size: size, opts: opts.withDefaults()}
	if size < 8 {
		return nil, malformed(0, "file too short (%d bytes)", size)
	}
	head := make([]byte, min(size, 1024))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, wrapIO(0, "reading header", err)
	}
	hi := bytes.Index(head, []byte("%PDF-"))
	if hi < 0 {
		return nil, malformed(0, "no %%PDF- header in the first 1024 bytes")
	}
	if v := head[hi+5:]; len(v) >= 3 && v[0] >= '1' && v[0] <= '9' && v[1] == '.' && v[2] >= '0' && v[2] <= '9' {
		r.version = string(v[:3])
	}
	last := make([]byte, 1)
	if _, err := ra.ReadAt(last, size-1); err != nil {
		return nil, wrapIO(size-1, "reading last byte", err)
	}
	r.hasEOL = last[0] == '\n' || last[0] == '\r'

	start, err := r.findStartXRef()
	if err != nil {
		return nil, err
	}
	if err := r.readXRefChain(start); err != nil {
		return nil, err
	}
	root, ok := r.trailer.Get("Root").(Ref)
	if !ok {
		return nil, malformed(start, "trailer has no /Root reference")
	}
	_ = root
	if enc := r.trailer.Get("Encrypt"); enc != nil {
		if err := r.setupEncryption(enc); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// findStartXRef locates the last "startxref" keyword near the end of file.
func (r *Reader) findStartXRef() (int64, error) {
	for _, window := range []int64{1024, 32 << 10} {
		n := min(window, r.size)
		buf := make([]byte, n)
		if _, err := r.ra.ReadAt(buf, r.size-n); err != nil && err != io.EOF {
			return 0, wrapIO(r.size-n, "reading end of file", err)
		}
		i := bytes.LastIndex(buf, []byte("startxref"))
		if i < 0 {
			if n == r.size {
				break
			}
			continue
		}
		lx := newBytesLexer(buf[i+len("startxref"):], r.size-n+int64(i)+9, 64)
		t, err := lx.next()
		if err != nil || t.kind != tInt || t.i < 0 || t.i >= r.size {
			return 0, malformed(r.size-n+int64(i), "startxref is not followed by a valid offset")
		}
		return t.i, nil
	}
	return 0, malformed(r.size, "no startxref near the end of the file")
}

func (r *Reader) readXRefChain(start int64) error {
	visited := make(map[int64]bool)    // sections read as links of the chain
	streamRead := make(map[int64]bool) // streams read as a table's /XRefStm
	off := start
	first := true
	for {
		if visited[off] {
			return malformed(off, "cross-reference /Prev chain loops")
		}
		visited[off] = true
		if len(r.sections) >= r.opts.MaxXRefSections {
			return limitErr(off, "more than %d cross-reference sections", r.opts.MaxXRefSections)
		}
		kind, trailer, end, at, err := r.readSectionNear(off, nil)
		if err != nil {
			return err
		}
		if at != off {
			if visited[at] {
				return malformed(at, "cross-reference /Prev chain loops")
			}
			visited[at] = true
			off = at
		}
		if xs, ok := trailer.Get("XRefStm").(Integer); ok && kind == XRefTable {
			kind = XRefHybrid
			// In a hybrid section the table marks compressed objects as
			// free; the stream's entries take precedence over those. A
			// stream already read (the /XRefStm of one section is the
			// /Prev of another, or two tables share one stream) has
			// given its entries: reading it again changes nothing.
			xoff := int64(xs)
			if xoff > 0 && xoff < r.size && !visited[xoff] && !streamRead[xoff] {
				if len(r.sections) >= r.opts.MaxXRefSections {
					return limitErr(off, "more than %d cross-reference sections", r.opts.MaxXRefSections)
				}
				_, _, _, xat, err := r.readSectionNear(xoff, r.lastTableFree)
				if err != nil {
					return err
				}
				streamRead[xoff], streamRead[xat] = true, true
			}
		}
		r.sections = append(r.sections, xrefSection{offset: off, kind: kind, end: end})
		if first {
			r.lastKind, r.lastOff, r.trailer = kind, off, trailer
			first = false
		} else {
			// Keys missing from newer trailers are inherited from older ones.
			for _, e := range trailer.entries {
				if !r.trailer.Has(e.Key) {
					r.trailer.Set(e.Key, e.Value)
				}
			}
		}
		prev, ok := trailer.Get("Prev").(Integer)
		if !ok {
			break
		}
		if prev < 0 || int64(prev) >= r.size {
			return malformed(off, "/Prev %d outside the file", prev)
		}
		off = int64(prev)
	}
	r.index.all(func(num uint32, e xrefEntry) {
		if e.kind != entryFree && num > r.maxNum {
			r.maxNum = num
		}
	})
	return nil
}

// sectionSlack is how far from a stated offset a cross-reference section
// is looked for: producers that miscount line ends (CRLF against LF) or
// patch a file afterwards leave startxref and /Prev a few bytes off, and
// qpdf, pdfium and poppler all read such files.
const sectionSlack = 64

// readSectionNear reads the section at off or, when there is none there,
// the nearest one within sectionSlack bytes. It returns where it was found.
func (r *Reader) readSectionNear(off int64, override map[uint32]bool) (XRefKind, *Dict, int64, int64, error) {
	kind, d, end, err := r.readSection(off, override)
	if err == nil || !errors.Is(err, ErrMalformed) {
		return kind, d, end, off, err
	}
	for _, cand := range r.sectionCandidates(off) {
		if k, cd, e, cerr := r.readSection(cand, override); cerr == nil {
			return k, cd, e, cand, nil
		}
	}
	return 0, nil, 0, off, err
}

// sectionCandidates lists the offsets near off where an "xref" keyword or
// an "N G obj" header starts, nearest first.
func (r *Reader) sectionCandidates(off int64) []int64 {
	from := max(0, off-sectionSlack)
	to := min(r.size, off+sectionSlack+16)
	buf := make([]byte, to-from)
	n, _ := r.ra.ReadAt(buf, from)
	buf = buf[:n]
	var out []int64
	for i := 0; i < len(buf); i++ {
		if i > 0 && !isWhite(buf[i-1]) && !isDelim(buf[i-1]) {
			continue
		}
		switch {
		case bytes.HasPrefix(buf[i:], []byte("xref")) && (i+4 == len(buf) || isWhite(buf[i+4])):
			out = append(out, from+int64(i))
		case buf[i] >= '0' && buf[i] <= '9' && objHeaderAt(buf[i:]):
			out = append(out, from+int64(i))
		}
	}
	dist := func(a int64) int64 {
		if a < off {
			return off - a
		}
		return a - off
	}
	slices.SortStableFunc(out, func(a, b int64) int { return int(dist(a) - dist(b)) })
	return out
}

// objHeaderAt reports whether b starts with "digits ws digits ws obj".
func objHeaderAt(b []byte) bool {
	i := 0
	for part := 0; part < 2; part++ {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i || j == len(b) || !isWhite(b[j]) {
			return false
		}
		for j < len(b) && isWhite(b[j]) {
			j++
		}
		i = j
	}
	return bytes.HasPrefix(b[i:], []byte("obj"))
}

// readSection parses the section at off and records its entries for objects
// not yet defined by a newer section (or listed in override). It returns the
// section's kind, trailer (for streams: the stream dictionary) and end.
func (r *Reader) readSection(off int64, override map[uint32]bool) (XRefKind, *Dict, int64, error) {
	lx := newFileLexer(r.ra, off, r.size, r.opts.MaxStringSize)
	t, err := lx.next()
	if err != nil {
		return 0, nil, 0, err
	}
	if t.is("xref") {
		d, end, err := r.readTable(lx)
		return XRefTable, d, end, err
	}
	if t.kind == tInt {
		lx.unread(t)
		d, end, err := r.readXRefStream(lx, off, override)
		return XRefStream, d, end, err
	}
	return 0, nil, 0, malformed(off, "no cross-reference section at startxref/Prev offset")
}

func (r *Reader) set(num uint32, e xrefEntry, override map[uint32]bool) {
	if num == 0 {
		return
	}
	if r.index.has(num) && !override[num] {
		return
	}
	r.index.put(num, e)
}

func (r *Reader) readTable(lx *lexer) (*Dict, int64, error) {
	free := make(map[uint32]bool)
	for {
		t, err := lx.next()
		if err != nil {
			return nil, 0, err
		}
		if t.is("trailer") {
			break
		}
		if t.kind != tInt {
			return nil, 0, malformed(t.off, "expected xref subsection or trailer")
		}
		c, err := lx.next()
		if err != nil {
			return nil, 0, err
		}
		if c.kind != tInt || t.i < 0 || c.i < 0 || t.i+c.i > 1<<32 {
			return nil, 0, malformed(t.off, "bad xref subsection header")
		}
		start := t.i
		for k := int64(0); k < c.i; k++ {
			o, err1 := lx.next()
			g, err2 := lx.next()
			f, err3 := lx.next()
			if err := firstErr(err1, err2, err3); err != nil {
				return nil, 0, err
			}
			if o.kind != tInt || g.kind != tInt || f.kind != tKeyword || o.i < 0 || g.i < 0 || g.i > 65535 {
				return nil, 0, malformed(o.off, "bad xref entry")
			}
			if k == 0 && start == 1 && o.i == 0 && g.i == 65535 && f.is("f") {
				// A known producer bug: "1 n" header over a table that
				// starts with the free-list head of object 0.
				start = 0
			}
			num := uint32(start + k)
			switch string(f.b) {
			case "n":
				if o.i == 0 || o.i >= r.size {
					// Offset 0 marks an unused entry in some producers.
					if !r.index.has(num) && num != 0 {
						free[num] = true
					}
					r.set(num, xrefEntry{kind: entryFree, gen: uint16(g.i)}, nil)
					continue
				}
				r.set(num, xrefEntry{kind: entryOffset, gen: uint16(g.i), off: o.i}, nil)
			case "f":
				if !r.index.has(num) && num != 0 {
					free[num] = true
				}
				r.set(num, xrefEntry{kind: entryFree, gen: uint16(g.i)}, nil)
			default:
				return nil, 0, malformed(f.off, "xref entry type %q", f.b)
			}
		}
	}
	p := &parser{lx: lx, maxDepth: r.opts.MaxDepth, maxItems: r.opts.MaxContainerLen}
	obj, err := p.object(0)
	if err != nil {
		return nil, 0, err
	}
	d, ok := obj.(*Dict)
	if !ok {
		return nil, 0, malformed(lx.pos, "trailer is not a dictionary")
	}
	r.lastTableFree = free
	return d, lx.pos, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (r *Reader) readXRefStream(lx *lexer, off int64, override map[uint32]bool) (*Dict, int64, error) {
	_, obj, end, err := r.parseIndirect(lx, off, nil, &loadCtx{})
	if err != nil {
		return nil, 0, err
	}
	s, ok := obj.(*Stream)
	if !ok {
		return nil, 0, malformed(off, "cross-reference stream expected")
	}
	if t, _ := s.Dict.Name("Type"); t != "XRef" {
		return nil, 0, malformed(off, "cross-reference stream has /Type %q", t)
	}
	d := s.Dict
	w, ok := d.Get("W").(Array)
	if !ok || len(w) != 3 {
		return nil, 0, malformed(off, "xref stream /W must be an array of 3 integers")
	}
	var ws [3]int
	rowLen := 0
	for i, v := range w {
		n, ok := v.(Integer)
		if !ok || n < 0 || n > 8 {
			return nil, 0, malformed(off, "xref stream /W entry %v invalid", v)
		}
		ws[i] = int(n)
		rowLen += int(n)
	}
	if rowLen == 0 {
		return nil, 0, malformed(off, "xref stream /W is all zero")
	}
	sz, ok := d.Get("Size").(Integer)
	if !ok || sz < 0 {
		return nil, 0, malformed(off, "xref stream without valid /Size")
	}
	r.index.reserve(int64(sz), r.size)
	var index []int64
	if idx, ok := d.Get("Index").(Array); ok {
		if len(idx)%2 != 0 {
			return nil, 0, malformed(off, "xref stream /Index has odd length")
		}
		for _, v := range idx {
			n, ok := v.(Integer)
			if !ok || n < 0 {
				return nil, 0, malformed(off, "xref stream /Index entry invalid")
			}
			index = append(index, int64(n))
		}
	} else {
		index = []int64{0, int64(sz)}
	}
	data, err := s.decoded(r.opts.MaxStreamSize, nil)
	if err != nil {
		return nil, 0, err
	}
	pos := 0
	field := func(width int, def int64) int64 {
		if width == 0 {
			return def
		}
		var v int64
		for k := 0; k < width; k++ {
			v = v<<8 | int64(data[pos+k])
		}
		pos += width
		return v
	}
	for i := 0; i < len(index); i += 2 {
		startNum, count := index[i], index[i+1]
		if startNum+count > 1<<32 {
			return nil, 0, malformed(off, "xref stream /Index out of range")
		}
		for k := int64(0); k < count; k++ {
			if pos+rowLen > len(data) {
				return nil, 0, malformed(off, "xref stream data shorter than /Index declares")
			}
			typ := field(ws[0], 1)
			f2 := field(ws[1], 0)
			f3 := field(ws[2], 0)
			num := uint32(startNum + k)
			switch typ {
			case 0:
				r.set(num, xrefEntry{kind: entryFree, gen: uint16(f3)}, override)
			case 1:
				if f2 <= 0 || f2 >= r.size || f3 > 65535 {
					r.set(num, xrefEntry{kind: entryFree}, override)
					continue
				}
				r.set(num, xrefEntry{kind: entryOffset, gen: uint16(f3), off: f2}, override)
			case 2:
				if f2 <= 0 || f2 > 1<<32-1 || f3 > 1<<32-1 {
					return nil, 0, malformed(off, "xref stream entry for object %d has a bad object stream", num)
				}
				r.set(num, xrefEntry{kind: entryCompressed, off: f2, idx: uint32(f3)}, override)
			default:
				// Other types are reserved: readers treat them as null objects.
			}
		}
	}
	return d, end, nil
}

// loadCtx tracks objects being loaded in one call chain, to stop reference
// loops (e.g. a stream whose /Length refers to itself).
type loadCtx struct {
	loading []uint32
}

func (lc *loadCtx) enter(num uint32, max int) error {
	if slices.Contains(lc.loading, num) {
		return limitErr(-1, "reference loop through object %d", num)
	}
	if len(lc.loading) >= max {
		return limitErr(-1, "object loads nested deeper than %d", max)
	}
	lc.loading = append(lc.loading, num)
	return nil
}

func (lc *loadCtx) leave() { lc.loading = lc.loading[:len(lc.loading)-1] }

// parseIndirect parses "num gen obj ... endobj" at the lexer. want, when not
// nil, is the object the xref said lives there. It returns the object and the
// offset just after it.
func (r *Reader) parseIndirect(lx *lexer, off int64, want *Ref, lc *loadCtx) (Ref, Object, int64, error) {
	tn, err1 := lx.next()
	tg, err2 := lx.next()
	to, err3 := lx.next()
	if err := firstErr(err1, err2, err3); err != nil {
		return Ref{}, nil, 0, err
	}
	if tn.kind != tInt || tg.kind != tInt || !to.is("obj") || tn.i < 0 || tn.i > 1<<32-1 || tg.i < 0 || tg.i > 65535 {
		return Ref{}, nil, 0, malformed(off, "no \"num gen obj\" header")
	}
	ref := Ref{Num: uint32(tn.i), Gen: uint16(tg.i)}
	if want != nil && ref.Num != want.Num {
		return Ref{}, nil, 0, malformed(off, "expected object %d, found %d", want.Num, ref.Num)
	}
	p := &parser{lx: lx, maxDepth: r.opts.MaxDepth, maxItems: r.opts.MaxContainerLen}
	obj, err := p.object(0)
	if err != nil {
		return Ref{}, nil, 0, err
	}
	t, err := lx.next()
	if err != nil {
		return Ref{}, nil, 0, err
	}
	if t.is("stream") {
		d, ok := obj.(*Dict)
		if !ok {
			return Ref{}, nil, 0, malformed(t.off, "stream keyword after a non-dictionary")
		}
		s, err := r.streamAt(lx, ref, d, lc)
		if err != nil {
			return Ref{}, nil, 0, err
		}
		return ref, s, s.offset + s.length, nil
	}
	// "endobj" is expected; a missing one is tolerated (the object is complete).
	end := t.off
	if t.is("endobj") {
		end = lx.pos
	}
	return ref, obj, end, nil
}

// streamAt finishes a stream after the "stream" keyword: finds where its data
// starts and how long it is, without reading the data.
func (r *Reader) streamAt(lx *lexer, ref Ref, d *Dict, lc *loadCtx) (*Stream, error) {
	// The keyword is followed by CRLF or LF (a lone CR is tolerated).
	c, err := lx.readByte()
	if err == nil && c == '\r' {
		if c2, err := lx.readByte(); err == nil && c2 != '\n' {
			lx.unreadByte()
		}
	} else if err == nil && c != '\n' {
		lx.unreadByte()
	}
	start := lx.pos
	length := int64(-1)
	switch v := d.Get("Length").(type) {
	case Integer:
		length = int64(v)
	case Ref:
		// An unusable indirect /Length (missing, looping, in a broken
		// object stream) only costs a scan for "endstream" below.
		if v.Num != ref.Num {
			if o, err := r.resolveCtx(v, lc); err == nil {
				if n, ok := o.(Integer); ok {
					length = int64(n)
				}
			}
		}
	}
	if length < 0 || start+length > r.size || !r.endstreamAt(start+length) {
		length, err = r.scanEndstream(start)
		if err != nil {
			return nil, err
		}
	}
	return &Stream{Dict: d, r: r, ref: ref, offset: start, length: length}, nil
}

// endstreamAt reports whether "endstream" follows at p after optional white space.
func (r *Reader) endstreamAt(p int64) bool {
	buf := make([]byte, 32)
	n, _ := r.ra.ReadAt(buf, p)
	b := bytes.TrimLeft(buf[:n], "\x00\t\n\f\r ")
	return bytes.HasPrefix(b, []byte("endstream"))
}

// scanEndstream finds the data length of a stream whose /Length is missing or
// wrong by searching for "endstream" (dropping the end-of-line before it).
func (r *Reader) scanEndstream(start int64) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r.ra, start, r.size-start), 32<<10)
	pat := []byte("endstream")
	var window []byte
	pos := start
	for {
		chunk, err := br.Peek(32 << 10)
		if len(chunk) == 0 {
			return 0, malformed(start, "stream without endstream")
		}
		window = append(window[:0], chunk...)
		if i := bytes.Index(window, pat); i >= 0 {
			end := pos + int64(i)
			// Drop the EOL that precedes endstream.
			tail := window[:i]
			if bytes.HasSuffix(tail, []byte("\r\n")) {
				end -= 2
			} else if bytes.HasSuffix(tail, []byte("\n")) || bytes.HasSuffix(tail, []byte("\r")) {
				end--
			}
			return end - start, nil
		}
		if err != nil {
			return 0, malformed(start, "stream without endstream")
		}
		// Keep the last bytes in case the keyword spans two chunks.
		adv := len(chunk) - len(pat)
		if adv <= 0 {
			adv = len(chunk)
		}
		if _, err := br.Discard(adv); err != nil {
			return 0, malformed(start, "stream without endstream")
		}
		pos += int64(adv)
	}
}

// Object returns object num as currently defined. Errors: ErrNotFound for
// free or undefined objects, ErrMalformed, ErrLimit.
func (r *Reader) Object(num uint32) (Object, error) {
	e, ok := r.index.get(num)
	if !ok || e.kind == entryFree {
		return nil, &Error{Kind: ErrNotFound, Offset: -1, Reason: "object " + strconv.FormatUint(uint64(num), 10)}
	}
	return r.load(num, e, &loadCtx{})
}

// Resolve follows references until a direct object. A reference to a free
// or undefined object resolves to Null (ISO 32000-1 7.3.10). Non-references
// are returned unchanged.
func (r *Reader) Resolve(obj Object) (Object, error) {
	return r.resolveCtx(obj, &loadCtx{})
}

func (r *Reader) resolveCtx(obj Object, lc *loadCtx) (Object, error) {
	entered := 0
	defer func() {
		for ; entered > 0; entered-- {
			lc.leave()
		}
	}()
	for hops := 0; ; hops++ {
		ref, ok := obj.(Ref)
		if !ok {
			return obj, nil
		}
		if hops >= r.opts.MaxRefChain {
			return nil, limitErr(-1, "reference chain longer than %d at %v", r.opts.MaxRefChain, ref)
		}
		e, ok := r.index.get(ref.Num)
		if !ok || e.kind == entryFree || (e.kind == entryOffset && e.gen != ref.Gen) || (e.kind == entryCompressed && ref.Gen != 0) {
			return Null{}, nil
		}
		if err := lc.enter(ref.Num, r.opts.MaxRefChain); err != nil {
			return nil, err
		}
		entered++
		o, err := r.load(ref.Num, e, lc)
		if err != nil {
			return nil, err
		}
		obj = o
	}
}

func (r *Reader) load(num uint32, e xrefEntry, lc *loadCtx) (Object, error) {
	switch e.kind {
	case entryOffset:
		lx := newFileLexer(r.ra, e.off, r.size, r.opts.MaxStringSize)
		want := Ref{Num: num, Gen: e.gen}
		ref, obj, _, err := r.parseIndirect(lx, e.off, &want, lc)
		if err != nil {
			return nil, err
		}
		if r.crypt != nil && ref != r.encryptRef && !isXRefStream(obj) {
			if err := r.crypt.decryptObject(ref, obj); err != nil {
				return nil, err
			}
		}
		return obj, nil
	case entryCompressed:
		return r.loadCompressed(num, e, lc)
	}
	return nil, &Error{Kind: ErrNotFound, Offset: -1, Reason: "object " + strconv.FormatUint(uint64(num), 10)}
}

func isXRefStream(o Object) bool {
	s, ok := o.(*Stream)
	if !ok {
		return false
	}
	t, _ := s.Dict.Name("Type")
	return t == "XRef"
}

// MaxObjectNumber returns the highest object number in use, or /Size-1 when
// that is higher.
func (r *Reader) MaxObjectNumber() uint32 {
	m := r.maxNum
	if sz, ok := r.trailer.Get("Size").(Integer); ok && sz > 0 && int64(sz)-1 > int64(m) && int64(sz) <= 1<<32 {
		m = uint32(sz - 1)
	}
	return m
}

// Objects returns the references of all objects in use, by number.
func (r *Reader) Objects() []Ref {
	refs := make([]Ref, 0, r.index.len())
	r.index.all(func(num uint32, e xrefEntry) {
		if e.kind != entryFree {
			refs = append(refs, Ref{Num: num, Gen: e.gen})
		}
	})
	slices.SortFunc(refs, func(a, b Ref) int { return int(int64(a.Num) - int64(b.Num)) })
	return refs
}

// Version returns the header version ("1.7", "2.0"), or "" when the header
// is unreadable. The catalog /Version, when present, overrides it.
func (r *Reader) Version() string { return r.version }

// FileSize returns the size of the file in bytes.
func (r *Reader) FileSize() int64 { return r.size }

// Trailer returns a copy of the effective trailer (newest section's keys,
// completed by older ones).
func (r *Reader) Trailer() *Dict { return r.trailer.Clone() }

// Root returns the document catalog reference.
func (r *Reader) Root() Ref { ref, _ := r.trailer.Get("Root").(Ref); return ref }

// Info returns the document information dictionary reference, if any.
func (r *Reader) Info() (Ref, bool) { ref, ok := r.trailer.Get("Info").(Ref); return ref, ok }

// ID returns the two parts of the trailer /ID, if present.
func (r *Reader) ID() (id [2][]byte, ok bool) {
	a, isArr := r.trailer.Get("ID").(Array)
	if !isArr || len(a) != 2 {
		return id, false
	}
	s0, ok0 := a[0].(String)
	s1, ok1 := a[1].(String)
	if !ok0 || !ok1 {
		return id, false
	}
	return [2][]byte{s0.Value, s1.Value}, true
}

// Encrypt returns the trailer /Encrypt value (usually a Ref), or nil.
func (r *Reader) Encrypt() Object { return r.trailer.Get("Encrypt") }

// Encrypted reports whether the document uses encryption.
func (r *Reader) Encrypted() bool { return r.crypt != nil }

// Size returns the trailer /Size (one more than the highest object number).
func (r *Reader) Size() int {
	n, _ := r.trailer.Get("Size").(Integer)
	return int(n)
}

// XRefKind returns the kind of the last (newest) cross-reference section,
// which an incremental update must match.
func (r *Reader) XRefKind() XRefKind { return r.lastKind }

// XRefOffset returns the offset of the newest cross-reference section (the
// startxref value), which becomes /Prev of an update.
func (r *Reader) XRefOffset() int64 { return r.lastOff }

// Location is where the cross-reference index places an object: at a file
// offset, or as the Index-th object of object stream Stream.
type Location struct {
	Offset int64  // file offset (0 for an object in an object stream)
	Stream uint32 // object stream number (0 for an object at an offset)
	Index  uint32 // index in the object stream
	Gen    uint16
}

// Location returns where object num is defined; ok is false for free or
// undefined objects. Two revisions of a file define an object in the same
// bytes when their locations are equal and, for an object in an object
// stream, the stream's own locations are equal too.
func (r *Reader) Location(num uint32) (Location, bool) {
	e, ok := r.index.get(num)
	switch {
	case !ok || e.kind == entryFree:
		return Location{}, false
	case e.kind == entryCompressed:
		return Location{Stream: uint32(e.off), Index: e.idx}, true
	}
	return Location{Offset: e.off, Gen: e.gen}, true
}
