// Package s3test provides an S3 server for tests: the one named by
// VANBAN_TEST_S3, or a throwaway MinIO started from the minio binary.
//
//	func TestMain(m *testing.M) { s3test.Main(m) } // stops the shared server
//
//	func TestX(t *testing.T) {
//		endpoint, access, secret := s3test.Start(t)
//		...
//	}
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is a reachable S3 endpoint with root credentials.
type Server struct {
	Endpoint  string // host:port
	Secure    bool
	AccessKey string
	SecretKey string
}

// StoreURL is the storage.Open URL for bucket under prefix on this server.
func (s Server) StoreURL(bucket, prefix string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint)
	q.Set("secure", fmt.Sprint(s.Secure))
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	return "s3://" + bucket + "?" + q.Encode()
}

var (
	once    sync.Once
	shared  Server
	stop    func()
	errDown error // why no server is available
)

// Start returns a server's endpoint (host:port) and credentials; see
// StartServer.
func Start(tb testing.TB) (endpoint, accessKey, secretKey string) {
	tb.Helper()
	s := StartServer(tb)
	return s.Endpoint, s.AccessKey, s.SecretKey
}

// StartServer returns the server named by VANBAN_TEST_S3
// ("http://ACCESS:SECRET@host:port"), or else one MinIO server per test
// binary, started on a free 127.0.0.1 port with a temporary data directory
// from the minio binary on PATH or in $(go env GOPATH)/bin. With neither it
// skips the test, or fails it when VANBAN_REQUIRE_SERVICES=1.
func StartServer(tb testing.TB) Server {
	tb.Helper()
	once.Do(func() { shared, stop, errDown = start() })
	if errDown != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("S3 required (VANBAN_REQUIRE_SERVICES=1) but unavailable: %v", errDown)
		}
		tb.Skipf("minio not available: %v", errDown)
	}
	return shared
}

// Main runs the tests and then stops the shared MinIO server, if one was
// started. Use it from TestMain; without it the server is killed when the
// test binary exits (Linux parent-death signal) but its data directory is
// left in the temp directory.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop shuts down a server this package started, if any: for a TestMain
// that also stops other helpers' services.
func Stop() {
	if stop != nil {
		stop()
		stop = nil
	}
}

func start() (Server, func(), error) {
	if raw := os.Getenv("VANBAN_TEST_S3"); raw != "" {
		s, err := parseEnv(raw)
		return s, nil, err
	}
	bin, err := findMinio()
	if err != nil {
		return Server{}, nil, err
	}
	var lastErr error
	// A free port found by listening can be taken by another process
	// before minio binds it; retry a few times.
	for range 3 {
		s, stop, err := launch(bin)
		if err == nil {
			return s, stop, nil
		}
		lastErr = err
	}
	return Server{}, nil, lastErr
}

func parseEnv(raw string) (Server, error) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Server{}, errors.New("VANBAN_TEST_S3 must look like http://ACCESS:SECRET@host:port")
	}
	secret, _ := u.User.Password()
	return Server{Endpoint: u.Host, Secure: u.Scheme == "https", AccessKey: u.User.Username(), SecretKey: secret}, nil
}

func findMinio() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "minio")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("no minio binary on PATH or in $(go env GOPATH)/bin (go install github.com/minio/minio@latest), and VANBAN_TEST_S3 is not set")
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// lockedBuffer collects minio's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 64<<10 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func launch(bin string) (Server, func(), error) {
	addr, err := freePort()
	if err != nil {
		return Server{}, nil, err
	}
	console, err := freePort()
	if err != nil {
		return Server{}, nil, err
	}
	dir, err := os.MkdirTemp("", "vanban-minio-")
	if err != nil {
		return Server{}, nil, err
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	s := Server{Endpoint: addr, AccessKey: "vanbantest", SecretKey: hex.EncodeToString(rnd[:])}
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", console, dir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Kill minio if the test binary dies without running cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return Server{}, nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(90 * time.Second)
	client, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		stop()
		return Server{}, nil, err
	}
	for {
		// The health endpoints answer before the object layer is
		// ready ("Server not initialized yet"); an authenticated call
		// is what tests need to succeed.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.ListBuckets(ctx)
		cancel()
		if err == nil {
			return s, stop, nil
		}
		select {
		case err := <-exited:
			exited <- err // let stop's receive complete
			stop()
			return Server{}, nil, fmt.Errorf("minio exited (%v): %s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return Server{}, nil, fmt.Errorf("minio not ready on %s after 90s (%v): %s", addr, err, out.String())
		}
	}
}
