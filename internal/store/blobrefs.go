package store

import (
	"context"
	"time"
)

// BlobReferenced reports whether a stored object backs a version, an
// attachment, a signature image or a signing session's prepared PDF, so a
// refused upload of the same bytes is not deleted from under it.
func (db *DB) BlobReferenced(ctx context.Context, key string) (bool, error) {
	return read(db, ctx, func(tx *Tx) (bool, error) {
		var n int
		err := tx.get(ctx, &n, `SELECT
			(SELECT COUNT(*) FROM versions WHERE blob_key = ?) +
			(SELECT COUNT(*) FROM attachments WHERE blob_key = ?) +
			(SELECT COUNT(*) FROM signature_images WHERE blob_key = ?) +
			(SELECT COUNT(*) FROM signing_sessions WHERE prepared_key = ?)`, key, key, key, key)
		if err != nil {
			return false, dbError("blob references", err, "blob")
		}
		return n > 0, nil
	})
}

// UploadedBytes is how many bytes of versions and attachments a person has
// added since a time, for the upload quota.
func (db *DB) UploadedBytes(ctx context.Context, userID string, since time.Time) (int64, error) {
	return read(db, ctx, func(tx *Tx) (int64, error) {
		var n int64
		err := tx.get(ctx, &n, `SELECT
			COALESCE((SELECT SUM(size) FROM versions WHERE created_by = ? AND created_at >= ?), 0) +
			COALESCE((SELECT SUM(size) FROM attachments WHERE created_by = ? AND created_at >= ?), 0)`,
			userID, micros(since), userID, micros(since))
		if err != nil {
			return 0, dbError("uploaded bytes", err, "uploads")
		}
		return n, nil
	})
}
