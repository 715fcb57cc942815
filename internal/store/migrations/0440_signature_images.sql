-- The images drawn in visible signatures (Decree 30/2020, Appendix I): a
-- leader's handwritten signature (blue, transparent PNG) and an
-- organization's seal (red, transparent PNG). The PNG is a blob; this
-- table says whose it is.
CREATE TABLE signature_images (
	owner_kind TEXT NOT NULL,   -- user (a leader's signature) or org (the seal)
	owner_id   TEXT NOT NULL,
	blob_key   TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	updated_by TEXT NOT NULL REFERENCES users(id),
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (owner_kind, owner_id)
);
