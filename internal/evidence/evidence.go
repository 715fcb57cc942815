// Package evidence builds and checks evidence packages: one ZIP that lets
// anyone prove, offline and years later, that an issued document was
// signed by the right people and never changed. It holds the final PDF,
// its validation report (JSON and a readable HTML page), the timeline, the
// exchange statuses, the document's audit entries with the chain links
// (and a time-stamped anchor) that prove them, and a manifest of SHA-256
// digests signed by the organization's seal (CMS, time-stamped).
//
// Build is the use case behind the download; Verify (verify.go) is what
// "vanban evidence verify" runs and needs nothing but the file and, to
// judge the certificates, the trust anchors.
package evidence

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/signing/verify"
	"vanban/storage"
)

// Member names. The manifest lists every other member with its digest.
const (
	MemberPDF        = "document.pdf"
	MemberReportJSON = "validation-report.json"
	MemberReportHTML = "validation-report.html"
	MemberTimeline   = "timeline.json"
	MemberExchange   = "exchange.json"
	MemberAudit      = "audit.json"
	MemberManifest   = "manifest.json"
	MemberSeal       = "manifest.p7s"
)

// Format is the manifest's format tag; Verify refuses others.
const Format = "vanban-evidence-v1"

// Manifest is manifest.json.
type Manifest struct {
	Format       string           `json:"format"`
	DocumentID   string           `json:"document_id"`
	Organization string           `json:"organization"`
	Symbol       string           `json:"symbol,omitempty"`
	Subject      string           `json:"subject"`
	State        string           `json:"state"`
	CreatedAt    time.Time        `json:"created_at"`
	Members      []ManifestMember `json:"members"`
}

// ManifestMember is one member's name, size and digest.
type ManifestMember struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ExchangeStatus is where the document went and what came of it: an
// internal delivery to a recipient unit, or (from the edXML exchange,
// through ExchangeSource) a package sent to another agency or a status
// that agency reported. Every edXML row but a package not queued yet
// names, in AuditSeq, the entry of audit.json that records it, so the
// statuses are proven by the anchored chain and not only by the seal.
type ExchangeStatus struct {
	Channel       string `json:"channel"` // ChannelInternal, ChannelEdxml
	Recipient     string `json:"recipient"`
	RecipientName string `json:"recipient_name,omitempty"`
	// Kind (edXML): KindPackage (Status is Package*) or KindStatus
	// (Status is the code's word: received, refused, accepted, ...).
	Kind   string    `json:"kind,omitempty"`
	Status string    `json:"status"`
	At     time.Time `json:"at,omitzero"`
	Detail string    `json:"detail,omitempty"`
	// Code and Name: the edXML status code (01 ... 16) and its
	// Vietnamese name.
	Code       string `json:"code,omitempty"`
	Name       string `json:"name,omitempty"`
	Staff      string `json:"staff,omitempty"`
	Department string `json:"department,omitempty"`
	// Local: a status recorded by the sender (13, the recall request
	// left), not reported by the recipient.
	Local bool `json:"local,omitempty"`
	// BusinessType of a package: 0 new, 1 recall, 2 update, 3 replace.
	BusinessType    int    `json:"business_type,omitempty"`
	EdxmlDocumentID string `json:"edxml_document_id,omitempty"`
	AuditSeq        int64  `json:"audit_seq,omitempty"`
}

// ExchangeSource is the extension point for exchanges with other agencies
// (edXML): the statuses of docID's sendings. Optional.
type ExchangeSource interface {
	ExchangeStatuses(ctx context.Context, docID string) ([]ExchangeStatus, error)
}

// AuditFile is audit.json: the document's entries in full, the links of
// the chain from the first of them to an anchored head (every entry's
// sequence number, prev_hash and hash; entries of other objects without
// their content), and the anchor's time-stamp token.
type AuditFile struct {
	Entries []AuditEntry `json:"entries"`
	Links   []AuditLink  `json:"links"`
	Anchor  *AuditAnchor `json:"anchor,omitempty"`
}

// AuditEntry is one audit entry of the document, every field its hash
// covers.
type AuditEntry struct {
	Seq        int64           `json:"seq"`
	TimeMicros int64           `json:"time_us"`
	Actor      string          `json:"actor"`
	ClientAddr string          `json:"client_addr"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Change     json.RawMessage `json:"change"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

func (e AuditEntry) entry() audit.Entry {
	return audit.Entry{Seq: e.Seq, Time: time.UnixMicro(e.TimeMicros).UTC(), Actor: e.Actor, ClientAddr: e.ClientAddr,
		Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Change: e.Change, PrevHash: e.PrevHash, Hash: e.Hash}
}

// AuditLink is one entry of the chain as a link: enough to check that the
// chain runs unbroken, not what the entry says.
type AuditLink struct {
	Seq      int64  `json:"seq"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// AuditAnchor is the head the links end at, time-stamped by the TSA.
type AuditAnchor struct {
	Seq   int64     `json:"seq"`
	Hash  string    `json:"hash"`
	Time  time.Time `json:"time"`
	Token []byte    `json:"token"` // DER TimeStampToken over audit.AnchorImprint
}

// Workflow is what Build needs of the use cases (*workflow.Service).
type Workflow interface {
	Get(ctx context.Context, a workflow.Actor, docID string) (*workflow.View, error)
	Timeline(ctx context.Context, a workflow.Actor, docID string) ([]workflow.Step, error)
}

// Audit reads the chain (*store.DB implements it).
type Audit interface {
	AuditEntriesFor(ctx context.Context, objectType, objectID string) ([]audit.Entry, error)
	AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]audit.Entry, error)
	AuditAnchors(ctx context.Context) ([]audit.Anchor, error)
}

// Anchorer time-stamps the head on demand (*audit.Anchorer).
type Anchorer interface {
	Anchor(ctx context.Context) (audit.Anchor, bool, error)
}

// Validator validates a stored PDF (the server's validator).
type Validator interface {
	Validate(ctx context.Context, blobKey string) (*verify.Report, error)
}

// Sealer signs the manifest for an organization: a detached CMS
// SignedData by its seal, with a signature time-stamp.
type Sealer interface {
	Seal(ctx context.Context, orgID string, content []byte) ([]byte, error)
}

// Builder makes evidence packages.
type Builder struct {
	Workflow  Workflow
	Audit     Audit
	Anchorer  Anchorer // nil: the links end at the newest anchor, or the head without one
	Blobs     storage.Store
	Validator Validator
	Sealer    Sealer
	Exchange  ExchangeSource // nil: internal deliveries only
	// OrgName names the organization in the manifest.
	OrgName func(ctx context.Context, orgID string) (string, error)
	// MaxLinks bounds the chain segment (default 2,000,000 links, about
	// 250 MB of JSON): a document whose first entry is older than that
	// many appends is refused rather than built into an enormous file.
	MaxLinks int
	Now      func() time.Time
}

// issuedStates are those with a final PDF worth proving.
var issuedStates = map[document.State]bool{
	document.StateIssued: true, document.StateArchived: true, document.StateCompleted: true,
}

// Build writes the evidence package of docID, as a may see it, to w.
// Errors: ENOTFOUND for a document a may not see, ECONFLICT for one not
// issued yet (or without a PDF).
func (b *Builder) Build(ctx context.Context, a workflow.Actor, docID string, w io.Writer) error {
	v, err := b.Workflow.Get(ctx, a, docID)
	if err != nil {
		return err
	}
	doc := v.Document
	if !issuedStates[doc.State] || len(v.Versions) == 0 {
		return document.Errorf(document.ECONFLICT, "an evidence package is made for an issued document; this one is %s", doc.State)
	}
	final := v.Versions[len(v.Versions)-1]
	steps, err := b.Workflow.Timeline(ctx, a, docID)
	if err != nil {
		return err
	}
	rep, err := b.Validator.Validate(ctx, final.BlobKey)
	if err != nil {
		return err
	}
	auditFile, exchange, err := b.auditAndExchange(ctx, v)
	if err != nil {
		return err
	}
	orgName := doc.OrgID
	if b.OrgName != nil {
		if orgName, err = b.OrgName(ctx, doc.OrgID); err != nil {
			return err
		}
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}

	zw := zip.NewWriter(w)
	m := Manifest{Format: Format, DocumentID: doc.ID, Organization: orgName, Symbol: doc.Symbol, Subject: doc.Subject,
		State: string(doc.State), CreatedAt: now().UTC().Truncate(time.Second)}
	add := func(name string, write func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.CreatedAt})
		if err != nil {
			return err
		}
		h := sha256.New()
		cw := &countingWriter{w: io.MultiWriter(fw, h)}
		if err := write(cw); err != nil {
			return fmt.Errorf("evidence: %s: %w", name, err)
		}
		m.Members = append(m.Members, ManifestMember{Name: name, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	jsonMember := func(val any) func(io.Writer) error {
		return func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(val)
		}
	}
	err = add(MemberPDF, func(w io.Writer) error {
		rc, _, err := b.Blobs.Get(ctx, final.BlobKey)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(w, rc) // Get checks the content against its digest
		return err
	})
	if err != nil {
		return err
	}
	for _, mem := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{MemberReportJSON, jsonMember(rep)},
		{MemberReportHTML, func(w io.Writer) error { return writeReportHTML(w, doc, orgName, final, rep, exchange) }},
		{MemberTimeline, jsonMember(timelineJSON(steps))},
		{MemberExchange, jsonMember(exchange)},
		{MemberAudit, jsonMember(auditFile)},
	} {
		if err := add(mem.name, mem.write); err != nil {
			return err
		}
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if b.Sealer == nil {
		return document.Errorf(document.ECONFLICT, "an evidence package needs the organization's seal, which is not configured")
	}
	seal, err := b.Sealer.Seal(ctx, doc.OrgID, manifest)
	if err != nil {
		return fmt.Errorf("evidence: seal the manifest: %w", err)
	}
	for _, raw := range []struct {
		name string
		b    []byte
	}{{MemberManifest, manifest}, {MemberSeal, seal}} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: raw.name, Method: zip.Deflate, Modified: m.CreatedAt})
		if err != nil {
			return err
		}
		if _, err := fw.Write(raw.b); err != nil {
			return err
		}
	}
	return zw.Close()
}

// auditAndExchange reads the audit file and the exchange statuses and
// ties each edXML row to the audit entry that records it. The two are
// read one after the other, so a status arriving in between is on one
// side only: then both are read again (a few times at most; a row still
// without its entry goes in without AuditSeq, and Verify names it).
func (b *Builder) auditAndExchange(ctx context.Context, v *workflow.View) (*AuditFile, []ExchangeStatus, error) {
	var (
		af   *AuditFile
		rows []ExchangeStatus
	)
	for try := 0; try < 3; try++ {
		var err error
		if af, err = b.auditFile(ctx, v.Document.ID); err != nil {
			return nil, nil, err
		}
		rows = []ExchangeStatus{}
		for _, r := range v.Recipients {
			st := ExchangeStatus{Channel: ChannelInternal, Recipient: r.UnitID, Status: "pending"}
			if r.DeliveredID != "" {
				st.Status, st.Detail = "delivered", "incoming document "+r.DeliveredID
			}
			rows = append(rows, st)
		}
		if b.Exchange == nil {
			return af, rows, nil
		}
		more, err := b.Exchange.ExchangeStatuses(ctx, v.Document.ID)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, more...)
		if unproven, untaken := proveExchange(rows, af.Entries); unproven == 0 && len(untaken) == 0 {
			break
		}
	}
	return af, rows, nil
}

// timelineStep is one step of timeline.json.
type timelineStep struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	ActorID   string          `json:"actor_id"`
	ActorName string          `json:"actor_name,omitempty"`
	Action    string          `json:"action"`
	From      string          `json:"from,omitempty"`
	To        string          `json:"to,omitempty"`
	Comment   string          `json:"comment,omitempty"`
	Change    json.RawMessage `json:"change,omitempty"`
}

func timelineJSON(steps []workflow.Step) []timelineStep {
	out := make([]timelineStep, len(steps))
	for i, s := range steps {
		out[i] = timelineStep{Seq: s.Seq, At: s.At, ActorID: s.ActorID, ActorName: s.ActorName, Action: s.Action,
			From: string(s.From), To: string(s.To), Comment: s.Comment, Change: s.Change}
	}
	return out
}

// auditFile collects the document's entries and the chain links from the
// first of them to an anchored head: a fresh anchor when an Anchorer is
// set and the newest one is older than the document's last entry.
func (b *Builder) auditFile(ctx context.Context, docID string) (*AuditFile, error) {
	entries, err := b.Audit.AuditEntriesFor(ctx, "document", docID)
	if err != nil {
		return nil, err
	}
	out := &AuditFile{Entries: []AuditEntry{}, Links: []AuditLink{}}
	if len(entries) == 0 {
		return out, nil
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, AuditEntry{Seq: e.Seq, TimeMicros: e.Time.UnixMicro(), Actor: e.Actor, ClientAddr: e.ClientAddr,
			Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Change: e.Change, PrevHash: e.PrevHash, Hash: e.Hash})
	}
	first, last := entries[0].Seq, entries[len(entries)-1].Seq
	var anchor *audit.Anchor
	anchors, err := b.Audit.AuditAnchors(ctx)
	if err != nil {
		return nil, err
	}
	for i := range anchors {
		if anchors[i].Seq >= last && (anchor == nil || anchors[i].Seq < anchor.Seq) {
			anchor = &anchors[i]
		}
	}
	if anchor == nil && b.Anchorer != nil {
		a, _, err := b.Anchorer.Anchor(ctx)
		if err != nil {
			return nil, err
		}
		if a.Seq >= last {
			anchor = &a
		}
	}
	end := int64(-1) // up to the head
	if anchor != nil {
		end = anchor.Seq
		out.Anchor = &AuditAnchor{Seq: anchor.Seq, Hash: anchor.Hash, Time: anchor.Time, Token: anchor.Token}
	}
	maxLinks := b.MaxLinks
	if maxLinks <= 0 {
		maxLinks = 2_000_000
	}
	after := first - 1
	for {
		page, err := b.Audit.AuditEntries(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if end >= 0 && e.Seq > end {
				return out, nil
			}
			out.Links = append(out.Links, AuditLink{Seq: e.Seq, PrevHash: e.PrevHash, Hash: e.Hash})
			after = e.Seq
		}
		if len(out.Links) > maxLinks {
			return nil, document.Errorf(document.ECONFLICT, "the audit chain from this document's first entry is longer than %d links", maxLinks)
		}
		if len(page) < 1000 {
			return out, nil
		}
	}
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
