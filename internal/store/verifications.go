package store

import (
	"context"

	"vanban/internal/document"
)

// VerificationRecord is a validation report kept for a document version.
type VerificationRecord = document.Verification

// SaveVerification keeps a validation report in its own transaction.
// Returns EINVALID for an incomplete record or an unknown document.
func (db *DB) SaveVerification(ctx context.Context, r *document.Verification) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.SaveVerification(ctx, r) })
}

// SaveVerification keeps a validation report; it sets r.ID and r.CreatedAt.
// Returns EINVALID for an incomplete record or an unknown document.
func (tx *Tx) SaveVerification(ctx context.Context, r *document.Verification) error {
	if r.DocumentID == "" || r.VersionSeq < 1 || r.Indication == "" || len(r.ReportJSON) == 0 {
		return document.Errorf(document.EINVALID, "a verification record needs a document, a version, an indication and a report")
	}
	r.ID, r.CreatedAt = newID(), now()
	_, err := tx.exec(ctx, `INSERT INTO verification_reports (id, document_id, version_seq, indication, report_json, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, r.DocumentID, r.VersionSeq, r.Indication, string(r.ReportJSON), r.CreatedBy, micros(r.CreatedAt))
	return dbError("save verification", err, "verification report")
}

// Verifications lists the reports kept for a document, oldest first.
func (db *DB) Verifications(ctx context.Context, documentID string) ([]*document.Verification, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Verification, error) { return tx.Verifications(ctx, documentID) })
}

// Verifications lists the reports kept for a document, oldest first.
func (tx *Tx) Verifications(ctx context.Context, documentID string) ([]*document.Verification, error) {
	var rows []struct {
		ID         string `db:"id"`
		DocumentID string `db:"document_id"`
		VersionSeq int    `db:"version_seq"`
		Indication string `db:"indication"`
		ReportJSON string `db:"report_json"`
		CreatedBy  string `db:"created_by"`
		CreatedAt  int64  `db:"created_at"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT id, document_id, version_seq, indication, report_json, created_by, created_at
		FROM verification_reports WHERE document_id = ? ORDER BY created_at, id`, documentID); err != nil {
		return nil, dbError("list verifications", err, "verification reports")
	}
	out := make([]*document.Verification, len(rows))
	for i, r := range rows {
		out[i] = &document.Verification{ID: r.ID, DocumentID: r.DocumentID, VersionSeq: r.VersionSeq, Indication: r.Indication,
			ReportJSON: []byte(r.ReportJSON), CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt)}
	}
	return out, nil
}
