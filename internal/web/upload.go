package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/httperr"
	"vanban/internal/officeconv"
	"vanban/internal/workflow"
)

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

// Bounds of the text fields of an upload form: the multipart reader
// buffers each in memory, so their number and size are capped (a form of
// a million empty fields is refused, not held).
const (
	maxField       = 64 << 10
	maxFields      = 200
	maxFieldsBytes = 1 << 20
)

// readMultipart streams the form: the CSRF token must come (as the form's
// first field, or in the header) before the file is accepted, so that a
// forged cross-site upload stores nothing; check sees the fields that came
// before the file and refuses before anything is stored (the permission
// check: the file input comes last in every upload form). The file goes
// straight into the blob store through files.Store, bounded by maxFile and
// by the person's upload quota: as a PDF (office documents converted
// first) when pdf is set, else as bytes.
func (s *Server) readMultipart(c *gin.Context, pdf bool, maxFile int64, check func(*form) error) (*form, error) {
	ws := session(c)
	csrfOK := s.opt.Auth.CheckCSRF(ws, c.GetHeader(auth.CSRFHeader))
	_, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, httperr.BadRequest{Err: errors.New("send the form as multipart/form-data")}
	}
	if maxFile <= 0 || maxFile > s.opt.MaxUpload {
		maxFile = s.opt.MaxUpload
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxFile+maxFieldsBytes)
	mr := multipart.NewReader(body, params["boundary"])
	f := &form{fields: map[string][]string{}}
	nfields, fieldBytes := 0, 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, s.refuseForm(c, f, httperr.BadRequest{Err: err})
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
			nfields++
			if nfields > maxFields {
				return f, s.refuseForm(c, f, httperr.BadRequest{Err: errors.New("too many form fields")})
			}
			b, err := io.ReadAll(io.LimitReader(part, maxField))
			if err != nil {
				return f, s.refuseForm(c, f, httperr.BadRequest{Err: err})
			}
			if fieldBytes += len(b); fieldBytes > maxFieldsBytes {
				return f, s.refuseForm(c, f, httperr.BadRequest{Err: errors.New("the form fields are too long")})
			}
			f.fields[name] = append(f.fields[name], string(b))
			continue
		}
		if f.file != nil {
			return f, s.refuseForm(c, f, document.FieldErrorf("file", document.EINVALID, "send one file"))
		}
		if check != nil {
			if err := check(f); err != nil {
				return f, err
			}
		}
		stored, err := s.storeFile(c, part, pdf, maxFile)
		if err != nil {
			return f, err
		}
		f.file, f.name = &stored, cleanName(part.FileName())
	}
	if !csrfOK {
		return f, errCSRF
	}
	if f.file == nil {
		return f, document.FieldErrorf("file", document.EINVALID, "choose a file to upload")
	}
	return f, nil
}

// checkUpload is the permission pre-check of an upload for a use case of
// the workflow.
func (s *Server) checkUpload(c *gin.Context, t func(*form) workflow.UploadTarget) func(*form) error {
	return func(f *form) error {
		return s.opt.Workflow.CheckUpload(c.Request.Context(), actor(c), t(f))
	}
}

var errCSRF = errors.New("csrf token missing or wrong")

// refuseForm removes the stored file of a form refused after it was read.
func (s *Server) refuseForm(c *gin.Context, f *form, err error) error {
	if f != nil && f.file != nil {
		s.opt.Files.Discard(c.Request.Context(), *f.file)
	}
	return err
}

func (s *Server) storeFile(c *gin.Context, part *multipart.Part, pdf bool, maxFile int64) (workflow.File, error) {
	ctx := c.Request.Context()
	br := bufio.NewReaderSize(part, 64<<10)
	if head, _ := br.Peek(1); len(head) == 0 && part.FileName() == "" {
		// A browser sends a file input left empty as a part with no file
		// name and no bytes: no file was chosen, which is not a bad PDF.
		return workflow.File{}, document.FieldErrorf("file", document.EINVALID, "choose a file to upload")
	}
	r, err := s.opt.Files.Limit(ctx, actor(c).UserID, br, maxFile)
	if err != nil {
		return workflow.File{}, err
	}
	if pdf {
		return s.opt.Files.PutPDF(ctx, r, part.FileName())
	}
	return s.opt.Files.PutFile(ctx, r)
}

// notPDF refuses an uploaded file that could not be made a PDF.
func notPDF(reason string) error { return files.NotPDF(reason) }

// cleanName is an uploaded file's name as we keep it (document.CleanFileName).
func cleanName(name string) string { return document.CleanFileName(name) }

// convert turns an office document into a PDF with LibreOffice, bounded
// and isolated by officeconv; the PDF is removed on Close.
func (s *Server) convert(ctx context.Context, r io.Reader, ext string) (io.ReadCloser, error) {
	pdf, err := s.office.Convert(ctx, r, ext)
	var ce *officeconv.Error
	if errors.As(err, &ce) {
		return nil, notPDF(ce.Error())
	}
	return pdf, err
}

func (s *Server) formFail(c *gin.Context, err error) {
	if errors.Is(err, errCSRF) {
		s.errorPage(c, http.StatusForbidden, s.lang(c).T("err.csrf"), "")
		return
	}
	s.fail(c, err)
}

// draftForm is the new-draft page's data.
type draftForm struct {
	draftFields
	Dir       *directory
	Units     []*document.Unit // where I may draft
	Reviewers []*document.User
	Signers   []*document.User
	Office    bool
	Error     string
	Detail    string
	// Values are what was typed into a refused form.
	Values formValues
}

// FieldError names the field the form's error is about.
func (df *draftForm) FieldError() (string, string, string) { return df.ErrorField, df.Error, df.Detail }

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
	df.RecipientUnits = dir.UnitList
	df.Reviewers = s.usersWithRole(c.Request.Context(), dir, document.RoleReviewer)
	df.Signers = s.usersWithRole(c.Request.Context(), dir, document.RoleSigner)
	return df, true
}

func (s *Server) newDraftPage(c *gin.Context) {
	if df, ok := s.draftForm(c); ok {
		s.render(c, http.StatusOK, "new", df)
	}
}

// createDraft makes the draft, names its signer (in the capacity chosen)
// and its recipients and, when reviewers are chosen, submits it: the
// drafter's whole job in one form. A refused form is shown again with the
// error beside its field and everything typed kept (the file must be
// chosen again: browsers never prefill a file input).
func (s *Server) createDraft(c *gin.Context) {
	f, err := s.readMultipart(c, true, 0, s.checkUpload(c, func(f *form) workflow.UploadTarget {
		return workflow.UploadTarget{Kind: workflow.UploadDraft, UnitID: f.get("unit")}
	}))
	if err != nil {
		if errors.Is(err, errCSRF) {
			s.formFail(c, err)
			return
		}
		s.draftFormError(c, f, err)
		return
	}
	ctx := c.Request.Context()
	a := actor(c)
	capacity := document.Capacity(f.get("capacity"))
	if !capacity.Valid() {
		s.opt.Files.Discard(ctx, *f.file)
		s.draftFormError(c, f, document.FieldErrorf("capacity", document.EINVALID, "unknown signing capacity %q", capacity))
		return
	}
	d, err := s.opt.Workflow.CreateDraft(ctx, a, workflow.DraftInput{UnitID: f.get("unit"), TypeCode: f.get("type"),
		Subject: f.get("subject"), Urgency: document.Urgency(f.get("urgency")), File: *f.file,
		Confidentiality: document.Confidentiality(f.get("confidentiality")),
		Recipients:      nonEmpty(f.fields["recipient"]), RecipientNames: recipientNames(f.get("recipient_names"))})
	if d == nil {
		s.opt.Files.Discard(ctx, *f.file)
		s.draftFormError(c, f, err)
		return
	}
	if err == nil && f.get("signer") != "" {
		_, err = s.opt.Workflow.AssignSignerAs(ctx, a, d.ID, f.get("signer"), capacity, f.get("principal"))
	}
	if err == nil && len(nonEmpty(f.fields["reviewer"])) > 0 {
		_, err = s.opt.Workflow.SubmitForReview(ctx, a, d.ID, nonEmpty(f.fields["reviewer"]))
	}
	if err != nil {
		// The draft exists; its page says what is left to do, with the
		// error beside the form it is about.
		status, msg, detail := s.failure(c, err)
		c.Params = append(c.Params, gin.Param{Key: "id", Value: d.ID})
		s.documentPageWith(c, status, msg, detail, httperr.Classify(ctx, err).Field, formValues(f.fields))
		return
	}
	s.flash(c, "flash.draft")
	c.Redirect(http.StatusSeeOther, "/d/"+d.ID)
}

// draftFormError shows the new-draft form again with err beside its field
// and the fields as they were typed.
func (s *Server) draftFormError(c *gin.Context, f *form, err error) {
	status, msg, detail := s.failure(c, err)
	if status >= 500 || status == 499 {
		s.fail(c, err)
		return
	}
	df, ok := s.draftForm(c)
	if !ok {
		return
	}
	df.Error, df.Detail, df.ErrorField = msg, detail, httperr.Classify(c.Request.Context(), err).Field
	if f != nil {
		df.Values = formValues(f.fields)
		df.Capacity, df.Principal = f.get("capacity"), f.get("principal")
		df.Chosen = nonEmpty(f.fields["recipient"])
		df.RecipientNamesText = f.get("recipient_names")
	}
	if df.ErrorField == "" && files.IsBadFile(err) {
		df.ErrorField = "file"
	}
	s.render(c, status, "new", df)
}

// incomingForm is the registration page's data.
type incomingForm struct {
	Dir                       *directory
	Today                     string
	Error, Detail, ErrorField string
	Values                    formValues
}

// FieldError names the field the form's error is about.
func (f *incomingForm) FieldError() (string, string, string) { return f.ErrorField, f.Error, f.Detail }

func (s *Server) newIncomingPage(c *gin.Context) {
	s.incomingPage(c, http.StatusOK, nil, nil)
}

// incomingPage shows the registration form, with a refused form's error
// beside its field and what was typed kept.
func (s *Server) incomingPage(c *gin.Context, status int, f *form, err error) {
	dir, derr := s.directory(c)
	if derr != nil {
		s.fail(c, derr)
		return
	}
	data := &incomingForm{Dir: dir, Today: s.opt.Now().In(document.VietnamTime).Format("02/01/2006")}
	if err != nil {
		var msg, detail string
		status, msg, detail = s.failure(c, err)
		if status >= 500 || status == 499 {
			s.fail(c, err)
			return
		}
		data.Error, data.Detail, data.ErrorField = msg, detail, httperr.Classify(c.Request.Context(), err).Field
		if data.ErrorField == "" && files.IsBadFile(err) {
			data.ErrorField = "file"
		}
		if f != nil {
			data.Values = formValues(f.fields)
		}
	}
	s.render(c, status, "incoming", data)
}

func (s *Server) registerIncoming(c *gin.Context) {
	f, err := s.readMultipart(c, true, 0, s.checkUpload(c, func(f *form) workflow.UploadTarget {
		return workflow.UploadTarget{Kind: workflow.UploadIncoming, UnitID: incomingUnit(c, f)}
	}))
	if err != nil {
		if errors.Is(err, errCSRF) {
			s.formFail(c, err)
			return
		}
		s.incomingPage(c, 0, f, err)
		return
	}
	var senderDate time.Time
	if v := f.get("sender_date"); v != "" {
		if senderDate, err = parseDate(v); err != nil {
			s.opt.Files.Discard(c.Request.Context(), *f.file)
			s.incomingPage(c, 0, f, document.FieldErrorf("sender_date", document.EINVALID, "the sender's date must be a date (dd/mm/yyyy)"))
			return
		}
	}
	d, _, err := s.opt.Workflow.RegisterIncoming(c.Request.Context(), actor(c), workflow.IncomingInput{UnitID: incomingUnit(c, f),
		TypeCode: f.get("type"), Subject: f.get("subject"), Urgency: document.Urgency(f.get("urgency")),
		SenderName: f.get("sender"), SenderSymbol: f.get("symbol"), SenderDate: senderDate, File: *f.file})
	if err != nil {
		s.opt.Files.Discard(c.Request.Context(), *f.file)
		s.incomingPage(c, 0, f, err)
		return
	}
	s.flash(c, "flash.registered")
	c.Redirect(http.StatusSeeOther, "/d/"+d.ID)
}

// incomingUnit is the unit an incoming document is registered in: the one
// chosen, else the organization (whose clerks keep its registers).
func incomingUnit(c *gin.Context, f *form) string {
	if unit := f.get("unit"); unit != "" {
		return unit
	}
	return session(c).User.OrgID
}
