-- Leases on background work (store/lease.go): a row says which node
-- (holder) works on one job (kind, id) until expires_at. A holder renews
-- its leases while it works; a lease whose holder stopped renewing expires
-- and another node claims the job. Timestamps are microseconds since the
-- Unix epoch, UTC.
CREATE TABLE leases (
	kind        TEXT NOT NULL,   -- signing, ...
	id          TEXT NOT NULL,   -- the job's id in its own table
	holder      TEXT NOT NULL,   -- the node (Service.Node)
	acquired_at BIGINT NOT NULL, -- when holder claimed it
	expires_at  BIGINT NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX leases_holder ON leases(holder, kind);
CREATE INDEX leases_expiry ON leases(kind, expires_at);
