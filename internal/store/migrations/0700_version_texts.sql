-- The text of each stored PDF version, extracted once by PDFium
-- (internal/textindex): the accessible alternative of the page images and
-- what the document search reads. A version PDFium could not read keeps a
-- row with the reason, so it is not tried again and again.
CREATE TABLE version_texts (
	version_id   TEXT PRIMARY KEY REFERENCES versions(id),
	document_id  TEXT NOT NULL REFERENCES documents(id),
	pages        INTEGER NOT NULL,
	body         TEXT NOT NULL,
	failure      TEXT NOT NULL DEFAULT '',
	extracted_at BIGINT NOT NULL
);
CREATE INDEX version_texts_document ON version_texts(document_id);
-- The search form of the latest version's text with the number and
-- symbol, subject and sender (document.SearchTokens): words folded, every
-- other character a space, numbers without leading zeros, between spaces.
ALTER TABLE documents ADD COLUMN search_body TEXT;
