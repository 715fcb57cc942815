-- Hash-chained, append-only audit log. hash = SHA-256 over the canonical
-- encoding of the entry including prev_hash (see internal/audit). audit_head
-- holds the last seq and hash: appends update it first, which serializes
-- them (row lock on PostgreSQL, the write lock on SQLite), and it lets Verify
-- notice entries deleted from the end of the chain.
CREATE TABLE audit_log (
	seq         BIGINT PRIMARY KEY,
	at          BIGINT NOT NULL,
	actor       TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	action      TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	change      TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id, seq);

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY,
	seq  BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
