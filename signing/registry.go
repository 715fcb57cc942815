package signing

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
)

// Opener builds a provider from its URI. The URI's scheme selected the
// opener; its opaque part or path and query carry the provider's settings,
// e.g. "file:seal.p12?pass-env=SEAL_PASS" or
// "pkcs11:token=vanban;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-env=PIN".
type Opener func(uri *url.URL, env Env) (Provider, error)

// Env resolves secrets named in provider URIs (pass-env=, pin-env=). It is an
// indirection so that tests and servers can inject values without touching the
// process environment.
type Env func(name string) (string, bool)

// OSEnv reads the process environment. For every NAME it also honours
// NAME_FILE, a path whose content (without a trailing newline) is the value,
// which is how container secrets are usually mounted.
func OSEnv(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	if p, ok := os.LookupEnv(name + "_FILE"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", false
		}
		return strings.TrimRight(string(b), "\r\n"), true
	}
	return "", false
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a provider available under a URI scheme. Providers call it
// from init; the binary links the providers it wants by blank imports. Like
// database/sql.Register it panics on a duplicate or empty scheme, because
// that is a programming error.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if scheme == "" || open == nil {
		panic("signing: Register with empty scheme or nil opener")
	}
	if _, dup := registry[scheme]; dup {
		panic("signing: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open returns the provider for a URI. env may be nil, meaning OSEnv.
func Open(rawURI string, env Env) (Provider, error) {
	if env == nil {
		env = OSEnv
	}
	// Errors here do not quote the URI: it may carry a secret (pin-value=
	// in tests, a password someone pasted) and errors end up in logs.
	u, err := url.Parse(rawURI)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Kind: KindBadRequest, Message: "invalid signer URI", Err: err}
	}
	if u.Scheme == "" {
		return nil, &Error{Kind: KindBadRequest, Message: fmt.Sprintf("signer URI has no scheme (want one of %s)", strings.Join(Schemes(), ", "))}
	}
	registryMu.RLock()
	open, ok := registry[u.Scheme]
	registryMu.RUnlock()
	if !ok {
		return nil, &Error{Kind: KindBadRequest, Message: fmt.Sprintf("unknown signer scheme %q (registered: %s)", u.Scheme, strings.Join(Schemes(), ", "))}
	}
	return open(u, env)
}

// Secret reads a secret that a URI names through a query parameter such as
// pass-env=VAR (an environment variable) or pass-file=PATH. It returns
// ok=false when the URI names neither.
func Secret(q url.Values, env Env, param string) (value string, ok bool, err error) {
	if name := q.Get(param + "-env"); name != "" {
		v, found := env(name)
		if !found {
			return "", false, &Error{Kind: KindBadRequest, Message: fmt.Sprintf("%s-env names %s, which is not set", param, name)}
		}
		return v, true, nil
	}
	if path := q.Get(param + "-file"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false, &Error{Kind: KindBadRequest, Message: fmt.Sprintf("%s-file", param), Err: err}
		}
		return strings.TrimRight(string(b), "\r\n"), true, nil
	}
	return "", false, nil
}
