// Package pgtest gives tests a fresh PostgreSQL database, and runs store
// tests against both SQLite and PostgreSQL.
//
// The server comes from VANBAN_TEST_POSTGRES when set (an admin URL such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). Otherwise a
// throwaway cluster is started with initdb/pg_ctl once per test binary; use
// Main from TestMain so it is stopped when the tests end. Without a server the
// test is skipped, or fails when VANBAN_REQUIRE_SERVICES=1.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // the admin connection that creates databases

	"vanban/internal/store"
)

// EnvServer names an existing PostgreSQL server to use instead of starting one.
const EnvServer = "VANBAN_TEST_POSTGRES"

// EnvRequire makes a missing component a test failure instead of a skip (CI).
const EnvRequire = "VANBAN_REQUIRE_SERVICES"

var (
	clusterOnce sync.Once
	clusterURL  string
	clusterErr  error
	clusterStop func()
)

// Main runs the tests and then stops the cluster this package may have
// started. Use it as: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop shuts down a cluster started by this package, if any.
func Stop() {
	if clusterStop != nil {
		clusterStop()
		clusterStop = nil
	}
}

func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("PostgreSQL required (%s=1) but unavailable: %s", EnvRequire, msg)
	}
	tb.Skipf("PostgreSQL unavailable, skipping: %s (set %s to a server URL)", msg, EnvServer)
}

// serverURL returns the admin URL of the server to create databases on.
func serverURL() (string, error) {
	if u := os.Getenv(EnvServer); u != "" {
		return u, nil
	}
	clusterOnce.Do(func() { clusterURL, clusterStop, clusterErr = startCluster() })
	return clusterURL, clusterErr
}

// URL returns the URL of a new, empty database with a unique name. The
// database is dropped when the test ends.
func URL(tb testing.TB) string {
	tb.Helper()
	admin, err := serverURL()
	if err != nil {
		unavailable(tb, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adb, err := sql.Open("postgres", admin)
	if err != nil {
		unavailable(tb, "%s: %v", EnvServer, err)
	}
	defer adb.Close()
	if err := adb.PingContext(ctx); err != nil {
		unavailable(tb, "cannot reach %s: %v", redact(admin), err)
	}
	name := "vanban_test_" + randomHex(8)
	if _, err := adb.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		adb, err := sql.Open("postgres", admin)
		if err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer adb.Close()
		// FORCE ends connections a test left open (PostgreSQL 13+).
		if _, err := adb.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: parse %s: %v", EnvServer, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open opens and migrates the database at rawURL, closing it at test end.
func Open(tb testing.TB, rawURL string) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, rawURL)
	if err != nil {
		tb.Fatalf("pgtest: open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatalf("pgtest: migrate: %v", err)
	}
	return db
}

// SQLiteURL returns the URL of a new SQLite file in the test's temp dir.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "vanban.db")
}

// Each runs fn as two subtests, "sqlite" and "postgres", each with a freshly
// migrated database, so every store test covers both engines.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, Open(t, SQLiteURL(t)))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, Open(t, URL(t)))
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// findBin looks for a PostgreSQL server program in PATH, then in the Debian
// layout /usr/lib/postgresql/<major>/bin, newest major first.
func findBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/lib/postgresql/*/bin", name)
}

func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// startCluster creates a cluster in a temp dir and starts it on a free port.
// initdb refuses to run as root, so as root the programs run as the
// "postgres" user, which must own the directory.
func startCluster() (adminURL string, stop func(), err error) {
	initdb, err := findBin("initdb")
	if err != nil {
		return "", nil, err
	}
	pgctl, err := findBin("pg_ctl")
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "vanban-pgtest-")
	if err != nil {
		return "", nil, err
	}
	cleanupDir := func() { os.RemoveAll(dir) }
	var runAs []string
	if os.Geteuid() == 0 {
		pgUser, err := user.Lookup("postgres")
		if err != nil {
			cleanupDir()
			return "", nil, fmt.Errorf("running as root and no 'postgres' user to run initdb as: %v", err)
		}
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			cleanupDir()
			return "", nil, err
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		if runAs != nil {
			cmd = exec.Command(runAs[0], append(runAs[1:], args...)...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		cleanupDir()
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		cleanupDir()
		return "", nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", port, dir)
	if err := run(pgctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		cleanupDir()
		return "", nil, err
	}
	stop = func() {
		_ = run(pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		cleanupDir()
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
