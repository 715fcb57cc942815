package pdf

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Span is a byte range of the written output: [Offset, Offset+Length).
type Span struct {
	Offset int64
	Length int64
}

// End returns Offset+Length.
func (s Span) End() int64 { return s.Offset + s.Length }

// WriteResult describes what Update.Write produced. All offsets are absolute
// in the output (the original file is its prefix).
type WriteResult struct {
	// Size is the total output size: original, separator, increment.
	Size int64
	// XRefOffset is the startxref value of the new section.
	XRefOffset int64
	// Objects gives the offset of each written object ("N G obj").
	Objects map[Ref]int64
	// Placeholders gives the span of each Placeholder by name.
	Placeholders map[string]Span
}

// ByteRange returns the /ByteRange covering the whole output except the
// placeholder named contents (brackets included, as PAdES requires).
func (res *WriteResult) ByteRange(contents string) ([4]int64, error) {
	sp, ok := res.Placeholders[contents]
	if !ok {
		return [4]int64{}, &Error{Kind: ErrPlaceholder, Offset: -1, Reason: "no placeholder " + strconv.Quote(contents)}
	}
	return [4]int64{0, sp.Offset, sp.End(), res.Size - sp.End()}, nil
}

// FormatByteRange renders br as "[a b c d]" padded with spaces to width.
func FormatByteRange(br [4]int64, width int) ([]byte, error) {
	b := fmt.Appendf(nil, "[%d %d %d %d]", br[0], br[1], br[2], br[3])
	if len(b) > width {
		return nil, &Error{Kind: ErrPlaceholder, Offset: -1, Reason: fmt.Sprintf("byte range %s needs %d bytes, placeholder has %d", b, len(b), width)}
	}
	for len(b) < width {
		b = append(b, ' ')
	}
	return b, nil
}

// PatchByteRange writes br into the placeholder at span.
func PatchByteRange(w io.WriterAt, span Span, br [4]int64) error {
	b, err := FormatByteRange(br, int(span.Length))
	if err != nil {
		return err
	}
	_, err = w.WriteAt(b, span.Offset)
	return err
}

// FormatHexString renders data as "<hex…>" zero-padded to width bytes
// (brackets included).
func FormatHexString(data []byte, width int) ([]byte, error) {
	if 2*len(data)+2 > width {
		return nil, &Error{Kind: ErrPlaceholder, Offset: -1, Reason: fmt.Sprintf("%d bytes do not fit a %d-byte hex placeholder", len(data), width)}
	}
	b := make([]byte, width)
	b[0] = '<'
	hex.Encode(b[1:], data)
	for i := 1 + 2*len(data); i < width-1; i++ {
		b[i] = '0'
	}
	b[width-1] = '>'
	return b, nil
}

// PatchHexString writes data into the hex-string placeholder at span (made
// by ContentsPlaceholder), zero-padded.
func PatchHexString(w io.WriterAt, span Span, data []byte) error {
	b, err := FormatHexString(data, int(span.Length))
	if err != nil {
		return err
	}
	_, err = w.WriteAt(b, span.Offset)
	return err
}

// Update collects new and replaced objects and writes them as an
// incremental update appended to the unchanged original bytes.
type Update struct {
	r       *Reader
	next    uint32
	exhaust bool // object numbers ran out (hostile /Size or xref)
	objects map[uint32]pending
}

type pending struct {
	gen uint16
	obj Object
}

// maxObjectNumber bounds new object numbers: readers commonly store them in
// 32-bit signed integers (ISO 32000-2 Annex C suggests 8,388,607 as a
// conservative maximum; we only guard against overflow).
const maxObjectNumber = 1<<31 - 1

// NewUpdate starts an incremental update of the document read by r.
func NewUpdate(r *Reader) *Update {
	return &Update{r: r, next: r.MaxObjectNumber() + 1, objects: make(map[uint32]pending)}
}

// Reader returns the reader the update was made from.
func (u *Update) Reader() *Reader { return u.r }

// Add stores obj as a new object with the next free number beyond the
// highest existing one, and returns its reference. obj may be nil to reserve
// the number and set it later with Replace (the writer fails if it is not).
func (u *Update) Add(obj Object) Ref {
	ref := Ref{Num: u.next}
	// Keep one number free for an xref stream; Write reports exhaustion.
	if u.next >= maxObjectNumber-1 || u.next == 0 {
		u.exhaust = true
		return Ref{}
	}
	u.next++
	u.objects[ref.Num] = pending{gen: 0, obj: obj}
	return ref
}

// Replace sets a new value for an existing object (or one allocated by Add).
// Errors: ErrNotFound when ref names no object of the document or update.
func (u *Update) Replace(ref Ref, obj Object) error {
	if p, ok := u.objects[ref.Num]; ok && p.gen == ref.Gen {
		u.objects[ref.Num] = pending{gen: ref.Gen, obj: obj}
		return nil
	}
	e, ok := u.r.index.get(ref.Num)
	if !ok || ref.Num == 0 || e.kind == entryFree || (e.kind == entryOffset && e.gen != ref.Gen) || (e.kind == entryCompressed && ref.Gen != 0) {
		return &Error{Kind: ErrNotFound, Offset: -1, Reason: "object " + ref.String() + " does not exist"}
	}
	u.objects[ref.Num] = pending{gen: ref.Gen, obj: obj}
	return nil
}

// Pending returns the object the update holds for ref, if any.
func (u *Update) Pending(ref Ref) (Object, bool) {
	p, ok := u.objects[ref.Num]
	if !ok || p.gen != ref.Gen {
		return nil, false
	}
	return p.obj, true
}

// WriteTo implements io.WriterTo; see Write.
func (u *Update) WriteTo(w io.Writer) (int64, error) {
	res, err := u.Write(w)
	if res == nil {
		return 0, err
	}
	return res.Size, err
}

// Write streams the original file unchanged, a newline if it lacks a final
// end-of-line, the objects of the update (strings and streams encrypted when
// the document is), and a cross-reference section of the same kind as the
// document's last one, with /Prev, /Root, /Info, /ID and /Encrypt kept.
// It never holds the original document in memory.
func (u *Update) Write(w io.Writer) (*WriteResult, error) {
	r := u.r
	if u.exhaust {
		return nil, limitErr(-1, "no object numbers left above %d", r.MaxObjectNumber())
	}
	nums := make([]uint32, 0, len(u.objects))
	for num, p := range u.objects {
		if p.obj == nil {
			return nil, invalidObject("object %d was reserved but never set", num)
		}
		nums = append(nums, num)
	}
	slices.Sort(nums)

	cw := &countingWriter{w: w}
	if _, err := io.Copy(cw, io.NewSectionReader(r.ra, 0, r.size)); err != nil {
		return nil, err
	}
	if cw.n != r.size {
		return nil, malformed(cw.n, "original file shorter than its declared size")
	}
	bw := bufio.NewWriterSize(cw, 64<<10)
	ow := &objWriter{w: bw, base: r.size, crypt: r.crypt, placeholders: make(map[string]Span)}
	if !r.hasEOL {
		ow.writeString("\n")
	}
	res := &WriteResult{Objects: make(map[Ref]int64, len(nums)+1), Placeholders: ow.placeholders}
	for _, num := range nums {
		p := u.objects[num]
		ref := Ref{Num: num, Gen: p.gen}
		res.Objects[ref] = ow.base + ow.n
		ow.ref = ref
		ow.writeString(fmt.Sprintf("%d %d obj\n", num, p.gen))
		ow.top(p.obj)
		ow.writeString("\nendobj\n")
		if ow.err != nil {
			return nil, ow.err
		}
	}
	ow.crypt = nil // cross-reference data and trailers are never encrypted
	xrefOff := ow.base + ow.n
	size := int64(r.MaxObjectNumber()) + 1
	if len(nums) > 0 {
		size = max(size, int64(nums[len(nums)-1])+1)
	}
	trailer := &Dict{}
	for _, k := range []Name{"Root", "Info", "ID", "Encrypt"} {
		if v := r.trailer.Get(k); v != nil {
			trailer.Set(k, v)
		}
	}
	trailer.Set("Prev", Integer(r.lastOff))

	if r.lastKind == XRefStream {
		xnum := u.next
		if int64(xnum)+1 > size {
			size = int64(xnum) + 1
		}
		res.Objects[Ref{Num: xnum}] = xrefOff
		type row struct {
			num uint32
			off int64
			gen uint16
		}
		rows := make([]row, 0, len(nums)+1)
		for _, num := range nums {
			ref := Ref{Num: num, Gen: u.objects[num].gen}
			rows = append(rows, row{num, res.Objects[ref], ref.Gen})
		}
		rows = append(rows, row{xnum, xrefOff, 0})
		offWidth := 1
		for xrefOff>>(8*offWidth) > 0 {
			offWidth++
		}
		var data []byte
		var index Array
		for i, rw := range rows {
			if i == 0 || rows[i-1].num+1 != rw.num {
				index = append(index, Integer(rw.num), Integer(0))
			}
			index[len(index)-1] = index[len(index)-1].(Integer) + 1
			data = append(data, 1)
			var ob [8]byte
			binary.BigEndian.PutUint64(ob[:], uint64(rw.off))
			data = append(data, ob[8-offWidth:]...)
			data = append(data, byte(rw.gen>>8), byte(rw.gen))
		}
		d := &Dict{}
		d.Set("Type", Name("XRef"))
		d.Set("Size", Integer(size))
		d.Set("W", Array{Integer(1), Integer(offWidth), Integer(2)})
		d.Set("Index", index)
		for _, e := range trailer.entries {
			d.Set(e.Key, e.Value)
		}
		ow.writeString(fmt.Sprintf("%d 0 obj\n", xnum))
		ow.top(NewFlateStream(d, data))
		ow.writeString("\nendobj\n")
	} else {
		ow.writeString("xref\n0 1\n0000000000 65535 f \n")
		for i := 0; i < len(nums); {
			j := i
			for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
				j++
			}
			ow.writeString(fmt.Sprintf("%d %d\n", nums[i], j-i+1))
			for k := i; k <= j; k++ {
				ref := Ref{Num: nums[k], Gen: u.objects[nums[k]].gen}
				ow.writeString(fmt.Sprintf("%010d %05d n \n", res.Objects[ref], ref.Gen))
			}
			i = j + 1
		}
		d := &Dict{}
		d.Set("Size", Integer(size))
		for _, e := range trailer.entries {
			d.Set(e.Key, e.Value)
		}
		ow.writeString("trailer\n")
		ow.dict(d)
		ow.writeString("\n")
	}
	ow.writeString(fmt.Sprintf("startxref\n%d\n%%%%EOF\n", xrefOff))
	if ow.err != nil {
		return nil, ow.err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	res.Size = cw.n
	res.XRefOffset = xrefOff
	return res, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
