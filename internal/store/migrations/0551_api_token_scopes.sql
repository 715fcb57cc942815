-- What an API token may do beyond acting as its user: a space-separated
-- list of scopes. "tokens:create" lets a token mint other tokens; without
-- it only a signed-in browser session may.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
