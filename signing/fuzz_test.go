package signing_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"testing"

	"vanban/signing"
)

// FuzzVerifySignature feeds arbitrary signatures and digests: whatever a
// provider returns, verification fails closed with KindBadSignature and
// never panics.
func FuzzVerifySignature(f *testing.F) {
	rsa1, _, ec1, _ := keys(f)
	d := digest("seed")
	good, _ := ec1.signer.Sign(rand.Reader, d, crypto.SHA256)
	f.Add(d, good, uint8(signing.ECDSA))
	f.Add(d, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, uint8(signing.ECDSA))
	f.Add(d[:5], []byte{}, uint8(signing.RSAPKCS1v15))
	f.Add(d, make([]byte, 256), uint8(signing.RSAPSS))
	f.Fuzz(func(t *testing.T, dig, sig []byte, alg uint8) {
		for _, k := range []testKey{rsa1, ec1} {
			err := signing.VerifySignature(k.cert, crypto.SHA256, signing.Algorithm(alg), dig, sig)
			if err != nil && signing.KindOf(err) != signing.KindBadSignature {
				t.Fatalf("error of kind %v: %v", signing.KindOf(err), err)
			}
		}
	})
}

func FuzzECDSAToDER(f *testing.F) {
	_, _, ec1, _ := keys(f)
	pub := ec1.signer.Public().(*ecdsa.PublicKey)
	good, _ := ec1.signer.Sign(rand.Reader, digest("seed"), crypto.SHA256)
	f.Add(good)
	f.Add(make([]byte, 64))
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, sig []byte) {
		der, err := signing.ECDSAToDER(sig, pub)
		if err != nil {
			return
		}
		// Whatever was accepted must come out as DER a verifier can parse.
		if _, err := signing.ECDSAToDER(der, pub); err != nil {
			t.Fatalf("output %x is not accepted as DER: %v", der, err)
		}
	})
}
