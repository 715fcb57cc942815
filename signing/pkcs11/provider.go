//go:build cgo

package pkcs11

import (
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"os"

	"vanban/signing"
)

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

// Provider is a signing.Local over a token key, with Close to release the
// token's sessions and module.
type Provider struct {
	*signing.Local
	key *Key
}

var (
	_ signing.Provider = (*Provider)(nil)
	_ signing.Closer   = (*Provider)(nil)
)

// Open parses a pkcs11: URI and opens the key it names.
func Open(u *url.URL, env signing.Env) (*Provider, error) {
	cfg, err := ParseURI(u, env)
	if err != nil {
		return nil, err
	}
	return OpenConfig(cfg)
}

// OpenConfig opens the key cfg names. The chain is the token's certificate
// for the key, followed by the certificates of cfg.CertPath in issuer
// order; when the token holds no certificate, the one in cfg.CertPath that
// matches the key is the leaf. Errors are *signing.Error: KindBadRequest
// (bad module, URI or file), KindUnreachable (token absent),
// KindUnauthorized (wrong PIN), KindPINBlocked, KindNoCertificate (no such
// key, or no certificate matching it).
func OpenConfig(cfg Config) (*Provider, error) {
	var extra []*x509.Certificate
	if cfg.CertPath != "" {
		var err error
		if extra, err = readCertFile(cfg.CertPath); err != nil {
			return nil, err
		}
	}
	key, err := OpenKey(cfg)
	if err != nil {
		return nil, err
	}
	leaf := key.Certificate()
	if leaf == nil {
		for _, c := range extra {
			if publicEqual(key.Public(), c.PublicKey) {
				leaf = c
				break
			}
		}
	}
	if leaf == nil {
		key.Close()
		return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: "no certificate for key " + describeKey(cfg) + " on the token or in cert="}
	}
	local, err := signing.NewLocal(Scheme, key, orderChain(leaf, extra))
	if err != nil {
		key.Close()
		return nil, err
	}
	return &Provider{Local: local, key: key}, nil
}

// Key returns the token key, a crypto.Signer.
func (p *Provider) Key() *Key { return p.key }

// Close releases the token's sessions and module.
func (p *Provider) Close() error { return p.key.Close() }

func readCertFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "cannot read cert= file " + path, Err: err}
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "a certificate in " + path + " does not parse", Err: err}
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "no PEM certificate in " + path}
	}
	return certs, nil
}
