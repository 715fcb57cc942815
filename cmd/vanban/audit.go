package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"vanban/internal/audit"
	"vanban/internal/config"
	"vanban/internal/store"
)

// runAudit dispatches "vanban audit <sub>". Only verify exists today; the
// level is kept so export or anchoring commands can join it later.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: vanban audit verify [flags]")
		fmt.Fprintln(stderr, "\n  verify   walk the whole audit log and report the first broken link (exit 1 if any)")
		if len(args) == 0 {
			return exitError{2}
		}
		return nil
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "vanban audit: unknown subcommand %q (want verify)\n", args[0])
		return exitError{2}
	}
}

// runAuditVerify checks the hash chain of the configured database. It exits
// 0 only when every entry up to the head links and hashes correctly; a
// broken chain prints the first bad sequence number and exits 1, and a
// failure to read the database is an ordinary error (also exit 1, with the
// cause on stderr) so a script can never mistake "could not check" for "OK".
func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, nil)
	if err != nil {
		return err
	}
	// Only the database: a verification must not depend on the blob store
	// being reachable, and it opens without migrating so that checking a
	// database (perhaps a copy taken for an inspection) never changes it.
	// Nor may it create one: opening a missing SQLite file would.
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:"); ok {
		path, _, _ = strings.Cut(path, "?")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("VANBAN_DATABASE_URL: %w", err)
		}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	// audit.Verify reads the head first and then the entries in pages of a
	// bounded size, so memory stays flat however long the log is.
	r, err := audit.Verify(ctx, db)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	if !r.OK {
		fmt.Fprintf(stdout, "audit log BROKEN at sequence %d: %s\n", r.FirstBadSeq, r.Problem)
		fmt.Fprintf(stdout, "entries verified before the break: %d; head record: seq %d, hash %s\n", r.Entries, r.HeadSeq, r.HeadHash)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries, head seq %d, head hash %s\n", r.Entries, r.HeadSeq, r.HeadHash)
	return nil
}
