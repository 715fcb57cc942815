// Command vanban is the document management and digital signing server and
// its tools. Run "vanban help" for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":    {"run the server (embedded SQLite and local disk unless configured otherwise)", runServe},
		"migrate":  {"apply database migrations and exit", runMigrate},
		"pdf":      {"sign, verify or extend PDFs (PAdES B-B to B-LTA) with any signer URI", runPDF},
		"mssp-sim": {"run the ETSI TS 102 204 mobile-signature simulator with its virtual phones", runMSSPSim},
		"audit":    {"verify the audit log against its seal and anchors, or anchor its head (audit verify|anchor)", runAudit},
		"evidence": {"check an evidence package offline (evidence verify FILE.zip)", runEvidence},
		"init":     {"create an organization and its first administrator", runInit},
		"backup":   {"write the embedded installation (database, blobs, keys) as one archive, while serve may run", runBackup},
		"restore":  {"restore a backup archive into an empty data directory", runRestore},
		"demo":     {"drive one document through every outgoing state over the HTTP API of a running server", runDemo},
		"version": {"print the version", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fmt.Fprintln(stdout, "vanban", version)
			return nil
		}},

		// Document interconnection (liên thông văn bản).
		"edxml":        {"parse or build edXML packages (QCVN 102:2016)", runEdxml},
		"exchange-hub": {"run the exchange hub that routes edXML packages between agencies by OrganId", runExchangeHub},
	}
}

// exitError carries a specific exit status (e.g. "pdf verify" exits 1 when a
// signature is not TOTAL-PASSED) without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vanban: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "vanban %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Usage: vanban <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'vanban <command> --help' for the flags of a command.")
}
