-- Who signs through which provider (internal/signsession).
--
-- A leader's signing identity: the provider name as configured (e.g.
-- "mobile", an etsi204 MSSP) and the signer within it (the SIM's phone
-- number, MSISDN, or a CSC credential id). Keys never live here: only the
-- coordinates the provider needs to find them.
CREATE TABLE signing_identities (
	user_id         TEXT PRIMARY KEY REFERENCES users(id),
	provider        TEXT NOT NULL,
	provider_signer TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);

-- The organization's seal (chữ ký số của cơ quan): a key file or PKCS#11
-- token configured as a provider, and the signer within it (usually empty:
-- the provider's default key).
CREATE TABLE seal_signers (
	org_id          TEXT PRIMARY KEY REFERENCES organizations(id),
	provider        TEXT NOT NULL,
	provider_signer TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);

-- A provider callback names its transaction: find the session by it.
CREATE INDEX signing_sessions_provider_tx ON signing_sessions(provider, provider_tx_id);
