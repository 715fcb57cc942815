package store

import (
	"context"
	"database/sql"
	"time"

	"vanban/internal/document"
	"vanban/internal/notify"
)

// NotifyCursor returns the last audit sequence number turned into notices.
func (db *DB) NotifyCursor(ctx context.Context) (int64, error) {
	return read(db, ctx, func(tx *Tx) (int64, error) {
		var seq int64
		if err := tx.get(ctx, &seq, `SELECT seq FROM notify_cursor WHERE id = 1`); err != nil {
			return 0, dbError("notify cursor", err, "notify cursor")
		}
		return seq, nil
	})
}

// RoleHolders lists the enabled users holding role in unit unitID or in a
// unit above it, in id order.
func (db *DB) RoleHolders(ctx context.Context, unitID string, role document.Role) ([]string, error) {
	return read(db, ctx, func(tx *Tx) ([]string, error) {
		var ids []string
		if err := tx.selectRows(ctx, &ids, `SELECT DISTINCT g.user_id FROM role_grants g
			JOIN units gu ON gu.id = g.unit_id JOIN users u ON u.id = g.user_id
			WHERE g.role = ? AND u.disabled = 0
			AND (SELECT path FROM units WHERE id = ?) LIKE gu.path || '%'
			ORDER BY g.user_id`, string(role), unitID); err != nil {
			return nil, dbError("role holders", err, "role holders")
		}
		return ids, nil
	})
}

// NotifyPreferences lists a person's stored channel choices.
func (db *DB) NotifyPreferences(ctx context.Context, userID string) ([]notify.Preference, error) {
	return read(db, ctx, func(tx *Tx) ([]notify.Preference, error) {
		var rows []struct {
			Channel string `db:"channel"`
			Mode    string `db:"mode"`
			Address string `db:"address"`
		}
		if err := tx.selectRows(ctx, &rows, `SELECT channel, mode, address FROM notify_preferences
			WHERE user_id = ? ORDER BY channel`, userID); err != nil {
			return nil, dbError("notify preferences", err, "preferences")
		}
		out := make([]notify.Preference, len(rows))
		for i, r := range rows {
			out[i] = notify.Preference{UserID: userID, Channel: r.Channel, Mode: notify.Mode(r.Mode), Address: r.Address}
		}
		return out, nil
	})
}

// SetNotifyPreference stores a person's choice for one channel. Returns
// EINVALID.
func (db *DB) SetNotifyPreference(ctx context.Context, p notify.Preference) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO notify_preferences (user_id, channel, mode, address, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id, channel) DO UPDATE SET mode = excluded.mode, address = excluded.address,
				updated_at = excluded.updated_at`, p.UserID, p.Channel, string(p.Mode), p.Address, micros(now()))
		return dbError("set notify preference", err, "user "+p.UserID)
	})
}

// RecordNotifications stores the notices of ns not already recorded (by
// DedupKey) with their outbox rows, and moves the cursor from fromSeq to
// toSeq when toSeq > fromSeq, all in one transaction. Returns ECONFLICT
// (storing nothing) when the cursor is no longer at fromSeq.
func (db *DB) RecordNotifications(ctx context.Context, fromSeq, toSeq int64, ns []notify.Notification) ([]notify.Notification, error) {
	return write(db, ctx, func(tx *Tx) ([]notify.Notification, error) {
		if toSeq > fromSeq {
			res, err := tx.exec(ctx, `UPDATE notify_cursor SET seq = ? WHERE id = 1 AND seq = ?`, toSeq, fromSeq)
			if err != nil {
				return nil, dbError("notify cursor", err, "notify cursor")
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil, document.Errorf(document.ECONFLICT, "the notify cursor moved past %d", fromSeq)
			}
		}
		var stored []notify.Notification
		at := now()
		for _, n := range ns {
			n.ID, n.CreatedAt = newID(), at
			res, err := tx.exec(ctx, `INSERT INTO notifications (id, user_id, kind, document_id, title, body, link, secret, dedup_key, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
				n.ID, n.UserID, string(n.Kind), nullString(n.DocumentID), n.Title, n.Body, n.Link, boolInt(n.Secret), n.DedupKey, micros(at))
			if err != nil {
				return nil, dbError("record notification", err, "notification for "+n.UserID)
			}
			if k, _ := res.RowsAffected(); k == 0 {
				continue // already told
			}
			for _, d := range n.Deliveries {
				if _, err := tx.exec(ctx, `INSERT INTO notify_outbox (id, notification_id, channel, address, digest, state,
					next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
					newID(), n.ID, d.Channel, d.Address, boolInt(d.Digest), micros(d.DueAt), micros(at)); err != nil {
					return nil, dbError("record delivery", err, "notification delivery")
				}
			}
			stored = append(stored, n)
		}
		return stored, nil
	})
}

// OpenIncomingByDeadline lists open incoming documents with a deadline in
// [from, to), earliest first.
func (db *DB) OpenIncomingByDeadline(ctx context.Context, from, to time.Time) ([]*document.Document, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Document, error) {
		var rows []documentRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+documentColumns+` FROM documents
			WHERE direction = ? AND deadline >= ? AND deadline < ? AND state IN (?, ?, ?, ?)
			ORDER BY deadline, id`, string(document.Incoming), micros(from), micros(to),
			string(document.StateRegistered), string(document.StateRouted), string(document.StateAssigned),
			string(document.StateInProgress)); err != nil {
			return nil, dbError("documents by deadline", err, "documents")
		}
		return documentsOf(rows), nil
	})
}

type notifyJobRow struct {
	ID         string         `db:"id"`
	Channel    string         `db:"channel"`
	Address    string         `db:"address"`
	Digest     int            `db:"digest"`
	Attempts   int            `db:"attempts"`
	NID        string         `db:"nid"`
	UserID     string         `db:"user_id"`
	Kind       string         `db:"kind"`
	DocumentID sql.NullString `db:"document_id"`
	Title      string         `db:"title"`
	Body       string         `db:"body"`
	Link       string         `db:"link"`
	Secret     int            `db:"secret"`
	CreatedAt  int64          `db:"created_at"`
}

// ClaimNotifyJobs returns up to limit pending deliveries due at at, leased
// (lease.go, kind LeaseNotify) for lease to a fresh claim token, which
// hides them from other claimers. Each claim counts as an attempt.
// Concurrent claimers get disjoint rows (as ClaimWebhookJobs).
func (db *DB) ClaimNotifyJobs(ctx context.Context, at time.Time, limit int, lease time.Duration) ([]notify.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	return write(db, ctx, func(tx *Tx) ([]notify.Job, error) {
		free, fargs := leaseFree(LeaseNotify, "o.id", "", at)
		var rows []notifyJobRow
		if err := tx.selectRows(ctx, &rows, `SELECT o.id, o.channel, o.address, o.digest, o.attempts,
				n.id AS nid, n.user_id, n.kind, n.document_id, n.title, n.body, n.link, n.secret, n.created_at
			FROM notify_outbox o JOIN notifications n ON n.id = o.notification_id
			WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND `+free+`
			ORDER BY o.next_attempt_at, o.id LIMIT ?`+tx.dialect.lockSkipLocked("o"), append(append([]any{micros(at)}, fargs...), limit)...); err != nil {
			return nil, dbError("claim notify jobs", err, "notify outbox")
		}
		token := newID()
		held, err := claimRows(ctx, tx, LeaseNotify, token, len(rows), func(i int) string { return rows[i].ID }, at, lease)
		if err != nil {
			return nil, err
		}
		jobs := make([]notify.Job, 0, len(rows))
		for _, r := range rows {
			if !held[r.ID] {
				continue
			}
			j := notify.Job{ID: r.ID, Channel: r.Channel, Address: r.Address, Digest: r.Digest == 1, Attempt: r.Attempts + 1,
				ClaimToken: token, Notification: notify.Notification{ID: r.NID, UserID: r.UserID, Kind: notify.Kind(r.Kind),
					DocumentID: r.DocumentID.String, Title: r.Title, Body: r.Body, Link: r.Link, Secret: r.Secret == 1,
					CreatedAt: fromMicros(r.CreatedAt)}}
			if _, err := tx.exec(ctx, `UPDATE notify_outbox SET attempts = ? WHERE id = ?`, j.Attempt, j.ID); err != nil {
				return nil, dbError("claim notify jobs", err, "notify outbox")
			}
			jobs = append(jobs, j)
		}
		return jobs, nil
	})
}

// FinishNotifyJob records the attempt of j and moves its row: delivered
// when errMsg is empty, dead when dead, else pending again at next. Returns
// ECONFLICT when the claim was lost (the attempt is recorded all the same).
func (db *DB) FinishNotifyJob(ctx context.Context, j notify.Job, errMsg string, dead bool, next time.Time) error {
	lost := false
	err := db.WithTx(ctx, func(tx *Tx) error {
		at := now()
		if _, err := tx.exec(ctx, `INSERT INTO notify_attempts (id, outbox_id, attempt, error, at) VALUES (?, ?, ?, ?, ?)`,
			newID(), j.ID, j.Attempt, errMsg, micros(at)); err != nil {
			return dbError("finish notify job", err, "notify attempt")
		}
		where := ` WHERE id = ? AND state = 'pending' AND ` + leaseHeld(LeaseNotify, "notify_outbox.id")
		var res sql.Result
		var err error
		switch {
		case errMsg == "":
			res, err = tx.exec(ctx, `UPDATE notify_outbox SET state = 'delivered', last_error = '', delivered_at = ?`+where,
				micros(at), j.ID, j.ClaimToken)
		case dead:
			res, err = tx.exec(ctx, `UPDATE notify_outbox SET state = 'dead', last_error = ?`+where,
				errMsg, j.ID, j.ClaimToken)
		default:
			res, err = tx.exec(ctx, `UPDATE notify_outbox SET last_error = ?, next_attempt_at = ?`+where,
				errMsg, micros(next), j.ID, j.ClaimToken)
		}
		if err != nil {
			return dbError("finish notify job", err, "notify outbox")
		}
		n, _ := res.RowsAffected()
		lost = n == 0
		return tx.ReleaseLeases(ctx, LeaseNotify, j.ClaimToken, j.ID)
	})
	if err != nil {
		return err
	}
	if lost {
		return document.Errorf(document.ECONFLICT, "notification delivery %s was claimed again", j.ID)
	}
	return nil
}

// NotifyDelivery is an outbox row as shown to its person and in tests.
type NotifyDelivery struct {
	ID        string `db:"id"`
	Channel   string `db:"channel"`
	State     string `db:"state"`
	Attempts  int    `db:"attempts"`
	LastError string `db:"last_error"`
}

// NotifyDeliveries lists the deliveries of a notification.
func (db *DB) NotifyDeliveries(ctx context.Context, notificationID string) ([]NotifyDelivery, error) {
	return read(db, ctx, func(tx *Tx) ([]NotifyDelivery, error) {
		var out []NotifyDelivery
		if err := tx.selectRows(ctx, &out, `SELECT id, channel, state, attempts, last_error FROM notify_outbox
			WHERE notification_id = ? ORDER BY channel`, notificationID); err != nil {
			return nil, dbError("notify deliveries", err, "deliveries")
		}
		return out, nil
	})
}

// Notifications lists a person's latest notices, newest first (at most
// limit, 1 to 200).
func (db *DB) Notifications(ctx context.Context, userID string, limit int) ([]notify.Notification, error) {
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	return read(db, ctx, func(tx *Tx) ([]notify.Notification, error) {
		var rows []struct {
			ID         string         `db:"id"`
			Kind       string         `db:"kind"`
			DocumentID sql.NullString `db:"document_id"`
			Title      string         `db:"title"`
			Body       string         `db:"body"`
			Link       string         `db:"link"`
			Secret     int            `db:"secret"`
			CreatedAt  int64          `db:"created_at"`
			ReadAt     sql.NullInt64  `db:"read_at"`
		}
		if err := tx.selectRows(ctx, &rows, `SELECT id, kind, document_id, title, body, link, secret, created_at, read_at
			FROM notifications WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?`, userID, limit); err != nil {
			return nil, dbError("notifications", err, "notifications")
		}
		out := make([]notify.Notification, len(rows))
		for i, r := range rows {
			out[i] = notify.Notification{ID: r.ID, UserID: userID, Kind: notify.Kind(r.Kind), DocumentID: r.DocumentID.String,
				Title: r.Title, Body: r.Body, Link: r.Link, Secret: r.Secret == 1, CreatedAt: fromMicros(r.CreatedAt),
				ReadAt: fromNullMicros(r.ReadAt)}
		}
		return out, nil
	})
}

// MarkNotificationRead marks one of a person's notices read. Returns
// ENOTFOUND for a notice of someone else.
func (db *DB) MarkNotificationRead(ctx context.Context, userID, id string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?`,
			micros(now()), id, userID)
		if err != nil {
			return dbError("mark notification read", err, "notification")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return document.Errorf(document.ENOTFOUND, "notification %s not found", id)
		}
		return nil
	})
}

var _ notify.Store = (*DB)(nil)
