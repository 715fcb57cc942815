-- Indexes for the search and inbox queries (SearchDocuments) at 100,000+
-- documents; see README "Benchmarks".
--
-- Newest first within an organization, in the exact order of the result
-- (created_at DESC, id ASC), so a page is read off the index and a cursor
-- continues from it, without sorting every match.
CREATE INDEX documents_org_newest ON documents(org_id, created_at DESC, id);
DROP INDEX documents_org_created; -- 0400's, in the other order; superseded
-- The inbox queues: one state or two, newest first.
CREATE INDEX documents_org_state_newest ON documents(org_id, state, created_at DESC, id);
-- "Số, ký hiệu" lookups; the sender's symbol has documents_sender already.
CREATE INDEX documents_org_symbol ON documents(org_id, symbol);
-- The reviewer's queue and the "named on it as a reviewer" visibility rule
-- start from the reviewer's own steps instead of probing every document.
CREATE INDEX review_steps_reviewer ON review_steps(reviewer_id, decision, document_id);
