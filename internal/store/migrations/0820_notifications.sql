-- Notifications (internal/notify): what awaits a person, derived from the
-- audit log, and their delivery through the page, e-mail and chat.
-- Portable SQL: TEXT ids made by the application, BIGINT microseconds since
-- the Unix epoch (UTC).

-- How far the audit log has been turned into notifications. One row; the
-- worker advances it in the transaction that records what it derived, so
-- every committed audit entry is looked at exactly once. It starts at the
-- head of the log: what happened before notifications existed is not
-- announced now.
CREATE TABLE notify_cursor (
	id  INTEGER PRIMARY KEY,
	seq BIGINT NOT NULL
);
INSERT INTO notify_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1;

-- One notice to one person. dedup_key makes deriving idempotent (an audit
-- entry, or a deadline on a day, gives a person one notice). title and body
-- are shown in the page only; what leaves the system is composed at send
-- time and says nothing of a secret document (secret = 1).
CREATE TABLE notifications (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users(id),
	kind        TEXT NOT NULL,
	document_id TEXT REFERENCES documents(id),
	title       TEXT NOT NULL,
	body        TEXT NOT NULL DEFAULT '',
	link        TEXT NOT NULL DEFAULT '',
	secret      INTEGER NOT NULL DEFAULT 0,
	dedup_key   TEXT NOT NULL UNIQUE,
	created_at  BIGINT NOT NULL,
	read_at     BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Each person's choice per channel: instant, digest (once a day) or off,
-- and the address on that channel (an e-mail address, a chat user id).
CREATE TABLE notify_preferences (
	user_id    TEXT NOT NULL REFERENCES users(id),
	channel    TEXT NOT NULL,
	mode       TEXT NOT NULL,
	address    TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, channel)
);

-- The outbox: one row per notification and channel. state: pending ->
-- delivered | dead. digest rows wait for the day's digest time and go out
-- together. A claimed row stays pending with next_attempt_at pushed past its
-- lease and claim_token set.
CREATE TABLE notify_outbox (
	id              TEXT PRIMARY KEY,
	notification_id TEXT NOT NULL REFERENCES notifications(id),
	channel         TEXT NOT NULL,
	address         TEXT NOT NULL DEFAULT '',
	digest          INTEGER NOT NULL DEFAULT 0,
	state           TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	claim_token     TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	delivered_at    BIGINT
);
CREATE INDEX notify_outbox_due ON notify_outbox(state, next_attempt_at);
CREATE INDEX notify_outbox_notification ON notify_outbox(notification_id);

-- Every attempt, for the log.
CREATE TABLE notify_attempts (
	id        TEXT PRIMARY KEY,
	outbox_id TEXT NOT NULL REFERENCES notify_outbox(id),
	attempt   INTEGER NOT NULL,
	error     TEXT NOT NULL DEFAULT '',
	at        BIGINT NOT NULL
);
CREATE INDEX notify_attempts_outbox ON notify_attempts(outbox_id, attempt);

-- The deadline scan: open incoming documents by deadline.
CREATE INDEX documents_deadline ON documents(org_id, direction, deadline);
