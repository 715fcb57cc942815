package store

import (
	"context"

	"vanban/internal/document"
)

type typeRow struct {
	Code      string `db:"code"`
	Abbrev    string `db:"abbrev"`
	Name      string `db:"name"`
	Normative int    `db:"normative"`
}

func (r typeRow) domain() *document.DocumentType {
	return &document.DocumentType{Code: r.Code, Abbrev: r.Abbrev, Name: r.Name, Normative: r.Normative != 0}
}

// DocumentTypes lists the document types, seeded from Appendix III.
func (db *DB) DocumentTypes(ctx context.Context) ([]*document.DocumentType, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.DocumentType, error) {
		var rows []typeRow
		if err := tx.selectRows(ctx, &rows, `SELECT code, abbrev, name, normative FROM document_types ORDER BY name, code`); err != nil {
			return nil, dbError("list document types", err, "document types")
		}
		out := make([]*document.DocumentType, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// DocumentType returns the type with code. Returns ENOTFOUND.
func (db *DB) DocumentType(ctx context.Context, code string) (*document.DocumentType, error) {
	return read(db, ctx, func(tx *Tx) (*document.DocumentType, error) { return tx.DocumentType(ctx, code) })
}

// DocumentType is the transactional form of DB.DocumentType.
func (tx *Tx) DocumentType(ctx context.Context, code string) (*document.DocumentType, error) {
	var r typeRow
	if err := tx.get(ctx, &r, `SELECT code, abbrev, name, normative FROM document_types WHERE code = ?`, code); err != nil {
		return nil, dbError("get document type", err, "document type "+code)
	}
	return r.domain(), nil
}

// CreateDocumentType adds a type an administrator defined. Returns EINVALID,
// ECONFLICT when the code exists.
func (db *DB) CreateDocumentType(ctx context.Context, t *document.DocumentType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		normative := 0
		if t.Normative {
			normative = 1
		}
		_, err := tx.exec(ctx, `INSERT INTO document_types (code, abbrev, name, normative) VALUES (?, ?, ?, ?)`,
			t.Code, t.Abbrev, t.Name, normative)
		return dbError("create document type", err, "document type "+t.Code)
	})
}
