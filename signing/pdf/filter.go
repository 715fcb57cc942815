package pdf

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/lzw"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"io"
	"sync"

	tifflzw "golang.org/x/image/tiff/lzw"
)

// Encoded returns the stream data still encoded with its filters but
// decrypted, and its length. The data is read from the file as the returned
// reader is consumed.
func (s *Stream) Encoded() (io.Reader, int64, error) { return s.encodedData() }

func (s *Stream) encodedData() (io.Reader, int64, error) {
	if s.isNew || s.r == nil {
		return bytes.NewReader(s.data), int64(len(s.data)), nil
	}
	sr := io.NewSectionReader(s.r.ra, s.offset, s.length)
	if s.r.crypt != nil && s.ref != s.r.encryptRef && s.r.crypt.encryptsStream(s.Dict) {
		return s.r.crypt.streamDecrypter(s.ref, sr, s.length)
	}
	return sr, s.length, nil
}

// Decoded returns the stream data with all filters applied. limit caps the
// decoded size (0: the reader's MaxStreamSize; 64 MiB for new streams);
// larger data gives ErrLimit. Unsupported filters give ErrUnsupported.
func (s *Stream) Decoded(limit int64) ([]byte, error) { return s.decoded(limit, nil) }

// DecodedReader is Decoded as a reader, for data too large to hold.
func (s *Stream) DecodedReader(limit int64) (io.Reader, error) {
	return s.decodedReader(limit, &loadCtx{})
}

func (s *Stream) decoded(limit int64, lc *loadCtx) ([]byte, error) {
	if lc == nil {
		lc = &loadCtx{}
	}
	rd, err := s.decodedReader(limit, lc)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rd); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Stream) resolve(o Object, lc *loadCtx) (Object, error) {
	if s.r == nil {
		return o, nil
	}
	return s.r.resolveCtx(o, lc)
}

func (s *Stream) decodedReader(limit int64, lc *loadCtx) (io.Reader, error) {
	if limit <= 0 {
		limit = 64 << 20
		if s.r != nil {
			limit = s.r.opts.MaxStreamSize
		}
	}
	filters, params, err := s.filters(lc)
	if err != nil {
		return nil, err
	}
	src, _, err := s.encodedData()
	if err != nil {
		return nil, err
	}
	off := s.Offset()
	for i, f := range filters {
		switch f {
		case "FlateDecode", "Fl":
			src = newFlateReader(src)
		case "ASCIIHexDecode", "AHx":
			src = &asciiHexReader{r: bufio.NewReader(src)}
		case "ASCII85Decode", "A85":
			src = ascii85.NewDecoder(&a85Terminator{r: bufio.NewReader(src)})
		case "LZWDecode", "LZW":
			// EarlyChange 1 (the default) is the TIFF variant of LZW,
			// EarlyChange 0 the GIF one.
			early := int64(1)
			if params[i] != nil {
				if v, ok := params[i].Int("EarlyChange"); ok {
					early = v
				}
			}
			if early == 0 {
				src = lzw.NewReader(src, lzw.MSB, 8)
			} else {
				src = tifflzw.NewReader(src, tifflzw.MSB, 8)
			}
		case "RunLengthDecode", "RL":
			src = &runLengthReader{r: bufio.NewReader(src)}
		case "Crypt":
			// Decryption already happened (or /Identity asked for none).
			continue
		default:
			return nil, unsupported(off, "stream filter /%s", f)
		}
		if src, err = applyPredictor(src, params[i], off); err != nil {
			return nil, err
		}
	}
	return &limitReader{r: src, left: limit, limit: limit, off: off}, nil
}

// filters returns the filter names and their parameter dictionaries (nil
// when absent), resolving indirect values.
func (s *Stream) filters(lc *loadCtx) ([]Name, []*Dict, error) {
	fo, err := s.resolve(s.Dict.Get("Filter"), lc)
	if err != nil {
		return nil, nil, err
	}
	po, err := s.resolve(s.Dict.Get("DecodeParms"), lc)
	if err != nil {
		return nil, nil, err
	}
	var names []Name
	switch f := fo.(type) {
	case nil, Null:
	case Name:
		names = []Name{f}
	case Array:
		for _, e := range f {
			e, err = s.resolve(e, lc)
			if err != nil {
				return nil, nil, err
			}
			n, ok := e.(Name)
			if !ok {
				return nil, nil, malformed(s.Offset(), "/Filter array holds a %T", e)
			}
			names = append(names, n)
		}
	default:
		return nil, nil, malformed(s.Offset(), "/Filter is a %T", fo)
	}
	params := make([]*Dict, len(names))
	switch p := po.(type) {
	case *Dict:
		if len(params) > 0 {
			params[0] = p
		}
	case Array:
		for i := 0; i < len(p) && i < len(params); i++ {
			e, err := s.resolve(p[i], lc)
			if err != nil {
				return nil, nil, err
			}
			params[i], _ = e.(*Dict)
		}
	}
	return names, params, nil
}

// limitReader fails with ErrLimit once more than limit bytes come through.
type limitReader struct {
	r     io.Reader
	left  int64
	limit int64
	off   int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, limitErr(l.off, "stream decodes to more than %d bytes", l.limit)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, limitErr(l.off, "stream decodes to more than %d bytes", l.limit)
	}
	if err != nil && err != io.EOF {
		var pe *Error
		if !errors.As(err, &pe) {
			err = &Error{Kind: ErrMalformed, Offset: l.off, Reason: "decoding stream", Err: err}
		}
	}
	return n, err
}

// flateReader accepts zlib data, raw deflate data (no zlib header), and data
// whose checksum or final block is missing: common in real files and harmless
// for reading, since the data itself decoded fine.
type flateReader struct {
	src io.Reader
	dec io.Reader
}

func newFlateReader(src io.Reader) io.Reader { return &flateReader{src: src} }

func (f *flateReader) Read(p []byte) (int, error) {
	if f.dec == nil {
		br := bufio.NewReader(f.src)
		h, _ := br.Peek(2)
		if len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return 0, err
			}
			f.dec = zr
		} else {
			f.dec = flate.NewReader(br)
		}
	}
	n, err := f.dec.Read(p)
	if errors.Is(err, zlib.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// zlibWriters reuses compressors: a new one allocates about 800 KB, far
// more than the xref streams and small objects a signature writes.
var zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(io.Discard) }}

func flateEncode(plain []byte) []byte {
	var buf bytes.Buffer
	zw := zlibWriters.Get().(*zlib.Writer)
	zw.Reset(&buf)
	zw.Write(plain)
	zw.Close()
	zw.Reset(io.Discard) // do not keep buf alive from the pool
	zlibWriters.Put(zw)
	return buf.Bytes()
}

// asciiHexReader decodes ASCIIHexDecode: hex digits, white space ignored,
// '>' ends the data, an odd final digit is followed by 0.
type asciiHexReader struct {
	r    *bufio.Reader
	done bool
}

func (a *asciiHexReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && !a.done {
		var v [2]byte
		k := 0
		for k < 2 {
			c, err := a.r.ReadByte()
			if err == io.EOF || c == '>' {
				a.done = true
				break
			}
			if err != nil {
				return n, err
			}
			if isWhite(c) {
				continue
			}
			d, ok := unhex(c)
			if !ok {
				return n, malformed(-1, "invalid character %q in ASCIIHexDecode data", c)
			}
			v[k] = d
			k++
		}
		if k == 0 {
			break
		}
		p[n] = v[0]<<4 | v[1]
		n++
	}
	if n == 0 && a.done {
		return 0, io.EOF
	}
	return n, nil
}

// a85Terminator feeds encoding/ascii85 until the "~>" end marker.
type a85Terminator struct {
	r    *bufio.Reader
	done bool
}

func (a *a85Terminator) Read(p []byte) (int, error) {
	if a.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		c, err := a.r.ReadByte()
		if err != nil {
			a.done = true
			break
		}
		if c == '~' {
			a.done = true
			break
		}
		p[n] = c
		n++
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// applyPredictor wraps r with the PNG or TIFF predictor named in params.
func applyPredictor(r io.Reader, params *Dict, off int64) (io.Reader, error) {
	if params == nil {
		return r, nil
	}
	pred, _ := params.Int("Predictor")
	if pred <= 1 {
		return r, nil
	}
	colors, bpc, columns := int64(1), int64(8), int64(1)
	if v, ok := params.Int("Colors"); ok {
		colors = v
	}
	if v, ok := params.Int("BitsPerComponent"); ok {
		bpc = v
	}
	if v, ok := params.Int("Columns"); ok {
		columns = v
	}
	if colors < 1 || colors > 32 || columns < 1 || columns > 1<<20 {
		return nil, malformed(off, "bad predictor parameters")
	}
	switch bpc {
	case 1, 2, 4, 8, 16:
	default:
		return nil, malformed(off, "bad predictor BitsPerComponent %d", bpc)
	}
	rowBytes := int((colors*bpc*columns + 7) / 8)
	bpp := int((colors*bpc + 7) / 8)
	if pred == 2 {
		if bpc != 8 {
			return nil, unsupported(off, "TIFF predictor with %d bits per component", bpc)
		}
		return &predReader{r: bufio.NewReader(r), tiff: true, row: make([]byte, rowBytes), prev: make([]byte, rowBytes), bpp: bpp}, nil
	}
	if pred >= 10 {
		return &predReader{r: bufio.NewReader(r), row: make([]byte, rowBytes), prev: make([]byte, rowBytes), bpp: bpp}, nil
	}
	return nil, unsupported(off, "predictor %d", pred)
}

// predReader undoes PNG (per-row filter byte) or TIFF 2 prediction.
type predReader struct {
	r         *bufio.Reader
	tiff      bool
	row, prev []byte
	bpp       int
	pending   []byte
	err       error
}

func (pr *predReader) Read(p []byte) (int, error) {
	for len(pr.pending) == 0 {
		if pr.err != nil {
			return 0, pr.err
		}
		pr.nextRow()
	}
	n := copy(p, pr.pending)
	pr.pending = pr.pending[n:]
	return n, nil
}

func (pr *predReader) nextRow() {
	pr.prev, pr.row = pr.row, pr.prev
	row := pr.row
	if pr.tiff {
		n, err := io.ReadFull(pr.r, row)
		if n == 0 {
			pr.err = eofOr(err)
			return
		}
		row = row[:n]
		for i := pr.bpp; i < len(row); i++ {
			row[i] += row[i-pr.bpp]
		}
		pr.pending = row
		if err != nil {
			pr.err = io.EOF
		}
		return
	}
	ft, err := pr.r.ReadByte()
	if err != nil {
		pr.err = eofOr(err)
		return
	}
	n, err := io.ReadFull(pr.r, row)
	if n == 0 {
		pr.err = eofOr(err)
		return
	}
	// A short last row is decoded as far as it goes.
	prev := pr.prev
	row = row[:n]
	switch ft {
	case 0:
	case 1:
		for i := pr.bpp; i < n; i++ {
			row[i] += row[i-pr.bpp]
		}
	case 2:
		for i := 0; i < n; i++ {
			row[i] += prev[i]
		}
	case 3:
		for i := 0; i < n; i++ {
			var left int
			if i >= pr.bpp {
				left = int(row[i-pr.bpp])
			}
			row[i] += byte((left + int(prev[i])) / 2)
		}
	case 4:
		for i := 0; i < n; i++ {
			var a, c int
			if i >= pr.bpp {
				a, c = int(row[i-pr.bpp]), int(prev[i-pr.bpp])
			}
			row[i] += paeth(a, int(prev[i]), c)
		}
	default:
		pr.err = malformed(-1, "PNG predictor row filter %d", ft)
		return
	}
	pr.pending = row
	if err != nil {
		pr.err = io.EOF
	}
}

func eofOr(err error) error {
	if err == io.ErrUnexpectedEOF || err == nil {
		return io.EOF
	}
	return err
}

func paeth(a, b, c int) byte {
	p := a + b - c
	pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
	if pa <= pb && pa <= pc {
		return byte(a)
	}
	if pb <= pc {
		return byte(b)
	}
	return byte(c)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// runLengthReader decodes RunLengthDecode: a length byte n, then n+1 literal
// bytes (n < 128) or one byte repeated 257-n times (n > 128); 128 ends.
type runLengthReader struct {
	r       *bufio.Reader
	pending []byte
	buf     [128]byte
	done    bool
}

func (rl *runLengthReader) Read(p []byte) (int, error) {
	for len(rl.pending) == 0 {
		if rl.done {
			return 0, io.EOF
		}
		n, err := rl.r.ReadByte()
		if err != nil || n == 128 {
			rl.done = true
			continue
		}
		if n < 128 {
			k, err := io.ReadFull(rl.r, rl.buf[:int(n)+1])
			rl.pending = rl.buf[:k]
			if err != nil {
				rl.done = true
			}
			continue
		}
		c, err := rl.r.ReadByte()
		if err != nil {
			rl.done = true
			continue
		}
		cnt := 257 - int(n)
		for i := 0; i < cnt; i++ {
			rl.buf[i] = c
		}
		rl.pending = rl.buf[:cnt]
	}
	k := copy(p, rl.pending)
	rl.pending = rl.pending[k:]
	return k, nil
}
