-- Grants of roles that open secret documents or grant roles (clerk,
-- admin) wait here for a second administrator (the two-person rule); an
-- approved request is kept as the record of who asked and who approved.
CREATE TABLE role_requests (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id),
	unit_id      TEXT NOT NULL REFERENCES units(id),
	role         TEXT NOT NULL,
	requested_by TEXT NOT NULL REFERENCES users(id),
	requested_at BIGINT NOT NULL,
	approved_by  TEXT REFERENCES users(id),
	approved_at  BIGINT
);
CREATE INDEX role_requests_pending ON role_requests (unit_id) WHERE approved_at IS NULL;
