package store

import (
	"context"

	"vanban/internal/document"
)

// Owners of signature images.
const (
	ImageOfUser = "user" // a leader's handwritten signature
	ImageOfOrg  = "org"  // an organization's seal
)

// SetSignatureImage records the PNG (a stored blob) drawn in the visible
// signatures of a user or an organization, replacing an earlier one.
// Returns EINVALID.
func (db *DB) SetSignatureImage(ctx context.Context, kind, ownerID, blobKey, sha256, updatedBy string) error {
	if (kind != ImageOfUser && kind != ImageOfOrg) || ownerID == "" || blobKey == "" || updatedBy == "" {
		return document.Errorf(document.EINVALID, "a signature image needs an owner (user or org), a blob and who set it")
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO signature_images (owner_kind, owner_id, blob_key, sha256, updated_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (owner_kind, owner_id) DO UPDATE SET blob_key = excluded.blob_key, sha256 = excluded.sha256,
				updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			kind, ownerID, blobKey, sha256, updatedBy, micros(now()))
		return dbError("set signature image", err, "signature image")
	})
}

// SignatureImage returns the blob key of the image of a user or an
// organization. Returns ENOTFOUND when none was set.
func (db *DB) SignatureImage(ctx context.Context, kind, ownerID string) (string, error) {
	return read(db, ctx, func(tx *Tx) (string, error) {
		var key string
		if err := tx.get(ctx, &key, `SELECT blob_key FROM signature_images WHERE owner_kind = ? AND owner_id = ?`, kind, ownerID); err != nil {
			return "", dbError("get signature image", err, "signature image")
		}
		return key, nil
	})
}
