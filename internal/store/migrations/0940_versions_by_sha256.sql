-- The text index finds an already extracted version with the same bytes
-- (an issued document delivered to a recipient inside the installation is
-- the sender's sealed file again) instead of running PDFium on it twice.
CREATE INDEX versions_sha256 ON versions(sha256);
