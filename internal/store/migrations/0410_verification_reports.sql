-- Validation reports kept as they were made: for a received document, the
-- report at registration is evidence of what the clerk saw, whatever later
-- revocation or expiry says. One row per validation; never updated.
CREATE TABLE verification_reports (
	id           TEXT PRIMARY KEY,
	document_id  TEXT NOT NULL REFERENCES documents(id),
	version_seq  INTEGER NOT NULL,
	indication   TEXT NOT NULL,   -- the worst indication of all signatures, or NO-SIGNATURE
	report_json  TEXT NOT NULL,
	created_at   BIGINT NOT NULL
);
CREATE INDEX verification_reports_document ON verification_reports(document_id, version_seq, created_at);
