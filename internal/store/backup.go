package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jmoiron/sqlx"
)

// BlobRef is a stored object the database points at.
type BlobRef struct {
	Key string
	// SHA256 is the hex digest the database recorded with the reference;
	// empty where it records none (an exchange package).
	SHA256 string
	// Where names the table and column, for messages.
	Where string
}

// SnapshotSQLite writes a consistent copy of the SQLite database to path
// (VACUUM INTO) while other connections, of this process or of a running
// server, keep reading and writing. path must not exist. On PostgreSQL it
// fails: use pg_dump there.
func (db *DB) SnapshotSQLite(ctx context.Context, path string) error {
	if db.dialect != SQLite {
		return fmt.Errorf("store: snapshot: %s is not SQLite; back it up with pg_dump", db.dialect)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("store: snapshot: %s exists", path)
	}
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("store: snapshot into %s: %w", path, err)
	}
	return nil
}

// OpenSnapshot opens a SQLite file read-only and immutable: nothing is
// written to it or beside it (no -wal or -shm file), so its bytes, and their
// digest, stay what they were. For reading a backup's database.
func OpenSnapshot(ctx context.Context, path string) (*DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: snapshot path %q holds ? or #", path)
	}
	sqldb, err := sqlx.Open(string(SQLite), "file:"+path+"?mode=ro&immutable=1&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	sqldb.SetMaxOpenConns(2)
	db := &DB{db: sqldb, dialect: SQLite, sqlitePath: path}
	if err := db.Ping(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: open snapshot %s: %w", path, err)
	}
	return db, nil
}

// IntegrityCheck runs SQLite's integrity_check and foreign_key_check; an
// error lists what they found. On PostgreSQL it does nothing.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	var problems []string
	if err := db.db.SelectContext(ctx, &problems, `PRAGMA integrity_check`); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if len(problems) == 1 && problems[0] == "ok" {
		problems = nil
	}
	rows, err := db.db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("store: foreign key check: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid, fkid any
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("store: foreign key check: %w", err)
		}
		problems = append(problems, fmt.Sprintf("%s row %v refers to a missing %s", table, rowid, parent))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: foreign key check: %w", err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return fmt.Errorf("store: the database is damaged: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Migrations returns the versions recorded in schema_migrations, and those
// of them this binary does not know (the database was migrated by a newer
// vanban).
func (db *DB) Migrations(ctx context.Context) (recorded, unknown []string, err error) {
	if err := db.db.SelectContext(ctx, &recorded, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		return nil, nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	list, err := migrations(db.dialect)
	if err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, m := range list {
		known[m.version] = true
	}
	for _, v := range recorded {
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	return recorded, unknown, nil
}

// BlobRefs lists every stored object the database refers to: document
// versions, attachments, signature images, prepared PDFs of signing
// sessions and received exchange packages with their files. The same key
// may appear more than once.
func (db *DB) BlobRefs(ctx context.Context) ([]BlobRef, error) {
	return read(db, ctx, func(tx *Tx) ([]BlobRef, error) {
		var refs []BlobRef
		for _, q := range []struct{ where, query string }{
			{"versions.blob_key", `SELECT blob_key AS k, sha256 AS h FROM versions`},
			{"attachments.blob_key", `SELECT blob_key AS k, sha256 AS h FROM attachments`},
			{"signature_images.blob_key", `SELECT blob_key AS k, sha256 AS h FROM signature_images`},
			{"signing_sessions.prepared_key", `SELECT prepared_key AS k, prepared_sha256 AS h FROM signing_sessions WHERE prepared_key <> ''`},
			{"exchange_inbox.pdf_blob", `SELECT pdf_blob AS k, pdf_sha256 AS h FROM exchange_inbox WHERE pdf_blob <> ''`},
			{"exchange_inbox.package_blob", `SELECT package_blob AS k, '' AS h FROM exchange_inbox WHERE package_blob <> ''`},
		} {
			var rows []struct {
				K string `db:"k"`
				H string `db:"h"`
			}
			if err := tx.selectRows(ctx, &rows, q.query); err != nil {
				return nil, dbError("blob references", err, q.where)
			}
			for _, r := range rows {
				refs = append(refs, BlobRef{Key: r.K, SHA256: strings.ToLower(r.H), Where: q.where})
			}
		}
		var atts []string
		if err := tx.selectRows(ctx, &atts, `SELECT attachments_json FROM exchange_inbox WHERE attachments_json NOT IN ('', '[]')`); err != nil {
			return nil, dbError("blob references", err, "exchange_inbox.attachments_json")
		}
		for _, js := range atts {
			var files []struct {
				BlobKey string `json:"blob_key"`
				SHA256  string `json:"sha256"`
			}
			if err := json.Unmarshal([]byte(js), &files); err != nil {
				return nil, errors.Join(fmt.Errorf("store: exchange_inbox.attachments_json is not a list of files"), err)
			}
			for _, f := range files {
				if f.BlobKey != "" {
					refs = append(refs, BlobRef{Key: f.BlobKey, SHA256: strings.ToLower(f.SHA256), Where: "exchange_inbox.attachments_json"})
				}
			}
		}
		return refs, nil
	})
}
