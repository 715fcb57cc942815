package store

import "context"

// SetRecipientNames replaces the recipients of a document named as text,
// in order.
func (tx *Tx) SetRecipientNames(ctx context.Context, documentID string, names []string) error {
	if _, err := tx.exec(ctx, `DELETE FROM recipient_names WHERE document_id = ?`, documentID); err != nil {
		return dbError("set recipient names", err, "recipient names")
	}
	for i, n := range names {
		if _, err := tx.exec(ctx, `INSERT INTO recipient_names (document_id, seq, name) VALUES (?, ?, ?)`, documentID, i+1, n); err != nil {
			return dbError("set recipient names", err, "recipient name")
		}
	}
	return nil
}

// RecipientNames lists the recipients of a document named as text.
func (tx *Tx) RecipientNames(ctx context.Context, documentID string) ([]string, error) {
	var names []string
	if err := tx.selectRows(ctx, &names, `SELECT name FROM recipient_names WHERE document_id = ? ORDER BY seq`, documentID); err != nil {
		return nil, dbError("recipient names", err, "recipient names")
	}
	return names, nil
}
