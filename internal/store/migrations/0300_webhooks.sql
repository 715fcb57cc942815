-- Outgoing webhooks (internal/webhook). Portable SQL: TEXT ids made by the
-- application, BIGINT microseconds since the Unix epoch (UTC), INTEGER 0/1
-- flags.

-- Receivers registered by an organization. secret is kept in clear because
-- every delivery is signed with it (HMAC); events is the subscription filter,
-- comma-separated event types or '*' for all.
CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations(id),
	url         TEXT NOT NULL,
	secret      TEXT NOT NULL,
	events      TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	active      INTEGER NOT NULL DEFAULT 1,
	created_at  BIGINT NOT NULL,
	disabled_at BIGINT
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints(org_id, active);

-- The outbox: one row per event and endpoint, written in the transaction of
-- the change it announces. state: pending -> delivered | dead. A claimed row
-- stays pending with next_attempt_at pushed past its lease and claim_token
-- set; attempts counts attempts started, so a worker that dies mid-send
-- still uses one up.
CREATE TABLE webhook_outbox (
	id              TEXT PRIMARY KEY,
	endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id),
	event_type      TEXT NOT NULL,
	payload         TEXT NOT NULL,   -- JSON
	state           TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	claim_token     TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	delivered_at    BIGINT
);
-- The deliverer's query: due pending rows, oldest first.
CREATE INDEX webhook_outbox_due ON webhook_outbox(state, next_attempt_at);
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox(endpoint_id, created_at);

-- Every attempt, for the administrator's delivery log.
CREATE TABLE webhook_deliveries (
	id          TEXT PRIMARY KEY,
	outbox_id   TEXT NOT NULL REFERENCES webhook_outbox(id),
	attempt     INTEGER NOT NULL,
	status_code INTEGER NOT NULL DEFAULT 0,  -- 0: no HTTP answer
	duration_us BIGINT NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	at          BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_outbox ON webhook_deliveries(outbox_id, attempt);
