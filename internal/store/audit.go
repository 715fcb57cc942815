package store

import (
	"context"
	"encoding/json"
	"fmt"

	"vanban/internal/audit"
)

type auditRow struct {
	Seq        int64  `db:"seq"`
	At         int64  `db:"at"`
	Actor      string `db:"actor"`
	ClientAddr string `db:"client_addr"`
	Action     string `db:"action"`
	ObjectType string `db:"object_type"`
	ObjectID   string `db:"object_id"`
	Change     string `db:"change"`
	PrevHash   string `db:"prev_hash"`
	Hash       string `db:"hash"`
}

func (r auditRow) entry() audit.Entry {
	return audit.Entry{Seq: r.Seq, Time: fromMicros(r.At), Actor: r.Actor, ClientAddr: r.ClientAddr, Action: r.Action,
		ObjectType: r.ObjectType, ObjectID: r.ObjectID, Change: json.RawMessage(r.Change), PrevHash: r.PrevHash, Hash: r.Hash}
}

const auditColumns = `seq, at, actor, client_addr, action, object_type, object_id, change, prev_hash, hash`

// AppendAudit adds e to the audit chain inside the transaction and returns it
// with Seq, PrevHash and Hash filled in. The head row is updated first: on
// PostgreSQL its row lock makes concurrent appends wait for this transaction
// to end, on SQLite the transaction already holds the write lock, so the
// chain stays linear. Append last in a use case, after its other writes, so
// the lock is held briefly and always taken in the same order.
func (tx *Tx) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.Time.IsZero() {
		e.Time = now()
	}
	if err := e.Normalize(); err != nil {
		return audit.Entry{}, err
	}
	var head struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	// Lock the head by writing to it and read, in the same statement, the
	// new sequence number and the hash it held before: every append waits
	// on this row until the appending transaction ends, so each round
	// trip saved here is one the whole office stops waiting for.
	if err := tx.get(ctx, &head, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`); err != nil {
		return audit.Entry{}, fmt.Errorf("store: audit append: lock head: %w", err)
	}
	e.Seq, e.PrevHash = head.Seq, head.Hash
	e.Hash = e.ComputeHash()
	if _, err := tx.exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, micros(e.Time), e.Actor, e.ClientAddr, e.Action, e.ObjectType, e.ObjectID, string(e.Change),
		e.PrevHash, e.Hash); err != nil {
		return audit.Entry{}, dbError("audit append", err, "audit entry")
	}
	if _, err := tx.exec(ctx, `UPDATE audit_head SET hash = ? WHERE id = 1`, e.Hash); err != nil {
		return audit.Entry{}, fmt.Errorf("store: audit append: update head: %w", err)
	}
	if err := tx.sealHead(ctx, e.Seq, e.Hash); err != nil {
		return audit.Entry{}, err
	}
	return e, nil
}

// AppendAudit appends one entry in its own transaction.
func (db *DB) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	return write(db, ctx, func(tx *Tx) (audit.Entry, error) { return tx.AppendAudit(ctx, e) })
}

// AuditHead returns the last sequence number and hash of the chain.
func (db *DB) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	err = db.WithReadTx(ctx, func(tx *Tx) error {
		var head struct {
			Seq  int64  `db:"seq"`
			Hash string `db:"hash"`
		}
		if err := tx.get(ctx, &head, `SELECT seq, hash FROM audit_head WHERE id = 1`); err != nil {
			return dbError("audit head", err, "audit head")
		}
		seq, hash = head.Seq, head.Hash
		return nil
	})
	return seq, hash, err
}

// AuditEntries returns up to limit entries with seq > afterSeq, in order.
func (db *DB) AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]audit.Entry, error) {
	return read(db, ctx, func(tx *Tx) ([]audit.Entry, error) {
		var rows []auditRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+auditColumns+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`,
			afterSeq, limit); err != nil {
			return nil, dbError("audit entries", err, "audit entries")
		}
		return entriesOf(rows), nil
	})
}

// AuditEntriesFor returns the entries about one object, in order: the
// history of a document.
func (db *DB) AuditEntriesFor(ctx context.Context, objectType, objectID string) ([]audit.Entry, error) {
	return read(db, ctx, func(tx *Tx) ([]audit.Entry, error) { return tx.AuditEntriesFor(ctx, objectType, objectID) })
}

// AuditEntriesFor is the transactional form of DB.AuditEntriesFor.
func (tx *Tx) AuditEntriesFor(ctx context.Context, objectType, objectID string) ([]audit.Entry, error) {
	var rows []auditRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+auditColumns+` FROM audit_log
		WHERE object_type = ? AND object_id = ? ORDER BY seq`, objectType, objectID); err != nil {
		return nil, dbError("audit entries", err, "audit entries")
	}
	return entriesOf(rows), nil
}

func entriesOf(rows []auditRow) []audit.Entry {
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out
}

var _ audit.Source = (*DB)(nil)
