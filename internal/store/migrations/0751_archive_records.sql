-- Archive records (internal/archive): one row per archived document, with
-- the retention applied to its stored objects and what keeps its proof
-- alive. Portable SQL: TEXT ids, BIGINT microseconds since the Unix epoch
-- (UTC), INTEGER 0/1 flags.
--
-- proof_*: the newest document time-stamp of the archived PDF (version
-- proof_version): until when it can be proven (its TSA chain and the
-- responders vouching for it), and the strength of its hash and key.
-- next_check is when the renewal job looks at the row again: before
-- proof_until (or a permanent retain_until) comes within its margin, at
-- once when the strength is below the configured minimum. The job claims
-- a due row by moving lease_until past now (with FOR UPDATE SKIP LOCKED on
-- PostgreSQL), so several nodes never renew the same document, and a node
-- that dies leaves a lease that simply expires.
CREATE TABLE archive_records (
	document_id     TEXT PRIMARY KEY REFERENCES documents(id),
	org_id          TEXT NOT NULL REFERENCES organizations(id),
	archived_by     TEXT NOT NULL REFERENCES users(id),
	archived_at     BIGINT NOT NULL,
	permanent       INTEGER NOT NULL DEFAULT 0,
	retain_until    BIGINT NOT NULL,
	proof_version   INTEGER NOT NULL DEFAULT 0,
	proof_until     BIGINT NOT NULL DEFAULT 0,
	proof_hash_bits INTEGER NOT NULL DEFAULT 0,
	proof_key_bits  INTEGER NOT NULL DEFAULT 0,
	renewals        INTEGER NOT NULL DEFAULT 0,
	renewed_at      BIGINT,
	next_check      BIGINT NOT NULL DEFAULT 0,
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     BIGINT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX archive_records_due ON archive_records(next_check, lease_until);
