package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/verify"
)

// DocumentPage is one page of a search; Next is the cursor of the next page,
// empty on the last.
type DocumentPage struct {
	Items []DocumentJSON `json:"items"`
	Next  string         `json:"next,omitempty"`
}

// encodeCursor and decodeCursor keep the position opaque: clients pass it
// back unchanged.
func encodeCursor(d *document.Document) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(d.CreatedAt.UnixMicro(), 10) + "." + d.ID))
}

func decodeCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	us, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 64 {
		return time.Time{}, "", false
	}
	return time.UnixMicro(n).UTC(), id, true
}

func atoiRange(s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= lo && n <= hi
}

// parseDay reads a date (YYYY-MM-DD, or dd/mm/yyyy as on the pages) as the
// start of that day in Vietnam.
func parseDay(s string) (time.Time, error) { return document.ParseDay(s) }

// searchQuery reads the filters of GET /documents.
func searchQuery(c *gin.Context) (document.Query, map[string]string) {
	q := document.Query{Limit: document.DefaultPageSize}
	bad := map[string]string{}
	if v := c.Query("direction"); v != "" {
		q.Direction = document.Direction(v)
		if !q.Direction.Valid() {
			bad["direction"] = "out or in"
		}
	}
	if v := c.Query("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			q.States = append(q.States, document.State(strings.TrimSpace(s)))
		}
	}
	q.UnitID, q.TypeCode, q.Symbol = c.Query("unit"), c.Query("type"), c.Query("symbol")
	q.SignerID, q.HandlerID, q.LeaderID, q.CreatedBy = c.Query("signer"), c.Query("handler"), c.Query("leader"), c.Query("created_by")
	if len(c.Query("q")) > 200 {
		bad["q"] = "at most 200 characters"
	}
	q.Text = c.Query("q")
	if v := c.Query("number"); v != "" {
		n, ok := atoiRange(v, 1, 1<<30)
		if !ok {
			bad["number"] = "a positive number"
		}
		q.Number = n
	}
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if v := c.Query(name); v != "" {
			t, err := parseDay(v)
			if err != nil {
				bad[name] = "a date as YYYY-MM-DD"
				continue
			}
			*dst = t
		}
	}
	if !q.To.IsZero() {
		q.To = document.NextDay(q.To) // "to" names the last day included
	}
	if v := c.Query("limit"); v != "" {
		n, ok := atoiRange(v, 1, document.MaxPageSize)
		if !ok {
			bad["limit"] = "between 1 and " + strconv.Itoa(document.MaxPageSize)
		}
		q.Limit = n
	}
	if v := c.Query("cursor"); v != "" {
		t, id, ok := decodeCursor(v)
		if !ok {
			bad["cursor"] = "not a cursor from a previous page"
		}
		q.AfterCreated, q.AfterID = t, id
	}
	return q, bad
}

func (api *API) searchDocuments(c *gin.Context) {
	q, bad := searchQuery(c)
	if len(bad) > 0 {
		invalid(c, bad)
		return
	}
	ds, err := api.Workflow.Search(c.Request.Context(), actor(c), q)
	if err != nil {
		api.fail(c, err)
		return
	}
	page := DocumentPage{Items: documentsJSON(ds)}
	if len(ds) == q.Limit {
		page.Next = encodeCursor(ds[len(ds)-1])
	}
	c.JSON(http.StatusOK, page)
}

func (api *API) inbox(c *gin.Context) {
	in, err := api.Workflow.Inbox(c.Request.Context(), actor(c))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"drafts": documentsJSON(in.Drafts), "review": documentsJSON(in.Review), "sign": documentsJSON(in.Sign),
		"number": documentsJSON(in.Number), "seal": documentsJSON(in.Seal), "issue": documentsJSON(in.Issue),
		"route": documentsJSON(in.Route), "assign": documentsJSON(in.Assign), "handle": documentsJSON(in.Handle),
		"overdue": documentsJSON(in.Overdue),
	})
}

func (api *API) getDocument(c *gin.Context) {
	ctx := c.Request.Context()
	v, err := api.Workflow.Get(ctx, actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	atts, err := api.Directory.Attachments(ctx, v.Document.ID)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := documentView(v, atts)
	if out.Retention, err = api.retention(ctx, v.Document.ID); err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (api *API) timeline(c *gin.Context) {
	steps, err := api.Workflow.Timeline(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]StepJSON, len(steps))
	for i, s := range steps {
		out[i] = StepJSON{Seq: s.Seq, At: s.At, ActorID: s.ActorID, ActorName: s.ActorName, Action: s.Action, From: s.From,
			To: s.To, Comment: s.Comment, Change: s.Change, DurationSeconds: s.Duration.Seconds()}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

// version finds a version of a document the user may see; Get does the
// authorization.
func (api *API) version(c *gin.Context) (*workflow.View, *document.Version, bool) {
	v, err := api.Workflow.Get(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return nil, nil, false
	}
	seq := c.Param("seq")
	for i, ver := range v.Versions {
		if strconv.Itoa(ver.Seq) == seq || (seq == "latest" && i == len(v.Versions)-1) {
			return v, ver, true
		}
	}
	api.fail(c, document.Errorf(document.ENOTFOUND, "document %s has no version %s", v.Document.ID, seq))
	return nil, nil, false
}

// fileName is the name a downloaded version is saved under: the number and
// symbol when there is one, with characters file systems dislike replaced.
func fileName(d *document.Document, v *document.Version) string {
	base := d.ID
	if d.Symbol != "" {
		base = strings.NewReplacer("/", "-", "\\", "-", ":", "-").Replace(d.Symbol)
	}
	return base + "-v" + strconv.Itoa(v.Seq) + ".pdf"
}

func (api *API) downloadVersion(c *gin.Context) {
	view, ver, ok := api.version(c)
	if !ok {
		return
	}
	api.serveBlob(c, ver.BlobKey, fileName(view.Document, ver))
}

// serveBlob sends a stored object as a download named name, with the type
// derived from the name; files.Store checks its digest before the first
// byte, so a damaged file is refused with a problem document.
func (api *API) serveBlob(c *gin.Context, key, name string) {
	if err := api.Files.Serve(c.Request.Context(), c.Writer, key, name); err != nil {
		if c.Writer.Written() {
			// The copy to the client failed after the headers: nothing
			// more can be said to it.
			c.Abort()
			return
		}
		api.fail(c, err)
	}
}

// Link is a short-lived download URL.
type Link struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// linkTTL is short: the link is the only authorization its holder needs.
const linkTTL = 5 * time.Minute

func (api *API) versionLink(c *gin.Context) {
	view, ver, ok := api.version(c)
	if !ok {
		return
	}
	url, err := api.Blobs.PresignGet(c.Request.Context(), ver.BlobKey, linkTTL, fileName(view.Document, ver))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Link{URL: url, ExpiresAt: api.now().Add(linkTTL)})
}

func (api *API) downloadAttachment(c *gin.Context) {
	ctx := c.Request.Context()
	v, err := api.Workflow.Get(ctx, actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	atts, err := api.Directory.Attachments(ctx, v.Document.ID)
	if err != nil {
		api.fail(c, err)
		return
	}
	for _, a := range atts {
		if a.ID == c.Param("attachment") {
			// Served as a download with a type derived from its name
			// (never the uploader's), so an uploaded HTML file cannot run
			// in our origin.
			api.serveBlob(c, a.BlobKey, a.Name)
			return
		}
	}
	api.fail(c, document.Errorf(document.ENOTFOUND, "attachment %s not found", c.Param("attachment")))
}

// DraftCreate is the metadata part of POST /documents.
type DraftCreate struct {
	UnitID          string                   `json:"unit_id"`
	Type            string                   `json:"type"`
	Subject         string                   `json:"subject"`
	Urgency         document.Urgency         `json:"urgency"`
	Confidentiality document.Confidentiality `json:"confidentiality"`
	Recipients      []string                 `json:"recipients"`
	// RecipientNames are recipients outside the system, as text.
	RecipientNames []string `json:"recipient_names"`
}

func (api *API) createDraft(c *gin.Context) {
	var meta DraftCreate
	up, ok := api.readUpload(c, &meta, true, 0, api.checkUpload(c, func() workflow.UploadTarget {
		return workflow.UploadTarget{Kind: workflow.UploadDraft, UnitID: meta.UnitID}
	}))
	if !ok {
		return
	}
	d, err := api.Workflow.CreateDraft(c.Request.Context(), actor(c), workflow.DraftInput{
		UnitID: meta.UnitID, TypeCode: meta.Type, Subject: meta.Subject, Urgency: meta.Urgency,
		Confidentiality: meta.Confidentiality, Recipients: meta.Recipients,
		RecipientNames: meta.RecipientNames, File: up.file,
	})
	if err != nil {
		api.Files.Discard(c.Request.Context(), up.file)
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, documentJSON(d))
}

func (api *API) uploadVersion(c *gin.Context) {
	up, ok := api.readUpload(c, nil, true, 0, api.checkUpload(c, func() workflow.UploadTarget {
		return workflow.UploadTarget{Kind: workflow.UploadVersion, DocID: c.Param("id")}
	}))
	if !ok {
		return
	}
	v, err := api.Workflow.UploadDraftVersion(c.Request.Context(), actor(c), c.Param("id"), up.file)
	if err != nil {
		api.Files.Discard(c.Request.Context(), up.file)
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, versionJSON(v))
}

func (api *API) addAttachment(c *gin.Context) {
	up, ok := api.readUpload(c, nil, false, 0, api.checkUpload(c, func() workflow.UploadTarget {
		return workflow.UploadTarget{Kind: workflow.UploadAttachment, DocID: c.Param("id")}
	}))
	if !ok {
		return
	}
	name := up.name
	if name == "" {
		name = "phu-luc"
	}
	a, err := api.Workflow.AddAttachment(c.Request.Context(), actor(c), c.Param("id"), name, up.contentType, up.file)
	if err != nil {
		api.Files.Discard(c.Request.Context(), up.file)
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, attachmentJSON(a))
}

// Recipients is the body of PUT /documents/:id/recipients.
type Recipients struct {
	UnitIDs []string `json:"unit_ids"`
	// Names, when present, replaces the recipients named as text too;
	// absent, they stay.
	Names *[]string `json:"names,omitempty"`
}

func (api *API) setRecipients(c *gin.Context) {
	var req Recipients
	if !bindJSON(c, &req) {
		return
	}
	var err error
	if req.Names != nil {
		err = api.Workflow.SetRecipientList(c.Request.Context(), actor(c), c.Param("id"), workflow.RecipientList{UnitIDs: req.UnitIDs, Names: *req.Names})
	} else {
		err = api.Workflow.SetRecipients(c.Request.Context(), actor(c), c.Param("id"), req.UnitIDs)
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// Submit is the body of POST /documents/:id/submit.
type Submit struct {
	Reviewers []string `json:"reviewers"`
}

// Comment is the body of approve, return and complete.
type Comment struct {
	Comment string `json:"comment"`
}

// Reason is the body of withdraw.
type Reason struct {
	Reason string `json:"reason"`
}

// SignerAssign is the body of POST /documents/:id/signer.
type SignerAssign struct {
	SignerID    string            `json:"signer_id"`
	Capacity    document.Capacity `json:"capacity"`
	PrincipalID string            `json:"principal_id"`
}

// answer writes the document a use case returned.
func (api *API) answer(c *gin.Context, d *document.Document, err error) {
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, documentJSON(d))
}

const maxComment = 4000

func (api *API) submit(c *gin.Context) {
	var req Submit
	if !bindJSON(c, &req) {
		return
	}
	d, err := api.Workflow.SubmitForReview(c.Request.Context(), actor(c), c.Param("id"), req.Reviewers)
	api.answer(c, d, err)
}

func (api *API) comment(c *gin.Context) (string, bool) {
	var req Comment
	if !bindOptionalJSON(c, &req) {
		return "", false
	}
	if len(req.Comment) > maxComment {
		invalid(c, map[string]string{"comment": "at most 4000 bytes"})
		return "", false
	}
	return req.Comment, true
}

func (api *API) approve(c *gin.Context) {
	if text, ok := api.comment(c); ok {
		d, err := api.Workflow.Approve(c.Request.Context(), actor(c), c.Param("id"), text)
		api.answer(c, d, err)
	}
}

func (api *API) returnDoc(c *gin.Context) {
	if text, ok := api.comment(c); ok {
		d, err := api.Workflow.Return(c.Request.Context(), actor(c), c.Param("id"), text)
		api.answer(c, d, err)
	}
}

func (api *API) complete(c *gin.Context) {
	if text, ok := api.comment(c); ok {
		d, err := api.Workflow.Complete(c.Request.Context(), actor(c), c.Param("id"), text)
		api.answer(c, d, err)
	}
}

func (api *API) assignSigner(c *gin.Context) {
	var req SignerAssign
	if !bindJSON(c, &req) {
		return
	}
	if !req.Capacity.Valid() {
		invalid(c, map[string]string{"capacity": "one of \"\", TM, KT, TL, TUQ, Q"})
		return
	}
	d, err := api.Workflow.AssignSignerAs(c.Request.Context(), actor(c), c.Param("id"), req.SignerID, req.Capacity, req.PrincipalID)
	api.answer(c, d, err)
}

func (api *API) issue(c *gin.Context) {
	d, err := api.Workflow.Issue(c.Request.Context(), actor(c), c.Param("id"))
	api.answer(c, d, err)
}

func (api *API) archive(c *gin.Context) {
	d, err := api.Workflow.Archive(c.Request.Context(), actor(c), c.Param("id"))
	api.answer(c, d, err)
}

func (api *API) withdraw(c *gin.Context) {
	var req Reason
	if !bindOptionalJSON(c, &req) {
		return
	}
	d, err := api.Workflow.Withdraw(c.Request.Context(), actor(c), c.Param("id"), req.Reason)
	api.answer(c, d, err)
}

// IncomingCreate is the metadata part of POST /incoming.
type IncomingCreate struct {
	UnitID          string                   `json:"unit_id"`
	Type            string                   `json:"type"`
	Subject         string                   `json:"subject"`
	Urgency         document.Urgency         `json:"urgency"`
	Confidentiality document.Confidentiality `json:"confidentiality"`
	SenderName      string                   `json:"sender_name"`
	SenderSymbol    string                   `json:"sender_symbol"`
	SenderDate      string                   `json:"sender_date"` // YYYY-MM-DD
}

// IncomingRegistered answers a registration: the document with its arrival
// number, documents already registered with the same sender and symbol (a
// resend?), and the validation of its signatures.
type IncomingRegistered struct {
	Document     DocumentJSON   `json:"document"`
	Duplicates   []DocumentJSON `json:"duplicates"`
	Verification *verify.Report `json:"verification,omitempty"`
}

func (api *API) registerIncoming(c *gin.Context) {
	var meta IncomingCreate
	up, ok := api.readUpload(c, &meta, true, 0, api.checkUpload(c, func() workflow.UploadTarget {
		return workflow.UploadTarget{Kind: workflow.UploadIncoming, UnitID: meta.UnitID}
	}))
	if !ok {
		return
	}
	var senderDate time.Time
	if meta.SenderDate != "" {
		t, err := parseDay(meta.SenderDate)
		if err != nil {
			api.Files.Discard(c.Request.Context(), up.file)
			invalid(c, map[string]string{"sender_date": "a date as YYYY-MM-DD"})
			return
		}
		senderDate = t
	}
	ctx := c.Request.Context()
	d, dups, err := api.Workflow.RegisterIncoming(ctx, actor(c), workflow.IncomingInput{
		UnitID: meta.UnitID, TypeCode: meta.Type, Subject: meta.Subject, Urgency: meta.Urgency,
		Confidentiality: meta.Confidentiality, SenderName: meta.SenderName, SenderSymbol: meta.SenderSymbol,
		SenderDate: senderDate, File: up.file,
	})
	if err != nil {
		api.Files.Discard(ctx, up.file)
		api.fail(c, err)
		return
	}
	out := IncomingRegistered{Document: documentJSON(d), Duplicates: documentsJSON(dups)}
	// The workflow validated the file on registration and kept the report;
	// a validation that could not be made leaves none (re-run it with POST
	// /documents/{id}/verify).
	if kept, err := api.Workflow.LatestVerification(ctx, actor(c), d.ID, 1); err == nil && kept != nil {
		out.Verification = kept.Report
	}
	c.JSON(http.StatusCreated, out)
}

// RouteTo is the body of POST /documents/:id/route.
type RouteTo struct {
	LeaderID string `json:"leader_id"`
}

func (api *API) route(c *gin.Context) {
	var req RouteTo
	if !bindJSON(c, &req) {
		return
	}
	d, err := api.Workflow.Route(c.Request.Context(), actor(c), c.Param("id"), req.LeaderID)
	api.answer(c, d, err)
}

// AssignTo is the body of POST /documents/:id/assign: a deadline either in
// working days from today or as a date.
type AssignTo struct {
	HandlerID      string `json:"handler_id"`
	HandlingUnitID string `json:"handling_unit_id"`
	WorkingDays    int    `json:"working_days"`
	Deadline       string `json:"deadline"` // YYYY-MM-DD, the last day
	Instruction    string `json:"instruction"`
}

func (api *API) assign(c *gin.Context) {
	var req AssignTo
	if !bindJSON(c, &req) {
		return
	}
	as := workflow.Assignment{HandlerID: req.HandlerID, HandlingUnitID: req.HandlingUnitID, WorkingDays: req.WorkingDays, Instruction: req.Instruction}
	if req.WorkingDays < 0 || req.WorkingDays > 365 {
		invalid(c, map[string]string{"working_days": "between 0 and 365"})
		return
	}
	if req.Deadline != "" {
		t, err := parseDay(req.Deadline)
		if err != nil {
			invalid(c, map[string]string{"deadline": "a date as YYYY-MM-DD"})
			return
		}
		as.Deadline = document.EndOfDay(t)
	}
	d, err := api.Workflow.Assign(c.Request.Context(), actor(c), c.Param("id"), as)
	api.answer(c, d, err)
}

func (api *API) startHandling(c *gin.Context) {
	d, err := api.Workflow.StartHandling(c.Request.Context(), actor(c), c.Param("id"))
	api.answer(c, d, err)
}

func (api *API) overdue(c *gin.Context) {
	ds, err := api.Workflow.Overdue(c.Request.Context(), actor(c), current(c).user.OrgID)
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": documentsJSON(ds)})
}
