// Package files is the one way uploaded files enter the blob store and
// stored files leave it, for the REST API and the pages alike: a PDF is
// checked (header, our reader) before it is accepted, an office document is
// converted first when a converter is configured, a refused file is removed
// again unless something else uses the same bytes, and every download is
// checked against its SHA-256 before the first byte is sent.
package files

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/pdf"
	"vanban/storage"
)

// Converter turns an office document (ext is ".docx", ".odt" or ".doc") into
// a PDF; the returned reader's Close removes what it left behind.
type Converter func(ctx context.Context, r io.Reader, ext string) (io.ReadCloser, error)

// Store reads uploads into the blob store and serves stored files.
type Store struct {
	Blobs storage.Store
	// Convert is nil when office documents cannot be converted.
	Convert Converter
	// Referenced reports whether a stored object backs a version, an
	// attachment or a signature image; a refused upload whose bytes are
	// referenced is kept. Nil keeps every valid refused upload.
	Referenced func(ctx context.Context, key string) (bool, error)
	// Quota bounds what one person uploads (see Limit); zero is none.
	Quota  Quota
	Logger *slog.Logger
}

// officeMagic are the formats a converter takes, with the bytes each must
// start with: DOCX and ODT are ZIP containers, DOC an OLE2 compound file.
// LibreOffice would otherwise import anything, even plain text.
var officeMagic = map[string][]byte{
	".docx": []byte("PK\x03\x04"),
	".odt":  []byte("PK\x03\x04"),
	".doc":  {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1},
}

// BadFile refuses an uploaded file that is not a readable PDF (or could not
// be made one); it is an EINVALID domain error about the field "file".
type BadFile struct{ err *document.Error }

func (e *BadFile) Error() string { return e.err.Error() }
func (e *BadFile) Unwrap() error { return e.err }

// NotPDF is the error of a file that is not a readable PDF.
func NotPDF(reason string) error {
	return &BadFile{document.FieldErrorf("file", document.EINVALID, "not a readable PDF: %s", reason)}
}

func notPDF(reason string) error { return NotPDF(reason) }

// IsBadFile reports whether err refuses the uploaded file itself (not a
// PDF, not convertible), as opposed to the request or our storage.
func IsBadFile(err error) bool {
	var b *BadFile
	return errors.As(err, &b)
}

// PutPDF stores a draft or received document from r. name is the file
// name the person chose (its extension selects office conversion). The
// file must start like a PDF (or like an office document when a converter
// is set) and open with our reader, which reads only the trailer,
// cross-reference and catalog: damaged and password-protected files are
// caught now rather than at signing. A refused file is removed.
// Errors: EINVALID with field "file", *http.MaxBytesError, storage errors.
func (s *Store) PutPDF(ctx context.Context, r io.Reader, name string) (workflow.File, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(1024)
	if len(head) == 0 {
		return workflow.File{}, notPDF("the file is empty")
	}
	var src io.Reader = br
	if !bytes.Contains(head, []byte("%PDF-")) {
		ext := strings.ToLower(filepath.Ext(name))
		magic, office := officeMagic[ext]
		if !office || s.Convert == nil {
			return workflow.File{}, notPDF("the file does not start with %PDF-")
		}
		if !bytes.HasPrefix(head, magic) {
			return workflow.File{}, notPDF("the file is not a " + strings.TrimPrefix(ext, ".") + " document")
		}
		converted, err := s.Convert(ctx, br, ext)
		if err != nil {
			return workflow.File{}, err
		}
		defer converted.Close()
		src = converted
	}
	obj, err := s.Blobs.PutContentAddressed(ctx, src, storage.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		return workflow.File{}, err
	}
	f := workflow.File{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size}
	if err := s.checkPDF(ctx, obj.Key); err != nil {
		// Identical bytes fail the same check, so no accepted version
		// can be using this object.
		s.remove(ctx, obj.Key)
		return workflow.File{}, err
	}
	return f, nil
}

func (s *Store) checkPDF(ctx context.Context, key string) error {
	rf, err := s.Blobs.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rf.Close()
	if rf.Size() == 0 {
		return notPDF("the file is empty")
	}
	if _, err := pdf.Open(rf, rf.Size(), nil); err != nil {
		return notPDF(err.Error())
	}
	return nil
}

// PutFile stores an attachment or an image as it is. It is stored, and
// later served, as application/octet-stream: the type a client claims is
// never trusted (an object is shared by every upload of the same bytes).
func (s *Store) PutFile(ctx context.Context, r io.Reader) (workflow.File, error) {
	obj, err := s.Blobs.PutContentAddressed(ctx, r, storage.PutOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return workflow.File{}, err
	}
	f := workflow.File{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size}
	if obj.Size == 0 {
		s.remove(ctx, obj.Key)
		return workflow.File{}, document.FieldErrorf("file", document.EINVALID, "the file is empty")
	}
	return f, nil
}

// Discard removes a stored upload that a use case refused, unless the same
// bytes back something already accepted.
func (s *Store) Discard(ctx context.Context, f workflow.File) {
	if f.BlobKey == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if s.Referenced == nil {
		return
	}
	used, err := s.Referenced(ctx, f.BlobKey)
	if err != nil {
		s.logger().Warn("checking a refused upload", "key", f.BlobKey, "err", err)
		return
	}
	if !used {
		s.remove(ctx, f.BlobKey)
	}
}

func (s *Store) remove(ctx context.Context, key string) {
	if err := s.Blobs.Delete(context.WithoutCancel(ctx), key); err != nil && !errors.Is(err, storage.ErrNotExist) {
		s.logger().Warn("removing a refused upload", "key", key, "err", err)
	}
}

func (s *Store) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// memLimit is how much of a download is held in memory while its digest is
// checked; larger files are spooled to a temporary file.
const memLimit = 4 << 20

// ContentType is the type a download is sent with, derived from the name
// we give it, never from what an uploader claimed: PDFs and PNGs (which
// browsers display) by their extension, anything else as bytes to save.
func ContentType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".pdf":
		return "application/pdf"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// DownloadCSP is the policy of every download: nothing in a downloaded file
// runs or loads anything in our origin, even if a browser renders it.
const DownloadCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

// Serve sends the stored object key as an attachment named name. The whole
// object is read and checked against its SHA-256 before any header is
// written, so a damaged file is refused with an error the caller answers
// (storage.ErrIntegrity, storage.ErrNotExist) instead of a body cut short.
func (s *Store) Serve(ctx context.Context, w http.ResponseWriter, key, name string) error {
	rc, obj, err := s.Blobs.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	var body io.ReadSeeker
	size := obj.Size
	if size >= 0 && size <= memLimit {
		b, err := io.ReadAll(io.LimitReader(rc, memLimit+1))
		if err != nil {
			return s.integrity(key, err)
		}
		body, size = bytes.NewReader(b), int64(len(b))
	} else {
		tmp, err := os.CreateTemp("", "vanban-download-")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		n, err := io.Copy(tmp, rc)
		if err != nil {
			return s.integrity(key, err)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		body, size = tmp, n
	}
	h := w.Header()
	h.Set("Content-Type", ContentType(name))
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Content-Disposition", storage.ContentDisposition(name))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", DownloadCSP)
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, body)
	return err
}

func (s *Store) integrity(key string, err error) error {
	if errors.Is(err, storage.ErrIntegrity) {
		s.logger().Error("stored file fails its integrity check", "key", key, "err", err)
	}
	return err
}

// Signature images (Decree 30/2020, Appendix I) are small PNGs with
// transparency.
const (
	MaxImageBytes = 1 << 20
	MaxImageSide  = 3000
)

// CheckPNG reports whether a stored object is a signature image we accept:
// a PNG that decodes, at most 1 MiB and 3000 pixels a side. Returns
// EINVALID with field "file".
func (s *Store) CheckPNG(ctx context.Context, f workflow.File) error {
	if f.Size > MaxImageBytes {
		return document.FieldErrorf("file", document.EINVALID, "a signature image is at most 1 MiB")
	}
	rc, _, err := s.Blobs.Get(ctx, f.BlobKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxImageBytes+1))
	if err != nil {
		return err
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return document.FieldErrorf("file", document.EINVALID, "not a PNG image: %v", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return document.FieldErrorf("file", document.EINVALID, "the image must be between 1 and %d pixels on each side", MaxImageSide)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		return document.FieldErrorf("file", document.EINVALID, "the PNG is damaged: %v", err)
	}
	return nil
}
