-- Where the signing steps place things on a document's PDF: the leader's
-- signature block, the seal, the number and the date fields. The drafter
-- knows the document and sets it; signing sessions read it (JSON owned by
-- internal/signsession). Documents without a row use the default layout.
CREATE TABLE document_layouts (
	document_id TEXT PRIMARY KEY REFERENCES documents(id),
	layout_json TEXT NOT NULL,
	updated_by  TEXT NOT NULL REFERENCES users(id),
	updated_at  BIGINT NOT NULL
);
