//go:build !cgo

package pkcs11

import (
	"errors"
	"net/url"

	"vanban/signing"
)

// ErrNeedsCgo is wrapped by the error Open returns in a build without cgo.
var ErrNeedsCgo = errors.New("pkcs11 needs a cgo build (rebuild with CGO_ENABLED=1 and a C compiler)")

func init() {
	signing.Register(Scheme, func(u *url.URL, env signing.Env) (signing.Provider, error) {
		return Open(u, env)
	})
}

// Open reports that this binary cannot use PKCS#11. It parses the URI first
// so a bad URI is reported as such, not hidden behind the build problem.
func Open(u *url.URL, env signing.Env) (signing.Provider, error) {
	if _, err := ParseURI(u, env); err != nil {
		return nil, err
	}
	return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Err: ErrNeedsCgo}
}
