-- Document interconnection over edXML (internal/interchange, issue 12).
-- Portable SQL: TEXT ids made by the application, BIGINT microseconds since
-- the Unix epoch (UTC), INTEGER flags and codes.

-- Each organization's identifier code (mã định danh, Decision 20/2020/QĐ-TTg).
CREATE TABLE exchange_organs (
	org_id     TEXT PRIMARY KEY REFERENCES organizations(id),
	organ_id   TEXT NOT NULL UNIQUE,
	updated_at BIGINT NOT NULL
);

-- The directory of external agencies an organization keeps: imported from
-- the transport's agency list, editable (edited = 1: an import leaves the row).
CREATE TABLE exchange_agencies (
	org_id     TEXT NOT NULL REFERENCES organizations(id),
	organ_id   TEXT NOT NULL,
	name       TEXT NOT NULL,
	parent_id  TEXT NOT NULL DEFAULT '',
	email      TEXT NOT NULL DEFAULT '',
	phone      TEXT NOT NULL DEFAULT '',
	address    TEXT NOT NULL DEFAULT '',
	edited     INTEGER NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, organ_id)
);

-- External recipients of an outgoing document.
CREATE TABLE exchange_recipients (
	document_id TEXT NOT NULL REFERENCES documents(id),
	organ_id    TEXT NOT NULL,
	name        TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (document_id, organ_id)
);

-- What the exchange knows of an outgoing document: its edXML DocumentId
-- once its packages are queued, and the business type (0 new, 2 update,
-- 3 replace, with the document it updates or replaces), and its recall.
CREATE TABLE exchange_documents (
	document_id          TEXT PRIMARY KEY REFERENCES documents(id),
	org_id               TEXT NOT NULL REFERENCES organizations(id),
	edxml_document_id    TEXT NOT NULL DEFAULT '',
	business_type        INTEGER NOT NULL DEFAULT 0,
	replaces_document_id TEXT NOT NULL DEFAULT '',
	reason               TEXT NOT NULL DEFAULT '',
	queued_at            BIGINT,
	recall_reason        TEXT NOT NULL DEFAULT '',
	recalled_at          BIGINT
);
CREATE INDEX exchange_documents_edxml ON exchange_documents(edxml_document_id);

-- The outbox: one row per package or status message to send, written in the
-- transaction of the change it announces; dedupe_key makes queueing the
-- same thing twice a no-op. A package's bytes are built from the document
-- on every attempt; a status message's edXML is kept in body. state:
-- pending -> sent | dead. A claimed row stays pending with next_attempt_at
-- pushed past its lease and claim_token set.
CREATE TABLE exchange_outbox (
	id              TEXT PRIMARY KEY,
	org_id          TEXT NOT NULL REFERENCES organizations(id),
	kind            TEXT NOT NULL,
	from_organ      TEXT NOT NULL,
	to_organ        TEXT NOT NULL,
	document_id     TEXT NOT NULL DEFAULT '',
	business_type   INTEGER NOT NULL DEFAULT 0,
	reason          TEXT NOT NULL DEFAULT '',
	body            TEXT NOT NULL DEFAULT '',
	dedupe_key      TEXT NOT NULL UNIQUE,
	state           TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	claim_token     TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT '',
	transport_id    TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	sent_at         BIGINT
);
CREATE INDEX exchange_outbox_due ON exchange_outbox(state, next_attempt_at);
CREATE INDEX exchange_outbox_document ON exchange_outbox(document_id, to_organ);

-- Received packages: the clerk's queue "chờ tiếp nhận" and its history.
-- state: pending (chờ tiếp nhận) | accepting | accepted | refused | invalid
-- (malformed or unusable, kept with the problem) | recalled. dedupe_key:
-- organization, sender, DocumentId and business type, so a package received
-- twice changes nothing. header_json is the parsed edXML header;
-- attachments_json the stored attachments.
CREATE TABLE exchange_inbox (
	id                TEXT PRIMARY KEY,
	org_id            TEXT NOT NULL REFERENCES organizations(id),
	organ_id          TEXT NOT NULL,
	from_organ        TEXT NOT NULL,
	from_name         TEXT NOT NULL DEFAULT '',
	edxml_document_id TEXT NOT NULL DEFAULT '',
	business_type     INTEGER NOT NULL DEFAULT 0,
	transport_id      TEXT NOT NULL DEFAULT '',
	dedupe_key        TEXT NOT NULL UNIQUE,
	state             TEXT NOT NULL,
	problem           TEXT NOT NULL DEFAULT '',
	subject           TEXT NOT NULL DEFAULT '',
	symbol            TEXT NOT NULL DEFAULT '',
	header_json       TEXT NOT NULL DEFAULT '',
	package_blob      TEXT NOT NULL DEFAULT '',
	pdf_blob          TEXT NOT NULL DEFAULT '',
	pdf_sha256        TEXT NOT NULL DEFAULT '',
	pdf_size          BIGINT NOT NULL DEFAULT 0,
	attachments_json  TEXT NOT NULL DEFAULT '[]',
	indication        TEXT NOT NULL DEFAULT '',
	report_json       TEXT NOT NULL DEFAULT '',
	document_id       TEXT NOT NULL DEFAULT '',
	reason            TEXT NOT NULL DEFAULT '',
	recall_state      TEXT NOT NULL DEFAULT '',
	recall_reason     TEXT NOT NULL DEFAULT '',
	replaces_id       TEXT NOT NULL DEFAULT '',
	reported          TEXT NOT NULL DEFAULT '',
	received_at       BIGINT NOT NULL,
	decided_at        BIGINT,
	decided_by        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX exchange_inbox_queue ON exchange_inbox(org_id, state, received_at);
CREATE INDEX exchange_inbox_sender ON exchange_inbox(org_id, from_organ, edxml_document_id);
CREATE INDEX exchange_inbox_document ON exchange_inbox(document_id);

-- Statuses recipients reported on our outgoing documents.
CREATE TABLE exchange_statuses (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations(id),
	document_id TEXT NOT NULL REFERENCES documents(id),
	organ_id    TEXT NOT NULL,
	code        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	staff       TEXT NOT NULL DEFAULT '',
	department  TEXT NOT NULL DEFAULT '',
	at          BIGINT NOT NULL,
	received_at BIGINT NOT NULL,
	dedupe_key  TEXT NOT NULL UNIQUE
);
CREATE INDEX exchange_statuses_document ON exchange_statuses(document_id, at);
