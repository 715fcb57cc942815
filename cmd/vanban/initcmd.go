package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"vanban/internal/auth"
	"vanban/internal/config"
	"vanban/internal/document"
)

// runInit creates an organization and its first administrator, the one
// thing the API cannot do for itself (everything after is done by that
// administrator through the API or the web UI).
func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	abbrev := fs.String("org-abbrev", "", "organization abbreviation used in document symbols, e.g. UBND (required)")
	name := fs.String("org-name", "", "organization name, e.g. \"Ủy ban nhân dân xã Thành Long\" (required)")
	place := fs.String("place", "", "place name on the place-date line, e.g. \"Thành Long\"")
	admin := fs.String("admin", "admin", "username of the first administrator")
	adminName := fs.String("admin-name", "Quản trị hệ thống", "full name of the first administrator")
	passEnv := fs.String("admin-password-env", "VANBAN_ADMIN_PASSWORD", "environment variable holding the administrator's password; when unset a password is generated and printed once")
	cfg, err := config.Load(fs, args, nil)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*abbrev) == "" || strings.TrimSpace(*name) == "" {
		fs.Usage()
		return exitError{2}
	}
	log := newLogger(cfg, stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	password, generated := os.Getenv(*passEnv), false
	if password == "" {
		b := make([]byte, 15)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		password, generated = base64.RawURLEncoding.EncodeToString(b), true
	}
	hash, err := auth.HashPassword(password, auth.DefaultParams)
	if err != nil {
		return fmt.Errorf("%s: %w", *passEnv, err)
	}
	if _, err := a.db.UserByUsername(ctx, *admin); err == nil {
		return fmt.Errorf("user %q already exists; vanban init sets up a new organization only once", *admin)
	} else if document.ErrorCode(err) != document.ENOTFOUND {
		return err
	}
	org := &document.Organization{Abbrev: strings.TrimSpace(*abbrev), Name: strings.TrimSpace(*name), Place: strings.TrimSpace(*place)}
	if err := a.db.CreateOrganization(ctx, org); err != nil {
		return err
	}
	u := &document.User{OrgID: org.ID, Username: *admin, FullName: *adminName, Title: "Quản trị"}
	if err := a.db.CreateUser(ctx, u); err != nil {
		return err
	}
	// The root unit's id is the organization's: a grant there covers it all.
	if err := a.db.GrantRole(ctx, u.ID, org.ID, document.RoleAdmin); err != nil {
		return err
	}
	if err := a.db.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "organization %s (%s) created, id %s\n", org.Name, org.Abbrev, org.ID)
	fmt.Fprintf(stdout, "administrator %q created\n", u.Username)
	if generated {
		fmt.Fprintf(stdout, "generated password (shown once, change it after signing in): %s\n", password)
	}
	return nil
}
