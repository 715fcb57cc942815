-- Archive renewals are leased through the generic leases table (kind
-- 'renewal', store/lease.go) like every other background job; the
-- per-table lease columns of 0751 go.
DROP INDEX archive_records_due;
ALTER TABLE archive_records DROP COLUMN lease_owner;
ALTER TABLE archive_records DROP COLUMN lease_until;
CREATE INDEX archive_records_due ON archive_records(next_check);
