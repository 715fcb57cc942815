-- The dashboard counts the documents in the flow by state and urgency: with
-- urgency in the index the count reads the index alone (PostgreSQL: once
-- autovacuum has marked the pages all-visible), not the documents.
CREATE INDEX documents_org_state_urgency ON documents(org_id, direction, state, urgency);
