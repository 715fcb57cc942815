package store

import (
	"context"
	"database/sql"
	"time"

	"vanban/internal/document"
	"vanban/internal/reports"
)

type registerEntryRow struct {
	ID              string         `db:"id"`
	Direction       string         `db:"direction"`
	Number          int            `db:"number"`
	Symbol          string         `db:"symbol"`
	SenderSymbol    string         `db:"sender_symbol"`
	TypeName        string         `db:"type_name"`
	Subject         string         `db:"subject"`
	Urgency         string         `db:"urgency"`
	Confidentiality string         `db:"confidentiality"`
	State           string         `db:"state"`
	SignCapacity    string         `db:"sign_capacity"`
	NumberedAt      sql.NullInt64  `db:"numbered_at"`
	ReceivedAt      sql.NullInt64  `db:"received_at"`
	SenderName      string         `db:"sender_name"`
	SenderDate      sql.NullInt64  `db:"sender_date"`
	Deadline        sql.NullInt64  `db:"deadline"`
	CompletedAt     sql.NullInt64  `db:"completed_at"`
	UnitName        string         `db:"unit_name"`
	CreatorName     string         `db:"creator_name"`
	SignerName      sql.NullString `db:"signer_name"`
	HandlerName     sql.NullString `db:"handler_name"`
	HandlingUnit    sql.NullString `db:"handling_unit_name"`
}

// RegisterRows returns the entries of a register whose date falls in [from,
// to) (zero bounds are open): the number date for outgoing registers, the
// arrival for incoming ones. Rows come in number order with the names the
// printed register shows.
func (db *DB) RegisterRows(ctx context.Context, registerID string, from, to time.Time) ([]reports.Entry, error) {
	return read(db, ctx, func(tx *Tx) ([]reports.Entry, error) {
		r, err := tx.Register(ctx, registerID)
		if err != nil {
			return nil, err
		}
		dateCol := "d.numbered_at"
		if r.Direction == document.Incoming {
			dateCol = "d.received_at"
		}
		where, args := "d.register_id = ?", []any{registerID}
		if !from.IsZero() {
			where += " AND " + dateCol + " >= ?"
			args = append(args, micros(from))
		}
		if !to.IsZero() {
			where += " AND " + dateCol + " < ?"
			args = append(args, micros(to))
		}
		var rows []registerEntryRow
		if err := tx.selectRows(ctx, &rows, `SELECT d.id, d.direction, d.number, d.symbol, d.sender_symbol,
				t.name AS type_name, d.subject, d.urgency, d.confidentiality, d.state, d.sign_capacity,
				d.numbered_at, d.received_at, d.sender_name, d.sender_date, d.deadline, d.completed_at,
				u.name AS unit_name, cu.full_name AS creator_name, su.full_name AS signer_name,
				hu.full_name AS handler_name, hun.name AS handling_unit_name
			FROM documents d
			JOIN document_types t ON t.code = d.type_code
			JOIN units u ON u.id = d.unit_id
			JOIN users cu ON cu.id = d.created_by
			LEFT JOIN users su ON su.id = d.signer_id
			LEFT JOIN users hu ON hu.id = d.handler_id
			LEFT JOIN units hun ON hun.id = d.handling_unit_id
			WHERE `+where+` ORDER BY d.number`, args...); err != nil {
			return nil, dbError("register rows", err, "register entries")
		}
		recipients, err := tx.registerRecipients(ctx, registerID)
		if err != nil {
			return nil, err
		}
		out := make([]reports.Entry, len(rows))
		for i, x := range rows {
			e := reports.Entry{
				Number: x.Number, TypeName: x.TypeName, Subject: x.Subject,
				State: document.State(x.State), Urgency: document.Urgency(x.Urgency),
				Confidentiality: document.Confidentiality(x.Confidentiality), Capacity: document.Capacity(x.SignCapacity),
				Deadline: fromNullMicros(x.Deadline), CompletedAt: fromNullMicros(x.CompletedAt),
			}
			if document.Direction(x.Direction) == document.Incoming {
				e.Symbol, e.ReceivedAt, e.Sender, e.SenderDate = x.SenderSymbol, fromNullMicros(x.ReceivedAt), x.SenderName, fromNullMicros(x.SenderDate)
				e.HandlingUnit, e.Handler = x.HandlingUnit.String, x.HandlerName.String
				if e.HandlingUnit == "" {
					e.HandlingUnit = x.UnitName
				}
			} else {
				e.Symbol, e.Date, e.Signer = x.Symbol, fromNullMicros(x.NumberedAt), x.SignerName.String
				e.KeptBy = x.UnitName + " (" + x.CreatorName + ")"
				e.Recipients = recipients[x.ID]
				// One copy to each recipient and the one kept (bản lưu).
				e.Copies = len(e.Recipients) + 1
			}
			out[i] = e
		}
		return out, nil
	})
}

// registerRecipients returns the recipient unit names of every document of
// a register, by document, in name order.
func (tx *Tx) registerRecipients(ctx context.Context, registerID string) (map[string][]string, error) {
	var rows []struct {
		DocumentID string `db:"document_id"`
		Name       string `db:"name"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT r.document_id, u.name FROM recipients r
		JOIN units u ON u.id = r.unit_id JOIN documents d ON d.id = r.document_id
		WHERE d.register_id = ? ORDER BY r.document_id, u.name`, registerID); err != nil {
		return nil, dbError("register recipients", err, "recipients")
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.DocumentID] = append(out[r.DocumentID], r.Name)
	}
	return out, nil
}

// ProcessingByUnit counts an organization's documents by unit: incoming ones
// received in [from, to) by their handling unit (the receiving unit until
// one is named), outgoing ones created in [from, to) by their drafting
// unit. Open incoming documents count as overdue when their deadline is
// before at. Units come in name order; units with nothing are left out.
func (db *DB) ProcessingByUnit(ctx context.Context, orgID string, from, to, at time.Time) ([]reports.UnitProcessing, error) {
	return read(db, ctx, func(tx *Tx) ([]reports.UnitProcessing, error) {
		done := []any{string(document.StateCompleted), string(document.StateArchived)}
		var in []struct {
			UnitID    string `db:"unit_id"`
			Received  int    `db:"received"`
			Completed int    `db:"completed"`
			OnTime    int    `db:"on_time"`
			Late      int    `db:"late"`
			Overdue   int    `db:"overdue"`
		}
		args := append([]any{}, done...)
		args = append(args, done...)
		args = append(args, done...)
		args = append(args, done...)
		args = append(args, micros(at), orgID, string(document.Incoming), micros(from), micros(to))
		if err := tx.selectRows(ctx, &in, `SELECT COALESCE(d.handling_unit_id, d.unit_id) AS unit_id,
				COUNT(*) AS received,
				SUM(CASE WHEN d.state IN (?, ?) THEN 1 ELSE 0 END) AS completed,
				SUM(CASE WHEN d.state IN (?, ?) AND (d.deadline IS NULL OR d.completed_at IS NULL OR d.completed_at <= d.deadline) THEN 1 ELSE 0 END) AS on_time,
				SUM(CASE WHEN d.state IN (?, ?) AND d.deadline IS NOT NULL AND d.completed_at > d.deadline THEN 1 ELSE 0 END) AS late,
				SUM(CASE WHEN d.state NOT IN (?, ?) AND d.deadline IS NOT NULL AND d.deadline < ? THEN 1 ELSE 0 END) AS overdue
			FROM documents d
			WHERE d.org_id = ? AND d.direction = ? AND d.received_at >= ? AND d.received_at < ?
			GROUP BY COALESCE(d.handling_unit_id, d.unit_id)`, args...); err != nil {
			return nil, dbError("processing incoming", err, "documents")
		}
		var out []struct {
			UnitID    string `db:"unit_id"`
			Created   int    `db:"created"`
			Issued    int    `db:"issued"`
			Withdrawn int    `db:"withdrawn"`
		}
		if err := tx.selectRows(ctx, &out, `SELECT d.unit_id, COUNT(*) AS created,
				SUM(CASE WHEN d.state IN (?, ?) THEN 1 ELSE 0 END) AS issued,
				SUM(CASE WHEN d.state = ? THEN 1 ELSE 0 END) AS withdrawn
			FROM documents d
			WHERE d.org_id = ? AND d.direction = ? AND d.created_at >= ? AND d.created_at < ?
			GROUP BY d.unit_id`, string(document.StateIssued), string(document.StateArchived), string(document.StateWithdrawn),
			orgID, string(document.Outgoing), micros(from), micros(to)); err != nil {
			return nil, dbError("processing outgoing", err, "documents")
		}
		units, err := tx.Units(ctx, orgID)
		if err != nil {
			return nil, err
		}
		byID := map[string]*reports.UnitProcessing{}
		get := func(id string) *reports.UnitProcessing {
			if p, ok := byID[id]; ok {
				return p
			}
			p := &reports.UnitProcessing{UnitID: id}
			byID[id] = p
			return p
		}
		for _, x := range in {
			p := get(x.UnitID)
			p.InReceived, p.InCompleted, p.InOnTime, p.InLate, p.InOverdue = x.Received, x.Completed, x.OnTime, x.Late, x.Overdue
			p.InOpen = x.Received - x.Completed
		}
		for _, x := range out {
			p := get(x.UnitID)
			p.OutCreated, p.OutIssued, p.OutWithdrawn = x.Created, x.Issued, x.Withdrawn
			p.OutOpen = x.Created - x.Issued - x.Withdrawn
		}
		var list []reports.UnitProcessing
		for _, u := range units { // Units lists in the store's order (by path)
			if p, ok := byID[u.ID]; ok {
				p.UnitName = u.Name
				list = append(list, *p)
			}
		}
		return list, nil
	})
}
