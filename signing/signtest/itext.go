package signtest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ItextSigResult is iText 5's (BouncyCastle's) verdict on one signature, from
// testdata/gen/java/ItextVerify.java.
type ItextSigResult struct {
	Name string
	// Revision and TotalRevisions count revisions as iText does: each signature closes one
	// revision, and everything appended after the last signature counts as one more, however many
	// incremental updates it holds.
	Revision, TotalRevisions int
	CoversWholeDocument      bool
	SubFilter                string
	Digest                   string // e.g. "SHA256"
	Signer                   string // subject DN, RFC 2253
	SignDate                 time.Time
	// Integrity is true when the message digest and the signature value verify.
	Integrity      bool
	IntegrityError string
	// Timestamp is true when the signature carries an RFC 3161 token or is a document
	// time-stamp. For a signature time-stamp, TimestampDate is the token's genTime and
	// TimestampImprintValid says whether its imprint is the hash of the signature value.
	Timestamp             bool
	TimestampDate         time.Time
	TimestampImprintValid bool
	// CertErrors counts chain problems against ItextVerifyOptions.CAPEM; -1 when no CA was given.
	CertErrors int
	CertError  string
	// Fields holds every key=value pair printed, for details this struct does not name.
	Fields map[string]string
}

// ItextVerifyOptions configures ItextVerify.
type ItextVerifyOptions struct {
	// CAPEM, when set, is a PEM file of trusted certificates to check each chain against.
	CAPEM string
	// OwnerPassword opens encrypted files; the empty user password is tried otherwise.
	OwnerPassword string
}

// javaDir is where Debian installs the jars ItextVerify needs.
const javaDir = "/usr/share/java"

var itextJars = []string{"itext5.jar", "bcprov.jar", "bcpkix.jar", "bcutil.jar"}

// ItextVerify checks every signature of file with iText 5 and BouncyCastle (Debian packages
// default-jdk-headless, libitext5-java, libbcprov-java, libbcpkix-java), a CMS implementation
// independent of NSS (pdfsig) and OpenSSL. The Java source is compiled once per source version
// into the user cache directory.
func ItextVerify(tb testing.TB, file string, opts ItextVerifyOptions) []ItextSigResult {
	tb.Helper()
	results, err := RunItextVerify(tb, file, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return results
}

// RunItextVerify is ItextVerify for inputs iText may refuse: it returns a *ToolError when iText
// cannot read the file instead of failing the test.
func RunItextVerify(tb testing.TB, file string, opts ItextVerifyOptions) ([]ItextSigResult, error) {
	tb.Helper()
	classDir := compileItextVerify(tb)
	// C1-only JIT and the serial collector halve the CPU a short JVM run costs: tests share two
	// cores with everything else.
	args := []string{"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classPath(classDir), "ItextVerify", file}
	if opts.CAPEM != "" {
		args = append(args, "--ca", opts.CAPEM)
	}
	if opts.OwnerPassword != "" {
		args = append(args, "--owner-pw", opts.OwnerPassword)
	}
	res, err := run(tb, nil, "java", args...)
	if err != nil {
		return nil, err
	}
	if res.exitCode != 0 {
		return nil, &ToolError{Tool: "ItextVerify", File: file, ExitCode: res.exitCode, Output: res.stdout + res.stderr}
	}
	results, err := ParseItextVerify(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("%w\nItextVerify output:\n%s", err, res.stdout)
	}
	if opts.CAPEM == "" {
		for i := range results {
			results[i].CertErrors = -1
		}
	}
	return results, nil
}

func classPath(classDir string) string {
	parts := []string{classDir}
	for _, jar := range itextJars {
		parts = append(parts, filepath.Join(javaDir, jar))
	}
	return strings.Join(parts, string(os.PathListSeparator))
}

// compileItextVerify returns a directory holding ItextVerify.class, compiling it when the cache
// has no class for this exact source.
func compileItextVerify(tb testing.TB) string {
	tb.Helper()
	RequireTool(tb, "java")
	RequireTool(tb, "javac")
	for _, jar := range itextJars {
		if _, err := os.Stat(filepath.Join(javaDir, jar)); err != nil {
			skipOrFail(tb, fmt.Sprintf("signtest: %s missing (Debian packages libitext5-java libbcprov-java libbcpkix-java)", filepath.Join(javaDir, jar)))
		}
	}
	src := filepath.Join(RepoRoot(tb), "testdata", "gen", "java", "ItextVerify.java")
	source, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(source)
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "vanban-signtest", "itextverify-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "ItextVerify.class")); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		tb.Fatal(err)
	}
	// Compile into a private directory and rename it into place, so parallel test processes
	// never see a half-written class.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "compiling-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	res, err := run(tb, nil, "javac", "-encoding", "UTF-8", "-nowarn", "-d", tmp, "-cp", classPath(tmp), src)
	if err != nil {
		tb.Fatal(err)
	}
	if res.exitCode != 0 {
		tb.Fatalf("javac ItextVerify.java: %s%s", res.stdout, res.stderr)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process won the race; its class is as good as ours.
		if _, statErr := os.Stat(filepath.Join(dir, "ItextVerify.class")); statErr != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// ParseItextVerify parses ItextVerify's output: one line per signature of tab-separated
// key=value pairs.
func ParseItextVerify(out string) ([]ItextSigResult, error) {
	var results []ItextSigResult
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		r := ItextSigResult{Fields: map[string]string{}}
		for _, pair := range strings.Split(text, "\t") {
			key, value, ok := strings.Cut(pair, "=")
			if !ok || key == "" {
				return nil, fmt.Errorf("signtest: ItextVerify line %d: bad pair %q", line, pair)
			}
			r.Fields[key] = value
		}
		if r.Fields["name"] == "" {
			return nil, fmt.Errorf("signtest: ItextVerify line %d: no signature name", line)
		}
		var err error
		r.Name = r.Fields["name"]
		if r.Revision, err = atoiField(r.Fields, "revision"); err != nil {
			return nil, fmt.Errorf("signtest: ItextVerify line %d: %w", line, err)
		}
		if r.TotalRevisions, err = atoiField(r.Fields, "total_revisions"); err != nil {
			return nil, fmt.Errorf("signtest: ItextVerify line %d: %w", line, err)
		}
		r.CoversWholeDocument = r.Fields["covers_whole_document"] == "true"
		r.SubFilter = r.Fields["sub_filter"]
		r.Digest = r.Fields["digest"]
		r.Signer = r.Fields["signer"]
		if d := r.Fields["sign_date"]; d != "" {
			if r.SignDate, err = time.Parse(time.RFC3339, d); err != nil {
				return nil, fmt.Errorf("signtest: ItextVerify line %d: sign_date: %w", line, err)
			}
		}
		r.Integrity = r.Fields["integrity"] == "true"
		r.Timestamp = r.Fields["timestamp"] == "true"
		if d := r.Fields["timestamp_date"]; d != "" {
			if r.TimestampDate, err = time.Parse(time.RFC3339, d); err != nil {
				return nil, fmt.Errorf("signtest: ItextVerify line %d: timestamp_date: %w", line, err)
			}
		}
		r.TimestampImprintValid = r.Fields["timestamp_imprint"] == "true"
		r.IntegrityError = r.Fields["integrity_error"]
		if _, ok := r.Fields["cert_errors"]; ok {
			if r.CertErrors, err = atoiField(r.Fields, "cert_errors"); err != nil {
				return nil, fmt.Errorf("signtest: ItextVerify line %d: %w", line, err)
			}
		}
		r.CertError = r.Fields["cert_error"]
		results = append(results, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("signtest: reading ItextVerify output: %w", err)
	}
	return results, nil
}

func atoiField(fields map[string]string, key string) (int, error) {
	n, err := strconv.Atoi(fields[key])
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a number", key, fields[key])
	}
	return n, nil
}
