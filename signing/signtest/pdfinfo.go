package signtest

import (
	"strings"
	"testing"
)

// PDFInfo runs poppler's pdfinfo on file and returns its "Key: value" lines (Producer, Pages,
// Encrypted, Form, PDF version, Optimized, ...), values trimmed.
func PDFInfo(tb testing.TB, file string) map[string]string {
	tb.Helper()
	res, err := run(tb, []string{"TZ=UTC"}, "pdfinfo", file)
	if err != nil {
		tb.Fatal(err)
	}
	if res.exitCode != 0 {
		tb.Fatal(&ToolError{Tool: "pdfinfo", File: file, ExitCode: res.exitCode, Output: res.stdout + res.stderr})
	}
	info := make(map[string]string)
	for _, line := range strings.Split(res.stdout, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		info[strings.TrimSpace(key)] = strings.TrimSpace(value)
	}
	return info
}
