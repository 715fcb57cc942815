package store

import (
	"context"

	"vanban/internal/document"
)

type registerRow struct {
	ID         string `db:"id"`
	OrgID      string `db:"org_id"`
	Direction  string `db:"direction"`
	Year       int    `db:"year"`
	Series     string `db:"series"`
	Name       string `db:"name"`
	NextNumber int    `db:"next_number"`
	CreatedAt  int64  `db:"created_at"`
}

func (r registerRow) domain() *document.Register {
	return &document.Register{ID: r.ID, OrgID: r.OrgID, Direction: document.Direction(r.Direction), Year: r.Year,
		Series: r.Series, Name: r.Name, NextNumber: r.NextNumber, CreatedAt: fromMicros(r.CreatedAt)}
}

const registerColumns = `id, org_id, direction, year, series, name, next_number, created_at`

// EnsureRegister returns the register of an organization for a direction,
// year and series, creating it (numbering from 1) on first use. Returns
// EINVALID, ENOTFOUND for a missing organization.
func (db *DB) EnsureRegister(ctx context.Context, orgID string, dir document.Direction, year int, series string) (*document.Register, error) {
	return write(db, ctx, func(tx *Tx) (*document.Register, error) { return tx.EnsureRegister(ctx, orgID, dir, year, series) })
}

// EnsureRegister is the transactional form of DB.EnsureRegister.
func (tx *Tx) EnsureRegister(ctx context.Context, orgID string, dir document.Direction, year int, series string) (*document.Register, error) {
	if !dir.Valid() || year < 1900 || year > 9999 || series == "" {
		return nil, document.Errorf(document.EINVALID, "register needs a direction, a four-digit year and a series (got %q, %d, %q)", dir, year, series)
	}
	if _, err := tx.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	// Two transactions creating the same register: ON CONFLICT makes the
	// second wait for the first and then insert nothing.
	if _, err := tx.exec(ctx, `INSERT INTO registers (id, org_id, direction, year, series, name, next_number, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (org_id, direction, year, series) DO NOTHING`,
		newID(), orgID, string(dir), year, series, document.RegisterName(dir, year, series), micros(now())); err != nil {
		return nil, dbError("create register", err, "register")
	}
	var r registerRow
	if err := tx.get(ctx, &r, `SELECT `+registerColumns+` FROM registers
		WHERE org_id = ? AND direction = ? AND year = ? AND series = ?`, orgID, string(dir), year, series); err != nil {
		return nil, dbError("get register", err, "register")
	}
	return r.domain(), nil
}

// Register returns the register with id. Returns ENOTFOUND.
func (db *DB) Register(ctx context.Context, id string) (*document.Register, error) {
	return read(db, ctx, func(tx *Tx) (*document.Register, error) { return tx.Register(ctx, id) })
}

// Register is the transactional form of DB.Register.
func (tx *Tx) Register(ctx context.Context, id string) (*document.Register, error) {
	var r registerRow
	if err := tx.get(ctx, &r, `SELECT `+registerColumns+` FROM registers WHERE id = ?`, id); err != nil {
		return nil, dbError("get register", err, "register "+id)
	}
	return r.domain(), nil
}

// Registers lists an organization's registers for a year.
func (db *DB) Registers(ctx context.Context, orgID string, year int) ([]*document.Register, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Register, error) { return tx.Registers(ctx, orgID, year) })
}

// Registers is the transactional form of DB.Registers.
func (tx *Tx) Registers(ctx context.Context, orgID string, year int) ([]*document.Register, error) {
	var rows []registerRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+registerColumns+` FROM registers
		WHERE org_id = ? AND year = ? ORDER BY direction DESC, series`, orgID, year); err != nil {
		return nil, dbError("list registers", err, "registers")
	}
	out := make([]*document.Register, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// NextNumber takes the next number from a register in its own transaction.
// Prefer Tx.NextNumber inside the transaction that records the number on the
// document, so a failure later in that transaction gives the number back.
// Returns ENOTFOUND.
func (db *DB) NextNumber(ctx context.Context, registerID string) (int, error) {
	return write(db, ctx, func(tx *Tx) (int, error) { return tx.NextNumber(ctx, registerID) })
}

// NextNumber takes the next number from a register. The single UPDATE ...
// RETURNING both reads and increments: on PostgreSQL it holds the row lock
// until the transaction ends, so concurrent callers queue and each sees the
// previous one's increment; on SQLite the transaction already holds the
// database write lock (BEGIN IMMEDIATE). Numbers are therefore gapless and
// never repeat, and a rolled-back transaction returns its number.
func (tx *Tx) NextNumber(ctx context.Context, registerID string) (int, error) {
	var n int
	if err := tx.get(ctx, &n, `UPDATE registers SET next_number = next_number + 1 WHERE id = ?
		RETURNING next_number - 1`, registerID); err != nil {
		return 0, dbError("next number", err, "register "+registerID)
	}
	return n, nil
}

// RegisterEntries lists the documents recorded in a register in number
// order: the rows of the printed register (Appendix IV of Decree 30/2020).
func (db *DB) RegisterEntries(ctx context.Context, registerID string) ([]*document.Document, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Document, error) {
		var rows []documentRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+documentColumns+` FROM documents
			WHERE register_id = ? ORDER BY number`, registerID); err != nil {
			return nil, dbError("register entries", err, "register entries")
		}
		return documentsOf(rows), nil
	})
}
