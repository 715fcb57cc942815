package mssp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"time"
)

// A SIM file holds the PKCS#8 key followed by the chain, leaf first, in
// PEM. It is development material: the simulator's keys are not secrets
// worth protecting beyond file permissions.

func simPath(dir, msisdn string) string { return filepath.Join(dir, msisdn+".pem") }

// loadSIM reads msisdn's SIM from dir. ok is false when there is none or it
// is unusable (expired, wrong key type, damaged), so the caller issues anew.
func loadSIM(dir, msisdn string, ec bool) (crypto.Signer, []*x509.Certificate, bool) {
	b, err := os.ReadFile(simPath(dir, msisdn))
	if err != nil {
		return nil, nil, false
	}
	var key crypto.Signer
	var chain []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, nil, false
			}
			signer, ok := k.(crypto.Signer)
			if !ok {
				return nil, nil, false
			}
			key = signer
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, false
			}
			chain = append(chain, c)
		}
	}
	if key == nil || len(chain) == 0 || !keyMatches(key, chain[0]) || time.Now().After(chain[0].NotAfter) {
		return nil, nil, false
	}
	if _, isEC := key.Public().(*ecdsa.PublicKey); isEC != ec {
		return nil, nil, false
	}
	return key, chain, true
}

// saveSIM writes msisdn's SIM to dir through a temporary file and a rename,
// so a crash never leaves half a file.
func saveSIM(dir, msisdn string, key crypto.Signer, chain []*x509.Certificate) error {
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
	tmp, err := os.CreateTemp(dir, "."+msisdn+"-*.tmp")
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
	return os.Rename(tmp.Name(), simPath(dir, msisdn))
}
