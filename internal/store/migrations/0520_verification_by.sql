-- Who made a kept validation report: the clerk registering or issuing the
-- document, or the person who re-ran the validation ('' for older rows).
ALTER TABLE verification_reports ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
