package store

import (
	"context"

	"vanban/internal/audit"
	"vanban/internal/document"
)

// Edits of the retention schedule (internal/records): each change and its
// audit entry in one transaction, compared and set, so two archivists
// editing the same entry cannot overwrite each other unseen.

// ChangeScheduleEntry replaces the entry that is exactly before (nil: none
// with after's code yet) by after (nil: the entry is removed) and appends
// e to the audit log, in one transaction. ECONFLICT (field "version") when
// the stored entry is no longer before.
func (db *DB) ChangeScheduleEntry(ctx context.Context, before, after *document.ScheduleEntry, e audit.Entry) error {
	if after != nil {
		if err := after.Validate(); err != nil {
			return err
		}
	}
	stale := func(code string) error {
		return document.FieldErrorf("version", document.ECONFLICT, "schedule entry %s was changed by someone else meanwhile; reload it and edit again", code)
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		switch {
		case before == nil && after == nil:
			return document.Errorf(document.EINVALID, "nothing to change")
		case before == nil:
			var n int
			if err := tx.get(ctx, &n, `SELECT COUNT(*) FROM retention_schedule WHERE org_id = ? AND code = ?`, after.OrgID, after.Code); err != nil {
				return dbError("schedule entry", err, "schedule entry")
			}
			if n > 0 {
				return stale(after.Code)
			}
			if _, err := tx.exec(ctx, `INSERT INTO retention_schedule (org_id, code, title, permanent, years, source) VALUES (?, ?, ?, ?, ?, ?)`,
				after.OrgID, after.Code, after.Title, boolInt(after.Permanent), after.Years, after.Source); err != nil {
				if isUniqueViolation(err) {
					return stale(after.Code)
				}
				return dbError("schedule entry", err, "schedule entry")
			}
		default:
			where := ` WHERE org_id = ? AND code = ? AND title = ? AND permanent = ? AND years = ? AND source = ?`
			args := []any{before.OrgID, before.Code, before.Title, boolInt(before.Permanent), before.Years, before.Source}
			q := `DELETE FROM retention_schedule` + where
			if after != nil {
				q = `UPDATE retention_schedule SET title = ?, permanent = ?, years = ?, source = ?` + where
				args = append([]any{after.Title, boolInt(after.Permanent), after.Years, after.Source}, args...)
			}
			res, err := tx.exec(ctx, q, args...)
			if err != nil {
				return dbError("schedule entry", err, "schedule entry")
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return stale(before.Code)
			}
		}
		_, err := tx.AppendAudit(ctx, e)
		return err
	})
}

// ScheduleFileCounts counts, by schedule code, the files of an
// organization that took their period from an entry.
func (db *DB) ScheduleFileCounts(ctx context.Context, orgID string) (map[string]int, error) {
	return read(db, ctx, func(tx *Tx) (map[string]int, error) {
		var rows []struct {
			Code string `db:"schedule_code"`
			N    int    `db:"n"`
		}
		if err := tx.selectRows(ctx, &rows, `SELECT schedule_code, COUNT(*) AS n FROM record_files
			WHERE org_id = ? AND schedule_code <> '' GROUP BY schedule_code`, orgID); err != nil {
			return nil, dbError("schedule file counts", err, "files")
		}
		out := make(map[string]int, len(rows))
		for _, r := range rows {
			out[r.Code] = r.N
		}
		return out, nil
	})
}
