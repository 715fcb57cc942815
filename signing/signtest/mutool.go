package signtest

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// MutoolSigResult is MuPDF's verdict (mutool sign -v) on one signature.
type MutoolSigResult struct {
	// Object is the object number of the signature field, as mutool prints it.
	Object int
	// DN is MuPDF's rendering of the signer's distinguished name.
	DN string
	// CertificateError is mutool's certificate complaint, e.g. "Self-signed certificate in chain."
	// (mutool has no trust store option, so a private test CA always gets one); empty if none.
	CertificateError string
	// DigestError is set when the signed bytes do not match the signature, e.g.
	// "Signature invalidated by change to document.".
	DigestError string
	// Unchanged: "The document is unchanged since signing."
	Unchanged bool
	// EditedSinceSigning: "The signature is valid but there have been edits since signing." —
	// mutool's judgement that later incremental updates exist (allowed or not).
	EditedSinceSigning bool
	// NotSigned: "Signature is not signed." — an empty field, or (MuPDF 1.21) a document
	// time-stamp, which it does not understand.
	NotSigned bool
	// Lines holds the signature's detail lines as printed, for anything else.
	Lines []string
}

// DigestValid reports whether mutool found the signed bytes intact.
func (r MutoolSigResult) DigestValid() bool {
	return r.DigestError == "" && (r.Unchanged || r.EditedSinceSigning)
}

// MutoolVerify runs mutool sign -v on file and returns one result per signature field.
func MutoolVerify(tb testing.TB, file string) []MutoolSigResult {
	tb.Helper()
	results, err := RunMutoolVerify(tb, file)
	if err != nil {
		tb.Fatal(err)
	}
	return results
}

// RunMutoolVerify is MutoolVerify for inputs mutool may refuse: it returns a *ToolError when
// mutool fails on the file instead of failing the test.
func RunMutoolVerify(tb testing.TB, file string) ([]MutoolSigResult, error) {
	tb.Helper()
	res, err := run(tb, nil, "mutool", "sign", "-v", file)
	if err != nil {
		return nil, err
	}
	if res.exitCode != 0 {
		return nil, &ToolError{Tool: "mutool sign -v", File: file, ExitCode: res.exitCode, Output: res.stdout + res.stderr}
	}
	results, err := ParseMutoolVerify(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("%w\nmutool output:\n%s", err, res.stdout)
	}
	return results, nil
}

// ParseMutoolVerify parses the output of mutool sign -v (MuPDF 1.21): a "Verifying signature N:"
// header per signature followed by tab-indented detail lines.
func ParseMutoolVerify(out string) ([]MutoolSigResult, error) {
	var results []MutoolSigResult
	var cur *MutoolSigResult
	sc := bufio.NewScanner(strings.NewReader(out))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(text, "Verifying signature ") {
			num := strings.TrimSuffix(strings.TrimPrefix(text, "Verifying signature "), ":")
			n, err := strconv.Atoi(num)
			if err != nil {
				return nil, fmt.Errorf("signtest: mutool line %d: bad header %q", line, text)
			}
			results = append(results, MutoolSigResult{Object: n})
			cur = &results[len(results)-1]
			continue
		}
		detail := strings.TrimSpace(text)
		if detail == "" {
			continue
		}
		if cur == nil || !strings.HasPrefix(text, "\t") {
			// mutool prints nothing else on stdout for -v; an unknown line means a format change
			// that must not be silently ignored.
			return nil, fmt.Errorf("signtest: mutool line %d: unexpected %q", line, text)
		}
		cur.Lines = append(cur.Lines, detail)
		switch {
		case strings.HasPrefix(detail, "Distinguished name: "):
			cur.DN = strings.TrimPrefix(detail, "Distinguished name: ")
		case strings.HasPrefix(detail, "Certificate error: "):
			cur.CertificateError = strings.TrimPrefix(detail, "Certificate error: ")
		case strings.HasPrefix(detail, "Digest error: "):
			cur.DigestError = strings.TrimPrefix(detail, "Digest error: ")
		case detail == "The document is unchanged since signing.":
			cur.Unchanged = true
		case strings.Contains(detail, "there have been edits since signing"):
			cur.EditedSinceSigning = true
		case detail == "Signature is not signed.":
			cur.NotSigned = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("signtest: reading mutool output: %w", err)
	}
	return results, nil
}
