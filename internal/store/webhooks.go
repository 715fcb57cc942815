package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"vanban/internal/document"
	"vanban/internal/webhook"
)

// maxWebhookPayload bounds one event's JSON. Events describe a change (ids,
// numbers, a subject), never carry the document itself.
const maxWebhookPayload = 64 << 10

type webhookEndpointRow struct {
	ID          string        `db:"id"`
	OrgID       string        `db:"org_id"`
	URL         string        `db:"url"`
	Secret      string        `db:"secret"`
	Events      string        `db:"events"`
	Description string        `db:"description"`
	Active      int           `db:"active"`
	CreatedAt   int64         `db:"created_at"`
	DisabledAt  sql.NullInt64 `db:"disabled_at"`
}

const webhookEndpointColumns = `id, org_id, url, secret, events, description, active, created_at, disabled_at`

func (r webhookEndpointRow) domain() *webhook.Endpoint {
	return &webhook.Endpoint{ID: r.ID, OrgID: r.OrgID, URL: r.URL, Secret: r.Secret, Events: strings.Split(r.Events, ","),
		Description: r.Description, Active: r.Active != 0, CreatedAt: fromMicros(r.CreatedAt), DisabledAt: fromNullMicros(r.DisabledAt)}
}

// CreateWebhookEndpoint registers a receiver for an organization. An empty
// Secret is replaced by a random one, which the caller shows to the
// administrator once. ID, Active and CreatedAt are set. Returns EINVALID for
// a URL that is not http(s), a bad event filter or an unknown organization.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.CreateWebhookEndpoint(ctx, e) })
}

// CreateWebhookEndpoint is the transactional form of DB.CreateWebhookEndpoint.
func (tx *Tx) CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	e.URL = strings.TrimSpace(e.URL)
	if err := webhook.CheckURL(e.URL); err != nil {
		return err
	}
	if err := webhook.CheckEvents(e.Events); err != nil {
		return err
	}
	if e.OrgID == "" {
		return document.Errorf(document.EINVALID, "a webhook endpoint belongs to an organization")
	}
	if e.Secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		e.Secret = hex.EncodeToString(b)
	} else if len(e.Secret) < 16 {
		return document.Errorf(document.EINVALID, "a webhook secret needs at least 16 characters")
	}
	e.ID, e.Active, e.CreatedAt, e.DisabledAt = newID(), true, now(), time.Time{}
	_, err := tx.exec(ctx, `INSERT INTO webhook_endpoints (`+webhookEndpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, 1, ?, NULL)`,
		e.ID, e.OrgID, e.URL, e.Secret, strings.Join(e.Events, ","), e.Description, micros(e.CreatedAt))
	return dbError("create webhook endpoint", err, "webhook endpoint")
}

// WebhookEndpoint returns one endpoint, secret included. Returns ENOTFOUND.
func (db *DB) WebhookEndpoint(ctx context.Context, id string) (*webhook.Endpoint, error) {
	return read(db, ctx, func(tx *Tx) (*webhook.Endpoint, error) {
		var r webhookEndpointRow
		if err := tx.get(ctx, &r, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE id = ?`, id); err != nil {
			return nil, dbError("webhook endpoint", err, "webhook endpoint "+id)
		}
		return r.domain(), nil
	})
}

// WebhookEndpoints lists an organization's endpoints, disabled ones too,
// oldest first. Secrets are included; the HTTP layer must not show them.
func (db *DB) WebhookEndpoints(ctx context.Context, orgID string) ([]*webhook.Endpoint, error) {
	return read(db, ctx, func(tx *Tx) ([]*webhook.Endpoint, error) {
		var rows []webhookEndpointRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
			WHERE org_id = ? ORDER BY created_at, id`, orgID); err != nil {
			return nil, dbError("webhook endpoints", err, "webhook endpoints")
		}
		out := make([]*webhook.Endpoint, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// DisableWebhookEndpoint stops deliveries to an endpoint for good: no new
// events are queued for it and its pending rows become dead, so a receiver
// that was removed does not get a backlog if an id is ever reused. Returns
// ENOTFOUND, ECONFLICT when already disabled.
func (db *DB) DisableWebhookEndpoint(ctx context.Context, id string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		t := now()
		res, err := tx.exec(ctx, `UPDATE webhook_endpoints SET active = 0, disabled_at = ? WHERE id = ? AND active = 1`, micros(t), id)
		if err != nil {
			return dbError("disable webhook endpoint", err, "webhook endpoint")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.get(ctx, &one, `SELECT 1 FROM webhook_endpoints WHERE id = ?`, id); err != nil {
				return dbError("disable webhook endpoint", err, "webhook endpoint "+id)
			}
			return document.Errorf(document.ECONFLICT, "webhook endpoint %s is already disabled", id)
		}
		if _, err := tx.exec(ctx, `DELETE FROM leases WHERE kind = ? AND id IN (SELECT id FROM webhook_outbox WHERE endpoint_id = ? AND state = ?)`,
			LeaseWebhook, id, webhook.StatePending); err != nil {
			return dbError("disable webhook endpoint", err, "lease")
		}
		_, err = tx.exec(ctx, `UPDATE webhook_outbox SET state = ?, last_error = ?
			WHERE endpoint_id = ? AND state = ?`, webhook.StateDead, "endpoint disabled", id, webhook.StatePending)
		return dbError("disable webhook endpoint", err, "webhook outbox")
	})
}

// EnqueueWebhookEvent queues eventType with payload (a JSON object) for each
// active endpoint of the organization subscribed to it, inside the caller's
// transaction: the event exists exactly when the change it announces
// commits. No subscribed endpoint means nothing is written. Returns EINVALID
// for a bad event name or payload.
func (tx *Tx) EnqueueWebhookEvent(ctx context.Context, orgID, eventType string, payload []byte) error {
	if err := webhook.CheckEventName(eventType); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, payload); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("{")) {
		return document.Errorf(document.EINVALID, "the payload of %s must be a JSON object", eventType)
	}
	if buf.Len() > maxWebhookPayload {
		return document.Errorf(document.EINVALID, "the payload of %s is %d bytes, more than %d", eventType, buf.Len(), maxWebhookPayload)
	}
	var rows []webhookEndpointRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
		WHERE org_id = ? AND active = 1 ORDER BY id`, orgID); err != nil {
		return dbError("enqueue webhook event", err, "webhook endpoints")
	}
	t := micros(now())
	for _, r := range rows {
		if !r.domain().Wants(eventType) {
			continue
		}
		if _, err := tx.exec(ctx, `INSERT INTO webhook_outbox (id, endpoint_id, event_type, payload, state, attempts,
			next_attempt_at, last_error, created_at, delivered_at) VALUES (?, ?, ?, ?, ?, 0, ?, '', ?, NULL)`,
			newID(), r.ID, eventType, buf.String(), webhook.StatePending, t, t); err != nil {
			return dbError("enqueue webhook event", err, "webhook event")
		}
		if err := tx.NotifyWork(ctx, LeaseWebhook); err != nil {
			return err
		}
	}
	return nil
}

type webhookJobRow struct {
	ID         string `db:"id"`
	EndpointID string `db:"endpoint_id"`
	Event      string `db:"event_type"`
	Payload    string `db:"payload"`
	Attempts   int    `db:"attempts"`
	CreatedAt  int64  `db:"created_at"`
	URL        string `db:"url"`
	Secret     string `db:"secret"`
}

// ClaimWebhookJobs returns up to limit pending rows due at now, oldest due
// first, leased (lease.go, kind LeaseWebhook) for lease to a fresh claim
// token, which hides them from other claimers. Each claim counts as an
// attempt. Concurrent claimers get disjoint rows: on PostgreSQL rows locked
// by another claim are skipped (lockSkipLocked), on SQLite claims are
// serialized by the write lock; in both, a row leased and committed is
// skipped until its lease expires.
func (db *DB) ClaimWebhookJobs(ctx context.Context, at time.Time, limit int, lease time.Duration) ([]webhook.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	return write(db, ctx, func(tx *Tx) ([]webhook.Job, error) {
		free, fargs := leaseFree(LeaseWebhook, "o.id", "", at)
		var rows []webhookJobRow
		if err := tx.selectRows(ctx, &rows, `SELECT o.id, o.endpoint_id, o.event_type, o.payload, o.attempts, o.created_at,
				e.url, e.secret
			FROM webhook_outbox o JOIN webhook_endpoints e ON e.id = o.endpoint_id
			WHERE o.state = ? AND o.next_attempt_at <= ? AND e.active = 1 AND `+free+`
			ORDER BY o.next_attempt_at, o.id
			LIMIT ?`+tx.dialect.lockSkipLocked("o"), append(append([]any{webhook.StatePending, micros(at)}, fargs...), limit)...); err != nil {
			return nil, dbError("claim webhook jobs", err, "webhook outbox")
		}
		token := newID()
		held, err := claimRows(ctx, tx, LeaseWebhook, token, len(rows), func(i int) string { return rows[i].ID }, at, lease)
		if err != nil {
			return nil, err
		}
		jobs := make([]webhook.Job, 0, len(rows))
		for _, r := range rows {
			if !held[r.ID] {
				continue
			}
			j := webhook.Job{ID: r.ID, EndpointID: r.EndpointID, URL: r.URL, Secret: r.Secret, Event: r.Event,
				Payload: json.RawMessage(r.Payload), CreatedAt: fromMicros(r.CreatedAt), Attempt: r.Attempts + 1, ClaimToken: token}
			if _, err := tx.exec(ctx, `UPDATE webhook_outbox SET attempts = ? WHERE id = ?`, j.Attempt, j.ID); err != nil {
				return nil, dbError("claim webhook jobs", err, "webhook outbox")
			}
			jobs = append(jobs, j)
		}
		return jobs, nil
	})
}

// FinishWebhookJob records o.Attempt and moves the row to o.State:
// delivered, pending again at o.NextAttemptAt, or dead. The row changes only
// if j's claim is still the current one; otherwise (the lease ran out and
// another worker claimed the row) the attempt is recorded all the same and
// ECONFLICT is returned. Returns EINVALID for an unknown state.
func (db *DB) FinishWebhookJob(ctx context.Context, j webhook.Job, o webhook.Outcome) error {
	lost := false
	err := db.WithTx(ctx, func(tx *Tx) error {
		a := o.Attempt
		if _, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (id, outbox_id, attempt, status_code, duration_us, error, at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, newID(), j.ID, a.Attempt, a.StatusCode, a.Duration.Microseconds(), a.Error, micros(a.At)); err != nil {
			return dbError("finish webhook job", err, "webhook delivery")
		}
		var res sql.Result
		var err error
		where := ` WHERE id = ? AND state = 'pending' AND ` + leaseHeld(LeaseWebhook, "webhook_outbox.id")
		switch o.State {
		case webhook.StateDelivered:
			res, err = tx.exec(ctx, `UPDATE webhook_outbox SET state = ?, last_error = '', delivered_at = ?`+where,
				webhook.StateDelivered, micros(now()), j.ID, j.ClaimToken)
		case webhook.StatePending:
			res, err = tx.exec(ctx, `UPDATE webhook_outbox SET last_error = ?, next_attempt_at = ?`+where,
				a.Error, micros(o.NextAttemptAt), j.ID, j.ClaimToken)
		case webhook.StateDead:
			res, err = tx.exec(ctx, `UPDATE webhook_outbox SET state = ?, last_error = ?`+where,
				webhook.StateDead, a.Error, j.ID, j.ClaimToken)
		default:
			return document.Errorf(document.EINVALID, "webhook outcome state %q is not delivered, pending or dead", o.State)
		}
		if err != nil {
			return dbError("finish webhook job", err, "webhook outbox")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return dbError("finish webhook job", err, "webhook outbox")
		}
		lost = n == 0
		return tx.ReleaseLeases(ctx, LeaseWebhook, j.ClaimToken, j.ID)
	})
	if err != nil {
		return err
	}
	if lost {
		return document.Errorf(document.ECONFLICT, "webhook delivery %s was claimed again after attempt %d; the later claim decides", j.ID, j.Attempt)
	}
	return nil
}

type webhookMessageRow struct {
	ID            string        `db:"id"`
	EndpointID    string        `db:"endpoint_id"`
	Event         string        `db:"event_type"`
	Payload       string        `db:"payload"`
	State         string        `db:"state"`
	Attempts      int           `db:"attempts"`
	NextAttemptAt int64         `db:"next_attempt_at"`
	LastError     string        `db:"last_error"`
	CreatedAt     int64         `db:"created_at"`
	DeliveredAt   sql.NullInt64 `db:"delivered_at"`
}

const webhookMessageColumns = `id, endpoint_id, event_type, payload, state, attempts, next_attempt_at, last_error, created_at, delivered_at`

func (r webhookMessageRow) domain() webhook.Message {
	return webhook.Message{ID: r.ID, EndpointID: r.EndpointID, Event: r.Event, Payload: json.RawMessage(r.Payload),
		State: webhook.State(r.State), Attempts: r.Attempts, NextAttemptAt: fromMicros(r.NextAttemptAt), LastError: r.LastError,
		CreatedAt: fromMicros(r.CreatedAt), DeliveredAt: fromNullMicros(r.DeliveredAt)}
}

// WebhookMessage returns one outbox row. Returns ENOTFOUND.
func (db *DB) WebhookMessage(ctx context.Context, id string) (webhook.Message, error) {
	return read(db, ctx, func(tx *Tx) (webhook.Message, error) {
		var r webhookMessageRow
		if err := tx.get(ctx, &r, `SELECT `+webhookMessageColumns+` FROM webhook_outbox WHERE id = ?`, id); err != nil {
			return webhook.Message{}, dbError("webhook message", err, "webhook delivery "+id)
		}
		return r.domain(), nil
	})
}

// WebhookMessages lists an endpoint's outbox rows, newest first, at most
// limit of them.
func (db *DB) WebhookMessages(ctx context.Context, endpointID string, limit int) ([]webhook.Message, error) {
	return read(db, ctx, func(tx *Tx) ([]webhook.Message, error) {
		var rows []webhookMessageRow
		if err := tx.selectRows(ctx, &rows, `SELECT `+webhookMessageColumns+` FROM webhook_outbox
			WHERE endpoint_id = ? ORDER BY created_at DESC, id LIMIT ?`, endpointID, limit); err != nil {
			return nil, dbError("webhook messages", err, "webhook outbox")
		}
		out := make([]webhook.Message, len(rows))
		for i, r := range rows {
			out[i] = r.domain()
		}
		return out, nil
	})
}

// WebhookDeliveries lists the attempts made for one outbox row, in order.
func (db *DB) WebhookDeliveries(ctx context.Context, outboxID string) ([]webhook.Attempt, error) {
	return read(db, ctx, func(tx *Tx) ([]webhook.Attempt, error) {
		var rows []struct {
			OutboxID   string `db:"outbox_id"`
			Attempt    int    `db:"attempt"`
			StatusCode int    `db:"status_code"`
			DurationUS int64  `db:"duration_us"`
			Error      string `db:"error"`
			At         int64  `db:"at"`
		}
		if err := tx.selectRows(ctx, &rows, `SELECT outbox_id, attempt, status_code, duration_us, error, at
			FROM webhook_deliveries WHERE outbox_id = ? ORDER BY attempt, at`, outboxID); err != nil {
			return nil, dbError("webhook deliveries", err, "webhook deliveries")
		}
		out := make([]webhook.Attempt, len(rows))
		for i, r := range rows {
			out[i] = webhook.Attempt{OutboxID: r.OutboxID, Attempt: r.Attempt, StatusCode: r.StatusCode,
				Duration: time.Duration(r.DurationUS) * time.Microsecond, Error: r.Error, At: fromMicros(r.At)}
		}
		return out, nil
	})
}

// RedeliverWebhookMessage puts a dead row back in the queue, due now with a
// fresh count of attempts: for an administrator after the receiver's outage
// outlasted the retries. Returns ENOTFOUND, ECONFLICT unless the row is dead
// and its endpoint active.
func (db *DB) RedeliverWebhookMessage(ctx context.Context, id string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE webhook_outbox SET state = ?, attempts = 0, next_attempt_at = ?
			WHERE id = ? AND state = ? AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE active = 1)`,
			webhook.StatePending, micros(now()), id, webhook.StateDead)
		if err != nil {
			return dbError("redeliver webhook", err, "webhook outbox")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.get(ctx, &one, `SELECT 1 FROM webhook_outbox WHERE id = ?`, id); err != nil {
				return dbError("redeliver webhook", err, "webhook delivery "+id)
			}
			return document.Errorf(document.ECONFLICT, "webhook delivery %s is not dead, or its endpoint is disabled", id)
		}
		return nil
	})
}

var _ webhook.Queue = (*DB)(nil)
