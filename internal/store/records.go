package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"vanban/internal/document"
)

// Files (hồ sơ) and the retention schedule; see migration 0752.

type scheduleRow struct {
	OrgID     string `db:"org_id"`
	Code      string `db:"code"`
	Title     string `db:"title"`
	Permanent int    `db:"permanent"`
	Years     int    `db:"years"`
	Source    string `db:"source"`
}

// PutScheduleEntry inserts or replaces one entry of an organization's
// retention schedule.
func (db *DB) PutScheduleEntry(ctx context.Context, e *document.ScheduleEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	return db.WithTx(ctx, func(tx *Tx) error { return tx.PutScheduleEntry(ctx, e) })
}

// PutScheduleEntry is the transactional form of DB.PutScheduleEntry.
func (tx *Tx) PutScheduleEntry(ctx context.Context, e *document.ScheduleEntry) error {
	res, err := tx.exec(ctx, `UPDATE retention_schedule SET title = ?, permanent = ?, years = ?, source = ? WHERE org_id = ? AND code = ?`,
		e.Title, boolInt(e.Permanent), e.Years, e.Source, e.OrgID, e.Code)
	if err != nil {
		return dbError("schedule entry", err, "schedule entry")
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = tx.exec(ctx, `INSERT INTO retention_schedule (org_id, code, title, permanent, years, source) VALUES (?, ?, ?, ?, ?, ?)`,
		e.OrgID, e.Code, e.Title, boolInt(e.Permanent), e.Years, e.Source)
	return dbError("schedule entry", err, "schedule entry")
}

// DeleteScheduleEntry removes an entry; files keep the period they took.
func (db *DB) DeleteScheduleEntry(ctx context.Context, orgID, code string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM retention_schedule WHERE org_id = ? AND code = ?`, orgID, code)
		if err != nil {
			return dbError("schedule entry", err, "schedule entry")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return document.Errorf(document.ENOTFOUND, "schedule entry %s not found", code)
		}
		return nil
	})
}

// Schedule returns an organization's retention schedule, by code.
func (db *DB) Schedule(ctx context.Context, orgID string) ([]*document.ScheduleEntry, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.ScheduleEntry, error) {
		var rows []scheduleRow
		if err := tx.selectRows(ctx, &rows, `SELECT org_id, code, title, permanent, years, source FROM retention_schedule
			WHERE org_id = ? ORDER BY code`, orgID); err != nil {
			return nil, dbError("schedule", err, "schedule")
		}
		out := make([]*document.ScheduleEntry, len(rows))
		for i, r := range rows {
			out[i] = &document.ScheduleEntry{OrgID: r.OrgID, Code: r.Code, Title: r.Title, Permanent: r.Permanent != 0, Years: r.Years, Source: r.Source}
		}
		return out, nil
	})
}

// ScheduleEntry returns one entry, ENOTFOUND when missing.
func (db *DB) ScheduleEntry(ctx context.Context, orgID, code string) (*document.ScheduleEntry, error) {
	return read(db, ctx, func(tx *Tx) (*document.ScheduleEntry, error) {
		var r scheduleRow
		if err := tx.get(ctx, &r, `SELECT org_id, code, title, permanent, years, source FROM retention_schedule
			WHERE org_id = ? AND code = ?`, orgID, code); err != nil {
			return nil, dbError("schedule entry", err, "schedule entry "+code)
		}
		return &document.ScheduleEntry{OrgID: r.OrgID, Code: r.Code, Title: r.Title, Permanent: r.Permanent != 0, Years: r.Years, Source: r.Source}, nil
	})
}

type fileRow struct {
	ID            string        `db:"id"`
	OrgID         string        `db:"org_id"`
	Year          int           `db:"year"`
	Number        int           `db:"number"`
	Notation      string        `db:"notation"`
	Title         string        `db:"title"`
	UnitID        string        `db:"unit_id"`
	ResponsibleID string        `db:"responsible_id"`
	ScheduleCode  string        `db:"schedule_code"`
	Permanent     int           `db:"permanent"`
	Years         int           `db:"years"`
	StartDate     int64         `db:"start_date"`
	EndDate       sql.NullInt64 `db:"end_date"`
	Closed        int           `db:"closed"`
	ClosedAt      sql.NullInt64 `db:"closed_at"`
	HandoverDue   sql.NullInt64 `db:"handover_due"`
	NotifiedAt    sql.NullInt64 `db:"notified_at"`
	CreatedBy     string        `db:"created_by"`
	CreatedAt     int64         `db:"created_at"`
	Documents     int           `db:"documents"`
}

const fileColumns = `f.id, f.org_id, f.year, f.number, f.notation, f.title, f.unit_id, f.responsible_id, f.schedule_code,
	f.permanent, f.years, f.start_date, f.end_date, f.closed, f.closed_at, f.handover_due, f.notified_at, f.created_by, f.created_at,
	(SELECT COUNT(*) FROM record_file_documents d WHERE d.file_id = f.id) AS documents`

func (r fileRow) domain() *document.RecordFile {
	return &document.RecordFile{ID: r.ID, OrgID: r.OrgID, Year: r.Year, Number: r.Number, Notation: r.Notation, Title: r.Title,
		UnitID: r.UnitID, ResponsibleID: r.ResponsibleID, ScheduleCode: r.ScheduleCode, Permanent: r.Permanent != 0, Years: r.Years,
		StartDate: fromMicros(r.StartDate), EndDate: fromNullMicros(r.EndDate), Closed: r.Closed != 0, ClosedAt: fromNullMicros(r.ClosedAt),
		HandoverDue: fromNullMicros(r.HandoverDue), NotifiedAt: fromNullMicros(r.NotifiedAt), CreatedBy: r.CreatedBy,
		CreatedAt: fromMicros(r.CreatedAt), Documents: r.Documents}
}

// CreateFile adds f to its organization's list for f.Year, numbered next
// in that year when f.Number is 0. It fills ID, Number and CreatedAt.
func (db *DB) CreateFile(ctx context.Context, f *document.RecordFile) error {
	if err := f.Validate(); err != nil {
		return err
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		if f.Number == 0 {
			var n sql.NullInt64
			if err := tx.get(ctx, &n, `SELECT MAX(number) FROM record_files WHERE org_id = ? AND year = ?`, f.OrgID, f.Year); err != nil {
				return dbError("create file", err, "file")
			}
			f.Number = int(n.Int64) + 1
		}
		f.ID, f.CreatedAt = newID(), now()
		_, err := tx.exec(ctx, `INSERT INTO record_files (id, org_id, year, number, notation, title, unit_id, responsible_id,
			schedule_code, permanent, years, start_date, end_date, closed, created_by, created_at, search_text)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
			f.ID, f.OrgID, f.Year, f.Number, f.Notation, f.Title, f.UnitID, f.ResponsibleID, f.ScheduleCode, boolInt(f.Permanent),
			f.Years, micros(f.StartDate), nullMicros(f.EndDate), f.CreatedBy, micros(f.CreatedAt), fileSearchText(f))
		return dbError("create file", err, "file number "+f.Notation)
	})
}

func fileSearchText(f *document.RecordFile) string {
	return document.Fold(f.Title + " " + f.Notation)
}

// File returns one file, ENOTFOUND when missing.
func (db *DB) File(ctx context.Context, id string) (*document.RecordFile, error) {
	return read(db, ctx, func(tx *Tx) (*document.RecordFile, error) { return tx.File(ctx, id) })
}

// File is the transactional form of DB.File.
func (tx *Tx) File(ctx context.Context, id string) (*document.RecordFile, error) {
	var r fileRow
	if err := tx.get(ctx, &r, `SELECT `+fileColumns+` FROM record_files f WHERE f.id = ?`, id); err != nil {
		return nil, dbError("file", err, "file "+id)
	}
	return r.domain(), nil
}

// Files lists an organization's files in time order (year, start date,
// number), filtered by q.
func (db *DB) Files(ctx context.Context, q document.FileQuery) ([]*document.RecordFile, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.RecordFile, error) {
		where := []string{"f.org_id = ?"}
		args := []any{q.OrgID}
		if q.Year != 0 {
			where = append(where, "f.year = ?")
			args = append(args, q.Year)
		}
		switch q.State {
		case "open":
			where = append(where, "f.closed = 0")
		case "closed":
			where = append(where, "f.closed = 1")
		}
		for _, w := range strings.Fields(document.Fold(q.Text)) {
			where = append(where, "f.search_text LIKE ? ESCAPE '\\'")
			args = append(args, "%"+escapeLike(w)+"%")
		}
		limit := q.Limit
		if limit <= 0 || limit > 1000 {
			limit = 500
		}
		args = append(args, limit)
		var rows []fileRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+fileColumns+` FROM record_files f WHERE `+strings.Join(where, " AND ")+`
			ORDER BY f.year, f.start_date, f.number LIMIT ?`, args...); err != nil {
			return nil, dbError("files", err, "files")
		}
		out := make([]*document.RecordFile, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// AddFileDocument puts a document into an open file; adding it twice is a
// no-op. A closed file refuses (ECONFLICT).
func (db *DB) AddFileDocument(ctx context.Context, fileID, documentID, userID string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		f, err := tx.File(ctx, fileID)
		if err != nil {
			return err
		}
		if f.Closed {
			return document.Errorf(document.ECONFLICT, "file %s is closed and takes no more documents", f.Notation)
		}
		var n int
		if err := tx.get(ctx, &n, `SELECT COUNT(*) FROM record_file_documents WHERE file_id = ? AND document_id = ?`, fileID, documentID); err != nil {
			return dbError("file document", err, "file document")
		}
		if n > 0 {
			return nil
		}
		_, err = tx.exec(ctx, `INSERT INTO record_file_documents (file_id, document_id, added_by, added_at) VALUES (?, ?, ?, ?)`,
			fileID, documentID, userID, micros(now()))
		return dbError("file document", err, "document")
	})
}

// RemoveFileDocument takes a document out of an open file.
func (db *DB) RemoveFileDocument(ctx context.Context, fileID, documentID string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		f, err := tx.File(ctx, fileID)
		if err != nil {
			return err
		}
		if f.Closed {
			return document.Errorf(document.ECONFLICT, "file %s is closed", f.Notation)
		}
		_, err = tx.exec(ctx, `DELETE FROM record_file_documents WHERE file_id = ? AND document_id = ?`, fileID, documentID)
		return dbError("file document", err, "file document")
	})
}

// FileDocuments returns the documents of a file in time order: the date
// of the document (issued, or received for incoming ones), then creation.
func (db *DB) FileDocuments(ctx context.Context, fileID string) ([]*document.Document, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Document, error) {
		var rows []documentRow
		cols := strings.ReplaceAll(documentColumns, "\n\t", " ")
		prefixed := make([]string, 0, 40)
		for _, c := range strings.Split(cols, ",") {
			prefixed = append(prefixed, "d."+strings.TrimSpace(c))
		}
		if err := tx.selectRows(ctx, &rows, `SELECT `+strings.Join(prefixed, ", ")+` FROM documents d
			JOIN record_file_documents fd ON fd.document_id = d.id WHERE fd.file_id = ?
			ORDER BY COALESCE(d.issued_at, d.numbered_at, d.sender_date, d.received_at, d.created_at), d.created_at, d.id`, fileID); err != nil {
			return nil, dbError("file documents", err, "file documents")
		}
		out := make([]*document.Document, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// FilesOfDocument returns the files a document belongs to.
func (db *DB) FilesOfDocument(ctx context.Context, documentID string) ([]*document.RecordFile, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.RecordFile, error) {
		var rows []fileRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+fileColumns+` FROM record_files f
			JOIN record_file_documents fd ON fd.file_id = f.id WHERE fd.document_id = ? ORDER BY f.year, f.number`, documentID); err != nil {
			return nil, dbError("files of document", err, "files")
		}
		out := make([]*document.RecordFile, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// CloseFile marks a file closed at closedAt, with its end date and the
// date it is due at the archive.
func (db *DB) CloseFile(ctx context.Context, fileID string, closedAt, endDate, handoverDue time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE record_files SET closed = 1, closed_at = ?, end_date = ?, handover_due = ?
			WHERE id = ? AND closed = 0`, micros(closedAt), micros(endDate), micros(handoverDue), fileID)
		if err != nil {
			return dbError("close file", err, "file")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return document.Errorf(document.ECONFLICT, "file %s is already closed or does not exist", fileID)
		}
		return nil
	})
}

// FilesDueForHandover returns the closed files of an organization ("" for
// every organization) due at the archive before before, soonest first;
// unnotified only when unnotified is set.
func (db *DB) FilesDueForHandover(ctx context.Context, orgID string, before time.Time, unnotified bool) ([]*document.RecordFile, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.RecordFile, error) {
		q := `SELECT ` + fileColumns + ` FROM record_files f WHERE f.closed = 1 AND f.handover_due < ?`
		args := []any{micros(before)}
		if orgID != "" {
			q += ` AND f.org_id = ?`
			args = append(args, orgID)
		}
		if unnotified {
			q += ` AND f.notified_at IS NULL`
		}
		var rows []fileRow
		if err := tx.selectRows(ctx, &rows, q+` ORDER BY f.handover_due, f.id LIMIT 1000`, args...); err != nil {
			return nil, dbError("files due", err, "files")
		}
		out := make([]*document.RecordFile, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// MarkFileNotified records that the archivist was told about the file's
// hand-over and publishes the webhook event eventType with payload, in
// one transaction: a notification is sent once.
func (db *DB) MarkFileNotified(ctx context.Context, f *document.RecordFile, at time.Time, eventType string, payload []byte) (bool, error) {
	var marked bool
	err := db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE record_files SET notified_at = ? WHERE id = ? AND notified_at IS NULL`, micros(at), f.ID)
		if err != nil {
			return dbError("file notified", err, "file")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		marked = true
		return tx.EnqueueWebhookEvent(ctx, f.OrgID, eventType, payload)
	})
	return marked, err
}

// FileRetentionOf is the retention of a document from the files it belongs
// to: permanent if any is, else the longest period; ok false when it is in
// no file.
func (db *DB) FileRetentionOf(ctx context.Context, documentID string) (permanent bool, years int, ok bool, err error) {
	files, err := db.FilesOfDocument(ctx, documentID)
	if err != nil || len(files) == 0 {
		return false, 0, false, err
	}
	for _, f := range files {
		if f.Permanent {
			return true, 0, true, nil
		}
		years = max(years, f.Years)
	}
	return false, years, true, nil
}
