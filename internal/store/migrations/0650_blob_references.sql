-- A refused upload is removed unless its content-addressed object already
-- backs something (BlobReferenced), and uploads count against a per-person
-- quota (UploadedBytes): both read these indexes.
CREATE INDEX versions_blob ON versions(blob_key);
CREATE INDEX attachments_blob ON attachments(blob_key);
CREATE INDEX signature_images_blob ON signature_images(blob_key);
CREATE INDEX versions_created_by ON versions(created_by, created_at);
CREATE INDEX attachments_created_by ON attachments(created_by, created_at);
