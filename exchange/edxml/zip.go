package edxml

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// IsZip reports whether an attachment's first bytes are a ZIP archive's.
// Several systems zip the document (and its appendixes) into one attachment.
func IsZip(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}

// ZipLimits bound what Unzip extracts.
type ZipLimits struct {
	MaxFiles int   // default 100
	MaxBytes int64 // total uncompressed bytes; default 200 MiB
}

// Unzip calls fn for each regular file in the ZIP archive ra (size bytes),
// with the file's base name and a reader of its content. The declared and
// the real sizes are both held to the limits, so a ZIP bomb stops at the
// limit. Errors are *Error of kind KindInvalid or KindLimit, or fn's error.
func Unzip(ra io.ReaderAt, size int64, lim ZipLimits, fn func(name string, r io.Reader) error) error {
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = 100
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = 200 << 20
	}
	const el = "edXML/AttachmentEncoded/Attachment/ContentTransferEncoded"
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		e := errf(KindInvalid, el, "attachment is not a readable ZIP archive")
		e.Err = err
		return e
	}
	var files int
	var total int64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		files++
		if files > lim.MaxFiles {
			return errf(KindLimit, el, "ZIP archive has more than %d files", lim.MaxFiles)
		}
		if f.UncompressedSize64 > uint64(lim.MaxBytes-total) {
			return errf(KindLimit, el, "ZIP archive expands to more than %d bytes", lim.MaxBytes)
		}
		rc, err := f.Open()
		if err != nil {
			e := errf(KindInvalid, el, "ZIP entry %q cannot be read", f.Name)
			e.Err = err
			return e
		}
		lr := &limitedReader{r: rc, left: lim.MaxBytes - total}
		name := path.Base(strings.ReplaceAll(f.Name, "\\", "/"))
		err = fn(name, lr)
		if err == nil {
			_, err = io.Copy(io.Discard, lr)
		}
		rc.Close()
		total += lr.read
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
				e := errf(KindInvalid, el, "ZIP entry %q is corrupt", f.Name)
				e.Err = err
				return e
			}
			return fmt.Errorf("edxml: ZIP entry %q: %w", f.Name, err)
		}
	}
	return nil
}

type limitedReader struct {
	r    io.Reader
	left int64
	read int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, errf(KindLimit, "edXML/AttachmentEncoded/Attachment/ContentTransferEncoded", "ZIP archive expands beyond its limit")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	return n, err
}
