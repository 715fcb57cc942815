package store

import (
	"context"
	"encoding/base64"
	"fmt"

	"vanban/internal/audit"
)

// The seal and the anchors of the audit chain (internal/audit, anchor.go).
// Their migration differs per engine (triggers), so it is registered here,
// next to the code that uses it, rather than as a portable .sql file.
func init() {
	dialectMigrations["0750_audit_seal_anchors"] = map[Dialect]string{
		Postgres: `
CREATE TABLE audit_seal (
	id   INTEGER PRIMARY KEY,
	seq  BIGINT NOT NULL,
	hash TEXT NOT NULL,
	mac  TEXT NOT NULL
);
INSERT INTO audit_seal (id, seq, hash, mac) VALUES (1, 0, '` + audit.GenesisHash + `', '');
CREATE TABLE audit_anchors (
	id    TEXT PRIMARY KEY,
	seq   BIGINT NOT NULL,
	hash  TEXT NOT NULL,
	at    BIGINT NOT NULL,
	token TEXT NOT NULL,
	mac   TEXT NOT NULL
);
CREATE INDEX audit_anchors_seq ON audit_anchors(seq, at);
CREATE TRIGGER audit_seal_no_insert_delete
	BEFORE INSERT OR DELETE ON audit_seal
	FOR EACH ROW EXECUTE FUNCTION vanban_audit_append_only();
CREATE TRIGGER audit_seal_no_truncate
	BEFORE TRUNCATE ON audit_seal
	FOR EACH STATEMENT EXECUTE FUNCTION vanban_audit_append_only();
CREATE TRIGGER audit_anchors_append_only
	BEFORE UPDATE OR DELETE ON audit_anchors
	FOR EACH ROW EXECUTE FUNCTION vanban_audit_append_only();
CREATE TRIGGER audit_anchors_no_truncate
	BEFORE TRUNCATE ON audit_anchors
	FOR EACH STATEMENT EXECUTE FUNCTION vanban_audit_append_only();
`,
		SQLite: `
CREATE TABLE audit_seal (
	id   INTEGER PRIMARY KEY,
	seq  BIGINT NOT NULL,
	hash TEXT NOT NULL,
	mac  TEXT NOT NULL
);
INSERT INTO audit_seal (id, seq, hash, mac) VALUES (1, 0, '` + audit.GenesisHash + `', '');
CREATE TABLE audit_anchors (
	id    TEXT PRIMARY KEY,
	seq   BIGINT NOT NULL,
	hash  TEXT NOT NULL,
	at    BIGINT NOT NULL,
	token TEXT NOT NULL,
	mac   TEXT NOT NULL
);
CREATE INDEX audit_anchors_seq ON audit_anchors(seq, at);
CREATE TRIGGER audit_seal_no_insert BEFORE INSERT ON audit_seal
BEGIN SELECT RAISE(ABORT, 'audit_seal has exactly one row'); END;
CREATE TRIGGER audit_seal_no_delete BEFORE DELETE ON audit_seal
BEGIN SELECT RAISE(ABORT, 'audit_seal cannot be deleted'); END;
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit_anchors is append-only: UPDATE rejected'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit_anchors is append-only: DELETE rejected'); END;
`,
	}
}

// SetAuditKey makes every later append seal the head with key (from
// audit.HeadKey). Call it once after Open, before the DB is shared.
func (db *DB) SetAuditKey(key []byte) { db.auditKey = append([]byte(nil), key...) }

// sealHead writes the seal of the head (seq, hash) in the append's
// transaction; without a key the seal is emptied, which VerifyWith reports.
func (tx *Tx) sealHead(ctx context.Context, seq int64, hash string) error {
	mac := ""
	if tx.auditKey != nil {
		mac = audit.HeadMAC(tx.auditKey, seq, hash)
	}
	if _, err := tx.exec(ctx, `UPDATE audit_seal SET seq = ?, hash = ?, mac = ? WHERE id = 1`, seq, hash, mac); err != nil {
		return fmt.Errorf("store: audit append: seal head: %w", err)
	}
	return nil
}

// SealAuditHead seals the current head if the seal was never written: the
// first start with a key after the seal's migration, on a log whose older
// entries were appended before seals existed. A seal written once is never
// replaced here; only AppendAudit moves it.
func (db *DB) SealAuditHead(ctx context.Context) (sealed bool, err error) {
	if db.auditKey == nil {
		return false, fmt.Errorf("store: seal audit head: no key set")
	}
	err = db.WithTx(ctx, func(tx *Tx) error {
		var row struct {
			Seq int64  `db:"seq"`
			MAC string `db:"mac"`
		}
		if err := tx.get(ctx, &row, `SELECT seq, mac FROM audit_seal WHERE id = 1`); err != nil {
			return dbError("audit seal", err, "audit seal")
		}
		if row.MAC != "" || row.Seq != 0 {
			return nil
		}
		var head struct {
			Seq  int64  `db:"seq"`
			Hash string `db:"hash"`
		}
		if err := tx.get(ctx, &head, `SELECT seq, hash FROM audit_head WHERE id = 1`); err != nil {
			return dbError("audit head", err, "audit head")
		}
		sealed = true
		return tx.sealHead(ctx, head.Seq, head.Hash)
	})
	return sealed, err
}

// AuditSealedHead reads the head and its seal in one transaction.
func (db *DB) AuditSealedHead(ctx context.Context) (audit.Head, error) {
	return read(db, ctx, func(tx *Tx) (audit.Head, error) {
		var h audit.Head
		var head struct {
			Seq  int64  `db:"seq"`
			Hash string `db:"hash"`
		}
		if err := tx.get(ctx, &head, `SELECT seq, hash FROM audit_head WHERE id = 1`); err != nil {
			return h, dbError("audit head", err, "audit head")
		}
		var seal struct {
			Seq  int64  `db:"seq"`
			Hash string `db:"hash"`
			MAC  string `db:"mac"`
		}
		if err := tx.get(ctx, &seal, `SELECT seq, hash, mac FROM audit_seal WHERE id = 1`); err != nil {
			return h, dbError("audit seal", err, "audit seal")
		}
		return audit.Head{Seq: head.Seq, Hash: head.Hash, MAC: seal.MAC, SealSeq: seal.Seq, SealHash: seal.Hash}, nil
	})
}

type anchorRow struct {
	ID    string `db:"id"`
	Seq   int64  `db:"seq"`
	Hash  string `db:"hash"`
	At    int64  `db:"at"`
	Token string `db:"token"`
	MAC   string `db:"mac"`
}

func (r anchorRow) anchor() (audit.Anchor, error) {
	tok, err := base64.StdEncoding.DecodeString(r.Token)
	if err != nil {
		return audit.Anchor{}, fmt.Errorf("store: audit anchor %s: token: %w", r.ID, err)
	}
	return audit.Anchor{Seq: r.Seq, Hash: r.Hash, Time: fromMicros(r.At), Token: tok, MAC: r.MAC}, nil
}

// AddAuditAnchor keeps an anchor.
func (db *DB) AddAuditAnchor(ctx context.Context, a audit.Anchor) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO audit_anchors (id, seq, hash, at, token, mac) VALUES (?, ?, ?, ?, ?, ?)`,
			newID(), a.Seq, a.Hash, micros(a.Time), base64.StdEncoding.EncodeToString(a.Token), a.MAC)
		return dbError("audit anchor", err, "audit anchor")
	})
}

// AuditAnchors returns every anchor, oldest first.
func (db *DB) AuditAnchors(ctx context.Context) ([]audit.Anchor, error) {
	return read(db, ctx, func(tx *Tx) ([]audit.Anchor, error) {
		var rows []anchorRow
		if err := tx.selectRows(ctx, &rows, `SELECT id, seq, hash, at, token, mac FROM audit_anchors ORDER BY seq, at`); err != nil {
			return nil, dbError("audit anchors", err, "audit anchors")
		}
		out := make([]audit.Anchor, 0, len(rows))
		for _, r := range rows {
			a, err := r.anchor()
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	})
}

// LastAuditAnchor returns the anchor of the highest sequence number.
func (db *DB) LastAuditAnchor(ctx context.Context) (audit.Anchor, bool, error) {
	var (
		a   audit.Anchor
		has bool
	)
	err := db.WithReadTx(ctx, func(tx *Tx) error {
		var rows []anchorRow
		if err := tx.selectRows(ctx, &rows, `SELECT id, seq, hash, at, token, mac FROM audit_anchors ORDER BY seq DESC, at DESC LIMIT 1`); err != nil {
			return dbError("audit anchors", err, "audit anchors")
		}
		if len(rows) == 0 {
			return nil
		}
		var err error
		a, err = rows[0].anchor()
		has = err == nil
		return err
	})
	return a, has, err
}

var (
	_ audit.SealedSource = (*DB)(nil)
	_ audit.AnchorStore  = (*DB)(nil)
)
