package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/document"
	"vanban/internal/files"
	"vanban/internal/httperr"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/workflow"
)

// directory is what a page knows of the organization: names for ids.
type directory struct {
	Users map[string]*document.User
	Units map[string]*document.Unit
	Types map[string]*document.DocumentType
	// Ordered lists for the forms.
	UserList []*document.User
	UnitList []*document.Unit
	TypeList []*document.DocumentType
	all      *admin.Directory
}

func (d *directory) UserName(id string) string {
	if u, ok := d.Users[id]; ok {
		return u.FullName
	}
	return ""
}

func (d *directory) UnitName(id string) string {
	if u, ok := d.Units[id]; ok {
		return u.Name
	}
	return ""
}

func (d *directory) TypeName(code string) string {
	if t, ok := d.Types[code]; ok {
		return t.Name
	}
	return code
}

func (s *Server) directory(c *gin.Context) (*directory, error) {
	ad, err := s.opt.Admin.Directory(c.Request.Context(), actor(c))
	if err != nil {
		return nil, err
	}
	d := &directory{Users: map[string]*document.User{}, Units: map[string]*document.Unit{}, Types: map[string]*document.DocumentType{},
		UserList: ad.Users, UnitList: ad.Units, TypeList: ad.Types, all: ad}
	for _, u := range d.UserList {
		d.Users[u.ID] = u
	}
	for _, u := range d.UnitList {
		d.Units[u.ID] = u
	}
	for _, t := range d.TypeList {
		d.Types[t.Code] = t
	}
	return d, nil
}

// usersWithRole lists the people of the organization holding role
// somewhere, for the reviewer, signer and handler choices.
func (s *Server) usersWithRole(_ context.Context, dir *directory, role document.Role) []*document.User {
	return dir.all.UsersWithRole(role)
}

// queue is one list of the inbox.
type queue struct {
	Key   string
	Docs  []*document.Document
	Batch bool // the leader's queue: checkboxes to sign several at once
}

func (s *Server) inbox(c *gin.Context) {
	in, err := s.opt.Workflow.Inbox(c.Request.Context(), actor(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	qs := []queue{
		{Key: "q.sign", Docs: in.Sign, Batch: true},
		{Key: "q.overdue", Docs: in.Overdue},
		{Key: "q.review", Docs: in.Review},
		{Key: "q.number", Docs: in.Number},
		{Key: "q.seal", Docs: in.Seal},
		{Key: "q.issue", Docs: in.Issue},
		{Key: "q.route", Docs: in.Route},
		{Key: "q.assign", Docs: in.Assign},
		{Key: "q.handle", Docs: in.Handle},
		{Key: "q.drafts", Docs: in.Drafts},
	}
	var shown []queue
	for _, q := range qs {
		if len(q.Docs) > 0 {
			shown = append(shown, q)
		}
	}
	s.render(c, http.StatusOK, "inbox", map[string]any{"Queues": shown, "Dir": dir})
}

// docView is the document page's data.
type docView struct {
	draftFields
	V *workflow.View
	// Verification is the newest report kept for the document (received
	// documents are verified on registration).
	Verification *workflow.Verification
	Dir          *directory
	Version      *document.Version
	Pages        int
	Attachments  []*document.Attachment
	Error        string
	ErrorDetail  string
	Overdue      bool
	// The actions offered; the use case decides again when one is used.
	CanReview, CanSign, CanSubmit, CanNumber, CanSeal, CanIssue, CanArchive bool
	CanRoute, CanAssign, CanStart, CanComplete, CanWithdraw                 bool
	Reviewers, Signers, Handlers                                            []*document.User
	Session                                                                 *signsession.Session
	HandlingUnits                                                           []*document.Unit
	// RetainUntil is the archived document's retention date (zero if none).
	RetainUntil     time.Time
	RetainPermanent bool
	// Returned is the step that sent this draft back (a reviewer's or the
	// signer's), with its comment, shown above the forms to revise and
	// resubmit it; nil for a draft never submitted.
	Returned *workflow.Step
	// Values are what was typed into the refused form.
	Values formValues
}

// FieldError names the field the page's error is about.
func (dv *docView) FieldError() (string, string, string) {
	return dv.ErrorField, dv.Error, dv.ErrorDetail
}

func (s *Server) document(c *gin.Context) {
	s.documentPage(c, http.StatusOK, "", "")
}

// documentPage renders the document with an optional error banner (a
// refused action shows the page again with the reason).
func (s *Server) documentPage(c *gin.Context, status int, errMsg, errDetail string) {
	s.documentPageWith(c, status, errMsg, errDetail, "", nil)
}

// documentPageWith renders the document with a refused form's error beside
// field and what was typed into it kept.
func (s *Server) documentPageWith(c *gin.Context, status int, errMsg, errDetail, field string, values formValues) {
	ctx := c.Request.Context()
	v, err := s.opt.Workflow.Get(ctx, actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ws := session(c)
	d := v.Document
	dv := &docView{V: v, Dir: dir, Error: errMsg, ErrorDetail: errDetail, Values: values}
	dv.ErrorField = field
	if len(v.Versions) > 0 {
		dv.Version = v.Versions[len(v.Versions)-1]
		if n, err := s.renderer.PageCount(render.WithUser(ctx, session(c).User.ID), dv.Version.SHA256, dv.Version.BlobKey); err != nil {
			s.opt.Logger.Warn("page count", "doc", d.ID, "err", err)
		} else {
			dv.Pages = n
		}
	}
	dv.Attachments = v.Attachments
	if dv.Verification, err = s.opt.Workflow.LatestVerification(ctx, actor(c), d.ID, 0); err != nil {
		s.opt.Logger.Warn("kept verification", "doc", d.ID, "err", err)
	}
	if s.opt.Records != nil && d.State == document.StateArchived {
		if dv.RetainUntil, dv.RetainPermanent, err = s.opt.Records.RetentionOf(ctx, d.ID); err != nil {
			s.fail(c, err)
			return
		}
	}
	now := s.opt.Now()
	dv.Overdue = !d.Deadline.IsZero() && now.After(d.Deadline) && d.State != document.StateCompleted && d.State != document.StateArchived
	me := ws.User.ID
	switch d.State {
	case document.StateDraft:
		dv.CanSubmit = d.CreatedBy == me
		dv.CanWithdraw = d.CreatedBy == me
	case document.StateInReview:
		for _, st := range v.Review {
			if st.ReviewerID == me && st.Decision == document.ReviewPending {
				dv.CanReview = true
			}
		}
	case document.StateAwaitingSignature:
		dv.CanSign = d.SignerID == me
		dv.CanReview = false
	case document.StateSigned:
		dv.CanNumber = hasRole(ws, document.RoleClerk)
	case document.StateNumbered:
		dv.CanSeal = hasRole(ws, document.RoleClerk)
	case document.StateSealed:
		dv.CanIssue = hasRole(ws, document.RoleClerk)
	case document.StateIssued, document.StateCompleted:
		dv.CanArchive = hasRole(ws, document.RoleArchivist)
	case document.StateRegistered:
		dv.CanRoute = hasRole(ws, document.RoleClerk)
	case document.StateRouted:
		dv.CanAssign = d.LeaderID == me
	case document.StateAssigned:
		dv.CanStart = d.HandlerID == me
		dv.CanAssign = d.LeaderID == me
	case document.StateInProgress:
		dv.CanComplete = d.HandlerID == me
	}
	if d.State == document.StateDraft {
		steps, err := s.opt.Workflow.Timeline(ctx, actor(c), d.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		for i := len(steps) - 1; i >= 0; i-- {
			if steps[i].Action == string(document.ActionReturn) {
				dv.Returned = &steps[i]
				break
			}
		}
	}
	if dv.CanSubmit {
		dv.Reviewers = s.usersWithRole(ctx, dir, document.RoleReviewer)
		dv.Signers = s.usersWithRole(ctx, dir, document.RoleSigner)
		dv.RecipientUnits = dir.UnitList
		dv.Capacity, dv.Principal = string(d.SignCapacity), d.PrincipalID
		for _, r := range v.Recipients {
			dv.Chosen = append(dv.Chosen, r.UnitID)
		}
		dv.RecipientNamesText = strings.Join(v.RecipientNames, "\n")
		if values != nil {
			dv.Capacity, dv.Principal = values.Get("capacity"), values.Get("principal")
			if _, ok := values["recipient_names"]; ok {
				dv.Chosen = nonEmpty(values["recipient"])
				dv.RecipientNamesText = values.Get("recipient_names")
			}
		}
	}
	if dv.CanRoute {
		dv.Signers = s.usersWithRole(ctx, dir, document.RoleSigner)
	}
	if dv.CanAssign {
		dv.Handlers = s.usersWithRole(ctx, dir, document.RoleDrafter)
		dv.HandlingUnits = dir.UnitList
	}
	s.render(c, status, "document", dv)
}

// documentState answers the document's state for the page's live refresh
// while the seal signature or the leader's signature is under way.
func (s *Server) documentState(c *gin.Context) {
	v, err := s.opt.Workflow.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		status, _, _ := s.failure(c, err)
		c.AbortWithStatusJSON(status, gin.H{"error": document.ErrorCode(err)})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"state": v.Document.State, "label": s.lang(c).T("state." + string(v.Document.State))})
}

// version finds a version by number, or the latest for "latest".
func (s *Server) version(c *gin.Context) (*workflow.View, *document.Version, bool) {
	v, err := s.opt.Workflow.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return nil, nil, false
	}
	seq := c.Param("seq")
	for i := len(v.Versions) - 1; i >= 0; i-- {
		ver := v.Versions[i]
		if seq == "latest" || strconv.Itoa(ver.Seq) == seq {
			return v, ver, true
		}
	}
	s.fail(c, document.Errorf(document.ENOTFOUND, "version %s not found", seq))
	return nil, nil, false
}

// fileName names a download after the document's number and symbol.
func fileName(d *document.Document, suffix string) string {
	name := d.Symbol
	if name == "" {
		name = "van-ban-" + d.ID
	}
	name = strings.NewReplacer("/", "-", "\\", "-", "\"", "").Replace(name)
	return name + suffix
}

func (s *Server) versionFile(c *gin.Context) {
	v, ver, ok := s.version(c)
	if !ok {
		return
	}
	s.sendBlob(c, ver.BlobKey, fileName(v.Document, "-v"+strconv.Itoa(ver.Seq)+".pdf"))
}

func (s *Server) attachmentFile(c *gin.Context) {
	v, err := s.opt.Workflow.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, a := range v.Attachments {
		if a.ID == c.Param("att") {
			s.sendBlob(c, a.BlobKey, a.Name)
			return
		}
	}
	s.fail(c, document.Errorf(document.ENOTFOUND, "attachment not found"))
}

// sendBlob sends a stored file through files.Store, which checks its
// SHA-256 before the first byte: a damaged file gets the error page, never
// a body that looks complete.
func (s *Server) sendBlob(c *gin.Context, key, name string) {
	if err := s.opt.Files.Serve(c.Request.Context(), c.Writer, key, name); err != nil {
		if c.Writer.Written() {
			c.Abort()
			return
		}
		s.fail(c, err)
	}
}

func (s *Server) pageImage(c *gin.Context) {
	_, ver, ok := s.version(c)
	if !ok {
		return
	}
	n, err := strconv.Atoi(strings.TrimSuffix(c.Param("n"), ".png"))
	if err != nil || n < 1 || n > 10000 {
		s.fail(c, document.Errorf(document.ENOTFOUND, "no such page"))
		return
	}
	path, err := s.renderer.Page(render.WithUser(c.Request.Context(), session(c).User.ID), ver.SHA256, ver.BlobKey, n)
	if errors.Is(err, errNoPage) {
		s.fail(c, document.Errorf(document.ENOTFOUND, "no such page"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	// A version's bytes never change, so its pages never do; the
	// document's visibility is checked on every request, hence private.
	c.Header("Cache-Control", "private, max-age=86400")
	c.File(path)
}

func (s *Server) timeline(c *gin.Context) {
	v, err := s.opt.Workflow.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	steps, err := s.opt.Workflow.Timeline(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "timeline", map[string]any{"Doc": v.Document, "Steps": steps})
}

// timelineStep is the downloadable form of a step.
type timelineStep struct {
	At       time.Time      `json:"at"`
	Actor    string         `json:"actor"`
	Action   string         `json:"action"`
	From     document.State `json:"from,omitempty"`
	To       document.State `json:"to,omitempty"`
	Comment  string         `json:"comment,omitempty"`
	Duration string         `json:"duration"`
}

func (s *Server) timelineJSON(c *gin.Context) {
	v, err := s.opt.Workflow.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	steps, err := s.opt.Workflow.Timeline(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]timelineStep, len(steps))
	for i, st := range steps {
		out[i] = timelineStep{At: st.At, Actor: st.ActorName, Action: st.Action, From: st.From, To: st.To,
			Comment: st.Comment, Duration: st.Duration.Round(time.Second).String()}
	}
	c.Header("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(fileName(v.Document, "-lich-su.json")))
	c.Header("Cache-Control", "private, no-store")
	c.IndentedJSON(http.StatusOK, gin.H{"document_id": v.Document.ID, "symbol": v.Document.Symbol, "subject": v.Document.Subject, "steps": out})
}

// documentAction runs one button of the document page. On success it goes
// back to the page (or to the signing status); on a refusal it shows the
// page again with the reason and a 4xx status.
func (s *Server) documentAction(c *gin.Context) {
	ctx := c.Request.Context()
	a := actor(c)
	id := c.Param("id")
	back := "/d/" + id
	var err error
	notice := "flash.done"
	switch action := c.Param("action"); action {
	case "number", "issue", "archive":
		// Irreversible: a number is never taken back, an issued document
		// has reached its recipients, an archived one never changes.
		if c.PostForm("confirm") != "yes" {
			s.confirmPage(c, "confirm."+action, c.Request.URL.Path, nil)
			return
		}
		notice = "flash." + action
	}
	switch c.Param("action") {
	case "approve":
		_, err = s.opt.Workflow.Approve(ctx, a, id, strings.TrimSpace(c.PostForm("comment")))
	case "return":
		comment := strings.TrimSpace(c.PostForm("comment"))
		if comment == "" {
			err = document.Errorf(document.EINVALID, "a comment is required to return a document")
			break
		}
		_, err = s.opt.Workflow.Return(ctx, a, id, comment)
	case "submit":
		capacity := document.Capacity(c.PostForm("capacity"))
		if !capacity.Valid() {
			err = document.FieldErrorf("capacity", document.EINVALID, "unknown signing capacity %q", capacity)
			break
		}
		if signer := c.PostForm("signer"); signer != "" {
			if _, err = s.opt.Workflow.AssignSignerAs(ctx, a, id, signer, capacity, c.PostForm("principal")); err != nil {
				break
			}
		}
		_, err = s.opt.Workflow.SubmitForReview(ctx, a, id, nonEmpty(c.PostFormArray("reviewer")))
		notice = "flash.submitted"
	case "recipients":
		err = s.opt.Workflow.SetRecipientList(ctx, a, id, workflow.RecipientList{UnitIDs: nonEmpty(c.PostFormArray("recipient")),
			Names: recipientNames(c.PostForm("recipient_names"))})
		notice = "flash.recipients"
	case "withdraw":
		_, err = s.opt.Workflow.Withdraw(ctx, a, id, strings.TrimSpace(c.PostForm("reason")))
	case "sign":
		if s.opt.Signing == nil {
			err = errNoSigning
			break
		}
		var sess *signsession.Session
		if sess, err = s.opt.Signing.StartLeader(ctx, a, id); err == nil {
			back = "/signing/" + sess.ID
		}
	case "number":
		if s.opt.Signing == nil {
			err = errNoSigning
			break
		}
		_, err = s.opt.Signing.NumberAndDate(ctx, a, id)
	case "seal":
		if s.opt.Signing == nil {
			err = errNoSigning
			break
		}
		_, err = s.opt.Signing.Seal(ctx, a, id)
	case "issue":
		_, err = s.opt.Workflow.Issue(ctx, a, id)
	case "archive":
		_, err = s.opt.Workflow.Archive(ctx, a, id)
	case "route":
		_, err = s.opt.Workflow.Route(ctx, a, id, c.PostForm("leader"))
	case "assign":
		days, _ := strconv.Atoi(c.PostForm("days"))
		as := workflow.Assignment{HandlerID: c.PostForm("handler"), HandlingUnitID: c.PostForm("unit"),
			WorkingDays: days, Instruction: strings.TrimSpace(c.PostForm("instruction"))}
		// A date, when given, wins over the number of working days: the
		// leader's instruction often names the day ("trước ngày 15/12").
		if dl := strings.TrimSpace(c.PostForm("deadline")); dl != "" {
			t, perr := parseDate(dl)
			if perr != nil {
				err = document.FieldErrorf("deadline", document.EINVALID, "the deadline must be a date (dd/mm/yyyy)")
				break
			}
			as.WorkingDays, as.Deadline = 0, document.EndOfDay(t)
		}
		_, err = s.opt.Workflow.Assign(ctx, a, id, as)
	case "start":
		_, err = s.opt.Workflow.StartHandling(ctx, a, id)
	case "complete":
		_, err = s.opt.Workflow.Complete(ctx, a, id, strings.TrimSpace(c.PostForm("note")))
	default:
		s.fail(c, document.Errorf(document.ENOTFOUND, "unknown action"))
		return
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			c.AbortWithStatus(499)
			return
		}
		status, msg, detail := s.failure(c, err)
		if status == http.StatusNotFound || status >= 500 {
			s.errorPage(c, status, msg, detail)
			return
		}
		s.documentPageWith(c, status, msg, detail, httperr.Classify(ctx, err).Field, formValues(c.Request.PostForm))
		return
	}
	s.flash(c, notice)
	c.Redirect(http.StatusSeeOther, back)
}

// reviseDraft takes a revised file for a draft (after a return, or before
// it is first submitted): the permission and state are checked before the
// file is stored, and a refused file is removed again.
func (s *Server) reviseDraft(c *gin.Context) {
	id := c.Param("id")
	f, err := s.readMultipart(c, true, 0, s.checkUpload(c, func(*form) workflow.UploadTarget {
		return workflow.UploadTarget{Kind: workflow.UploadVersion, DocID: id}
	}))
	if err == nil {
		if _, err = s.opt.Workflow.UploadDraftVersion(c.Request.Context(), actor(c), id, *f.file); err != nil {
			s.opt.Files.Discard(c.Request.Context(), *f.file)
		}
	}
	if err != nil {
		if errors.Is(err, errCSRF) {
			s.formFail(c, err)
			return
		}
		status, msg, detail := s.failure(c, err)
		if status == http.StatusNotFound || status >= 500 {
			s.fail(c, err)
			return
		}
		field := httperr.Classify(c.Request.Context(), err).Field
		if field == "" && files.IsBadFile(err) {
			field = "file"
		}
		s.documentPageWith(c, status, msg, detail, field, nil)
		return
	}
	s.flash(c, "flash.version")
	c.Redirect(http.StatusSeeOther, "/d/"+id)
}

func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// search is the archivist's page: every filter of document.Query that a
// person uses, accent-insensitive text, and cursor pages.
func (s *Server) search(c *gin.Context) {
	dir, err := s.directory(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	form := map[string]string{}
	for _, k := range []string{"q", "symbol", "number", "type", "signer", "unit", "from", "to", "dir", "after", "after_id",
		"state", "urgency", "deadline", "hunit", "handler"} {
		form[k] = strings.TrimSpace(c.Query(k))
	}
	data := map[string]any{"Dir": dir, "Form": form, "Signers": s.usersWithRole(ctx, dir, document.RoleSigner),
		"Filters": dashboardFilterFields(form)}
	searched := false
	for k, v := range form {
		if v != "" && k != "after" && k != "after_id" {
			searched = true
		}
	}
	if c.Query("go") != "" {
		searched = true
	}
	if searched {
		q := document.Query{Text: form["q"], Symbol: form["symbol"], TypeCode: form["type"], SignerID: form["signer"],
			UnitID: form["unit"], Direction: document.Direction(form["dir"]), Limit: document.DefaultPageSize}
		if form["number"] != "" {
			n, err := strconv.Atoi(form["number"])
			if err != nil || n < 1 {
				s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), "number: a positive whole number")
				return
			}
			q.Number = n
		}
		if err := dashboardFilters(&q, form, s.opt.Now()); err != nil {
			s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), err.Error())
			return
		}
		for key, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
			if form[key] == "" {
				continue
			}
			t, err := parseDate(form[key])
			if err != nil {
				s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), key+": a date")
				return
			}
			if key == "to" {
				t = document.NextDay(t) // the whole last day
			}
			*dst = t
		}
		if form["after"] != "" {
			if t, err := time.Parse(time.RFC3339Nano, form["after"]); err == nil {
				q.AfterCreated, q.AfterID = t, form["after_id"]
			}
		}
		docs, err := s.opt.Workflow.Search(ctx, actor(c), q)
		if err != nil {
			s.fail(c, err)
			return
		}
		data["Results"] = docs
		data["Searched"] = true
		if len(docs) == q.Limit {
			last := docs[len(docs)-1]
			next := c.Request.URL.Query()
			next.Set("after", last.CreatedAt.Format(time.RFC3339Nano))
			next.Set("after_id", last.ID)
			data["Next"] = "/search?" + next.Encode()
		}
	}
	s.render(c, http.StatusOK, "search", data)
}

// signBatch starts one phone request per selected document.
func (s *Server) signBatch(c *gin.Context) {
	if s.opt.Signing == nil {
		s.fail(c, errNoSigning)
		return
	}
	ids := nonEmpty(c.PostFormArray("doc"))
	if len(ids) == 0 || len(ids) > 50 {
		s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), "choose between 1 and 50 documents")
		return
	}
	if _, err := s.opt.Signing.StartBatch(c.Request.Context(), actor(c), ids); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/signing")
}

// sessionView is a signing session with what the page shows of it.
type sessionView struct {
	S        *signsession.Session
	Doc      *document.Document
	PhoneURL string
}

func (s *Server) phoneURL(ctx context.Context, a workflow.Actor, sess *signsession.Session) string {
	if s.opt.PhonePageURL == "" || sess.Purpose != "leader" {
		return ""
	}
	id, err := s.opt.Admin.SigningIdentity(ctx, a, sess.SignerUserID)
	if err != nil || id.ProviderSigner == "" {
		return ""
	}
	// The number as the simulator knows it: international form, whatever
	// was typed when the identity was set (0912... is 84912...).
	n := id.ProviderSigner
	if p, err := document.NormalizePhone(n); err == nil {
		n = p
	}
	link := s.opt.PhonePageURL + url.PathEscape(n)
	if s.opt.PhoneKey != nil && sess.ProviderTxID != "" {
		if k := s.opt.PhoneKey(n, sess.ProviderTxID); k != "" {
			link += "?k=" + url.QueryEscape(k)
		}
	}
	return link
}

func (s *Server) signingList(c *gin.Context) {
	if s.opt.Signing == nil {
		s.fail(c, errNoSigning)
		return
	}
	ctx := c.Request.Context()
	list, err := s.opt.Signing.ListForSigner(ctx, actor(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	var out []sessionView
	for _, sess := range list {
		sv := sessionView{S: sess, PhoneURL: s.phoneURL(ctx, actor(c), sess)}
		if v, err := s.opt.Workflow.Get(ctx, actor(c), sess.DocumentID); err == nil {
			sv.Doc = v.Document
		}
		out = append(out, sv)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].S.BatchSeq < out[j].S.BatchSeq })
	s.render(c, http.StatusOK, "signing_list", map[string]any{"Sessions": out})
}

func (s *Server) signingSession(c *gin.Context) (*signsession.Session, bool) {
	if s.opt.Signing == nil {
		s.fail(c, errNoSigning)
		return nil, false
	}
	sess, err := s.opt.Signing.Get(c.Request.Context(), actor(c), c.Param("sid"))
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	return sess, true
}

func (s *Server) signingPage(c *gin.Context) {
	sess, ok := s.signingSession(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	sv := sessionView{S: sess, PhoneURL: s.phoneURL(ctx, actor(c), sess)}
	if v, err := s.opt.Workflow.Get(ctx, actor(c), sess.DocumentID); err == nil {
		sv.Doc = v.Document
	}
	s.render(c, http.StatusOK, "signing", sv)
}

// sessionDone reports whether a session has reached its outcome.
func sessionDone(st store.SigningState) bool {
	switch st {
	case store.SigningCompleted, store.SigningFailed, store.SigningExpired, store.SigningCancelled:
		return true
	}
	return false
}

// statusKey names a session's state for people; a refusal on the phone is
// its own message.
func statusKey(sess *signsession.Session) string {
	if sess.State == store.SigningFailed && sess.FailureKind == "declined" {
		return "st.declined"
	}
	return "st." + string(sess.State)
}

// signingStatus is polled by the signing page: a small JSON answer.
func (s *Server) signingStatus(c *gin.Context) {
	if s.opt.Signing == nil {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "signing-unavailable"})
		return
	}
	sess, err := s.opt.Signing.Get(c.Request.Context(), actor(c), c.Param("sid"))
	if err != nil {
		status, _, _ := s.failure(c, err)
		c.AbortWithStatusJSON(status, gin.H{"error": document.ErrorCode(err)})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s.sessionStatus(c, sess))
}

// sessionStatus is what the signing page shows of a session, for the
// status answer and the event stream alike.
func (s *Server) sessionStatus(c *gin.Context, sess *signsession.Session) sessionStatusJSON {
	return sessionStatusJSON{State: string(sess.State), Label: s.lang(c).T(statusKey(sess)), Done: sessionDone(sess.State),
		Code: sess.VerificationCode, Message: sess.FailureMessage}
}

type sessionStatusJSON struct {
	State   string `json:"state"`
	Label   string `json:"label"`
	Done    bool   `json:"done"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) cancelSigning(c *gin.Context) {
	if s.opt.Signing == nil {
		s.fail(c, errNoSigning)
		return
	}
	sess, err := s.opt.Signing.Cancel(c.Request.Context(), actor(c), c.Param("sid"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/signing/"+sess.ID)
}

// parseDate reads a date as Vietnamese people write it (dd/mm/yyyy, also
// d/m/yyyy) or in ISO form, in Vietnam's time zone (document.ParseDay).
func parseDate(v string) (time.Time, error) { return document.ParseDay(v) }
