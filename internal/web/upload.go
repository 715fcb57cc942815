package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/officeconv"
	"vanban/internal/workflow"
	"vanban/signing/pdf"
	"vanban/storage"
)

// errNotPDF marks an upload that is not a readable PDF.
type errNotPDF struct{ reason string }

func (e errNotPDF) Error() string { return "not a readable PDF: " + e.reason }

// form is a multipart form read as a stream: its text fields and its one
// file, stored in the blob store.
type form struct {
	fields map[string][]string
	file   *workflow.File
	name   string
}

func (f *form) get(k string) string {
	if v := f.fields[k]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// maxField bounds one text field.
const maxField = 64 << 10

// readMultipart streams the form: the CSRF token must come (as the form's
// first field, or in the header) before the file is accepted, so that a
// forged cross-site upload stores nothing. The file goes straight into the
// blob store; office documents are converted to PDF first when LibreOffice
// is there.
func (s *Server) readMultipart(c *gin.Context) (*form, error) {
	ws := session(c)
	csrfOK := s.opt.Auth.CheckCSRF(ws, c.GetHeader(httpapi.CSRFHeader))
	_, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, document.Errorf(document.EINVALID, "send the form as multipart/form-data")
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, s.opt.MaxUpload+1<<20)
	mr := multipart.NewReader(body, params["boundary"])
	f := &form{fields: map[string][]string{}}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, s.cleanup(c, f, err)
		}
		name := part.FormName()
		if name == CSRFField {
			b, _ := io.ReadAll(io.LimitReader(part, 256))
			csrfOK = csrfOK || s.opt.Auth.CheckCSRF(ws, string(b))
			continue
		}
		if !csrfOK {
			return f, errCSRF
		}
		if part.FileName() == "" && name != "file" {
			b, err := io.ReadAll(io.LimitReader(part, maxField))
			if err != nil {
				return f, s.cleanup(c, f, err)
			}
			f.fields[name] = append(f.fields[name], string(b))
			continue
		}
		if f.file != nil {
			return f, s.cleanup(c, f, document.Errorf(document.EINVALID, "send one file"))
		}
		f.name = part.FileName()
		if f.file, err = s.storeFile(c, part); err != nil {
			return f, s.cleanup(c, f, err)
		}
	}
	if !csrfOK {
		return f, errCSRF
	}
	if f.file == nil {
		return f, document.Errorf(document.EINVALID, "choose a file to upload")
	}
	return f, nil
}

var errCSRF = errors.New("csrf token missing or wrong")

// cleanup removes a stored file of a refused form.
func (s *Server) cleanup(c *gin.Context, f *form, err error) error {
	if f != nil && f.file != nil && f.file.BlobKey != "" {
		var np errNotPDF
		// Only files that failed our checks are removed: identical valid
		// bytes may back another version (keys are content addresses).
		if errors.As(err, &np) {
			_ = s.opt.Blobs.Delete(c.Request.Context(), f.file.BlobKey)
		}
	}
	return err
}

// officeExt are the document formats LibreOffice converts for us, with the
// bytes each must start with: DOCX and ODT are ZIP containers, DOC an OLE2
// compound file. LibreOffice would otherwise import anything, even a few
// words of plain text, as a document and make a PDF of it.
var officeExt = map[string][]byte{
	".docx": []byte("PK\x03\x04"),
	".odt":  []byte("PK\x03\x04"),
	".doc":  {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1},
}

func (s *Server) storeFile(c *gin.Context, part *multipart.Part) (*workflow.File, error) {
	ctx := c.Request.Context()
	br := bufio.NewReaderSize(part, 64<<10)
	head, _ := br.Peek(1024)
	if len(head) == 0 && part.FileName() == "" {
		// A browser sends a file input left empty as a part with no file
		// name and no bytes: no file was chosen, which is not a bad PDF.
		return nil, document.Errorf(document.EINVALID, "choose a file to upload")
	}
	var src io.Reader = br
	if !bytes.Contains(head, []byte("%PDF-")) {
		ext := strings.ToLower(filepath.Ext(part.FileName()))
		magic, office := officeExt[ext]
		if !office || s.soffice == "" {
			return nil, errNotPDF{"the file does not start with %PDF-"}
		}
		if !bytes.HasPrefix(head, magic) {
			return nil, errNotPDF{"the file is not a " + strings.TrimPrefix(ext, ".") + " document"}
		}
		converted, err := s.convert(ctx, br, ext)
		if err != nil {
			return nil, err
		}
		defer converted.Close()
		src = converted
	}
	obj, err := s.opt.Blobs.PutContentAddressed(ctx, src, storage.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		return nil, err
	}
	file := &workflow.File{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size}
	if obj.Size == 0 {
		return file, errNotPDF{"the file is empty"}
	}
	// Our reader opens only the trailer, cross-reference and catalog: it
	// catches damaged and password-protected files now rather than at
	// signing.
	rf, err := s.opt.Blobs.Open(ctx, obj.Key)
	if err != nil {
		return file, err
	}
	defer rf.Close()
	if _, err := pdf.Open(rf, rf.Size(), nil); err != nil {
		return file, errNotPDF{err.Error()}
	}
	return file, nil
}

// convert turns an office document into a PDF with LibreOffice, bounded
// and isolated by officeconv; the PDF is removed on Close.
func (s *Server) convert(ctx context.Context, r io.Reader, ext string) (io.ReadCloser, error) {
	pdf, err := s.office.Convert(ctx, r, ext)
	var ce *officeconv.Error
	if errors.As(err, &ce) {
		return nil, errNotPDF{ce.Error()}
	}
	return pdf, err
}

func (s *Server) formFail(c *gin.Context, err error) {
	if errors.Is(err, errCSRF) {
		s.errorPage(c, http.StatusForbidden, s.lang(c).T("err.csrf"), "")
		return
	}
	if strings.Contains(err.Error(), "multipart") || errors.Is(err, io.ErrUnexpectedEOF) {
		s.errorPage(c, http.StatusBadRequest, s.lang(c).T("err.invalid"), err.Error())
		return
	}
	s.fail(c, err)
}

// draftForm is the new-draft page's data.
type draftForm struct {
	Dir       *directory
	Units     []*document.Unit // where I may draft
	Reviewers []*document.User
	Signers   []*document.User
	Office    bool
	Error     string
	Detail    string
}

func (s *Server) draftForm(c *gin.Context) (*draftForm, bool) {
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	ws := session(c)
	df := &draftForm{Dir: dir, Office: s.soffice != ""}
	for _, u := range dir.UnitList {
		if ws.Grants.Allows(document.RoleDrafter, *u) {
			df.Units = append(df.Units, u)
		}
	}
	df.Reviewers = s.usersWithRole(c.Request.Context(), dir, document.RoleReviewer)
	df.Signers = s.usersWithRole(c.Request.Context(), dir, document.RoleSigner)
	return df, true
}

func (s *Server) newDraftPage(c *gin.Context) {
	if df, ok := s.draftForm(c); ok {
		s.render(c, http.StatusOK, "new", df)
	}
}

// createDraft makes the draft, names its signer and, when reviewers are
// chosen, submits it: the drafter's whole job in one form.
func (s *Server) createDraft(c *gin.Context) {
	f, err := s.readMultipart(c)
	if err != nil {
		s.formFail(c, err)
		return
	}
	ctx := c.Request.Context()
	a := actor(c)
	d, err := s.opt.Workflow.CreateDraft(ctx, a, workflow.DraftInput{UnitID: f.get("unit"), TypeCode: f.get("type"),
		Subject: f.get("subject"), Urgency: document.Urgency(f.get("urgency")), File: *f.file,
		Confidentiality: document.Confidentiality(f.get("confidentiality"))})
	if err == nil && f.get("signer") != "" {
		_, err = s.opt.Workflow.AssignSignerAs(ctx, a, d.ID, f.get("signer"), document.CapacityInPerson, "")
	}
	if err == nil && len(nonEmpty(f.fields["reviewer"])) > 0 {
		_, err = s.opt.Workflow.SubmitForReview(ctx, a, d.ID, nonEmpty(f.fields["reviewer"]))
	}
	if err != nil {
		if d != nil {
			// The draft exists; its page says what is left to do.
			status, msg, detail := s.failure(c, err)
			c.Params = append(c.Params, gin.Param{Key: "id", Value: d.ID})
			s.documentPage(c, status, msg, detail)
			return
		}
		status, msg, detail := s.failure(c, err)
		if status >= 500 {
			s.fail(c, err)
			return
		}
		if df, ok := s.draftForm(c); ok {
			df.Error, df.Detail = msg, detail
			s.render(c, status, "new", df)
		}
		return
	}
	c.Redirect(http.StatusSeeOther, "/d/"+d.ID)
}

func (s *Server) newIncomingPage(c *gin.Context) {
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "incoming", map[string]any{"Dir": dir, "Today": s.opt.Now().In(document.VietnamTime).Format("02/01/2006")})
}

func (s *Server) registerIncoming(c *gin.Context) {
	f, err := s.readMultipart(c)
	if err != nil {
		s.formFail(c, err)
		return
	}
	var senderDate time.Time
	if v := f.get("sender_date"); v != "" {
		if senderDate, err = parseDate(v); err != nil {
			s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), "sender_date: a date")
			return
		}
	}
	unit := f.get("unit")
	if unit == "" {
		unit = session(c).User.OrgID
	}
	d, _, err := s.opt.Workflow.RegisterIncoming(c.Request.Context(), actor(c), workflow.IncomingInput{UnitID: unit,
		TypeCode: f.get("type"), Subject: f.get("subject"), Urgency: document.Urgency(f.get("urgency")),
		SenderName: f.get("sender"), SenderSymbol: f.get("symbol"), SenderDate: senderDate, File: *f.file})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/d/"+d.ID)
}
