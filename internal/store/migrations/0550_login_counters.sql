-- Failure counters of the sign-in throttle (auth.LoginThrottle), shared by
-- every server node: a leaky bucket per client address, account and known
-- device. Rows drain with time and are deleted once drained.
CREATE TABLE login_counters (
	counter_key  TEXT PRIMARY KEY,      -- addr:<ip>, user:<name>, device:<id>
	failures     DOUBLE PRECISION NOT NULL,
	last_failure BIGINT NOT NULL        -- unix microseconds
);
CREATE INDEX login_counters_last ON login_counters (last_failure);
