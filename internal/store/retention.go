package store

import (
	"context"
	"database/sql"
	"time"

	"vanban/internal/document"
)

type archiveRow struct {
	DocumentID    string        `db:"document_id"`
	OrgID         string        `db:"org_id"`
	ArchivedBy    string        `db:"archived_by"`
	ArchivedAt    int64         `db:"archived_at"`
	Permanent     int           `db:"permanent"`
	RetainUntil   int64         `db:"retain_until"`
	ProofVersion  int           `db:"proof_version"`
	ProofUntil    int64         `db:"proof_until"`
	ProofHashBits int           `db:"proof_hash_bits"`
	ProofKeyBits  int           `db:"proof_key_bits"`
	Renewals      int           `db:"renewals"`
	RenewedAt     sql.NullInt64 `db:"renewed_at"`
	NextCheck     int64         `db:"next_check"`
	LastError     string        `db:"last_error"`
}

const archiveColumns = `document_id, org_id, archived_by, archived_at, permanent, retain_until, proof_version,
	proof_until, proof_hash_bits, proof_key_bits, renewals, renewed_at, next_check, last_error`

func (r archiveRow) record() *document.ArchiveRecord {
	return &document.ArchiveRecord{DocumentID: r.DocumentID, OrgID: r.OrgID, ArchivedBy: r.ArchivedBy, ArchivedAt: fromMicros(r.ArchivedAt),
		Permanent: r.Permanent != 0, RetainUntil: fromMicros(r.RetainUntil), ProofVersion: r.ProofVersion,
		ProofUntil: fromMicros(r.ProofUntil), ProofHashBits: r.ProofHashBits, ProofKeyBits: r.ProofKeyBits,
		Renewals: r.Renewals, RenewedAt: fromNullMicros(r.RenewedAt), NextCheck: fromMicros(r.NextCheck), LastError: r.LastError}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SaveArchiveRecord inserts or replaces the record of r.DocumentID, leaving
// any lease as it is.
func (db *DB) SaveArchiveRecord(ctx context.Context, r *document.ArchiveRecord) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE archive_records SET permanent = ?, retain_until = ?, proof_version = ?, proof_until = ?,
			proof_hash_bits = ?, proof_key_bits = ?, renewals = ?, renewed_at = ?, next_check = ?, last_error = ? WHERE document_id = ?`,
			boolInt(r.Permanent), micros(r.RetainUntil), r.ProofVersion, micros(r.ProofUntil), r.ProofHashBits, r.ProofKeyBits,
			r.Renewals, nullMicros(r.RenewedAt), micros(r.NextCheck), r.LastError, r.DocumentID)
		if err != nil {
			return dbError("save archive record", err, "archive record")
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		_, err = tx.exec(ctx, `INSERT INTO archive_records (`+archiveColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.DocumentID, r.OrgID, r.ArchivedBy, micros(r.ArchivedAt), boolInt(r.Permanent), micros(r.RetainUntil), r.ProofVersion,
			micros(r.ProofUntil), r.ProofHashBits, r.ProofKeyBits, r.Renewals, nullMicros(r.RenewedAt), micros(r.NextCheck), r.LastError)
		return dbError("save archive record", err, "archive record")
	})
}

// ArchiveRecord returns the record of an archived document, ENOTFOUND when
// it has none.
func (db *DB) ArchiveRecord(ctx context.Context, documentID string) (*document.ArchiveRecord, error) {
	return read(db, ctx, func(tx *Tx) (*document.ArchiveRecord, error) {
		var r archiveRow
		if err := tx.get(ctx, &r, `SELECT `+archiveColumns+` FROM archive_records WHERE document_id = ?`, documentID); err != nil {
			return nil, dbError("archive record", err, "archive record of document "+documentID)
		}
		return r.record(), nil
	})
}

// ClaimRenewals leases up to limit records due at now (next_check reached)
// to owner until leaseUntil and returns them, the most urgent first. The
// lease is the generic one (lease.go, kind LeaseRenewal): records leased
// by another live owner are skipped, rows another claim is selecting are
// skipped too (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises
// writers), so a record is claimed by one node at a time; an expired
// lease, left by a node that crashed, is claimed again.
func (db *DB) ClaimRenewals(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*document.ArchiveRecord, error) {
	return write(db, ctx, func(tx *Tx) ([]*document.ArchiveRecord, error) {
		free, args := leaseFree(LeaseRenewal, "r.document_id", "", now)
		var rows []archiveRow
		err := tx.selectRows(ctx, &rows, `SELECT `+qualifySigningColumns("r.", archiveColumns)+` FROM archive_records r
			WHERE r.next_check <= ? AND `+free+`
			ORDER BY r.next_check, r.document_id LIMIT ?`+tx.dialect.lockSkipLocked("r"),
			append(append([]any{micros(now)}, args...), limit)...)
		if err != nil {
			return nil, dbError("claim renewals", err, "archive records")
		}
		held, err := claimRows(ctx, tx, LeaseRenewal, owner, len(rows), func(i int) string { return rows[i].DocumentID }, now, leaseUntil.Sub(now))
		if err != nil {
			return nil, err
		}
		out := make([]*document.ArchiveRecord, 0, len(held))
		for _, r := range rows {
			if held[r.DocumentID] {
				out = append(out, r.record())
			}
		}
		return out, nil
	})
}

// ReleaseRenewal ends owner's lease on a record. After a failure (lastError
// not "") the record is looked at again at retryAt; after a success the
// record was saved with its own next check. A lease taken over by another
// owner meanwhile is left alone.
func (db *DB) ReleaseRenewal(ctx context.Context, owner, documentID, lastError string, retryAt time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		if lastError != "" {
			if _, err := tx.exec(ctx, `UPDATE archive_records SET last_error = ?, next_check = ?
				WHERE document_id = ? AND EXISTS (SELECT 1 FROM leases l WHERE l.kind = ? AND l.id = ? AND l.holder = ?)`,
				lastError, micros(retryAt), documentID, LeaseRenewal, documentID, owner); err != nil {
				return dbError("release renewal", err, "archive record")
			}
		}
		return tx.ReleaseLeases(ctx, LeaseRenewal, owner, documentID)
	})
}

// RetentionOf returns the retention date of an archived document; zero
// when it has no archive record.
func (db *DB) RetentionOf(ctx context.Context, documentID string) (until time.Time, permanent bool, err error) {
	r, err := db.ArchiveRecord(ctx, documentID)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return r.RetainUntil, r.Permanent, nil
}

// ArchivedWithoutRecord returns up to limit archived documents that have
// no archive record: archived before records existed, or by a process
// that does not archive through internal/archive. The renewal job adopts
// them.
func (db *DB) ArchivedWithoutRecord(ctx context.Context, limit int) ([]*document.Document, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Document, error) {
		var rows []documentRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+documentColumns+` FROM documents
			WHERE state = ? AND NOT EXISTS (SELECT 1 FROM archive_records r WHERE r.document_id = documents.id)
			ORDER BY updated_at, id LIMIT ?`, string(document.StateArchived), limit); err != nil {
			return nil, dbError("archived without record", err, "documents")
		}
		out := make([]*document.Document, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}
