package interchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"vanban/exchange"
	"vanban/exchange/edxml"
	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/storage"
)

func jsonUnmarshal(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// Run polls and delivers until ctx ends: every PollInterval it queues the
// packages of newly issued documents, reports the progress of accepted
// ones, receives what waits for each organization and delivers the outbox;
// Kick delivers at once.
func (s *Service[T]) Run(ctx context.Context) error {
	t := time.NewTicker(s.opt.PollInterval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("exchange: tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-s.kick:
			if _, err := s.deliver(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("exchange: delivering", "err", err)
			}
		}
	}
}

// Tick does one round of Run's work; tests call it to move the exchange
// step by step.
func (s *Service[T]) Tick(ctx context.Context) error {
	var errs []error
	if _, err := s.queueIssued(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.reportProgress(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.receiveAll(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.deliver(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// receiveAll fetches what waits for every organization with an identifier code.
func (s *Service[T]) receiveAll(ctx context.Context) error {
	if s.opt.Transport == nil {
		return nil
	}
	var organs []OrgOrgan
	if err := s.db.WithTx(ctx, func(tx T) error {
		var err error
		organs, err = tx.ExchangeOrgans(ctx)
		return err
	}); err != nil {
		return err
	}
	var errs []error
	for _, o := range organs {
		list, err := s.opt.Transport.Received(ctx, o.OrganId)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing %s: %w", o.OrganId, err))
			continue
		}
		for _, r := range list {
			if err := s.receiveOne(ctx, o, r); err != nil {
				// Not acknowledged: it is fetched again next time.
				errs = append(errs, fmt.Errorf("receiving %s for %s: %w", r.ID, o.OrganId, err))
			}
		}
	}
	return errors.Join(errs...)
}

// receiveOne stores one message durably, then acknowledges it. A crash in
// between fetches it again, and the dedupe keys make the second time a no-op.
func (s *Service[T]) receiveOne(ctx context.Context, o OrgOrgan, r exchange.Received) error {
	rc, err := s.opt.Transport.Fetch(ctx, o.OrganId, r.ID)
	if err != nil {
		if exchange.KindOf(err) == exchange.KindNotFound {
			return nil // acknowledged meanwhile
		}
		return err
	}
	tmp, err := os.CreateTemp(s.opt.TempDir, "vanban-edxml-")
	if err != nil {
		rc.Close()
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(rc, s.opt.MaxPackage+1))
	rc.Close()
	if err != nil {
		return err
	}
	tooLarge := n > s.opt.MaxPackage
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Received content gets keys of its own, per organization, rather than
	// content addresses: a recalled copy must be removable even when the
	// same PDF is also the sender's (or another recipient's) copy here.
	var keys []string
	put := func(r io.Reader, contentType string) (storage.Object, error) {
		key := "exchange/" + o.OrgID + "/" + time.Now().UTC().Format("2006/01") + "/" + randomToken()
		obj, err := s.opt.Blobs.Put(ctx, key, r, storage.PutOptions{ContentType: contentType})
		if err == nil {
			keys = append(keys, key)
		}
		return obj, err
	}
	done := false
	defer func() {
		if !done { // a duplicate, or a failure: what was stored is not referenced
			for _, k := range keys {
				s.opt.Blobs.Delete(context.WithoutCancel(ctx), k)
			}
		}
	}()
	var stored []StoredFile
	var heads [][]byte
	msg, decodeErr := edxml.Decode(tmp, edxml.DecodeOptions{
		Limits: edxml.Limits{MaxBytes: s.opt.MaxPackage, MaxAttachmentSize: s.opt.MaxPackage},
		Attachment: func(a *edxml.Attachment, content io.Reader) error {
			hr := &headReader{r: content}
			obj, err := put(hr, contentTypeOr(a.ContentType))
			if err != nil {
				return err
			}
			stored = append(stored, StoredFile{BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size})
			heads = append(heads, hr.head)
			return nil
		},
	})
	if tooLarge && decodeErr == nil {
		decodeErr = fmt.Errorf("the package is larger than %d bytes", s.opt.MaxPackage)
	}
	var de *edxml.Error
	if decodeErr != nil && !errors.As(decodeErr, &de) {
		return decodeErr // our own failure (storage): try again later
	}
	if decodeErr == nil && msg.Status != nil {
		if err := s.recordStatus(ctx, o, r, msg.Status); err != nil {
			return err
		}
		return s.ack(ctx, o.OrganId, r.ID)
	}
	// Keep the package itself: the clerk sees what came, malformed or not.
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	pkgObj, err := put(io.LimitReader(tmp, s.opt.MaxPackage), "application/xml")
	if err != nil {
		return err
	}
	it := &InboxItem{OrgID: o.OrgID, OrganId: o.OrganId, FromOrgan: r.From, TransportID: r.ID, PackageBlob: pkgObj.Key, State: InboxPending}
	if decodeErr != nil {
		it.State, it.Problem = InboxInvalid, "gói tin không hợp lệ (malformed package): "+decodeErr.Error()
		it.DedupeKey = "transport|" + o.OrgID + "|" + r.From + "|" + r.ID
		it.EdxmlDocumentId = r.DocumentId
	} else {
		s.describe(ctx, it, o, msg.Package, stored, heads, put)
	}
	inserted := false
	err = s.db.WithTx(ctx, func(tx T) error {
		if it.BusinessType == int(edxml.DocRecall) && it.State != InboxInvalid {
			var err error
			inserted, err = s.recallRequested(ctx, tx, it)
			return err
		}
		if it.ReplacesID == "" && it.State != InboxInvalid && it.BusinessType >= int(edxml.DocUpdate) {
			var hdr edxml.Header
			_ = jsonUnmarshal(it.HeaderJSON, &hdr)
			if b := hdr.TraceHeaderList.Bussiness; b != nil {
				old := b.DocumentId
				if len(b.ReplacementInfoList) > 0 {
					old = b.ReplacementInfoList[0].DocumentId
				}
				for _, t := range []int{0, 2, 3} {
					if prev, err := tx.InboxItemByEdxml(ctx, o.OrgID, it.FromOrgan, old, t); err == nil {
						it.ReplacesID = prev.ID
						break
					}
				}
			}
		}
		var err error
		if inserted, err = tx.InsertInboxItem(ctx, it); err != nil || !inserted {
			return err
		}
		if it.State == InboxInvalid {
			return auditEntry(ctx, tx, systemActor, "", "exchange.received_invalid", "organization", o.OrgID, s.now(),
				map[string]any{"item": it.ID, "from": it.FromOrgan, "problem": it.Problem})
		}
		if err := queueStatus(ctx, tx, it, edxml.StatusArrived, edxml.StatusArrived.Name(), "", "", s.now()); err != nil {
			return err
		}
		return auditEntry(ctx, tx, systemActor, "", "exchange.received", "organization", o.OrgID, s.now(),
			map[string]any{"item": it.ID, "from": it.FromOrgan, "document_id": it.EdxmlDocumentId, "indication": it.Indication})
	})
	if err != nil {
		return err
	}
	if inserted {
		done = true
		s.Kick()
	}
	return s.ack(ctx, o.OrganId, r.ID)
}

func (s *Service[T]) ack(ctx context.Context, organ, id string) error {
	err := s.opt.Transport.Ack(ctx, organ, id)
	if exchange.KindOf(err) == exchange.KindNotFound {
		return nil
	}
	return err
}

type headReader struct {
	r    io.Reader
	head []byte
}

func (h *headReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if len(h.head) < 8 {
		h.head = append(h.head, p[:min(n, 8-len(h.head))]...)
	}
	return n, err
}

func contentTypeOr(ct string) string {
	if ct == "" || strings.ContainsAny(ct, "\r\n") || len(ct) > 200 {
		return "application/octet-stream"
	}
	return ct
}

// describe fills a received package's fields: who sent it, the document's
// metadata, its PDF (the first PDF attachment, or the first PDF inside a
// ZIP one) with the signatures verified, and the other attachments.
func (s *Service[T]) describe(ctx context.Context, it *InboxItem, o OrgOrgan, p *edxml.Package, stored []StoredFile, heads [][]byte,
	put func(io.Reader, string) (storage.Object, error)) {
	m := p.Header.MessageHeader
	it.FromOrgan, it.FromName = m.From.OrganId, m.From.OrganName
	if it.FromName == "" {
		it.FromName = m.From.OrganizationInCharge
	}
	if it.FromName == "" {
		it.FromName = m.From.OrganId
	}
	it.EdxmlDocumentId, it.Subject = m.DocumentId, m.Subject
	if m.Code.CodeNumber != "" {
		it.Symbol = m.Code.CodeNumber + "/" + m.Code.CodeNotation
	} else {
		it.Symbol = m.Code.CodeNotation
	}
	it.BusinessType = int(p.BussinessDocType())
	it.DedupeKey = "package|" + o.OrgID + "|" + it.FromOrgan + "|" + it.EdxmlDocumentId + "|" + strconv.Itoa(it.BusinessType)
	if b, err := json.Marshal(p.Header); err == nil && len(b) < 1<<20 {
		it.HeaderJSON = string(b)
	}
	addressed := false
	for _, t := range m.To {
		addressed = addressed || t.OrganId == o.OrganId
	}
	if !addressed {
		it.State, it.Problem = InboxInvalid, "gói tin không gửi cho "+o.OrganId+" (the package is not addressed to this organization)"
		return
	}
	if it.BusinessType == int(edxml.DocRecall) {
		return
	}
	for i, f := range stored {
		a := p.Attachments[i]
		f.Name, f.ContentType = a.AttachmentName, contentTypeOr(a.ContentType)
		isPDF := strings.EqualFold(path.Ext(a.AttachmentName), ".pdf") || a.ContentType == "application/pdf" || (len(heads[i]) >= 5 && string(heads[i][:5]) == "%PDF-")
		switch {
		case it.PDF.BlobKey == "" && isPDF:
			it.PDF = f
		case edxml.IsZip(heads[i]):
			inner, err := s.unzip(ctx, f, put)
			if err != nil {
				it.Problem = "tệp nén không đọc được (unreadable ZIP attachment " + a.AttachmentName + "): " + err.Error()
				it.Attachments = append(it.Attachments, f)
				continue
			}
			for _, g := range inner {
				if it.PDF.BlobKey == "" && strings.EqualFold(path.Ext(g.Name), ".pdf") {
					it.PDF = g
				} else {
					it.Attachments = append(it.Attachments, g)
				}
			}
		default:
			it.Attachments = append(it.Attachments, f)
		}
	}
	if it.PDF.BlobKey == "" {
		it.State, it.Problem = InboxInvalid, "gói tin không có tệp PDF (the package carries no PDF document)"
		return
	}
	it.PDF.ContentType = "application/pdf"
	if s.opt.Verify == nil {
		return
	}
	ind, rep, err := s.opt.Verify(ctx, it.PDF.BlobKey)
	if err != nil {
		it.Problem = "không kiểm tra được chữ ký số (signatures could not be verified): " + err.Error()
		return
	}
	it.Indication, it.ReportJSON = ind, string(rep)
	if ind != "TOTAL-PASSED" {
		it.Problem = "chữ ký số không hợp lệ hoặc chưa xác định (signature verification: " + ind + ")"
	}
}

// unzip stores the files of a ZIP attachment.
func (s *Service[T]) unzip(ctx context.Context, f StoredFile, put func(io.Reader, string) (storage.Object, error)) ([]StoredFile, error) {
	file, err := s.opt.Blobs.Open(ctx, f.BlobKey)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var out []StoredFile
	err = edxml.Unzip(file, file.Size(), edxml.ZipLimits{MaxBytes: s.opt.MaxPackage}, func(name string, r io.Reader) error {
		ct := "application/octet-stream"
		if strings.EqualFold(path.Ext(name), ".pdf") {
			ct = "application/pdf"
		}
		obj, err := put(r, ct)
		if err != nil {
			return err
		}
		out = append(out, StoredFile{Name: name, ContentType: ct, BlobKey: obj.Key, SHA256: hex.EncodeToString(obj.SHA256), Size: obj.Size})
		return nil
	})
	return out, err
}

// recallRequested handles a recall package: the item it recalls waits for
// the clerk's answer. The recall itself is kept as a notice, so a repeat
// changes nothing.
func (s *Service[T]) recallRequested(ctx context.Context, tx T, it *InboxItem) (bool, error) {
	var hdr edxml.Header
	_ = jsonUnmarshal(it.HeaderJSON, &hdr)
	target := it.EdxmlDocumentId
	reason := ""
	if b := hdr.TraceHeaderList.Bussiness; b != nil {
		if b.DocumentId != "" {
			target = b.DocumentId
		}
		reason = b.BussinessDocReason
	}
	it.State, it.RecallReason = InboxNotice, reason
	orig, err := tx.InboxItemByEdxml(ctx, it.OrgID, it.FromOrgan, target, 0)
	if err != nil {
		if document.ErrorCode(err) != document.ENOTFOUND {
			return false, err
		}
		it.State, it.Problem = InboxInvalid, "yêu cầu thu hồi văn bản chưa nhận (recall of a document never received): "+target
	}
	inserted, err := tx.InsertInboxItem(ctx, it)
	if err != nil || !inserted || orig == nil {
		return inserted, err
	}
	if orig.RecallState != "" {
		return true, nil
	}
	orig.RecallState, orig.RecallReason = RecallRequested, reason
	if err := tx.UpdateInboxItem(ctx, orig); err != nil {
		return false, err
	}
	change := map[string]any{"item": orig.ID, "reason": reason, "from": it.FromOrgan}
	if orig.DocumentID != "" {
		if err := auditEntry(ctx, tx, systemActor, "", "document.exchange_recall_requested", "document", orig.DocumentID, s.now(), change); err != nil {
			return false, err
		}
	}
	return true, auditEntry(ctx, tx, systemActor, "", "exchange.recall_requested", "organization", it.OrgID, s.now(), change)
}

// recordStatus keeps a status a recipient reported on one of our documents
// and writes it to the document's timeline; a repeat changes nothing.
func (s *Service[T]) recordStatus(ctx context.Context, o OrgOrgan, r exchange.Received, st *edxml.Status) error {
	return s.db.WithTx(ctx, func(tx T) error {
		x, err := tx.ExchangeDocumentByEdxml(ctx, o.OrgID, st.ResponseFor.DocumentId)
		if document.ErrorCode(err) == document.ENOTFOUND {
			s.log.Warn("exchange: status for an unknown document", "organ", o.OrganId, "from", st.From.OrganId, "document_id", st.ResponseFor.DocumentId, "code", st.StatusCode)
			return auditEntry(ctx, tx, systemActor, "", "exchange.status_unmatched", "organization", o.OrgID, s.now(),
				map[string]any{"from": st.From.OrganId, "document_id": st.ResponseFor.DocumentId, "code": st.StatusCode})
		}
		if err != nil {
			return err
		}
		at, err := edxml.ParseTimestamp(st.Timestamp)
		if err != nil {
			at = s.now()
		}
		sum := sha256.Sum256([]byte(st.Description + "\x00" + st.StaffInfo.Staff))
		rec := &StatusRecord{OrgID: o.OrgID, DocumentID: x.DocumentID, OrganId: st.From.OrganId, Code: string(st.StatusCode),
			Description: st.Description, Staff: st.StaffInfo.Staff, Department: st.StaffInfo.Department, At: at.UTC(),
			DedupeKey: "status|" + x.DocumentID + "|" + st.From.OrganId + "|" + string(st.StatusCode) + "|" + st.Timestamp + "|" + hex.EncodeToString(sum[:8])}
		inserted, err := tx.InsertExchangeStatus(ctx, rec)
		if err != nil || !inserted {
			return err
		}
		comment := string(st.StatusCode) + " " + st.StatusCode.Name() + " — " + st.From.OrganId
		if st.From.OrganName != "" {
			comment += " (" + st.From.OrganName + ")"
		}
		if st.Description != "" && st.Description != st.StatusCode.Name() {
			comment += ": " + st.Description
		}
		if st.StaffInfo.Staff != "" {
			comment += " — " + st.StaffInfo.Staff
		}
		return auditEntry(ctx, tx, systemActor, "", "document.exchange_status", "document", x.DocumentID, s.now(),
			map[string]any{"comment": comment, "code": st.StatusCode, "organ": st.From.OrganId, "at": at.UTC(), "staff": st.StaffInfo.Staff})
	})
}

// reportProgress sends 04, 05 and 06 for accepted packages whose incoming
// document was assigned, started or completed since the last report.
func (s *Service[T]) reportProgress(ctx context.Context) error {
	var items []*InboxItem
	if err := s.db.WithTx(ctx, func(tx T) error {
		var err error
		items, err = tx.InboxToReport(ctx, 200)
		return err
	}); err != nil {
		return err
	}
	for _, it := range items {
		err := s.db.WithTx(ctx, func(tx T) error {
			it, err := tx.InboxItem(ctx, it.ID)
			if err != nil {
				return err
			}
			d, err := tx.Document(ctx, it.DocumentID)
			if err != nil {
				return err
			}
			name := func(id string) string {
				if u, err := tx.User(ctx, id); err == nil {
					return u.FullName
				}
				return ""
			}
			unitName := func(id string) string {
				if u, err := tx.Unit(ctx, id); err == nil {
					return u.Name
				}
				return ""
			}
			target := map[document.State]string{document.StateAssigned: "04", document.StateInProgress: "05",
				document.StateCompleted: "06", document.StateArchived: "06"}[d.State]
			now := s.now()
			for _, code := range []string{"04", "05", "06"} {
				if code <= it.Reported || code > target {
					continue
				}
				var desc, staff, dept string
				switch code {
				case "04":
					desc = "Phân công xử lý: " + name(d.HandlerID) + ", " + unitName(d.HandlingUnitID)
					if !d.Deadline.IsZero() {
						desc += ", hạn " + d.Deadline.In(document.VietnamTime).Format("02/01/2006")
					}
					staff, dept = name(d.LeaderID), unitName(d.UnitID)
				case "05":
					desc, staff, dept = "Đang xử lý", name(d.HandlerID), unitName(d.HandlingUnitID)
				case "06":
					desc, staff, dept = "Hoàn thành xử lý", name(d.HandlerID), unitName(d.HandlingUnitID)
				}
				if err := queueStatus(ctx, tx, it, edxml.StatusCode(code), desc, staff, dept, now); err != nil {
					return err
				}
			}
			it.Reported = target
			return tx.UpdateInboxItem(ctx, it)
		})
		if err != nil {
			s.log.Error("exchange: reporting progress", "item", it.ID, "err", err)
		}
	}
	if len(items) > 0 {
		s.Kick()
	}
	return nil
}

// Queue lists the organization's received packages waiting for the clerk:
// "chờ tiếp nhận", the malformed or unverifiable ones with their reason,
// and accepted ones whose sender asks to recall them. The clerks of the
// organization see it.
func (s *Service[T]) Queue(ctx context.Context, a workflow.Actor, orgID string) ([]*InboxItem, error) {
	var out []*InboxItem
	err := s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := requireOrgRole(ctx, tx, w, orgID, document.RoleClerk, "the exchange queue"); err != nil {
			return err
		}
		items, err := tx.InboxItems(ctx, orgID, []string{InboxPending, InboxAccepting, InboxInvalid, InboxAccepted}, 500)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.State != InboxAccepted || it.RecallState == RecallRequested {
				out = append(out, it)
			}
		}
		return nil
	})
	return out, err
}

// History lists the organization's received packages, all states, newest first.
func (s *Service[T]) History(ctx context.Context, a workflow.Actor, orgID string, limit int) ([]*InboxItem, error) {
	var out []*InboxItem
	err := s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := requireOrgRole(ctx, tx, w, orgID, document.RoleClerk, "the exchange history"); err != nil {
			return err
		}
		out, err = tx.InboxItems(ctx, orgID, nil, limit)
		return err
	})
	return out, err
}

// Item returns one received package to a clerk of its organization.
func (s *Service[T]) Item(ctx context.Context, a workflow.Actor, id string) (*InboxItem, error) {
	var out *InboxItem
	err := s.db.WithTx(ctx, func(tx T) error {
		var err error
		out, _, err = s.clerkItem(ctx, tx, a, id)
		return err
	})
	return out, err
}

func (s *Service[T]) clerkItem(ctx context.Context, tx T, a workflow.Actor, id string) (*InboxItem, who, error) {
	w, err := loadUser(ctx, tx, a)
	if err != nil {
		return nil, who{}, err
	}
	it, err := tx.InboxItem(ctx, id)
	if err != nil {
		return nil, who{}, err
	}
	if it.OrgID != w.user.OrgID {
		return nil, who{}, document.Errorf(document.ENOTFOUND, "received package %s not found", id)
	}
	if err := requireOrgRole(ctx, tx, w, it.OrgID, document.RoleClerk, "handling received packages"); err != nil {
		return nil, who{}, err
	}
	return it, w, nil
}

var typeCodes = map[string]string{
	"nghị quyết": "nghi-quyet", "quyết định": "quyet-dinh", "chỉ thị": "chi-thi", "quy chế": "quy-che", "quy định": "quy-dinh",
	"thông cáo": "thong-cao", "thông báo": "thong-bao", "hướng dẫn": "huong-dan", "chương trình": "chuong-trinh",
	"kế hoạch": "ke-hoach", "phương án": "phuong-an", "đề án": "de-an", "dự án": "du-an", "báo cáo": "bao-cao",
	"biên bản": "bien-ban", "tờ trình": "to-trinh", "hợp đồng": "hop-dong", "công điện": "cong-dien", "giấy mời": "giay-moi",
	"giấy giới thiệu": "giay-gioi-thieu", "công văn": "cong-van",
}

var urgencies = map[string]document.Urgency{"1": document.UrgencyUrgent, "2": document.UrgencyVery, "3": document.UrgencyFlash, "4": document.UrgencyFlash}

// Accept registers a received package as an incoming document (with its
// arrival number, through the workflow's RegisterIncoming) and sends 03.
// A clerk of the organization does it.
func (s *Service[T]) Accept(ctx context.Context, a workflow.Actor, id string) (*document.Document, error) {
	var it *InboxItem
	var adopt *document.Document
	err := s.db.WithTx(ctx, func(tx T) error {
		var err error
		if it, _, err = s.clerkItem(ctx, tx, a, id); err != nil {
			return err
		}
		switch it.State {
		case InboxPending:
		case InboxAccepting:
			// A previous Accept died between registering and recording it:
			// find the document it registered rather than register twice.
			dups, err := tx.IncomingDuplicates(ctx, it.OrgID, it.FromName, it.Symbol)
			if err != nil {
				return err
			}
			for _, d := range dups {
				if v, err := tx.LatestVersion(ctx, d.ID); err == nil && v.SHA256 == it.PDF.SHA256 && !d.CreatedAt.Before(it.DecidedAt) {
					adopt = d
				}
			}
		case InboxInvalid:
			return document.Errorf(document.ECONFLICT, "a malformed package cannot be accepted: %s", it.Problem)
		default:
			return document.Errorf(document.ECONFLICT, "the package is already %s", it.State)
		}
		if it.PDF.BlobKey == "" {
			return document.Errorf(document.ECONFLICT, "the package carries no PDF")
		}
		it.State, it.DecidedAt, it.DecidedBy = InboxAccepting, s.now(), a.UserID
		return tx.UpdateInboxItem(ctx, it)
	})
	if err != nil {
		return nil, err
	}
	doc := adopt
	if doc == nil {
		var hdr edxml.Header
		_ = jsonUnmarshal(it.HeaderJSON, &hdr)
		m := hdr.MessageHeader
		code := typeCodes[strings.ToLower(strings.TrimSpace(m.DocumentType.TypeName))]
		if code == "" {
			code = "cong-van"
		}
		var senderDate time.Time
		if t, err := edxml.ParseTimestamp(m.PromulgationInfo.PromulgationDate); err == nil {
			senderDate = t
		}
		subject := it.Subject
		if strings.TrimSpace(subject) == "" {
			subject = "(không có trích yếu) " + it.EdxmlDocumentId
		}
		if len(subject) > 2000 {
			subject = subject[:2000]
		}
		doc, _, err = s.opt.Incoming.RegisterIncoming(ctx, a, workflow.IncomingInput{
			UnitID: it.OrgID, TypeCode: code, Subject: subject, Urgency: urgencies[m.OtherInfo.Priority],
			SenderName: it.FromName, SenderSymbol: it.Symbol, SenderDate: senderDate,
			File: workflow.File{BlobKey: it.PDF.BlobKey, SHA256: it.PDF.SHA256, Size: it.PDF.Size},
		})
		if err != nil {
			// Nothing was registered: back to the queue.
			s.db.WithTx(ctx, func(tx T) error {
				it.State, it.DecidedAt, it.DecidedBy = InboxPending, time.Time{}, ""
				return tx.UpdateInboxItem(ctx, it)
			})
			return nil, err
		}
	}
	err = s.db.WithTx(ctx, func(tx T) error {
		w, err := loadUser(ctx, tx, a)
		if err != nil {
			return err
		}
		now := s.now()
		it.State, it.DocumentID, it.Reported = InboxAccepted, doc.ID, "03"
		if err := tx.UpdateInboxItem(ctx, it); err != nil {
			return err
		}
		for _, f := range it.Attachments {
			if err := tx.AddAttachment(ctx, &document.Attachment{DocumentID: doc.ID, Name: f.Name, ContentType: f.ContentType,
				BlobKey: f.BlobKey, SHA256: f.SHA256, Size: f.Size, CreatedBy: w.user.ID}); err != nil {
				return err
			}
		}
		unit := ""
		if u, err := tx.Unit(ctx, it.OrgID); err == nil {
			unit = u.Name
		}
		desc := fmt.Sprintf("Đã tiếp nhận, số đến %s", document.FormatNumber(doc.Number))
		if err := queueStatus(ctx, tx, it, edxml.StatusAccepted, desc, w.user.FullName, unit, now); err != nil {
			return err
		}
		change := map[string]any{"from": it.FromOrgan, "document_id": it.EdxmlDocumentId, "indication": it.Indication, "item": it.ID}
		if it.ReplacesID != "" {
			if prev, err := tx.InboxItem(ctx, it.ReplacesID); err == nil {
				change["replaces_item"], change["replaces_document"], change["business_type"] = prev.ID, prev.DocumentID, it.BusinessType
			}
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "document.exchange_accepted", "document", doc.ID, now, change)
	})
	if err != nil {
		return nil, err
	}
	if it.ReportJSON != "" && s.opt.SaveReport != nil {
		if err := s.opt.SaveReport(ctx, doc.ID, 1, it.Indication, []byte(it.ReportJSON)); err != nil {
			s.log.Error("exchange: keeping the validation report", "document", doc.ID, "err", err)
		}
	}
	s.Kick()
	return doc, nil
}

// Refuse refuses a received package with a reason and sends 02.
func (s *Service[T]) Refuse(ctx context.Context, a workflow.Actor, id, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return document.Errorf(document.EINVALID, "refusing needs a reason (at most 2000 bytes)")
	}
	err := s.db.WithTx(ctx, func(tx T) error {
		it, w, err := s.clerkItem(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if it.State != InboxPending && it.State != InboxInvalid {
			return document.Errorf(document.ECONFLICT, "the package is already %s", it.State)
		}
		now := s.now()
		wasInvalid := it.State == InboxInvalid
		it.State, it.Reason, it.DecidedAt, it.DecidedBy = InboxRefused, reason, now, w.user.ID
		if err := tx.UpdateInboxItem(ctx, it); err != nil {
			return err
		}
		if !wasInvalid || it.EdxmlDocumentId != "" {
			if err := queueStatus(ctx, tx, it, edxml.StatusRefused, reason, w.user.FullName, "", now); err != nil {
				return err
			}
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "exchange.refused", "organization", it.OrgID, now,
			map[string]any{"item": it.ID, "from": it.FromOrgan, "document_id": it.EdxmlDocumentId, "reason": reason})
	})
	if err == nil {
		s.Kick()
	}
	return err
}

// AgreeRecall agrees to the sender's recall of a received package (15):
// the copy leaves every queue and is marked recalled, and its content is
// removed (Decree 30/2020: recipients delete a recalled electronic
// document), while its record stays in the audit log. The blobs go only
// when nothing else uses them (content-addressed storage may share them
// with the sender's own copy in the same installation).
func (s *Service[T]) AgreeRecall(ctx context.Context, a workflow.Actor, id string) error {
	var remove []string
	err := s.db.WithTx(ctx, func(tx T) error {
		it, w, err := s.clerkItem(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if it.RecallState != RecallRequested {
			return document.Errorf(document.ECONFLICT, "no recall of this package is pending")
		}
		now := s.now()
		keys := []string{it.PDF.BlobKey, it.PackageBlob}
		for _, f := range it.Attachments {
			keys = append(keys, f.BlobKey)
		}
		if it.DocumentID != "" {
			d, err := tx.Document(ctx, it.DocumentID)
			if err != nil {
				return err
			}
			vs, err := tx.Versions(ctx, d.ID)
			if err != nil {
				return err
			}
			for _, v := range vs {
				keys = append(keys, v.BlobKey)
			}
			d.State = document.StateWithdrawn
			if err := tx.UpdateDocument(ctx, d); err != nil {
				return err
			}
			if err := auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "document.exchange_recalled", "document", d.ID, now,
				map[string]any{"reason": it.RecallReason, "from": it.FromOrgan, "to": document.StateWithdrawn, "content_removed": true}); err != nil {
				return err
			}
		}
		it.RecallState, it.State, it.DecidedAt, it.DecidedBy = RecallAgreed, InboxRecalled, now, w.user.ID
		it.PDF, it.Attachments, it.PackageBlob = StoredFile{}, nil, ""
		if err := tx.UpdateInboxItem(ctx, it); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			used, err := tx.BlobUsedElsewhere(ctx, k, it.DocumentID, it.ID)
			if err != nil {
				return err
			}
			if !used {
				remove = append(remove, k)
			}
		}
		if err := queueStatus(ctx, tx, it, edxml.StatusRecallAgreed, "Đồng ý thu hồi; văn bản đã được gỡ bỏ", w.user.FullName, "", now); err != nil {
			return err
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "exchange.recall_agreed", "organization", it.OrgID, now,
			map[string]any{"item": it.ID, "from": it.FromOrgan, "document_id": it.EdxmlDocumentId, "document": it.DocumentID, "reason": it.RecallReason})
	})
	if err != nil {
		return err
	}
	for _, k := range remove {
		if err := s.opt.Blobs.Delete(ctx, k); err != nil && !errors.Is(err, os.ErrNotExist) {
			// Retention (Object Lock) may forbid it; the record says so.
			s.log.Warn("exchange: removing recalled content", "blob", k, "err", err)
		}
	}
	s.Kick()
	return nil
}

// RefuseRecall refuses the sender's recall (16) with a reason; the copy stays.
func (s *Service[T]) RefuseRecall(ctx context.Context, a workflow.Actor, id, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return document.Errorf(document.EINVALID, "refusing a recall needs a reason (at most 2000 bytes)")
	}
	err := s.db.WithTx(ctx, func(tx T) error {
		it, w, err := s.clerkItem(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if it.RecallState != RecallRequested {
			return document.Errorf(document.ECONFLICT, "no recall of this package is pending")
		}
		now := s.now()
		it.RecallState = RecallRefused
		if err := tx.UpdateInboxItem(ctx, it); err != nil {
			return err
		}
		if err := queueStatus(ctx, tx, it, edxml.StatusRecallRefused, reason, w.user.FullName, "", now); err != nil {
			return err
		}
		if it.DocumentID != "" {
			if err := auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "document.exchange_recall_refused", "document", it.DocumentID, now,
				map[string]any{"reason": reason}); err != nil {
				return err
			}
		}
		return auditEntry(ctx, tx, w.user.ID, a.ClientAddr, "exchange.recall_refused", "organization", it.OrgID, now,
			map[string]any{"item": it.ID, "reason": reason})
	})
	if err == nil {
		s.Kick()
	}
	return err
}
