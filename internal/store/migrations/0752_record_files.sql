-- Files (hồ sơ) and the retention schedule (internal/records). Portable
-- SQL: TEXT ids, BIGINT microseconds since the Unix epoch (UTC), INTEGER
-- 0/1 flags; dates with no time are stored as midnight UTC.

-- An organization's retention schedule: loaded from the Circular
-- 10/2022/TT-BNV seed, edited by its administrators. years is unused when
-- permanent.
CREATE TABLE retention_schedule (
	org_id    TEXT NOT NULL REFERENCES organizations(id),
	code      TEXT NOT NULL,
	title     TEXT NOT NULL,
	permanent INTEGER NOT NULL,
	years     INTEGER NOT NULL,
	source    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (org_id, code)
);

-- The yearly file list. (org_id, year, number) is the file's place in it.
-- search_text is the folded title and notation (document.Fold).
CREATE TABLE record_files (
	id             TEXT PRIMARY KEY,
	org_id         TEXT NOT NULL REFERENCES organizations(id),
	year           INTEGER NOT NULL,
	number         INTEGER NOT NULL,
	notation       TEXT NOT NULL,
	title          TEXT NOT NULL,
	unit_id        TEXT NOT NULL REFERENCES units(id),
	responsible_id TEXT NOT NULL REFERENCES users(id),
	schedule_code  TEXT NOT NULL DEFAULT '',
	permanent      INTEGER NOT NULL,
	years          INTEGER NOT NULL,
	start_date     BIGINT NOT NULL,
	end_date       BIGINT,
	closed         INTEGER NOT NULL DEFAULT 0,
	closed_at      BIGINT,
	handover_due   BIGINT,
	notified_at    BIGINT,
	created_by     TEXT NOT NULL REFERENCES users(id),
	created_at     BIGINT NOT NULL,
	search_text    TEXT NOT NULL,
	UNIQUE (org_id, year, number)
);
CREATE INDEX record_files_list ON record_files(org_id, year, start_date);
CREATE INDEX record_files_handover ON record_files(closed, handover_due);

-- A document belongs to one or more files without being copied.
CREATE TABLE record_file_documents (
	file_id     TEXT NOT NULL REFERENCES record_files(id),
	document_id TEXT NOT NULL REFERENCES documents(id),
	added_by    TEXT NOT NULL REFERENCES users(id),
	added_at    BIGINT NOT NULL,
	PRIMARY KEY (file_id, document_id)
);
CREATE INDEX record_file_documents_document ON record_file_documents(document_id);
