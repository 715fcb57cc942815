-- The keyed fingerprint of the server's secret key (an HMAC of a fixed
-- label, never the key), stored by the first node that starts on this
-- database; every other node must hold the same key (cmd/vanban checks it
-- at start on PostgreSQL), or its cookies, CSRF tokens and download links
-- would fail on the other nodes.
CREATE TABLE secret_key_fingerprint (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	fingerprint TEXT NOT NULL,
	created_at  BIGINT NOT NULL        -- unix microseconds
);
