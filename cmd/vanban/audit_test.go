package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/internal/audit"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// auditDB is one database under test: its URL for the command, the store to
// append through, and a raw connection for the intruder.
type auditDB struct {
	dialect store.Dialect
	url     string
	dataDir string
	db      *store.DB
	raw     *sql.DB
}

// auditTestSecret is the server key the tests run "audit verify" with and
// seal the head with, as serve would.
const auditTestSecret = "an-audit-test-secret-of-32-bytes-or-more"

// eachAuditDB runs fn on SQLite in a temp data dir and, when
// VANBAN_TEST_POSTGRES names a server, on a throwaway PostgreSQL database.
// The PostgreSQL case skips rather than starting a cluster because this
// package has no TestMain to stop one.
func eachAuditDB(t *testing.T, fn func(t *testing.T, a *auditDB)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "vanban.db")
		a := &auditDB{dialect: store.SQLite, url: "sqlite:" + path, dataDir: dir}
		a.db = pgtest.Open(t, a.url)
		a.db.SetAuditKey(audit.HeadKey([]byte(auditTestSecret)))
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		a.raw = raw
		fn(t, a)
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(pgtest.EnvServer) == "" {
			t.Skipf("set %s to run against PostgreSQL", pgtest.EnvServer)
		}
		a := &auditDB{dialect: store.Postgres, url: pgtest.URL(t), dataDir: t.TempDir()}
		a.db = pgtest.Open(t, a.url)
		a.db.SetAuditKey(audit.HeadKey([]byte(auditTestSecret)))
		raw, err := sql.Open("postgres", a.url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		a.raw = raw
		fn(t, a)
	})
}

// verify runs "vanban audit verify" against the database, as an operator
// would, and returns the exit code and output.
func (a *auditDB) verify(t *testing.T) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), []string{"audit", "verify", "--data-dir", a.dataDir, "--database-url", a.url, "--secret-key", auditTestSecret}, &out, &errb)
	return code, out.String(), errb.String()
}

func (a *auditDB) appendN(t *testing.T, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := 1; i <= n; i++ {
		e, err := a.db.AppendAudit(context.Background(), audit.Entry{
			Actor: "user-1", ClientAddr: "10.0.0.1", Action: "document.issue", ObjectType: "document",
			ObjectID: fmt.Sprintf("doc-%d", i), Change: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// dropGuards removes every trigger on audit_log the way someone with owner
// rights on the database would: by asking the catalogue what is there
// rather than knowing vanban's trigger names.
func (a *auditDB) dropGuards(t *testing.T) { a.dropTableGuards(t, "audit_log") }

// dropTableGuards removes every trigger on table.
func (a *auditDB) dropTableGuards(t *testing.T, table string) {
	t.Helper()
	ctx := context.Background()
	var list, drop string
	if a.dialect == store.Postgres {
		list = `SELECT tgname FROM pg_trigger WHERE tgrelid = '` + table + `'::regclass AND NOT tgisinternal`
		drop = `DROP TRIGGER %s ON ` + table
	} else {
		list = `SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '` + table + `'`
		drop = `DROP TRIGGER %s`
	}
	rows, err := a.raw.QueryContext(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(names) == 0 {
		t.Fatalf("%s has no triggers to drop: the append-only guard is missing", table)
	}
	for _, n := range names {
		if _, err := a.raw.ExecContext(ctx, fmt.Sprintf(drop, n)); err != nil {
			t.Fatal(err)
		}
	}
}

func (a *auditDB) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := a.raw.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestAuditVerifyIntact(t *testing.T) {
	eachAuditDB(t, func(t *testing.T, a *auditDB) {
		code, out, errOut := a.verify(t)
		if code != 0 || !strings.Contains(out, "intact: 0 entries") || !strings.Contains(out, audit.GenesisHash) {
			t.Fatalf("empty log: exit %d\n%s%s", code, out, errOut)
		}
		entries := a.appendN(t, 7)
		code, out, errOut = a.verify(t)
		head := entries[len(entries)-1].Hash
		if code != 0 || !strings.Contains(out, "intact: 7 entries, head seq 7, head hash "+head) {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
}

// TestAuditAppendOnlyInDatabase: with the triggers in place, UPDATE, DELETE
// (and TRUNCATE on PostgreSQL) are refused by the database itself, and
// rewinding the head to hide deleted entries is refused too.
func TestAuditAppendOnlyInDatabase(t *testing.T) {
	eachAuditDB(t, func(t *testing.T, a *auditDB) {
		ctx := context.Background()
		a.appendN(t, 3)
		if _, _, err := a.anchorer(t).Anchor(ctx); err != nil {
			t.Fatal(err)
		}
		// Each attempt must be refused by a vanban trigger, not fail for
		// some unrelated reason such as a typo in the table name.
		attempts := []struct{ sql, refusal string }{
			{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`, "append-only"},
			{`DELETE FROM audit_log WHERE seq = 2`, "append-only"},
			{`DELETE FROM audit_log`, "append-only"},
			{`DELETE FROM audit_head`, ""},
			{`UPDATE audit_head SET seq = 2 WHERE id = 1`, "only moves forward"},
			{`UPDATE audit_head SET hash = 'ff' WHERE id = 1`, "only moves forward"},
			{`INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, 'x')`, ""},
			{`DELETE FROM audit_seal`, ""},
			{`INSERT INTO audit_seal (id, seq, hash, mac) VALUES (2, 0, 'x', '')`, ""},
			{`UPDATE audit_anchors SET seq = 1`, "append-only"},
			{`DELETE FROM audit_anchors`, "append-only"},
		}
		if a.dialect == store.Postgres {
			attempts = append(attempts, struct{ sql, refusal string }{`TRUNCATE audit_log`, "TRUNCATE rejected"},
				struct{ sql, refusal string }{`TRUNCATE audit_head`, "TRUNCATE rejected"},
				struct{ sql, refusal string }{`TRUNCATE audit_seal`, "TRUNCATE rejected"},
				struct{ sql, refusal string }{`TRUNCATE audit_anchors`, "TRUNCATE rejected"})
		}
		for _, at := range attempts {
			_, err := a.raw.ExecContext(ctx, at.sql)
			switch {
			case err == nil:
				t.Errorf("%s: accepted", at.sql)
			case !strings.Contains(err.Error(), at.refusal) || !strings.Contains(err.Error(), "audit"):
				t.Errorf("%s: refused for another reason: %v", at.sql, err)
			}
		}
		if code, out, errOut := a.verify(t); code != 0 || !strings.Contains(out, "intact: 3 entries") {
			t.Fatalf("after refused tampering: exit %d\n%s%s", code, out, errOut)
		}
	})
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper string
		seq    int64
		why    string
	}{
		{"edited change", `UPDATE audit_log SET change = '{"n":99}' WHERE seq = 4`, 4, "does not match its hash"},
		{"edited actor", `UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`, 2, "does not match its hash"},
		{"deleted middle", `DELETE FROM audit_log WHERE seq = 3`, 3, "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachAuditDB(t, func(t *testing.T, a *auditDB) {
				a.appendN(t, 5)
				a.dropGuards(t)
				a.exec(t, c.tamper)
				code, out, errOut := a.verify(t)
				want := fmt.Sprintf("BROKEN at sequence %d: ", c.seq)
				if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, c.why) {
					t.Fatalf("exit %d, want 1 with %q and %q\n%s%s", code, want, c.why, out, errOut)
				}
				// The entries before the break were checked and counted.
				if !strings.Contains(out, fmt.Sprintf("verified before the break: %d", c.seq-1)) {
					t.Errorf("count before break missing:\n%s", out)
				}
			})
		})
	}
}

// TestAuditVerifyLongLog crosses the page size of audit.Verify, so the walk
// must continue from one page to the next and still find a break deep in.
func TestAuditVerifyLongLog(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 2 500 entries")
	}
	eachAuditDB(t, func(t *testing.T, a *auditDB) {
		ctx := context.Background()
		const n = 2500
		err := a.db.WithTx(ctx, func(tx *store.Tx) error {
			for i := 0; i < n; i++ {
				if _, err := tx.AppendAudit(ctx, audit.Entry{Actor: "u", Action: "x", ObjectType: "doc", ObjectID: fmt.Sprint(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := a.verify(t); code != 0 || !strings.Contains(out, fmt.Sprintf("intact: %d entries", n)) {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		a.dropGuards(t)
		a.exec(t, `DELETE FROM audit_log WHERE seq = 2222`)
		if code, out, errOut := a.verify(t); code != 1 || !strings.Contains(out, "BROKEN at sequence 2222") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
}

func TestAuditUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"audit"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "audit verify") {
		t.Errorf("bare audit: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"audit", "rewrite"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown subcommand") {
		t.Errorf("unknown subcommand: exit %d, %q", code, errb.String())
	}
}

// Verifying a database that does not exist fails and creates nothing.
func TestAuditVerifyMissingDatabase(t *testing.T) {
	clearServeEnv(t)
	path := filepath.Join(t.TempDir(), "missing.db")
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"audit", "verify", "--database-url", "sqlite:" + path}, &out, &errb); code == 0 {
		t.Fatalf("exit 0 on a missing database: %s", out.String())
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("audit verify created the database file")
	}
}
