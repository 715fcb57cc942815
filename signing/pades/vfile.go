package pades

import (
	"bytes"
	"io"
	"sync/atomic"

	"vanban/signing/internal/pipe"
)

// vfile is a file assembled from pieces without copying them: ranges of a
// ReaderAt and byte slices. It lets us parse "the prepared file with the CMS
// patched in, plus a DSS update" before any of it is written, and then write
// it in one streaming pass.
type vfile struct {
	parts []vpart
	size  int64
}

type vpart struct {
	ra   io.ReaderAt // nil: data
	off  int64       // offset in ra
	data []byte
	n    int64
}

func (v *vfile) appendRange(ra io.ReaderAt, off, n int64) {
	if inner, ok := ra.(*vfile); ok {
		// A range of another vfile is its pieces: reads then go
		// straight to the underlying file, which lets writeRange copy a
		// file range to a file inside the kernel.
		inner.appendPieces(v, off, n)
		return
	}
	if n > 0 {
		v.parts = append(v.parts, vpart{ra: ra, off: off, n: n})
		v.size += n
	}
}

// appendPieces appends [off, off+n) of inner to v, piece by piece. Bytes
// beyond inner's end are left out, as a ReadAt there would fail.
func (inner *vfile) appendPieces(v *vfile, off, n int64) {
	pos := int64(0)
	for _, part := range inner.parts {
		end := pos + part.n
		lo, hi := max(off, pos), min(off+n, end)
		if lo < hi {
			if part.ra == nil {
				v.appendBytes(part.data[lo-pos : hi-pos])
			} else {
				v.appendRange(part.ra, part.off+lo-pos, hi-lo)
			}
		}
		pos = end
	}
}

func (v *vfile) appendBytes(b []byte) {
	if len(b) > 0 {
		v.parts = append(v.parts, vpart{data: b, n: int64(len(b))})
		v.size += int64(len(b))
	}
}

// Size returns the total length.
func (v *vfile) Size() int64 { return v.size }

// ReadAt implements io.ReaderAt.
func (v *vfile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := 0
	pos := int64(0)
	for _, part := range v.parts {
		if len(p) == 0 {
			break
		}
		end := pos + part.n
		if off < end {
			inPart := off - pos
			want := min(int64(len(p)), part.n-inPart)
			var got int
			var err error
			if part.ra == nil {
				got = copy(p[:want], part.data[inPart:])
			} else {
				got, err = part.ra.ReadAt(p[:want], part.off+inPart)
				if err == io.EOF && int64(got) == want {
					err = nil
				}
			}
			n += got
			off += int64(got)
			p = p[got:]
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
		}
		pos = end
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// writeRange streams [from, to) of v to w, in order: the file parts are
// read in large blocks on another goroutine than the one writing
// (signing/internal/pipe), so reading and writing a large file overlap.
func (v *vfile) writeRange(w io.Writer, from, to int64) error {
	return v.copyRange(from, to, w)
}

// copyRange is writeRange to several writers, each on its own goroutine
// (one reading pass for a hash and an output, or two hashes).
func (v *vfile) copyRange(from, to int64, sinks ...io.Writer) error {
	pos := int64(0)
	var ranges []pipe.Range
	for _, part := range v.parts {
		end := pos + part.n
		lo, hi := max(from, pos), min(to, end)
		if lo < hi {
			if part.ra == nil {
				ranges = append(ranges, pipe.Range{RA: bytes.NewReader(part.data), Off: lo - pos, N: hi - lo})
			} else {
				ranges = append(ranges, pipe.Range{RA: part.ra, Off: part.off + lo - pos, N: hi - lo})
			}
		}
		pos = end
	}
	return pipe.Copy(ranges, sinks...)
}

// gatedReaderAt serves reads from ra, except that while closed it answers
// reads with zeros without touching ra. pdf.Update.Write copies the original
// file before the increment; we lay the increment out in memory before the
// single streaming pass over the original, so that copy is wasted work. The
// gate is closed only around Update.Write, and our updates never contain
// objects whose data still lives in the file (checked in update.add), so no
// zeros reach the output.
type gatedReaderAt struct {
	ra     io.ReaderAt
	closed atomic.Bool
}

func (g *gatedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if g.closed.Load() {
		clear(p)
		return len(p), nil
	}
	return g.ra.ReadAt(p, off)
}

// skipWriter drops the first skip bytes written to it and keeps the rest.
type skipWriter struct {
	skip int64
	buf  []byte
}

func (s *skipWriter) Write(p []byte) (int, error) {
	n := len(p)
	if s.skip > 0 {
		k := min(int64(len(p)), s.skip)
		s.skip -= k
		p = p[k:]
	}
	s.buf = append(s.buf, p...)
	return n, nil
}
