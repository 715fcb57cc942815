-- Recipients named as text (Nơi nhận): agencies outside the system, in the
-- order the drafter wrote them. Recipient units stay in recipients.
CREATE TABLE recipient_names (
	document_id TEXT NOT NULL REFERENCES documents(id),
	seq         INTEGER NOT NULL,
	name        TEXT NOT NULL,
	PRIMARY KEY (document_id, seq)
);
