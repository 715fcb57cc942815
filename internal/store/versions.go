package store

import (
	"context"
	"database/sql"

	"vanban/internal/document"
)

type versionRow struct {
	ID         string `db:"id"`
	DocumentID string `db:"document_id"`
	Seq        int    `db:"seq"`
	Kind       string `db:"kind"`
	BlobKey    string `db:"blob_key"`
	SHA256     string `db:"sha256"`
	Size       int64  `db:"size"`
	CreatedBy  string `db:"created_by"`
	CreatedAt  int64  `db:"created_at"`
}

func (r versionRow) domain() *document.Version {
	return &document.Version{ID: r.ID, DocumentID: r.DocumentID, Seq: r.Seq, Kind: document.VersionKind(r.Kind),
		BlobKey: r.BlobKey, SHA256: r.SHA256, Size: r.Size, CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt)}
}

const versionColumns = `id, document_id, seq, kind, blob_key, sha256, size, created_by, created_at`

// AddVersion appends a version to v.DocumentID, numbering it after the last
// one. There is no update or delete: versions are immutable. Returns
// EINVALID, ENOTFOUND for a missing document, ECONFLICT when another version
// was added at the same moment.
func (db *DB) AddVersion(ctx context.Context, v *document.Version) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.AddVersion(ctx, v) })
}

// AddVersion is the transactional form of DB.AddVersion.
func (tx *Tx) AddVersion(ctx context.Context, v *document.Version) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if _, err := tx.Document(ctx, v.DocumentID); err != nil {
		return err
	}
	var last sql.NullInt64
	if err := tx.get(ctx, &last, `SELECT MAX(seq) FROM versions WHERE document_id = ?`, v.DocumentID); err != nil {
		return dbError("add version", err, "version")
	}
	v.ID, v.Seq, v.CreatedAt = newID(), int(last.Int64)+1, now()
	_, err := tx.exec(ctx, `INSERT INTO versions (`+versionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.DocumentID, v.Seq, string(v.Kind), v.BlobKey, v.SHA256, v.Size, v.CreatedBy, micros(v.CreatedAt))
	return dbError("add version", err, "version")
}

// Versions lists a document's versions, oldest first.
func (db *DB) Versions(ctx context.Context, documentID string) ([]*document.Version, error) {
	return single(db, ctx, func(tx *Tx) ([]*document.Version, error) { return tx.Versions(ctx, documentID) })
}

// Versions is the transactional form of DB.Versions.
func (tx *Tx) Versions(ctx context.Context, documentID string) ([]*document.Version, error) {
	var rows []versionRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+versionColumns+` FROM versions WHERE document_id = ? ORDER BY seq`, documentID); err != nil {
		return nil, dbError("list versions", err, "versions")
	}
	out := make([]*document.Version, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// LatestVersion returns a document's newest version. Returns ENOTFOUND when
// it has none.
func (tx *Tx) LatestVersion(ctx context.Context, documentID string) (*document.Version, error) {
	var r versionRow
	if err := tx.get(ctx, &r, `SELECT `+versionColumns+` FROM versions WHERE document_id = ?
		ORDER BY seq DESC LIMIT 1`, documentID); err != nil {
		return nil, dbError("latest version", err, "a version of document "+documentID)
	}
	return r.domain(), nil
}

type attachmentRow struct {
	ID          string `db:"id"`
	DocumentID  string `db:"document_id"`
	Name        string `db:"name"`
	ContentType string `db:"content_type"`
	BlobKey     string `db:"blob_key"`
	SHA256      string `db:"sha256"`
	Size        int64  `db:"size"`
	CreatedBy   string `db:"created_by"`
	CreatedAt   int64  `db:"created_at"`
}

// AddAttachment stores a file that goes with a document. Returns EINVALID,
// ENOTFOUND for a missing document.
func (db *DB) AddAttachment(ctx context.Context, a *document.Attachment) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.AddAttachment(ctx, a) })
}

// AddAttachment is the transactional form of DB.AddAttachment.
func (tx *Tx) AddAttachment(ctx context.Context, a *document.Attachment) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if _, err := tx.Document(ctx, a.DocumentID); err != nil {
		return err
	}
	if a.ContentType == "" {
		a.ContentType = "application/octet-stream"
	}
	a.ID, a.CreatedAt = newID(), now()
	_, err := tx.exec(ctx, `INSERT INTO attachments (id, document_id, name, content_type, blob_key, sha256, size, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.DocumentID, a.Name, a.ContentType, a.BlobKey, a.SHA256, a.Size,
		a.CreatedBy, micros(a.CreatedAt))
	return dbError("add attachment", err, "attachment")
}

// Attachments lists a document's attachments in the order they were added.
func (db *DB) Attachments(ctx context.Context, documentID string) ([]*document.Attachment, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Attachment, error) { return tx.Attachments(ctx, documentID) })
}

// Attachments is the transactional form of DB.Attachments.
func (tx *Tx) Attachments(ctx context.Context, documentID string) ([]*document.Attachment, error) {
	var rows []attachmentRow
	if err := tx.selectRows(ctx, &rows, `SELECT id, document_id, name, content_type, blob_key, sha256, size, created_by, created_at
		FROM attachments WHERE document_id = ? ORDER BY created_at, id`, documentID); err != nil {
		return nil, dbError("list attachments", err, "attachments")
	}
	out := make([]*document.Attachment, len(rows))
	for i, r := range rows {
		out[i] = &document.Attachment{ID: r.ID, DocumentID: r.DocumentID, Name: r.Name, ContentType: r.ContentType,
			BlobKey: r.BlobKey, SHA256: r.SHA256, Size: r.Size, CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt)}
	}
	return out, nil
}
