-- Accent-insensitive search: search_text holds subject, number and symbol and
-- sender folded by document.SearchText (lower case, Vietnamese diacritics
-- removed). The application keeps it current on every insert and update;
-- SQL alone cannot fold diacritics portably.
ALTER TABLE documents ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
CREATE INDEX documents_org_created ON documents(org_id, created_at, id);
CREATE INDEX documents_signer ON documents(signer_id, state);
CREATE INDEX documents_leader ON documents(leader_id, state);
