-- The one-stop dossier (hồ sơ một cửa) an incoming document carries: the
-- code the citizen holds (mã hồ sơ) and the day the dossier was filed,
-- which the public lookup asks for as a second factor. One dossier per
-- document and one document per code.
CREATE TABLE dossiers (
	document_id TEXT PRIMARY KEY REFERENCES documents(id),
	org_id      TEXT NOT NULL REFERENCES organizations(id),
	code        TEXT NOT NULL UNIQUE, -- normalized: trimmed, upper case
	filed_on    TEXT NOT NULL,        -- YYYY-MM-DD, Vietnam time
	created_by  TEXT NOT NULL REFERENCES users(id),
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
