package store

import (
	"context"

	"vanban/internal/document"
)

// PendingTextVersions returns up to limit versions whose text has not been
// extracted yet, oldest first.
func (db *DB) PendingTextVersions(ctx context.Context, limit int) ([]*document.Version, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Version, error) {
		var rows []versionRow
		err := tx.selectRows(ctx, &rows, `SELECT v.id, v.document_id, v.seq, v.kind, v.blob_key, v.sha256, v.size, v.created_by, v.created_at FROM versions v
			LEFT JOIN version_texts t ON t.version_id = v.id WHERE t.version_id IS NULL ORDER BY v.created_at, v.id LIMIT ?`, limit)
		if err != nil {
			return nil, dbError("pending version texts", err, "versions")
		}
		out := make([]*document.Version, len(rows))
		for i := range rows {
			out[i] = rows[i].domain()
		}
		return out, nil
	})
}

// SetVersionText stores a version's extracted text, once (a second call
// changes nothing), and when the version is its document's latest, the
// document's search form (document.SearchTokens of its number and symbol,
// subject, sender and this text). Returns ENOTFOUND for an unknown
// version.
func (db *DB) SetVersionText(ctx context.Context, t document.VersionText) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		var docs []string
		if err := tx.selectRows(ctx, &docs, `SELECT document_id FROM versions WHERE id = ?`, t.VersionID); err != nil {
			return dbError("version text", err, "version "+t.VersionID)
		}
		if len(docs) == 0 {
			return document.Errorf(document.ENOTFOUND, "version %s not found", t.VersionID)
		}
		t.DocumentID = docs[0]
		if _, err := tx.exec(ctx, `INSERT INTO version_texts (version_id, document_id, pages, body, failure, extracted_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (version_id) DO NOTHING`,
			t.VersionID, t.DocumentID, t.Pages, t.Body, t.Failure, micros(now())); err != nil {
			return dbError("store version text", err, "version "+t.VersionID)
		}
		latest, err := tx.LatestVersion(ctx, t.DocumentID)
		if err != nil {
			return err
		}
		if latest.ID != t.VersionID {
			return nil
		}
		d, err := tx.Document(ctx, t.DocumentID)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE documents SET search_body = ? WHERE id = ?`,
			document.SearchTokens(d.Symbol, d.Subject, d.SenderName, t.Body), t.DocumentID)
		return dbError("document search text", err, "document "+t.DocumentID)
	})
}

// LatestVersionText returns the extracted text of a document's latest
// version; ok is false when it is not extracted yet.
func (db *DB) LatestVersionText(ctx context.Context, documentID string) (t document.VersionText, ok bool, err error) {
	err = db.WithTx(ctx, func(tx *Tx) error {
		t, ok, err = tx.LatestVersionText(ctx, documentID)
		return err
	})
	return t, ok, err
}

// LatestVersionText is the transactional form of DB.LatestVersionText.
func (tx *Tx) LatestVersionText(ctx context.Context, documentID string) (t document.VersionText, ok bool, err error) {
	var rows []struct {
		VersionID string `db:"version_id"`
		Pages     int    `db:"pages"`
		Body      string `db:"body"`
		Failure   string `db:"failure"`
	}
	if err := tx.selectRows(ctx, &rows, `SELECT t.version_id, t.pages, t.body, t.failure FROM version_texts t
		JOIN versions v ON v.id = t.version_id WHERE v.document_id = ? ORDER BY v.seq DESC LIMIT 1`, documentID); err != nil {
		return t, false, dbError("latest version text", err, "document "+documentID)
	}
	if len(rows) == 0 {
		return t, false, nil
	}
	r := rows[0]
	return document.VersionText{VersionID: r.VersionID, DocumentID: documentID, Pages: r.Pages, Body: r.Body, Failure: r.Failure}, true, nil
}

// PreviousVersionText returns the version before v (seq − 1) with its
// extracted text; ok is false when v is the first or that text is not
// extracted yet.
func (db *DB) PreviousVersionText(ctx context.Context, v *document.Version) (prev *document.Version, t document.VersionText, ok bool, err error) {
	var rows []struct {
		versionRow
		Pages   int    `db:"pages"`
		Body    string `db:"body"`
		Failure string `db:"failure"`
	}
	_, err = single(db, ctx, func(tx *Tx) (struct{}, error) {
		return struct{}{}, tx.selectRows(ctx, &rows, `SELECT v.id, v.document_id, v.seq, v.kind, v.blob_key, v.sha256, v.size, v.created_by, v.created_at,
			t.pages, t.body, t.failure FROM versions v JOIN version_texts t ON t.version_id = v.id
			WHERE v.document_id = ? AND v.seq = ?`, v.DocumentID, v.Seq-1)
	})
	if err != nil {
		return nil, t, false, dbError("previous version text", err, "version "+v.ID)
	}
	if len(rows) == 0 {
		return nil, t, false, nil
	}
	r := rows[0]
	return r.versionRow.domain(), document.VersionText{VersionID: r.ID, DocumentID: v.DocumentID, Pages: r.Pages, Body: r.Body, Failure: r.Failure}, true, nil
}

// TextOfSameBytes returns the extracted text of some version whose file
// has the SHA-256 sum (lowercase hex); ok is false when none was extracted
// without failure. The bytes decide the text, whoever's document they are.
func (db *DB) TextOfSameBytes(ctx context.Context, sum string) (t document.VersionText, ok bool, err error) {
	var rows []struct {
		Pages int    `db:"pages"`
		Body  string `db:"body"`
	}
	_, err = single(db, ctx, func(tx *Tx) (struct{}, error) {
		return struct{}{}, tx.selectRows(ctx, &rows, `SELECT t.pages, t.body FROM versions v
			JOIN version_texts t ON t.version_id = v.id WHERE v.sha256 = ? AND t.failure = '' LIMIT 1`, sum)
	})
	if err != nil {
		return t, false, dbError("text of the same bytes", err, "versions")
	}
	if len(rows) == 0 {
		return t, false, nil
	}
	return document.VersionText{Pages: rows[0].Pages, Body: rows[0].Body}, true, nil
}
