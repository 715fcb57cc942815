package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The shared test services (pgtest's cluster, s3test's MinIO) cannot be
// stopped in the middle of a test binary, so this test runs its own
// PostgreSQL cluster and MinIO server that it can stop and start again on
// the same port and data directory.

func requireServices() bool { return os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" }

func skipOrFatal(t *testing.T, format string, args ...any) {
	t.Helper()
	if requireServices() {
		t.Fatalf(format+" (VANBAN_REQUIRE_SERVICES=1)", args...)
	}
	t.Skipf(format, args...)
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// postgresBin finds a server program in PATH or the Debian layout
// /usr/lib/postgresql/<major>/bin, newest major first.
func postgresBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/lib/postgresql/*/bin", name)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// restartablePostgres is a throwaway cluster controlled with pg_ctl.
type restartablePostgres struct {
	pgctl, data, opts, log string
	runAs                  []string
	URL                    string
}

func startRestartablePostgres(t *testing.T) *restartablePostgres {
	t.Helper()
	initdb, err := postgresBin("initdb")
	if err != nil {
		skipOrFatal(t, "PostgreSQL: %v", err)
	}
	pgctl, err := postgresBin("pg_ctl")
	if err != nil {
		skipOrFatal(t, "PostgreSQL: %v", err)
	}
	// Not t.TempDir: as root the cluster runs as "postgres", which must be
	// able to reach its directory, and t.TempDir's parent is private.
	dir, err := os.MkdirTemp("", "vanban-readyz-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &restartablePostgres{pgctl: pgctl, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "log")}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFatal(t, "running as root and no postgres user to run initdb as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	if err := p.run(initdb, "-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	port := freeLoopbackPort(t)
	p.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	p.start(t)
	t.Cleanup(func() { _ = p.run(p.pgctl, "-D", p.data, "-m", "immediate", "-w", "stop") })
	return p
}

func (p *restartablePostgres) run(args ...string) error {
	args = append(append([]string{}, p.runAs...), args...)
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (p *restartablePostgres) start(t *testing.T) {
	t.Helper()
	if err := p.run(p.pgctl, "-D", p.data, "-o", p.opts, "-l", p.log, "-w", "-t", "60", "start"); err != nil {
		t.Fatal(err)
	}
}

// stop shuts the server down the way an operator does: open connections
// are terminated, so the server's pool holds dead ones afterwards.
func (p *restartablePostgres) stop(t *testing.T) {
	t.Helper()
	if err := p.run(p.pgctl, "-D", p.data, "-m", "fast", "-w", "stop"); err != nil {
		t.Fatal(err)
	}
}

// restartableMinio is a MinIO server process on a fixed address and data
// directory.
type restartableMinio struct {
	bin, addr, dir, access, secret string
	cmd                            *exec.Cmd
	exited                         chan error
}

func startRestartableMinio(t *testing.T) *restartableMinio {
	t.Helper()
	bin, err := exec.LookPath("minio")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		if p := filepath.Join(strings.TrimSpace(string(out)), "bin", "minio"); fileExists(p) {
			bin, err = p, nil
		}
	}
	if err != nil {
		skipOrFatal(t, "no minio binary on PATH or in $(go env GOPATH)/bin")
	}
	m := &restartableMinio{
		bin: bin, addr: fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)), dir: t.TempDir(),
		access: "vanbanreadyz", secret: "readyz-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	m.start(t)
	t.Cleanup(func() { m.stop(t) })
	return m
}

func (m *restartableMinio) start(t *testing.T) {
	t.Helper()
	console := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	m.cmd = exec.Command(m.bin, "server", "--quiet", "--address", m.addr, "--console-address", console, m.dir)
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.access, "MINIO_ROOT_PASSWORD="+m.secret, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	// Kill minio if the test binary dies without running cleanup.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(m.cmd, m.exited)
	client, err := minio.New(m.addr, &minio.Options{Creds: credentials.NewStaticV4(m.access, m.secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	// The health endpoints answer before the object layer is ready; an
	// authenticated call is what the server needs.
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.ListBuckets(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case werr := <-m.exited:
			m.cmd = nil
			t.Fatalf("minio exited: %v", werr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not ready on %s: %v", m.addr, err)
		}
	}
}

func (m *restartableMinio) stop(t *testing.T) {
	t.Helper()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}

type readiness struct {
	code   int
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func getReady(t *testing.T, base string) readiness {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := readiness{code: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	return r
}

// awaitReady polls /readyz until it answers want; the outage or the
// recovery may take a moment to show (a pool noticing dead connections,
// MinIO's object layer coming up).
func awaitReady(t *testing.T, base string, want int, what string) readiness {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		r := getReady(t, base)
		if r.code == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz still %d %+v, want %d", what, r.code, r, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestReadyzFollowsRealServices runs "vanban serve" on PostgreSQL and
// MinIO, stops each service for real and starts it again: /readyz turns
// 503 naming the service that is down, and back to 200 once it returns,
// without restarting vanban.
func TestReadyzFollowsRealServices(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops PostgreSQL and MinIO")
	}
	pg := startRestartablePostgres(t)
	mn := startRestartableMinio(t)
	clearServeEnv(t)
	srv := serveVanban(t, "--data-dir", t.TempDir(),
		"--database-url", pg.URL,
		"--storage-url", "s3://readyz?endpoint="+mn.addr+"&secure=false",
		"--s3-access-key", mn.access, "--s3-secret-key", mn.secret, "--secret-key", nodeSecretKey)

	if r := getReady(t, srv.URL); r.code != http.StatusOK || r.Checks["database"] != "ok" || r.Checks["storage"] != "ok" {
		t.Fatalf("before any outage: %d %+v", r.code, r)
	}

	mn.stop(t)
	r := awaitReady(t, srv.URL, http.StatusServiceUnavailable, "MinIO stopped")
	if r.Status != "unavailable" || r.Checks["storage"] == "ok" || r.Checks["storage"] == "" || r.Checks["database"] != "ok" {
		t.Errorf("MinIO stopped: %+v, want storage's reason and database ok", r)
	}
	t.Logf("MinIO down: storage = %q", r.Checks["storage"])
	mn.start(t)
	awaitReady(t, srv.URL, http.StatusOK, "MinIO back")

	pg.stop(t)
	r = awaitReady(t, srv.URL, http.StatusServiceUnavailable, "PostgreSQL stopped")
	if r.Status != "unavailable" || r.Checks["database"] == "ok" || r.Checks["database"] == "" || r.Checks["storage"] != "ok" {
		t.Errorf("PostgreSQL stopped: %+v, want database's reason and storage ok", r)
	}
	t.Logf("PostgreSQL down: database = %q", r.Checks["database"])
	pg.start(t)
	awaitReady(t, srv.URL, http.StatusOK, "PostgreSQL back")
}
