//go:build !cgo

package pkcs11

import (
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"net/url"

	"vanban/signing"
)

// ErrNeedsCgo is wrapped by the error every constructor returns in a build
// without cgo.
var ErrNeedsCgo = errors.New("pkcs11 needs a cgo build (rebuild with CGO_ENABLED=1 and a C compiler)")

func init() {
	signing.Register(Scheme, func(u *url.URL, env signing.Env) (signing.Provider, error) {
		// Return a nil interface, not a typed nil pointer, on error.
		p, err := Open(u, env)
		if err != nil {
			return nil, err
		}
		return p, nil
	})
}

func needsCgo() error {
	return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Err: ErrNeedsCgo}
}

// The types below keep the package's API the same in both builds, so code
// that names them compiles without cgo; nothing can construct them.

// Provider is a signing.Local over a token key (unavailable without cgo).
type Provider struct {
	*signing.Local
}

// Key is a token key (unavailable without cgo).
type Key struct{}

// Open reports that this binary cannot use PKCS#11. It parses the URI first
// so a bad URI is reported as such, not hidden behind the build problem.
func Open(u *url.URL, env signing.Env) (*Provider, error) {
	if _, err := ParseURI(u, env); err != nil {
		return nil, err
	}
	return nil, needsCgo()
}

// OpenConfig reports that this binary cannot use PKCS#11.
func OpenConfig(cfg Config) (*Provider, error) { return nil, needsCgo() }

// OpenKey reports that this binary cannot use PKCS#11.
func OpenKey(cfg Config) (*Key, error) { return nil, needsCgo() }

func (p *Provider) Key() *Key    { return nil }
func (p *Provider) Close() error { return nil }

func (k *Key) Public() crypto.PublicKey                                  { return nil }
func (k *Key) Certificate() *x509.Certificate                            { return nil }
func (k *Key) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, needsCgo() }
func (k *Key) Close() error                                              { return nil }
