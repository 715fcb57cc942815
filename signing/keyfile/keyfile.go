// Package keyfile provides signing keys kept in files: a PKCS#12 bundle
// (the form CAs hand out for an office seal) or a PEM private key with a PEM
// certificate chain. It registers the URI scheme "file":
//
//	file:seal.p12?pass-env=SEAL_PASS
//	file:seal.p12?pass-file=/run/secrets/seal-pass
//	file:/etc/vanban/seal.key?cert=/etc/vanban/seal-chain.pem
//
// Relative paths are relative to the working directory. The key is held in
// memory, so this provider suits development and offices without an HSM;
// production seals belong on a PKCS#11 token.
package keyfile

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"vanban/signing"
)

// Scheme is the URI scheme this package registers.
const Scheme = "file"

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

// ErrWrongPassword is wrapped by the error returned when a PKCS#12 password
// does not open the file.
var ErrWrongPassword = errors.New("wrong password for the PKCS#12 file")

// Open loads the key a "file:" URI names. Errors are *signing.Error:
// KindBadRequest for a missing or unreadable file (wrapping fs.ErrNotExist
// and friends), an unknown format or an unset pass-env; KindUnauthorized
// wrapping ErrWrongPassword for a wrong password; KindNoCertificate when no
// certificate matches the key.
func Open(u *url.URL, env signing.Env) (*signing.Local, error) {
	if env == nil {
		env = signing.OSEnv
	}
	if u.Scheme != Scheme {
		return nil, badRequest(fmt.Sprintf("URI scheme %q is not %q", u.Scheme, Scheme), nil)
	}
	keyPath, err := pathOf(u)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	pass, _, err := signing.Secret(q, env, "pass")
	if err != nil {
		return nil, withProvider(err)
	}
	data, err := readFile(keyPath, "key file")
	if err != nil {
		return nil, err
	}
	var extra []*x509.Certificate
	if certPath := q.Get("cert"); certPath != "" {
		certPEM, err := readFile(certPath, "certificate file")
		if err != nil {
			return nil, err
		}
		if extra, err = ParseCertificatesPEM(certPEM); err != nil {
			return nil, err
		}
	}
	if isPEM(data) {
		return FromPEM(data, extra)
	}
	return FromPKCS12(data, pass, extra)
}

// FromPKCS12 builds a provider from PKCS#12 data. extra certificates (from a
// cert= file) are added to those in the bundle, for bundles that lack the
// intermediate CA.
func FromPKCS12(data []byte, password string, extra []*x509.Certificate) (*signing.Local, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			msg := "the password does not open the PKCS#12 file"
			if password == "" {
				msg += " (none was given: add pass-env= or pass-file= to the URI)"
			}
			return nil, &signing.Error{Kind: signing.KindUnauthorized, Provider: Scheme, Message: msg, Err: ErrWrongPassword}
		}
		return nil, badRequest("cannot read the PKCS#12 file", err)
	}
	signer, err := asSigner(key)
	if err != nil {
		return nil, err
	}
	certs := append([]*x509.Certificate{leaf}, cas...)
	return newLocal(signer, append(certs, extra...))
}

// FromPEM builds a provider from a PEM private key (PKCS#8, PKCS#1 or SEC1)
// and certificates. Certificates in the key's own PEM data count too, so a
// single file holding key and chain works without cert=.
func FromPEM(keyPEM []byte, certs []*x509.Certificate) (*signing.Local, error) {
	var key any
	rest := keyPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, badRequest("cannot parse a certificate in the key file", err)
			}
			certs = append(certs, c)
		case "ENCRYPTED PRIVATE KEY":
			return nil, badRequest("encrypted PEM keys are not supported; use a PKCS#12 file with a password", nil)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, badRequest("the key file holds more than one private key", nil)
			}
			// Legacy OpenSSL encryption ("Proc-Type: 4,ENCRYPTED") keeps the
			// block type, so the header is the only sign of it.
			if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, badRequest("encrypted PEM keys are not supported; use a PKCS#12 file with a password", nil)
			}
			k, err := parsePrivateKey(block)
			if err != nil {
				return nil, err
			}
			key = k
		}
	}
	if key == nil {
		return nil, badRequest("no private key found in the PEM data", nil)
	}
	signer, err := asSigner(key)
	if err != nil {
		return nil, err
	}
	return newLocal(signer, certs)
}

// ParseCertificatesPEM parses every CERTIFICATE block in data.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
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
			return nil, badRequest("cannot parse a certificate", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: "no PEM certificate found in the certificate file"}
	}
	return certs, nil
}

func parsePrivateKey(block *pem.Block) (any, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, badRequest("cannot parse the "+strings.ToLower(block.Type), err)
	}
	return key, nil
}

// asSigner accepts the key types VerifySignature can check; anything else
// (Ed25519, DSA) would produce signatures we cannot verify before use.
func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	}
	return nil, badRequest(fmt.Sprintf("unsupported private key type %T (want RSA or ECDSA)", key), nil)
}

// newLocal puts the certificate that matches the key first and orders the
// rest issuer after subject, so the chain reads leaf to root whatever order
// the files used.
func newLocal(signer crypto.Signer, certs []*x509.Certificate) (*signing.Local, error) {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub := signer.Public().(equaler)
	leafAt := -1
	for i, c := range certs {
		if c != nil && pub.Equal(c.PublicKey) {
			leafAt = i
			break
		}
	}
	if leafAt < 0 {
		msg := "no certificate matches the private key"
		if len(certs) == 0 {
			msg = "no certificate for the key (add cert= to the URI)"
		}
		return nil, &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: msg}
	}
	chain := []*x509.Certificate{certs[leafAt]}
	rest := make([]*x509.Certificate, 0, len(certs)-1)
	for i, c := range certs {
		if i != leafAt && c != nil && !c.Equal(certs[leafAt]) {
			rest = append(rest, c)
		}
	}
	for len(rest) > 0 {
		last := chain[len(chain)-1]
		if bytes.Equal(last.RawIssuer, last.RawSubject) {
			break // self-signed: the chain is complete
		}
		next := -1
		for i, c := range rest {
			if bytes.Equal(c.RawSubject, last.RawIssuer) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		chain = append(chain, rest[next])
		rest = append(rest[:next], rest[next+1:]...)
	}
	// Unrelated certificates (other roots in a bundle) still travel along;
	// validation decides what they are worth.
	chain = append(chain, rest...)
	return signing.NewLocal(Scheme, signer, chain)
}

// pathOf extracts the file path from "file:rel/path", "file:/abs/path" or
// "file:///abs/path".
func pathOf(u *url.URL) (string, error) {
	if u.Host != "" && u.Host != "localhost" {
		return "", badRequest(fmt.Sprintf("file URI names host %q; only local files are supported", u.Host), nil)
	}
	p := u.Path
	if u.Opaque != "" {
		var err error
		if p, err = url.PathUnescape(u.Opaque); err != nil {
			return "", badRequest("invalid escape in the file path", err)
		}
	}
	if p == "" {
		return "", badRequest("file URI has no path", nil)
	}
	return p, nil
}

func readFile(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		msg := "cannot read " + what + " " + path
		if errors.Is(err, fs.ErrNotExist) {
			msg = what + " " + path + " does not exist"
		}
		return nil, badRequest(msg, err)
	}
	return b, nil
}

func isPEM(b []byte) bool {
	return bytes.Contains(b, []byte("-----BEGIN "))
}

func badRequest(msg string, err error) error {
	return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: msg, Err: err}
}

func withProvider(err error) error {
	var e *signing.Error
	if errors.As(err, &e) && e.Provider == "" {
		e.Provider = Scheme
	}
	return err
}
