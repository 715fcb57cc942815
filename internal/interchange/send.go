package interchange

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"vanban/exchange"
	"vanban/exchange/edxml"
	"vanban/internal/document"
	"vanban/internal/workflow"
)

// ErrSecret is the refusal for a secret document: documents marked mật,
// tối mật or tuyệt mật never go through the exchange.
var ErrSecret = document.Errorf(document.EINVALID, "văn bản mật không được gửi qua trục liên thông: secret documents (mật and above) never go through the exchange")

// loadDocument loads an outgoing document the actor may change: of their
// organization, where they hold role in its unit (or created it).
func loadOutgoing[T Tx](ctx context.Context, tx T, w who, docID string, roles ...document.Role) (*document.Document, error) {
	d, err := tx.Document(ctx, docID)
	if err != nil {
		return nil, err
	}
	if d.OrgID != w.user.OrgID {
		return nil, document.Errorf(document.ENOTFOUND, "document %s not found", docID)
	}
	unit, err := tx.Unit(ctx, d.UnitID)
	if err != nil {
		return nil, err
	}
	if !w.grants.Covers(*unit) && d.CreatedBy != w.user.ID {
		return nil, document.Errorf(document.ENOTFOUND, "document %s not found", docID)
	}
	for _, r := range roles {
		if w.grants.Allows(r, *unit) {
			return d, nil
		}
	}
	if len(roles) == 0 {
		return d, nil
	}
	return nil, document.Errorf(document.EFORBIDDEN, "this needs the %s role in unit %s", roles[0], unit.Abbrev)
}

// SetExternalRecipients names the agencies of the organization's directory
// an outgoing document goes to; their packages leave when it is issued.
// The drafter or a clerk of the document's unit does it, before issue.
// Secret documents are refused with ErrSecret.
func (s *Service[T]) SetExternalRecipients(ctx context.Context, a workflow.Actor, docID string, organs []string) error {
	return s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		d, err := loadOutgoing(ctx, tx, w, docID, document.RoleDrafter, document.RoleClerk)
		if err != nil {
			return err
		}
		if d.Direction != document.Outgoing {
			return document.Errorf(document.EINVALID, "only outgoing documents have external recipients")
		}
		if d.Confidentiality.Secret() && len(organs) > 0 {
			return ErrSecret
		}
		switch d.State {
		case document.StateIssued, document.StateArchived, document.StateWithdrawn:
			return document.Errorf(document.ECONFLICT, "the recipients of a document in state %q cannot change", d.State)
		}
		own, _ := tx.OrganId(ctx, d.OrgID)
		var rs []Recipient
		seen := map[string]bool{}
		for _, o := range organs {
			o = strings.TrimSpace(o)
			if o == "" || seen[o] {
				continue
			}
			seen[o] = true
			if o == own {
				return document.Errorf(document.EINVALID, "%s is this organization's own identifier code", o)
			}
			ag, err := tx.Agency(ctx, d.OrgID, o)
			if document.ErrorCode(err) == document.ENOTFOUND {
				return document.Errorf(document.EINVALID, "%s is not in the agency directory", o)
			}
			if err != nil {
				return err
			}
			rs = append(rs, Recipient{DocumentID: d.ID, OrganId: o, Name: ag.Name})
		}
		if len(rs) > 200 {
			return document.Errorf(document.EINVALID, "at most 200 external recipients")
		}
		if err := tx.SetExchangeRecipients(ctx, d.ID, rs); err != nil {
			return err
		}
		names := make([]string, len(rs))
		for i, r := range rs {
			names[i] = r.OrganId + " " + r.Name
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "document.exchange_recipients", "document", d.ID, s.now(),
			map[string]any{"external_recipients": names})
	})
}

// SetReplacement marks an outgoing document, before issue, as the update
// (businessType 2) or replacement (3) of an earlier one already sent; its
// packages then carry the earlier document's DocumentId, and both sides
// link the two.
func (s *Service[T]) SetReplacement(ctx context.Context, a workflow.Actor, docID, replacesID string, businessType int, reason string) error {
	if businessType != int(edxml.DocUpdate) && businessType != int(edxml.DocReplace) {
		return document.Errorf(document.EINVALID, "business type must be 2 (update) or 3 (replace)")
	}
	return s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		d, err := loadOutgoing(ctx, tx, w, docID, document.RoleDrafter, document.RoleClerk)
		if err != nil {
			return err
		}
		if d.State == document.StateIssued || d.State == document.StateArchived {
			return document.Errorf(document.ECONFLICT, "the document is already issued")
		}
		old, err := tx.ExchangeDocument(ctx, replacesID)
		if err != nil || old.OrgID != d.OrgID || old.EdxmlDocumentId == "" {
			return document.Errorf(document.EINVALID, "document %s was not sent through the exchange", replacesID)
		}
		x := &DocumentExchange{DocumentID: d.ID, OrgID: d.OrgID, BusinessType: businessType, ReplacesDocumentID: replacesID, Reason: strings.TrimSpace(reason)}
		if err := tx.PutExchangeDocument(ctx, x); err != nil {
			return err
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "document.exchange_replaces", "document", d.ID, s.now(),
			map[string]any{"replaces": replacesID, "business_type": businessType, "reason": reason})
	})
}

// splitSymbol splits "05/QĐ-UBND" into number and notation.
func splitSymbol(symbol string) (string, string) {
	if i := strings.IndexByte(symbol, '/'); i >= 0 {
		return symbol[:i], symbol[i+1:]
	}
	return "", symbol
}

// queueIssued queues one package per external recipient of every issued
// document not queued yet. Secret documents are never queued: the refusal
// goes into their timeline.
func (s *Service[T]) queueIssued(ctx context.Context) (int, error) {
	var ids []string
	if err := s.db.WithTx(ctx, func(tx T) error {
		var err error
		ids, err = tx.DocumentsToQueue(ctx, 100)
		return err
	}); err != nil {
		return 0, err
	}
	queued := 0
	for _, id := range ids {
		err := s.db.WithTx(ctx, func(tx T) error {
			d, err := tx.Document(ctx, id)
			if err != nil {
				return err
			}
			x, err := tx.ExchangeDocument(ctx, id)
			if document.ErrorCode(err) == document.ENOTFOUND {
				x, err = &DocumentExchange{DocumentID: id, OrgID: d.OrgID}, nil
			}
			if err != nil {
				return err
			}
			if !x.QueuedAt.IsZero() {
				return nil // another worker was first
			}
			now := s.now()
			x.QueuedAt = now
			if d.Confidentiality.Secret() {
				if err := tx.PutExchangeDocument(ctx, x); err != nil {
					return err
				}
				return auditEntry(ctx, tx, systemActor, "", "document.exchange_refused", "document", id, now, map[string]any{"reason": ErrSecret.Error()})
			}
			organ, err := tx.OrganId(ctx, d.OrgID)
			if document.ErrorCode(err) == document.ENOTFOUND {
				// Without an identifier code nothing can be sent; keep
				// trying once an administrator sets it.
				return nil
			}
			if err != nil {
				return err
			}
			date := d.NumberedAt
			if date.IsZero() {
				date = d.IssuedAt
			}
			x.EdxmlDocumentId = organ + "," + edxml.FormatDate(date) + "," + d.Symbol
			rs, err := tx.ExchangeRecipients(ctx, id)
			if err != nil {
				return err
			}
			var to []string
			for _, r := range rs {
				if _, err := tx.EnqueueExchange(ctx, &OutboxMessage{OrgID: d.OrgID, Kind: KindPackage, FromOrgan: organ, ToOrgan: r.OrganId,
					DocumentID: id, BusinessType: x.BusinessType, Reason: x.Reason,
					DedupeKey: "package|" + id + "|" + r.OrganId + "|" + strconv.Itoa(x.BusinessType)}); err != nil {
					return err
				}
				to = append(to, r.OrganId)
			}
			if err := tx.PutExchangeDocument(ctx, x); err != nil {
				return err
			}
			queued++
			return auditEntry(ctx, tx, systemActor, "", "document.exchange_queued", "document", id, now,
				map[string]any{"document_id": x.EdxmlDocumentId, "to": to, "business_type": x.BusinessType})
		})
		if err != nil {
			s.log.Error("exchange: queueing packages", "document", id, "err", err)
		}
	}
	if queued > 0 {
		s.Kick()
	}
	return queued, nil
}

// Recall asks every recipient of an issued document to withdraw it
// (BussinessDocType 1) for a reason; each answers 15 (agreed) or 16
// (refused). A clerk of the document's unit does it.
func (s *Service[T]) Recall(ctx context.Context, a workflow.Actor, docID, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return document.Errorf(document.EINVALID, "a recall needs a reason (at most 2000 bytes)")
	}
	err := s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		d, err := loadOutgoing(ctx, tx, w, docID, document.RoleClerk)
		if err != nil {
			return err
		}
		x, err := tx.ExchangeDocument(ctx, d.ID)
		if err != nil || x.EdxmlDocumentId == "" {
			return document.Errorf(document.ECONFLICT, "the document was not sent through the exchange")
		}
		if !x.RecalledAt.IsZero() {
			return document.Errorf(document.ECONFLICT, "the document was already recalled")
		}
		now := s.now()
		x.RecallReason, x.RecalledAt = reason, now
		if err := tx.PutExchangeDocument(ctx, x); err != nil {
			return err
		}
		organ, err := tx.OrganId(ctx, d.OrgID)
		if err != nil {
			return err
		}
		rs, err := tx.ExchangeRecipients(ctx, d.ID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if _, err := tx.EnqueueExchange(ctx, &OutboxMessage{OrgID: d.OrgID, Kind: KindPackage, FromOrgan: organ, ToOrgan: r.OrganId,
				DocumentID: d.ID, BusinessType: int(edxml.DocRecall), Reason: reason,
				DedupeKey: "package|" + d.ID + "|" + r.OrganId + "|1"}); err != nil {
				return err
			}
			// 13 (lấy lại / thu hồi) on our side of the table: the request left.
			if _, err := tx.InsertExchangeStatus(ctx, &StatusRecord{OrgID: d.OrgID, DocumentID: d.ID, OrganId: r.OrganId,
				// Remote statuses carry whole seconds; so does ours, to sort with them.
				Code: string(edxml.StatusRecallRequested), Description: reason, Staff: w.user.FullName, At: now.Truncate(time.Second),
				DedupeKey: "local|" + d.ID + "|" + r.OrganId + "|13"}); err != nil {
				return err
			}
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "document.exchange_recall", "document", d.ID, now, map[string]any{"reason": reason})
	})
	if err == nil {
		s.Kick()
	}
	return err
}

// RecipientReport is one external recipient of an outgoing document with
// every status it reported and the state of the packages sent to it.
type RecipientReport struct {
	Recipient
	Statuses []StatusRecord
	Packages []*OutboxMessage
}

// SendReport is what the sender's document page shows.
type SendReport struct {
	Exchange   *DocumentExchange // nil until queued or marked as a replacement
	Recipients []RecipientReport
}

// Report returns the per-recipient status table of an outgoing document.
// Whoever may see the document in its unit may read it.
func (s *Service[T]) Report(ctx context.Context, a workflow.Actor, docID string) (*SendReport, error) {
	out := &SendReport{}
	err := s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		d, err := loadOutgoing(ctx, tx, w, docID)
		if err != nil {
			return err
		}
		if x, err := tx.ExchangeDocument(ctx, d.ID); err == nil {
			out.Exchange = x
		} else if document.ErrorCode(err) != document.ENOTFOUND {
			return err
		}
		rs, err := tx.ExchangeRecipients(ctx, d.ID)
		if err != nil {
			return err
		}
		sts, err := tx.ExchangeStatuses(ctx, d.ID)
		if err != nil {
			return err
		}
		box, err := tx.ExchangeOutboxFor(ctx, d.ID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			rr := RecipientReport{Recipient: r}
			for _, st := range sts {
				if st.OrganId == r.OrganId {
					rr.Statuses = append(rr.Statuses, st)
				}
			}
			for _, m := range box {
				if m.ToOrgan == r.OrganId && m.Kind == KindPackage {
					rr.Packages = append(rr.Packages, m)
				}
			}
			out.Recipients = append(out.Recipients, rr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Kick makes Run deliver the outbox now rather than at its next tick.
func (s *Service[T]) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// backoff is the wait before attempt n+1: 5 s doubling to an hour.
func backoff(attempts int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// maxAttempts: a message still failing after this many tries is dead and
// shown as failed on the sender's page.
const maxAttempts = 25

// deliver sends the due outbox messages.
func (s *Service[T]) deliver(ctx context.Context) (sent int, err error) {
	if s.opt.Transport == nil {
		return 0, nil
	}
	for {
		var batch []*OutboxMessage
		token := randomToken()
		if err := s.db.WithTx(ctx, func(tx T) error {
			var err error
			batch, err = tx.ClaimExchangeOutbox(ctx, s.now(), 2*time.Minute, 20, token)
			return err
		}); err != nil {
			return sent, err
		}
		if len(batch) == 0 {
			return sent, nil
		}
		for _, m := range batch {
			id, err := s.sendOne(ctx, m)
			state, next, lastErr := OutboxSent, s.now(), ""
			if err != nil {
				lastErr = err.Error()
				state, next = OutboxPending, s.now().Add(backoff(m.Attempts))
				if !exchange.Retryable(err) || m.Attempts >= maxAttempts {
					state = OutboxDead
				}
				s.log.Warn("exchange: sending failed", "kind", m.Kind, "to", m.ToOrgan, "document", m.DocumentID, "attempt", m.Attempts, "err", err)
			} else {
				sent++
			}
			if err := s.db.WithTx(ctx, func(tx T) error {
				return tx.FinishExchangeOutbox(ctx, m.ID, token, state, id, lastErr, next)
			}); err != nil {
				return sent, err
			}
		}
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

func randomToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sendOne sends one message; the outbox id is the idempotency key, so a
// retry after a lost answer is delivered once by transports that honour it.
func (s *Service[T]) sendOne(ctx context.Context, m *OutboxMessage) (string, error) {
	out := exchange.Outgoing{From: m.FromOrgan, To: []string{m.ToOrgan}, Key: m.ID}
	if m.Kind == KindStatus {
		out.Kind, out.Body = exchange.KindStatus, strings.NewReader(m.Body)
		return s.opt.Transport.Send(ctx, out)
	}
	pkg, files, err := s.buildPackage(ctx, m)
	if err != nil {
		return "", &exchange.Error{Kind: exchange.KindRejected, Op: "build", Msg: "building the package", Err: err}
	}
	pr, pw := io.Pipe()
	go func() {
		var readers []io.Reader
		var closers []io.Closer
		for _, key := range files {
			rc, _, err := s.opt.Blobs.Get(ctx, key)
			if err != nil {
				for _, c := range closers {
					c.Close()
				}
				pw.CloseWithError(err)
				return
			}
			readers = append(readers, rc)
			closers = append(closers, rc)
		}
		err := edxml.Encode(pw, pkg, readers)
		for _, c := range closers {
			c.Close()
		}
		pw.CloseWithError(err)
	}()
	out.Kind, out.Body = exchange.KindPackage, pr
	id, err := s.opt.Transport.Send(ctx, out)
	pr.CloseWithError(errors.New("send finished"))
	return id, err
}

var priorities = map[document.Urgency]string{
	document.UrgencyNormal: "0", document.UrgencyUrgent: "1", document.UrgencyVery: "2", document.UrgencyFlash: "3",
}

// buildPackage maps a document to an edXML package for one recipient and
// returns the blob keys of its attachments' contents, in order.
func (s *Service[T]) buildPackage(ctx context.Context, m *OutboxMessage) (*edxml.Package, []string, error) {
	p := &edxml.Package{}
	var files []string
	err := s.db.WithTx(ctx, func(tx T) error {
		d, err := tx.Document(ctx, m.DocumentID)
		if err != nil {
			return err
		}
		if d.Confidentiality.Secret() {
			return ErrSecret
		}
		org, err := tx.Organization(ctx, d.OrgID)
		if err != nil {
			return err
		}
		x, err := tx.ExchangeDocument(ctx, d.ID)
		if err != nil {
			return err
		}
		typ, err := tx.DocumentType(ctx, d.TypeCode)
		if err != nil {
			return err
		}
		toName := ""
		if rs, err := tx.ExchangeRecipients(ctx, d.ID); err == nil {
			for _, r := range rs {
				if r.OrganId == m.ToOrgan {
					toName = r.Name
				}
			}
		}
		number, notation := splitSymbol(d.Symbol)
		date := d.NumberedAt
		if date.IsZero() {
			date = d.IssuedAt
		}
		h := &p.Header.MessageHeader
		h.From = edxml.Organization{OrganId: m.FromOrgan, OrganName: org.Name}
		h.To = []edxml.Organization{{OrganId: m.ToOrgan, OrganName: toName}}
		h.DocumentId = x.EdxmlDocumentId
		h.Code = edxml.Code{CodeNumber: number, CodeNotation: notation}
		h.PromulgationInfo = edxml.PromulgationInfo{Place: org.Place, PromulgationDate: edxml.FormatDate(date)}
		h.DocumentType = edxml.DocumentType{Type: "2", TypeName: typ.Name}
		if typ.Normative {
			h.DocumentType.Type = "1"
		}
		h.Subject = d.Subject
		h.OtherInfo = edxml.OtherInfo{Priority: priorities[d.Urgency]}
		if d.SignerID != "" {
			if u, err := tx.User(ctx, d.SignerID); err == nil {
				h.SignerInfo = edxml.SignerInfo{Competence: string(d.SignCapacity), Position: u.Title, FullName: u.FullName}
			}
		}
		b := &edxml.Bussiness{BussinessDocType: edxml.BussinessDocType(m.BusinessType), BussinessDocReason: m.Reason}
		switch edxml.BussinessDocType(m.BusinessType) {
		case edxml.DocRecall:
			b.DocumentId = x.EdxmlDocumentId
		case edxml.DocUpdate, edxml.DocReplace:
			old, err := tx.ExchangeDocument(ctx, x.ReplacesDocumentID)
			if err != nil {
				return err
			}
			b.DocumentId = old.EdxmlDocumentId
			b.ReplacementInfoList = []edxml.ReplacementInfo{{DocumentId: old.EdxmlDocumentId, OrganIdList: []string{m.ToOrgan}}}
		}
		p.Header.TraceHeaderList = edxml.TraceHeaderList{
			TraceHeaders: []edxml.TraceHeader{{OrganId: m.FromOrgan, Timestamp: edxml.FormatTimestamp(s.now())}},
			Bussiness:    b,
		}
		if m.BusinessType == int(edxml.DocRecall) {
			return nil // a recall carries no content
		}
		v, err := tx.LatestVersion(ctx, d.ID)
		if err != nil {
			return err
		}
		name := strings.NewReplacer("/", "-", " ", "_").Replace(d.Symbol) + ".pdf"
		p.Attachments = append(p.Attachments, edxml.Attachment{ContentId: "doc", AttachmentName: name, ContentType: "application/pdf", Description: "Văn bản"})
		files = append(files, v.BlobKey)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if m.BusinessType != int(edxml.DocRecall) && s.opt.Attachments != nil {
		atts, err := s.opt.Attachments(ctx, m.DocumentID)
		if err != nil {
			return nil, nil, err
		}
		sort.SliceStable(atts, func(i, j int) bool { return atts[i].CreatedAt.Before(atts[j].CreatedAt) })
		for i, at := range atts {
			p.Attachments = append(p.Attachments, edxml.Attachment{ContentId: fmt.Sprintf("att%d", i+1), AttachmentName: at.Name,
				ContentType: at.ContentType, Description: "Tài liệu kèm theo"})
			files = append(files, at.BlobKey)
		}
	}
	for _, at := range p.Attachments {
		p.References = append(p.References, edxml.Reference{ContentId: "cid:" + at.ContentId, ContentType: at.ContentType,
			AttachmentName: at.AttachmentName, Description: at.Description})
	}
	return p, files, nil
}

// statusBody encodes a status message about a received package.
func statusBody(it *InboxItem, orgName string, code edxml.StatusCode, description, staff, department string, at time.Time) (string, error) {
	var hdr edxml.Header
	_ = jsonUnmarshal(it.HeaderJSON, &hdr)
	st := &edxml.Status{
		ResponseFor: edxml.ResponseFor{OrganId: it.FromOrgan, Code: it.Symbol,
			PromulgationDate: hdr.MessageHeader.PromulgationInfo.PromulgationDate, DocumentId: it.EdxmlDocumentId},
		From:        edxml.Organization{OrganId: it.OrganId, OrganName: orgName},
		StatusCode:  code,
		Description: description,
		Timestamp:   edxml.FormatTimestamp(at),
		StaffInfo:   edxml.StaffInfo{Staff: staff, Department: department},
	}
	var buf bytes.Buffer
	if err := edxml.EncodeStatus(&buf, st); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// queueStatus queues a status message back to the sender of it.
func queueStatus[T Tx](ctx context.Context, tx T, it *InboxItem, code edxml.StatusCode, description, staff, department string, at time.Time) error {
	org, err := tx.Organization(ctx, it.OrgID)
	if err != nil {
		return err
	}
	body, err := statusBody(it, org.Name, code, description, staff, department, at)
	if err != nil {
		return err
	}
	_, err = tx.EnqueueExchange(ctx, &OutboxMessage{OrgID: it.OrgID, Kind: KindStatus, FromOrgan: it.OrganId, ToOrgan: it.FromOrgan,
		Body: body, DedupeKey: "status|" + it.ID + "|" + string(code)})
	return err
}
