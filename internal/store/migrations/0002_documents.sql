-- Document types, registers, documents, versions, attachments, reviews.

-- Appendix III of Decree 30/2020. code is a stable ASCII key; abbrev is what
-- appears in the number symbol (empty for công văn and thư công).
-- normative marks legal normative documents, which are numbered separately.
CREATE TABLE document_types (
	code      TEXT PRIMARY KEY,
	abbrev    TEXT NOT NULL,
	name      TEXT NOT NULL,
	normative INTEGER NOT NULL DEFAULT 0
);
INSERT INTO document_types (code, abbrev, name, normative) VALUES
	('nghi-quyet', 'NQ', 'Nghị quyết', 0),
	('quyet-dinh', 'QĐ', 'Quyết định', 0),
	('chi-thi', 'CT', 'Chỉ thị', 0),
	('quy-che', 'QC', 'Quy chế', 0),
	('quy-dinh', 'QyĐ', 'Quy định', 0),
	('thong-cao', 'TC', 'Thông cáo', 0),
	('thong-bao', 'TB', 'Thông báo', 0),
	('huong-dan', 'HD', 'Hướng dẫn', 0),
	('chuong-trinh', 'CTr', 'Chương trình', 0),
	('ke-hoach', 'KH', 'Kế hoạch', 0),
	('phuong-an', 'PA', 'Phương án', 0),
	('de-an', 'ĐA', 'Đề án', 0),
	('du-an', 'DA', 'Dự án', 0),
	('bao-cao', 'BC', 'Báo cáo', 0),
	('bien-ban', 'BB', 'Biên bản', 0),
	('to-trinh', 'TTr', 'Tờ trình', 0),
	('hop-dong', 'HĐ', 'Hợp đồng', 0),
	('cong-dien', 'CĐ', 'Công điện', 0),
	('ban-ghi-nho', 'BGN', 'Bản ghi nhớ', 0),
	('ban-thoa-thuan', 'BTT', 'Bản thỏa thuận', 0),
	('giay-uy-quyen', 'GUQ', 'Giấy ủy quyền', 0),
	('giay-moi', 'GM', 'Giấy mời', 0),
	('giay-gioi-thieu', 'GGT', 'Giấy giới thiệu', 0),
	('giay-nghi-phep', 'GNP', 'Giấy nghỉ phép', 0),
	('phieu-gui', 'PG', 'Phiếu gửi', 0),
	('phieu-chuyen', 'PC', 'Phiếu chuyển', 0),
	('phieu-bao', 'PB', 'Phiếu báo', 0),
	('cong-van', '', 'Công văn', 0),
	('thu-cong', '', 'Thư công', 0);

-- A register (sổ đi / sổ đến) per organization, direction, year and series.
-- next_number is the number the next document gets; NextNumber increments it
-- inside the caller's transaction so numbers are gapless and never reused.
CREATE TABLE registers (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations(id),
	direction   TEXT NOT NULL,
	year        INTEGER NOT NULL,
	series      TEXT NOT NULL,
	name        TEXT NOT NULL,
	next_number BIGINT NOT NULL DEFAULT 1,
	created_at  BIGINT NOT NULL,
	UNIQUE (org_id, direction, year, series)
);

CREATE TABLE documents (
	id              TEXT PRIMARY KEY,
	org_id          TEXT NOT NULL REFERENCES organizations(id),
	unit_id         TEXT NOT NULL REFERENCES units(id),
	direction       TEXT NOT NULL,
	type_code       TEXT NOT NULL REFERENCES document_types(code),
	subject         TEXT NOT NULL,
	urgency         TEXT NOT NULL,
	confidentiality TEXT NOT NULL,
	state           TEXT NOT NULL,
	created_by      TEXT NOT NULL REFERENCES users(id),
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	-- outgoing
	signer_id       TEXT REFERENCES users(id),
	register_id     TEXT REFERENCES registers(id),
	number          BIGINT,
	symbol          TEXT NOT NULL DEFAULT '',
	numbered_at     BIGINT,
	issued_at       BIGINT,
	-- incoming (number is then the arrival number in the incoming register)
	source_id       TEXT REFERENCES documents(id),
	sender_name     TEXT NOT NULL DEFAULT '',
	sender_symbol   TEXT NOT NULL DEFAULT '',
	sender_date     BIGINT,
	received_at     BIGINT,
	leader_id       TEXT REFERENCES users(id),
	handler_id      TEXT REFERENCES users(id),
	handling_unit_id TEXT REFERENCES units(id),
	deadline        BIGINT,
	instruction     TEXT NOT NULL DEFAULT '',
	completed_at    BIGINT,
	-- optimistic concurrency: every update bumps it and checks the old value
	row_version     BIGINT NOT NULL DEFAULT 1,
	UNIQUE (register_id, number)
);
CREATE INDEX documents_org_state ON documents(org_id, direction, state);
CREATE INDEX documents_handler ON documents(handler_id, state);
CREATE INDEX documents_sender ON documents(org_id, sender_symbol);

CREATE TABLE recipients (
	document_id  TEXT NOT NULL REFERENCES documents(id),
	unit_id      TEXT NOT NULL REFERENCES units(id),
	delivered_id TEXT REFERENCES documents(id), -- the incoming copy once issued
	PRIMARY KEY (document_id, unit_id)
);

-- Versions are never updated or deleted: each PDF state is a new row.
CREATE TABLE versions (
	id          TEXT PRIMARY KEY,
	document_id TEXT NOT NULL REFERENCES documents(id),
	seq         INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	blob_key    TEXT NOT NULL,
	sha256      TEXT NOT NULL,
	size        BIGINT NOT NULL,
	created_by  TEXT NOT NULL REFERENCES users(id),
	created_at  BIGINT NOT NULL,
	UNIQUE (document_id, seq)
);

CREATE TABLE attachments (
	id           TEXT PRIMARY KEY,
	document_id  TEXT NOT NULL REFERENCES documents(id),
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	blob_key     TEXT NOT NULL,
	sha256       TEXT NOT NULL,
	size         BIGINT NOT NULL,
	created_by   TEXT NOT NULL REFERENCES users(id),
	created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_document ON attachments(document_id);

-- Ordered review steps. A return to draft closes the round; resubmitting
-- starts the next round with a fresh list of reviewers.
CREATE TABLE review_steps (
	document_id TEXT NOT NULL REFERENCES documents(id),
	round       INTEGER NOT NULL,
	seq         INTEGER NOT NULL,
	reviewer_id TEXT NOT NULL REFERENCES users(id),
	decision    TEXT NOT NULL DEFAULT '',
	comment     TEXT NOT NULL DEFAULT '',
	decided_at  BIGINT,
	PRIMARY KEY (document_id, round, seq)
);
