package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"vanban/internal/document"
	"vanban/internal/interchange"
)

// This file keeps the document interconnection's data (migration 0600):
// organizations' identifier codes, the agency directory, external
// recipients, the exchange outbox, the received packages and the statuses
// recipients report.

// OrganId returns an organization's identifier code. Returns ENOTFOUND.
func (tx *Tx) OrganId(ctx context.Context, orgID string) (string, error) {
	var id string
	err := tx.get(ctx, &id, `SELECT organ_id FROM exchange_organs WHERE org_id = ?`, orgID)
	return id, dbError("organ id", err, "identifier code of organization "+orgID)
}

// SetOrganId sets an organization's identifier code. Returns ECONFLICT when
// another organization has it.
func (tx *Tx) SetOrganId(ctx context.Context, orgID, organ string) error {
	_, err := tx.exec(ctx, `INSERT INTO exchange_organs (org_id, organ_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (org_id) DO UPDATE SET organ_id = excluded.organ_id, updated_at = excluded.updated_at`,
		orgID, organ, micros(now()))
	return dbError("set organ id", err, "identifier code "+organ)
}

// OrgOfOrgan returns the organization with identifier code organ. Returns ENOTFOUND.
func (tx *Tx) OrgOfOrgan(ctx context.Context, organ string) (string, error) {
	var id string
	err := tx.get(ctx, &id, `SELECT org_id FROM exchange_organs WHERE organ_id = ?`, organ)
	return id, dbError("organization of organ", err, "organization with identifier code "+organ)
}

// ExchangeOrgans lists every organization that has an identifier code.
func (tx *Tx) ExchangeOrgans(ctx context.Context) ([]interchange.OrgOrgan, error) {
	var rows []struct {
		OrgID   string `db:"org_id"`
		OrganId string `db:"organ_id"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT org_id, organ_id FROM exchange_organs ORDER BY organ_id`); err != nil {
		return nil, dbError("exchange organs", err, "identifier codes")
	}
	out := make([]interchange.OrgOrgan, len(rows))
	for i, r := range rows {
		out[i] = interchange.OrgOrgan{OrgID: r.OrgID, OrganId: r.OrganId}
	}
	return out, nil
}

type agencyRow struct {
	OrgID     string `db:"org_id"`
	OrganId   string `db:"organ_id"`
	Name      string `db:"name"`
	ParentId  string `db:"parent_id"`
	Email     string `db:"email"`
	Phone     string `db:"phone"`
	Address   string `db:"address"`
	Edited    int    `db:"edited"`
	UpdatedAt int64  `db:"updated_at"`
}

func (r agencyRow) domain() interchange.Agency {
	return interchange.Agency{OrgID: r.OrgID, OrganId: r.OrganId, Name: r.Name, ParentId: r.ParentId, Email: r.Email,
		Phone: r.Phone, Address: r.Address, Edited: r.Edited != 0, UpdatedAt: fromMicros(r.UpdatedAt)}
}

const agencyColumns = `org_id, organ_id, name, parent_id, email, phone, address, edited, updated_at`

// Agencies lists an organization's directory, by identifier code.
func (tx *Tx) Agencies(ctx context.Context, orgID string) ([]interchange.Agency, error) {
	var rows []agencyRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+agencyColumns+` FROM exchange_agencies WHERE org_id = ? ORDER BY organ_id`, orgID); err != nil {
		return nil, dbError("agencies", err, "agencies")
	}
	out := make([]interchange.Agency, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Agency returns one directory entry. Returns ENOTFOUND.
func (tx *Tx) Agency(ctx context.Context, orgID, organ string) (interchange.Agency, error) {
	var r agencyRow
	err := tx.get(ctx, &r, `SELECT `+agencyColumns+` FROM exchange_agencies WHERE org_id = ? AND organ_id = ?`, orgID, organ)
	return r.domain(), dbError("agency", err, "agency "+organ)
}

// PutAgency writes a directory entry. An imported entry (a.Edited false)
// does not overwrite one an administrator edited; it reports whether a
// row was written.
func (tx *Tx) PutAgency(ctx context.Context, a interchange.Agency) (bool, error) {
	edited := 0
	cond := ` WHERE exchange_agencies.edited = 0`
	if a.Edited {
		edited, cond = 1, ""
	}
	res, err := tx.exec(ctx, `INSERT INTO exchange_agencies (`+agencyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, organ_id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
		email = excluded.email, phone = excluded.phone, address = excluded.address, edited = excluded.edited,
		updated_at = excluded.updated_at`+cond,
		a.OrgID, a.OrganId, a.Name, a.ParentId, a.Email, a.Phone, a.Address, edited, micros(now()))
	if err != nil {
		return false, dbError("put agency", err, "agency "+a.OrganId)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteAgency removes a directory entry. Returns ENOTFOUND.
func (tx *Tx) DeleteAgency(ctx context.Context, orgID, organ string) error {
	res, err := tx.exec(ctx, `DELETE FROM exchange_agencies WHERE org_id = ? AND organ_id = ?`, orgID, organ)
	if err != nil {
		return dbError("delete agency", err, "agency")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return document.Errorf(document.ENOTFOUND, "agency %s not found", organ)
	}
	return nil
}

// SetExchangeRecipients replaces a document's external recipients.
func (tx *Tx) SetExchangeRecipients(ctx context.Context, documentID string, rs []interchange.Recipient) error {
	if _, err := tx.exec(ctx, `DELETE FROM exchange_recipients WHERE document_id = ?`, documentID); err != nil {
		return dbError("set exchange recipients", err, "recipients")
	}
	for _, r := range rs {
		if _, err := tx.exec(ctx, `INSERT INTO exchange_recipients (document_id, organ_id, name) VALUES (?, ?, ?)`,
			documentID, r.OrganId, r.Name); err != nil {
			return dbError("set exchange recipients", err, "recipient "+r.OrganId)
		}
	}
	return nil
}

// ExchangeRecipients lists a document's external recipients.
func (tx *Tx) ExchangeRecipients(ctx context.Context, documentID string) ([]interchange.Recipient, error) {
	var rows []struct {
		DocumentID string `db:"document_id"`
		OrganId    string `db:"organ_id"`
		Name       string `db:"name"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT document_id, organ_id, name FROM exchange_recipients WHERE document_id = ? ORDER BY organ_id`, documentID); err != nil {
		return nil, dbError("exchange recipients", err, "recipients")
	}
	out := make([]interchange.Recipient, len(rows))
	for i, r := range rows {
		out[i] = interchange.Recipient{DocumentID: r.DocumentID, OrganId: r.OrganId, Name: r.Name}
	}
	return out, nil
}

type exchangeDocumentRow struct {
	DocumentID         string        `db:"document_id"`
	OrgID              string        `db:"org_id"`
	EdxmlDocumentId    string        `db:"edxml_document_id"`
	BusinessType       int           `db:"business_type"`
	ReplacesDocumentID string        `db:"replaces_document_id"`
	Reason             string        `db:"reason"`
	QueuedAt           sql.NullInt64 `db:"queued_at"`
	RecallReason       string        `db:"recall_reason"`
	RecalledAt         sql.NullInt64 `db:"recalled_at"`
}

const exchangeDocumentColumns = `document_id, org_id, edxml_document_id, business_type, replaces_document_id, reason, queued_at, recall_reason, recalled_at`

func (r exchangeDocumentRow) domain() *interchange.DocumentExchange {
	return &interchange.DocumentExchange{DocumentID: r.DocumentID, OrgID: r.OrgID, EdxmlDocumentId: r.EdxmlDocumentId,
		BusinessType: r.BusinessType, ReplacesDocumentID: r.ReplacesDocumentID, Reason: r.Reason,
		QueuedAt: fromNullMicros(r.QueuedAt), RecallReason: r.RecallReason, RecalledAt: fromNullMicros(r.RecalledAt)}
}

// ExchangeDocument returns what the exchange knows of an outgoing document. Returns ENOTFOUND.
func (tx *Tx) ExchangeDocument(ctx context.Context, documentID string) (*interchange.DocumentExchange, error) {
	var r exchangeDocumentRow
	if err := tx.get(ctx, &r, `SELECT `+exchangeDocumentColumns+` FROM exchange_documents WHERE document_id = ?`, documentID); err != nil {
		return nil, dbError("exchange document", err, "exchange record of document "+documentID)
	}
	return r.domain(), nil
}

// ExchangeDocumentByEdxml finds an organization's outgoing document by its
// edXML DocumentId. Returns ENOTFOUND.
func (tx *Tx) ExchangeDocumentByEdxml(ctx context.Context, orgID, edxmlID string) (*interchange.DocumentExchange, error) {
	var r exchangeDocumentRow
	if err := tx.get(ctx, &r, `SELECT `+exchangeDocumentColumns+` FROM exchange_documents WHERE org_id = ? AND edxml_document_id = ?`, orgID, edxmlID); err != nil {
		return nil, dbError("exchange document", err, "document "+edxmlID)
	}
	return r.domain(), nil
}

// PutExchangeDocument writes the exchange record of an outgoing document.
func (tx *Tx) PutExchangeDocument(ctx context.Context, d *interchange.DocumentExchange) error {
	_, err := tx.exec(ctx, `INSERT INTO exchange_documents (`+exchangeDocumentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (document_id) DO UPDATE SET edxml_document_id = excluded.edxml_document_id,
		business_type = excluded.business_type, replaces_document_id = excluded.replaces_document_id,
		reason = excluded.reason, queued_at = excluded.queued_at, recall_reason = excluded.recall_reason,
		recalled_at = excluded.recalled_at`,
		d.DocumentID, d.OrgID, d.EdxmlDocumentId, d.BusinessType, d.ReplacesDocumentID, d.Reason,
		nullMicros(d.QueuedAt), d.RecallReason, nullMicros(d.RecalledAt))
	return dbError("put exchange document", err, "exchange record")
}

// DocumentsToQueue lists issued (or archived) documents that have external
// recipients and whose packages were not queued yet.
func (tx *Tx) DocumentsToQueue(ctx context.Context, limit int) ([]string, error) {
	var ids []string
	err := tx.selectRows(ctx, &ids, `SELECT d.id FROM documents d
		WHERE d.direction = 'out' AND d.state IN ('issued', 'archived')
		AND EXISTS (SELECT 1 FROM exchange_recipients r WHERE r.document_id = d.id)
		AND NOT EXISTS (SELECT 1 FROM exchange_documents x WHERE x.document_id = d.id AND x.queued_at IS NOT NULL)
		ORDER BY d.issued_at, d.id LIMIT ?`, limit)
	return ids, dbError("documents to queue", err, "documents")
}

type outboxRow struct {
	ID            string        `db:"id"`
	OrgID         string        `db:"org_id"`
	Kind          string        `db:"kind"`
	FromOrgan     string        `db:"from_organ"`
	ToOrgan       string        `db:"to_organ"`
	DocumentID    string        `db:"document_id"`
	BusinessType  int           `db:"business_type"`
	Reason        string        `db:"reason"`
	Body          string        `db:"body"`
	DedupeKey     string        `db:"dedupe_key"`
	State         string        `db:"state"`
	Attempts      int           `db:"attempts"`
	NextAttemptAt int64         `db:"next_attempt_at"`
	LastError     string        `db:"last_error"`
	TransportID   string        `db:"transport_id"`
	CreatedAt     int64         `db:"created_at"`
	SentAt        sql.NullInt64 `db:"sent_at"`
}

const outboxColumns = `id, org_id, kind, from_organ, to_organ, document_id, business_type, reason, body, dedupe_key, state,
	attempts, next_attempt_at, last_error, transport_id, created_at, sent_at`

func (r outboxRow) domain() *interchange.OutboxMessage {
	return &interchange.OutboxMessage{ID: r.ID, OrgID: r.OrgID, Kind: r.Kind, FromOrgan: r.FromOrgan, ToOrgan: r.ToOrgan,
		DocumentID: r.DocumentID, BusinessType: r.BusinessType, Reason: r.Reason, Body: r.Body, DedupeKey: r.DedupeKey,
		State: r.State, Attempts: r.Attempts, NextAttemptAt: fromMicros(r.NextAttemptAt),
		LastError: r.LastError, TransportID: r.TransportID, CreatedAt: fromMicros(r.CreatedAt), SentAt: fromNullMicros(r.SentAt)}
}

// EnqueueExchange queues a message; one with the same DedupeKey already
// queued makes it a no-op (inserted false).
func (tx *Tx) EnqueueExchange(ctx context.Context, m *interchange.OutboxMessage) (bool, error) {
	m.ID, m.State, m.CreatedAt = newID(), interchange.OutboxPending, now()
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	res, err := tx.exec(ctx, `INSERT INTO exchange_outbox (`+outboxColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '', '', ?, NULL) ON CONFLICT (dedupe_key) DO NOTHING`,
		m.ID, m.OrgID, m.Kind, m.FromOrgan, m.ToOrgan, m.DocumentID, m.BusinessType, m.Reason, m.Body, m.DedupeKey, m.State,
		micros(m.NextAttemptAt), micros(m.CreatedAt))
	if err != nil {
		return false, dbError("enqueue exchange", err, "exchange message")
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if err := tx.NotifyWork(ctx, LeaseExchange); err != nil {
			return false, err
		}
	}
	return n > 0, nil
}

// ClaimExchangeOutbox takes up to limit due messages for one attempt each,
// leased (lease.go, kind LeaseExchange) to token for lease, so a worker
// that dies leaves them to be retried once the lease expires; attempts
// grows.
func (tx *Tx) ClaimExchangeOutbox(ctx context.Context, t time.Time, lease time.Duration, limit int, token string) ([]*interchange.OutboxMessage, error) {
	free, fargs := leaseFree(LeaseExchange, "o.id", "", t)
	var rows []outboxRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+qualifySigningColumns("o.", outboxColumns)+` FROM exchange_outbox o
		WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND `+free+` ORDER BY o.next_attempt_at, o.id LIMIT ?`+
		tx.dialect.lockSkipLocked("o"), append(append([]any{micros(t)}, fargs...), limit)...); err != nil {
		return nil, dbError("claim exchange outbox", err, "outbox")
	}
	held, err := claimRows(ctx, tx, LeaseExchange, token, len(rows), func(i int) string { return rows[i].ID }, t, lease)
	if err != nil {
		return nil, err
	}
	var out []*interchange.OutboxMessage
	for _, r := range rows {
		if !held[r.ID] {
			continue
		}
		if _, err := tx.exec(ctx, `UPDATE exchange_outbox SET attempts = attempts + 1 WHERE id = ?`, r.ID); err != nil {
			return nil, dbError("claim exchange outbox", err, "outbox")
		}
		r.Attempts++
		m := r.domain()
		m.ClaimToken = token
		out = append(out, m)
	}
	return out, nil
}

// FinishExchangeOutbox records an attempt's outcome for a message still
// claimed with token: sent, dead, or pending again at next.
func (tx *Tx) FinishExchangeOutbox(ctx context.Context, id, token, state, transportID, lastError string, next time.Time) error {
	var sent sql.NullInt64
	if state == interchange.OutboxSent {
		sent = nullMicros(now())
	}
	if len(lastError) > 2000 {
		lastError = lastError[:2000]
	}
	_, err := tx.exec(ctx, `UPDATE exchange_outbox SET state = ?, transport_id = ?, last_error = ?, next_attempt_at = ?,
		sent_at = ? WHERE id = ? AND `+leaseHeld(LeaseExchange, "exchange_outbox.id"),
		state, transportID, lastError, micros(next), sent, id, token)
	if err != nil {
		return dbError("finish exchange outbox", err, "outbox message")
	}
	return tx.ReleaseLeases(ctx, LeaseExchange, token, id)
}

// ExchangeOutboxFor lists the messages queued for an outgoing document.
func (tx *Tx) ExchangeOutboxFor(ctx context.Context, documentID string) ([]*interchange.OutboxMessage, error) {
	var rows []outboxRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+outboxColumns+` FROM exchange_outbox WHERE document_id = ? ORDER BY created_at, id`, documentID); err != nil {
		return nil, dbError("exchange outbox", err, "outbox")
	}
	out := make([]*interchange.OutboxMessage, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

type inboxRow struct {
	ID              string        `db:"id"`
	OrgID           string        `db:"org_id"`
	OrganId         string        `db:"organ_id"`
	FromOrgan       string        `db:"from_organ"`
	FromName        string        `db:"from_name"`
	EdxmlDocumentId string        `db:"edxml_document_id"`
	BusinessType    int           `db:"business_type"`
	TransportID     string        `db:"transport_id"`
	DedupeKey       string        `db:"dedupe_key"`
	State           string        `db:"state"`
	Problem         string        `db:"problem"`
	Subject         string        `db:"subject"`
	Symbol          string        `db:"symbol"`
	HeaderJSON      string        `db:"header_json"`
	PackageBlob     string        `db:"package_blob"`
	PDFBlob         string        `db:"pdf_blob"`
	PDFSHA256       string        `db:"pdf_sha256"`
	PDFSize         int64         `db:"pdf_size"`
	AttachmentsJSON string        `db:"attachments_json"`
	Indication      string        `db:"indication"`
	ReportJSON      string        `db:"report_json"`
	DocumentID      string        `db:"document_id"`
	Reason          string        `db:"reason"`
	RecallState     string        `db:"recall_state"`
	RecallReason    string        `db:"recall_reason"`
	ReplacesID      string        `db:"replaces_id"`
	Reported        string        `db:"reported"`
	ReceivedAt      int64         `db:"received_at"`
	DecidedAt       sql.NullInt64 `db:"decided_at"`
	DecidedBy       string        `db:"decided_by"`
}

const inboxColumns = `id, org_id, organ_id, from_organ, from_name, edxml_document_id, business_type, transport_id, dedupe_key,
	state, problem, subject, symbol, header_json, package_blob, pdf_blob, pdf_sha256, pdf_size, attachments_json, indication,
	report_json, document_id, reason, recall_state, recall_reason, replaces_id, reported, received_at, decided_at, decided_by`

func (r inboxRow) domain() *interchange.InboxItem {
	it := &interchange.InboxItem{ID: r.ID, OrgID: r.OrgID, OrganId: r.OrganId, FromOrgan: r.FromOrgan, FromName: r.FromName,
		EdxmlDocumentId: r.EdxmlDocumentId, BusinessType: r.BusinessType, TransportID: r.TransportID, DedupeKey: r.DedupeKey,
		State: r.State, Problem: r.Problem, Subject: r.Subject, Symbol: r.Symbol, HeaderJSON: r.HeaderJSON, PackageBlob: r.PackageBlob,
		PDF:        interchange.StoredFile{BlobKey: r.PDFBlob, SHA256: r.PDFSHA256, Size: r.PDFSize, ContentType: "application/pdf"},
		Indication: r.Indication, ReportJSON: r.ReportJSON, DocumentID: r.DocumentID, Reason: r.Reason, RecallState: r.RecallState,
		RecallReason: r.RecallReason, ReplacesID: r.ReplacesID, Reported: r.Reported, ReceivedAt: fromMicros(r.ReceivedAt),
		DecidedAt: fromNullMicros(r.DecidedAt), DecidedBy: r.DecidedBy}
	_ = json.Unmarshal([]byte(r.AttachmentsJSON), &it.Attachments)
	return it
}

// InsertInboxItem stores a received package; one with the same DedupeKey
// already there makes it a no-op (inserted false).
func (tx *Tx) InsertInboxItem(ctx context.Context, it *interchange.InboxItem) (bool, error) {
	it.ID, it.ReceivedAt = newID(), now()
	atts, _ := json.Marshal(it.Attachments)
	if it.Attachments == nil {
		atts = []byte("[]")
	}
	res, err := tx.exec(ctx, `INSERT INTO exchange_inbox (`+inboxColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '')
		ON CONFLICT (dedupe_key) DO NOTHING`,
		it.ID, it.OrgID, it.OrganId, it.FromOrgan, it.FromName, it.EdxmlDocumentId, it.BusinessType, it.TransportID, it.DedupeKey,
		it.State, it.Problem, it.Subject, it.Symbol, it.HeaderJSON, it.PackageBlob, it.PDF.BlobKey, it.PDF.SHA256, it.PDF.Size,
		string(atts), it.Indication, it.ReportJSON, it.DocumentID, it.Reason, it.RecallState, it.RecallReason, it.ReplacesID,
		it.Reported, micros(it.ReceivedAt))
	if err != nil {
		return false, dbError("insert inbox item", err, "received package")
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// InboxItem returns one received package. Returns ENOTFOUND.
func (tx *Tx) InboxItem(ctx context.Context, id string) (*interchange.InboxItem, error) {
	var r inboxRow
	if err := tx.get(ctx, &r, `SELECT `+inboxColumns+` FROM exchange_inbox WHERE id = ?`, id); err != nil {
		return nil, dbError("inbox item", err, "received package "+id)
	}
	return r.domain(), nil
}

// InboxItemByEdxml finds the package an organization received from an
// agency with a DocumentId and business type. Returns ENOTFOUND.
func (tx *Tx) InboxItemByEdxml(ctx context.Context, orgID, fromOrgan, edxmlID string, businessType int) (*interchange.InboxItem, error) {
	var r inboxRow
	if err := tx.get(ctx, &r, `SELECT `+inboxColumns+` FROM exchange_inbox
		WHERE org_id = ? AND from_organ = ? AND edxml_document_id = ? AND business_type = ? ORDER BY received_at LIMIT 1`,
		orgID, fromOrgan, edxmlID, businessType); err != nil {
		return nil, dbError("inbox item", err, "received package "+edxmlID)
	}
	return r.domain(), nil
}

// InboxItemOfDocument returns the package an incoming document was accepted from. Returns ENOTFOUND.
func (tx *Tx) InboxItemOfDocument(ctx context.Context, documentID string) (*interchange.InboxItem, error) {
	var r inboxRow
	if err := tx.get(ctx, &r, `SELECT `+inboxColumns+` FROM exchange_inbox WHERE document_id = ?`, documentID); err != nil {
		return nil, dbError("inbox item", err, "received package of document "+documentID)
	}
	return r.domain(), nil
}

// InboxItems lists an organization's received packages in the given
// states (all when none), newest first, at most limit.
func (tx *Tx) InboxItems(ctx context.Context, orgID string, states []string, limit int) ([]*interchange.InboxItem, error) {
	q := `SELECT ` + inboxColumns + ` FROM exchange_inbox WHERE org_id = ?`
	args := []any{orgID}
	if len(states) > 0 {
		q += ` AND state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	q += ` ORDER BY received_at DESC, id LIMIT ?`
	args = append(args, limit)
	var rows []inboxRow
	if err := tx.selectRows(ctx, &rows, q, args...); err != nil {
		return nil, dbError("inbox items", err, "received packages")
	}
	out := make([]*interchange.InboxItem, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// UpdateInboxItem writes the fields a decision changes.
func (tx *Tx) UpdateInboxItem(ctx context.Context, it *interchange.InboxItem) error {
	atts, _ := json.Marshal(it.Attachments)
	if it.Attachments == nil {
		atts = []byte("[]")
	}
	res, err := tx.exec(ctx, `UPDATE exchange_inbox SET state = ?, problem = ?, document_id = ?, reason = ?, recall_state = ?,
		recall_reason = ?, replaces_id = ?, reported = ?, decided_at = ?, decided_by = ?, pdf_blob = ?, pdf_sha256 = ?,
		pdf_size = ?, attachments_json = ?, package_blob = ? WHERE id = ?`,
		it.State, it.Problem, it.DocumentID, it.Reason, it.RecallState, it.RecallReason, it.ReplacesID, it.Reported,
		nullMicros(it.DecidedAt), it.DecidedBy, it.PDF.BlobKey, it.PDF.SHA256, it.PDF.Size, string(atts), it.PackageBlob, it.ID)
	if err != nil {
		return dbError("update inbox item", err, "received package")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return document.Errorf(document.ENOTFOUND, "received package %s not found", it.ID)
	}
	return nil
}

// InboxToReport lists accepted packages whose incoming document moved to a
// state (assigned, in progress, completed) not yet reported to the sender.
func (tx *Tx) InboxToReport(ctx context.Context, limit int) ([]*interchange.InboxItem, error) {
	var rows []inboxRow
	err := tx.selectRows(ctx, &rows, `SELECT `+prefixed("i.", inboxColumns)+` FROM exchange_inbox i JOIN documents d ON d.id = i.document_id
		WHERE i.state = 'accepted' AND (
			(d.state = 'assigned' AND i.reported < '04') OR
			(d.state = 'in_progress' AND i.reported < '05') OR
			(d.state IN ('completed', 'archived') AND i.reported < '06'))
		ORDER BY i.received_at LIMIT ?`, limit)
	if err != nil {
		return nil, dbError("inbox to report", err, "received packages")
	}
	out := make([]*interchange.InboxItem, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

func prefixed(p, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// InsertExchangeStatus records a status a recipient reported; a repeat
// (same DedupeKey) changes nothing (inserted false).
func (tx *Tx) InsertExchangeStatus(ctx context.Context, s *interchange.StatusRecord) (bool, error) {
	s.ID, s.ReceivedAt = newID(), now()
	res, err := tx.exec(ctx, `INSERT INTO exchange_statuses (id, org_id, document_id, organ_id, code, description, staff,
		department, at, received_at, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
		s.ID, s.OrgID, s.DocumentID, s.OrganId, s.Code, s.Description, s.Staff, s.Department, micros(s.At), micros(s.ReceivedAt), s.DedupeKey)
	if err != nil {
		return false, dbError("insert exchange status", err, "status")
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ExchangeStatuses lists the statuses recorded for an outgoing document in
// time order; statuses carry whole seconds, and within one second the codes
// follow the flow (01 before 03 before 13 ...).
func (tx *Tx) ExchangeStatuses(ctx context.Context, documentID string) ([]interchange.StatusRecord, error) {
	var rows []struct {
		ID          string `db:"id"`
		OrgID       string `db:"org_id"`
		DocumentID  string `db:"document_id"`
		OrganId     string `db:"organ_id"`
		Code        string `db:"code"`
		Description string `db:"description"`
		Staff       string `db:"staff"`
		Department  string `db:"department"`
		At          int64  `db:"at"`
		ReceivedAt  int64  `db:"received_at"`
		DedupeKey   string `db:"dedupe_key"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT id, org_id, document_id, organ_id, code, description, staff, department, at,
		received_at, dedupe_key FROM exchange_statuses WHERE document_id = ? ORDER BY at, code, received_at, id`, documentID); err != nil {
		return nil, dbError("exchange statuses", err, "statuses")
	}
	out := make([]interchange.StatusRecord, len(rows))
	for i, r := range rows {
		out[i] = interchange.StatusRecord{ID: r.ID, OrgID: r.OrgID, DocumentID: r.DocumentID, OrganId: r.OrganId, Code: r.Code,
			Description: r.Description, Staff: r.Staff, Department: r.Department, At: fromMicros(r.At),
			ReceivedAt: fromMicros(r.ReceivedAt), DedupeKey: r.DedupeKey}
	}
	return out, nil
}

// BlobUsedElsewhere reports whether a blob is referenced by a version or
// attachment of a document other than documentID, or by another received
// package: blobs are content-addressed, so the same PDF may be the
// sender's own copy in the same installation.
func (tx *Tx) BlobUsedElsewhere(ctx context.Context, key, documentID, inboxID string) (bool, error) {
	var n int
	err := tx.get(ctx, &n, `SELECT
		(SELECT COUNT(*) FROM versions WHERE blob_key = ? AND document_id <> ?) +
		(SELECT COUNT(*) FROM attachments WHERE blob_key = ? AND document_id <> ?) +
		(SELECT COUNT(*) FROM exchange_inbox WHERE (pdf_blob = ? OR package_blob = ? OR attachments_json LIKE ?) AND id <> ?)`,
		key, documentID, key, documentID, key, key, "%"+key+"%", inboxID)
	return n > 0, dbError("blob references", err, "blob")
}
