package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"vanban/internal/document"
)

type documentRow struct {
	ID              string         `db:"id"`
	OrgID           string         `db:"org_id"`
	UnitID          string         `db:"unit_id"`
	Direction       string         `db:"direction"`
	TypeCode        string         `db:"type_code"`
	Subject         string         `db:"subject"`
	Urgency         string         `db:"urgency"`
	Confidentiality string         `db:"confidentiality"`
	State           string         `db:"state"`
	CreatedBy       string         `db:"created_by"`
	CreatedAt       int64          `db:"created_at"`
	UpdatedAt       int64          `db:"updated_at"`
	RowVersion      int64          `db:"row_version"`
	SignerID        sql.NullString `db:"signer_id"`
	SignCapacity    string         `db:"sign_capacity"`
	PrincipalID     sql.NullString `db:"principal_id"`
	RegisterID      sql.NullString `db:"register_id"`
	Number          sql.NullInt64  `db:"number"`
	Symbol          string         `db:"symbol"`
	NumberedAt      sql.NullInt64  `db:"numbered_at"`
	IssuedAt        sql.NullInt64  `db:"issued_at"`
	SourceID        sql.NullString `db:"source_id"`
	SenderName      string         `db:"sender_name"`
	SenderSymbol    string         `db:"sender_symbol"`
	SenderDate      sql.NullInt64  `db:"sender_date"`
	ReceivedAt      sql.NullInt64  `db:"received_at"`
	LeaderID        sql.NullString `db:"leader_id"`
	HandlerID       sql.NullString `db:"handler_id"`
	HandlingUnitID  sql.NullString `db:"handling_unit_id"`
	Deadline        sql.NullInt64  `db:"deadline"`
	Instruction     string         `db:"instruction"`
	CompletedAt     sql.NullInt64  `db:"completed_at"`
}

const documentColumns = `id, org_id, unit_id, direction, type_code, subject, urgency, confidentiality, state,
	created_by, created_at, updated_at, row_version, signer_id, register_id, number, symbol, numbered_at,
	issued_at, source_id, sender_name, sender_symbol, sender_date, received_at, leader_id, handler_id,
	handling_unit_id, deadline, instruction, completed_at, sign_capacity, principal_id`

func (r documentRow) domain() *document.Document {
	d := &document.Document{
		ID: r.ID, OrgID: r.OrgID, UnitID: r.UnitID, Direction: document.Direction(r.Direction),
		TypeCode: r.TypeCode, Subject: r.Subject, Urgency: document.Urgency(r.Urgency),
		Confidentiality: document.Confidentiality(r.Confidentiality), State: document.State(r.State),
		CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
		RowVersion: r.RowVersion, SignerID: r.SignerID.String, RegisterID: r.RegisterID.String,
		SignCapacity: document.Capacity(r.SignCapacity), PrincipalID: r.PrincipalID.String,
		Number: int(r.Number.Int64), NumberedAt: fromNullMicros(r.NumberedAt),
		IssuedAt: fromNullMicros(r.IssuedAt), SourceID: r.SourceID.String, SenderName: r.SenderName,
		SenderDate: fromNullMicros(r.SenderDate), ReceivedAt: fromNullMicros(r.ReceivedAt),
		LeaderID: r.LeaderID.String, HandlerID: r.HandlerID.String, HandlingUnitID: r.HandlingUnitID.String,
		Deadline: fromNullMicros(r.Deadline), Instruction: r.Instruction, CompletedAt: fromNullMicros(r.CompletedAt),
	}
	// One column holds our own symbol for outgoing documents and the
	// sender's for incoming ones; the domain has a single Symbol field.
	d.Symbol = r.Symbol
	if d.Direction == document.Incoming {
		d.Symbol = r.SenderSymbol
	}
	return d
}

func nullInt(n int) sql.NullInt64 { return sql.NullInt64{Int64: int64(n), Valid: n != 0} }

// CreateDocument stores a new document with a new ID, in its initial state
// unless d.State is set. Returns EINVALID (also for unknown references).
func (db *DB) CreateDocument(ctx context.Context, d *document.Document) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.CreateDocument(ctx, d) })
}

// CreateDocument is the transactional form of DB.CreateDocument.
func (tx *Tx) CreateDocument(ctx context.Context, d *document.Document) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if d.State == "" {
		d.State = document.InitialState(d.Direction)
	}
	d.ID, d.CreatedAt, d.RowVersion = newID(), now(), 1
	d.UpdatedAt = d.CreatedAt
	symbol, senderSymbol := d.Symbol, ""
	if d.Direction == document.Incoming {
		symbol, senderSymbol = "", d.Symbol
	}
	_, err := tx.exec(ctx, `INSERT INTO documents (`+documentColumns+`, search_text) VALUES
		(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.OrgID, d.UnitID, string(d.Direction), d.TypeCode, d.Subject, string(d.Urgency),
		string(d.Confidentiality), string(d.State), d.CreatedBy, micros(d.CreatedAt), micros(d.UpdatedAt),
		d.RowVersion, nullString(d.SignerID), nullString(d.RegisterID), nullInt(d.Number), symbol,
		nullMicros(d.NumberedAt), nullMicros(d.IssuedAt), nullString(d.SourceID), d.SenderName, senderSymbol,
		nullMicros(d.SenderDate), nullMicros(d.ReceivedAt), nullString(d.LeaderID), nullString(d.HandlerID),
		nullString(d.HandlingUnitID), nullMicros(d.Deadline), d.Instruction, nullMicros(d.CompletedAt),
		string(d.SignCapacity), nullString(d.PrincipalID), document.SearchText(d))
	return dbError("create document", err, "document")
}

// Document returns the document with id. Returns ENOTFOUND.
func (db *DB) Document(ctx context.Context, id string) (*document.Document, error) {
	return single(db, ctx, func(tx *Tx) (*document.Document, error) { return tx.Document(ctx, id) })
}

// Document is the transactional form of DB.Document.
func (tx *Tx) Document(ctx context.Context, id string) (*document.Document, error) {
	var r documentRow
	if err := tx.get(ctx, &r, `SELECT `+documentColumns+` FROM documents WHERE id = ?`, id); err != nil {
		return nil, dbError("get document", err, "document "+id)
	}
	return r.domain(), nil
}

// UpdateDocument writes every mutable field of d. It succeeds only if the
// stored row still has d.RowVersion, so two users acting on the same document
// cannot overwrite each other; on success d.RowVersion and d.UpdatedAt move
// on. Returns ENOTFOUND, ECONFLICT when someone else changed it first.
func (db *DB) UpdateDocument(ctx context.Context, d *document.Document) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.UpdateDocument(ctx, d) })
}

// UpdateDocument is the transactional form of DB.UpdateDocument.
func (tx *Tx) UpdateDocument(ctx context.Context, d *document.Document) error {
	if err := d.Validate(); err != nil {
		return err
	}
	updated := now()
	symbol, senderSymbol := d.Symbol, ""
	if d.Direction == document.Incoming {
		symbol, senderSymbol = "", d.Symbol
	}
	res, err := tx.exec(ctx, `UPDATE documents SET
		unit_id = ?, type_code = ?, subject = ?, urgency = ?, confidentiality = ?, state = ?, updated_at = ?,
		row_version = row_version + 1, signer_id = ?, register_id = ?, number = ?, symbol = ?, numbered_at = ?,
		issued_at = ?, sender_name = ?, sender_symbol = ?, sender_date = ?, received_at = ?, leader_id = ?,
		handler_id = ?, handling_unit_id = ?, deadline = ?, instruction = ?, completed_at = ?,
		sign_capacity = ?, principal_id = ?, search_text = ?
		WHERE id = ? AND row_version = ?`,
		d.UnitID, d.TypeCode, d.Subject, string(d.Urgency), string(d.Confidentiality), string(d.State), micros(updated),
		nullString(d.SignerID), nullString(d.RegisterID), nullInt(d.Number), symbol, nullMicros(d.NumberedAt),
		nullMicros(d.IssuedAt), d.SenderName, senderSymbol, nullMicros(d.SenderDate), nullMicros(d.ReceivedAt),
		nullString(d.LeaderID), nullString(d.HandlerID), nullString(d.HandlingUnitID), nullMicros(d.Deadline),
		d.Instruction, nullMicros(d.CompletedAt), string(d.SignCapacity), nullString(d.PrincipalID), document.SearchText(d),
		d.ID, d.RowVersion)
	if err != nil {
		return dbError("update document", err, "document number "+document.FormatNumber(d.Number))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.Document(ctx, d.ID); err != nil {
			return err
		}
		return document.Errorf(document.ECONFLICT, "document %s was changed by someone else; reload and retry", d.ID)
	}
	d.RowVersion++
	d.UpdatedAt = updated
	return nil
}

// DocumentFilter selects documents for lists. Zero fields match everything;
// OrgID is required.
type DocumentFilter struct {
	OrgID     string
	Direction document.Direction
	States    []document.State
	UnitID    string
	HandlerID string
	SignerID  string
	CreatedBy string
	Limit     int // default 100, at most 1000
	Offset    int
}

// Documents lists documents matching f, newest first.
func (db *DB) Documents(ctx context.Context, f DocumentFilter) ([]*document.Document, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Document, error) { return tx.Documents(ctx, f) })
}

// Documents is the transactional form of DB.Documents.
func (tx *Tx) Documents(ctx context.Context, f DocumentFilter) ([]*document.Document, error) {
	if f.OrgID == "" {
		return nil, document.Errorf(document.EINVALID, "listing documents needs an organization")
	}
	where := []string{"org_id = ?"}
	args := []any{f.OrgID}
	add := func(cond string, v string) {
		if v != "" {
			where = append(where, cond)
			args = append(args, v)
		}
	}
	add("direction = ?", string(f.Direction))
	add("unit_id = ?", f.UnitID)
	add("handler_id = ?", f.HandlerID)
	add("signer_id = ?", f.SignerID)
	add("created_by = ?", f.CreatedBy)
	if len(f.States) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	args = append(args, limit, max(f.Offset, 0))
	var rows []documentRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+documentColumns+` FROM documents WHERE `+
		strings.Join(where, " AND ")+` ORDER BY created_at DESC, id LIMIT ? OFFSET ?`, args...); err != nil {
		return nil, dbError("list documents", err, "documents")
	}
	return documentsOf(rows), nil
}

func documentsOf(rows []documentRow) []*document.Document {
	out := make([]*document.Document, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

// OverdueDocuments lists an organization's incoming documents not yet
// completed whose deadline is before now, earliest deadline first. Before
// assignment the deadline is the one for routing to a leader; after, the
// handling deadline the leader set.
func (db *DB) OverdueDocuments(ctx context.Context, orgID string, now time.Time) ([]*document.Document, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Document, error) { return tx.OverdueDocuments(ctx, orgID, now) })
}

// OverdueDocuments is the transactional form of DB.OverdueDocuments.
func (tx *Tx) OverdueDocuments(ctx context.Context, orgID string, now time.Time) ([]*document.Document, error) {
	var rows []documentRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+documentColumns+` FROM documents
		WHERE org_id = ? AND direction = ? AND state IN (?, ?, ?, ?) AND deadline IS NOT NULL AND deadline < ?
		ORDER BY deadline, id`, orgID, string(document.Incoming), string(document.StateRegistered),
		string(document.StateRouted), string(document.StateAssigned), string(document.StateInProgress),
		micros(now)); err != nil {
		return nil, dbError("overdue documents", err, "documents")
	}
	return documentsOf(rows), nil
}

// IncomingDuplicates lists incoming documents of an organization already
// registered with the same sender and sender's number and symbol (Article
// 22: the clerk is warned before registering it again).
func (tx *Tx) IncomingDuplicates(ctx context.Context, orgID, senderName, senderSymbol string) ([]*document.Document, error) {
	if senderSymbol == "" {
		return nil, nil
	}
	var rows []documentRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+documentColumns+` FROM documents
		WHERE org_id = ? AND direction = ? AND sender_symbol = ? AND sender_name = ? ORDER BY created_at`,
		orgID, string(document.Incoming), senderSymbol, senderName); err != nil {
		return nil, dbError("incoming duplicates", err, "documents")
	}
	return documentsOf(rows), nil
}

// SetRecipients replaces the recipient units of a document. Returns EINVALID
// for an unknown unit.
func (db *DB) SetRecipients(ctx context.Context, documentID string, unitIDs []string) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.SetRecipients(ctx, documentID, unitIDs) })
}

// SetRecipients is the transactional form of DB.SetRecipients.
func (tx *Tx) SetRecipients(ctx context.Context, documentID string, unitIDs []string) error {
	if _, err := tx.exec(ctx, `DELETE FROM recipients WHERE document_id = ?`, documentID); err != nil {
		return dbError("set recipients", err, "recipients")
	}
	seen := map[string]bool{}
	for _, u := range unitIDs {
		if seen[u] {
			continue
		}
		seen[u] = true
		if _, err := tx.exec(ctx, `INSERT INTO recipients (document_id, unit_id) VALUES (?, ?)`, documentID, u); err != nil {
			return dbError("set recipients", err, "recipient unit "+u)
		}
	}
	return nil
}

// Recipients lists a document's recipient units.
func (db *DB) Recipients(ctx context.Context, documentID string) ([]document.Recipient, error) {
	return read(db, ctx, func(tx *Tx) ([]document.Recipient, error) { return tx.Recipients(ctx, documentID) })
}

// Recipients is the transactional form of DB.Recipients.
func (tx *Tx) Recipients(ctx context.Context, documentID string) ([]document.Recipient, error) {
	var rows []struct {
		DocumentID  string         `db:"document_id"`
		UnitID      string         `db:"unit_id"`
		DeliveredID sql.NullString `db:"delivered_id"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT document_id, unit_id, delivered_id FROM recipients
		WHERE document_id = ? ORDER BY unit_id`, documentID); err != nil {
		return nil, dbError("list recipients", err, "recipients")
	}
	out := make([]document.Recipient, len(rows))
	for i, r := range rows {
		out[i] = document.Recipient{DocumentID: r.DocumentID, UnitID: r.UnitID, DeliveredID: r.DeliveredID.String}
	}
	return out, nil
}

// MarkDelivered records the incoming copy made for a recipient. Returns
// ENOTFOUND when unitID is not a recipient, ECONFLICT when already delivered.
func (tx *Tx) MarkDelivered(ctx context.Context, documentID, unitID, deliveredID string) error {
	res, err := tx.exec(ctx, `UPDATE recipients SET delivered_id = ?
		WHERE document_id = ? AND unit_id = ? AND delivered_id IS NULL`, deliveredID, documentID, unitID)
	if err != nil {
		return dbError("mark delivered", err, "recipient")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var count int
		if err := tx.get(ctx, &count, `SELECT COUNT(*) FROM recipients WHERE document_id = ? AND unit_id = ?`, documentID, unitID); err != nil {
			return dbError("mark delivered", err, "recipient")
		}
		if count == 0 {
			return document.Errorf(document.ENOTFOUND, "unit %s is not a recipient of document %s", unitID, documentID)
		}
		return document.Errorf(document.ECONFLICT, "document %s was already delivered to unit %s", documentID, unitID)
	}
	return nil
}
