package pades

import (
	"io"

	"vanban/signing/pdf"
)

// update is one incremental update under construction.
type update struct {
	d   *document
	u   *pdf.Update
	err error
}

func newUpdate(d *document) *update {
	return &update{d: d, u: pdf.NewUpdate(d.r)}
}

// add stores a new object and returns its reference.
func (u *update) add(obj pdf.Object) pdf.Ref {
	u.checkInMemory(obj)
	return u.u.Add(obj)
}

// reserve allocates an object number to be set later with replace.
func (u *update) reserve() pdf.Ref { return u.u.Add(nil) }

// replace stores a new version of an existing object.
func (u *update) replace(ref pdf.Ref, obj pdf.Object) {
	u.checkInMemory(obj)
	if err := u.u.Replace(ref, obj); err != nil && u.err == nil {
		u.err = mapPDFError(err, "replacing "+ref.String())
	}
}

// pending returns the object the update already holds for ref, or the
// document's current version, so repeated edits of one object (two fields
// on the same page) accumulate.
func (u *update) current(ref pdf.Ref) (*pdf.Dict, error) {
	if o, ok := u.u.Pending(ref); ok {
		if dict, ok := o.(*pdf.Dict); ok {
			return dict, nil
		}
	}
	return u.d.dict(ref)
}

// checkInMemory enforces that only streams we built go into an update: the
// increment is laid out while the original file is gated (see
// gatedReaderAt), so a parsed stream's data could not be read.
func (u *update) checkInMemory(obj pdf.Object) {
	if s, ok := obj.(*pdf.Stream); ok && s.Offset() >= 0 && u.err == nil {
		u.err = errorf(ErrUnsupported, "internal: an update may not rewrite a stream read from the file")
	}
}

// layout writes the increment (everything after the original bytes) to
// memory and returns it with the writer's result (absolute offsets).
func (u *update) layout() ([]byte, *pdf.WriteResult, error) {
	if u.err != nil {
		return nil, nil, u.err
	}
	sw := &skipWriter{skip: u.d.size}
	u.d.gate.closed.Store(true)
	res, err := u.u.Write(sw)
	u.d.gate.closed.Store(false)
	if err != nil {
		return nil, nil, mapPDFError(err, "writing the incremental update")
	}
	return sw.buf, res, nil
}

// writeUpdate lays out u and streams the original followed by the
// increment to out.
func writeUpdate(u *update, src io.ReaderAt, out io.Writer) error {
	inc, _, err := u.layout()
	if err != nil {
		return err
	}
	var v vfile
	v.appendRange(src, 0, u.d.size)
	v.appendBytes(inc)
	return v.writeRange(out, 0, v.Size())
}
