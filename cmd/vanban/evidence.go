package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"vanban/internal/document"
	"vanban/internal/evidence"
	"vanban/internal/store"
	"vanban/signing"
	"vanban/signing/pades"
)

// runEvidence dispatches "vanban evidence <sub>".
func runEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: vanban evidence verify [--trust ROOT.pem]... [--json] FILE.zip")
		fmt.Fprintln(stderr, "\n  verify   check an evidence package offline and name every member that does not match (exit 1 if any)")
		if len(args) == 0 {
			return exitError{2}
		}
		return nil
	}
	switch args[0] {
	case "verify":
		return runEvidenceVerify(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "vanban evidence: unknown subcommand %q (want verify)\n", args[0])
		return exitError{2}
	}
}

// runEvidenceVerify checks a package without the network: exit 0 when all
// of it holds, 1 when anything does not (each named on its own line), 2
// for bad arguments.
func runEvidenceVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban evidence verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors (root CAs) for the seal, the time-stamps and the signatures; repeatable")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		// Flags after the file name: "verify FILE.zip --trust root.pem".
		file, rest := fs.Arg(0), fs.Args()[1:]
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			fs.Parse([]string{file})
		}
	}
	if fs.NArg() != 1 {
		return usageError(fs, "give one FILE.zip")
	}
	var roots *x509.CertPool
	if len(trust) > 0 {
		roots = x509.NewCertPool()
		for _, f := range trust {
			certs, err := readCertificates(f)
			if err != nil {
				return err
			}
			for _, c := range certs {
				roots.AddCert(c)
			}
		}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	res, err := evidence.Verify(ctx, f, st.Size(), evidence.VerifyOptions{Roots: roots})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		if res.Manifest != nil {
			fmt.Fprintf(stdout, "evidence package of %q (%s, %s), made %s\n", res.Manifest.Subject, res.Manifest.Symbol, res.Manifest.Organization, res.Manifest.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
		}
		for _, c := range res.Checked {
			fmt.Fprintf(stdout, "ok       %s\n", c)
		}
		for _, p := range res.Problems {
			fmt.Fprintf(stdout, "MISMATCH %s: %s\n", p.Member, p.Message)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(stdout, "note     %s\n", n)
		}
		if res.OK {
			fmt.Fprintln(stdout, "evidence package intact")
		} else {
			fmt.Fprintf(stdout, "evidence package NOT intact: %d problems\n", len(res.Problems))
		}
	}
	if !res.OK {
		return exitError{1}
	}
	return nil
}

// orgSealer seals evidence manifests with each organization's seal signer.
type orgSealer struct {
	db        *store.DB
	providers map[string]signing.Provider
	tsa       pades.Timestamper
}

func (s *orgSealer) Seal(ctx context.Context, orgID string, content []byte) ([]byte, error) {
	ss, err := s.db.SealSigner(ctx, orgID)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return nil, document.Errorf(document.ECONFLICT, "the organization has no seal signer to seal the evidence package")
	}
	if err != nil {
		return nil, err
	}
	p, ok := s.providers[ss.Provider]
	if !ok {
		return nil, document.Errorf(document.ECONFLICT, "the seal's signing provider %q is not configured on this server", ss.Provider)
	}
	if s.tsa == nil {
		return nil, document.Errorf(document.ECONFLICT, "sealing an evidence package needs a time-stamping authority (VANBAN_TSA_URL)")
	}
	return evidence.CMSSeal(ctx, p, ss.ProviderSigner, s.tsa, content)
}
