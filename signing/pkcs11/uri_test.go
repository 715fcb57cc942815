package pkcs11_test

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanban/signing"
	"vanban/signing/pkcs11"
)

func TestParseURI(t *testing.T) {
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte("4321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(name string) (string, bool) {
		if name == "VANBAN_SEAL_PIN" {
			return "1234", true
		}
		return "", false
	}
	const mod = "module-path=/usr/lib/softhsm/libsofthsm2.so"

	t.Run("full", func(t *testing.T) {
		cfg := mustParseURI(t, "pkcs11:token=vanban;object=seal;id=%01%ab;serial=abc;model=SoftHSM%20v2;manufacturer=SoftHSM;type=private;x-vendor=1?"+mod+"&pin-env=VANBAN_SEAL_PIN&cert=/etc/chain.pem&max-sessions=3&slot-id=7", env)
		if cfg.Token != "vanban" || cfg.Object != "seal" || !bytes.Equal(cfg.ID, []byte{0x01, 0xab}) ||
			cfg.Serial != "abc" || cfg.Model != "SoftHSM v2" || cfg.Manufacturer != "SoftHSM" ||
			cfg.PIN != "1234" || cfg.CertPath != "/etc/chain.pem" || cfg.MaxSessions != 3 ||
			cfg.SlotID == nil || *cfg.SlotID != 7 || cfg.ModulePath != "/usr/lib/softhsm/libsofthsm2.so" {
			t.Fatalf("cfg = %+v", cfg)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		cfg := mustParseURI(t, "pkcs11:token=vanban;object=seal?"+mod, env)
		if cfg.PIN != "" || cfg.MaxSessions != 8 || cfg.SlotID != nil || cfg.ID != nil {
			t.Fatalf("cfg = %+v", cfg)
		}
	})
	t.Run("slot-id as path attribute", func(t *testing.T) {
		cfg := mustParseURI(t, "pkcs11:slot-id=2;id=%02?"+mod, env)
		if cfg.SlotID == nil || *cfg.SlotID != 2 {
			t.Fatalf("cfg = %+v", cfg)
		}
	})
	for name, tc := range map[string]struct{ uri, pin string }{
		"pin-value":          {"pkcs11:token=t;object=o?" + mod + "&pin-value=0000", "0000"},
		"pin-file":           {"pkcs11:token=t;object=o?" + mod + "&pin-file=" + pinFile, "4321"},
		"pin-source file:":   {"pkcs11:token=t;object=o?" + mod + "&pin-source=file:" + pinFile, "4321"},
		"pin-source path":    {"pkcs11:token=t;object=o?" + mod + "&pin-source=" + pinFile, "4321"},
		"pin-env over value": {"pkcs11:token=t;object=o?" + mod + "&pin-env=VANBAN_SEAL_PIN&pin-value=0000", "1234"},
	} {
		t.Run(name, func(t *testing.T) {
			if cfg := mustParseURI(t, tc.uri, env); cfg.PIN != tc.pin {
				t.Fatalf("PIN = %q, want %q", cfg.PIN, tc.pin)
			}
		})
	}

	bad := map[string]struct{ uri, msg string }{
		"no module":        {"pkcs11:token=t;object=o", "module-path"},
		"no token":         {"pkcs11:object=o?" + mod, "token"},
		"no key":           {"pkcs11:token=t?" + mod, "object="},
		"unknown attr":     {"pkcs11:token=t;object=o;lable=x?" + mod, `"lable"`},
		"attr no value":    {"pkcs11:token=t;object?" + mod, "no value"},
		"bad escape":       {"pkcs11:token=t;id=%zz?" + mod, "escape"},
		"public key type":  {"pkcs11:token=t;object=o;type=public?" + mod, "type=public"},
		"bad slot":         {"pkcs11:slot-id=x;object=o?" + mod, "slot-id"},
		"bad max-sessions": {"pkcs11:token=t;object=o?" + mod + "&max-sessions=0", "max-sessions"},
		"pin-env unset":    {"pkcs11:token=t;object=o?" + mod + "&pin-env=NOPE", "NOPE"},
		"pin-file missing": {"pkcs11:token=t;object=o?" + mod + "&pin-file=" + filepath.Join(dir, "none"), "pin-file"},
		"pin-source http":  {"pkcs11:token=t;object=o?" + mod + "&pin-source=https://example.com/pin", "pin-source"},
		"path form":        {"pkcs11:/token=t;object=o?" + mod, "colon"},
		"wrong scheme":     {"file:token=t;object=o?" + mod, "scheme"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			u, err := url.Parse(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			_, err = pkcs11.ParseURI(u, env)
			if signing.KindOf(err) != signing.KindBadRequest {
				t.Fatalf("err = %v, want bad_request", err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "pkcs11: ") {
				t.Fatalf("err = %q, want pkcs11 error mentioning %q", err, tc.msg)
			}
		})
	}
}

func mustParseURI(tb testing.TB, raw string, env signing.Env) pkcs11.Config {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := pkcs11.ParseURI(u, env)
	if err != nil {
		tb.Fatalf("ParseURI(%s): %v", raw, err)
	}
	return cfg
}

func FuzzParseURI(f *testing.F) {
	f.Add("pkcs11:token=vanban;object=seal;id=%01?module-path=/m.so&pin-value=1")
	f.Add("pkcs11:slot-id=1;id=%zz?module-path=/m.so")
	f.Add("pkcs11:;;=;?max-sessions=-1&module-path=x")
	env := func(string) (string, bool) { return "", false }
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		if _, err := pkcs11.ParseURI(u, env); err != nil && signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("ParseURI(%q): error of kind %v: %v", raw, signing.KindOf(err), err)
		}
	})
}
