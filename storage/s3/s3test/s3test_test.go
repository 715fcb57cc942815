package s3test_test

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"vanban/storage/s3/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

func TestStart(t *testing.T) {
	endpoint, access, secret := s3test.Start(t)
	if endpoint == "" || access == "" || secret == "" {
		t.Fatalf("Start returned %q %q %q", endpoint, access, secret)
	}
	// The same server is shared by every test of the binary.
	if again := s3test.StartServer(t); again.Endpoint != endpoint {
		t.Fatalf("second start gave %s, want %s", again.Endpoint, endpoint)
	}
	resp, err := http.Get("http://" + endpoint + "/minio/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
	// Anonymous requests get nothing.
	resp, err = http.Get("http://" + endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous ListBuckets: %s", resp.Status)
	}
}

func TestStoreURL(t *testing.T) {
	s := s3test.Server{Endpoint: "127.0.0.1:9000"}
	if got := s.StoreURL("docs", "vanban/"); got != "s3://docs?endpoint=127.0.0.1%3A9000&prefix=vanban%2F&secure=false" {
		t.Fatalf("StoreURL = %q", got)
	}
}

// TestUnavailable runs this test binary again with an unusable
// VANBAN_TEST_S3: the helper must skip, or fail under
// VANBAN_REQUIRE_SERVICES=1.
func TestUnavailable(t *testing.T) {
	if os.Getenv("S3TEST_CHILD") == "1" {
		s3test.StartServer(t)
		t.Fatal("StartServer returned with an unusable VANBAN_TEST_S3")
	}
	for require, want := range map[string]string{"": "--- SKIP", "1": "--- FAIL"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnavailable$", "-test.v")
		cmd.Env = append(os.Environ(), "S3TEST_CHILD=1", "VANBAN_TEST_S3=not-a-url", "VANBAN_REQUIRE_SERVICES="+require)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), "VANBAN_TEST_S3 must look like") {
			t.Errorf("VANBAN_REQUIRE_SERVICES=%q: want %s with the reason, got:\n%s", require, want, out)
		}
	}
}
