package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL engine behind a DB. Everything that differs between
// PostgreSQL and SQLite lives in this file; the rest of the package writes
// portable SQL with '?' placeholders.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// migrationLockKey is an arbitrary constant shared by every vanban process so
// that two processes starting at once on the same PostgreSQL database apply
// migrations one after the other instead of racing on DDL.
const migrationLockKey int64 = 0x76616e62616e // "vanban"

// rebind turns the portable '?' placeholders into the dialect's own.
func (d Dialect) rebind(query string) string {
	if d == Postgres {
		return sqlx.Rebind(sqlx.DOLLAR, query)
	}
	return query
}

// lockMigrations serializes migration runs across processes. On PostgreSQL a
// session-level advisory lock held on conn; SQLite needs nothing more because
// every write transaction is BEGIN IMMEDIATE and re-checks schema_migrations.
func (d Dialect) lockMigrations(ctx context.Context, conn *sqlx.Conn) (unlock func(), err error) {
	if d != Postgres {
		return func() {}, nil
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return nil, err
	}
	return func() {
		// A fresh context: the caller's may already be cancelled, and a
		// lock left behind would block every later start until the
		// connection dies.
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}, nil
}

// dialectMigrations are migrations whose SQL cannot be written once for both
// engines. Each version must have an entry for every dialect so both databases
// end up with the same list in schema_migrations.
var dialectMigrations = map[string]map[Dialect]string{
	// The audit log is append-only: reject UPDATE and DELETE in the database
	// itself so that a bug or a stray admin statement cannot silently rewrite
	// history (Verify would still catch it, but later).
	"0004_audit_append_only": {
		Postgres: `
CREATE FUNCTION vanban_audit_append_only() RETURNS trigger AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only: % rejected', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only
	BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION vanban_audit_append_only();
CREATE TRIGGER audit_head_no_delete
	BEFORE DELETE ON audit_head
	FOR EACH ROW EXECUTE FUNCTION vanban_audit_append_only();
`,
		SQLite: `
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE rejected'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE rejected'); END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END;
`,
	},
	// Close the gaps 0004 left: the head could be rewound (delete the newest
	// entries, point the head at an earlier one, and Verify finds nothing)
	// or forged, and on PostgreSQL TRUNCATE skips row triggers. The head may
	// now only do what AppendAudit does: advance seq by one keeping the hash,
	// then take the hash of the entry it points at.
	"0301_audit_head_guard": {
		Postgres: `
CREATE FUNCTION vanban_audit_head_forward() RETURNS trigger AS $$
BEGIN
	IF NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND NEW.hash = OLD.hash THEN
		RETURN NEW;
	END IF;
	IF NEW.id = OLD.id AND NEW.seq = OLD.seq
		AND NEW.hash IS NOT DISTINCT FROM (SELECT hash FROM audit_log WHERE seq = NEW.seq) THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'audit_head only moves forward with the chain: seq % -> % rejected', OLD.seq, NEW.seq;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_head_forward_only
	BEFORE UPDATE ON audit_head
	FOR EACH ROW EXECUTE FUNCTION vanban_audit_head_forward();
CREATE TRIGGER audit_head_no_insert
	BEFORE INSERT ON audit_head
	FOR EACH ROW EXECUTE FUNCTION vanban_audit_append_only();
CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION vanban_audit_append_only();
CREATE TRIGGER audit_head_no_truncate
	BEFORE TRUNCATE ON audit_head
	FOR EACH STATEMENT EXECUTE FUNCTION vanban_audit_append_only();
`,
		// SQLite has no TRUNCATE; its "DELETE without WHERE" shortcut is
		// disabled on tables with triggers, so 0004 already covers it. IS is
		// SQLite's null-safe equality: a head pointing at a missing entry
		// compares false rather than NULL, which WHEN would treat as "allow".
		SQLite: `
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NOT (
	(NEW.id IS OLD.id AND NEW.seq IS OLD.seq + 1 AND NEW.hash IS OLD.hash)
	OR (NEW.id IS OLD.id AND NEW.seq IS OLD.seq AND NEW.hash IS (SELECT hash FROM audit_log WHERE seq = NEW.seq))
)
BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward with the chain'); END;
CREATE TRIGGER audit_head_no_insert BEFORE INSERT ON audit_head
BEGIN SELECT RAISE(ABORT, 'audit_head has exactly one row'); END;
`,
	},
	// Text search is "search_text LIKE '%word%'" per word, which no b-tree
	// can serve. On PostgreSQL a trigram GIN index answers it for words of
	// three letters or more (pg_trgm ships with PostgreSQL's contrib and is
	// a trusted extension, so the database owner may create it). SQLite
	// keeps scanning search_text; it has no equivalent for LIKE '%x%'.
	"0421_search_trigram": {
		Postgres: `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX documents_search_trgm ON documents USING gin (search_text gin_trgm_ops);
`,
		SQLite: `-- no trigram index on SQLite
SELECT 1;
`,
	},
	// The same for the PDF text of documents (0700).
	"0701_search_body_trigram": {
		Postgres: `
CREATE INDEX documents_search_body_trgm ON documents USING gin (search_body gin_trgm_ops);
`,
		SQLite: `-- no trigram index on SQLite
SELECT 1;
`,
	},
}

// dropAuditGuardSQL removes the append-only triggers. Only tests use it, to
// prove that Verify catches tampering done by someone who can drop triggers.
func (d Dialect) dropAuditGuardSQL() string {
	if d == Postgres {
		return `DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_head;
DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head;
DROP TRIGGER IF EXISTS audit_head_no_insert ON audit_head;
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head;`
	}
	return `DROP TRIGGER IF EXISTS audit_log_no_update;
DROP TRIGGER IF EXISTS audit_log_no_delete;
DROP TRIGGER IF EXISTS audit_head_no_delete;
DROP TRIGGER IF EXISTS audit_head_forward_only;
DROP TRIGGER IF EXISTS audit_head_no_insert;`
}

// lockSkipLocked ends a SELECT that claims queue rows. On PostgreSQL the
// selected rows of alias are locked and rows another transaction holds are
// skipped, so concurrent claimers take disjoint rows without waiting. SQLite
// needs nothing: every write transaction holds the database write lock from
// BEGIN (_txlock=immediate), so claim transactions run one after another.
func (d Dialect) lockSkipLocked(alias string) string {
	if d == Postgres {
		return " FOR UPDATE OF " + alias + " SKIP LOCKED"
	}
	return ""
}

// isUniqueViolation reports whether err is a unique or primary-key violation.
func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23505"
	}
	var sErr *sqlite.Error
	if errors.As(err, &sErr) {
		code := sErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports whether err is a foreign-key violation, which
// callers report as an invalid reference rather than an internal error.
func isForeignKeyViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23503"
	}
	var sErr *sqlite.Error
	if errors.As(err, &sErr) {
		return sErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// sqliteDSN builds the modernc.org/sqlite DSN for a file path. User-supplied
// query parameters are kept; ours are appended so that the properties vanban
// depends on (foreign keys, WAL, waiting instead of failing on a locked
// database, and write transactions that take the write lock at BEGIN so two
// writers never deadlock on lock upgrade) are always present.
func sqliteDSN(path, query string) string {
	params := []string{
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		"_pragma=busy_timeout(30000)",
		"_pragma=synchronous(NORMAL)",
		"_txlock=immediate",
	}
	if query != "" {
		params = append([]string{query}, params...)
	}
	return "file:" + path + "?" + strings.Join(params, "&")
}
