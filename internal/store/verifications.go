package store

import (
	"context"
	"time"

	"vanban/internal/document"
)

// VerificationRecord is a validation report kept for a document version.
type VerificationRecord struct {
	ID         string
	DocumentID string
	VersionSeq int
	Indication string
	ReportJSON []byte
	CreatedAt  time.Time
}

// SaveVerification keeps a validation report. Returns EINVALID for an
// unknown document.
func (db *DB) SaveVerification(ctx context.Context, r *VerificationRecord) error {
	if r.DocumentID == "" || r.VersionSeq < 1 || r.Indication == "" || len(r.ReportJSON) == 0 {
		return document.Errorf(document.EINVALID, "a verification record needs a document, a version, an indication and a report")
	}
	r.ID, r.CreatedAt = newID(), now()
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO verification_reports (id, document_id, version_seq, indication, report_json, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, r.ID, r.DocumentID, r.VersionSeq, r.Indication, string(r.ReportJSON), micros(r.CreatedAt))
		return dbError("save verification", err, "verification report")
	})
}

// Verifications lists the reports kept for a document, oldest first.
func (db *DB) Verifications(ctx context.Context, documentID string) ([]*VerificationRecord, error) {
	return read(db, ctx, func(tx *Tx) ([]*VerificationRecord, error) {
		var rows []struct {
			ID         string `db:"id"`
			DocumentID string `db:"document_id"`
			VersionSeq int    `db:"version_seq"`
			Indication string `db:"indication"`
			ReportJSON string `db:"report_json"`
			CreatedAt  int64  `db:"created_at"`
		}
		if err := tx.selectRows(ctx, &rows, `SELECT id, document_id, version_seq, indication, report_json, created_at
			FROM verification_reports WHERE document_id = ? ORDER BY created_at, id`, documentID); err != nil {
			return nil, dbError("list verifications", err, "verification reports")
		}
		out := make([]*VerificationRecord, len(rows))
		for i, r := range rows {
			out[i] = &VerificationRecord{ID: r.ID, DocumentID: r.DocumentID, VersionSeq: r.VersionSeq, Indication: r.Indication,
				ReportJSON: []byte(r.ReportJSON), CreatedAt: fromMicros(r.CreatedAt)}
		}
		return out, nil
	})
}
