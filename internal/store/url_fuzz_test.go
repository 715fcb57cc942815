package store

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseURL: any string gives either a dialect and DSN or a *ConfigError
// naming the setting, never a panic, and never echoes a password.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"", "postgres://u:p@h/db", "sqlite:/x.db", "file:a.db?mode=memory", "x.db", "postgres://u:secret@%zz", "sqlite:", "mysql://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, dsn, _, err := parseURL(raw)
		if err != nil {
			var cfg *ConfigError
			if !errors.As(err, &cfg) || cfg.Setting != SettingDatabaseURL {
				t.Fatalf("parseURL(%q) error %v is not a ConfigError for %s", raw, err, SettingDatabaseURL)
			}
			if strings.Contains(raw, ":hunter2@") && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("password leaked: %v", err)
			}
			return
		}
		if (d != Postgres && d != SQLite) || dsn == "" {
			t.Fatalf("parseURL(%q) = %q, %q", raw, d, dsn)
		}
	})
}
