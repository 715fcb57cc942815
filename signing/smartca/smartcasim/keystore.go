package smartcasim

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"time"
)

// A key file holds the user's PKCS#8 key followed by the chain, leaf first,
// in PEM: development material, protected by file permissions only.

func keyPath(dir, user string) string { return filepath.Join(dir, user+".pem") }

// loadKey reads a user's key; ok is false when there is none or it is
// unusable (expired, damaged), so the caller issues anew.
func loadKey(dir, user string) (crypto.Signer, []*x509.Certificate, bool) {
	b, err := os.ReadFile(keyPath(dir, user))
	if err != nil {
		return nil, nil, false
	}
	var key crypto.Signer
	var chain []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, nil, false
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, nil, false
			}
			key = s
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, false
			}
			chain = append(chain, c)
		}
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if key == nil || len(chain) == 0 || time.Now().After(chain[0].NotAfter) {
		return nil, nil, false
	}
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, nil, false
	}
	return key, chain, true
}

// saveKey writes a user's key through a temporary file and a rename.
func saveKey(dir, user string, key crypto.Signer, chain []*x509.Certificate) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, c := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+user+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), keyPath(dir, user))
}
