package store

import (
	"context"
	"strings"
	"time"
)

// Leases say which node works on a background job. Several vanban serve
// processes share one PostgreSQL database; a job (a signing session, ...)
// is worked by the node that holds its lease, which renews it while it
// works. A node that dies stops renewing, the lease expires, and the next
// node to claim the job takes it over. The mechanism knows nothing of the
// jobs: a kind and an id name one, and the job's own table keeps its state.
//
// Claims are one statement, INSERT ... ON CONFLICT DO UPDATE ... WHERE the
// lease is the claimer's own or expired ... RETURNING: of two nodes
// claiming the same job at once, PostgreSQL lets exactly one update the
// row, and the other gets nothing back. SQLite runs the same statement,
// but a SQLite database serves one node only.

// Lease kinds.
const (
	LeaseSigning  = "signing"  // signing_sessions.id
	LeaseRenewal  = "renewal"  // archive_records.document_id (archive renewals)
	LeaseWebhook  = "webhook"  // webhook_outbox.id; the holder is the claim token
	LeaseNotify   = "notify"   // notify_outbox.id; the holder is the claim token
	LeaseExchange = "exchange" // exchange_outbox.id; the holder is the claim token
)

// maxLeaseBatch bounds the ids of one statement (placeholders).
const maxLeaseBatch = 500

// ClaimLeases claims the leases on ids of kind for holder until now+ttl:
// free ones, expired ones and the holder's own (renewed). It returns the
// ids now held by holder; an id missing from the result is held by another
// node whose lease is still live.
func (db *DB) ClaimLeases(ctx context.Context, kind, holder string, ids []string, now time.Time, ttl time.Duration) ([]string, error) {
	return write(db, ctx, func(tx *Tx) ([]string, error) { return tx.ClaimLeases(ctx, kind, holder, ids, now, ttl) })
}

// ClaimLeases is the transactional form of DB.ClaimLeases: a job created
// in tx is claimed in the same commit.
func (tx *Tx) ClaimLeases(ctx context.Context, kind, holder string, ids []string, now time.Time, ttl time.Duration) ([]string, error) {
	var out []string
	for len(ids) > 0 {
		n := min(len(ids), maxLeaseBatch)
		part := ids[:n]
		ids = ids[n:]
		at, until := micros(now), micros(now.Add(ttl))
		values := make([]string, len(part))
		args := make([]any, 0, 5*len(part)+1)
		for i, id := range part {
			values[i] = "(?, ?, ?, ?, ?)"
			args = append(args, kind, id, holder, at, until)
		}
		args = append(args, at)
		var got []string
		err := tx.selectRows(ctx, &got, `INSERT INTO leases (kind, id, holder, acquired_at, expires_at) VALUES `+
			strings.Join(values, ", ")+`
			ON CONFLICT (kind, id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
				acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
			WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
			RETURNING id`, args...)
		if err != nil {
			return nil, dbError("claim leases", err, "lease")
		}
		out = append(out, got...)
	}
	return out, nil
}

// RenewLeases extends holder's leases on ids until now+ttl, expired ones
// too as long as nobody took them over, and returns the ids still held.
func (db *DB) RenewLeases(ctx context.Context, kind, holder string, ids []string, now time.Time, ttl time.Duration) ([]string, error) {
	return write(db, ctx, func(tx *Tx) ([]string, error) {
		var out []string
		for len(ids) > 0 {
			n := min(len(ids), maxLeaseBatch)
			part := ids[:n]
			ids = ids[n:]
			args := []any{micros(now.Add(ttl)), kind, holder}
			for _, id := range part {
				args = append(args, id)
			}
			var got []string
			if err := tx.selectRows(ctx, &got, `UPDATE leases SET expires_at = ? WHERE kind = ? AND holder = ? AND id IN (`+
				marks(len(part))+`) RETURNING id`, args...); err != nil {
				return nil, dbError("renew leases", err, "lease")
			}
			out = append(out, got...)
		}
		return out, nil
	})
}

// ReleaseLeases gives up holder's leases on ids; an empty holder releases
// them whoever holds them (the job ended).
func (db *DB) ReleaseLeases(ctx context.Context, kind, holder string, ids ...string) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.ReleaseLeases(ctx, kind, holder, ids...) })
}

// ReleaseLeases is the transactional form of DB.ReleaseLeases: a job that
// ends in tx loses its lease in the same commit.
func (tx *Tx) ReleaseLeases(ctx context.Context, kind, holder string, ids ...string) error {
	for len(ids) > 0 {
		n := min(len(ids), maxLeaseBatch)
		part := ids[:n]
		ids = ids[n:]
		q := `DELETE FROM leases WHERE kind = ? AND id IN (` + marks(len(part)) + `)`
		args := []any{kind}
		for _, id := range part {
			args = append(args, id)
		}
		if holder != "" {
			q += ` AND holder = ?`
			args = append(args, holder)
		}
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return dbError("release leases", err, "lease")
		}
	}
	return nil
}

// ReleaseHolder gives up every lease of holder (a node stopping), so that
// other nodes take its work over at once.
func (db *DB) ReleaseHolder(ctx context.Context, holder string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM leases WHERE holder = ?`, holder)
		return dbError("release leases", err, "lease")
	})
}

// LeaseCount is what one node sees of the leases of one kind.
type LeaseCount struct {
	Kind string `json:"kind"`
	// Held are live leases of the asking node, Others live leases of
	// other nodes, Expired leases whose holder stopped renewing (work
	// waiting to be taken over).
	Held    int `json:"held"`
	Others  int `json:"others"`
	Expired int `json:"expired"`
	// OldestExpired is when the longest waiting expired lease ran out.
	OldestExpired time.Time `json:"oldest_expired,omitzero"`
}

// LeaseCounts reports the leases by kind as holder sees them at now.
func (db *DB) LeaseCounts(ctx context.Context, holder string, now time.Time) ([]LeaseCount, error) {
	return read(db, ctx, func(tx *Tx) ([]LeaseCount, error) {
		at := micros(now)
		var rows []struct {
			Kind          string `db:"kind"`
			Held          int    `db:"held"`
			Others        int    `db:"others"`
			Expired       int    `db:"expired"`
			OldestExpired *int64 `db:"oldest_expired"`
		}
		err := tx.selectRows(ctx, &rows, `SELECT kind,
				SUM(CASE WHEN expires_at > ? AND holder = ? THEN 1 ELSE 0 END) AS held,
				SUM(CASE WHEN expires_at > ? AND holder <> ? THEN 1 ELSE 0 END) AS others,
				SUM(CASE WHEN expires_at <= ? THEN 1 ELSE 0 END) AS expired,
				MIN(CASE WHEN expires_at <= ? THEN expires_at END) AS oldest_expired
			FROM leases GROUP BY kind ORDER BY kind`, at, holder, at, holder, at, at)
		if err != nil {
			return nil, dbError("count leases", err, "lease")
		}
		out := make([]LeaseCount, len(rows))
		for i, r := range rows {
			out[i] = LeaseCount{Kind: r.Kind, Held: r.Held, Others: r.Others, Expired: r.Expired}
			if r.OldestExpired != nil {
				out[i].OldestExpired = fromMicros(*r.OldestExpired)
			}
		}
		return out, nil
	})
}

// leaseFree is a condition on a job table's id column (col) that keeps the
// jobs of kind nobody but holder holds a live lease on at now ("" holder:
// nobody at all).
func leaseFree(kind, col, holder string, now time.Time) (string, []any) {
	return `NOT EXISTS (SELECT 1 FROM leases l WHERE l.kind = ? AND l.id = ` + col +
		` AND l.holder <> ? AND l.expires_at > ?)`, []any{kind, holder, micros(now)}
}

// leaseHeld is a condition on a job table's id column (col) that keeps the
// job whose lease of kind the holder given as the next argument holds
// (live or expired, as long as nobody took it over).
func leaseHeld(kind, col string) string {
	return `EXISTS (SELECT 1 FROM leases l WHERE l.kind = '` + kind + `' AND l.id = ` + col + ` AND l.holder = ?)`
}

// claimRows claims, in tx, the leases of n selected rows (id(i) names row
// i) for holder and returns the ids held.
func claimRows(ctx context.Context, tx *Tx, kind, holder string, n int, id func(int) string, now time.Time, ttl time.Duration) (map[string]bool, error) {
	ids := make([]string, n)
	for i := range n {
		ids[i] = id(i)
	}
	got, err := tx.ClaimLeases(ctx, kind, holder, ids, now, ttl)
	if err != nil {
		return nil, err
	}
	held := make(map[string]bool, len(got))
	for _, g := range got {
		held[g] = true
	}
	return held, nil
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
