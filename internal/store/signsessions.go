package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"vanban/internal/document"
)

// SigningState is where a signing session is. Only queued, preparing and
// pending are active; the rest are final.
type SigningState string

const (
	SigningQueued    SigningState = "queued"    // in a batch, waiting for the signer's SIM to be free
	SigningPreparing SigningState = "preparing" // claimed; the PDF is being prepared and sent
	SigningPending   SigningState = "pending"   // the provider has the request; waiting for the signer
	SigningCompleted SigningState = "completed"
	SigningFailed    SigningState = "failed"
	SigningExpired   SigningState = "expired"
	SigningCancelled SigningState = "cancelled"
)

// Active reports whether the session may still change the document.
func (s SigningState) Active() bool {
	return s == SigningQueued || s == SigningPreparing || s == SigningPending
}

// Signing purposes.
const (
	PurposeLeader = "leader" // the leader's certification signature
	PurposeSeal   = "seal"   // the organization's signature on the seal field
)

// SigningSession is one durable signature request. The signsession package
// owns its meaning; the store keeps it and enforces, through partial unique
// indexes, one active session per document and per leader.
type SigningSession struct {
	ID             string
	DocumentID     string
	VersionID      string // the version being signed; empty while queued
	SignerUserID   string
	Purpose        string
	Provider       string // configured provider name
	ProviderSigner string // e.g. the phone number
	State          SigningState
	BatchID        string
	BatchSeq       int
	DisplayText    string
	OptionsJSON    string

	PreparedKey    string
	PreparedSHA256 string
	PreparedSize   int64
	PadesState     string // JSON of pades.State
	Digest         string // hex

	VerificationCode string
	ProviderTxID     string
	ExpiresAt        time.Time
	PollInterval     time.Duration
	NextPollAt       time.Time

	ResultVersionID string
	FailureKind     string
	FailureMessage  string
	Retryable       bool
	Attempts        int

	CreatedAt time.Time
	UpdatedAt time.Time
}

type signingSessionRow struct {
	ID               string         `db:"id"`
	DocumentID       string         `db:"document_id"`
	VersionID        sql.NullString `db:"version_id"`
	SignerUserID     string         `db:"signer_user_id"`
	Purpose          string         `db:"purpose"`
	Provider         string         `db:"provider"`
	ProviderSigner   string         `db:"provider_signer"`
	State            string         `db:"state"`
	BatchID          string         `db:"batch_id"`
	BatchSeq         int            `db:"batch_seq"`
	DisplayText      string         `db:"display_text"`
	OptionsJSON      string         `db:"options_json"`
	PreparedKey      string         `db:"prepared_key"`
	PreparedSHA256   string         `db:"prepared_sha256"`
	PreparedSize     int64          `db:"prepared_size"`
	PadesState       string         `db:"pades_state"`
	Digest           string         `db:"digest"`
	VerificationCode string         `db:"verification_code"`
	ProviderTxID     string         `db:"provider_tx_id"`
	ExpiresAt        sql.NullInt64  `db:"expires_at"`
	PollIntervalMS   int64          `db:"poll_interval_ms"`
	NextPollAt       sql.NullInt64  `db:"next_poll_at"`
	ResultVersionID  sql.NullString `db:"result_version_id"`
	FailureKind      string         `db:"failure_kind"`
	FailureMessage   string         `db:"failure_message"`
	Retryable        int            `db:"retryable"`
	Attempts         int            `db:"attempts"`
	CreatedAt        int64          `db:"created_at"`
	UpdatedAt        int64          `db:"updated_at"`
}

const signingSessionColumns = `id, document_id, version_id, signer_user_id, purpose, provider, provider_signer, state,
	batch_id, batch_seq, display_text, options_json, prepared_key, prepared_sha256, prepared_size, pades_state, digest,
	verification_code, provider_tx_id, expires_at, poll_interval_ms, next_poll_at, result_version_id,
	failure_kind, failure_message, retryable, attempts, created_at, updated_at`

func (r signingSessionRow) domain() *SigningSession {
	return &SigningSession{
		ID: r.ID, DocumentID: r.DocumentID, VersionID: r.VersionID.String, SignerUserID: r.SignerUserID,
		Purpose: r.Purpose, Provider: r.Provider, ProviderSigner: r.ProviderSigner, State: SigningState(r.State),
		BatchID: r.BatchID, BatchSeq: r.BatchSeq, DisplayText: r.DisplayText, OptionsJSON: r.OptionsJSON,
		PreparedKey: r.PreparedKey, PreparedSHA256: r.PreparedSHA256, PreparedSize: r.PreparedSize,
		PadesState: r.PadesState, Digest: r.Digest, VerificationCode: r.VerificationCode, ProviderTxID: r.ProviderTxID,
		ExpiresAt: fromNullMicros(r.ExpiresAt), PollInterval: time.Duration(r.PollIntervalMS) * time.Millisecond,
		NextPollAt: fromNullMicros(r.NextPollAt), ResultVersionID: r.ResultVersionID.String,
		FailureKind: r.FailureKind, FailureMessage: r.FailureMessage, Retryable: r.Retryable != 0, Attempts: r.Attempts,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}
}

func (s *SigningSession) validate() error {
	switch {
	case s.DocumentID == "" || s.SignerUserID == "":
		return document.Errorf(document.EINVALID, "a signing session needs a document and a signer")
	case s.Purpose != PurposeLeader && s.Purpose != PurposeSeal:
		return document.Errorf(document.EINVALID, "signing purpose %q is not leader or seal", s.Purpose)
	case strings.TrimSpace(s.Provider) == "":
		return document.Errorf(document.EINVALID, "a signing session needs a provider")
	case s.State != SigningQueued && s.State != SigningPreparing:
		return document.Errorf(document.EINVALID, "a signing session starts queued or preparing, not %q", s.State)
	}
	return nil
}

// activeConflict is the message for a refused second active session.
func activeConflict(s *SigningSession) error {
	return document.Errorf(document.ECONFLICT,
		"a signing session is already active for document %s or for this signer; wait for it to end", s.DocumentID)
}

// CreateSigningSession stores a new session in state queued or preparing,
// giving it an ID and timestamps. Returns EINVALID, ECONFLICT when the
// document or the leader already has an active session, EINVALID for an
// unknown document, user or version.
func (db *DB) CreateSigningSession(ctx context.Context, s *SigningSession) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.CreateSigningSession(ctx, s) })
}

// CreateSigningSession is the transactional form of DB.CreateSigningSession.
func (tx *Tx) CreateSigningSession(ctx context.Context, s *SigningSession) error {
	if err := s.validate(); err != nil {
		return err
	}
	if s.ID == "" {
		s.ID = newID()
	}
	s.CreatedAt = now()
	s.UpdatedAt = s.CreatedAt
	_, err := tx.exec(ctx, `INSERT INTO signing_sessions (`+signingSessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.DocumentID, nullString(s.VersionID), s.SignerUserID, s.Purpose, s.Provider, s.ProviderSigner, string(s.State),
		s.BatchID, s.BatchSeq, s.DisplayText, s.OptionsJSON, s.PreparedKey, s.PreparedSHA256, s.PreparedSize, s.PadesState,
		s.Digest, s.VerificationCode, s.ProviderTxID, nullMicros(s.ExpiresAt), s.PollInterval.Milliseconds(),
		nullMicros(s.NextPollAt), nullString(s.ResultVersionID), s.FailureKind, s.FailureMessage, signingFlag(s.Retryable),
		s.Attempts, micros(s.CreatedAt), micros(s.UpdatedAt))
	if isUniqueViolation(err) {
		return activeConflict(s)
	}
	return dbError("create signing session", err, "signing session")
}

// SigningSession returns one session. Returns ENOTFOUND.
func (db *DB) SigningSession(ctx context.Context, id string) (*SigningSession, error) {
	return single(db, ctx, func(tx *Tx) (*SigningSession, error) { return tx.SigningSession(ctx, id) })
}

// SigningSession is the transactional form of DB.SigningSession.
func (tx *Tx) SigningSession(ctx context.Context, id string) (*SigningSession, error) {
	var r signingSessionRow
	if err := tx.get(ctx, &r, `SELECT `+signingSessionColumns+` FROM signing_sessions WHERE id = ?`, id); err != nil {
		return nil, dbError("signing session", err, "signing session "+id)
	}
	return r.domain(), nil
}

// UpdateSigningSession writes every mutable field of s if, and only if, the
// stored session is still in state from: a compare-and-set, so that of a
// poll and a callback racing to finish the same session exactly one wins.
// Returns ECONFLICT when the state moved on (the caller reloads to see
// why), or when the new state would make a second active session.
func (db *DB) UpdateSigningSession(ctx context.Context, s *SigningSession, from SigningState) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.UpdateSigningSession(ctx, s, from) })
}

// UpdateSigningSession is the transactional form of DB.UpdateSigningSession.
func (tx *Tx) UpdateSigningSession(ctx context.Context, s *SigningSession, from SigningState) error {
	updated := now()
	res, err := tx.exec(ctx, `UPDATE signing_sessions SET version_id = ?, state = ?, display_text = ?,
		prepared_key = ?, prepared_sha256 = ?, prepared_size = ?, pades_state = ?, digest = ?,
		verification_code = ?, provider_tx_id = ?, expires_at = ?, poll_interval_ms = ?, next_poll_at = ?,
		result_version_id = ?, failure_kind = ?, failure_message = ?, retryable = ?, attempts = ?, updated_at = ?
		WHERE id = ? AND state = ?`,
		nullString(s.VersionID), string(s.State), s.DisplayText, s.PreparedKey, s.PreparedSHA256, s.PreparedSize,
		s.PadesState, s.Digest, s.VerificationCode, s.ProviderTxID, nullMicros(s.ExpiresAt),
		s.PollInterval.Milliseconds(), nullMicros(s.NextPollAt), nullString(s.ResultVersionID), s.FailureKind,
		s.FailureMessage, signingFlag(s.Retryable), s.Attempts, micros(updated), s.ID, string(from))
	if isUniqueViolation(err) {
		return activeConflict(s)
	}
	if err != nil {
		return dbError("update signing session", err, "signing session")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.SigningSession(ctx, s.ID); err != nil {
			return err
		}
		return document.Errorf(document.ECONFLICT, "signing session %s is no longer %s", s.ID, from)
	}
	s.UpdatedAt = updated
	return nil
}

// SigningSessionFilter selects sessions; zero fields select everything.
type SigningSessionFilter struct {
	States       []SigningState
	SignerUserID string
	DocumentID   string
	BatchID      string
	OrgID        string // the document's organization
	// DueBefore keeps sessions with no next poll time or one at or before it.
	DueBefore time.Time
	// FreeFor, when set, keeps sessions on which no node but FreeFor holds
	// a live lease (LeaseSigning) at FreeAt.
	FreeFor string
	FreeAt  time.Time
	Limit   int // default 100, at most 1000
}

// SigningSessions lists sessions matching f, oldest first (batch order
// within a batch).
func (db *DB) SigningSessions(ctx context.Context, f SigningSessionFilter) ([]*SigningSession, error) {
	return read(db, ctx, func(tx *Tx) ([]*SigningSession, error) { return tx.SigningSessions(ctx, f) })
}

// SigningSessions is the transactional form of DB.SigningSessions.
func (tx *Tx) SigningSessions(ctx context.Context, f SigningSessionFilter) ([]*SigningSession, error) {
	var where []string
	var args []any
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, s := range f.States {
			marks[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, "s.state IN ("+strings.Join(marks, ", ")+")")
	}
	for _, c := range []struct{ col, val string }{
		{"s.signer_user_id", f.SignerUserID}, {"s.document_id", f.DocumentID}, {"s.batch_id", f.BatchID}, {"d.org_id", f.OrgID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if !f.DueBefore.IsZero() {
		where = append(where, "(s.next_poll_at IS NULL OR s.next_poll_at <= ?)")
		args = append(args, micros(f.DueBefore))
	}
	if f.FreeFor != "" {
		cond, cargs := leaseFree(LeaseSigning, "s.id", f.FreeFor, f.FreeAt)
		where = append(where, cond)
		args = append(args, cargs...)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := `SELECT ` + qualifySigningColumns("s.", signingSessionColumns) + ` FROM signing_sessions s JOIN documents d ON d.id = s.document_id`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY s.created_at, s.batch_id, s.batch_seq, s.id LIMIT ?`
	args = append(args, limit)
	var rows []signingSessionRow
	if err := tx.selectRows(ctx, &rows, q, args...); err != nil {
		return nil, dbError("list signing sessions", err, "signing sessions")
	}
	out := make([]*SigningSession, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// qualifySigningColumns qualifies a comma-separated column list with a table
// alias (any table's, despite the name).
func qualifySigningColumns(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// signingFlag stores a flag as 0 or 1: the column is INTEGER on both engines.
func signingFlag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SigningSessionByProviderTx returns the session a provider knows by txID,
// for callbacks that name only their own transaction. Returns ENOTFOUND.
func (db *DB) SigningSessionByProviderTx(ctx context.Context, provider, txID string) (*SigningSession, error) {
	return read(db, ctx, func(tx *Tx) (*SigningSession, error) {
		if txID == "" {
			return nil, document.Errorf(document.ENOTFOUND, "signing session without a provider transaction")
		}
		var r signingSessionRow
		err := tx.get(ctx, &r, `SELECT `+signingSessionColumns+` FROM signing_sessions
			WHERE provider = ? AND provider_tx_id = ? ORDER BY created_at DESC LIMIT 1`, provider, txID)
		if err != nil {
			return nil, dbError("signing session by provider transaction", err, "signing session of provider transaction")
		}
		return r.domain(), nil
	})
}

// NextSigningPoll returns the earliest next poll time of the preparing and
// pending sessions no node but holder holds a live lease on at now, the
// zero time when there is none: the signing worker sleeps until then.
func (db *DB) NextSigningPoll(ctx context.Context, holder string, now time.Time) (time.Time, error) {
	return read(db, ctx, func(tx *Tx) (time.Time, error) {
		cond, args := leaseFree(LeaseSigning, "s.id", holder, now)
		var next sql.NullInt64
		err := tx.get(ctx, &next, `SELECT MIN(s.next_poll_at) FROM signing_sessions s
			WHERE s.state IN ('preparing', 'pending') AND s.next_poll_at IS NOT NULL AND `+cond, args...)
		if err != nil {
			return time.Time{}, dbError("next signing poll", err, "signing sessions")
		}
		return fromNullMicros(next), nil
	})
}
