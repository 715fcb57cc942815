package signtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RequireServicesEnv names the environment variable that turns a missing tool from a skip into a
// failure, so CI cannot pass by silently skipping every independent check.
const RequireServicesEnv = "VANBAN_REQUIRE_SERVICES"

// debianPackage says which Debian package ships each tool, so a skip message tells the reader
// what to install.
var debianPackage = map[string]string{
	"pdfsig":    "poppler-utils",
	"pdftoppm":  "poppler-utils",
	"pdfinfo":   "poppler-utils",
	"pdftotext": "poppler-utils",
	"mutool":    "mupdf-tools",
	"qpdf":      "qpdf",
	"openssl":   "openssl",
	"certutil":  "libnss3-tools",
	"java":      "default-jdk-headless",
	"javac":     "default-jdk-headless",
	"gs":        "ghostscript",
}

// RequireTool returns the path of an executable from PATH. When it is missing the test is skipped
// with the reason, or fails when VANBAN_REQUIRE_SERVICES=1.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	reason := fmt.Sprintf("signtest: %s not found in PATH", name)
	if pkg, ok := debianPackage[name]; ok {
		reason += fmt.Sprintf(" (Debian package %s)", pkg)
	}
	skipOrFail(tb, reason)
	return ""
}

// skipOrFail skips the test with reason, or fails it when VANBAN_REQUIRE_SERVICES=1.
func skipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv(RequireServicesEnv) == "1" {
		tb.Fatalf("%s and %s=1", reason, RequireServicesEnv)
	}
	tb.Skip(reason)
}

// toolTimeout bounds every tool run: a validator that hangs must fail the test, not the CI job.
const toolTimeout = 2 * time.Minute

// runResult is what one tool run produced.
type runResult struct {
	stdout, stderr string
	exitCode       int
}

// run executes a tool found by RequireTool with a timeout and extra environment entries. A
// non-zero exit is not an error here: several tools use exit codes for verdicts, so callers judge.
func run(tb testing.TB, env []string, name string, args ...string) (runResult, error) {
	tb.Helper()
	path := RequireTool(tb, name)
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && ctx.Err() == nil {
			res.exitCode = exitErr.ExitCode()
			return res, nil
		}
		return res, fmt.Errorf("signtest: %s %s: %w", name, strings.Join(args, " "), err)
	}
	return res, nil
}
