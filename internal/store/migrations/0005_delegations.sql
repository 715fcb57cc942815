-- Signing on behalf of another person (KT., TL., TUQ., Q.), kept as data
-- with validity dates, and how each document's signer signs.
CREATE TABLE delegations (
	id           TEXT PRIMARY KEY,
	org_id       TEXT NOT NULL REFERENCES organizations(id),
	principal_id TEXT NOT NULL REFERENCES users(id),
	delegate_id  TEXT NOT NULL REFERENCES users(id),
	capacity     TEXT NOT NULL,
	valid_from   BIGINT NOT NULL,
	valid_until  BIGINT,
	reference    TEXT NOT NULL DEFAULT '',
	created_by   TEXT NOT NULL REFERENCES users(id),
	created_at   BIGINT NOT NULL,
	revoked_at   BIGINT
);
CREATE INDEX delegations_delegate ON delegations(delegate_id, principal_id, capacity);
CREATE INDEX delegations_org ON delegations(org_id);

ALTER TABLE documents ADD COLUMN sign_capacity TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN principal_id TEXT REFERENCES users(id);
