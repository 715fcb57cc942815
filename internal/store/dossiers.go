package store

import (
	"context"

	"vanban/internal/lookup"
)

type dossierRow struct {
	DocumentID string `db:"document_id"`
	OrgID      string `db:"org_id"`
	Code       string `db:"code"`
	FiledOn    string `db:"filed_on"`
	CreatedBy  string `db:"created_by"`
	CreatedAt  int64  `db:"created_at"`
	UpdatedAt  int64  `db:"updated_at"`
}

func (r dossierRow) domain() *lookup.Dossier {
	return &lookup.Dossier{DocumentID: r.DocumentID, OrgID: r.OrgID, Code: r.Code, FiledOn: r.FiledOn, CreatedBy: r.CreatedBy,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}
}

const dossierColumns = `document_id, org_id, code, filed_on, created_by, created_at, updated_at`

// SetDossier stores d for its document, replacing the document's earlier
// code. Returns ECONFLICT when another document has the code, EINVALID for
// an unknown document.
func (db *DB) SetDossier(ctx context.Context, d *lookup.Dossier) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		at := now()
		_, err := tx.exec(ctx, `INSERT INTO dossiers (`+dossierColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (document_id) DO UPDATE SET code = excluded.code, filed_on = excluded.filed_on,
				created_by = excluded.created_by, updated_at = excluded.updated_at`,
			d.DocumentID, d.OrgID, d.Code, d.FiledOn, d.CreatedBy, micros(at), micros(at))
		if err != nil {
			return dbError("set dossier", err, "dossier code "+d.Code)
		}
		d.UpdatedAt = at
		return nil
	})
}

// Dossier returns the dossier with the (normalized) code. Returns
// ENOTFOUND.
func (db *DB) Dossier(ctx context.Context, code string) (*lookup.Dossier, error) {
	return read(db, ctx, func(tx *Tx) (*lookup.Dossier, error) {
		var r dossierRow
		if err := tx.get(ctx, &r, `SELECT `+dossierColumns+` FROM dossiers WHERE code = ?`, code); err != nil {
			return nil, dbError("get dossier", err, "dossier")
		}
		return r.domain(), nil
	})
}

// DossierOf returns the dossier of a document. Returns ENOTFOUND.
func (db *DB) DossierOf(ctx context.Context, documentID string) (*lookup.Dossier, error) {
	return read(db, ctx, func(tx *Tx) (*lookup.Dossier, error) {
		var r dossierRow
		if err := tx.get(ctx, &r, `SELECT `+dossierColumns+` FROM dossiers WHERE document_id = ?`, documentID); err != nil {
			return nil, dbError("get dossier", err, "dossier")
		}
		return r.domain(), nil
	})
}

var _ lookup.Source = (*DB)(nil)
