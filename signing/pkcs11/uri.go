// Package pkcs11 signs with a private key on a PKCS#11 token: the office
// seal's HSM, a SoftHSM2 token in development, or a USB token. It registers
// the URI scheme "pkcs11" (RFC 7512):
//
//	pkcs11:token=vanban;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-env=VANBAN_SEAL_PIN
//
// Path attributes select the token (token, serial, manufacturer, model,
// slot-id) and the key (object = CKA_LABEL, id = CKA_ID, percent-encoded
// bytes). Query attributes: module-path (required), the PIN as pin-env=VAR,
// pin-file=PATH, pin-source=file:PATH (RFC 7512) or pin-value=PIN (tests
// only: the PIN ends up in logs and process lists), cert=PATH for a PEM file
// with the rest of the chain, max-sessions=N for the session pool size.
//
// The provider needs cgo; a build without cgo registers a provider that
// says so.
package pkcs11

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"vanban/signing"
)

// Scheme is the URI scheme this package registers.
const Scheme = "pkcs11"

// Config is a parsed pkcs11: URI.
type Config struct {
	// ModulePath is the PKCS#11 library to load.
	ModulePath string
	// Token selection; empty fields match anything. At least one must be set.
	Token, Serial, Manufacturer, Model string
	SlotID                             *uint
	// Key selection by CKA_LABEL and/or CKA_ID; at least one must be set.
	Object string
	ID     []byte
	// PIN is the user PIN; empty means no login (keys that need none).
	PIN string
	// CertPath names a PEM file with certificates to add to the chain (the
	// issuing CAs, or the leaf when the token holds no certificate).
	CertPath string
	// MaxSessions bounds the number of concurrent sessions (and so parallel
	// signatures). Default 8.
	MaxSessions int
}

const defaultMaxSessions = 8

// ParseURI reads a pkcs11: URI. Secrets named by pin-env, pin-file or
// pin-source are resolved through env. Errors are *signing.Error of kind
// KindBadRequest.
func ParseURI(u *url.URL, env signing.Env) (Config, error) {
	var cfg Config
	if env == nil {
		env = signing.OSEnv
	}
	if u.Scheme != Scheme {
		return cfg, badRequest(fmt.Sprintf("URI scheme %q is not %q", u.Scheme, Scheme), nil)
	}
	// "pkcs11:a=b;c=d" parses as opaque; "pkcs11:/a=b" would be a path,
	// which RFC 7512 does not allow.
	if u.Opaque == "" && u.Path != "" {
		return cfg, badRequest("pkcs11 URI attributes must follow the colon directly (pkcs11:token=...;object=...)", nil)
	}
	for _, attr := range strings.Split(u.Opaque, ";") {
		if attr == "" {
			continue
		}
		name, raw, ok := strings.Cut(attr, "=")
		if !ok {
			return cfg, badRequest(fmt.Sprintf("path attribute %q has no value", attr), nil)
		}
		val, err := url.PathUnescape(raw)
		if err != nil {
			return cfg, badRequest(fmt.Sprintf("path attribute %s has a bad escape", name), err)
		}
		switch name {
		case "token":
			cfg.Token = val
		case "serial":
			cfg.Serial = val
		case "manufacturer":
			cfg.Manufacturer = val
		case "model":
			cfg.Model = val
		case "object":
			cfg.Object = val
		case "id":
			cfg.ID = []byte(val)
		case "slot-id":
			if err := setSlot(&cfg, val); err != nil {
				return cfg, err
			}
		case "type":
			if val != "private" {
				return cfg, badRequest(fmt.Sprintf("type=%s: a signing URI names a private key (type=private)", val), nil)
			}
		default:
			// RFC 7512 lets vendors add x- attributes; anything else is
			// most likely a typo that would otherwise select the wrong key.
			if !strings.HasPrefix(name, "x-") {
				return cfg, badRequest(fmt.Sprintf("unknown path attribute %q", name), nil)
			}
		}
	}
	q := u.Query()
	cfg.ModulePath = q.Get("module-path")
	if cfg.ModulePath == "" {
		return cfg, badRequest("module-path is required (e.g. module-path=/usr/lib/softhsm/libsofthsm2.so)", nil)
	}
	if s := q.Get("slot-id"); s != "" {
		if err := setSlot(&cfg, s); err != nil {
			return cfg, err
		}
	}
	cfg.CertPath = q.Get("cert")
	cfg.MaxSessions = defaultMaxSessions
	if s := q.Get("max-sessions"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return cfg, badRequest(fmt.Sprintf("max-sessions=%s: want a positive number", s), err)
		}
		cfg.MaxSessions = n
	}
	pin, found, err := signing.Secret(q, env, "pin")
	if err != nil {
		var se *signing.Error
		if errors.As(err, &se) && se.Provider == "" {
			se.Provider = Scheme
		}
		return cfg, err
	}
	switch {
	case found:
		cfg.PIN = pin
	case q.Has("pin-value"):
		cfg.PIN = q.Get("pin-value")
	case q.Get("pin-source") != "":
		src, err := url.Parse(q.Get("pin-source"))
		if err != nil || (src.Scheme != "file" && src.Scheme != "") {
			return cfg, badRequest("pin-source must be a file: URI or a path", err)
		}
		path := src.Path
		if src.Opaque != "" {
			path = src.Opaque
		}
		v, _, err := signing.Secret(url.Values{"pin-file": {path}}, env, "pin")
		if err != nil {
			return cfg, err
		}
		cfg.PIN = v
	}
	if cfg.Token == "" && cfg.Serial == "" && cfg.Manufacturer == "" && cfg.Model == "" && cfg.SlotID == nil {
		return cfg, badRequest("the URI does not select a token (token=, serial= or slot-id=)", nil)
	}
	if cfg.Object == "" && len(cfg.ID) == 0 {
		return cfg, badRequest("the URI does not select a key (object= or id=)", nil)
	}
	return cfg, nil
}

func setSlot(cfg *Config, s string) error {
	n, err := strconv.ParseUint(s, 10, 0)
	if err != nil {
		return badRequest(fmt.Sprintf("slot-id=%s is not a number", s), err)
	}
	slot := uint(n)
	cfg.SlotID = &slot
	return nil
}

func badRequest(msg string, err error) error {
	return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: msg, Err: err}
}
