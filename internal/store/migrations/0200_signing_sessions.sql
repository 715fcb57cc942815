-- Durable signing sessions (internal/signsession). A leader's SIM answers
-- minutes later, possibly after a restart, so everything needed to finish
-- the PDF is kept here: the prepared file's blob, the PAdES state (JSON),
-- the digest the signer's key must sign and the provider's transaction id.
--
-- state: queued (a batch waits for the signer's SIM) -> preparing -> pending
--        -> completed | failed | expired | cancelled.
-- Timestamps are microseconds since the Unix epoch, UTC, like elsewhere.
CREATE TABLE signing_sessions (
	id                TEXT PRIMARY KEY,
	document_id       TEXT NOT NULL REFERENCES documents(id),
	version_id        TEXT REFERENCES versions(id),  -- the version signed, once claimed
	signer_user_id    TEXT NOT NULL REFERENCES users(id),
	purpose           TEXT NOT NULL,                 -- leader | seal
	provider          TEXT NOT NULL,                 -- configured provider name
	provider_signer   TEXT NOT NULL DEFAULT '',      -- signer within the provider (phone number)
	state             TEXT NOT NULL,
	batch_id          TEXT NOT NULL DEFAULT '',
	batch_seq         INTEGER NOT NULL DEFAULT 0,
	display_text      TEXT NOT NULL DEFAULT '',
	options_json      TEXT NOT NULL DEFAULT '',      -- layout options, so a restart prepares the same file
	prepared_key      TEXT NOT NULL DEFAULT '',
	prepared_sha256   TEXT NOT NULL DEFAULT '',
	prepared_size     BIGINT NOT NULL DEFAULT 0,
	pades_state       TEXT NOT NULL DEFAULT '',
	digest            TEXT NOT NULL DEFAULT '',      -- hex
	verification_code TEXT NOT NULL DEFAULT '',
	provider_tx_id    TEXT NOT NULL DEFAULT '',
	expires_at        BIGINT,
	poll_interval_ms  BIGINT NOT NULL DEFAULT 0,
	next_poll_at      BIGINT,
	result_version_id TEXT REFERENCES versions(id),  -- the signed version, once completed
	failure_kind      TEXT NOT NULL DEFAULT '',
	failure_message   TEXT NOT NULL DEFAULT '',
	retryable         INTEGER NOT NULL DEFAULT 0,
	attempts          INTEGER NOT NULL DEFAULT 0,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL
);

-- One active session per document, and one per signer's SIM at a time: the
-- database refuses a second, whatever the application does.
CREATE UNIQUE INDEX signing_sessions_active_document ON signing_sessions(document_id)
	WHERE state IN ('queued', 'preparing', 'pending');
CREATE UNIQUE INDEX signing_sessions_active_signer ON signing_sessions(signer_user_id)
	WHERE purpose = 'leader' AND state IN ('preparing', 'pending');
CREATE INDEX signing_sessions_state ON signing_sessions(state, next_poll_at);
CREATE INDEX signing_sessions_signer ON signing_sessions(signer_user_id, state, created_at);
CREATE INDEX signing_sessions_batch ON signing_sessions(batch_id, batch_seq);
