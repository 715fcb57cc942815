package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, args []string, m map[string]string) (*Config, error) {
	t.Helper()
	return Load(flag.NewFlagSet("test", flag.ContinueOnError), args, env(m))
}

func TestDefaultsAreEmbedded(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("addr=%q public=%q", c.Addr, c.PublicURL)
	}
	if !filepath.IsAbs(c.DataDir) || filepath.Base(c.DataDir) != "data" {
		t.Errorf("data dir %q", c.DataDir)
	}
	if c.DatabaseURL != "sqlite:"+filepath.Join(c.DataDir, "vanban.db") {
		t.Errorf("database url %q", c.DatabaseURL)
	}
	if !c.IsEmbedded() {
		t.Error("defaults should be the embedded configuration")
	}
	if c.ShutdownTimeout != 30*time.Second {
		t.Errorf("shutdown timeout %v", c.ShutdownTimeout)
	}
}

func TestFlagBeatsEnv(t *testing.T) {
	c, err := load(t, []string{"--addr", "127.0.0.1:9999"}, map[string]string{"VANBAN_ADDR": "127.0.0.1:7777", "VANBAN_DATA_DIR": "/srv/vanban"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" {
		t.Errorf("flag should win, got %q", c.Addr)
	}
	if c.DataDir != "/srv/vanban" {
		t.Errorf("data dir %q", c.DataDir)
	}
}

func TestSecretFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s3secret")
	if err := os.WriteFile(p, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, nil, map[string]string{
		"VANBAN_STORAGE_URL":        "s3://docs?endpoint=127.0.0.1:9000",
		"VANBAN_S3_ACCESS_KEY":      "ak",
		"VANBAN_S3_SECRET_KEY_FILE": p,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.S3SecretKey != "from-a-file" {
		t.Errorf("secret %q", c.S3SecretKey)
	}
	if c.IsEmbedded() {
		t.Error("s3 is not embedded")
	}
}

func TestInvalidNamesTheSetting(t *testing.T) {
	cases := []struct {
		env     map[string]string
		setting string
	}{
		{map[string]string{"VANBAN_ADDR": "no-port"}, "VANBAN_ADDR"},
		{map[string]string{"VANBAN_DATABASE_URL": "mysql://x"}, "VANBAN_DATABASE_URL"},
		{map[string]string{"VANBAN_STORAGE_URL": "ftp://x"}, "VANBAN_STORAGE_URL"},
		{map[string]string{"VANBAN_STORAGE_URL": "s3://bucket"}, "VANBAN_STORAGE_URL"},
		{map[string]string{"VANBAN_STORAGE_URL": "s3://bucket?endpoint=h:9000"}, "VANBAN_S3_ACCESS_KEY"},
		{map[string]string{"VANBAN_LOG_FORMAT": "xml"}, "VANBAN_LOG_FORMAT"},
		{map[string]string{"VANBAN_LOG_LEVEL": "loud"}, "VANBAN_LOG_LEVEL"},
		{map[string]string{"VANBAN_SHUTDOWN_TIMEOUT": "soon"}, "VANBAN_SHUTDOWN_TIMEOUT"},
		{map[string]string{"VANBAN_SECRET_KEY": "short"}, "VANBAN_SECRET_KEY"},
		{map[string]string{"VANBAN_PUBLIC_URL": "ftp://x"}, "VANBAN_PUBLIC_URL"},
		{map[string]string{"VANBAN_SECRET_KEY_FILE": "/nonexistent/secret"}, "VANBAN_SECRET_KEY_FILE"},
		{map[string]string{"VANBAN_DATABASE_URL": "postgres://u@db/vanban"}, "VANBAN_SECRET_KEY"},
		{map[string]string{"VANBAN_DATABASE_URL": "postgresql://u@db/vanban"}, "VANBAN_SECRET_KEY"},
	}
	for _, tc := range cases {
		_, err := load(t, nil, tc.env)
		if err == nil {
			t.Errorf("%v: expected an error", tc.env)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != tc.setting {
			t.Errorf("%v: error %q should name %s", tc.env, err, tc.setting)
		}
		if !strings.Contains(err.Error(), tc.setting) {
			t.Errorf("message %q does not name %s", err, tc.setting)
		}
	}
}

// testSecretKey is a secret key of the required length.
const testSecretKey = "0123456789abcdef0123456789abcdef"

// TestSecretKeyWithPostgres: several nodes share a PostgreSQL database, so
// the key may not fall back to a file each node generates; with SQLite it
// may, and a key from a file counts as given.
func TestSecretKeyWithPostgres(t *testing.T) {
	pg := map[string]string{"VANBAN_DATABASE_URL": "postgres://u@db/vanban"}
	_, err := load(t, nil, pg)
	if err == nil || !strings.Contains(err.Error(), "VANBAN_SECRET_KEY") || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("PostgreSQL without a key: %v", err)
	}
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(testSecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, nil, map[string]string{"VANBAN_DATABASE_URL": "postgres://u@db/vanban", "VANBAN_SECRET_KEY_FILE": p})
	if err != nil || c.SecretKey != testSecretKey || !c.IsPostgres() {
		t.Errorf("PostgreSQL with a key file: %v", err)
	}
	if c, err := load(t, []string{"--secret-key", testSecretKey}, pg); err != nil || c.SecretKey != testSecretKey {
		t.Errorf("PostgreSQL with --secret-key: %v", err)
	}
	if c, err := load(t, nil, nil); err != nil || c.SecretKey != "" || c.IsPostgres() {
		t.Errorf("SQLite without a key: %v", err)
	}
}

func TestRedactedHidesPassword(t *testing.T) {
	c, err := load(t, nil, map[string]string{"VANBAN_DATABASE_URL": "postgres://app:hunter2@db:5432/vanban", "VANBAN_SECRET_KEY": testSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Redacted()["database_url"], "hunter2") {
		t.Error("password leaked into redacted config")
	}
}

// TestREADMEListsEverySetting keeps the README's configuration table in step
// with the code a newcomer runs.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !strings.Contains(string(b), "`"+s.Env+"` | `--"+s.Flag+"`") {
			t.Errorf("README does not list %s / --%s", s.Env, s.Flag)
		}
	}
}

// TestDevServices: the development PKI and simulator follow the embedded
// default unless asked for or refused explicitly.
func TestDevServices(t *testing.T) {
	pg := map[string]string{"VANBAN_DATABASE_URL": "postgres://u@db/vanban", "VANBAN_SECRET_KEY": testSecretKey}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, nil, true},
		{nil, pg, false},
		{[]string{"--dev-services", "on"}, pg, true},
		{[]string{"--dev-services", "off"}, nil, false},
		{nil, map[string]string{"VANBAN_DEV_SERVICES": "off"}, false},
		// The probe: they were on whatever the listen address. Now a
		// non-loopback address turns auto off, and on needs an explicit
		// acknowledgement there.
		{[]string{"--addr", "0.0.0.0:8080"}, nil, false},
		{[]string{"--addr", ":8080"}, nil, false},
		{[]string{"--addr", "192.168.1.10:8080"}, nil, false},
		{[]string{"--addr", "[::]:8080"}, nil, false},
		{[]string{"--addr", "[::1]:8080"}, nil, true},
		{[]string{"--addr", "localhost:8080"}, nil, true},
		{[]string{"--addr", "127.0.0.2:0"}, nil, true},
		{[]string{"--addr", "0.0.0.0:8080", "--dev-services", "on", "--dev-services-on-network", "yes"}, nil, true},
		{[]string{"--addr", "0.0.0.0:8080", "--dev-services", "off", "--dev-services-on-network", "yes"}, nil, false},
	} {
		c, err := load(t, tc.args, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.DevServicesEnabled(); got != tc.want {
			t.Errorf("args %v env %v: DevServicesEnabled = %v, want %v", tc.args, tc.env, got, tc.want)
		}
	}
	_, err := load(t, []string{"--dev-services", "yes"}, nil)
	if err == nil || !strings.Contains(err.Error(), "VANBAN_DEV_SERVICES (--dev-services)") {
		t.Errorf("invalid value: err = %v", err)
	}
	_, err = load(t, []string{"--dev-services", "on", "--addr", "0.0.0.0:8080"}, nil)
	if err == nil || !strings.Contains(err.Error(), "VANBAN_DEV_SERVICES_ON_NETWORK=yes") {
		t.Errorf("on with a public address and no acknowledgement: err = %v", err)
	}
	_, err = load(t, []string{"--dev-services-on-network", "sure"}, nil)
	if err == nil || !strings.Contains(err.Error(), "VANBAN_DEV_SERVICES_ON_NETWORK") {
		t.Errorf("invalid acknowledgement: err = %v", err)
	}
}

func TestSigningSettings(t *testing.T) {
	pem := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(pem, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"VANBAN_SIGNERS":     "sim=etsi204:https://mssp.example/soap?ap-id=x\n  seal=pkcs11:token=vanban;object=seal?pin-env=PIN",
		"VANBAN_TSA_URL":     "https://tsa.example/",
		"VANBAN_TRUST_PEM":   pem,
		"VANBAN_PADES_LEVEL": "B-LTA",
	}
	c, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Signers) != 2 || c.Signers["seal"] != "pkcs11:token=vanban;object=seal?pin-env=PIN" || c.TSAURL == "" || len(c.TrustFiles) != 1 || c.PadesLevel != "B-LTA" {
		t.Errorf("config %+v", c)
	}
	for name, bad := range map[string]map[string]string{
		"VANBAN_SIGNERS":     {"VANBAN_SIGNERS": "justaname"},
		"VANBAN_TSA_URL":     {"VANBAN_TSA_URL": "ftp://tsa"},
		"VANBAN_TRUST_PEM":   {"VANBAN_TRUST_PEM": "/no/such/file.pem"},
		"VANBAN_PADES_LEVEL": {"VANBAN_PADES_LEVEL": "B-X"},
	} {
		_, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) (string, bool) { v, ok := bad[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: error %v does not name %s", bad, err, name)
		}
	}
	dup := map[string]string{"VANBAN_SIGNERS": "a=file:x a=file:y"}
	if _, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) (string, bool) { v, ok := dup[k]; return v, ok }); err == nil {
		t.Error("a provider named twice is accepted")
	}
}

func TestSecuritySettings(t *testing.T) {
	c, err := load(t, []string{"--token-max-ttl", "30d", "--trusted-proxies", "10.0.0.0/8, 192.168.1.1", "--metrics-token", "0123456789abcdef0123"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenMaxTTL != 30*24*time.Hour || len(c.TrustedProxies) != 2 || c.MetricsToken == "" {
		t.Errorf("config %+v", c)
	}
	if c, _ := load(t, nil, nil); c.TokenMaxTTL != 90*24*time.Hour || c.TrustedProxies != nil {
		t.Errorf("defaults: ttl %v proxies %v", c.TokenMaxTTL, c.TrustedProxies)
	}
	for _, bad := range [][]string{
		{"--token-max-ttl", "1h"}, {"--token-max-ttl", "x"}, {"--trusted-proxies", "example.com"},
		{"--metrics-token", "short"}, {"--metrics-addr", "nope"},
	} {
		if _, err := load(t, bad, nil); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
