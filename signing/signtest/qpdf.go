package signtest

import (
	"fmt"
	"strings"
	"testing"
)

// QPDFCheckError is qpdf --check's complaint about a file. Warnings are qpdf's WARNING lines
// that were not allowed; Output is everything qpdf printed.
type QPDFCheckError struct {
	File     string
	ExitCode int
	Warnings []string
	Output   string
}

func (e *QPDFCheckError) Error() string {
	if len(e.Warnings) > 0 {
		return fmt.Sprintf("qpdf --check %s: %d warning(s): %s", e.File, len(e.Warnings), strings.Join(e.Warnings, "; "))
	}
	return fmt.Sprintf("qpdf --check %s failed (exit %d): %s", e.File, e.ExitCode, strings.TrimSpace(e.Output))
}

// QPDFCheck runs qpdf --check on file and returns nil only when qpdf finds no error and no
// warning. A warning that contains one of allowWarnings (plain substrings) is tolerated: use it
// for a known, deliberate defect of a test input, never to hide a defect our code wrote.
// qpdf recovers from many defects with only a warning, so warnings count as failures by default.
// The returned error is a *QPDFCheckError.
func QPDFCheck(tb testing.TB, file string, allowWarnings ...string) error {
	tb.Helper()
	res, err := run(tb, nil, "qpdf", "--check", file)
	if err != nil {
		tb.Fatal(err)
	}
	out := res.stdout + res.stderr
	// qpdf exit codes: 0 clean, 2 errors, 3 warnings only.
	if res.exitCode != 0 && res.exitCode != 3 {
		return &QPDFCheckError{File: file, ExitCode: res.exitCode, Output: out}
	}
	var warnings, bad []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.Contains(line, "WARNING") {
			continue
		}
		warnings = append(warnings, line)
		if !allowed(line, allowWarnings) {
			bad = append(bad, line)
		}
	}
	switch {
	case len(bad) > 0:
		return &QPDFCheckError{File: file, ExitCode: res.exitCode, Warnings: bad, Output: out}
	case res.exitCode == 3 && len(warnings) == 0:
		// A warning exit without a WARNING line we could judge: never pass it unseen.
		return &QPDFCheckError{File: file, ExitCode: res.exitCode, Output: out}
	}
	return nil
}

func allowed(line string, allow []string) bool {
	for _, a := range allow {
		if a != "" && strings.Contains(line, a) {
			return true
		}
	}
	return false
}
