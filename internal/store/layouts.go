package store

import (
	"context"

	"vanban/internal/document"
)

// SetDocumentLayout stores the signing layout of a document (JSON), replacing
// an earlier one. Returns EINVALID for an unknown document or user.
func (tx *Tx) SetDocumentLayout(ctx context.Context, documentID, layoutJSON, userID string) error {
	if documentID == "" || layoutJSON == "" || userID == "" {
		return document.Errorf(document.EINVALID, "a layout needs a document, its JSON and who set it")
	}
	_, err := tx.exec(ctx, `INSERT INTO document_layouts (document_id, layout_json, updated_by, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (document_id) DO UPDATE SET layout_json = excluded.layout_json, updated_by = excluded.updated_by,
			updated_at = excluded.updated_at`, documentID, layoutJSON, userID, micros(now()))
	return dbError("set document layout", err, "document "+documentID)
}

// DocumentLayout returns the layout JSON of a document, "" when it has none.
func (db *DB) DocumentLayout(ctx context.Context, documentID string) (string, error) {
	return read(db, ctx, func(tx *Tx) (string, error) { return tx.DocumentLayout(ctx, documentID) })
}

// DocumentLayout is the transactional form of DB.DocumentLayout.
func (tx *Tx) DocumentLayout(ctx context.Context, documentID string) (string, error) {
	var rows []string
	if err := tx.selectRows(ctx, &rows, `SELECT layout_json FROM document_layouts WHERE document_id = ?`, documentID); err != nil {
		return "", dbError("get document layout", err, "document "+documentID)
	}
	if len(rows) == 0 {
		return "", nil
	}
	return rows[0], nil
}
